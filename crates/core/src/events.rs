//! The messages between the engine and a front end (the full-screen console or headless).
//!
//! The engine sends [`EngineEvent`]s; a front end answers [`Question`]s and sends [`Command`]s.
//! Everything here is owned data: a front end applies events to its own state and never reaches
//! into the engine's. All text is already redacted.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Index of a step in [`RunInfo::steps`].
pub type StepIdx = usize;

/// What the engine sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EngineEvent {
    /// The run begins: everything a front end needs to draw the checklist.
    Started {
        /// The run.
        run: Box<RunInfo>,
    },
    /// A step changed state.
    StepState {
        /// Which step.
        step: StepIdx,
        /// Its new state.
        state: StepState,
        /// Attempt number, from 1.
        attempt: u32,
        /// How long the step ran (set when it ends).
        #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_millis")]
        elapsed: Option<Duration>,
        /// Why it failed, or its exit code and a summary.
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// Output of a running step, in batches of chunks (a flood of lines costs a few messages).
    Output {
        /// Which step.
        step: StepIdx,
        /// The chunks, oldest first; each holds one or more whole lines.
        chunks: Vec<OutputChunk>,
    },
    /// The engine waits for an answer.
    Ask {
        /// The question.
        question: Question,
    },
    /// Something the operator should know (lock taken, runbook changed since the rehearsal, …).
    Notice {
        /// How serious it is.
        level: NoticeLevel,
        /// The text.
        text: String,
    },
    /// A dashboard snapshot from a monitor step.
    Monitor {
        /// Which step.
        step: StepIdx,
        /// The snapshot, in the `golive monitor --json` shape.
        snapshot: serde_json::Value,
    },
    /// A rehearsal's traffic got wrong answers (an error, an empty list for a tenant that has
    /// rows, another tenant's rows, the wrong catalog shape): sent by the rehearsal, not the
    /// engine, while the run goes on.
    WrongAnswers {
        /// New since the last report.
        new: u64,
        /// In all, since the sandbox started.
        total: u64,
        /// The first new one, for people.
        example: String,
    },
    /// The run is over.
    Finished {
        /// How it ended.
        outcome: Outcome,
        /// One line for people.
        message: String,
    },
}

/// Everything about the run a front end shows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunInfo {
    /// `20261126-201500-ab12`.
    pub run_id: String,
    /// `.golive/runs/<run-id>`.
    pub run_dir: PathBuf,
    /// `[runbook] name`.
    pub runbook: String,
    /// `[runbook] environment`, if set (`production` frames the console in red).
    pub environment: Option<String>,
    /// Targets to show in the header: (label, `user@host:port/db` or URL), redacted.
    pub targets: Vec<(String, String)>,
    /// Every step: the main sequence, then each procedure's.
    pub steps: Vec<StepInfo>,
    /// Rollback and diagnostic procedures, startable at any time.
    pub procedures: Vec<ProcedureInfo>,
    /// Whether this continues an earlier, unfinished run.
    pub resumed: bool,
    /// The expected total duration from an earlier rehearsal of the same runbook.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_millis")]
    pub expected_total: Option<Duration>,
}

/// One step as a front end shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StepInfo {
    /// The step's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// `shell`, `sql`, …
    pub kind: String,
    /// Held behind a typed confirmation.
    pub destructive: bool,
    /// The procedure it belongs to; `None` for the main sequence.
    pub procedure: Option<String>,
    /// Its description, if any.
    pub description: Option<String>,
    /// Exactly what it will run: the command, the SQL, the request (redacted).
    pub preview: String,
    /// The database or host it acts on (redacted), when known.
    pub target: Option<String>,
    /// State at the start (finished steps of a resumed run are not pending).
    pub state: StepState,
    /// Expected duration from an earlier rehearsal.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_millis")]
    pub expected: Option<Duration>,
}

/// A rollback or diagnostic procedure.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProcedureInfo {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Rollback or diagnostic.
    pub section: ProcedureKind,
    /// What it will do.
    pub description: Option<String>,
    /// Indices of its steps in [`RunInfo::steps`].
    pub steps: Vec<StepIdx>,
    /// How long it took in its last rollback drill (`golive rehearse --drill`), if drilled.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_millis")]
    pub expected: Option<Duration>,
}

/// Where a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Not started.
    Pending,
    /// Waiting for the operator (a confirmation or a gate).
    AwaitingConfirmation,
    /// Running now.
    Running,
    /// Finished successfully.
    Passed,
    /// Finished unsuccessfully.
    Failed,
    /// Skipped by the operator (journaled).
    Skipped,
    /// Stopped before it finished (Ctrl-C, a crash, a rollback started mid-step).
    Interrupted,
}

impl StepState {
    /// Whether the step is over (passed, failed, skipped or interrupted).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            StepState::Passed | StepState::Failed | StepState::Skipped | StepState::Interrupted
        )
    }

    /// The word used in line output and reports.
    pub fn label(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::AwaitingConfirmation => "awaiting confirmation",
            StepState::Running => "running",
            StepState::Passed => "passed",
            StepState::Failed => "failed",
            StepState::Skipped => "skipped",
            StepState::Interrupted => "interrupted",
        }
    }
}

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Standard output of a command, or rows of a query.
    Stdout,
    /// Standard error of a command, or server notices.
    Stderr,
    /// golive's own commentary (the statement being run, a check's verdict).
    Info,
}

