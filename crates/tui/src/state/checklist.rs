//! The checklist: every step with its state, attempt, timing and detail, the procedures below the
//! main sequence, and which step is selected.

use std::time::{Duration, Instant};

use golive_core::events::{ProcedureInfo, StepIdx, StepInfo, StepState};

/// One step as the checklist tracks it.
#[derive(Debug, Clone)]
pub struct StepRow {
    /// What the engine said about the step at the start.
    pub info: StepInfo,
    /// Its current state.
    pub state: StepState,
    /// Attempt number (0 before the first).
    pub attempt: u32,
    /// How long it ran, or has been running.
    pub elapsed: Option<Duration>,
    /// When it started running, while it runs.
    pub started_at: Option<Instant>,
    /// The exit code or error, once it ended.
    pub detail: Option<String>,
}

/// A line of the checklist pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// A procedure's heading (index into [`Checklist::procedures`]).
    Procedure(usize),
    /// A step.
    Step(StepIdx),
}

/// The checklist pane's state.
#[derive(Debug, Clone, Default)]
pub struct Checklist {
    /// Every step, main sequence first.
    pub steps: Vec<StepRow>,
    /// The rollback and diagnostic procedures.
    pub procedures: Vec<ProcedureInfo>,
    /// The selected step.
    pub selected: StepIdx,
    /// Whether the selection jumps to the step that starts running.
    pub auto_follow: bool,
    /// The display order: main sequence, then each procedure with its steps.
    rows: Vec<Row>,
}

impl Checklist {
    /// A checklist of `steps` and `procedures`.
    pub fn new(steps: Vec<StepInfo>, procedures: Vec<ProcedureInfo>) -> Self {
        let mut rows: Vec<Row> = (0..steps.len())
            .filter(|&i| steps[i].procedure.is_none())
            .map(Row::Step)
            .collect();
        for (p, proc_) in procedures.iter().enumerate() {
            rows.push(Row::Procedure(p));
            rows.extend(
                proc_
                    .steps
                    .iter()
                    .filter(|&&i| i < steps.len())
                    .map(|&i| Row::Step(i)),
            );
        }
        let steps: Vec<StepRow> = steps
            .into_iter()
            .map(|info| StepRow {
                state: info.state,
                info,
                attempt: 0,
                elapsed: None,
                started_at: None,
                detail: None,
            })
            .collect();
        let selected = rows
            .iter()
            .find_map(|r| match r {
                Row::Step(i) if !steps[*i].state.is_final() => Some(*i),
                _ => None,
            })
            .unwrap_or(0);
        Checklist {
            steps,
            procedures,
            selected,
            auto_follow: true,
            rows,
        }
    }

    /// The rows in display order.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The selected step, if there are steps.
    pub fn selected_step(&self) -> Option<&StepRow> {
        self.steps.get(self.selected)
    }

    /// The step at `idx`.
    pub fn step(&self, idx: StepIdx) -> Option<&StepRow> {
        self.steps.get(idx)
    }

    /// The step running now, if any.
    pub fn running(&self) -> Option<StepIdx> {
        self.steps
            .iter()
            .position(|s| s.state == StepState::Running)
    }

    /// Apply a state change from the engine.
    pub fn set_state(
        &mut self,
        step: StepIdx,
        state: StepState,
        attempt: u32,
        elapsed: Option<Duration>,
        detail: Option<String>,
        now: Instant,
    ) {
        let Some(row) = self.steps.get_mut(step) else {
            return;
        };
        if state == StepState::Running && row.state != StepState::Running {
            row.started_at = Some(now);
            row.elapsed = Some(Duration::ZERO);
            row.detail = None;
        }
        if state != StepState::Running {
            row.started_at = None;
        }
        if elapsed.is_some() {
            row.elapsed = elapsed;
        }
        if detail.is_some() {
            row.detail = detail;
        }
        row.state = state;
        row.attempt = attempt;
        if self.auto_follow && matches!(state, StepState::Running | StepState::AwaitingConfirmation)
        {
            self.selected = step;
        }
    }

    /// The engine asks about `step` (a confirmation, a gate, a failure, an interrupted step of a
    /// resumed run): it becomes the selection, unless the operator took the selection over.
    pub fn asked_about(&mut self, step: StepIdx) {
        if self.auto_follow && step < self.steps.len() {
            self.selected = step;
        }
    }

    /// Bring running steps' durations up to `now`.
    pub fn tick(&mut self, now: Instant) {
        for row in &mut self.steps {
            if let Some(start) = row.started_at {
                row.elapsed = Some(now.saturating_duration_since(start));
            }
        }
    }

    /// Move the selection by `delta` steps in display order (the operator took over).
    pub fn move_by(&mut self, delta: isize) {
        let order: Vec<StepIdx> = self.step_order().collect();
        let Some(pos) = order.iter().position(|&i| i == self.selected) else {
            return;
        };
        let target = pos
            .saturating_add_signed(delta)
            .min(order.len().saturating_sub(1));
        self.selected = order[target];
        self.auto_follow = false;
    }

    /// Select the first (`last == false`) or last step in display order.
    pub fn select_end(&mut self, last: bool) {
        let pick = {
            let mut order = self.step_order();
            if last {
                order.next_back()
            } else {
                order.next()
            }
        };
        if let Some(i) = pick {
            self.selected = i;
            self.auto_follow = false;
        }
    }

    /// Follow the running step again.
    pub fn follow(&mut self) {
        self.auto_follow = true;
        if let Some(i) = self.running() {
            self.selected = i;
        }
    }

    fn step_order(&self) -> impl DoubleEndedIterator<Item = StepIdx> + '_ {
        self.rows.iter().filter_map(|r| match r {
            Row::Step(i) => Some(*i),
            Row::Procedure(_) => None,
        })
    }

    /// The expected time left: the rehearsal's durations of the main-sequence steps not yet done,
    /// less what the running step has already used; `None` without a rehearsal.
    pub fn expected_remaining(&self) -> Option<Duration> {
        let main = self.steps.iter().filter(|s| s.info.procedure.is_none());
        let mut any = false;
        let mut left = Duration::ZERO;
        for row in main {
            if let Some(expected) = row.info.expected {
                any = true;
                if !row.state.is_final() {
                    let used = row.elapsed.unwrap_or_default();
                    left += expected.saturating_sub(used);
                }
            }
        }
        any.then_some(left)
    }

    /// How many main-sequence steps are done, and how many there are.
    pub fn progress(&self) -> (usize, usize) {
        let main: Vec<&StepRow> = self
            .steps
            .iter()
            .filter(|s| s.info.procedure.is_none())
            .collect();
        let done = main.iter().filter(|s| s.state.is_final()).count();
        (done, main.len())
    }
}
