//! Cheap isolation probes, the one implementation behind the dashboard's `isolation_canary` panel:
//! no tenant gets no rows (also on a connection that just served a tenant, as a pooled connection
//! is reused), a tenant never sees another tenant's rows, and the API gives nothing without a
//! tenant and never one tenant's items to the other. Each probe is a read, inside a transaction
//! that is rolled back.

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
    /// The application (no API probe without it). With two `tenants`, also `api-tenants-apart`.
    pub api: Option<ApiOptions>,
}

/// Probes beyond [`CanaryOptions`]: what the dashboard adds on every round.
#[derive(Debug, Clone, Default)]
pub struct MoreProbes {
    /// Tenant B: `db-tenant-b-only-b`, the cross-tenant read probe the other way round.
    pub tenant_b: Option<String>,
    /// Run `db-no-tenant` last, on the connection the tenant probes used, after a tenant was set
    /// and cleared on it (what a pooled connection sees), instead of first on a fresh connection.
    pub pooled: bool,
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
    /// `db-no-tenant`, `db-tenant-a-only-a`, `db-tenant-b-only-b`, `api-no-tenant` or
    /// `api-tenants-apart`.
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

/// How to word a probe's verdict.
struct Wording<'a> {
    /// Said before the leaking tables, e.g. `as tenant A, rows of other tenants are visible`.
    leak: String,
    /// The tenant setting, when an invalid-text error (22P02) means the policy is not
    /// fail-closed for an empty setting (a failure, not an error).
    fail_closed: Option<&'a str>,
}

/// Turn per-table counts into one result: any row is a failure, any error an error.
fn judge(
    probe: &'static str,
    tables: &[String],
    counts: Result<Vec<Result<i64, tokio_postgres::Error>>, String>,
    wording: &Wording<'_>,
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
            Err(e) => match wording.fail_closed {
                Some(setting) if pg::sqlstate(&e) == Some("22P02") => leaks.push(format!(
                    "{t}: reading fails instead of returning no rows ({}); the policy needs \
                     NULLIF(current_setting('{setting}', true), '')",
                    pg::describe(&e)
                )),
                _ => errors.push(format!("{t}: {}", pg::describe(&e))),
            },
        }
    }
    if !leaks.is_empty() {
        result(
            probe,
            CanaryOutcome::Fail,
            format!("{}: {}", wording.leak, leaks.join("; ")),
        )
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
    canary_with(options, &MoreProbes::default()).await
}

/// [`canary`] with the probes `more` adds.
pub async fn canary_with(options: &CanaryOptions, more: &MoreProbes) -> Vec<CanaryResult> {
    let mut out = Vec::new();
    if let Some(url) = &options.app_database_url {
        match pg::connect(url, "golive canary").await {
            Err(e) => out.push(result(
                "db-no-tenant",
                CanaryOutcome::Error,
                crate::redact::url_passwords(&e.to_string()),
            )),
            Ok(session) => out.extend(db_probes(&session.client, options, more).await),
        }
    }
    if let Some(api_options) = &options.api {
        out.extend(api_probes(api_options).await);
    }
    out
}

async fn db_probes(
    app: &tokio_postgres::Client,
    options: &CanaryOptions,
    more: &MoreProbes,
) -> Vec<CanaryResult> {
    let mut out = Vec::new();
    let tables: Vec<String> = options.tables.iter().map(|t| qualify(t)).collect();
    if !more.pooled {
        out.push(no_tenant(app, options, &tables, false).await);
    }
    let tenants = [
        ("db-tenant-a-only-a", &options.tenant),
        ("db-tenant-b-only-b", &more.tenant_b),
    ];
    for (probe, tenant) in tenants {
        if let Some(tenant) = tenant {
            out.push(tenant_only_own(app, options, &tables, probe, tenant).await);
        }
    }
    if more.pooled {
        out.push(no_tenant(app, options, &tables, true).await);
    }
    out
}

