//! The console's state and how events and keys change it.
//!
//! [`App`] composes the parts (run header, checklist, outputs, search, dialog, dashboard) and routes
//! to them; each part owns its own logic. Engine events go through [`App::apply`], keys through
//! [`App::on_key`]; commands for the engine collect in an outbox that the event loop sends
//! ([`App::take_commands`]), so tests can feed events and keys and read what would be sent.

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;

use super::TuiOptions;
use super::dashboard::Dashboard;
use super::keymap::{Action, Keymap};
use super::state::checklist::Checklist;
use super::state::dialog::{
    Dialog, Effect, ProcedureEntry, ProcedurePicker, QuestionDialog, Reaction,
};
use super::state::output::{Outputs, Scroll};
use super::state::run::RunState;
use super::state::search::Search;
use super::theme::Theme;
use super::view::{layout, notices};
use golive_core::events::{
    Answer, Command, Decision, EngineEvent, NoticeLevel, Outcome, Question, QuestionKind, StepState,
};

/// Which pane has the focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pane {
    /// The checklist: up/down select steps.
    #[default]
    Checklist,
    /// The output: up/down scroll.
    Output,
}

/// What fills the body of the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// Checklist and output.
    #[default]
    Checklist,
    /// The monitoring dashboard.
    Dashboard,
}

/// Screen-level state: focus, view, overlays, size, quitting.
#[derive(Debug, Clone, Default)]
pub struct Ui {
    /// The focused pane.
    pub focus: Pane,
    /// What the body shows.
    pub view: View,
    /// Whether the help overlay is open.
    pub help: bool,
    /// The terminal's size.
    pub size: Rect,
    /// The operator asked to stop; waiting for the engine to finish.
    pub quitting: bool,
    /// Leave the event loop.
    pub exit: bool,
    /// The run is a rehearsal (its sandbox goes away with it).
    pub rehearsal: bool,
    /// Spinner frame.
    pub spinner: usize,
    /// `golive attach`: read-only, watching the run this user drives.
    pub observer: Option<String>,
}

/// Everything the console shows, and the commands it has yet to send.
#[derive(Debug, Clone)]
pub struct App {
    /// Colours (or none).
    pub theme: Theme,
    /// Key bindings.
    pub keymap: Keymap,
    /// Header: runbook, environment, targets, clock, outcome, message.
    pub run: RunState,
    /// The checklist pane.
    pub checklist: Checklist,
    /// Every step's output.
    pub outputs: Outputs,
    /// Where the output pane is scrolled.
    pub scroll: Scroll,
    /// Search in the output.
    pub search: Search,
    /// The open dialog.
    pub dialog: Option<Dialog>,
    /// The engine's unanswered question.
    pub question: Option<Question>,
    /// The monitoring view.
    pub dashboard: Dashboard,
    /// Focus, overlays, size.
    pub ui: Ui,
    output_cap: usize,
    outbox: Vec<Command>,
    pub(super) live: Option<golive_core::monitor::config::MonitorConfig>,
    /// `golive monitor`: the dashboard alone, what it watches (no run, no engine).
    pub alone: Option<super::monitor::Watching>,
    /// `golive monitor`: follows the live snapshots for a breach.
    pub(super) tracker: Option<golive_core::monitor::verdict::Tracker>,
}

impl App {
    /// An empty console (waiting for the engine's `Started`) of the given size.
    pub fn new(options: &TuiOptions, width: u16, height: u16) -> Self {
        App {
            theme: Theme::new(options.color()),
            keymap: options.keymap.clone(),
            run: RunState::default(),
            checklist: Checklist::default(),
            outputs: Outputs::default(),
            scroll: Scroll::Follow,
            search: Search::default(),
            dialog: None,
            question: None,
            dashboard: Dashboard::default(),
            ui: Ui {
                size: Rect::new(0, 0, width, height),
                rehearsal: options.rehearsal,
                observer: options.observer.clone(),
                ..Ui::default()
            },
            output_cap: options.output_cap,
            outbox: Vec::new(),
            live: options.live.clone(),
            alone: None,
            tracker: None,
        }
    }

