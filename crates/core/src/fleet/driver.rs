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

use super::confirm::Asked;
use super::events::{FleetCommand, FleetEvent, FleetOutcome};
use super::journal::{FleetEntry, FleetJournal};
use super::target::{Internal, TargetEnd, run_target};
use super::waves::Wave;
use crate::engine::{EngineConfig, RunPlace, Selection};
use crate::events::{Command, Outcome, RunMode};
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
    // `[notify]` with the first target's variables (the URL normally comes from the
    // environment, which every target shares).
    let notifier = config
        .runbook
        .notify
        .as_ref()
        .zip(config.targets.first())
        .and_then(|(n, t)| crate::notify::Notifier::new(n, &t.vars))
        .map(|n| n.unattended(config.approved_on_command_line));
    let events = match notifier {
        Some(n) => n.follow_with(events, super::notify::FleetWatcher::new(&config.runbook)),
        None => events,
    };
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let run_dir = config.run_dir.clone();
    let passed_pauses = match config.resume {
        true => super::journal::passed_pauses(&run_dir),
        false => Vec::new(),
    };
    let driver = Driver {
        config,
        journal,
        events: events_tx,
        commands: commands_rx,
        commands_open: true,
        halt: CancellationToken::new(),
        interrupted: false,
        next_question: 1,
        journal_error: None,
        passed_pauses,
    };
    Ok(FleetHandle {
        run_dir,
        events,
        commands,
        done: tokio::spawn(driver.run()),
    })
}

pub(super) struct Driver {
    pub(super) config: FleetConfig,
    pub(super) journal: FleetJournal,
    pub(super) events: mpsc::Sender<FleetEvent>,
    pub(super) commands: mpsc::UnboundedReceiver<FleetCommand>,
    pub(super) commands_open: bool,
    pub(super) halt: CancellationToken,
    pub(super) interrupted: bool,
    pub(super) next_question: u64,
    /// Why the fleet journal could not be written, once it could not: nothing more starts.
    pub(super) journal_error: Option<String>,
    /// The waves whose pause passed in an earlier process of this fleet run (`--resume`).
    pub(super) passed_pauses: Vec<String>,
}

/// How a wave (or the pause before it) ended.
pub(super) enum WaveEnd {
    /// Every target passed (every live target's watch, for a pause).
    Passed,
    /// `target` did not pass: the fleet halts.
    Halted {
        target: usize,
        reason: String,
        refused: bool,
    },
    /// Interrupted (quit, signal), or the fleet journal could not be written.
    Interrupted,
}

