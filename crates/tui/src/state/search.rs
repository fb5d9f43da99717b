//! Searching the selected step's output: the prompt being typed, the query, the current match.
//!
//! Matching is case-insensitive on the text without its escape codes. A search scans lines only
//! when the operator asks (Enter, `n`, `N`); drawing only highlights the visible lines.

use super::output::StepOutput;
use crate::ansi;

/// The search state.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// The prompt, while the operator types a query.
    pub input: Option<String>,
    /// The last query, lower-cased; empty when there is none.
    pub query: String,
    /// Absolute line number of the current match.
    pub current: Option<usize>,
}

impl Search {
    /// Start typing a query.
    pub fn open(&mut self) {
        self.input = Some(String::new());
    }

    /// Take the typed query as the search; returns whether there is one.
    pub fn commit(&mut self) -> bool {
        let typed = self.input.take().unwrap_or_default();
        self.query = typed.to_lowercase();
        self.current = None;
        !self.query.is_empty()
    }

    /// Whether `text` (raw, with escapes) contains the query.
    pub fn matches(&self, text: &str) -> bool {
        !self.query.is_empty() && ansi::strip(text).to_lowercase().contains(&self.query)
    }

    /// The next match after `from` (or before it, `forward == false`), wrapping around; becomes
    /// the current match.
    pub fn find(&mut self, output: &StepOutput, from: usize, forward: bool) -> Option<usize> {
        if self.query.is_empty() || output.total() == output.first() {
            return None;
        }
        let (first, total) = (output.first(), output.total());
        let span = total - first;
        let start = from.clamp(first, total - 1) - first;
        let found = (1..=span)
            .map(|k| {
                let off = if forward {
                    (start + k) % span
                } else {
                    (start + span - k % span) % span
                };
                first + off
            })
            .find(|&n| output.get(n).is_some_and(|l| self.matches(&l.text)));
        self.current = found;
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::output::Outputs;
    use golive_core::events::{OutputLine, Stream};

    #[test]
    fn finds_forward_and_backward_with_wrap() {
        let mut out = Outputs::new(1, 100);
        let text = ["alpha", "\x1b[31mERROR\x1b[0m one", "beta", "error two"];
        out.push(
            0,
            text.iter()
                .map(|t| OutputLine {
                    stream: Stream::Stdout,
                    text: (*t).to_string(),
                })
                .collect(),
        );
        let mut s = Search::default();
        s.open();
        s.input = Some("Error".into());
        assert!(s.commit());
        let o = out.step(0);
        assert_eq!(s.find(o, 0, true), Some(1));
        assert_eq!(s.find(o, 1, true), Some(3));
        assert_eq!(s.find(o, 3, true), Some(1));
        assert_eq!(s.find(o, 1, false), Some(3));
        assert_eq!(s.current, Some(3));
    }
}