    /// The commands to send to the engine, oldest first.
    pub fn take_commands(&mut self) -> Vec<Command> {
        if self.ui.observer.is_some() {
            // Read-only: nothing is ever sent (and `on_key` queues nothing).
            self.outbox.clear();
        }
        std::mem::take(&mut self.outbox)
    }

    /// Whether the event loop should end.
    pub fn should_exit(&self) -> bool {
        self.ui.exit
    }

    /// The terminal was resized.
    pub fn resize(&mut self, width: u16, height: u16) {
        self.ui.size = Rect::new(0, 0, width, height);
    }

    /// Advance clocks and the spinner (ten frames a second); returns whether the screen changed.
    pub fn tick(&mut self, now: Instant) -> bool {
        self.checklist.tick(now);
        let clock = self.run.tick(now) | self.dashboard.tick(now);
        let before = self.ui.spinner;
        if self.checklist.running().is_some() {
            let ms = self.run.elapsed.as_millis() / 100;
            self.ui.spinner = usize::try_from(ms).unwrap_or_default();
        }
        clock || before != self.ui.spinner
    }

    /// Apply one engine event.
    pub fn apply(&mut self, event: EngineEvent, now: Instant) {
        let selected = self.checklist.selected;
        match event {
            EngineEvent::Started { run } => {
                self.run = RunState::started(&run, now);
                self.outputs = Outputs::new(run.steps.len(), self.output_cap);
                self.checklist = Checklist::new(run.steps, run.procedures);
            }
            EngineEvent::StepState {
                step,
                state,
                attempt,
                elapsed,
                detail,
            } => {
                match state {
                    StepState::Running => self.dashboard.step_running(step),
                    StepState::Failed => {
                        self.dashboard
                            .step_ended(step, true, detail.as_deref(), now);
                    }
                    StepState::Passed if self.dashboard.step == Some(step) => {
                        self.dashboard
                            .step_ended(step, false, detail.as_deref(), now);
                        if self.ui.view == View::Dashboard {
                            self.ui.view = View::Checklist;
                        }
                    }
                    _ => {}
                }
                if self.ui.observer.is_some() && state != StepState::AwaitingConfirmation {
                    // Watching: the driver answered (the run moved on).
                    self.question = None;
                }
                self.checklist
                    .set_state(step, state, attempt, elapsed, detail, now);
            }
            EngineEvent::Output { step, chunks } => self
                .outputs
                .push(step, chunks.iter().flat_map(|c| c.to_lines()).collect()),
            EngineEvent::Ask { question } => self.ask(question),
            EngineEvent::Notice { level, text } => self.run.notices.push((level, text)),
            EngineEvent::WrongAnswers { total, example, .. } => self.wrong_answers(total, &example),
            EngineEvent::Monitor { step, snapshot } => {
                if self.dashboard.update(step, &snapshot) {
                    self.ui.view = View::Dashboard;
                }
            }
            EngineEvent::Finished { outcome, message } => {
                if outcome == Outcome::RolledBack {
                    let what = message.split(':').next().unwrap_or(&message);
                    self.dashboard.rolled_back(what, now);
                }
                self.finish(outcome, message);
            }
        }
        if self.checklist.selected != selected {
            self.scroll = Scroll::Follow;
            self.search.current = None;
        }
    }

    /// The `[monitor]` configuration to poll with when the dashboard should stay live on its
    /// own (the watch has ended); `None` otherwise.
    pub fn live_watch(&self) -> Option<&golive_core::monitor::config::MonitorConfig> {
        self.live.as_ref().filter(|_| self.dashboard.wants_live())
    }

    /// A snapshot from the console's own poller (after a watch, or `golive monitor`).
    pub fn live_snapshot(&mut self, snapshot: golive_core::monitor::snapshot::Snapshot) {
        self.observe_alone(&snapshot);
        self.dashboard.live_snapshot(snapshot);
    }

