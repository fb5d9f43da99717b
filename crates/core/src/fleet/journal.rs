//! The fleet journal: `fleet.jsonl` in the fleet's run directory, one JSON record a line, each
//! synced to disk before the fleet moves on (the run journal's writer). It records what no single
//! target's journal can: the waves, who confirmed what for which targets, and why the fleet
//! halted. Each target keeps its own `targets/<name>/journal.jsonl`.

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::events::{Outcome, RunMode};
use crate::journal::{JournalError, append_line, now_rfc3339, open_append};
use crate::monitor::verdict::VerdictKind;

/// The fleet journal's file name in the fleet's run directory.
pub const FILE: &str = "fleet.jsonl";

/// One fleet-journal record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FleetRecord {
    /// RFC 3339 time, milliseconds.
    pub at: String,
    /// What happened.
    #[serde(flatten)]
    pub entry: FleetEntry,
}

/// What a fleet-journal record says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum FleetEntry {
    /// The fleet run began.
    FleetStarted {
        /// The fleet run's id (its directory's name).
        run_id: String,
        /// The runbook, absolute.
        runbook_path: String,
        /// The targets file, absolute (`generated` for a rehearsal's).
        targets_path: String,
        /// Each wave's name and targets, in order.
        waves: Vec<(String, Vec<String>)>,
        /// Targets at once inside a wave.
        parallel: usize,
        /// The wait between waves.
        pause_ms: u64,
        /// Go-live or rehearsal.
        mode: RunMode,
        /// The procedure run alone on the targets (a rollback of the set); absent for a go-live.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        procedure: Option<String>,
        /// OS user.
        user: String,
        /// Host name.
        host: String,
        /// Process id.
        pid: u32,
    },
    /// A later process continued this fleet run (`--resume`).
    FleetResumed {
        /// OS user.
        user: String,
        /// Host name.
        host: String,
        /// Process id.
        pid: u32,
    },
    /// A wave began.
    WaveStarted {
        /// `wave-N`.
        wave: String,
        /// Its targets.
        targets: Vec<String>,
    },
    /// A target's run began (or, resumed, continued).
    TargetStarted {
        /// The target.
        target: String,
        /// Its run directory.
        run_dir: String,
        /// Whether it continues an earlier, unfinished run.
        resumed: bool,
    },
    /// A target passed in an earlier process of this fleet run: it does not run again.
    TargetSkipped {
        /// The target.
        target: String,
    },
    /// A target's run ended, or never started (`outcome` absent: the lock was held, …).
    TargetFinished {
        /// The target.
        target: String,
        /// How its run ended.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        outcome: Option<Outcome>,
        /// One line.
        message: String,
    },
    /// A destructive step, gate or question was confirmed once for the whole wave.
    WaveConfirmed {
        /// `wave-N`.
        wave: String,
        /// The step's qualified id.
        step: String,
        /// The targets the confirmation covers.
        targets: Vec<String>,
        /// Who, and how (typed the wave's name, approved on the command line).
        by: String,
    },
    /// A wave-wide confirmation was refused: the wave's targets do not run that step.
    WaveRefused {
        /// `wave-N`.
        wave: String,
        /// The step's qualified id.
        step: String,
        /// Who.
        by: String,
    },
    /// A wave ended.
    WaveFinished {
        /// `wave-N`.
        wave: String,
        /// Whether every target of it passed.
        passed: bool,
    },
    /// The pause before a wave began: a watch of every live target, or a plain wait.
    PauseStarted {
        /// The wave that starts after it.
        before: String,
        /// The live targets it watches (empty: a plain wait, the runbook has no `[monitor]`).
        watched: Vec<String>,
        /// How long.
        pause_ms: u64,
    },
    /// One live target's watch between waves ended.
    TargetWatched {
        /// The wave that starts after the watch.
        before: String,
        /// The target.
        target: String,
        /// Passed, breached or inconclusive.
        verdict: VerdictKind,
        /// Why it did not pass.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reasons: Vec<String>,
    },
    /// The pause before a wave ended: the wave starts only when it passed; a pause that did not
    /// pass (or never finished) runs again on `--resume`.
    PauseFinished {
        /// The wave that starts after it.
        before: String,
        /// Every watched target passed (or the plain wait ran out).
        passed: bool,
    },
    /// The fleet halted: no later wave starts.
    Halted {
        /// The wave it halted in.
        wave: String,
        /// The target that did not pass.
        target: String,
        /// Why.
        reason: String,
    },
    /// The fleet run ended.
    FleetFinished {
        /// `passed`, `halted` or `interrupted`.
        outcome: String,
        /// One line.
        message: String,
    },
}

