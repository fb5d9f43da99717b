//! The messages between the fleet driver and a front end (line output or the console's
//! matrix): the same round trip as a single run's, one level up. Targets' own engine events
//! come through tagged with their target; questions that need a person come once per wave.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::waves::Wave;
use crate::events::{Answer, EngineEvent, Outcome, QuestionKind};
use crate::monitor::verdict::VerdictKind;

/// What the fleet driver sends.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum FleetEvent {
    /// The fleet run begins: what a front end needs to draw the matrix.
    FleetStarted {
        /// The fleet's run directory.
        run_dir: PathBuf,
        /// `[runbook] name`.
        runbook: String,
        /// Target names, in order.
        targets: Vec<String>,
        /// The waves.
        waves: Vec<Wave>,
        /// Ids of the steps that run, in order (the matrix's columns): the main sequence, or the
        /// procedure run alone.
        steps: Vec<String>,
        /// The engine's index of the first column's step.
        first_step: usize,
        /// Targets at once inside a wave.
        parallel: usize,
        /// Whether this continues an earlier fleet run.
        resumed: bool,
    },
    /// A wave begins.
    WaveStarted {
        /// Index into the waves.
        wave: usize,
    },
    /// An event of one target's engine.
    Target {
        /// Index into the targets.
        target: usize,
        /// The engine's event.
        engine: EngineEvent,
    },
    /// A target passed in an earlier process of this fleet run and does not run again.
    TargetSkipped {
        /// Index into the targets.
        target: usize,
    },
    /// A target's run ended (or never started: `outcome` is `None`).
    TargetFinished {
        /// Index into the targets.
        target: usize,
        /// How it ended.
        outcome: Option<Outcome>,
        /// One line.
        message: String,
    },
    /// A question for the whole wave: answer it once with [`FleetCommand::Answer`].
    Ask {
        /// The question.
        question: WaveQuestion,
    },
    /// A question no longer waits (the fleet halted meanwhile): put its dialog away.
    Withdrawn {
        /// The question's id.
        id: u64,
    },
    /// The pause between waves: the next wave starts when `left` is zero (and, when
    /// `watching`, every live target's watch passed).
    Pause {
        /// Index of the wave that starts next.
        next: usize,
        /// Time left.
        #[serde(with = "millis")]
        left: Duration,
        /// Whether the pause watches the live targets (the runbook has `[monitor]`) or only waits.
        watching: bool,
    },
    /// A refresh of a live target's watch between waves.
    Watch {
        /// Index into the targets.
        target: usize,
        /// The snapshot, in the `golive monitor --json` shape.
        snapshot: serde_json::Value,
    },
    /// A live target's watch between waves ended.
    Watched {
        /// Index of the wave that starts after the watch.
        next: usize,
        /// Index into the targets.
        target: usize,
        /// Passed, breached or inconclusive.
        verdict: VerdictKind,
        /// Why it did not pass.
        reasons: Vec<String>,
    },
    /// A wave ended.
    WaveFinished {
        /// Index into the waves.
        wave: usize,
        /// Whether every target of it passed.
        passed: bool,
    },
    /// A target did not pass: the wave's other targets stop at their next step boundary and
    /// no later wave starts.
    Halted {
        /// Index into the waves.
        wave: usize,
        /// Index into the targets.
        target: usize,
        /// Why.
        reason: String,
    },
    /// The fleet run is over.
    FleetFinished {
        /// How it ended.
        outcome: FleetOutcome,
        /// One line for people.
        message: String,
    },
}

/// A question asked once for every target of a wave.
#[derive(Debug, Clone, Serialize)]
pub struct WaveQuestion {
    /// Answer with this id.
    pub id: u64,
    /// Index into the waves.
    pub wave: usize,
    /// `wave-N`.
    pub wave_name: String,
    /// The step's id (what `--approve` names).
    pub step_id: String,
    /// Its qualified id (`procedure/step` for a procedure's).
    pub step: String,
    /// What kind of question (destructive, gate, re-run, inconclusive watch).
    pub kind: QuestionKind,
    /// One line: what is asked.
    pub prompt: String,
    /// What will run (redacted), from the first target that asked.
    pub detail: String,
    /// Every target of the wave.
    pub targets: Vec<String>,
    /// What the operator must type to confirm: the wave's name for a destructive step.
    pub expect_typed: Option<String>,
}

/// What a front end sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FleetCommand {
    /// Answer wave question `id`.
    Answer {
        /// The question's id.
        id: u64,
        /// The answer: `Confirm` (with the typed text) or `Refuse`.
        answer: Answer,
    },
    /// Stop every running target (their running steps) and start nothing more; resumable.
    Interrupt,
}

/// How a fleet run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FleetOutcome {
    /// Every target of every wave passed.
    Passed,
    /// A target failed (a step, a breach, an inconclusive watch): halted, exit 1.
    Halted,
    /// A confirmation was refused or missing: halted, exit 3.
    Refused,
    /// Stopped by a signal or quit; resumable.
    Interrupted,
}

impl FleetOutcome {
    /// The word in the fleet journal and in line output.
    pub fn label(self) -> &'static str {
        match self {
            FleetOutcome::Passed => "passed",
            FleetOutcome::Halted => "halted",
            FleetOutcome::Refused => "refused",
            FleetOutcome::Interrupted => "interrupted",
        }
    }

    /// The process exit code (see the command-line contract).
    pub fn exit_code(self) -> i32 {
        match self {
            FleetOutcome::Passed => 0,
            FleetOutcome::Refused => 3,
            FleetOutcome::Halted | FleetOutcome::Interrupted => 1,
        }
    }
}

mod millis {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}
