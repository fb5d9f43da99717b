//! The fleet console's state: one row per target with the state of each main step (the
//! matrix), the selected target's output, each target's latest dashboard snapshot (the
//! dashboard pane, worst first), the wave question being answered, the pause, the halt. It
//! applies [`FleetEvent`]s and keys; drawing is [`super::fleet_view`]'s and
//! [`super::fleet_dashboard`]'s.

use std::cmp::Reverse;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use golive_core::events::{Answer, EngineEvent, Outcome, OutputLine, StepState};
use golive_core::fleet::{FleetCommand, FleetEvent, FleetOutcome, Wave, WaveQuestion};
use golive_core::monitor::snapshot::{Snapshot, State};
use golive_core::monitor::verdict::VerdictKind;

/// Where a live target's snapshots come from once the fleet run is over.
pub const LIVE: &str = "live since the fleet run ended";

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
    /// Its latest dashboard snapshot, once a watch of it began.
    pub watch: Option<TargetWatch>,
}

/// A target's row on the dashboard: its latest snapshot and where it came from.
#[derive(Debug, Clone)]
pub struct TargetWatch {
    /// The snapshot.
    pub snapshot: Snapshot,
    /// `step <id>` (its own monitor step) or `before <wave>` (the watch between waves).
    pub from: String,
    /// When it arrived.
    pub at: Instant,
    /// The verdict of the watch between waves, once given, and why it did not pass.
    pub verdict: Option<(VerdictKind, Vec<String>)>,
}

impl TargetWatch {
    /// How bad it looks, for the dashboard's order: a failed verdict, then the worst panel
    /// (critical, warning, no data or stale), then all well.
    pub fn severity(&self) -> u8 {
        if self
            .verdict
            .as_ref()
            .is_some_and(|(kind, _)| *kind != VerdictKind::Passed)
        {
            return 5;
        }
        let panels = &self.snapshot.panels;
        if panels.iter().any(|p| p.state == State::Crit) {
            4
        } else if panels.iter().any(|p| p.state == State::Warn) {
            3
        } else if panels
            .iter()
            .any(|p| p.state == State::Nodata || p.stale_seconds.is_some())
        {
            2
        } else {
            1
        }
    }
}

/// What the console shows under its header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Pane {
    /// Targets × steps and the selected target's output.
    #[default]
    Matrix,
    /// One row per target, worst first, and the selected target's panels.
    Dashboard,
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
    /// The pause before a wave: (wave, time left, whether it watches the live targets).
    pub pause: Option<(usize, Duration, bool)>,
    /// The pane on screen.
    pub pane: Pane,
    /// The wave whose pause-watch brought the dashboard up (once per pause).
    shown_for: Option<usize>,
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
                        watch: None,
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
            FleetEvent::Pause {
                next,
                left,
                watching,
            } => {
                self.pause = Some((next, left, watching));
                // The watch between waves is what to look at now: once, the operator may leave.
                if watching && self.shown_for != Some(next) {
                    self.shown_for = Some(next);
                    self.pane = Pane::Dashboard;
                }
            }
            FleetEvent::Watch { target, snapshot } => {
                let from = self
                    .pause
                    .and_then(|(next, ..)| self.waves.get(next))
                    .map_or_else(|| "between waves".into(), |w| format!("before {}", w.name));
                self.watched(target, snapshot, from);
            }
            FleetEvent::Watched {
                target,
                verdict,
                reasons,
                ..
            } => {
                if let Some(watch) = self.targets.get_mut(target).and_then(|r| r.watch.as_mut()) {
                    watch.verdict = Some((verdict, reasons));
                }
            }
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

    /// A target's snapshot arrived (from its monitor step, or the watch between waves).
    fn watched(&mut self, target: usize, snapshot: serde_json::Value, from: String) {
        let Ok(snapshot) = serde_json::from_value::<Snapshot>(snapshot) else {
            return;
        };
        if let Some(row) = self.targets.get_mut(target) {
            // A new watch's verdict is not the last one's.
            let verdict = row
                .watch
                .take()
                .filter(|w| w.from == from)
                .and_then(|w| w.verdict);
            row.watch = Some(TargetWatch {
                snapshot,
                from,
                at: Instant::now(),
                verdict,
            });
        }
    }

    /// The targets that are live once the fleet run is over: those that passed (now or in an
    /// earlier process of the fleet run).
    pub fn live_targets(&self) -> Vec<usize> {
        (0..self.targets.len())
            .filter(|&t| {
                matches!(
                    self.targets[t].status,
                    TargetStatus::Skipped | TargetStatus::Finished(Some(Outcome::Passed))
                )
            })
            .collect()
    }

    /// A snapshot of a live target after the fleet run, from the console's own watch; the
    /// verdict of its last watch between waves stays on its row.
    pub fn live_snapshot(&mut self, target: usize, snapshot: serde_json::Value) {
        let verdict = self
            .targets
            .get(target)
            .and_then(|r| r.watch.as_ref())
            .and_then(|w| w.verdict.clone());
        self.watched(target, snapshot, LIVE.into());
        if let Some(watch) = self.targets.get_mut(target).and_then(|r| r.watch.as_mut()) {
            watch.verdict = watch.verdict.take().or(verdict);
        }
    }

    /// The targets in the dashboard's order: worst first, targets not watched yet last, in
    /// their order otherwise.
    pub fn worst_first(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.targets.len()).collect();
        order.sort_by_key(|&t| {
            let severity = self.targets[t]
                .watch
                .as_ref()
                .map_or(0, TargetWatch::severity);
            (Reverse(severity), t)
        });
        order
    }

    /// Move the selection `down` (or up) one row of the pane on screen: the matrix's order,
    /// or the dashboard's. The selection stays on its target when the dashboard reorders.
    fn move_selection(&mut self, down: bool) {
        let order: Vec<usize> = match self.pane {
            Pane::Matrix => (0..self.targets.len()).collect(),
            Pane::Dashboard => self.worst_first(),
        };
        let at = order.iter().position(|&t| t == self.selected).unwrap_or(0);
        let to = if down {
            (at + 1).min(order.len().saturating_sub(1))
        } else {
            at.saturating_sub(1)
        };
        if let Some(&t) = order.get(to) {
            self.selected = t;
        }
    }

    fn apply_engine(&mut self, target: usize, event: EngineEvent) {
        let first = self.first_step;
        if let EngineEvent::Monitor { step, snapshot } = event {
            let id = step
                .checked_sub(first)
                .and_then(|i| self.steps.get(i))
                .map_or_else(|| "its watch".into(), |id| format!("step {id}"));
            self.watched(target, snapshot, id);
            return;
        }
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
                self.move_selection(true);
                KeyOutcome::None
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.move_selection(false);
                KeyOutcome::None
            }
            KeyCode::Char('d') | KeyCode::Tab => {
                self.pane = match self.pane {
                    Pane::Matrix => Pane::Dashboard,
                    Pane::Dashboard => Pane::Matrix,
                };
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
