//! The fleet console's state: one row per target with the state of each main step (the
//! matrix), the selected target's output, the wave question being answered, the pause, the
//! halt. It applies [`FleetEvent`]s and keys; drawing is [`super::fleet_view`]'s.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use golive_core::events::{Answer, EngineEvent, Outcome, OutputLine, StepState};
use golive_core::fleet::{FleetCommand, FleetEvent, FleetOutcome, Wave, WaveQuestion};

/// Lines of output kept per target (the whole output is in its step logs).
pub const OUTPUT_CAP: usize = 2000;

/// Where a target is in the fleet run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetStatus {
    /// Its wave has not reached it.
    Waiting,
    /// Its engine runs.
    Running,
    /// Passed in an earlier process of this fleet run.
    Skipped,
    /// Its run ended (`None`: it never started).
    Finished(Option<Outcome>),
}

/// One row of the matrix.
#[derive(Debug, Clone)]
pub struct TargetRow {
    /// The target's name.
    pub name: String,
    /// Index of its wave.
    pub wave: usize,
    /// The state of each main step, by column.
    pub steps: Vec<StepState>,
    /// Where it is.
    pub status: TargetStatus,
    /// Its last message (how it ended, why it did not start).
    pub message: Option<String>,
    /// Its latest output lines, oldest first.
    pub output: VecDeque<OutputLine>,
}

/// The wave question on screen, and what the operator typed so far.
#[derive(Debug, Clone)]
pub struct Dialog {
    /// The question.
    pub question: WaveQuestion,
    /// Typed text (for a destructive step: the wave's name).
    pub typed: String,
    /// The last answer was mistyped.
    pub mistyped: bool,
}

/// What a key asks of the console's loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOutcome {
    /// Nothing more than the state change.
    None,
    /// Send this to the fleet driver.
    Send(FleetCommand),
    /// Leave the console.
    Quit,
}

/// The fleet console's whole state.
#[derive(Debug, Clone, Default)]
pub struct FleetState {
    /// `[runbook] name`.
    pub runbook: String,
    /// The fleet's run directory.
    pub run_dir: PathBuf,
    /// The step ids that run: the matrix's columns.
    pub steps: Vec<String>,
    /// The engine's index of the first column's step.
    pub first_step: usize,
    /// The waves.
    pub waves: Vec<Wave>,
    /// The rows.
    pub targets: Vec<TargetRow>,
    /// The wave that runs now (or ran last).
    pub wave: Option<usize>,
    /// The selected row.
    pub selected: usize,
    /// The wave question waiting for an answer.
    pub dialog: Option<Dialog>,
    /// The pause before a wave: (wave, time left).
    pub pause: Option<(usize, Duration)>,
    /// Why the fleet halted, when it did.
    pub halted: Option<String>,
    /// How the fleet run ended, when it did.
    pub finished: Option<(FleetOutcome, String)>,
    /// Whether an interrupt was sent (a second quit leaves).
    pub stopping: bool,
    /// The running spinner's frame.
    pub spinner: usize,
    /// The (wave, step) last confirmed: the same question again means it was mistyped.
    confirmed: Option<(usize, String)>,
}