    /// The engine's channel closed.
    pub fn engine_gone(&mut self) {
        if self.run.finished.is_none() {
            self.finish(
                Outcome::Interrupted,
                "The engine stopped without finishing the run.".to_string(),
            );
        }
    }

    /// The rehearsal's oracle saw wrong answers: one error notice, kept up to date, naming the
    /// step that was running when they began.
    fn wrong_answers(&mut self, total: u64, example: &str) {
        const MARK: &str = "WRONG ANSWERS";
        if self.run.wrong_since.is_none() {
            let running = self
                .checklist
                .running()
                .and_then(|i| self.checklist.step(i));
            self.run.wrong_since = Some(running.map_or_else(
                || "between steps".into(),
                |row| {
                    golive_core::runbook::qualified_id(row.info.procedure.as_deref(), &row.info.id)
                },
            ));
        }
        let since = self.run.wrong_since.as_deref().unwrap_or_default();
        self.run.notices.retain(|(_, t)| !t.starts_with(MARK));
        self.run.notices.push((
            NoticeLevel::Error,
            format!("{MARK}: {total} since `{since}`; the traffic got e.g. {example}"),
        ));
    }

    fn finish(&mut self, outcome: Outcome, message: String) {
        let level = match outcome {
            Outcome::Passed => NoticeLevel::Info,
            Outcome::RolledBack | Outcome::Interrupted => NoticeLevel::Warn,
            _ => NoticeLevel::Error,
        };
        self.run.message = Some((level, message.clone()));
        self.run.finished = Some((outcome, message));
        // The header says how the run ended: a notice that a procedure is running is over.
        self.run
            .notices
            .retain(|(_, text)| !text.starts_with("running procedure "));
        self.question = None;
        if !matches!(self.dialog, Some(Dialog::Procedures(_)) | None) {
            self.dialog = None;
        }
        if self.ui.quitting {
            self.ui.exit = true;
        }
    }

    fn ask(&mut self, question: Question) {
        self.ui.help = false;
        if let Some(step) = question.step {
            self.checklist.asked_about(step);
        }
        if let Some(user) = &self.ui.observer {
            // Watching: the question shows where the dialog would be, unanswerable.
            self.run.message = Some((NoticeLevel::Warn, waiting_for(user)));
        } else if self.dialog.is_none() {
            self.dialog = Some(self.question_dialog(&question));
        } else {
            self.run.message = Some((
                NoticeLevel::Warn,
                format!("The engine asks: {} (Enter answers)", question.prompt),
            ));
        }
        self.question = Some(question);
    }

    pub(super) fn question_dialog(&self, question: &Question) -> Dialog {
        let step = question.step.and_then(|i| self.checklist.steps.get(i));
        let mut dialog = QuestionDialog {
            question: question.clone(),
            step_title: step.map(|s| s.info.title.clone()),
            target: step.and_then(|s| s.info.target.clone()),
            rollback_titles: self
                .checklist
                .procedures
                .iter()
                .map(|p| (p.id.clone(), p.title.clone()))
                .collect(),
            typed: String::new(),
            choice: 0,
            breach: step.is_some_and(|s| s.info.kind == "monitor"),
            scroll: 0,
        };
        dialog.choice = dialog.default_choice();
        Dialog::Question(dialog)
    }

    pub(super) fn procedure_picker(&self) -> ProcedurePicker {
        let failure = self.question.as_ref().and_then(|q| match &q.kind {
            QuestionKind::Failure { rollbacks, .. } => Some((q.id, rollbacks)),
            _ => None,
        });
        let entries = self
            .checklist
            .procedures
            .iter()
            .map(|p| {
                let command = match failure {
                    Some((id, offered)) if offered.contains(&p.id) => Command::Answer {
                        id,
                        answer: Answer::Decide(Decision::Rollback(p.id.clone())),
                    },
                    _ => Command::StartProcedure(p.id.clone()),
                };
                let title = match p.expected {
                    Some(took) => format!(
                        "{} (~{:.0} s in its drill)",
                        p.title,
                        took.as_secs_f64().max(1.0)
                    ),
                    None => p.title.clone(),
                };
                ProcedureEntry {
                    id: p.id.clone(),
                    title,
                    section: p.section,
                    description: p.description.clone(),
                    steps: p
                        .steps
                        .iter()
                        .filter_map(|&i| self.checklist.steps.get(i))
                        .map(|s| (s.info.title.clone(), s.info.preview.clone()))
                        .collect(),
                    command,
                }
            })
            .collect();
        ProcedurePicker {
            entries,
            selected: 0,
            scroll: 0,
        }
    }

