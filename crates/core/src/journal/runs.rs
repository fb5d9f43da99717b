//! Run directories: `.golive/runs/<run-id>/` beside the runbook, and finding earlier runs of the
//! same runbook (the one to resume, the last rehearsal).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{JournalRead, read_journal};
use crate::events::{Outcome, RunMode};

/// The runs of one runbook.
#[derive(Debug, Clone)]
pub struct RunDirs {
    root: PathBuf,
    runbook_path: String,
}

/// A fresh run id: `YYYYMMDD-HHMMSS-<pid hex>`, sortable by time.
pub fn new_run_id() -> String {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let digits: String = stamp.chars().filter(char::is_ascii_digit).collect();
    let (date, time) = digits.split_at(8.min(digits.len()));
    format!(
        "{date}-{}-{:04x}",
        &time[..6.min(time.len())],
        std::process::id() & 0xffff
    )
}

impl RunDirs {
    /// Runs of the runbook at `runbook_path` live in `<its folder>/.golive/runs`.
    pub fn for_runbook(runbook_path: &Path) -> Self {
        let absolute = std::path::absolute(runbook_path).unwrap_or_else(|_| runbook_path.into());
        let dir = absolute.parent().map(Path::to_path_buf).unwrap_or_default();
        RunDirs {
            root: dir.join(".golive").join("runs"),
            runbook_path: absolute.display().to_string(),
        }
    }

    /// `.golive/runs` beside the runbook: where its runs (and fleet runs) live.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The runbook's absolute path, as journaled.
    pub fn runbook_path(&self) -> &str {
        &self.runbook_path
    }

    /// The directory for run `id`.
    pub fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// Earlier runs of this runbook, newest first, with their journals.
    pub fn history(&self) -> Vec<(PathBuf, JournalRead)> {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        dirs.sort();
        dirs.reverse();
        dirs.into_iter()
            .filter_map(|dir| {
                let journal = read_journal(&dir.join("journal.jsonl")).ok()?;
                let same = journal.started()?.runbook_path == self.runbook_path;
                same.then_some((dir, journal))
            })
            .collect()
    }

    /// The newest run that did not end passed or rolled back: what `--resume` continues.
    pub fn latest_unfinished(&self) -> Option<(PathBuf, JournalRead)> {
        self.history()
            .into_iter()
            .next()
            .filter(|(_, j)| !matches!(j.outcome(), Some(Outcome::Passed | Outcome::RolledBack)))
    }

    /// How long each procedure step took in the newest rehearsal that ran its procedure to
    /// the end (a rollback drill, `golive rehearse --drill`): qualified id (`fast/flags-off`) →
    /// duration.
    pub fn drilled(&self) -> HashMap<String, Duration> {
        let mut out = HashMap::new();
        for (_, journal) in self.history() {
            let rehearsal = journal
                .started()
                .is_some_and(|start| start.mode == RunMode::Rehearse);
            let completed = matches!(
                journal.outcome(),
                Some(Outcome::RolledBack | Outcome::Passed)
            );
            if !(rehearsal && completed) {
                continue;
            }
            for (id, step) in journal.steps() {
                if let (true, Some(ms)) = (id.contains('/'), step.duration_ms) {
                    out.entry(id).or_insert(Duration::from_millis(ms));
                }
            }
        }
        out
    }

    /// The newest rehearsal that passed: its step durations are the expected ones.
    pub fn latest_rehearsal(&self) -> Option<(PathBuf, JournalRead)> {
        self.history().into_iter().find(|(_, j)| {
            j.started()
                .is_some_and(|start| start.mode == RunMode::Rehearse)
                && j.outcome() == Some(Outcome::Passed)
        })
    }
}