impl FleetState {
    /// Apply one event from the driver.
    pub fn apply(&mut self, event: FleetEvent) {
        match event {
            FleetEvent::FleetStarted {
                run_dir,
                runbook,
                targets,
                waves,
                steps,
                first_step,
                ..
            } => {
                self.first_step = first_step;
                let wave_of = |t: usize| waves.iter().position(|w| w.targets.contains(&t));
                self.targets = targets
                    .into_iter()
                    .enumerate()
                    .map(|(t, name)| TargetRow {
                        name,
                        wave: wave_of(t).unwrap_or(0),
                        steps: vec![StepState::Pending; steps.len()],
                        status: TargetStatus::Waiting,
                        message: None,
                        output: VecDeque::new(),
                    })
                    .collect();
                self.run_dir = run_dir;
                self.runbook = runbook;
                self.steps = steps;
                self.waves = waves;
            }
            FleetEvent::WaveStarted { wave } => {
                self.wave = Some(wave);
                self.pause = None;
                // The first target of the wave comes into view.
                if let Some(&first) = self.waves.get(wave).and_then(|w| w.targets.first()) {
                    self.selected = first;
                }
            }
            FleetEvent::Target { target, engine } => self.apply_engine(target, engine),
            FleetEvent::TargetSkipped { target } => {
                if let Some(row) = self.targets.get_mut(target) {
                    row.status = TargetStatus::Skipped;
                    row.steps.fill(StepState::Passed);
                }
            }
            FleetEvent::TargetFinished {
                target,
                outcome,
                message,
            } => {
                if let Some(row) = self.targets.get_mut(target) {
                    row.status = TargetStatus::Finished(outcome);
                    row.message = Some(message);
                }
            }
            FleetEvent::Ask { question } => {
                let again = (question.wave, question.step.clone());
                self.dialog = Some(Dialog {
                    mistyped: self.confirmed.as_ref() == Some(&again),
                    question,
                    typed: String::new(),
                });
            }
            FleetEvent::Withdrawn { id } => {
                if self.dialog.as_ref().is_some_and(|d| d.question.id == id) {
                    self.dialog = None;
                }
            }
            FleetEvent::Pause { next, left } => self.pause = Some((next, left)),
            FleetEvent::WaveFinished { .. } => {}
            FleetEvent::Halted { target, reason, .. } => {
                let name = self.targets.get(target).map_or("?", |r| r.name.as_str());
                self.halted = Some(format!("target `{name}` did not pass: {reason}"));
                self.selected = target;
            }
            FleetEvent::FleetFinished { outcome, message } => {
                self.finished = Some((outcome, message));
                self.dialog = None;
                self.pause = None;
            }
        }
    }

    fn apply_engine(&mut self, target: usize, event: EngineEvent) {
        let first = self.first_step;
        let Some(row) = self.targets.get_mut(target) else {
            return;
        };
        match event {
            EngineEvent::Started { run } => {
                row.status = TargetStatus::Running;
                for (cell, step) in row.steps.iter_mut().zip(run.steps.iter().skip(first)) {
                    *cell = step.state;
                }
            }
            EngineEvent::StepState { step, state, .. } => {
                if let Some(cell) = step.checked_sub(first).and_then(|i| row.steps.get_mut(i)) {
                    *cell = state;
                }
            }
            EngineEvent::Output { chunks, .. } => {
                for chunk in &chunks {
                    row.output.extend(chunk.to_lines());
                }
                let over = row.output.len().saturating_sub(OUTPUT_CAP);
                row.output.drain(..over);
            }
            _ => {}
        }
    }

    /// A turn of the render interval: the spinner moves when something runs.
    pub fn tick(&mut self) -> bool {
        let running = self
            .targets
            .iter()
            .any(|r| r.steps.contains(&StepState::Running));
        if running {
            self.spinner = self.spinner.wrapping_add(1);
        }
        running
    }

    /// Apply a key.
    pub fn key(&mut self, key: KeyEvent) -> KeyOutcome {
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if let Some(dialog) = &mut self.dialog {
            let id = dialog.question.id;
            let typed = dialog.question.expect_typed.is_some();
            let answer = match key.code {
                _ if ctrl_c => None,
                KeyCode::Esc => Some(Answer::Refuse),
                KeyCode::Char('n') if !typed => Some(Answer::Refuse),
                KeyCode::Char('y') if !typed => Some(Answer::Confirm {
                    typed: String::new(),
                }),
                KeyCode::Enter if typed => Some(Answer::Confirm {
                    typed: dialog.typed.clone(),
                }),
                KeyCode::Backspace => {
                    dialog.typed.pop();
                    return KeyOutcome::None;
                }
                KeyCode::Char(c) if typed => {
                    dialog.typed.push(c);
                    return KeyOutcome::None;
                }
                _ => return KeyOutcome::None,
            };
            if let Some(answer) = answer {
                if matches!(answer, Answer::Confirm { .. }) {
                    self.confirmed = Some((dialog.question.wave, dialog.question.step.clone()));
                }
                self.dialog = None;
                return KeyOutcome::Send(FleetCommand::Answer { id, answer });
            }
        }
        match key.code {
            KeyCode::Down | KeyCode::Char('j') => {
                self.selected = (self.selected + 1).min(self.targets.len().saturating_sub(1));
                KeyOutcome::None
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.selected = self.selected.saturating_sub(1);
                KeyOutcome::None
            }
            KeyCode::Char('q') | KeyCode::Char('c') if key.code == KeyCode::Char('q') || ctrl_c => {
                if self.finished.is_some() || self.stopping {
                    KeyOutcome::Quit
                } else {
                    self.stopping = true;
                    KeyOutcome::Send(FleetCommand::Interrupt)
                }
            }
            _ => KeyOutcome::None,
        }
    }
}
