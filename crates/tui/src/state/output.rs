//! Output of every step, kept in memory up to a bound, and where the output pane is scrolled.
//!
//! Each step keeps its last [`DEFAULT_CAP`] lines in a ring (`VecDeque`); older lines are counted
//! and dropped, because the engine writes the whole output to `<run_dir>/steps/<step>.log` and the
//! pane names that file when lines were dropped. Line numbers are absolute (the first line a step
//! ever printed is 0), so a scroll position or a search match stays on its line while old lines
//! are dropped. Reading the visible window is `O(viewport)`: ring indexing is constant time.

use std::collections::VecDeque;

use golive_core::events::{OutputLine, StepIdx};

/// How many lines of one step are kept in memory by default.
pub const DEFAULT_CAP: usize = 100_000;

/// The output of one step.
#[derive(Debug, Clone, Default)]
pub struct StepOutput {
    lines: VecDeque<OutputLine>,
    dropped: usize,
}

impl StepOutput {
    /// Absolute number of the first line still in memory (how many were dropped).
    pub fn first(&self) -> usize {
        self.dropped
    }

    /// How many lines the step has printed in all (one past the last absolute line number).
    pub fn total(&self) -> usize {
        self.dropped + self.lines.len()
    }

    /// The line with absolute number `n`, if it is still in memory.
    pub fn get(&self, n: usize) -> Option<&OutputLine> {
        n.checked_sub(self.dropped).and_then(|i| self.lines.get(i))
    }

    fn push(&mut self, lines: Vec<OutputLine>, cap: usize) {
        let excess = (self.lines.len() + lines.len()).saturating_sub(cap);
        let from_old = excess.min(self.lines.len());
        self.lines.drain(..from_old);
        let skip_new = excess - from_old;
        self.dropped += excess;
        self.lines.extend(lines.into_iter().skip(skip_new));
    }
}

/// The output of every step.
#[derive(Debug, Clone)]
pub struct Outputs {
    steps: Vec<StepOutput>,
    cap: usize,
}

impl Default for Outputs {
    fn default() -> Self {
        Outputs::new(0, DEFAULT_CAP)
    }
}

impl Outputs {
    /// Buffers for `steps` steps keeping at most `cap` lines each.
    pub fn new(steps: usize, cap: usize) -> Self {
        Outputs {
            steps: vec![StepOutput::default(); steps],
            cap: cap.max(1),
        }
    }

    /// Append a batch of lines to a step's output.
    pub fn push(&mut self, step: StepIdx, lines: Vec<OutputLine>) {
        if step >= self.steps.len() {
            self.steps.resize_with(step + 1, StepOutput::default);
        }
        self.steps[step].push(lines, self.cap);
    }

    /// A step's output (empty if it printed nothing).
    pub fn step(&self, step: StepIdx) -> &StepOutput {
        static EMPTY: StepOutput = StepOutput {
            lines: VecDeque::new(),
            dropped: 0,
        };
        self.steps.get(step).unwrap_or(&EMPTY)
    }
}

/// Where the output pane is scrolled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scroll {
    /// Show the tail, moving as lines arrive.
    #[default]
    Follow,
    /// Absolute number of the top visible line.
    At(usize),
}

impl Scroll {
    /// The absolute number of the top visible line for a pane `height` lines tall.
    pub fn top(self, output: &StepOutput, height: usize) -> usize {
        let last_top = output.total().saturating_sub(height).max(output.first());
        match self {
            Scroll::Follow => last_top,
            Scroll::At(top) => top.clamp(output.first(), last_top),
        }
    }

    /// Scrolled by `delta` lines (negative is up); reaching the tail follows it again.
    pub fn moved(self, output: &StepOutput, height: usize, delta: isize) -> Scroll {
        let last_top = output.total().saturating_sub(height).max(output.first());
        let top = self
            .top(output, height)
            .saturating_add_signed(delta)
            .max(output.first());
        if top >= last_top {
            Scroll::Follow
        } else {
            Scroll::At(top)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use golive_core::events::Stream;

    fn lines(from: usize, n: usize) -> Vec<OutputLine> {
        (from..from + n)
            .map(|i| OutputLine {
                stream: Stream::Stdout,
                text: format!("line {i}"),
            })
            .collect()
    }

    #[test]
    fn keeps_the_last_cap_lines_with_absolute_numbers() {
        let mut out = Outputs::new(1, 10);
        out.push(0, lines(0, 7));
        out.push(0, lines(7, 25));
        let s = out.step(0);
        assert_eq!((s.first(), s.total()), (22, 32));
        assert_eq!(s.get(22).map(|l| l.text.as_str()), Some("line 22"));
        assert!(s.get(21).is_none());
        assert_eq!(out.step(5).total(), 0);
    }

    #[test]
    fn scrolling_back_and_reaching_the_tail_follows_again() {
        let mut out = Outputs::new(1, 1000);
        out.push(0, lines(0, 100));
        let s = out.step(0);
        assert_eq!(Scroll::Follow.top(s, 10), 90);
        let up = Scroll::Follow.moved(s, 10, -25);
        assert_eq!(up, Scroll::At(65));
        assert_eq!(up.moved(s, 10, -1000), Scroll::At(0));
        assert_eq!(up.moved(s, 10, 30), Scroll::Follow);
    }
}
