//! Reading the registry back: every run with its confirmations (`golive history`) and one run's
//! records (`golive report --database-url`).

use serde::Serialize;
use tokio_postgres::Client;

use super::schema;
use crate::journal::Record;

/// One go-live as the registry has it.
#[derive(Debug, Serialize)]
pub struct RunSummary {
    /// Run id.
    pub run_id: String,
    /// `[runbook] name`.
    pub runbook: String,
    /// sha256 of the runbook file.
    pub runbook_sha256: String,
    /// `run` or `rehearse`.
    pub mode: String,
    /// OS user who started it.
    pub user: String,
    /// Host it ran on.
    pub host: String,
    /// golive's version.
    pub golive_version: String,
    /// When it started (RFC 3339, UTC).
    pub started_at: String,
    /// When it ended, if it has.
    pub finished_at: Option<String>,
    /// How it ended (`passed`, `failed`, `rolled_back`, …); `None` while running or unfinished.
    pub outcome: Option<String>,
    /// The closing line.
    pub message: Option<String>,
    /// Who confirmed what, in order.
    pub confirmations: Vec<Confirmation>,
}

/// One confirmation.
#[derive(Debug, Serialize)]
pub struct Confirmation {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The step it was about.
    pub step: Option<String>,
    /// What was confirmed.
    pub what: String,
    /// Who and how.
    pub by: String,
    /// The target it named.
    pub target: Option<String>,
}

/// The registry could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The database could not be reached or refused the query.
    #[error("cannot read the registry: {0}")]
    Database(String),
    /// No registry there.
    #[error(
        "no golive registry in {0}: no run has registered there yet (runs register in the \
         database their runbook's `[runbook] lock` names); check the URL"
    )]
    Missing(String),
    /// No such run.
    #[error(
        "run {run} is not in the registry on {target}; `golive history --database-url …` lists them"
    )]
    NoRun {
        /// The run id asked for.
        run: String,
        /// The database.
        target: String,
    },
    /// A newer layout.
    #[error(transparent)]
    Schema(#[from] schema::SchemaError),
}

impl From<tokio_postgres::Error> for ReadError {
    fn from(e: tokio_postgres::Error) -> Self {
        ReadError::Database(crate::pg::describe(&e))
    }
}

const TIME: &str = r#"'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'"#;

async fn open(url: &str) -> Result<(Client, String), ReadError> {
    let session = crate::pg::connect(url, "golive history")
        .await
        .map_err(|e| ReadError::Database(crate::redact::url_passwords(&e.to_string()).into()))?;
    match schema::installed(&session.client).await? {
        None => Err(ReadError::Missing(session.target)),
        Some(version) => {
            schema::check(version)?;
            Ok((session.client, session.target))
        }
    }
}

/// Every run in the registry at `url`, oldest first, with its confirmations.
pub async fn history(url: &str) -> Result<Vec<RunSummary>, ReadError> {
    let (client, _) = open(url).await?;
    let query = format!(
        "SELECT run_id, runbook, runbook_sha256, mode, os_user, host, golive_version, \
         to_char(started_at AT TIME ZONE 'UTC', {TIME}), \
         to_char(finished_at AT TIME ZONE 'UTC', {TIME}), outcome, message \
         FROM golive.runs ORDER BY started_at, run_id"
    );
    let mut runs: Vec<RunSummary> = client
        .query(&query, &[])
        .await?
        .iter()
        .map(|r| RunSummary {
            run_id: r.get(0),
            runbook: r.get(1),
            runbook_sha256: r.get(2),
            mode: r.get(3),
            user: r.get(4),
            host: r.get(5),
            golive_version: r.get(6),
            started_at: r.get(7),
            finished_at: r.get(8),
            outcome: r.get(9),
            message: r.get(10),
            confirmations: Vec::new(),
        })
        .collect();
    let query = format!(
        "SELECT run_id, to_char(at AT TIME ZONE 'UTC', {TIME}), step, what, by, target \
         FROM golive.confirmations ORDER BY run_id, seq"
    );
    for row in client.query(&query, &[]).await? {
        let run_id: String = row.get(0);
        if let Some(run) = runs.iter_mut().find(|r| r.run_id == run_id) {
            run.confirmations.push(Confirmation {
                at: row.get(1),
                step: row.get(2),
                what: row.get::<_, Option<String>>(3).unwrap_or_default(),
                by: row.get::<_, Option<String>>(4).unwrap_or_default(),
                target: row.get(5),
            });
        }
    }
    Ok(runs)
}

/// The records of run `run_id`, in journal order.
pub async fn records(url: &str, run_id: &str) -> Result<Vec<Record>, ReadError> {
    let (client, target) = open(url).await?;
    let rows = client
        .query(
            "SELECT record::text FROM golive.events WHERE run_id = $1 ORDER BY seq",
            &[&run_id],
        )
        .await?;
    if rows.is_empty() {
        return Err(ReadError::NoRun {
            run: run_id.to_string(),
            target,
        });
    }
    Ok(rows
        .iter()
        .filter_map(|r| serde_json::from_str(r.get::<_, &str>(0)).ok())
        .collect())
}

/// `golive history`'s text: one block per run.
pub fn render(runs: &[RunSummary]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if runs.is_empty() {
        out.push_str("no go-live recorded yet\n");
    }
    for run in runs {
        let _ = writeln!(
            out,
            "{}  {}  {}  {}@{}  {} → {}  {}",
            run.run_id,
            run.mode,
            run.runbook,
            run.user,
            run.host,
            run.started_at,
            run.finished_at.as_deref().unwrap_or("…"),
            run.outcome.as_deref().unwrap_or("unfinished"),
        );
        let _ = writeln!(out, "    runbook sha256 {}", run.runbook_sha256);
        if let Some(message) = &run.message {
            let _ = writeln!(out, "    {message}");
        }
        let _ = writeln!(out, "    {} confirmation(s)", run.confirmations.len());
        for c in &run.confirmations {
            let _ = writeln!(
                out,
                "      {} {}{} by {}{}",
                c.at,
                c.what,
                c.step
                    .as_deref()
                    .map(|s| format!(" of `{s}`"))
                    .unwrap_or_default(),
                c.by,
                c.target
                    .as_deref()
                    .map(|t| format!(" (named {t})"))
                    .unwrap_or_default(),
            );
        }
    }
    out
}

/// `golive report --database-url URL RUN_ID`: the run's change record from the registry.
pub async fn report(url: &str, run_id: &str) -> Result<crate::report::Report, String> {
    let records = records(url, run_id).await.map_err(|e| e.to_string())?;
    crate::report::from_records(records)
        .ok_or_else(|| format!("run {run_id} has no run_started record in the registry"))
}

/// `golive history --database-url URL [--json]`: exit 0.
pub async fn history_command(url: &str, json: bool) -> anyhow::Result<i32> {
    let runs = history(url).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
    } else {
        print!("{}", render(&runs));
    }
    Ok(0)
}
