//! PostgreSQL: connection strings, connections with timeouts and keepalives, error text, and the
//! throwaway cluster used by rehearsals and tests.

pub mod cluster;
mod databases;
pub mod dsn;
mod tls;

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client};

pub use databases::Databases;
pub use dsn::{Dsn, TlsPolicy};

/// A connection that failed to open, or a statement that failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The connection string is malformed.
    #[error(transparent)]
    Dsn(#[from] dsn::DsnError),
    /// The TLS set-up failed (unreadable root certificate, say).
    #[error("TLS for {target}: {reason}")]
    Tls {
        /// `user@host:port/db`.
        target: String,
        /// What went wrong.
        reason: String,
    },
    /// The server could not be reached or refused the login.
    #[error("cannot connect to {target}: {reason}")]
    Connect {
        /// `user@host:port/db`.
        target: String,
        /// What went wrong, with a hint.
        reason: String,
    },
}

/// A live connection and the notices (`RAISE NOTICE`, warnings) the server sends on it.
pub struct Session {
    /// The client.
    pub client: Client,
    /// Notices, as `SEVERITY: message` lines.
    pub notices: mpsc::UnboundedReceiver<String>,
    /// `user@host:port/db`, for messages.
    pub target: String,
}

/// Timeouts applied to every connection golive opens.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const KEEPALIVE_IDLE: Duration = Duration::from_secs(15);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);

/// Open a connection: connect timeout, TCP keepalives, `application_name`, TLS as the string asks.
pub async fn connect(raw: &str, application_name: &str) -> Result<Session, DbError> {
    let dsn = Dsn::parse(raw)?;
    connect_dsn(&dsn, application_name).await
}

/// [`connect`] for an already parsed connection string.
pub async fn connect_dsn(dsn: &Dsn, application_name: &str) -> Result<Session, DbError> {
    let target = dsn.target();
    let mut config = dsn.config.clone();
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    config
        .keepalives(true)
        .keepalives_idle(KEEPALIVE_IDLE)
        .keepalives_interval(KEEPALIVE_INTERVAL)
        .keepalives_retries(3)
        .tcp_user_timeout(Duration::from_secs(30));
    if config.get_application_name().is_none() {
        config.application_name(application_name);
    }
    let (tx, notices) = mpsc::unbounded_channel();
    let connect_err = |e: tokio_postgres::Error| DbError::Connect {
        target: target.clone(),
        reason: describe(&e),
    };
    let client = match &dsn.tls {
        TlsPolicy::Disable => {
            let (client, connection) = config
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(connect_err)?;
            tokio::spawn(drive(connection, tx));
            client
        }
        policy => {
            let tls = tls::connector(policy).map_err(|reason| DbError::Tls {
                target: target.clone(),
                reason,
            })?;
            let (client, connection) = config.connect(tls).await.map_err(connect_err)?;
            tokio::spawn(drive(connection, tx));
            client
        }
    };
    Ok(Session {
        client,
        notices,
        target,
    })
}

async fn drive<S, T>(
    mut connection: tokio_postgres::Connection<S, T>,
    notices: mpsc::UnboundedSender<String>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    while let Some(message) = messages.next().await {
        match message {
            Ok(AsyncMessage::Notice(n)) => {
                let _ = notices.send(format!("{}: {}", n.severity(), n.message()));
            }
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(error = %e, "connection closed");
                break;
            }
        }
    }
}

/// A database error as one line a person can act on: SQLSTATE, message, detail, hint, position.
pub fn describe(err: &tokio_postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        let mut text = format!("{} ({})", db.message(), db.code().code());
        if let Some(detail) = db.detail() {
            text.push_str(&format!("; detail: {detail}"));
        }
        if let Some(hint) = db.hint() {
            text.push_str(&format!("; hint: {hint}"));
        }
        if let Some(tokio_postgres::error::ErrorPosition::Original(pos)) = db.position() {
            text.push_str(&format!("; at character {pos}"));
        }
        return text;
    }
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    if text.contains("Connection refused") {
        text.push_str(" (is the server running, and is the host and port right?)");
    } else if err.is_closed() || text.contains("connection closed") {
        text.push_str(
            " (the server closed the connection: it was restarted, or the session was terminated)",
        );
    } else if text.contains("timed out") {
        text.push_str(" (no answer in time: check the host, the port and any firewall)");
    }
    crate::redact::url_passwords(&text).into_owned()
}

/// The SQLSTATE of an error, if the server sent one.
pub fn sqlstate(err: &tokio_postgres::Error) -> Option<&str> {
    err.code().map(|c| c.code())
}
