//! The lock sampler: while a rehearsal runs, one query every [`SAMPLE_EVERY`] on a superuser
//! connection of its own reads `pg_locks` joined with `pg_stat_activity`: every table lock in
//! the sandbox database, who holds or waits for it, and who blocks the waiters. What the samples
//! mean per step is [`crate::lockprofile`]'s job.
//!
//! Sessions whose `application_name` starts with `golive-sandbox` (the sandbox app, its
//! traffic, the sandbox's own admin and fault sessions, this sampler) are the sandbox's; every
//! other session is the runbook's own (golive's engine connections are `golive`, a verify step's
//! `golive verify rls`, a snapshot's `pg_dump`).

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::pg;

/// How often `pg_locks` is read.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(50);

/// `application_name` of the sampler's session (a sandbox session: scenarios never terminate it).
pub const SAMPLER_APP_NAME: &str = "golive-sandbox-locks";

/// Table locks in this database (not the catalogs, not golive's registry), with the holder's or
/// waiter's session and, for a waiter, the sessions that block it.
const QUERY: &str = "\
SELECT l.pid,
       a.application_name NOT LIKE 'golive-sandbox%' AS own,
       CASE WHEN n.nspname = 'public' THEN c.relname::text
            ELSE n.nspname || '.' || c.relname END AS tbl,
       l.mode,
       l.granted,
       CASE WHEN l.granted THEN NULL ELSE pg_blocking_pids(l.pid) END AS blocked_by,
       (extract(epoch FROM a.query_start) * 1000)::int8 AS query_start_ms
  FROM pg_locks l
  JOIN pg_class c ON c.oid = l.relation
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'relation'
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND c.relkind IN ('r', 'p', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'golive')
   AND l.pid <> pg_backend_pid()";

/// One read of `pg_locks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockSample {
    /// When it was taken, milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// Every table lock held or awaited at that moment.
    pub rows: Vec<LockRow>,
}

/// One table lock held or awaited by one session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockRow {
    /// The session's backend pid.
    pub pid: i32,
    /// A session of the runbook's steps, not of the sandbox.
    pub own: bool,
    /// The table (`customers`, or `schema.table` outside `public`).
    pub table: String,
    /// PostgreSQL's mode name, e.g. `AccessExclusiveLock`.
    pub mode: String,
    /// Held (true) or awaited (false).
    pub granted: bool,
    /// For a waiter: the pids blocking it.
    pub blocked_by: Vec<i32>,
    /// When the session's current query started (identifies one wait across samples).
    pub query_start_ms: i64,
}

/// Starts the sampler.
pub struct LockSampler;

/// A running sampler; [`LockSamplerHandle::finish`] stops it and hands back its samples.
pub struct LockSamplerHandle {
    started_ms: u64,
    stop: CancellationToken,
    task: JoinHandle<Vec<LockSample>>,
}

impl LockSampler {
    /// Connect to `superuser_url` and sample every [`SAMPLE_EVERY`] until `cancel` fires or the
    /// handle is finished. A failed read ends the sampling (the samples so far are kept). The
    /// error says why it could not start (the URL's password masked).
    pub async fn start(
        superuser_url: &str,
        cancel: CancellationToken,
    ) -> Result<LockSamplerHandle, String> {
        let session = pg::connect(superuser_url, SAMPLER_APP_NAME)
            .await
            .map_err(|e| crate::redact::url_passwords(&e.to_string()).into_owned())?;
        let statement = session
            .client
            .prepare(QUERY)
            .await
            .map_err(|e| format!("cannot read pg_locks: {}", pg::describe(&e)))?;
        let stop = cancel.child_token();
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut tick = tokio::time::interval(SAMPLE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    () = token.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let at_ms = unix_ms(SystemTime::now());
                let Ok(rows) = session.client.query(&statement, &[]).await else {
                    break;
                };
                let rows = rows
                    .iter()
                    .filter_map(|r| {
                        Some(LockRow {
                            pid: r.try_get(0).ok()?,
                            own: r.try_get(1).ok()?,
                            table: r.try_get(2).ok()?,
                            mode: r.try_get(3).ok()?,
                            granted: r.try_get(4).ok()?,
                            blocked_by: r
                                .try_get::<_, Option<Vec<i32>>>(5)
                                .ok()
                                .flatten()
                                .unwrap_or_default(),
                            query_start_ms: r
                                .try_get::<_, Option<i64>>(6)
                                .ok()
                                .flatten()
                                .unwrap_or_default(),
                        })
                    })
                    .collect();
                samples.push(LockSample { at_ms, rows });
            }
            samples
        });
        Ok(LockSamplerHandle {
            started_ms: unix_ms(SystemTime::now()),
            stop,
            task,
        })
    }
}

impl LockSamplerHandle {
    /// When sampling started, milliseconds since the Unix epoch.
    pub fn started_ms(&self) -> u64 {
        self.started_ms
    }

    /// Stop sampling; every sample taken, oldest first.
    pub async fn finish(self) -> Vec<LockSample> {
        self.stop.cancel();
        self.task.await.unwrap_or_default()
    }
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
