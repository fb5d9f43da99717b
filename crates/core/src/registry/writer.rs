//! The registry's writer: a task of its own fed by the journal's tap. It writes each batch in one
//! transaction, idempotently on (run_id, seq); when the database refuses or the connection drops
//! it warns once, drops the queue (the journal has every record) and, when the database comes
//! back, catches up by replaying the journal file from the last record it wrote.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_postgres::Client;

use super::schema;
use crate::events::{EngineEvent, NoticeLevel};
use crate::journal::{Appended, Entry, Record};
use crate::redact::Redactor;

/// Most records written in one transaction.
const BATCH: usize = 256;
/// First wait before trying a refusing registry again; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Tries left once the run has ended and the registry is still behind: one, at once, so a
/// registry that is down never delays the end of the run (the journal has every record).
const TRIES_AFTER_END: u32 = 1;

/// What the writer needs.
pub(super) struct Writer {
    pub url: String,
    pub target: String,
    pub run_id: String,
    pub journal: PathBuf,
    pub redactor: Redactor,
    pub events: mpsc::WeakSender<EngineEvent>,
    pub notes: mpsc::UnboundedSender<String>,
}

struct State {
    client: Option<Client>,
    /// Highest seq known to be in the registry.
    written: u64,
    /// Records were dropped: replay the journal from `written` before anything else.
    behind: bool,
    /// The operator was told the registry is failing.
    warned: bool,
}

