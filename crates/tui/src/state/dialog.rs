//! Dialogs and what their keys do: the engine's questions (typed confirmation of a destructive
//! step, a gate, a failure's choices), the rollback picker, and the yes/no confirmation that every
//! consequential action passes through (a round trip: ask, then act only on `y`).
//!
//! Plain confirmations take `y`, never Enter, so an Enter meant for another dialog that opens
//! under the operator's fingers cannot confirm anything. Every key goes through the
//! [`Keymap`] of the dialog's [`Context`], the same table the footer and the help are drawn from.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::keymap::{Action, Context, Keymap};

use golive_core::events::{
    Answer, Command, Decision, NoticeLevel, ProcedureKind, Question, QuestionKind,
};

/// An open dialog.
#[derive(Debug, Clone)]
pub enum Dialog {
    /// A question from the engine.
    Question(QuestionDialog),
    /// A yes/no confirmation of an action.
    Confirm(ConfirmDialog),
    /// The rollback and diagnostic procedures.
    Procedures(ProcedurePicker),
}

/// A question from the engine with what the operator has typed or chosen so far.
#[derive(Debug, Clone)]
pub struct QuestionDialog {
    /// The question.
    pub question: Question,
    /// The step's title, when the question is about a step.
    pub step_title: Option<String>,
    /// The database or host the step acts on.
    pub target: Option<String>,
    /// Titles of the rollback procedures a failure offers, by id.
    pub rollback_titles: Vec<(String, String)>,
    /// What the operator typed (destructive confirmation).
    pub typed: String,
    /// The highlighted choice (failure).
    pub choice: usize,
    /// The failed step is a monitor step (a breach): the recommended rollback is the default.
    pub breach: bool,
    /// How far the body is scrolled (PgUp/PgDn), in lines.
    pub scroll: usize,
}

/// A yes/no confirmation.
#[derive(Debug, Clone)]
pub struct ConfirmDialog {
    /// One line: what is about to happen.
    pub title: String,
    /// The details: what runs, where, what follows.
    pub lines: Vec<String>,
    /// Shown in the danger style.
    pub danger: bool,
    /// What `y` does.
    pub effect: Effect,
    /// The dialog `n` returns to.
    pub back: Option<Box<Dialog>>,
    /// How far the body is scrolled (PgUp/PgDn), in lines.
    pub scroll: usize,
}

/// One procedure in the picker.
#[derive(Debug, Clone)]
pub struct ProcedureEntry {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// `rollback` or `diagnostic`.
    pub section: ProcedureKind,
    /// What it will do.
    pub description: Option<String>,
    /// Its steps: title and exactly what runs.
    pub steps: Vec<(String, String)>,
    /// What starting it sends (a failure's `Decide(Rollback)` or `StartProcedure`).
    pub command: Command,
}

/// The procedure picker.
#[derive(Debug, Clone)]
pub struct ProcedurePicker {
    /// Every procedure.
    pub entries: Vec<ProcedureEntry>,
    /// The highlighted one.
    pub selected: usize,
    /// How far the body is scrolled (PgUp/PgDn), in lines.
    pub scroll: usize,
}

/// What a confirmed action does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send a command to the engine, and show a message.
    Send {
        /// The command.
        command: Command,
        /// What the footer says afterwards.
        message: Option<(NoticeLevel, String)>,
    },
    /// Stop the run (interrupt the running step), then leave once the engine has stopped.
    Stop,
}

/// What a key did to a dialog.
#[derive(Debug, Clone)]
pub enum Reaction {
    /// Nothing visible beyond the dialog's own state.
    Stay,
    /// Close the dialog.
    Close,
    /// Put the dialog away; its question stays pending.
    Hide,
    /// Replace the dialog with another.
    Open(Dialog),
    /// Close the dialog and do this.
    Do(Effect),
    /// Open the help overlay over the dialog.
    Help,
}

