//! Dialogs and what their keys do: the engine's questions (typed confirmation of a destructive
//! step, a gate, a failure's choices), the rollback picker, and the yes/no confirmation that every
//! consequential action passes through (a round trip: ask, then act only on `y`).
//!
//! Plain confirmations take `y`, never Enter, so an Enter meant for another dialog that opens
//! under the operator's fingers cannot confirm anything.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::engine::events::{Answer, Command, Decision, NoticeLevel, Question, QuestionKind};

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
}

/// One procedure in the picker.
#[derive(Debug, Clone)]
pub struct ProcedureEntry {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// `rollback` or `diagnostic`.
    pub section: String,
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
}

impl Dialog {
    /// React to a key.
    pub fn on_key(&mut self, key: &KeyEvent) -> Reaction {
        match self {
            Dialog::Question(q) => q.on_key(key),
            Dialog::Confirm(c) => c.on_key(key),
            Dialog::Procedures(p) => p.on_key(key),
        }
    }
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

/// Moves a highlight for `j`/`k`/arrows; returns whether the key was one of them.
fn move_choice(choice: &mut usize, len: usize, key: &KeyEvent) -> bool {
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => *choice = choice.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => *choice = (*choice + 1).min(len.saturating_sub(1)),
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
        }))
    }

    fn subject(&self) -> String {
        self.step_title
            .clone()
            .unwrap_or_else(|| self.question.prompt.clone())
    }

    /// The choices of a failure question, with what each does.
    pub fn choices(&self) -> Vec<(Decision, String)> {
        let QuestionKind::Failure { rollbacks, .. } = &self.question.kind else {
            return Vec::new();
        };
        let subject = self.subject();
        let mut out = vec![
            (Decision::Retry, format!("retry: run “{subject}” again")),
            (
                Decision::Skip,
                format!("skip: mark “{subject}” skipped (journaled) and go on"),
            ),
            (Decision::Abort, "abort: stop the run here".to_string()),
        ];
        for id in rollbacks {
            let title = self
                .rollback_titles
                .iter()
                .find(|(i, _)| i == id)
                .map_or(id.as_str(), |(_, t)| t.as_str());
            out.push((
                Decision::Rollback(id.clone()),
                format!("roll back: run procedure `{id}` ({title}), then stop"),
            ));
        }
        out
    }

    fn on_key(&mut self, key: &KeyEvent) -> Reaction {
        if key.code == KeyCode::Esc {
            return Reaction::Hide;
        }
        match (&self.question.kind, &self.question.expect_typed) {
            (QuestionKind::Destructive, Some(expect)) => {
                // Letters are typed text here, so refusing is ctrl-n (the gates' `n`).
                if key.code == KeyCode::Char('n') && key.modifiers.contains(KeyModifiers::CONTROL) {
                    return self.refuse();
                }
                if let Some(c) = is_plain_char(key) {
                    self.typed.push(c);
                    return Reaction::Stay;
                }
                match key.code {
                    KeyCode::Backspace => {
                        self.typed.pop();
                        Reaction::Stay
                    }
                    KeyCode::Enter if self.typed.is_empty() => Reaction::Stay,
                    KeyCode::Enter => {
                        // The engine checks the text again: a mismatch is journaled as a refusal,
                        // the step does not run, and the question comes back.
                        let message = if self.typed == *expect {
                            (
                                NoticeLevel::Info,
                                format!("Confirmed: “{}” runs now.", self.subject()),
                            )
                        } else {
                            (
                                NoticeLevel::Error,
                                format!(
                                    "Refused: you typed “{}”, not “{expect}”. “{}” did not run; the refusal is journaled.",
                                    self.typed,
                                    self.subject()
                                ),
                            )
                        };
                        let typed = std::mem::take(&mut self.typed);
                        self.answer(Answer::Confirm { typed }, Some(message))
                    }
                    _ => Reaction::Stay,
                }
            }
            (QuestionKind::Failure { .. }, _) => {
                let choices = self.choices();
                if move_choice(&mut self.choice, choices.len(), key) {
                    return Reaction::Stay;
                }
                let hot = match key.code {
                    KeyCode::Char('r') => Some(0),
                    KeyCode::Char('s') => Some(1),
                    KeyCode::Char('a') => Some(2),
                    KeyCode::Char(c @ '1'..='9') => Some(3 + (c as usize - '1' as usize)),
                    KeyCode::Enter => Some(self.choice),
                    _ => None,
                };
                match hot.and_then(|i| choices.get(i).map(|c| (i, c.clone()))) {
                    Some((i, (decision, what))) => {
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
                        }))
                    }
                    None => Reaction::Stay,
                }
            }
            _ => match key.code {
                KeyCode::Char('y') => self.answer(
                    Answer::Confirm {
                        typed: String::new(),
                    },
                    Some((NoticeLevel::Info, format!("Confirmed: {}", self.subject()))),
                ),
                KeyCode::Char('n') => self.refuse(),
                _ => Reaction::Stay,
            },
        }
    }
}

impl ConfirmDialog {
    fn on_key(&mut self, key: &KeyEvent) -> Reaction {
        match key.code {
            KeyCode::Char('y') => Reaction::Do(self.effect.clone()),
            KeyCode::Char('n') | KeyCode::Esc | KeyCode::Char('q') => match self.back.take() {
                Some(back) => Reaction::Open(*back),
                None => Reaction::Close,
            },
            _ => Reaction::Stay,
        }
    }
}

impl ProcedurePicker {
    fn on_key(&mut self, key: &KeyEvent) -> Reaction {
        if move_choice(&mut self.selected, self.entries.len(), key) {
            return Reaction::Stay;
        }
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('r') => Reaction::Close,
            KeyCode::Enter => {
                let Some(entry) = self.entries.get(self.selected) else {
                    return Reaction::Close;
                };
                let mut lines = Vec::new();
                if let Some(d) = &entry.description {
                    lines.push(d.clone());
                }
                lines.push("It stops what runs now, then runs:".to_string());
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
                }))
            }
            _ => Reaction::Stay,
        }
    }
}
