//! The go-live lock: a PostgreSQL session advisory lock on the runbook's `lock` database, held on
//! a connection of its own for the whole run. It goes away with that session, so a killed golive
//! never leaves it behind. Who holds it (user, host, pid, run id, since when) is written into the
//! locking statement's comment, which a second golive reads from `pg_stat_activity`.

use serde::{Deserialize, Serialize};

use crate::pg::{self, Session};

/// The advisory lock key (`golive` in ASCII); `pg_locks` shows it as classid 0, objid below.
const KEY: i64 = 0x0067_6f6c_6976;
const MARK: &str = "golive-lock:";

/// Who holds the lock.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Holder {
    /// OS user.
    pub user: String,
    /// Host.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// Run id.
    pub run: String,
    /// When it was taken (RFC 3339).
    pub since: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}@{} (pid {}, run {}) since {}",
            self.user, self.host, self.pid, self.run, self.since
        )
    }
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone else holds it.
    #[error(
        "the go-live lock on {target} is held by {holder}; wait for that run to finish, or \
         coordinate with its operator (the lock goes away by itself when that process ends)"
    )]
    Held {
        /// The database.
        target: String,
        /// Who holds it, as far as can be read.
        holder: String,
    },
    /// The database could not be reached or the lock query failed.
    #[error("cannot take the go-live lock: {0}")]
    Database(String),
}

/// The held lock; dropping it closes the session and releases the lock.
pub struct LockGuard {
    session: Session,
    holder: Holder,
}

impl LockGuard {
    /// Who holds it (this process).
    pub fn holder(&self) -> &Holder {
        &self.holder
    }

    /// Whether the lock's session is still open (a dropped connection loses the lock).
    pub fn is_held(&self) -> bool {
        !self.session.client.is_closed()
    }

    /// The database, as `user@host:port/db`.
    pub fn target(&self) -> &str {
        &self.session.target
    }
}

/// Take the lock on the database at `url` for run `run`, or say who has it.
pub async fn acquire(url: &str, run: &str) -> Result<LockGuard, LockError> {
    let session = pg::connect(url, "golive lock").await.map_err(|e| {
        LockError::Database(crate::redact::url_passwords(&e.to_string()).into_owned())
    })?;
    let holder = Holder {
        user: crate::os::user_name(),
        host: crate::os::host_name(),
        pid: std::process::id(),
        run: run.to_string(),
        since: crate::journal::now_rfc3339(),
    };
    let info = serde_json::to_string(&holder)
        .map_err(|e| LockError::Database(e.to_string()))?
        .replace("*/", "* /");
    let sql = format!("SELECT pg_try_advisory_lock({KEY}) /* {MARK}{info} */");
    let rows = session
        .client
        .simple_query(&sql)
        .await
        .map_err(|e| LockError::Database(pg::describe(&e)))?;
    let taken = rows.iter().any(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0) == Some("t"),
        _ => false,
    });
    if taken {
        return Ok(LockGuard { session, holder });
    }
    let holder = current_holder(&session).await;
    Err(LockError::Held {
        target: session.target.clone(),
        holder,
    })
}

/// Who holds the go-live lock on a database, as another session sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// Nobody: no session holds it.
    Nobody,
    /// A golive, as its locking statement says.
    By(Holder),
    /// A session whose statement cannot be read (no `pg_read_all_stats`): `(address, since)`.
    Unreadable(String, String),
}

/// Who holds the lock, read from `pg_locks` and the holder session's last statement.
pub async fn held(client: &tokio_postgres::Client) -> Result<Held, tokio_postgres::Error> {
    let query = "SELECT a.query, a.backend_start::text, coalesce(a.client_addr::text, 'local') \
                 FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
                 WHERE l.locktype = 'advisory' AND l.granted AND l.database = \
                 (SELECT oid FROM pg_database WHERE datname = current_database()) \
                 AND l.classid = $1 AND l.objid = $2 LIMIT 1";
    let classid = i64::from(u32::try_from(KEY >> 32).unwrap_or(0));
    let objid = KEY & 0xffff_ffff;
    let rows = client
        .query(query, &[&(classid as u32), &(objid as u32)])
        .await?;
    let Some(row) = rows.into_iter().next() else {
        return Ok(Held::Nobody);
    };
    let query: String = row.get::<_, Option<String>>(0).unwrap_or_default();
    let started: String = row.get::<_, Option<String>>(1).unwrap_or_default();
    let addr: String = row.get::<_, Option<String>>(2).unwrap_or_default();
    Ok(query
        .split_once(MARK)
        .and_then(|(_, rest)| rest.rsplit_once("*/"))
        .and_then(|(json, _)| {
            serde_json::from_str::<Holder>(json.trim().replace("* /", "*/").as_str()).ok()
        })
        .map_or(Held::Unreadable(addr, started), Held::By))
}

/// Describe whoever holds the lock, from the holder session's last statement.
async fn current_holder(session: &Session) -> String {
    match held(&session.client).await {
        Ok(Held::By(holder)) => holder.to_string(),
        Ok(Held::Unreadable(addr, started)) => {
            format!("a session from {addr} connected since {started}")
        }
        Ok(Held::Nobody) => "another session (it may have just ended: try again)".into(),
        Err(e) => format!(
            "another session (its details are unreadable: {})",
            pg::describe(&e)
        ),
    }
}
