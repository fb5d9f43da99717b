//! The fleet driver: the waves in order; inside a wave at most `parallel` targets at once, each
//! its own engine (its own lock, its own journal under `targets/<name>/`); one question per wave
//! for every destructive step, gate or watch to accept; a halt at the first target that does not
//! pass (the others stop at their next step boundary, no later wave starts); the pause between
//! waves. Everything it decides goes to `fleet.jsonl` before it acts on it.
//!
//! ```text
//!  wave ─► target tasks (≤ parallel) ─► engine ─EngineEvent─► tagged FleetEvent ─► front end
//!              │  Ask (not a failure) ──► driver: first of the wave? ─► FleetEvent::Ask
//!              │                                                 ◄── FleetCommand::Answer
//!              ◄── Command::Answer (each target that asked, and each that asks later)
//!  target ends not passed ─► halt token cancelled (engines stop before their next step)
//! ```

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::events::{FleetCommand, FleetEvent, FleetOutcome, WaveQuestion};
use super::journal::{FleetEntry, FleetJournal};
use super::waves::Wave;
use crate::engine::events::{
    Answer, Command, Decision, EngineEvent, Outcome, Question, QuestionKind,
};
use crate::engine::{self, EngineConfig, RunMode, RunPlace, Selection};
use crate::journal::JournalError;
use crate::runbook::{Runbook, Vars};

/// A check of a target after its run passed (a rehearsal's traffic oracle): the reason it did
/// not pass after all, if any. Given the target's index and run directory.
pub type Judge = Arc<dyn Fn(usize, &Path) -> Option<String> + Send + Sync>;

/// One target, ready to run.
pub struct TargetRun {
    /// Its name (`[a-z0-9-]+`).
    pub name: String,
    /// Its resolved variables (the target's laid over the environment).
    pub vars: Vars,
}

/// What the driver needs.
pub struct FleetConfig {
    /// The validated runbook, the same for every target.
    pub runbook: Runbook,
    /// The targets, in order.
    pub targets: Vec<TargetRun>,
    /// The waves, over indices into `targets`.
    pub waves: Vec<Wave>,
    /// Targets at once inside a wave.
    pub parallel: usize,
    /// The wait between waves.
    pub pause: Duration,
    /// The fleet's run directory (`.golive/runs/<run-id>`).
    pub run_dir: PathBuf,
    /// The targets file, for the journal (`generated` for a rehearsal's).
    pub targets_path: String,
    /// Continue the fleet run in `run_dir`: passed targets are skipped, unfinished ones resume.
    pub resume: bool,
    /// Run or rehearsal.
    pub mode: RunMode,
    /// Confirmations come from `--approve` on the command line.
    pub approved_on_command_line: bool,
    /// A rehearsal's pace between steps.
    pub pace: Duration,
    /// A check after each target's run, if any.
    pub judge: Option<Judge>,
    /// The whole main sequence, or a procedure (a rollback of the targets that went live).
    pub selection: Selection,
    /// Stop the wave's other targets when one does not pass (a go-live); a rollback goes on
    /// on every target whatever one of them does.
    pub halt_on_failure: bool,
}

/// A started fleet run.
pub struct FleetHandle {
    /// The fleet's run directory.
    pub run_dir: PathBuf,
    /// What happens, in order.
    pub events: mpsc::Receiver<FleetEvent>,
    /// Answers and commands from the front end.
    pub commands: mpsc::UnboundedSender<FleetCommand>,
    /// Ends with the fleet run.
    pub done: tokio::task::JoinHandle<FleetOutcome>,
}

/// Capacity of the event channel (all targets' events share it).
const EVENT_BUFFER: usize = 1024;

/// Open the fleet journal and start the fleet run.
pub fn start(config: FleetConfig) -> Result<FleetHandle, JournalError> {
    let journal = FleetJournal::open(&config.run_dir)?;
    let (events_tx, events) = mpsc::channel(EVENT_BUFFER);
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let run_dir = config.run_dir.clone();
    let driver = Driver {
        config,
        journal,
        events: events_tx,
        commands: commands_rx,
        commands_open: true,
        halt: CancellationToken::new(),
        interrupted: false,
        next_question: 1,
    };
    Ok(FleetHandle {
        run_dir,
        events,
        commands,
        done: tokio::spawn(driver.run()),
    })
}

