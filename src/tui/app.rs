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
use super::view::layout;
use crate::engine::events::{
    Answer, Command, Decision, EngineEvent, NoticeLevel, Outcome, Question, QuestionKind,
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
    /// Spinner frame.
    pub spinner: usize,
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
                ..Ui::default()
            },
            output_cap: options.output_cap,
            outbox: Vec::new(),
        }
    }

    /// The commands to send to the engine, oldest first.
    pub fn take_commands(&mut self) -> Vec<Command> {
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

    /// Advance clocks and the spinner; returns whether the screen changed.
    pub fn tick(&mut self, now: Instant) -> bool {
        self.checklist.tick(now);
        let clock = self.run.tick(now);
        let busy = self.checklist.running().is_some();
        if busy {
            self.ui.spinner = self.ui.spinner.wrapping_add(1);
        }
        clock || busy
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
            } => self
                .checklist
                .set_state(step, state, attempt, elapsed, detail, now),
            EngineEvent::Output { step, lines } => self.outputs.push(step, lines),
            EngineEvent::Ask { question } => self.ask(question),
            EngineEvent::Notice { level, text } => self.run.message = Some((level, text)),
            EngineEvent::Monitor { step, snapshot } => {
                if self.dashboard.update(step, snapshot) {
                    self.ui.view = View::Dashboard;
                }
            }
            EngineEvent::Finished { outcome, message } => self.finish(outcome, message),
        }
        if self.checklist.selected != selected {
            self.scroll = Scroll::Follow;
            self.search.current = None;
        }
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

    fn finish(&mut self, outcome: Outcome, message: String) {
        let level = match outcome {
            Outcome::Passed => NoticeLevel::Info,
            Outcome::RolledBack | Outcome::Interrupted => NoticeLevel::Warn,
            _ => NoticeLevel::Error,
        };
        self.run.message = Some((level, message.clone()));
        self.run.finished = Some((outcome, message));
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
        if self.dialog.is_none() {
            self.dialog = Some(self.question_dialog(&question));
        } else {
            self.run.message = Some((
                NoticeLevel::Warn,
                format!("The engine asks: {} (Enter answers)", question.prompt),
            ));
        }
        self.question = Some(question);
    }

    fn question_dialog(&self, question: &Question) -> Dialog {
        let step = question.step.and_then(|i| self.checklist.steps.get(i));
        Dialog::Question(QuestionDialog {
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
        })
    }

    fn procedure_picker(&self) -> ProcedurePicker {
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
                ProcedureEntry {
                    id: p.id.clone(),
                    title: p.title.clone(),
                    section: p.section.clone(),
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
        if ctrl_c {
            self.perform(Action::Quit);
        } else if let Some(dialog) = self.dialog.as_mut() {
            let reaction = dialog.on_key(&key);
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

    fn search_key(&mut self, key: &KeyEvent) {
        match key.code {
            KeyCode::Esc => self.search.input = None,
            // `commit` ends the prompt either way; an empty query searches nothing.
            KeyCode::Enter if self.search.commit() => self.first_match(),
            KeyCode::Backspace => {
                if let Some(input) = self.search.input.as_mut() {
                    input.pop();
                }
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                if let Some(input) = self.search.input.as_mut() {
                    input.push(c);
                }
            }
            _ => {}
        }
    }

    /// The first match at or below the top visible line.
    fn first_match(&mut self) {
        let top = self.top_line();
        let out = self.outputs.step(self.checklist.selected);
        if out.get(top).is_some_and(|l| self.search.matches(&l.text)) {
            self.search.current = Some(top);
        } else {
            self.jump_to_match(top, true);
        }
    }

    /// The number of output lines the pane shows.
    pub fn output_rows(&self) -> usize {
        layout::areas(self.ui.size, self.run.is_production()).output_rows()
    }

    fn top_line(&self) -> usize {
        let out = self.outputs.step(self.checklist.selected);
        self.scroll.top(out, self.output_rows())
    }

    fn jump_to_match(&mut self, from: usize, forward: bool) {
        let out = self.outputs.step(self.checklist.selected);
        match self.search.find(out, from, forward) {
            Some(line) => {
                let rows = self.output_rows();
                self.scroll = Scroll::At(line.saturating_sub(rows / 2));
                self.scroll = self.scroll.moved(out, rows, 0);
                self.run.message = None;
            }
            None => {
                self.run.message = Some((
                    NoticeLevel::Warn,
                    format!(
                        "No match for “{}” in this step's output.",
                        self.search.query
                    ),
                ));
            }
        }
    }

    /// Do what a key bound to `action` does.
    pub fn perform(&mut self, action: Action) {
        let rows = self.output_rows();
        let page = rows.saturating_sub(1).max(1).cast_signed();
        let selected = self.checklist.selected;
        let out = self.outputs.step(selected);
        let on_list = self.ui.focus == Pane::Checklist;
        match action {
            Action::Up | Action::Down => {
                let delta = if action == Action::Up { -1 } else { 1 };
                if on_list {
                    self.checklist.move_by(delta);
                } else {
                    self.scroll = self.scroll.moved(out, rows, delta);
                }
            }
            Action::PageUp => self.scroll = self.scroll.moved(out, rows, -page),
            Action::PageDown => self.scroll = self.scroll.moved(out, rows, page),
            Action::Top if on_list => self.checklist.select_end(false),
            Action::Top => self.scroll = Scroll::At(out.first()).moved(out, rows, 0),
            Action::Bottom if on_list => self.checklist.select_end(true),
            Action::Bottom => self.scroll = Scroll::Follow,
            Action::Follow => {
                self.checklist.follow();
                self.scroll = Scroll::Follow;
            }
            Action::SwitchPane => self.switch_pane(),
            Action::Activate => match &self.question {
                Some(q) if self.dialog.is_none() => self.dialog = Some(self.question_dialog(q)),
                _ => self.switch_pane(),
            },
            Action::Search => self.search.open(),
            Action::NextMatch | Action::PrevMatch => {
                let forward = action == Action::NextMatch;
                let from = self.search.current.unwrap_or_else(|| self.top_line());
                self.jump_to_match(from, forward);
            }
            Action::Procedures => {
                if self.checklist.procedures.is_empty() {
                    self.run.message = Some((
                        NoticeLevel::Warn,
                        "This runbook has no rollback or diagnostic procedures.".to_string(),
                    ));
                } else {
                    self.dialog = Some(Dialog::Procedures(self.procedure_picker()));
                }
            }
            Action::Dashboard => match (self.ui.view, &self.dashboard.latest) {
                (View::Dashboard, _) => self.ui.view = View::Checklist,
                (View::Checklist, Some(_)) => self.ui.view = View::Dashboard,
                (View::Checklist, None) => {
                    self.run.message = Some((
                        NoticeLevel::Info,
                        "No dashboard yet: it appears when a monitor step runs.".to_string(),
                    ));
                }
            },
            Action::Help => self.ui.help = true,
            Action::Quit => self.quit(),
        }
        if self.checklist.selected != selected {
            self.scroll = Scroll::Follow;
            self.search.current = None;
        }
    }

    fn switch_pane(&mut self) {
        self.ui.focus = match self.ui.focus {
            Pane::Checklist => Pane::Output,
            Pane::Output => Pane::Checklist,
        };
    }

    fn quit(&mut self) {
        if self.ui.quitting || !self.run.is_live() {
            self.ui.exit = true;
            return;
        }
        let running = self
            .checklist
            .running()
            .and_then(|i| self.checklist.steps.get(i))
            .map(|s| {
                format!(
                    "“{}” is running: its whole process group is stopped.",
                    s.info.title
                )
            });
        let mut lines: Vec<String> = running.into_iter().collect();
        lines.push("The run ends as interrupted; `golive run --resume` continues it.".to_string());
        self.dialog = Some(Dialog::Confirm(super::state::dialog::ConfirmDialog {
            title: "Stop the run and quit?".to_string(),
            lines,
            danger: true,
            effect: Effect::Stop,
            back: None,
        }));
    }
}