impl Dialog {
    /// React to a key, read through `keymap` in the dialog's context.
    pub fn on_key(&mut self, key: &KeyEvent, keymap: &Keymap) -> Reaction {
        let context = self.context();
        let action = keymap.action_in(context, key);
        if action == Some(Action::Help) {
            return Reaction::Help;
        }
        match self {
            Dialog::Question(q) => q.on_key(key, action),
            Dialog::Confirm(c) => c.on_key(action),
            Dialog::Procedures(p) => p.on_key(action),
        }
    }

    /// The dialog's key hints: its context's, less a rollback key when no rollback is offered.
    pub fn hints(&self, keymap: &Keymap) -> Vec<(String, &'static str)> {
        let context = self.context();
        let no_rollback = match self {
            Dialog::Question(q) => !q
                .choices()
                .iter()
                .any(|(d, _, _)| matches!(d, Decision::Rollback(_))),
            Dialog::Procedures(p) => !p
                .entries
                .iter()
                .any(|e| e.section == ProcedureKind::Rollback),
            Dialog::Confirm(_) => false,
        };
        let rollback = keymap.hint(context, Action::Rollback);
        keymap
            .hints(context)
            .into_iter()
            .filter(|h| !(no_rollback && *h == rollback))
            .collect()
    }

    /// Which keys work in this dialog.
    pub fn context(&self) -> Context {
        match self {
            Dialog::Question(q) => q.context(),
            Dialog::Confirm(_) => Context::Confirm,
            Dialog::Procedures(_) => Context::Procedures,
        }
    }
}

/// A page of a dialog's body, for PgUp/PgDn.
const PAGE: usize = 8;

/// Scrolls a dialog's body for PgUp/PgDn; returns whether the action was one of them. The view
/// clamps the offset to the body's length.
fn scroll_body(scroll: &mut usize, action: Option<Action>) -> bool {
    match action {
        Some(Action::PageUp) => *scroll = scroll.saturating_sub(PAGE),
        Some(Action::PageDown) => *scroll += PAGE,
        _ => return false,
    }
    true
}

fn is_plain_char(key: &KeyEvent) -> Option<char> {
    match key.code {
        KeyCode::Char(c)
            if !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            Some(c)
        }
        _ => None,
    }
}

/// Moves a highlight for Up/Down; returns whether the action was one of them.
fn move_choice(choice: &mut usize, len: usize, action: Option<Action>) -> bool {
    match action {
        Some(Action::Up) => *choice = choice.saturating_sub(1),
        Some(Action::Down) => *choice = (*choice + 1).min(len.saturating_sub(1)),
        _ => return false,
    }
    true
}

impl QuestionDialog {
    fn answer(&self, answer: Answer, message: Option<(NoticeLevel, String)>) -> Reaction {
        Reaction::Do(Effect::Send {
            command: Command::Answer {
                id: self.question.id,
                answer,
            },
            message,
        })
    }

    /// Refusing is confirmed too (`y`), and `n` comes back to the question: the run ends as
    /// refused (exit 3) and the refusal is journaled.
    fn refuse(&self) -> Reaction {
        let (title, line) = match self.question.kind {
            QuestionKind::Inconclusive { .. } => (
                format!("Decline the inconclusive watch “{}”?", self.subject()),
                "The step fails; you then choose retry, skip, abort or roll back. The refusal \
                 is journaled.",
            ),
            _ => (
                format!("Refuse “{}”?", self.subject()),
                "It does not run; the run stops here as refused, and the refusal is journaled.",
            ),
        };
        Reaction::Open(Dialog::Confirm(ConfirmDialog {
            title,
            lines: vec![line.to_string()],
            danger: true,
            effect: Effect::Send {
                command: Command::Answer {
                    id: self.question.id,
                    answer: Answer::Refuse,
                },
                message: Some((NoticeLevel::Warn, format!("Refused: {}", self.subject()))),
            },
            back: Some(Box::new(Dialog::Question(self.clone()))),
            scroll: 0,
        }))
    }

    fn subject(&self) -> String {
        self.step_title
            .clone()
            .unwrap_or_else(|| self.question.prompt.clone())
    }

