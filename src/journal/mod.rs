//! The run journal: `.golive/runs/<run-id>/journal.jsonl`, one JSON record a line, each written
//! and synced to disk before the engine moves on. A crash can tear at most the last line, which
//! the reader tolerates and reports; a failed write is rolled back to the last whole line so the
//! file never holds half a record followed by more records.

mod read;
mod runs;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::engine::events::{Outcome, StepState};
pub use read::{JournalRead, StepRecord, read_journal};
pub use runs::{RunDirs, new_run_id};

/// One journal record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// RFC 3339 time, milliseconds.
    pub at: String,
    /// What happened.
    #[serde(flatten)]
    pub entry: Entry,
}

/// What a record says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Entry {
    /// A run began.
    RunStarted {
        /// The run's id.
        run_id: String,
        /// `[runbook] name`.
        runbook: String,
        /// The runbook file, absolute.
        runbook_path: String,
        /// sha256 of the runbook file.
        runbook_sha256: String,
        /// golive's version.
        golive_version: String,
        /// `run` or `rehearse`.
        mode: String,
        /// OS user.
        user: String,
        /// Host name.
        host: String,
        /// Process id.
        pid: u32,
        /// Ids of the main sequence, in order.
        steps: Vec<String>,
    },
    /// A later process continued this run (`--resume`).
    RunResumed {
        /// OS user.
        user: String,
        /// Host name.
        host: String,
        /// Process id.
        pid: u32,
        /// sha256 of the runbook now.
        runbook_sha256: String,
    },
    /// A step started.
    StepStarted {
        /// Qualified id (`snapshot`, or `fast/flags-off` for a procedure's step).
        step: String,
        /// Attempt number, from 1.
        attempt: u32,
    },
    /// A step ended.
    StepFinished {
        /// Qualified id.
        step: String,
        /// passed, failed, skipped or interrupted.
        state: StepState,
        /// How long it ran.
        duration_ms: u64,
        /// The error or summary.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// The operator confirmed something.
    Confirmed {
        /// Qualified id of the step it was about, if any.
        step: Option<String>,
        /// What was confirmed (`destructive step`, `gate`, `skip`, `rollback fast`, …).
        what: String,
        /// Who (OS user) and how (`typed the target name`, `--approve`).
        by: String,
        /// The target the confirmation named.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    },
    /// A confirmation was refused or answered wrongly.
    Refused {
        /// Qualified id of the step, if any.
        step: Option<String>,
        /// What was refused.
        what: String,
        /// Who.
        by: String,
        /// Why (wrong text typed, not approved in headless mode, …).
        reason: String,
    },
    /// A confirmation's typed text did not match: nothing ran and the question was asked again.
    Mistyped {
        /// Qualified id of the step.
        step: String,
        /// Who.
        by: String,
        /// What was typed and what was expected.
        reason: String,
    },
    /// A procedure (rollback or diagnostic) started.
    ProcedureStarted {
        /// Its id.
        procedure: String,
        /// Who started it.
        by: String,
        /// `rollback` or `diagnostic` (absent in journals written before it was recorded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<String>,
    },
    /// A procedure ended.
    ProcedureFinished {
        /// Its id.
        procedure: String,
        /// `rollback` or `diagnostic`.
        kind: String,
        /// Whether every step passed.
        passed: bool,
        /// One line.
        message: String,
    },
    /// Something worth keeping (lock taken, runbook changed since the rehearsal, …).
    Note {
        /// The text.
        text: String,
    },
    /// A rehearsal's traffic got wrong answers while this step ran (`None`: before the first
    /// step, or after the run, from the state it left).
    WrongAnswers {
        /// Qualified id of the step that was running when they came.
        step: Option<String>,
        /// How many.
        count: u64,
        /// When the first came (RFC 3339).
        first_at: String,
        /// The first, for people.
        example: String,
    },
    /// The run ended.
    RunFinished {
        /// How.
        outcome: Outcome,
        /// One line.
        message: String,
    },
}

/// A journal could not be written.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot write the journal {path}: {source}; free disk space or make the folder writable, then `golive run --resume`"
)]
pub struct JournalError {
    /// The journal file.
    pub path: PathBuf,
    /// The OS error.
    #[source]
    pub source: std::io::Error,
}

/// An open journal, appending.
pub struct Journal {
    path: PathBuf,
    file: File,
    len: u64,
}

impl Journal {
    /// Open (creating if needed) the journal in `run_dir` for appending. A torn last line left
    /// by a crash is ended with a newline first, so new records start on a line of their own.
    pub fn open(run_dir: &Path) -> Result<Self, JournalError> {
        let path = run_dir.join("journal.jsonl");
        let err = |source| JournalError {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(run_dir).map_err(err)?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(err)?;
        let mut len = file.metadata().map_err(err)?.len();
        if len > 0 && !ends_with_newline(&path).map_err(err)? {
            file.write_all(b"\n").map_err(err)?;
            len += 1;
        }
        Ok(Journal { path, file, len })
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one record and sync it to disk. On failure nothing of the record stays in the file.
    pub fn append(&mut self, entry: Entry) -> Result<(), JournalError> {
        let record = Record {
            at: now_rfc3339(),
            entry,
        };
        let mut line = serde_json::to_vec(&record).map_err(|e| JournalError {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        line.push(b'\n');
        let result = self
            .file
            .write_all(&line)
            .and_then(|()| self.file.sync_data());
        match result {
            Ok(()) => {
                self.len += line.len() as u64;
                Ok(())
            }
            Err(source) => {
                let _ = self.file.set_len(self.len);
                Err(JournalError {
                    path: self.path.clone(),
                    source,
                })
            }
        }
    }
}

fn ends_with_newline(path: &Path) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = File::open(path)?;
    f.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    f.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// Now, as RFC 3339 UTC with milliseconds.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}