impl Driver {
    async fn run(mut self) -> FleetOutcome {
        let resumed = self.config.resume;
        let started = if resumed {
            FleetEntry::FleetResumed {
                user: crate::os::user_name(),
                host: crate::os::host_name(),
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
                mode: self.config.mode,
                procedure: match &self.config.selection {
                    Selection::Procedure(id) => Some(id.clone()),
                    _ => None,
                },
                user: crate::os::user_name(),
                host: crate::os::host_name(),
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
            let end = match w {
                0 => WaveEnd::Passed,
                _ => self.pause(w).await,
            };
            let end = match end {
                WaveEnd::Passed => self.wave(w).await,
                // The watch before wave `w` judged the waves before it.
                WaveEnd::Halted {
                    target,
                    reason,
                    refused,
                } => return self.halt(w - 1, target, reason, refused).await,
                WaveEnd::Interrupted => {
                    let before = format!("before {}", self.config.waves[w].name);
                    return self.interrupted(&before).await;
                }
            };
            match end {
                WaveEnd::Passed => {}
                WaveEnd::Halted {
                    target,
                    reason,
                    refused,
                } => return self.halt(w, target, reason, refused).await,
                WaveEnd::Interrupted => return self.interrupted("").await,
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

    /// Halt in wave `w` because `target` did not pass: journal it, say it, end the fleet run.
    async fn halt(
        &mut self,
        w: usize,
        target: usize,
        reason: String,
        refused: bool,
    ) -> FleetOutcome {
        let wave = self.config.waves[w].name.clone();
        let name = self.config.targets[target].name.clone();
        self.record(FleetEntry::Halted {
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
        let later = if w + 1 < self.config.waves.len() {
            "; no later wave was started"
        } else {
            ""
        };
        self.finish(
            outcome,
            format!(
                "halted in {wave}: target `{name}` did not pass ({reason}){later}; fix it, then \
                 continue with --resume"
            ),
        )
        .await
    }

    /// End the fleet run interrupted (`when`: ` before wave-N`, or empty), or stopped by a
    /// fleet journal that could not be written.
    async fn interrupted(&mut self, when: &str) -> FleetOutcome {
        let message = match &self.journal_error {
            Some(e) => format!("{e}; nothing more was started"),
            None if when.is_empty() => "interrupted; continue with --resume".into(),
            None => format!("interrupted {when}; continue with --resume"),
        };
        self.finish(FleetOutcome::Interrupted, message).await
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

    pub(super) fn names(&self, targets: &[usize]) -> Vec<String> {
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

    /// Journal `entry`; false when it could not be written. Then nothing more starts: the
    /// running targets stop at their next step boundary, as in a halt.
    pub(super) fn record(&mut self, entry: FleetEntry) -> bool {
        match self.journal.append(entry) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "fleet journal write failed");
                if self.journal_error.is_none() {
                    self.journal_error = Some(e.to_string());
                }
                self.halt.cancel();
                false
            }
        }
    }

    pub(super) async fn emit(&self, event: FleetEvent) {
        let _ = self.events.send(event).await;
    }

    async fn finish(&mut self, outcome: FleetOutcome, message: String) -> FleetOutcome {
        self.record(FleetEntry::FleetFinished {
            outcome: outcome.label().into(),
            message: message.clone(),
        });
        self.emit(FleetEvent::FleetFinished { outcome, message })
            .await;
        outcome
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
        self.record(FleetEntry::WaveStarted {
            wave: wave.name.clone(),
            targets: self.names(&wave.targets),
        });
        self.emit(FleetEvent::WaveStarted { wave: w }).await;
        let mut queue = VecDeque::new();
        for &t in &wave.targets {
            match self.place(t) {
                None => {
                    self.record(FleetEntry::TargetSkipped {
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
        let mut tasks: HashMap<tokio::task::Id, usize> = HashMap::new();
        loop {
            let stopping =
                (halted.is_some() && self.config.halt_on_failure) || self.journal_error.is_some();
            while !stopping && !self.interrupted && running.len() < self.config.parallel {
                let Some((t, resume)) = queue.pop_front() else {
                    break;
                };
                if let Some(id) = self
                    .spawn_target(&mut running, t, resume, internal_tx.clone())
                    .await
                {
                    tasks.insert(id, t);
                }
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
                            let Some(&t) = tasks.get(&e.id()) else {
                                continue;
                            };
                            let message = format!("golive's task for this target failed: {e}");
                            (t, TargetEnd { outcome: Some(Outcome::Failed), message })
                        }
                    };
                    engines.remove(&t);
                    self.record(FleetEntry::TargetFinished {
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
        let passed = halted.is_none() && !self.interrupted && self.journal_error.is_none();
        self.record(FleetEntry::WaveFinished {
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
            None if self.interrupted || self.journal_error.is_some() => WaveEnd::Interrupted,
            None => WaveEnd::Passed,
        }
    }

    async fn spawn_target(
        &mut self,
        running: &mut JoinSet<(usize, TargetEnd)>,
        t: usize,
        resume: bool,
        internal: mpsc::UnboundedSender<Internal>,
    ) -> Option<tokio::task::Id> {
        let dir = self.target_dir(t);
        let name = self.config.targets[t].name.clone();
        let recorded = self.record(FleetEntry::TargetStarted {
            target: name.clone(),
            run_dir: dir.display().to_string(),
            resumed: resume,
        });
        if !recorded {
            return None;
        }
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
        let task = running.spawn(async move {
            let end = run_target(t, config, internal, events, judge).await;
            (t, end)
        });
        Some(task.id())
    }
}
