//! Read-only SQL panels: a query per panel in a `READ ONLY` transaction with a
//! `statement_timeout`; the first column of the first row is the value. A lost connection shows
//! as the source's error, and the next attempt reconnects.

use std::time::Duration;

use crate::pg::{self, Session};

use super::config::QueryPanel;
use super::poller::Source;
use super::sample::{Sample, now};

/// Runs one panel's query; reconnects when the connection was lost.
pub struct SqlQuery {
    panel: QueryPanel,
    timeout: Duration,
    session: Option<Session>,
}

impl SqlQuery {
    /// A source for `panel`, each query limited to `timeout`.
    pub fn new(panel: QueryPanel, timeout: Duration) -> Self {
        SqlQuery {
            panel,
            timeout,
            session: None,
        }
    }

    async fn value(&mut self) -> Result<f64, String> {
        // A lost connection is reported once (the poller backs off, the source shows it), and
        // the next attempt reconnects.
        if let Some(lost) = self.session.take_if(|s| s.client.is_closed()) {
            return Err(format!(
                "lost the connection to {}; reconnecting",
                lost.target
            ));
        }
        if self.session.is_none() {
            let s = pg::connect(&self.panel.database_url, "golive-monitor")
                .await
                .map_err(|e| crate::redact::url_passwords(&e.to_string()).into_owned())?;
            self.session = Some(s);
        }
        let Some(session) = self.session.as_mut() else {
            return Err("no connection".into());
        };
        let ms = self.timeout.as_millis().max(1);
        let tx = session
            .client
            .transaction()
            .await
            .map_err(|e| pg::describe(&e))?;
        tx.batch_execute(&format!(
            "SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = {ms}"
        ))
        .await
        .map_err(|e| pg::describe(&e))?;
        let rows = tx
            .simple_query(&self.panel.sql)
            .await
            .map_err(|e| pg::describe(&e))?;
        tx.rollback().await.map_err(|e| pg::describe(&e))?;
        let text = rows.iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).map(str::to_string)),
            _ => None,
        });
        match text {
            Some(Some(t)) => t.trim().parse::<f64>().map_err(|_| {
                format!(
                    "the query's first column is {t:?}, not a number; select a count or a number"
                )
            }),
            Some(None) => Err("the query answered NULL; use coalesce(…, 0)".into()),
            None => Err("the query answered no row; make it return one".into()),
        }
    }
}

impl Source for SqlQuery {
    fn name(&self) -> String {
        format!("sql:{}", self.panel.id)
    }

    async fn poll(&mut self) -> Result<Vec<Sample>, String> {
        let value = self
            .value()
            .await
            .map_err(|e| format!("[[monitor.queries]] {}: {e}", self.panel.id))?;
        Ok(vec![Sample::Query {
            id: self.panel.id.clone(),
            at: now(),
            value,
        }])
    }
}
