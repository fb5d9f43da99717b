//! Reading a journal back: whole records, a torn last line tolerated and reported, and the
//! state of every step derived from the records.

use std::collections::HashMap;
use std::path::Path;

use super::{Entry, Record};
use crate::events::{Outcome, RunMode, StepState};

/// A journal as read from disk.
#[derive(Debug, Default)]
pub struct JournalRead {
    /// Every whole record, in order.
    pub records: Vec<Record>,
    /// The line number of a torn last line (a crash mid-write), if any.
    pub torn_line: Option<usize>,
    /// Line numbers of unreadable lines before the last one (skipped).
    pub unreadable: Vec<usize>,
}

/// What the journal says about one step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    /// The last state: `Running` means it started and never finished (interrupted by a crash).
    pub state: StepState,
    /// How long its last attempt ran.
    pub duration_ms: Option<u64>,
    /// Attempts started.
    pub attempts: u32,
}

/// Read `path`. Fails only when the file cannot be read at all.
pub fn read_journal(path: &Path) -> std::io::Result<JournalRead> {
    let text = std::fs::read(path)?;
    let text = String::from_utf8_lossy(&text);
    let mut out = JournalRead::default();
    let lines: Vec<&str> = text.split('\n').collect();
    let last_index = lines.iter().rposition(|l| !l.trim().is_empty());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line) {
            Ok(record) => out.records.push(record),
            Err(_) if Some(i) == last_index => out.torn_line = Some(i + 1),
            Err(_) => out.unreadable.push(i + 1),
        }
    }
    Ok(out)
}

/// The identity of a run, from its `RunStarted` record.
#[derive(Debug, Clone, Copy)]
pub struct RunStart<'a> {
    /// The run's id (its directory's name).
    pub run_id: &'a str,
    /// The runbook it ran, as given.
    pub runbook_path: &'a str,
    /// The runbook's sha256 when it started.
    pub runbook_sha256: &'a str,
    /// Go-live or rehearsal.
    pub mode: RunMode,
}

impl JournalRead {
    /// What the `RunStarted` record says of the run.
    pub fn started(&self) -> Option<RunStart<'_>> {
        self.records.iter().find_map(|r| match &r.entry {
            Entry::RunStarted {
                run_id,
                runbook_path,
                runbook_sha256,
                mode,
                ..
            } => Some(RunStart {
                run_id,
                runbook_path,
                runbook_sha256,
                mode: *mode,
            }),
            _ => None,
        })
    }

    /// How the run ended the last time a process finished it.
    pub fn outcome(&self) -> Option<Outcome> {
        let last_resume = self
            .records
            .iter()
            .rposition(|r| matches!(r.entry, Entry::RunResumed { .. }));
        self.records
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, r)| match r.entry {
                Entry::RunFinished { outcome, .. } if last_resume.is_none_or(|l| i > l) => {
                    Some(outcome)
                }
                _ => None,
            })
    }

    /// The state of every step the journal mentions, by qualified id.
    pub fn steps(&self) -> HashMap<String, StepRecord> {
        let mut steps: HashMap<String, StepRecord> = HashMap::new();
        for record in &self.records {
            match &record.entry {
                Entry::StepStarted { step, attempt } => {
                    let s = steps.entry(step.clone()).or_insert(StepRecord {
                        state: StepState::Running,
                        duration_ms: None,
                        attempts: 0,
                    });
                    s.state = StepState::Running;
                    s.attempts = s.attempts.max(*attempt);
                }
                Entry::StepFinished {
                    step,
                    state,
                    duration_ms,
                    ..
                } => {
                    let s = steps.entry(step.clone()).or_insert(StepRecord {
                        state: *state,
                        duration_ms: None,
                        attempts: 0,
                    });
                    s.state = *state;
                    s.duration_ms = Some(*duration_ms);
                }
                _ => {}
            }
        }
        steps
    }

    /// First and last record times.
    pub fn span(&self) -> Option<(&str, &str)> {
        Some((
            self.records.first()?.at.as_str(),
            self.records.last()?.at.as_str(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_last_line_is_tolerated_and_reported() {
        let dir = std::env::temp_dir().join(format!("golive-journal-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("journal.jsonl");
        let good =
            r#"{"at":"2026-01-01T00:00:00.000Z","event":"step_started","step":"a","attempt":1}"#;
        std::fs::write(&path, format!("{good}\n{{\"at\":\"2026-01-01T00:00:01")).expect("write");
        let read = read_journal(&path).expect("read");
        assert_eq!(read.records.len(), 1);
        assert_eq!(read.torn_line, Some(2));
        assert_eq!(read.steps()["a"].state, StepState::Running);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
