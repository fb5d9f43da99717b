//! What the keys do outside dialogs: moving, scrolling, searching, opening the picker, the help
//! and the dashboard, and quitting (a confirmed round trip while the run is live).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{App, Pane, View};
use super::keymap::Action;
use super::state::dialog::{ConfirmDialog, Dialog, Effect};
use super::state::output::Scroll;
use golive_core::events::{NoticeLevel, StepState};

impl App {
    pub(super) fn search_key(&mut self, key: &KeyEvent) {
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
            Action::Rollback if self.alone.is_some() => self.rollback_alone(),
            Action::Dashboard if self.alone.is_some() => {}
            Action::Rollback => {
                if self.checklist.procedures.is_empty() {
                    self.run.message = Some((
                        NoticeLevel::Warn,
                        "This runbook has no rollback or diagnostic procedures.".to_string(),
                    ));
                } else {
                    self.dialog = Some(Dialog::Procedures(self.procedure_picker()));
                }
            }
            Action::Dashboard => match (self.ui.view, self.dashboard.has_snapshot()) {
                (View::Dashboard, _) => self.ui.view = View::Checklist,
                (View::Checklist, true) => self.ui.view = View::Dashboard,
                (View::Checklist, false) => {
                    self.run.message = Some((
                        NoticeLevel::Info,
                        "No dashboard yet: it appears when a monitor step runs.".to_string(),
                    ));
                }
            },
            Action::ShorterWindow | Action::LongerWindow | Action::AutoWindow => {
                if self.ui.view == View::Dashboard {
                    self.dashboard.window_key(action);
                } else {
                    self.run.message = Some((
                        NoticeLevel::Info,
                        format!(
                            "The window keys work on the dashboard ({} shows it).",
                            self.keymap.key(Action::Dashboard)
                        ),
                    ));
                }
            }
            Action::DismissNotices => self.run.notices.clear(),
            // Dialog actions: their dialogs read them.
            Action::Pick(_)
            | Action::Retry
            | Action::Skip
            | Action::Abort
            | Action::Yes
            | Action::No
            | Action::Back => {}
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
        if self.ui.quitting || !self.run.is_live() || self.alone.is_some() {
            self.ui.exit = true;
            return;
        }
        self.dialog = Some(Dialog::Confirm(ConfirmDialog {
            title: "Stop the run and quit?".to_string(),
            lines: self.what_is_at_stake(),
            danger: true,
            effect: Effect::Stop,
            back: None,
            scroll: 0,
        }));
    }

    /// What quitting now leaves behind, and the way back.
    fn what_is_at_stake(&self) -> Vec<String> {
        let steps = &self.checklist.steps;
        let mut lines = Vec::new();
        if let Some(s) = self.checklist.running().and_then(|i| steps.get(i)) {
            lines.push(format!(
                "“{}” is running: its whole process group is stopped.",
                s.info.title
            ));
            if s.info.kind == "monitor" {
                lines.push("The watch stops: nothing watches the dashboard after this.".into());
            }
        }
        let rolled_back = steps
            .iter()
            .any(|s| s.info.procedure.is_some() && s.state == StepState::Passed);
        let flags: Vec<&str> = steps
            .iter()
            .filter(|s| {
                s.info.procedure.is_none() && s.info.kind == "flags" && s.state == StepState::Passed
            })
            .map(|s| s.info.title.as_str())
            .collect();
        if !flags.is_empty() && !rolled_back {
            lines.push(format!(
                "Feature flags stay ON (set by “{}”): roll back first ({}) if they should not.",
                flags.join("”, “"),
                self.keymap.key(Action::Rollback)
            ));
        }
        let done = steps
            .iter()
            .filter(|s| s.info.procedure.is_none() && s.state == StepState::Passed)
            .count();
        let main = steps.iter().filter(|s| s.info.procedure.is_none()).count();
        lines.push(format!("{done} of {main} steps have passed."));
        if self.ui.rehearsal {
            lines.push(
                "This is a rehearsal: the sandbox goes away with the run, so there is nothing \
                 to resume; `golive rehearse` starts over."
                    .into(),
            );
        } else {
            lines.push(format!(
                "The run ends as interrupted; `golive run --resume` continues it (journal in {}).",
                self.run.run_dir.display()
            ));
        }
        lines
    }
}