impl Writer {
    /// Follow `records` until it closes and the registry has caught up (or it gave up).
    pub(super) async fn run(self, mut records: mpsc::UnboundedReceiver<Appended>) {
        let mut state = State {
            client: None,
            written: 0,
            // The first write replays the journal: a resumed run's earlier records go in too.
            behind: true,
            warned: false,
        };
        let mut backoff = FIRST_BACKOFF;
        let mut open = true;
        let mut tries_left = TRIES_AFTER_END;
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            batch.clear();
            if open {
                if state.behind && state.client.is_none() && state.warned {
                    tokio::select! {
                        n = records.recv_many(&mut batch, BATCH) => open = n > 0,
                        () = tokio::time::sleep(backoff) => {}
                    }
                } else {
                    open = records.recv_many(&mut batch, BATCH).await > 0;
                }
            }
            if !open && !state.behind && batch.is_empty() {
                return;
            }
            match self.write(&mut state, &batch).await {
                Ok(()) => {
                    backoff = FIRST_BACKOFF;
                    if state.warned {
                        state.warned = false;
                        self.tell(
                            NoticeLevel::Info,
                            format!(
                                "the registry on {} is written again: caught up from the local \
                                 journal",
                                self.target
                            ),
                        )
                        .await;
                    }
                }
                Err(reason) => {
                    state.client = None;
                    state.behind = true;
                    if !state.warned {
                        state.warned = true;
                        self.tell(
                            NoticeLevel::Warn,
                            format!(
                                "cannot write the registry on {}: {reason}; the run goes on, the \
                                 local journal keeps every record and the registry catches up \
                                 when it can be written (a DBA can run `CREATE SCHEMA \
                                 golive AUTHORIZATION <the lock URL's role>`; or set \
                                 `registry = false` under [runbook])",
                                self.target
                            ),
                        )
                        .await;
                    }
                    if !open {
                        tries_left = tries_left.saturating_sub(1);
                        if tries_left == 0 {
                            let _ = self.notes.send(format!(
                                "the registry on {} misses this run's records after line {}; \
                                 the local journal has them",
                                self.target, state.written
                            ));
                            return;
                        }
                        tokio::time::sleep(backoff).await;
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Write `batch` (after a replay of the journal if records were dropped).
    async fn write(&self, state: &mut State, batch: &[Appended]) -> Result<(), String> {
        if state.client.is_none() {
            let session = crate::pg::connect(&self.url, "golive registry")
                .await
                .map_err(|e| crate::redact::url_passwords(&e.to_string()).into_owned())?;
            let mut client = session.client;
            schema::ensure(&mut client)
                .await
                .map_err(|e| e.to_string())?;
            state.client = Some(client);
        }
        let client = state.client.as_mut().ok_or("not connected")?;
        let replayed;
        let records: &[Appended] = if state.behind {
            replayed = replay(&self.journal, state.written)
                .map_err(|e| format!("cannot read {}: {e}", self.journal.display()))?;
            &replayed
        } else {
            batch
        };
        // After a replay, only the batch's records the file did not have yet (each record once,
        // in order: a second `run_resumed` after `run_finished` would reopen the run).
        let replayed_to = records.last().map_or(state.written, |a| a.seq);
        let fresh: Vec<&Appended> = records
            .iter()
            .filter(|a| a.seq > state.written)
            .chain(
                (if state.behind { batch } else { &[] })
                    .iter()
                    .filter(|a| a.seq > replayed_to),
            )
            .collect();
        let last = insert(client, &self.run_id, &self.redactor, &fresh, state.written)
            .await
            .map_err(|e| crate::pg::describe(&e))?;
        state.written = last;
        state.behind = false;
        Ok(())
    }

    async fn tell(&self, level: NoticeLevel, text: String) {
        tracing::warn!(%text, "registry");
        let _ = self.notes.send(text.clone());
        if let Some(events) = self.events.upgrade() {
            let _ = events.send(EngineEvent::Notice { level, text }).await;
        }
    }
}

/// The journal's records after line `after`, numbered by line.
fn replay(journal: &std::path::Path, after: u64) -> std::io::Result<Vec<Appended>> {
    let bytes = std::fs::read(journal)?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(text
        .split_terminator('\n')
        .zip(1u64..)
        .filter(|(_, seq)| *seq > after)
        .filter_map(|(line, seq)| {
            let record = serde_json::from_str::<Record>(line).ok()?;
            Some(Appended { seq, record })
        })
        .collect())
}

/// Insert `records` in one transaction, in order; the runs row follows the run's records.
/// Returns the highest seq written.
async fn insert(
    client: &mut Client,
    run_id: &str,
    redactor: &Redactor,
    records: &[&Appended],
    mut last: u64,
) -> Result<u64, tokio_postgres::Error> {
    if records.is_empty() {
        return Ok(last);
    }
    let tx = client.transaction().await?;
    let event = tx
        .prepare(
            "INSERT INTO golive.events (run_id, seq, at, step, event, record) \
             VALUES ($1, $2, $3::text::timestamptz, $4, $5, $6::text::jsonb) \
             ON CONFLICT (run_id, seq) DO NOTHING",
        )
        .await?;
    for appended in records {
        let record = &appended.record;
        let json = serde_json::to_string(record).unwrap_or_default();
        let json = redactor.redact(&json);
        let name = event_name(&record.entry);
        let seq = i64::try_from(appended.seq).unwrap_or(i64::MAX);
        tx.execute(
            &event,
            &[
                &run_id,
                &seq,
                &record.at,
                &step_of(&record.entry),
                &name,
                &json.as_ref(),
            ],
        )
        .await?;
        run_row(&tx, run_id, record, redactor).await?;
        last = last.max(appended.seq);
    }
    tx.commit().await?;
    Ok(last)
}

/// Keep `golive.runs` in step with the run's own records.
async fn run_row(
    tx: &tokio_postgres::Transaction<'_>,
    run_id: &str,
    record: &Record,
    redactor: &Redactor,
) -> Result<(), tokio_postgres::Error> {
    match &record.entry {
        Entry::RunStarted {
            runbook,
            runbook_sha256,
            golive_version,
            mode,
            user,
            host,
            ..
        } => {
            tx.execute(
                "INSERT INTO golive.runs (run_id, runbook, runbook_sha256, mode, os_user, host, \
                 golive_version, started_at) VALUES ($1, $2, $3, $4, $5, $6, $7, \
                 $8::text::timestamptz) ON CONFLICT (run_id) DO NOTHING",
                &[
                    &run_id,
                    runbook,
                    runbook_sha256,
                    &mode.name(),
                    user,
                    host,
                    golive_version,
                    &record.at,
                ],
            )
            .await?;
        }
        Entry::RunResumed { .. } => {
            tx.execute(
                "UPDATE golive.runs SET finished_at = NULL, outcome = NULL, message = NULL \
                 WHERE run_id = $1",
                &[&run_id],
            )
            .await?;
        }
        Entry::RunFinished { outcome, message } => {
            let outcome = serde_json::to_value(outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            tx.execute(
                "UPDATE golive.runs SET finished_at = $2::text::timestamptz, outcome = $3, \
                 message = $4 WHERE run_id = $1",
                &[
                    &run_id,
                    &record.at,
                    &outcome,
                    &redactor.redact(message).as_ref(),
                ],
            )
            .await?;
        }
        _ => {}
    }
    Ok(())
}

/// The record's `event` tag (`step_started`, `confirmed`, …).
pub(super) fn event_name(entry: &Entry) -> String {
    serde_json::to_value(entry)
        .ok()
        .and_then(|v| v.get("event").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_default()
}

/// The step a record is about, qualified (`snapshot`, `fast/flags-off`), if any.
fn step_of(entry: &Entry) -> Option<&str> {
    match entry {
        Entry::StepStarted { step, .. }
        | Entry::StepFinished { step, .. }
        | Entry::Output { step, .. }
        | Entry::Dashboard { step, .. } => Some(step),
        Entry::Confirmed { step, .. }
        | Entry::Refused { step, .. }
        | Entry::WrongAnswers { step, .. } => step.as_deref(),
        _ => None,
    }
}
