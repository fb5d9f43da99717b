//! The engine: runs the steps in order, asks before anything destructive, journals everything,
//! and reports through [`crate::events::EngineEvent`]s. It never imports the UI.
//!
//! [`start`] does everything that can fail before a step runs (the run directory, the journal,
//! the go-live lock) and returns an [`EngineHandle`]: the events to show, the command channel to
//! answer on, and the task that ends with the run's [`crate::events::Outcome`].

mod ask;
mod runner;
mod setup;

use tokio::sync::mpsc;

use crate::events::{Command, EngineEvent, Outcome, RunMode};

use crate::journal::JournalError;
use crate::lock::LockError;
use crate::runbook::{Runbook, Vars};

/// Which steps to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// The whole main sequence.
    All,
    /// The main sequence from this step on.
    From(String),
    /// This step of the main sequence alone.
    Only(String),
    /// A rollback or diagnostic procedure alone.
    Procedure(String),
}

impl Selection {
    /// The exit code of a run of this selection that ended with `outcome`: a rollback procedure
    /// run alone (`--procedure ID`) that completed every step exits 0, so a script can tell a
    /// finished rollback from a failed one; a go-live that had to be rolled back still exits 1.
    pub fn exit_code(&self, outcome: Outcome) -> i32 {
        match (outcome, self) {
            (Outcome::RolledBack, Selection::Procedure(_)) => 0,
            _ => outcome.exit_code(),
        }
    }
}

/// What the engine needs to start.
pub struct EngineConfig {
    /// The validated runbook.
    pub runbook: Runbook,
    /// Its resolved variables.
    pub vars: Vars,
    /// Which steps.
    pub selection: Selection,
    /// Continue the latest unfinished run of this runbook.
    pub resume: bool,
    /// Run or rehearsal.
    pub mode: RunMode,
    /// Confirmations come from `--approve` on the command line (headless), not from a person
    /// typing them: the journal says which.
    pub approved_on_command_line: bool,
    /// How long the state each passed step leaves stands before the next step starts (a
    /// rehearsal's pace: the sandbox's traffic meets every intermediate state, as customers do
    /// on the night, when people stand between the steps). Zero for a real run.
    pub pace: std::time::Duration,
    /// Where the run lives, when not in a new `.golive/runs/<run-id>` beside the runbook (a
    /// fleet's target: `targets/<name>/` under the fleet's run; its questions are the fleet's,
    /// notified once per wave by the fleet).
    pub place: Option<RunPlace>,
    /// Cancelled: the run stops before its next step (a fleet halting the targets of a wave
    /// after one of them failed), ending interrupted, resumable.
    pub halt: Option<tokio_util::sync::CancellationToken>,
}

/// A run's own directory and id, chosen by its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPlace {
    /// The run's directory; with `resume`, the journal there is continued.
    pub dir: std::path::PathBuf,
    /// The run's id (the lock's holder, the registry's key).
    pub id: String,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The journal cannot be written: nothing runs that cannot be recorded.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The go-live lock is held or cannot be taken.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// `--resume` found nothing to continue.
    #[error("no unfinished run of {0} to resume; start a new one without --resume")]
    NothingToResume(String),
    /// `--from`, `--only` or `--procedure` named something that does not exist.
    #[error("{what} `{id}` is not in the runbook; known: {known}")]
    Unknown {
        /// step or procedure.
        what: &'static str,
        /// The id given.
        id: String,
        /// The ids that exist.
        known: String,
    },
}

impl EngineError {
    /// The exit code: 3 when refused (the lock is held), 2 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            EngineError::Lock(LockError::Held { .. }) => 3,
            _ => 2,
        }
    }
}

/// A started run.
pub struct EngineHandle {
    /// The run's directory (`.golive/runs/<run-id>`).
    pub run_dir: std::path::PathBuf,
    /// What happens, in order.
    pub events: mpsc::Receiver<EngineEvent>,
    /// Answers and commands from the front end.
    pub commands: mpsc::UnboundedSender<Command>,
    /// Ends with the run.
    pub done: tokio::task::JoinHandle<Outcome>,
    /// Lets an observer of the run (a rehearsal's traffic oracle) add events to the stream the
    /// front end reads; weak, so the stream still ends when the engine does.
    pub observer: mpsc::WeakSender<EngineEvent>,
}

/// Capacity of the event channel: output comes in batches, so this bounds memory, and a slow
/// front end slows a flooding step down instead of growing a queue.
const EVENT_BUFFER: usize = 256;

/// A run whose directory, journal and lock are ready, not yet started.
pub struct Prepared {
    runner: runner::Runner,
    events: mpsc::Receiver<EngineEvent>,
    commands: mpsc::UnboundedSender<Command>,
    observer: mpsc::WeakSender<EngineEvent>,
}

impl Prepared {
    /// The run's directory (`.golive/runs/<run-id>`).
    pub fn run_dir(&self) -> std::path::PathBuf {
        self.runner.run_dir()
    }

    /// Start the run.
    pub fn spawn(self) -> EngineHandle {
        let run_dir = self.runner.run_dir();
        let done = tokio::spawn(self.runner.run());
        EngineHandle {
            run_dir,
            events: self.events,
            commands: self.commands,
            done,
            observer: self.observer,
        }
    }
}

/// Prepare the run: directory, journal (new or resumed), lock. Nothing runs yet.
pub async fn prepare(config: EngineConfig) -> Result<Prepared, EngineError> {
    let (events_tx, events) = mpsc::channel(EVENT_BUFFER);
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let observer = events_tx.downgrade();
    let notifier = (config.runbook.notify.as_ref())
        .and_then(|n| crate::notify::Notifier::new(n, &config.vars))
        // A fleet's target (its place chosen by the fleet) asks a person once per wave through
        // the fleet, which posts that question: its own would be one post per target.
        .map(|n| n.unattended(config.approved_on_command_line || config.place.is_some()));
    let runner = setup::prepare(config, events_tx, commands_rx).await?;
    let events = match notifier {
        Some(notifier) => notifier.follow(events),
        None => events,
    };
    Ok(Prepared {
        runner,
        events,
        commands,
        observer,
    })
}

/// Prepare the run and start it.
pub async fn start(config: EngineConfig) -> Result<EngineHandle, EngineError> {
    Ok(prepare(config).await?.spawn())
}

#[cfg(test)]
mod tests {
    use super::{Outcome, Selection};

    #[test]
    fn a_completed_rollback_exits_0_alone_and_1_when_a_go_live_had_to_roll_back() {
        let alone = Selection::Procedure("app".into());
        assert_eq!(alone.exit_code(Outcome::RolledBack), 0);
        assert_eq!(Selection::All.exit_code(Outcome::RolledBack), 1);
        assert_eq!(
            Selection::From("x".into()).exit_code(Outcome::RolledBack),
            1
        );
        assert_eq!(alone.exit_code(Outcome::Failed), 1);
        assert_eq!(alone.exit_code(Outcome::Refused), 3);
        assert_eq!(Selection::All.exit_code(Outcome::Passed), 0);
    }
}