struct Driver {
    config: FleetConfig,
    journal: FleetJournal,
    events: mpsc::Sender<FleetEvent>,
    commands: mpsc::UnboundedReceiver<FleetCommand>,
    commands_open: bool,
    halt: CancellationToken,
    interrupted: bool,
    next_question: u64,
}

/// How a target's run ended.
struct TargetEnd {
    outcome: Option<Outcome>,
    message: String,
}

/// From a target's task to the driver.
enum Internal {
    /// The target's engine started: where to send it commands.
    Engine {
        target: usize,
        commands: mpsc::UnboundedSender<Command>,
    },
    /// The target's engine asks (not a failure: those abort the target).
    Ask {
        target: usize,
        step: String,
        step_id: String,
        question: Question,
    },
}

/// How a wave ended.
enum WaveEnd {
    /// Every target passed; `ran`: some ran in this process (not all skipped as passed).
    Passed {
        ran: bool,
    },
    Halted {
        target: usize,
        reason: String,
        refused: bool,
    },
    Interrupted,
}

/// A question waiting for the wave's answer: (target, the engine's question id, what it expects typed).
type Waiting = Vec<(usize, u64, Option<String>)>;

/// A wave's confirmations.
#[derive(Default)]
struct Asked {
    /// Answered for the whole wave: key → confirmed.
    decided: HashMap<String, bool>,
    /// Targets waiting, by key.
    waiting: HashMap<String, Waiting>,
    /// Open wave questions: id → (key, the question).
    open: HashMap<u64, (String, WaveQuestion)>,
}

impl Driver {
    async fn run(mut self) -> FleetOutcome {
        let resumed = self.config.resume;
        let started = if resumed {
            FleetEntry::FleetResumed {
                user: crate::provenance::user(),
                host: crate::provenance::host(),
                pid: std::process::id(),
            }
        } else {
            FleetEntry::FleetStarted {
                run_id: self.run_id(),
                runbook_path: std::path::absolute(&self.config.runbook.path)
                    .unwrap_or_else(|_| self.config.runbook.path.clone())
                    .display()
                    .to_string(),
                targets_path: self.config.targets_path.clone(),
                waves: self
                    .config
                    .waves
                    .iter()
                    .map(|w| (w.name.clone(), self.names(&w.targets)))
                    .collect(),
                parallel: self.config.parallel,
                pause_ms: u64::try_from(self.config.pause.as_millis()).unwrap_or(u64::MAX),
                mode: match self.config.mode {
                    RunMode::Run => "run".into(),
                    RunMode::Rehearse => "rehearse".into(),
                },
                procedure: match &self.config.selection {
                    Selection::Procedure(id) => Some(id.clone()),
                    _ => None,
                },
                user: crate::provenance::user(),
                host: crate::provenance::host(),
                pid: std::process::id(),
            }
        };
        if let Err(e) = self.journal.append(started) {
            return self.finish(FleetOutcome::Interrupted, e.to_string()).await;
        }
        let (first_step, steps) = self.columns();
        self.emit(FleetEvent::FleetStarted {
            run_dir: self.config.run_dir.clone(),
            runbook: self.config.runbook.name.clone(),
            targets: self.config.targets.iter().map(|t| t.name.clone()).collect(),
            waves: self.config.waves.clone(),
            steps,
            first_step,
            parallel: self.config.parallel,
            resumed,
        })
        .await;
        let count = self.config.waves.len();
        for w in 0..count {
            let ran = match self.wave(w).await {
                WaveEnd::Passed { ran } => ran,
                WaveEnd::Halted {
                    target,
                    reason,
                    refused,
                } => {
                    let wave = self.config.waves[w].name.clone();
                    let name = self.config.targets[target].name.clone();
                    let _ = self.journal.append(FleetEntry::Halted {
                        wave: wave.clone(),
                        target: name.clone(),
                        reason: reason.clone(),
                    });
                    self.emit(FleetEvent::Halted {
                        wave: w,
                        target,
                        reason: reason.clone(),
                    })
                    .await;
                    let outcome = if refused {
                        FleetOutcome::Refused
                    } else {
                        FleetOutcome::Halted
                    };
                    let later = if w + 1 < count {
                        "; no later wave was started"
                    } else {
                        ""
                    };
                    return self
                        .finish(
                            outcome,
                            format!(
                                "halted in {wave}: target `{name}` did not pass ({reason}){later}; \
                                 fix it, then continue with --resume"
                            ),
                        )
                        .await;
                }
                WaveEnd::Interrupted => {
                    return self
                        .finish(
                            FleetOutcome::Interrupted,
                            "interrupted; continue with --resume".into(),
                        )
                        .await;
                }
            };
            // A wave that passed in an earlier process was watched then.
            if w + 1 < count && ran && !self.pause(w + 1).await {
                return self
                    .finish(
                        FleetOutcome::Interrupted,
                        format!(
                            "interrupted before {}; continue with --resume",
                            self.config.waves[w + 1].name
                        ),
                    )
                    .await;
            }
        }
        self.finish(
            FleetOutcome::Passed,
            format!(
                "every target passed: {} target(s) in {count} wave(s)",
                self.config.targets.len()
            ),
        )
        .await
    }

