//! The registry: every run's journal, appended as it is written to a `golive` schema in the
//! database the runbook's `[runbook] lock` names (like sqitch's registry: the team's own
//! PostgreSQL is the shared store). The local journal stays the source of truth; the registry is
//! fed from it on a task of its own, never blocks or stops the run, and never holds a secret
//! (records are redacted again with the run's redactor before they leave the host).
//!
//! `golive history` and `golive report --database-url` read it back ([`read`]).

pub mod read;
pub mod schema;
mod writer;

use std::path::Path;

use tokio::sync::mpsc;

use crate::events::EngineEvent;
use crate::journal::Tap;
use crate::redact::Redactor;

/// Start the registry's writer for run `run_id` (journal at `journal`) on the database at
/// `url`: the returned tap goes to [`crate::journal::Journal::add_tap`]. A warning about the
/// registry reaches the front end through `events` and the journal through the tap's notes.
pub fn spawn(
    url: &str,
    run_id: &str,
    journal: &Path,
    redactor: Redactor,
    events: mpsc::WeakSender<EngineEvent>,
) -> Tap {
    let (records_tx, records) = mpsc::unbounded_channel();
    let (notes, notes_rx) = mpsc::unbounded_channel();
    let target = crate::pg::Dsn::parse(url)
        .map(|d| d.target())
        .unwrap_or_else(|_| "the lock's database".to_string());
    let writer = writer::Writer {
        url: url.to_string(),
        target,
        run_id: run_id.to_string(),
        journal: journal.to_path_buf(),
        redactor,
        events,
        notes,
    };
    Tap {
        records: records_tx,
        notes: notes_rx,
        done: tokio::spawn(writer.run(records)),
    }
}
