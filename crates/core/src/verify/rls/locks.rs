//! Keeping the probes out of the application's way: the short timeouts every probe runs under,
//! and, when one is cut short, who held the lock it waited for. A probe that could not finish is
//! inconclusive, never a pass and never a false "broken".

use tokio_postgres::Client;

use super::catalog::{Table, ident};

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

/// The row a lock wait was on, from the error's context (`while locking tuple (0,1) in relation
/// "vehicles"`): the tuple id and the relation (which may be another table than the probe's, one
/// its foreign keys lock).
fn tuple_of(e: &PgError) -> Option<(String, String)> {
    let context = e.as_db_error()?.where_()?;
    let start = context.find("tuple (")? + "tuple ".len();
    let end = start + context[start..].find(')')? + 1;
    let rest = &context[end..];
    let rel_start = rest.find("relation \"")? + "relation \"".len();
    let rel_end = rel_start + rest[rel_start..].find('"')?;
    Some((
        context[start..end].to_string(),
        rest[rel_start..rel_end].to_string(),
    ))
}

/// Sessions holding what a probe waited for: the row's `xmax` (a row lock), or a lock on any
/// table of the database that stops writes (the probe's table, or one its foreign keys lock).
const BLOCKERS_SQL: &str = "SELECT coalesce(string_agg(DISTINCT CASE l.locktype \
         WHEN 'relation' THEN l.pid || ' (' || l.mode || ' on ' || l.relation::regclass || ')' \
         ELSE l.pid || ' (the row)' END, ', '), '') \
     FROM pg_locks l \
     WHERE l.granted AND l.pid <> $1 AND l.pid <> pg_backend_pid() \
       AND ((l.locktype = 'transactionid' AND l.transactionid = ({xmax})) \
         OR (l.locktype = 'relation' \
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND l.mode IN ('ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')))";

/// The sessions holding the lock a probe of `app_pid` on `table` waited for.
async fn blockers(
    admin: &Client,
    app_pid: i32,
    table: &Table,
    tuple: Option<&(String, String)>,
) -> String {
    let xmax = match tuple {
        Some((_, relation)) => {
            let from = if *relation == table.name {
                table.qualified()
            } else {
                ident(relation)
            };
            format!("SELECT xmax FROM {from} WHERE ctid = $2::text::tid")
        }
        None => "SELECT NULL::xid WHERE $2::text IS NULL".to_string(),
    };
    let sql = BLOCKERS_SQL.replace("{xmax}", &xmax);
    let tuple = tuple.map(|(t, _)| t.clone()).unwrap_or_default();
    admin
        .query_one(&sql, &[&app_pid, &tuple])
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
            let pids = blockers(admin, app_pid, table, tuple.as_ref()).await;
            let what = match &tuple {
                Some((t, relation)) => format!("row {t} of {relation}"),
                None => "a table".to_string(),
            };
            if pids.is_empty() {
                format!(
                    "inconclusive: {what} was locked by another session for more than \
                     {LOCK_TIMEOUT} (it had let go when golive looked)"
                )
            } else {
                format!(
                    "inconclusive: locked by pid {pids}; the probe gave way after {LOCK_TIMEOUT}"
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