    /// Handle a key from the terminal.
    pub fn on_key(&mut self, key: KeyEvent) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        if self.ui.help {
            self.ui.help = false;
            return;
        }
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if self.ui.observer.is_some() {
            self.observe_key(&key, ctrl_c);
        } else if ctrl_c {
            self.perform(Action::Quit);
        } else if let Some(dialog) = self.dialog.as_mut() {
            let reaction = dialog.on_key(&key, &self.keymap);
            self.react(reaction);
        } else if self.search.input.is_some() {
            self.search_key(&key);
        } else if let Some(action) = self.keymap.action(&key) {
            self.perform(action);
        }
    }

    fn react(&mut self, reaction: Reaction) {
        match reaction {
            Reaction::Stay => {}
            Reaction::Close => self.dialog = None,
            Reaction::Hide => {
                self.dialog = None;
                self.run.message = Some((
                    NoticeLevel::Warn,
                    "The question is still open: Enter answers it.".to_string(),
                ));
            }
            Reaction::Open(dialog) => self.dialog = Some(dialog),
            Reaction::Help => self.ui.help = true,
            Reaction::Do(effect) => {
                self.dialog = None;
                self.run_effect(effect);
            }
        }
    }

    fn run_effect(&mut self, effect: Effect) {
        match effect {
            Effect::Send { command, message } => {
                if let Command::Answer { id, .. } = &command
                    && self.question.as_ref().is_some_and(|q| q.id == *id)
                {
                    self.question = None;
                }
                self.outbox.push(command);
                if message.is_some() {
                    self.run.message = message;
                }
            }
            Effect::Stop => {
                self.outbox.push(Command::Interrupt);
                self.ui.quitting = true;
                self.run.message = Some((
                    NoticeLevel::Warn,
                    "Stopping: waiting for the engine to stop the step (q again leaves now)."
                        .to_string(),
                ));
            }
        }
    }

    /// The number of output lines the pane shows.
    pub fn output_rows(&self) -> usize {
        layout::areas(
            self.ui.size,
            self.run.is_production(),
            notices::rows(self.run.notices.len()),
        )
        .output_rows()
    }
}

/// What a watching console says while the driver's question is open.
pub fn waiting_for(user: &str) -> String {
    format!("waiting for {user}'s confirmation")
}

impl App {
    /// A key in a read-only console: moving, scrolling, searching, switching views, help and
    /// quitting; anything that would answer or start something only says it cannot.
    fn observe_key(&mut self, key: &KeyEvent, ctrl_c: bool) {
        if ctrl_c {
            self.ui.exit = true;
            return;
        }
        if self.search.input.is_some() {
            self.search_key(key);
            return;
        }
        match self.keymap.action(key) {
            Some(Action::Quit) => self.ui.exit = true,
            Some(
                Action::Rollback
                | Action::Pick(_)
                | Action::Retry
                | Action::Skip
                | Action::Abort
                | Action::Yes
                | Action::No,
            ) => self.read_only(),
            Some(Action::Activate) if self.question.is_some() => self.read_only(),
            Some(action) => self.perform(action),
            None => {}
        }
    }

    fn read_only(&mut self) {
        let user = self.ui.observer.clone().unwrap_or_default();
        self.run.message = Some((
            NoticeLevel::Info,
            format!(
                "Read-only: this console watches the run; only {user} can answer or start anything."
            ),
        ));
    }
}
