//! Cheap isolation probes for the dashboard's `isolation_canary` panel: no tenant gets no rows,
//! tenant A never sees another tenant's rows, and the API gives nothing without a tenant.
//! Each probe is a read, inside a transaction that is rolled back.

use serde::Serialize;

use super::api::{self, ApiOptions};
use super::rls::catalog::ident;
use super::rls::queries;
use crate::pg;

/// What the canary probes.
#[derive(Debug, Clone)]
pub struct CanaryOptions {
    /// A login as the application role (no database probes without it).
    pub app_database_url: Option<String>,
    /// Tenant tables (`table` or `schema.table`).
    pub tables: Vec<String>,
    /// The tenant column.
    pub tenant_column: String,
    /// The setting carrying the tenant.
    pub tenant_setting: String,
    /// Tenant A for the cross-tenant read probe (skipped without it).
    pub tenant: Option<String>,
    /// The application (no API probe without it; its `tenants` are not used).
    pub api: Option<ApiOptions>,
}

/// How one probe ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CanaryOutcome {
    /// Isolation held.
    Pass,
    /// Isolation failed: rows or data leaked.
    Fail,
    /// The probe could not run (connection refused, query error).
    Error,
}

/// One probe's result.
#[derive(Debug, Clone, Serialize)]
pub struct CanaryResult {
    /// `db-no-tenant`, `db-tenant-a-only-a` or `api-no-tenant`.
    pub probe: &'static str,
    /// How it ended.
    pub outcome: CanaryOutcome,
    /// What was seen.
    pub detail: String,
}

fn result(probe: &'static str, outcome: CanaryOutcome, detail: impl Into<String>) -> CanaryResult {
    CanaryResult {
        probe,
        outcome,
        detail: detail.into(),
    }
}

fn qualify(name: &str) -> String {
    name.split('.').map(ident).collect::<Vec<_>>().join(".")
}

/// Turn per-table counts into one result: any row is a failure, any error an error.
fn judge(
    probe: &'static str,
    tables: &[String],
    counts: Result<Vec<Result<i64, tokio_postgres::Error>>, String>,
) -> CanaryResult {
    let counts = match counts {
        Ok(c) => c,
        Err(e) => return result(probe, CanaryOutcome::Error, e),
    };
    let mut leaks = Vec::new();
    let mut errors = Vec::new();
    for (t, c) in tables.iter().zip(counts) {
        match c {
            Ok(0) => {}
            Ok(n) => leaks.push(format!("{t}: {n} row(s)")),
            Err(e) => errors.push(format!("{t}: {}", pg::describe(&e))),
        }
    }
    if !leaks.is_empty() {
        result(probe, CanaryOutcome::Fail, leaks.join("; "))
    } else if !errors.is_empty() {
        result(probe, CanaryOutcome::Error, errors.join("; "))
    } else {
        result(
            probe,
            CanaryOutcome::Pass,
            format!("{} tables, 0 rows", tables.len()),
        )
    }
}

/// Run the probes the options allow. Never fails: a probe that cannot run reports
/// [`CanaryOutcome::Error`].
pub async fn canary(options: &CanaryOptions) -> Vec<CanaryResult> {
    let mut out = Vec::new();
    if let Some(url) = &options.app_database_url {
        match pg::connect(url, "golive canary").await {
            Err(e) => out.push(result("db-no-tenant", CanaryOutcome::Error, e.to_string())),
            Ok(session) => {
                let app = &session.client;
                let tables: Vec<String> = options.tables.iter().map(|t| qualify(t)).collect();
                let exprs: Vec<String> = tables.iter().map(|t| queries::visible_rows(t)).collect();
                out.push(judge(
                    "db-no-tenant",
                    &options.tables,
                    queries::counts(app, &exprs, false).await,
                ));
                if let Some(tenant) = &options.tenant {
                    out.push(tenant_a_only_a(app, options, &tables, tenant).await);
                }
            }
        }
    }
    if let Some(api_options) = &options.api {
        let probe = "api-no-tenant";
        let checked = match api::http_client(api_options.timeout) {
            Ok(client) => api::no_tenant_check(&client, api_options, "on a fresh request").await,
            Err(e) => Err(e),
        };
        out.push(match checked {
            Ok(None) => result(probe, CanaryOutcome::Pass, "no data without a tenant"),
            Ok(Some((severity, seen, _))) if severity.is_blocking() => {
                result(probe, CanaryOutcome::Fail, seen)
            }
            Ok(Some((_, seen, _))) => result(probe, CanaryOutcome::Pass, seen),
            Err(e) => result(probe, CanaryOutcome::Error, e.to_string()),
        });
    }
    out
}

async fn tenant_a_only_a(
    app: &tokio_postgres::Client,
    options: &CanaryOptions,
    tables: &[String],
    tenant: &str,
) -> CanaryResult {
    let probe = "db-tenant-a-only-a";
    let Some(a) = queries::uuid_literal(tenant) else {
        return result(
            probe,
            CanaryOutcome::Error,
            format!("tenant {tenant:?} is not a UUID"),
        );
    };
    if !queries::valid_setting(&options.tenant_setting) {
        return result(
            probe,
            CanaryOutcome::Error,
            format!("bad tenant setting {:?}", options.tenant_setting),
        );
    }
    let begin = format!(
        "BEGIN READ ONLY; SET LOCAL statement_timeout = '5s'; SELECT set_config('{}', {a}, true)",
        options.tenant_setting
    );
    if let Err(e) = app.batch_execute(&begin).await {
        return result(probe, CanaryOutcome::Error, pg::describe(&e));
    }
    let exprs: Vec<String> = tables
        .iter()
        .map(|t| queries::foreign_rows(t, &options.tenant_column, &a))
        .collect();
    let counts = queries::counts(app, &exprs, true).await;
    let verdict = judge(probe, &options.tables, counts);
    match app.batch_execute("ROLLBACK").await {
        Ok(()) => verdict,
        Err(e) => result(probe, CanaryOutcome::Error, pg::describe(&e)),
    }
}