    /// Which keys work in this dialog.
    pub fn context(&self) -> Context {
        match (&self.question.kind, &self.question.expect_typed) {
            (QuestionKind::Failure { .. }, _) => Context::Failure,
            (QuestionKind::Destructive, Some(_)) => Context::Typed,
            _ => Context::Question,
        }
    }

    /// The choices of a failure question, with what each does and the action that picks it:
    /// the rollbacks first (`r` the first, the one a breach's verdict recommends), then retry,
    /// skip and abort.
    pub fn choices(&self) -> Vec<(Decision, String, Action)> {
        let QuestionKind::Failure { rollbacks, .. } = &self.question.kind else {
            return Vec::new();
        };
        let subject = self.subject();
        let mut out = Vec::new();
        for (n, id) in rollbacks.iter().enumerate() {
            let title = self
                .rollback_titles
                .iter()
                .find(|(i, _)| i == id)
                .map_or(id.as_str(), |(_, t)| t.as_str());
            let recommended = if n == 0 && self.breach {
                " (recommended after a breach)"
            } else {
                ""
            };
            let action = match u8::try_from(n) {
                Ok(0) => Action::Rollback,
                Ok(n) => Action::Pick(n),
                Err(_) => Action::Pick(u8::MAX),
            };
            out.push((
                Decision::Rollback(id.clone()),
                format!("roll back: run procedure `{id}` ({title}), then stop{recommended}"),
                action,
            ));
        }
        out.push((
            Decision::Retry,
            format!("retry: run “{subject}” again"),
            Action::Retry,
        ));
        out.push((
            Decision::Skip,
            format!("skip: mark “{subject}” skipped (journaled) and go on"),
            Action::Skip,
        ));
        out.push((
            Decision::Abort,
            "abort: stop the run here".to_string(),
            Action::Abort,
        ));
        out
    }

    /// The choice highlighted when the dialog opens: after a breach the recommended rollback,
    /// never a retry of the watch with the flags still on; otherwise retry.
    pub fn default_choice(&self) -> usize {
        let choices = self.choices();
        let wanted = |d: &Decision| {
            if self.breach {
                matches!(d, Decision::Rollback(_))
            } else {
                *d == Decision::Retry
            }
        };
        choices.iter().position(|(d, _, _)| wanted(d)).unwrap_or(0)
    }

    fn on_key(&mut self, key: &KeyEvent, action: Option<Action>) -> Reaction {
        if action == Some(Action::Back) {
            return Reaction::Hide;
        }
        if scroll_body(&mut self.scroll, action) {
            return Reaction::Stay;
        }
        match self.context() {
            Context::Typed => self.typed_key(key, action),
            Context::Failure => self.failure_key(action),
            _ => match action {
                Some(Action::Yes) => self.answer(
                    Answer::Confirm {
                        typed: String::new(),
                    },
                    Some((NoticeLevel::Info, format!("Confirmed: {}", self.subject()))),
                ),
                Some(Action::No) => self.refuse(),
                _ => Reaction::Stay,
            },
        }
    }

    fn typed_key(&mut self, key: &KeyEvent, action: Option<Action>) -> Reaction {
        let expect = self.question.expect_typed.clone().unwrap_or_default();
        match action {
            Some(Action::No) => return self.refuse(),
            Some(Action::Activate) if self.typed.is_empty() => return Reaction::Stay,
            Some(Action::Activate) => {
                // The engine checks the text again: a mismatch is journaled as a typo, the step
                // does not run, and the question comes back.
                let message = if self.typed == expect {
                    (
                        NoticeLevel::Info,
                        format!("Confirmed: “{}” runs now.", self.subject()),
                    )
                } else {
                    (
                        NoticeLevel::Error,
                        format!(
                            "Mistyped: you typed “{}”, not “{expect}”. “{}” did not run; type it again.",
                            self.typed,
                            self.subject()
                        ),
                    )
                };
                let typed = std::mem::take(&mut self.typed);
                return self.answer(Answer::Confirm { typed }, Some(message));
            }
            _ => {}
        }
        if let Some(c) = is_plain_char(key) {
            self.typed.push(c);
        } else if key.code == KeyCode::Backspace {
            self.typed.pop();
        }
        Reaction::Stay
    }