    fn run_id(&self) -> String {
        self.config
            .run_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The matrix's columns: the engine's index of the first, and the step ids (the main
    /// sequence, or the procedure run alone; procedures follow the main sequence, rollbacks
    /// before diagnostics).
    fn columns(&self) -> (usize, Vec<String>) {
        let runbook = &self.config.runbook;
        let Selection::Procedure(id) = &self.config.selection else {
            return (0, runbook.steps.iter().map(|s| s.id.clone()).collect());
        };
        let mut first = runbook.steps.len();
        for p in runbook.rollbacks.iter().chain(&runbook.diagnostics) {
            if &p.id == id {
                return (first, p.steps.iter().map(|s| s.id.clone()).collect());
            }
            first += p.steps.len();
        }
        (first, Vec::new())
    }

    /// Whether a target's run ended as it should: passed, or for a rollback run alone, rolled
    /// back.
    fn passed(&self, outcome: Option<Outcome>) -> bool {
        match outcome {
            Some(Outcome::Passed) => true,
            Some(Outcome::RolledBack) => matches!(self.config.selection, Selection::Procedure(_)),
            _ => false,
        }
    }

    fn names(&self, targets: &[usize]) -> Vec<String> {
        targets
            .iter()
            .map(|&t| self.config.targets[t].name.clone())
            .collect()
    }

    fn target_dir(&self, target: usize) -> PathBuf {
        self.config
            .run_dir
            .join("targets")
            .join(&self.config.targets[target].name)
    }

    async fn emit(&self, event: FleetEvent) {
        let _ = self.events.send(event).await;
    }

    async fn finish(&mut self, outcome: FleetOutcome, message: String) -> FleetOutcome {
        let _ = self.journal.append(FleetEntry::FleetFinished {
            outcome: outcome.label().into(),
            message: message.clone(),
        });
        self.emit(FleetEvent::FleetFinished { outcome, message })
            .await;
        outcome
    }

    /// The wait before wave `next`, a countdown each second; false when interrupted.
    async fn pause(&mut self, next: usize) -> bool {
        let end = tokio::time::Instant::now() + self.config.pause;
        loop {
            let left = end.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return true;
            }
            self.emit(FleetEvent::Pause { next, left }).await;
            let tick = left.min(Duration::from_secs(1));
            tokio::select! {
                () = tokio::time::sleep(tick) => {}
                cmd = self.commands.recv(), if self.commands_open => match cmd {
                    Some(FleetCommand::Interrupt) | None => return false,
                    Some(FleetCommand::Answer { .. }) => {}
                },
            }
        }
    }

    /// A target's place: where its run lives, and whether an earlier process of this fleet
    /// run left it passed (skip), unfinished (resume) or not started (fresh).
    fn place(&self, target: usize) -> Option<bool> {
        let journal = self.target_dir(target).join("journal.jsonl");
        if !self.config.resume || !journal.exists() {
            return Some(false);
        }
        match crate::journal::read_journal(&journal).map(|j| j.outcome()) {
            Ok(Some(Outcome::Passed)) => None,
            _ => Some(true),
        }
    }

    async fn wave(&mut self, w: usize) -> WaveEnd {
        let wave = self.config.waves[w].clone();
        let _ = self.journal.append(FleetEntry::WaveStarted {
            wave: wave.name.clone(),
            targets: self.names(&wave.targets),
        });
        self.emit(FleetEvent::WaveStarted { wave: w }).await;
        let mut queue = VecDeque::new();
        for &t in &wave.targets {
            match self.place(t) {
                None => {
                    let _ = self.journal.append(FleetEntry::TargetSkipped {
                        target: self.config.targets[t].name.clone(),
                    });
                    self.emit(FleetEvent::TargetSkipped { target: t }).await;
                }
                Some(resume) => queue.push_back((t, resume)),
            }
        }
        let (internal_tx, mut internal) = mpsc::unbounded_channel();
        let mut running: JoinSet<(usize, TargetEnd)> = JoinSet::new();
        let mut engines: HashMap<usize, mpsc::UnboundedSender<Command>> = HashMap::new();
        let mut asked = Asked::default();
        let mut halted: Option<(usize, String, bool)> = None;
        let ran = !queue.is_empty();
        loop {
            let stopping = halted.is_some() && self.config.halt_on_failure;
            while !stopping && !self.interrupted && running.len() < self.config.parallel {
                let Some((t, resume)) = queue.pop_front() else {
                    break;
                };
                self.spawn_target(&mut running, t, resume, internal_tx.clone())
                    .await;
            }
            if running.is_empty() {
                break;
            }
            tokio::select! {
                Some(joined) = running.join_next() => {
                    let (t, end) = match joined {
                        Ok(done) => done,
                        Err(e) => {
                            tracing::error!(error = %e, "a fleet target's task failed");
                            continue;
                        }
                    };
                    engines.remove(&t);
                    let _ = self.journal.append(FleetEntry::TargetFinished {
                        target: self.config.targets[t].name.clone(),
                        outcome: end.outcome,
                        message: end.message.clone(),
                    });
                    self.emit(FleetEvent::TargetFinished {
                        target: t,
                        outcome: end.outcome,
                        message: end.message.clone(),
                    })
                    .await;
                    if !self.passed(end.outcome) && halted.is_none() && !self.interrupted {
                        halted = Some((t, end.message, end.outcome == Some(Outcome::Refused)));
                    }
                    if halted.is_some() && self.config.halt_on_failure && !self.halt.is_cancelled() {
                        self.halt.cancel();
                        // Targets waiting for a wave question are at a step boundary: stop them.
                        for (_, waiting) in asked.waiting.drain() {
                            for (target, _, _) in waiting {
                                if let Some(commands) = engines.get(&target) {
                                    let _ = commands.send(Command::Interrupt);
                                }
                            }
                        }
                        for (id, _) in asked.open.drain() {
                            self.emit(FleetEvent::Withdrawn { id }).await;
                        }
                    }
                }
                Some(message) = internal.recv() => match message {
                    Internal::Engine { target, commands } => {
                        if self.interrupted {
                            let _ = commands.send(Command::Interrupt);
                        }
                        engines.insert(target, commands);
                    }
                    Internal::Ask { target, step, step_id, question } => {
                        self.on_ask(w, &mut asked, &engines, target, step, step_id, question).await;
                    }
                },
                cmd = self.commands.recv(), if self.commands_open => match cmd {
                    Some(FleetCommand::Answer { id, answer }) => {
                        self.on_answer(w, &mut asked, &engines, id, answer).await;
                    }
                    Some(FleetCommand::Interrupt) | None => {
                        self.commands_open = cmd.is_some();
                        self.interrupted = true;
                        for commands in engines.values() {
                            let _ = commands.send(Command::Interrupt);
                        }
                    }
                },
            }
        }
        let passed = halted.is_none() && !self.interrupted;
        let _ = self.journal.append(FleetEntry::WaveFinished {
            wave: wave.name.clone(),
            passed,
        });
        self.emit(FleetEvent::WaveFinished { wave: w, passed })
            .await;
        match halted {
            Some((target, reason, refused)) => WaveEnd::Halted {
                target,
                reason,
                refused,
            },
            None if self.interrupted => WaveEnd::Interrupted,
            None => WaveEnd::Passed { ran },
        }
    }

    async fn spawn_target(
        &mut self,
        running: &mut JoinSet<(usize, TargetEnd)>,
        t: usize,
        resume: bool,
        internal: mpsc::UnboundedSender<Internal>,
    ) {
        let dir = self.target_dir(t);
        let name = self.config.targets[t].name.clone();
        let _ = self.journal.append(FleetEntry::TargetStarted {
            target: name.clone(),
            run_dir: dir.display().to_string(),
            resumed: resume,
        });
        let config = EngineConfig {
            runbook: self.config.runbook.clone(),
            vars: self.config.targets[t].vars.clone(),
            selection: self.config.selection.clone(),
            resume,
            mode: self.config.mode,
            approved_on_command_line: self.config.approved_on_command_line,
            pace: self.config.pace,
            place: Some(RunPlace {
                dir,
                id: format!("{}-{name}", self.run_id()),
            }),
            halt: Some(self.halt.clone()),
        };
        let events = self.events.clone();
        let judge = self.config.judge.clone();
        running.spawn(async move {
            let end = run_target(t, config, internal, events, judge).await;
            (t, end)
        });
    }

    #[allow(clippy::too_many_arguments)]
    async fn on_ask(
        &mut self,
        w: usize,
        asked: &mut Asked,
        engines: &HashMap<usize, mpsc::UnboundedSender<Command>>,
        target: usize,
        step: String,
        step_id: String,
        question: Question,
    ) {
        let key = format!("{}:{step}", kind_name(&question.kind));
        if let Some(&yes) = asked.decided.get(&key) {
            answer_engine(engines, target, question.id, yes, question.expect_typed);
            return;
        }
        let first = !asked.waiting.contains_key(&key);
        asked.waiting.entry(key.clone()).or_default().push((
            target,
            question.id,
            question.expect_typed.clone(),
        ));
        if !first {
            return;
        }
        let wave = &self.config.waves[w];
        let targets = self.names(&wave.targets);
        let expect_typed = (question.kind == QuestionKind::Destructive).then(|| wave.name.clone());
        let prompt = match &question.kind {
            QuestionKind::Destructive => format!(
                "DESTRUCTIVE: `{step}` will run on every target of {}: {}. Type `{}` to confirm.",
                wave.name,
                targets.join(", "),
                wave.name
            ),
            QuestionKind::Gate => format!(
                "Manual step `{step}` for every target of {} ({}). Done?",
                wave.name,
                targets.join(", ")
            ),
            _ => format!(
                "{} — for every target of {} ({})",
                question.prompt,
                wave.name,
                targets.join(", ")
            ),
        };
        let id = self.next_question;
        self.next_question += 1;
        let wave_question = WaveQuestion {
            id,
            wave: w,
            wave_name: wave.name.clone(),
            step_id,
            step,
            kind: question.kind.clone(),
            prompt,
            detail: question.detail.clone(),
            targets,
            expect_typed,
        };
        asked.open.insert(id, (key, wave_question.clone()));
        self.emit(FleetEvent::Ask {
            question: wave_question,
        })
        .await;
    }

    async fn on_answer(
        &mut self,
        w: usize,
        asked: &mut Asked,
        engines: &HashMap<usize, mpsc::UnboundedSender<Command>>,
        id: u64,
        answer: Answer,
    ) {
        let Some((key, question)) = asked.open.remove(&id) else {
            return;
        };
        let yes = match &answer {
            Answer::Confirm { typed } => {
                if question.expect_typed.as_ref().is_some_and(|e| e != typed) {
                    // Mistyped: nothing runs, the same question comes back.
                    let again = WaveQuestion {
                        id: self.next_question,
                        ..question
                    };
                    self.next_question += 1;
                    asked.open.insert(again.id, (key, again.clone()));
                    self.emit(FleetEvent::Ask { question: again }).await;
                    return;
                }
                true
            }
            _ => false,
        };
        let operator = crate::provenance::user();
        let by = match (self.config.approved_on_command_line, &question.expect_typed) {
            (true, _) => format!("{operator} (approved on the command line)"),
            (false, Some(typed)) => format!("{operator} (typed `{typed}`)"),
            (false, None) => operator.clone(),
        };
        let wave = self.config.waves[w].name.clone();
        let entry = if yes {
            FleetEntry::WaveConfirmed {
                wave,
                step: question.step.clone(),
                targets: question.targets.clone(),
                by,
            }
        } else {
            FleetEntry::WaveRefused {
                wave,
                step: question.step.clone(),
                by: operator,
            }
        };
        // Nothing runs that the fleet journal could not record.
        let yes = yes && self.journal.append(entry).is_ok();
        asked.decided.insert(key.clone(), yes);
        for (target, engine_id, expect) in asked.waiting.remove(&key).unwrap_or_default() {
            answer_engine(engines, target, engine_id, yes, expect);
        }
    }
}

/// `destructive`, `gate`, … : a wave's answer covers one kind of question about one step.
fn kind_name(kind: &QuestionKind) -> &'static str {
    match kind {
        QuestionKind::Destructive => "destructive",
        QuestionKind::Gate => "gate",
        QuestionKind::RerunInterrupted => "rerun",
        QuestionKind::Inconclusive { .. } => "inconclusive",
        QuestionKind::Failure { .. } => "failure",
    }
}

