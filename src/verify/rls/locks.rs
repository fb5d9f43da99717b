//! Keeping the probes out of the application's way: the short timeouts every probe runs under,
//! and, when one is cut short, who held the lock it waited for. A probe that could not finish is
//! inconclusive, never a pass and never a false "broken".

use tokio_postgres::Client;

use super::catalog::Table;

type PgError = tokio_postgres::Error;

/// How long a probe waits for a lock before it gives up (the application never waits on the
/// audit for longer than this either).
pub const LOCK_TIMEOUT: &str = "200ms";

/// How long one probe statement may run.
pub const STATEMENT_TIMEOUT: &str = "3s";

/// The session settings of the probes' connection.
pub fn session_settings() -> String {
    format!("SET lock_timeout = '{LOCK_TIMEOUT}'; SET statement_timeout = '{STATEMENT_TIMEOUT}'")
}

/// Whether a probe's error means it did not finish (lock timeout, statement timeout,
/// serialization failure, deadlock) rather than an answer from the policies.
pub fn interrupted(e: &PgError) -> bool {
    matches!(
        crate::pg::sqlstate(e),
        Some("55P03" | "57014" | "40001" | "40P01")
    )
}

/// The tuple a lock wait was on, from the error's context (`while updating tuple (0,1) in …`).
fn tuple_of(e: &PgError) -> Option<String> {
    let context = e.as_db_error()?.where_()?;
    let start = context.find("tuple (")? + "tuple ".len();
    let end = start + context[start..].find(')')? + 1;
    Some(context[start..end].to_string())
}

const BLOCKERS_SQL: &str = "SELECT coalesce(string_agg(DISTINCT l.pid::text, ', '), '') \
     FROM pg_locks l \
     WHERE l.granted AND l.pid <> $1 AND l.pid <> pg_backend_pid() \
       AND ((l.locktype = 'transactionid' AND l.transactionid = ({xmax})) \
         OR (l.locktype = 'relation' AND l.relation = $2::text::regclass \
             AND l.mode IN ('ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')))";

/// The sessions holding the lock a probe of `app_pid` on `table` waited for: the holder of the
/// row's `xmax` (a row lock) or a strong lock on the table.
async fn blockers(admin: &Client, app_pid: i32, table: &Table, tuple: Option<&str>) -> String {
    let xmax = match tuple {
        Some(_) => format!(
            "SELECT xmax FROM {} WHERE ctid = $3::text::tid",
            table.qualified()
        ),
        None => "SELECT NULL::xid WHERE $3::text IS NULL".to_string(),
    };
    let sql = BLOCKERS_SQL.replace("{xmax}", &xmax);
    let tuple = tuple.unwrap_or_default().to_string();
    admin
        .query_one(&sql, &[&app_pid, &table.qualified(), &tuple])
        .await
        .ok()
        .and_then(|row| row.try_get::<_, String>(0).ok())
        .unwrap_or_default()
}

/// What an interrupted probe saw, for its finding: `inconclusive: locked by pid 4242 (row (0,1))`.
pub async fn explain(admin: &Client, app_pid: i32, table: &Table, e: &PgError) -> String {
    match crate::pg::sqlstate(e) {
        Some("55P03") => {
            let tuple = tuple_of(e);
            let pids = blockers(admin, app_pid, table, tuple.as_deref()).await;
            let what = match &tuple {
                Some(t) => format!("row {t}"),
                None => "the table".to_string(),
            };
            if pids.is_empty() {
                format!(
                    "inconclusive: {what} was locked by another session for more than \
                     {LOCK_TIMEOUT} (it had let go when golive looked)"
                )
            } else {
                format!(
                    "inconclusive: locked by pid {pids} ({what}, waited {LOCK_TIMEOUT}, gave way)"
                )
            }
        }
        Some("57014") => format!(
            "inconclusive: cut short by the probe's statement timeout ({STATEMENT_TIMEOUT})"
        ),
        _ => format!(
            "inconclusive: the probe met a concurrent change: {}",
            crate::pg::describe(e)
        ),
    }
}

/// The fix line of an inconclusive finding.
pub const RETRY: &str = "run the audit again when the lock is gone (see pg_stat_activity for the pid), \
     or accept it with --allow inconclusive";
