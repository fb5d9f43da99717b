//! The empirical half of the audit: queries run as the application role, inside transactions
//! that are always rolled back. Nothing is changed, whatever the policies allow.

use tokio_postgres::Client;

use super::catalog::{Table, ident};
use super::locks;
use super::queries::{Truth, counts, foreign_rows, visible_rows};
use crate::verify::{Finding, Severity};

type PgError = tokio_postgres::Error;

/// The result of one probe on one table: `Some(true)` passed, `Some(false)` failed, `None` not run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProbeCheck {
    /// `schema.table`.
    pub table: String,
    /// The probe's id (see [`PROBES`]).
    pub probe: &'static str,
    /// Passed, failed, or not applicable.
    pub passed: Option<bool>,
}

/// Every probe, in the order of the report's matrix, with its description.
pub const PROBES: [(&str, &str); 14] = [
    ("no-tenant", "no tenant, fresh connection: 0 rows, no error"),
    (
        "after-set-local",
        "no tenant after a SET LOCAL ended: 0 rows, no error",
    ),
    ("after-reset", "no tenant after RESET: 0 rows, no error"),
    ("a-only-a", "as tenant A: no row of another tenant"),
    ("a-reads-own", "as tenant A: A's rows are visible"),
    ("insert-b", "as A, INSERT a row of B: 42501"),
    ("move-a-to-b", "as A, UPDATE an A row to B: 42501"),
    ("update-b", "as A, UPDATE B's rows reaches none (counted)"),
    ("delete-b", "as A, DELETE B's rows reaches none (counted)"),
    (
        "update-unfiltered",
        "as A, UPDATE without WHERE reaches only A's rows (counted, nothing written)",
    ),
    (
        "delete-unfiltered",
        "as A, DELETE without WHERE reaches only A's rows (counted, nothing written)",
    ),
    ("insert-own", "as A, INSERT an A row: succeeds"),
    ("update-own", "as A, UPDATE an A row no one holds: 1 row"),
    (
        "delete-own",
        "as A, DELETE its own (probe-inserted) row: 1 row",
    ),
];

/// Everything the probes need to know.
pub struct ProbePlan<'a> {
    /// Tenant tables with the tenant column.
    pub tables: Vec<&'a Table>,
    /// Ground truth per table (same order).
    pub truth: Vec<Truth>,
    /// The tenant column.
    pub column: &'a str,
    /// The setting carrying the tenant.
    pub setting: &'a str,
    /// Tenant A and B as SQL literals.
    pub a: String,
    /// Tenant B as a SQL literal.
    pub b: String,
    /// The admin login, to name the session holding a lock a probe gave way to.
    pub admin: &'a Client,
    /// The probes' backend pid (not a blocker of itself).
    pub app_pid: i32,
}

/// Findings and the probe matrix.
#[derive(Debug, Default)]
pub struct ProbeOutcome {
    /// What failed.
    pub findings: Vec<Finding>,
    /// Every probe's result.
    pub checks: Vec<ProbeCheck>,
}

impl ProbeOutcome {
    pub(super) fn record(&mut self, table: &Table, probe: &'static str, passed: Option<bool>) {
        self.checks.push(ProbeCheck {
            table: table.display(),
            probe,
            passed,
        });
    }

    pub(super) fn fail(
        &mut self,
        table: &Table,
        probe: &'static str,
        severity: Severity,
        seen: String,
        fix: &str,
    ) {
        self.record(table, probe, Some(false));
        self.findings
            .push(Finding::new(table.display(), severity, probe, seen, fix));
    }
}

impl ProbeOutcome {
    /// A probe that did not finish: not run in the matrix, an inconclusive finding.
    pub(super) fn inconclusive(&mut self, table: &Table, probe: &'static str, seen: String) {
        self.record(table, probe, None);
        self.findings.push(Finding::new(
            table.display(),
            Severity::Inconclusive,
            probe,
            seen,
            locks::RETRY,
        ));
    }
}

/// An interrupted read becomes an inconclusive finding (and `None`); other results pass through.
async fn settle(
    plan: &ProbePlan<'_>,
    t: &Table,
    probe: &'static str,
    result: Option<Result<i64, PgError>>,
    out: &mut ProbeOutcome,
) -> Option<Result<i64, PgError>> {
    match result {
        Some(Err(e)) if locks::interrupted(&e) => {
            let why = locks::explain(plan.admin, plan.app_pid, t, &e).await;
            out.inconclusive(t, probe, why);
            None
        }
        other => other,
    }
}

pub(super) fn is_rls_denial(e: &PgError) -> bool {
    crate::pg::sqlstate(e) == Some("42501") && crate::pg::describe(e).contains("row-level security")
}

