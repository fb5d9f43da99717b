//! `kind = "flags"`: switch feature flags through the runbook's `[flags]` provider: a SQL table
//! (all flags in one transaction), one HTTP call per flag, or one command per flag.

use std::time::Duration;

use super::{StepCtx, StepError, StepResult, shell};
use crate::httpc;
use crate::pg;
use crate::runbook::{FlagsProvider, FlagsSpec};

/// Run a flags step.
pub async fn run(spec: &FlagsSpec, timeout: Option<Duration>, ctx: &mut StepCtx<'_>) -> StepResult {
    let provider = ctx.runbook.flags.clone().ok_or_else(|| {
        StepError::Failed("no [flags] provider in the runbook; add one (sql, http or shell)".into())
    })?;
    let summary: Vec<String> = spec
        .set
        .iter()
        .map(|(name, on)| format!("{name}={}", if *on { "on" } else { "off" }))
        .collect();
    match provider {
        FlagsProvider::Sql {
            database,
            table,
            upsert,
        } => set_sql(spec, &database, &table, upsert.as_deref(), ctx).await?,
        FlagsProvider::Http {
            method,
            url,
            body,
            headers,
        } => {
            for (flag, on) in &spec.set {
                set_http(
                    &method,
                    &url,
                    body.as_deref(),
                    &headers,
                    flag,
                    *on,
                    timeout,
                    ctx,
                )
                .await?;
            }
        }
        FlagsProvider::Shell { run } => {
            for (flag, on) in &spec.set {
                let enabled = if *on { "true" } else { "false" };
                ctx.out.info(&format!("{flag} → {enabled}")).await;
                shell::run_script(&run, &[("FLAG", flag), ("ENABLED", enabled)], ctx).await?;
            }
        }
    }
    Ok(summary.join(", "))
}

async fn set_sql(
    spec: &FlagsSpec,
    database: &str,
    table: &str,
    upsert: Option<&str>,
    ctx: &mut StepCtx<'_>,
) -> Result<(), StepError> {
    let statement = upsert.map(str::to_string).unwrap_or_else(|| {
        format!(
            "INSERT INTO {table} (name, enabled) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET enabled = EXCLUDED.enabled"
        )
    });
    let session = ctx
        .dbs
        .get(database, ctx.vars)
        .await
        .map_err(StepError::Failed)?;
    let target = session.target.clone();
    let client = &session.client;
    let work = async {
        client
            .batch_execute(
                "BEGIN; SET LOCAL statement_timeout = 30000; SET LOCAL lock_timeout = 10000",
            )
            .await?;
        for (flag, on) in &spec.set {
            client.execute(statement.as_str(), &[flag, on]).await?;
        }
        client.batch_execute("COMMIT").await?;
        let names: Vec<&str> = spec.set.iter().map(|(n, _)| n.as_str()).collect();
        client
            .query(
                &format!("SELECT name, enabled FROM {table} WHERE name = ANY($1) ORDER BY name"),
                &[&names],
            )
            .await
    };
    let rows = match work.await {
        Ok(rows) => rows,
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            let text = pg::describe(&e);
            if client.is_closed() {
                ctx.dbs.forget(database);
            }
            return Err(StepError::Failed(format!(
                "flags not changed (rolled back) on {target}: {text}"
            )));
        }
    };
    ctx.out
        .info(&format!("{table} on {target}, in one transaction:"))
        .await;
    for row in rows {
        let name: String = row.get(0);
        let enabled: bool = row.get(1);
        ctx.out
            .line(
                crate::events::Stream::Stdout,
                &format!("{name} = {}", if enabled { "on" } else { "off" }),
            )
            .await;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn set_http(
    method: &str,
    url: &str,
    body: Option<&str>,
    headers: &[(String, String)],
    flag: &str,
    on: bool,
    timeout: Option<Duration>,
    ctx: &mut StepCtx<'_>,
) -> Result<(), StepError> {
    let enabled = if on { "true" } else { "false" };
    let fill = |t: &str| {
        ctx.vars
            .interpolate(t)
            .replace("{flag}", flag)
            .replace("{enabled}", enabled)
    };
    let url = fill(url);
    let client =
        httpc::client(timeout.unwrap_or(Duration::from_secs(30))).map_err(StepError::Failed)?;
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|e| StepError::Failed(format!("bad flags method {method}: {e}")))?;
    let mut request = client.request(method.clone(), &url);
    for (name, value) in headers {
        request = request.header(name, fill(value));
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(fill(body));
    }
    let shown = ctx.vars.redactor().redact(&url).into_owned();
    let response = request
        .send()
        .await
        .map_err(|e| StepError::Failed(httpc::describe(&e)))?;
    let status = response.status();
    ctx.out
        .info(&format!("{method} {shown} ({flag} → {enabled}): {status}"))
        .await;
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        return Err(StepError::Failed(format!(
            "setting {flag} failed: {status}: {}",
            text.chars().take(200).collect::<String>()
        )));
    }
    Ok(())
}
