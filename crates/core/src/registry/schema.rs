//! The registry's tables in the `golive` schema, created on first use and versioned in
//! `golive.registry_version` so a later golive can migrate them.
//!
//! ```text
//! golive.registry_version (version, installed_at, golive_version)
//! golive.runs    (run_id PK, runbook, runbook_sha256, mode, os_user, host, golive_version,
//!                 started_at, finished_at, outcome, message)
//! golive.events  (run_id, seq, at, step, event, record jsonb)  PK (run_id, seq)
//! golive.confirmations (view: run_id, runbook, seq, at, step, what, by, target)
//! ```

use tokio_postgres::Client;

use crate::pg;

/// The layout this golive writes and reads.
pub const VERSION: i32 = 1;

/// Key of the transaction lock that serializes two golives creating the schema at once.
const CREATE_LOCK: i64 = 0x0067_6f6c_6972;

const CREATE: &str = "
CREATE TABLE IF NOT EXISTS golive.registry_version (
    version        integer PRIMARY KEY,
    installed_at   timestamptz NOT NULL DEFAULT now(),
    golive_version text NOT NULL
);
CREATE TABLE IF NOT EXISTS golive.runs (
    run_id         text PRIMARY KEY,
    runbook        text NOT NULL,
    runbook_sha256 text NOT NULL,
    mode           text NOT NULL,
    os_user        text NOT NULL,
    host           text NOT NULL,
    golive_version text NOT NULL,
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz,
    outcome        text,
    message        text
);
CREATE INDEX IF NOT EXISTS runs_started_at ON golive.runs (started_at);
CREATE TABLE IF NOT EXISTS golive.events (
    run_id  text NOT NULL,
    seq     bigint NOT NULL,
    at      timestamptz NOT NULL,
    step    text,
    event   text NOT NULL,
    record  jsonb NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX IF NOT EXISTS events_step ON golive.events (step, run_id);
CREATE INDEX IF NOT EXISTS events_event ON golive.events (event, run_id);
CREATE OR REPLACE VIEW golive.confirmations AS
    SELECT e.run_id, r.runbook, e.seq, e.at, e.step,
           e.record->>'what' AS what, e.record->>'by' AS by, e.record->>'target' AS target
    FROM golive.events e JOIN golive.runs r USING (run_id)
    WHERE e.event = 'confirmed';
";

/// Why the registry cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The database refused (no CREATE privilege, read-only, connection lost).
    #[error("{0}")]
    Database(String),
    /// A newer golive laid the registry out differently.
    #[error(
        "the registry was laid out by a newer golive (version {0}, this one writes {VERSION}); \
         upgrade golive to write to it"
    )]
    Newer(i32),
}

impl From<tokio_postgres::Error> for SchemaError {
    fn from(e: tokio_postgres::Error) -> Self {
        SchemaError::Database(pg::describe(&e))
    }
}

/// Create the schema if it is missing (one golive at a time) and check its version.
pub async fn ensure(client: &mut Client) -> Result<(), SchemaError> {
    if let Some(version) = installed(client).await?
        && version >= VERSION
    {
        return check(version);
    }
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CREATE_LOCK])
        .await?;
    // Skipped when the schema exists: a DBA may have made it for the lock's role
    // (`CREATE SCHEMA golive AUTHORIZATION deployer`) without granting CREATE on the database.
    let schema: bool = tx
        .query_one("SELECT to_regnamespace('golive') IS NOT NULL", &[])
        .await?
        .get(0);
    if !schema {
        tx.batch_execute("CREATE SCHEMA golive").await?;
    }
    tx.batch_execute(CREATE).await?;
    tx.execute(
        "INSERT INTO golive.registry_version (version, golive_version) VALUES ($1, $2) \
         ON CONFLICT DO NOTHING",
        &[&VERSION, &crate::provenance::VERSION],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The registry's version, if it exists; an error if a newer golive laid it out.
pub async fn installed(client: &Client) -> Result<Option<i32>, SchemaError> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('golive.registry_version') IS NOT NULL",
            &[],
        )
        .await?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let version: Option<i32> = client
        .query_one("SELECT max(version) FROM golive.registry_version", &[])
        .await?
        .get(0);
    Ok(version)
}

/// Fail when the registry is newer than this golive.
pub fn check(version: i32) -> Result<(), SchemaError> {
    if version > VERSION {
        return Err(SchemaError::Newer(version));
    }
    Ok(())
}