    fn failure_key(&mut self, action: Option<Action>) -> Reaction {
        let choices = self.choices();
        if move_choice(&mut self.choice, choices.len(), action) {
            return Reaction::Stay;
        }
        let picked = match action {
            Some(Action::Activate) => Some(self.choice),
            // `1` is the first rollback, the one `r` picks.
            Some(Action::Pick(0)) => choices.iter().position(|(_, _, c)| *c == Action::Rollback),
            Some(a) => choices.iter().position(|(_, _, c)| *c == a),
            None => None,
        };
        let Some((i, (decision, what, _))) =
            picked.and_then(|i| choices.get(i).map(|c| (i, c.clone())))
        else {
            return Reaction::Stay;
        };
        self.choice = i;
        let effect = Effect::Send {
            command: Command::Answer {
                id: self.question.id,
                answer: Answer::Decide(decision.clone()),
            },
            message: Some((NoticeLevel::Info, format!("Decided: {what}."))),
        };
        Reaction::Open(Dialog::Confirm(ConfirmDialog {
            title: format!("Really {what}?"),
            lines: vec![format!("Failed: {}", self.subject())],
            danger: !matches!(decision, Decision::Retry),
            effect,
            back: Some(Box::new(Dialog::Question(self.clone()))),
            scroll: 0,
        }))
    }
}

impl ConfirmDialog {
    fn on_key(&mut self, action: Option<Action>) -> Reaction {
        if scroll_body(&mut self.scroll, action) {
            return Reaction::Stay;
        }
        match action {
            Some(Action::Yes) => Reaction::Do(self.effect.clone()),
            Some(Action::No) => match self.back.take() {
                Some(back) => Reaction::Open(*back),
                None => Reaction::Close,
            },
            _ => Reaction::Stay,
        }
    }
}

impl ProcedurePicker {
    fn on_key(&mut self, action: Option<Action>) -> Reaction {
        if scroll_body(&mut self.scroll, action) {
            return Reaction::Stay;
        }
        if move_choice(&mut self.selected, self.entries.len(), action) {
            self.scroll = 0;
            return Reaction::Stay;
        }
        match action {
            Some(Action::Back) => Reaction::Close,
            Some(Action::Rollback) => {
                match self
                    .entries
                    .iter()
                    .position(|e| e.section == ProcedureKind::Rollback)
                {
                    Some(i) => {
                        self.selected = i;
                        self.start()
                    }
                    None => Reaction::Stay,
                }
            }
            Some(Action::Activate) => self.start(),
            _ => Reaction::Stay,
        }
    }

    /// The confirmation of the highlighted procedure.
    fn start(&self) -> Reaction {
        let Some(entry) = self.entries.get(self.selected) else {
            return Reaction::Close;
        };
        let mut lines = Vec::new();
        if let Some(d) = &entry.description {
            lines.push(d.clone());
        }
        lines.push(if entry.section == ProcedureKind::Diagnostic {
            "Read-only: it runs beside the run and stops nothing (a running step first ends); \
             afterwards a failed step can still be retried, skipped or rolled back. It runs:"
                .to_string()
        } else {
            "It stops what runs now, then runs:".to_string()
        });
        for (i, (title, preview)) in entry.steps.iter().enumerate() {
            lines.push(format!("{}. {title}", i + 1));
            lines.extend(preview.lines().map(|l| format!("   {l}")));
        }
        Reaction::Open(Dialog::Confirm(ConfirmDialog {
            title: format!("Start {} `{}`: {}?", entry.section, entry.id, entry.title),
            lines,
            danger: true,
            effect: Effect::Send {
                command: entry.command.clone(),
                message: Some((
                    NoticeLevel::Warn,
                    format!("Started {} `{}`.", entry.section, entry.id),
                )),
            },
            back: Some(Box::new(Dialog::Procedures(self.clone()))),
            scroll: 0,
        }))
    }
}