/// No tenant gets no rows; `pooled`: on a connection that has just set and cleared a tenant.
async fn no_tenant(
    app: &tokio_postgres::Client,
    options: &CanaryOptions,
    tables: &[String],
    pooled: bool,
) -> CanaryResult {
    let probe = "db-no-tenant";
    if pooled {
        let Some(setting) = setting(options) else {
            return bad_setting(probe, options);
        };
        let served = format!(
            "BEGIN READ ONLY; SELECT set_config('{setting}', '{NIL_TENANT}', true); ROLLBACK"
        );
        if let Err(e) = app.batch_execute(&served).await {
            return result(probe, CanaryOutcome::Error, pg::describe(&e));
        }
    }
    let exprs: Vec<String> = tables.iter().map(|t| queries::visible_rows(t)).collect();
    let wording = Wording {
        leak: if pooled {
            "without a tenant, on a connection that just served one, rows are visible".into()
        } else {
            "without a tenant, rows are visible".into()
        },
        fail_closed: setting(options),
    };
    judge(
        probe,
        &options.tables,
        queries::counts(app, &exprs, false).await,
        &wording,
    )
}

/// A tenant set and cleared by the pooled probe: the nil UUID, which no row carries.
const NIL_TENANT: &str = "00000000-0000-0000-0000-000000000000";

fn setting(options: &CanaryOptions) -> Option<&str> {
    queries::valid_setting(&options.tenant_setting).then_some(options.tenant_setting.as_str())
}

fn bad_setting(probe: &'static str, options: &CanaryOptions) -> CanaryResult {
    result(
        probe,
        CanaryOutcome::Error,
        format!("bad tenant setting {:?}", options.tenant_setting),
    )
}

/// As `tenant`, no row of another tenant is visible.
async fn tenant_only_own(
    app: &tokio_postgres::Client,
    options: &CanaryOptions,
    tables: &[String],
    probe: &'static str,
    tenant: &str,
) -> CanaryResult {
    let Some(a) = queries::uuid_literal(tenant) else {
        return result(
            probe,
            CanaryOutcome::Error,
            format!("tenant {tenant:?} is not a UUID"),
        );
    };
    let Some(setting) = setting(options) else {
        return bad_setting(probe, options);
    };
    let begin = format!(
        "BEGIN READ ONLY; SET LOCAL statement_timeout = '5s'; SELECT set_config('{setting}', {a}, true)"
    );
    if let Err(e) = app.batch_execute(&begin).await {
        return result(probe, CanaryOutcome::Error, pg::describe(&e));
    }
    let exprs: Vec<String> = tables
        .iter()
        .map(|t| queries::foreign_rows(t, &options.tenant_column, &a))
        .collect();
    let counts = queries::counts(app, &exprs, true).await;
    let wording = Wording {
        leak: format!("as tenant {tenant}, rows of other tenants are visible"),
        fail_closed: None,
    };
    let verdict = judge(probe, &options.tables, counts, &wording);
    match app.batch_execute("ROLLBACK").await {
        Ok(()) => verdict,
        Err(e) => result(probe, CanaryOutcome::Error, pg::describe(&e)),
    }
}

/// No data without a tenant; with two tenants, neither gets the other's items.
async fn api_probes(api_options: &ApiOptions) -> Vec<CanaryResult> {
    let client = match api::http_client(api_options.timeout) {
        Ok(client) => client,
        Err(e) => return vec![result("api-no-tenant", CanaryOutcome::Error, e.to_string())],
    };
    let probe = "api-no-tenant";
    let checked = api::no_tenant_check(&client, api_options, "on a fresh request").await;
    let mut out = vec![match checked {
        Ok(None) => result(probe, CanaryOutcome::Pass, "no data without a tenant"),
        Ok(Some((severity, seen, _))) if severity.is_blocking() => {
            result(probe, CanaryOutcome::Fail, seen)
        }
        Ok(Some((_, seen, _))) => result(probe, CanaryOutcome::Pass, seen),
        Err(e) => result(probe, CanaryOutcome::Error, e.to_string()),
    }];
    if let [a, b] = api_options.tenants.as_slice() {
        out.push(api_tenants_apart(&client, api_options, a, b).await);
    }
    out
}

async fn api_tenants_apart(
    client: &reqwest::Client,
    api_options: &ApiOptions,
    a: &str,
    b: &str,
) -> CanaryResult {
    let probe = "api-tenants-apart";
    let mut leaks = Vec::new();
    for (me, other) in [(a, b), (b, a)] {
        match api::foreign_items(client, api_options, me, other).await {
            Ok(0) => {}
            Ok(n) => leaks.push(format!(
                "API as tenant {me} returned {n} items of tenant {other}"
            )),
            Err(e) => return result(probe, CanaryOutcome::Error, e.to_string()),
        }
    }
    if leaks.is_empty() {
        result(
            probe,
            CanaryOutcome::Pass,
            "no tenant got the other's items",
        )
    } else {
        result(probe, CanaryOutcome::Fail, leaks.join("; "))
    }
}