/// The open fleet journal, appending.
pub struct FleetJournal {
    path: PathBuf,
    file: File,
    len: u64,
}

impl FleetJournal {
    /// Open (creating it if needed) `fleet.jsonl` in `run_dir` for appending.
    pub fn open(run_dir: &Path) -> Result<Self, JournalError> {
        let path = run_dir.join(FILE);
        let (file, len) = open_append(&path).map_err(|source| JournalError {
            path: path.clone(),
            source,
        })?;
        Ok(FleetJournal { path, file, len })
    }

    /// Append one record and sync it to disk. On failure nothing of the record stays.
    pub fn append(&mut self, entry: FleetEntry) -> Result<(), JournalError> {
        let err = |source| JournalError {
            path: self.path.clone(),
            source,
        };
        let record = FleetRecord {
            at: now_rfc3339(),
            entry,
        };
        let mut line = serde_json::to_vec(&record).map_err(|e| err(std::io::Error::other(e)))?;
        line.push(b'\n');
        append_line(&mut self.file, &mut self.len, &line, true).map_err(err)
    }
}

/// The newest fleet go-live under `root` (`.golive/runs`); rollbacks of a set do not count.
pub fn latest(root: &Path) -> Option<PathBuf> {
    let go_live = |dir: &Path| {
        read(dir).is_ok_and(|records| {
            records.iter().any(|r| {
                matches!(
                    &r.entry,
                    FleetEntry::FleetStarted {
                        procedure: None,
                        ..
                    }
                )
            })
        })
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|d| go_live(d))
        .collect();
    dirs.sort();
    dirs.pop()
}

/// The newest fleet run under `root` (`.golive/runs`) when it did not finish passed: what
/// `--targets … --resume` continues.
pub fn latest_unfinished(root: &Path) -> Option<PathBuf> {
    let newest = latest(root)?;
    let passed = read(&newest).ok()?.iter().any(
        |r| matches!(&r.entry, FleetEntry::FleetFinished { outcome, .. } if outcome == "passed"),
    );
    (!passed).then_some(newest)
}

/// The waves whose pause passed in the fleet run in `run_dir`: `--resume` does not watch before
/// them again.
pub fn passed_pauses(run_dir: &Path) -> Vec<String> {
    read(run_dir)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| match r.entry {
            FleetEntry::PauseFinished {
                before,
                passed: true,
            } => Some(before),
            _ => None,
        })
        .collect()
}

/// The whole records of a fleet journal (a torn last line is left out).
pub fn read(run_dir: &Path) -> std::io::Result<Vec<FleetRecord>> {
    let text = std::fs::read_to_string(run_dir.join(FILE))?;
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_appended_one_a_line_and_read_back() {
        let dir = std::env::temp_dir().join(format!("golive-fleet-journal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut journal = FleetJournal::open(&dir).expect("open");
        journal
            .append(FleetEntry::WaveStarted {
                wave: "wave-1".into(),
                targets: vec!["eu-1".into()],
            })
            .expect("append");
        drop(journal);
        // A crash tore a record: the next one starts on a line of its own.
        std::fs::write(
            dir.join(FILE),
            format!(
                "{}{{\"at\":\"x\",\"ev",
                std::fs::read_to_string(dir.join(FILE)).expect("read")
            ),
        )
        .expect("tear");
        let mut journal = FleetJournal::open(&dir).expect("reopen");
        journal
            .append(FleetEntry::Halted {
                wave: "wave-1".into(),
                target: "eu-1".into(),
                reason: "`migrate` failed".into(),
            })
            .expect("append");
        let records = read(&dir).expect("read");
        assert_eq!(records.len(), 2, "{records:?}");
        assert!(
            matches!(records[1].entry, FleetEntry::Halted { ref target, .. } if target == "eu-1")
        );
        let text = std::fs::read_to_string(dir.join(FILE)).expect("text");
        assert!(
            text.lines()
                .nth(2)
                .is_some_and(|l| l.contains("\"event\":\"halted\"")),
            "{text}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