/// Run every probe on `app` (a fresh connection as the application role).
pub async fn run(app: &Client, plan: &ProbePlan<'_>) -> Result<ProbeOutcome, String> {
    let mut out = ProbeOutcome::default();
    let infra = |e: PgError| crate::pg::describe(&e);
    app.batch_execute(&locks::session_settings())
        .await
        .map_err(infra)?;
    let readable: Vec<(usize, &Table)> = plan
        .tables
        .iter()
        .enumerate()
        .filter(|(_, t)| t.privileges.select)
        .map(|(i, t)| (i, *t))
        .collect();
    let no_tenant: Vec<String> = readable
        .iter()
        .map(|(_, t)| visible_rows(&t.qualified()))
        .collect();
    let fix_policy = format!(
        "USING ({} = NULLIF(current_setting('{}', true), '')::uuid) on every policy",
        ident(plan.column),
        plan.setting
    );
    let set_a = format!("SELECT set_config('{}', {}, true)", plan.setting, plan.a);
    let stages: [(&'static str, Option<String>); 3] = [
        ("no-tenant", None),
        ("after-set-local", Some(format!("BEGIN; {set_a}; COMMIT"))),
        (
            "after-reset",
            Some(format!(
                "SET {s} = {a}; RESET {s}",
                s = plan.setting,
                a = plan.a
            )),
        ),
    ];
    for (probe, setup) in stages {
        if let Some(setup) = setup {
            app.batch_execute(&setup).await.map_err(infra)?;
        }
        let results = counts(app, &no_tenant, false).await?;
        for ((_, t), r) in readable.iter().zip(results) {
            match r {
                Err(e) if locks::interrupted(&e) => {
                    let why = locks::explain(plan.admin, plan.app_pid, t, &e).await;
                    out.inconclusive(t, probe, why)
                }
                Ok(0) => out.record(t, probe, Some(true)),
                Ok(n) => out.fail(
                    t,
                    probe,
                    Severity::FailOpen,
                    format!("without a tenant the role saw {n} row(s) ({probe})"),
                    &fix_policy,
                ),
                Err(e) => out.fail(
                    t,
                    probe,
                    Severity::FailNoisy,
                    format!(
                        "without a tenant the query failed ({probe}): {}",
                        crate::pg::describe(&e)
                    ),
                    &fix_policy,
                ),
            }
        }
    }
    app.batch_execute(&format!("BEGIN; {set_a}"))
        .await
        .map_err(infra)?;
    let result = as_tenant_a(app, plan, &readable, &mut out).await;
    app.batch_execute("ROLLBACK").await.map_err(infra)?;
    result?;
    Ok(out)
}

async fn as_tenant_a(
    app: &Client,
    plan: &ProbePlan<'_>,
    readable: &[(usize, &Table)],
    out: &mut ProbeOutcome,
) -> Result<(), String> {
    let col = ident(plan.column);
    let a = &plan.a;
    let mut exprs = Vec::new();
    for (_, t) in readable {
        let q = t.qualified();
        exprs.push(foreign_rows(&q, plan.column, a));
        exprs.push(format!(
            "(SELECT count(*) FROM (SELECT 1 FROM {q} WHERE {col} = {a} LIMIT 1) s)"
        ));
    }
    let results = counts(app, &exprs, true).await?;
    let mut own_visible = vec![false; plan.tables.len()];
    let mut results = results.into_iter();
    for (i, t) in readable {
        let foreign = settle(plan, t, "a-only-a", results.next(), out).await;
        let own = settle(plan, t, "a-reads-own", results.next(), out).await;
        match foreign {
            Some(Ok(0)) => out.record(t, "a-only-a", Some(true)),
            Some(Ok(n)) => out.fail(
                t,
                "a-only-a",
                Severity::FailOpen,
                format!("as tenant A the role saw {n} row(s) of other tenants"),
                "make every permissive policy test the tenant; see the policy findings",
            ),
            Some(Err(e)) => out.fail(
                t,
                "a-only-a",
                Severity::Broken,
                format!("as tenant A the query failed: {}", crate::pg::describe(&e)),
                "fix the policy expression",
            ),
            None => {}
        }
        match own {
            Some(Ok(n)) if n > 0 => {
                own_visible[*i] = true;
                out.record(t, "a-reads-own", Some(true));
            }
            Some(Ok(_)) if plan.truth[*i].a => out.fail(
                t,
                "a-reads-own",
                Severity::Broken,
                "tenant A has rows but the role sees none of them as tenant A".into(),
                "add a permissive policy for SELECT that lets the tenant see its rows",
            ),
            Some(Err(e)) => out.fail(
                t,
                "a-reads-own",
                Severity::Broken,
                format!("as tenant A the query failed: {}", crate::pg::describe(&e)),
                "fix the policy expression",
            ),
            Some(_) => out.record(t, "a-reads-own", None),
            None => {}
        }
    }
    for (i, t) in plan.tables.iter().enumerate() {
        super::writes::run(app, plan, t, &plan.truth[i], own_visible[i], out).await?;
    }
    Ok(())
}
