//! `kind = "sql"`: a script over the run's connection to the named database, in one transaction
//! unless the step says otherwise, with `statement_timeout` and `lock_timeout` set; rows are
//! printed, server notices streamed, and the last statement's rows checked against `expect`.

use std::time::Duration;

use tokio_postgres::SimpleQueryMessage;

use super::{StepCtx, StepError, StepResult};
use crate::events::Stream;
use crate::pg;
use crate::runbook::{SqlExpect, SqlSpec};

/// How long one statement may run when the step sets no timeout.
const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a statement may wait for a lock: a migration must not queue behind production
/// traffic and block everyone behind it.
const LOCK_TIMEOUT: Duration = Duration::from_secs(10);
/// Rows printed per statement.
const MAX_ROWS_SHOWN: usize = 50;

/// The rows of a result set, as text.
pub type Rows = Vec<Vec<Option<String>>>;

/// Run a SQL step.
pub async fn run(spec: &SqlSpec, timeout: Option<Duration>, ctx: &mut StepCtx<'_>) -> StepResult {
    let sql = ctx.vars.interpolate(&spec.sql);
    let statement_timeout = timeout.unwrap_or(DEFAULT_STATEMENT_TIMEOUT);
    let session = ctx
        .dbs
        .get(&spec.database, ctx.vars)
        .await
        .map_err(StepError::Failed)?;
    ctx.out
        .info(&format!(
            "{} on {}{}",
            if spec.transaction {
                "one transaction"
            } else {
                "no transaction"
            },
            session.target,
            spec.file
                .as_ref()
                .map(|f| format!(", from {}", f.display()))
                .unwrap_or_default()
        ))
        .await;
    let ms = statement_timeout.as_millis();
    let lock_ms = LOCK_TIMEOUT.as_millis();
    let prologue = if spec.transaction {
        format!("BEGIN; SET LOCAL statement_timeout = {ms}; SET LOCAL lock_timeout = {lock_ms}")
    } else {
        format!("SET statement_timeout = {ms}; SET lock_timeout = {lock_ms}")
    };
    let client = &session.client;
    let cancel_token = client.cancel_token();
    let work = async {
        client.batch_execute(&prologue).await?;
        let messages = client.simple_query(&sql).await?;
        if spec.transaction {
            client.batch_execute("COMMIT").await?;
        } else {
            client
                .batch_execute("RESET statement_timeout; RESET lock_timeout")
                .await?;
        }
        Ok::<_, tokio_postgres::Error>(messages)
    };
    let result = tokio::select! {
        r = work => r,
        () = ctx.cancel.cancelled() => {
            let _ = cancel_token.cancel_query(tokio_postgres::NoTls).await;
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(StepError::Cancelled);
        }
    };
    let mut notices = Vec::new();
    while let Ok(n) = session.notices.try_recv() {
        notices.push(n);
    }
    for n in notices {
        ctx.out.line(Stream::Stderr, &n).await;
    }
    let messages = match result {
        Ok(m) => m,
        Err(e) => {
            let text = pg::describe(&e);
            if session.client.is_closed() {
                ctx.dbs.forget(&spec.database);
            } else if spec.transaction {
                let _ = session.client.batch_execute("ROLLBACK").await;
            }
            let rolled = if spec.transaction {
                "; the transaction was rolled back, nothing was changed"
            } else {
                ""
            };
            return Err(StepError::Failed(format!("{text}{rolled}")));
        }
    };
    let (statements, last_rows) = print_results(&messages, ctx).await;
    if let Some(expect) = &spec.expect {
        check_expectation(expect, last_rows.as_ref()).map_err(StepError::Failed)?;
    }
    Ok(format!(
        "{statements} statement(s){}",
        if spec.transaction { ", committed" } else { "" }
    ))
}

/// Print every result set; return the number of statements and the last statement's rows.
async fn print_results(
    messages: &[SimpleQueryMessage],
    ctx: &mut StepCtx<'_>,
) -> (usize, Option<Rows>) {
    let mut statements = 0;
    let mut current: Option<Rows> = None;
    let mut last: Option<Rows> = None;
    for message in messages {
        match message {
            SimpleQueryMessage::RowDescription(columns) => {
                let header: Vec<&str> = columns.iter().map(|c| c.name()).collect();
                ctx.out.line(Stream::Stdout, &header.join(" | ")).await;
                current = Some(Vec::new());
            }
            SimpleQueryMessage::Row(row) => {
                let values: Vec<Option<String>> = (0..row.len())
                    .map(|i| row.get(i).map(str::to_string))
                    .collect();
                let rows = current.get_or_insert_with(Vec::new);
                if rows.len() < MAX_ROWS_SHOWN {
                    let shown: Vec<&str> = values
                        .iter()
                        .map(|v| v.as_deref().unwrap_or("NULL"))
                        .collect();
                    ctx.out.line(Stream::Stdout, &shown.join(" | ")).await;
                }
                rows.push(values);
            }
            SimpleQueryMessage::CommandComplete(n) => {
                statements += 1;
                match current.take() {
                    Some(rows) => {
                        if rows.len() > MAX_ROWS_SHOWN {
                            ctx.out
                                .info(&format!("… {} more rows", rows.len() - MAX_ROWS_SHOWN))
                                .await;
                        }
                        ctx.out.info(&format!("({} rows)", rows.len())).await;
                        last = Some(rows);
                    }
                    None => {
                        last = None;
                        if *n > 0 {
                            ctx.out.info(&format!("{n} rows affected")).await;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    (statements, last)
}

/// Check the last statement's rows against the step's `expect`.
pub fn check_expectation(expect: &SqlExpect, rows: Option<&Rows>) -> Result<(), String> {
    let empty = Vec::new();
    let rows = rows.unwrap_or(&empty);
    let count = rows.len() as u64;
    if let Some(want) = expect.rows
        && count != want
    {
        return Err(format!("expected {want} row(s), got {count}"));
    }
    if let Some(min) = expect.min_rows
        && count < min
    {
        return Err(format!("expected at least {min} row(s), got {count}"));
    }
    if let Some(want) = &expect.value {
        let got = rows.first().and_then(|r| r.first()).cloned().flatten();
        match got {
            Some(got) if &got == want => {}
            Some(got) => return Err(format!("expected the value `{want}`, got `{got}`")),
            None => return Err(format!("expected the value `{want}`, got no value")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_name_what_was_seen() {
        let rows: Rows = vec![vec![Some("3".into())]];
        let ok = SqlExpect {
            rows: Some(1),
            value: Some("3".into()),
            ..SqlExpect::default()
        };
        assert!(check_expectation(&ok, Some(&rows)).is_ok());
        let bad = SqlExpect {
            value: Some("5".into()),
            ..SqlExpect::default()
        };
        assert_eq!(
            check_expectation(&bad, Some(&rows)),
            Err("expected the value `5`, got `3`".to_string())
        );
        let min = SqlExpect {
            min_rows: Some(2),
            ..SqlExpect::default()
        };
        assert_eq!(
            check_expectation(&min, None),
            Err("expected at least 2 row(s), got 0".to_string())
        );
    }
}