/// Consecutive whole lines of one stream (may carry ANSI colour codes from the command).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OutputChunk {
    /// Where they came from.
    pub stream: Stream,
    /// The lines, separated by `\n`, without a trailing newline; redacted.
    pub text: String,
}

impl OutputChunk {
    /// The lines of the chunk.
    pub fn lines(&self) -> std::str::Split<'_, char> {
        self.text.split('\n')
    }

    /// The chunk's lines, each as an [`OutputLine`] (what a front end that keeps lines stores).
    pub fn to_lines(&self) -> impl Iterator<Item = OutputLine> + '_ {
        self.lines().map(|text| OutputLine {
            stream: self.stream,
            text: text.to_string(),
        })
    }
}

/// One line of step output (may carry ANSI colour codes from the command).
#[derive(Debug, Clone, Serialize)]
pub struct OutputLine {
    /// Where it came from.
    pub stream: Stream,
    /// The text, without the newline, redacted.
    pub text: String,
}

/// Something the engine needs the operator to answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Question {
    /// Answer with this id.
    pub id: u64,
    /// The step it is about.
    pub step: Option<StepIdx>,
    /// What kind of question.
    pub kind: QuestionKind,
    /// One line: what is asked.
    pub prompt: String,
    /// Exactly what will run and where (redacted), or a gate's instructions.
    pub detail: String,
    /// The text the operator must type to confirm (the target database's name, with the
    /// environment name in production); `None` for a plain yes.
    pub expect_typed: Option<String>,
}

/// Kinds of question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuestionKind {
    /// A destructive step is about to run.
    Destructive,
    /// A manual gate: do this, then confirm.
    Gate,
    /// A step interrupted in an earlier process: run it again?
    RerunInterrupted,
    /// A watch was inconclusive (it did not see): accept it as passed? Declining goes on to the
    /// failure question.
    Inconclusive {
        /// What the watch did not see.
        reason: String,
    },
    /// A step failed: retry, skip, abort or roll back?
    Failure {
        /// The error.
        error: String,
        /// Rollback procedures offered, by id.
        rollbacks: Vec<String>,
    },
}

/// An answer to a [`Question`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Yes; `typed` is what the operator typed (checked against `expect_typed`).
    Confirm {
        /// The typed text (empty for a plain yes).
        typed: String,
    },
    /// Yes, given once for a whole fleet wave: the fleet driver answers each target's engine
    /// after the operator confirmed the wave (typed the wave's name, or `--approve`). `typed`
    /// is the text this target's engine expects, checked as for [`Answer::Confirm`]; the
    /// target's journal records the wave and `by`, not a typed target name.
    ConfirmForWave {
        /// The text this target's engine expects (the fleet checked the wave's instead).
        typed: String,
        /// The wave's name (`wave-2`).
        wave: String,
        /// Who confirmed the wave, and how (typed the wave's name, approved on the command line).
        by: String,
    },
    /// No.
    Refuse,
    /// For a [`QuestionKind::Failure`]: what to do. The front end has already had the operator
    /// confirm it.
    Decide(Decision),
}

/// What to do after a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run the failed step again.
    Retry,
    /// Mark it skipped and go on.
    Skip,
    /// Stop the run.
    Abort,
    /// Run this rollback procedure, then stop.
    Rollback(String),
}

/// What a front end sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Answer question `id`.
    Answer {
        /// The question's id.
        id: u64,
        /// The answer.
        answer: Answer,
    },
    /// Stop what runs now and run this procedure (confirmed by the front end), then stop.
    StartProcedure(String),
    /// Stop the running step (its whole process group) and end the run as interrupted.
    Interrupt,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every selected step passed (or was skipped by the operator).
    Passed,
    /// A step failed and the run stopped.
    Failed,
    /// The operator aborted.
    Aborted,
    /// A confirmation was refused or missing.
    Refused,
    /// A rollback procedure ran.
    RolledBack,
    /// Stopped by a signal or quit; resumable.
    Interrupted,
}

impl Outcome {
    /// The process exit code for this outcome (see the command-line contract).
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Passed => 0,
            Outcome::Refused => 3,
            _ => 1,
        }
    }
}

/// `golive run` or `golive rehearse` (rehearsals give the expected durations of later runs);
/// journaled as `"run"` or `"rehearse"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// A real go-live.
    Run,
    /// A rehearsal on the sandbox.
    Rehearse,
}

impl RunMode {
    /// The command's name: `run` or `rehearse`.
    pub fn name(self) -> &'static str {
        match self {
            RunMode::Run => "run",
            RunMode::Rehearse => "rehearse",
        }
    }
}

/// The two kinds of procedure a runbook has besides its main sequence; journaled as
/// `"rollback"` or `"diagnostic"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcedureKind {
    /// `[[rollback]]`: undoes the go-live.
    Rollback,
    /// `[[diagnostic]]`: read-only, runs beside the run.
    Diagnostic,
}

impl ProcedureKind {
    /// `rollback` or `diagnostic`.
    pub fn name(self) -> &'static str {
        match self {
            ProcedureKind::Rollback => "rollback",
            ProcedureKind::Diagnostic => "diagnostic",
        }
    }
}

impl std::fmt::Display for ProcedureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Severity of a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeLevel {
    /// For information.
    Info,
    /// Worth a look.
    Warn,
    /// Something is wrong.
    Error,
}

mod opt_millis {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        let ms: Option<u64> = serde::Deserialize::deserialize(d)?;
        Ok(ms.map(Duration::from_millis))
    }
}