fn answer_engine(
    engines: &HashMap<usize, mpsc::UnboundedSender<Command>>,
    target: usize,
    id: u64,
    yes: bool,
    expect: Option<String>,
) {
    let answer = if yes {
        Answer::Confirm {
            typed: expect.unwrap_or_default(),
        }
    } else {
        Answer::Refuse
    };
    if let Some(commands) = engines.get(&target) {
        let _ = commands.send(Command::Answer { id, answer });
    }
}

/// One target's run: start its engine, forward its events tagged with the target, hand its
/// questions to the driver (a failure aborts it: the fleet halts), and judge it when it passed.
async fn run_target(
    t: usize,
    config: EngineConfig,
    internal: mpsc::UnboundedSender<Internal>,
    events: mpsc::Sender<FleetEvent>,
    judge: Option<Judge>,
) -> TargetEnd {
    let mut handle = match engine::start(config).await {
        Ok(h) => h,
        Err(e) => {
            return TargetEnd {
                outcome: if e.exit_code() == 3 {
                    Some(Outcome::Refused)
                } else {
                    None
                },
                message: e.to_string(),
            };
        }
    };
    let _ = internal.send(Internal::Engine {
        target: t,
        commands: handle.commands.clone(),
    });
    let mut steps: Vec<(String, String)> = Vec::new();
    let mut message = String::new();
    while let Some(event) = handle.events.recv().await {
        match &event {
            EngineEvent::Started { run } => {
                steps = run
                    .steps
                    .iter()
                    .map(|s| {
                        let q = crate::runbook::qualified_id(s.procedure.as_deref(), &s.id);
                        (s.id.clone(), q)
                    })
                    .collect();
            }
            EngineEvent::Ask { question }
                if matches!(question.kind, QuestionKind::Failure { .. }) =>
            {
                let _ = handle.commands.send(Command::Answer {
                    id: question.id,
                    answer: Answer::Decide(Decision::Abort),
                });
            }
            EngineEvent::Ask { question } => {
                let (step_id, step) = question
                    .step
                    .and_then(|i| steps.get(i).cloned())
                    .unwrap_or_default();
                let _ = internal.send(Internal::Ask {
                    target: t,
                    step,
                    step_id,
                    question: question.clone(),
                });
            }
            EngineEvent::Finished { message: m, .. } => message = m.clone(),
            _ => {}
        }
        let _ = events
            .send(FleetEvent::Target {
                target: t,
                engine: event,
            })
            .await;
    }
    let outcome = handle.done.await.unwrap_or(Outcome::Failed);
    if outcome == Outcome::Passed
        && let Some(reason) = judge.and_then(|j| j(t, &handle.run_dir))
    {
        return TargetEnd {
            outcome: Some(Outcome::Failed),
            message: reason,
        };
    }
    TargetEnd {
        outcome: Some(outcome),
        message,
    }
}
