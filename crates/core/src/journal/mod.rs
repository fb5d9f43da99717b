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

use crate::events::{Outcome, OutputChunk, ProcedureKind, Question, RunInfo, RunMode, StepState};
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
        mode: RunMode,
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
        /// Who (OS user) and how (`typed the target name`, `--approve`, once for a fleet wave).
        by: String,
        /// The target the confirmation named.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
        /// The fleet wave it was confirmed for, once for all its targets (absent: confirmed for
        /// this run alone).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_wave: Option<String>,
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
        /// Rollback or diagnostic (absent in journals written before it was recorded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<ProcedureKind>,
    },
    /// A procedure ended.
    ProcedureFinished {
        /// Its id.
        procedure: String,
        /// Rollback or diagnostic.
        kind: ProcedureKind,
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
    /// The checklist the console draws (steps with titles, previews and targets, procedures),
    /// written when a process starts driving the run: what `golive attach` draws from.
    Checklist {
        /// The run as the engine announced it (redacted).
        run: Box<RunInfo>,
    },
    /// The engine asked a person something (shown read-only by `golive attach`).
    Asked {
        /// The question.
        question: Question,
    },
    /// Output of a step, as the console showed it (the step's log file has it too).
    Output {
        /// Qualified id.
        step: String,
        /// The chunks, oldest first.
        chunks: Vec<OutputChunk>,
    },
    /// A dashboard snapshot from a monitor step, in the `golive monitor --json` shape.
    Dashboard {
        /// Qualified id.
        step: String,
        /// The snapshot.
        snapshot: serde_json::Value,
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
    "cannot write the journal {path}: {source}; free disk space or make the folder writable, then resume with the same command and `--resume`"
)]
pub struct JournalError {
    /// The journal file.
    pub path: PathBuf,
    /// The OS error.
    #[source]
    pub source: std::io::Error,
}

/// A record just written and synced, with its line number in the journal (from 1): what a
/// [`Tap`] receives.
#[derive(Debug, Clone)]
pub struct Appended {
    /// Its line number in `journal.jsonl`, from 1: stable across resumes, so a follower can
    /// write it idempotently and catch up from the file.
    pub seq: u64,
    /// The record.
    pub record: Record,
}

/// A follower of the journal on a task of its own (the registry): it gets every record after
/// the record is on disk, over a channel that never blocks the writer, and may hand back notes
/// (a warning about itself) that the journal writes before its next record.
pub struct Tap {
    /// Where appended records go.
    pub records: tokio::sync::mpsc::UnboundedSender<Appended>,
    /// Notes the follower asks the journal to keep.
    pub notes: tokio::sync::mpsc::UnboundedReceiver<String>,
    /// The follower's task: it ends once `records` is closed and it has caught up (or gave up).
    pub done: tokio::task::JoinHandle<()>,
}

/// An open journal, appending.
pub struct Journal {
    path: PathBuf,
    file: File,
    len: u64,
    lines: u64,
    taps: Vec<Tap>,
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
        let (file, len) = open_append(&path).map_err(err)?;
        let lines = count_lines(&path).map_err(err)?;
        Ok(Journal {
            path,
            file,
            len,
            lines,
            taps: Vec::new(),
        })
    }

    /// Send every record appended from now on to `tap` as well.
    pub fn add_tap(&mut self, tap: Tap) {
        self.taps.push(tap);
    }

    /// Close the taps: each follower finishes its queue (catching up from this file if it fell
    /// behind), waited for up to `wait`; the notes they leave are written.
    pub async fn close_taps(&mut self, wait: std::time::Duration) {
        let taps = std::mem::take(&mut self.taps);
        let mut notes = Vec::new();
        for Tap {
            records,
            notes: mut rx,
            done,
        } in taps
        {
            drop(records);
            let _ = tokio::time::timeout(wait, done).await;
            while let Ok(note) = rx.try_recv() {
                notes.push(note);
            }
        }
        for text in notes {
            let _ = self.append(Entry::Note { text });
        }
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one record and sync it to disk. On failure nothing of the record stays in the file.
    pub fn append(&mut self, entry: Entry) -> Result<(), JournalError> {
        let notes: Vec<String> = self
            .taps
            .iter_mut()
            .flat_map(|t| std::iter::from_fn(|| t.notes.try_recv().ok()))
            .collect();
        for text in notes {
            self.write(Entry::Note { text }, true)?;
        }
        self.write(entry, true)
    }

    /// Append one record that the console shows but resume and the report do not need (step
    /// output, dashboard snapshots), without syncing: the next synced record syncs it, and a
    /// crash can lose only such records.
    pub fn append_shown(&mut self, entry: Entry) -> Result<(), JournalError> {
        self.write(entry, false)
    }

    fn write(&mut self, entry: Entry, sync: bool) -> Result<(), JournalError> {
        let record = Record {
            at: now_rfc3339(),
            entry,
        };
        let mut line = serde_json::to_vec(&record).map_err(|e| JournalError {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        line.push(b'\n');
        match append_line(&mut self.file, &mut self.len, &line, sync) {
            Ok(()) => {
                self.lines += 1;
                for tap in &self.taps {
                    let _ = tap.records.send(Appended {
                        seq: self.lines,
                        record: record.clone(),
                    });
                }
                Ok(())
            }
            Err(source) => Err(JournalError {
                path: self.path.clone(),
                source,
            }),
        }
    }
}

/// Open (creating it and its folder if needed) a JSON-lines file for appending: the file and
/// its length. A torn last line left by a crash is ended with a newline first, so new records
/// start on a line of their own.
pub fn open_append(path: &Path) -> std::io::Result<(File, u64)> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)?;
    let mut len = file.metadata()?.len();
    if len > 0 && !ends_with_newline(path)? {
        file.write_all(b"\n")?;
        len += 1;
    }
    Ok((file, len))
}

/// Append `line` (one whole record with its newline) to `file`, opened for appending, synced to
/// disk when `sync`; `len` is the file's length before, and grows by the line. On failure the
/// file is cut back to `len`, so nothing of the record stays.
pub fn append_line(file: &mut File, len: &mut u64, line: &[u8], sync: bool) -> std::io::Result<()> {
    let written = file
        .write_all(line)
        .and_then(|()| if sync { file.sync_data() } else { Ok(()) });
    match written {
        Ok(()) => {
            *len += line.len() as u64;
            Ok(())
        }
        Err(e) => {
            let _ = file.set_len(*len);
            Err(e)
        }
    }
}

fn count_lines(path: &Path) -> std::io::Result<u64> {
    let bytes = std::fs::read(path)?;
    Ok(bytes.iter().filter(|&&b| b == b'\n').count() as u64)
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
