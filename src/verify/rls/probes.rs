//! The empirical half of the audit: queries run as the application role, inside transactions
//! that are always rolled back. Nothing is changed, whatever the policies allow.

use tokio_postgres::Client;

use super::catalog::{Table, ident};
use super::queries::{Truth, counts, foreign_rows, guarded, visible_rows};
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
pub const PROBES: [(&str, &str); 13] = [
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
    ("update-b", "as A, UPDATE B's rows: 0 rows"),
    ("delete-b", "as A, DELETE B's rows: 0 rows"),
    (
        "update-unfiltered",
        "as A, UPDATE without WHERE: only A's rows",
    ),
    (
        "delete-unfiltered",
        "as A, DELETE without WHERE: only A's rows",
    ),
    ("insert-own", "as A, INSERT an A row: succeeds"),
    ("update-own", "as A, UPDATE an A row: 1 row"),
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
    fn record(&mut self, table: &Table, probe: &'static str, passed: Option<bool>) {
        self.checks.push(ProbeCheck {
            table: table.display(),
            probe,
            passed,
        });
    }

    fn fail(
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

fn is_rls_denial(e: &PgError) -> bool {
    crate::pg::sqlstate(e) == Some("42501") && crate::pg::describe(e).contains("row-level security")
}

/// Run every probe on `app` (a fresh connection as the application role).
pub async fn run(app: &Client, plan: &ProbePlan<'_>) -> Result<ProbeOutcome, String> {
    let mut out = ProbeOutcome::default();
    let infra = |e: PgError| crate::pg::describe(&e);
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
    app.batch_execute(&format!(
        "BEGIN; SET LOCAL statement_timeout = '10s'; SET LOCAL lock_timeout = '2s'; {set_a}"
    ))
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
        let (foreign, own) = (results.next(), results.next());
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
            _ => out.record(t, "a-reads-own", None),
        }
    }
    for (i, t) in plan.tables.iter().enumerate() {
        writes(app, plan, t, &plan.truth[i], own_visible[i], out).await?;
    }
    Ok(())
}

/// An `INSERT … SELECT … FROM json_populate_record(…)` of `sample` with the tenant set to `tenant`.
fn insert_from_sample(table: &Table, column: &str, tenant: &str) -> String {
    let cols: Vec<String> = table.insert_columns.iter().map(|c| ident(c)).collect();
    let select: Vec<String> = table
        .insert_columns
        .iter()
        .map(|c| {
            if c == column {
                tenant.to_string()
            } else {
                format!("r.{}", ident(c))
            }
        })
        .collect();
    format!(
        "INSERT INTO {q} ({}) SELECT {} FROM json_populate_record(NULL::{q}, $1::text::json) r",
        cols.join(", "),
        select.join(", "),
        q = table.qualified()
    )
}

/// The write probes on one table, each in a savepoint of the tenant-A transaction.
async fn writes(
    app: &Client,
    plan: &ProbePlan<'_>,
    t: &Table,
    truth: &Truth,
    own_visible: bool,
    out: &mut ProbeOutcome,
) -> Result<(), String> {
    let q = t.qualified();
    let col = ident(plan.column);
    let (a, b) = (&plan.a, &plan.b);
    let p = t.privileges;
    let with_check_fix = format!(
        "WITH CHECK ({col} = NULLIF(current_setting('{}', true), '')::uuid) on every permissive policy",
        plan.setting
    );
    let describe = |e: &PgError| crate::pg::describe(e);
    let sample = truth
        .sample
        .as_ref()
        .map(|s| serde_json::Value::Object(s.clone()).to_string());

    // INSERT a row of B, without RETURNING (RETURNING would fail on the SELECT policy and mask it).
    match (&sample, p.insert) {
        (Some(row), true) => {
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [row];
            let sql = insert_from_sample(t, plan.column, b);
            match guarded(app, true, || app.execute(&sql, &params)).await? {
                Err(e) if is_rls_denial(&e) => out.record(t, "insert-b", Some(true)),
                Ok(n) => out.fail(t, "insert-b", Severity::CrossTenantWrite,
                    format!("as tenant A, an INSERT of a tenant B row succeeded ({n} row)"), &with_check_fix),
                Err(e) => out.fail(t, "insert-b", Severity::Warning,
                    format!("as tenant A, the INSERT of a tenant B row failed otherwise than with an RLS denial, \
                             so the probe is inconclusive: {}", describe(&e)),
                    "check the table's constraints; the static policy checks still apply"),
            }
            let sql = insert_from_sample(t, plan.column, a);
            match guarded(app, true, || app.execute(&sql, &params)).await? {
                Ok(_) => out.record(t, "insert-own", Some(true)),
                Err(e) if is_rls_denial(&e) => out.fail(
                    t,
                    "insert-own",
                    Severity::Broken,
                    format!(
                        "as tenant A, an INSERT of its own row was refused: {}",
                        describe(&e)
                    ),
                    &with_check_fix,
                ),
                Err(e) => out.fail(
                    t,
                    "insert-own",
                    Severity::Warning,
                    format!(
                        "as tenant A, the INSERT of a copy of its own row failed, so the probe is \
                             inconclusive: {}",
                        describe(&e)
                    ),
                    "check the table's unique constraints; the static policy checks still apply",
                ),
            }
        }
        _ => {
            out.record(t, "insert-b", None);
            out.record(t, "insert-own", None);
        }
    }
    if p.update && own_visible {
        // The attacker's form: a WHERE that reads no column, so PostgreSQL does not also check
        // the new row against the SELECT policies and only WITH CHECK stands in the way. The
        // volatile counter limits it to the first visible row.
        let first_row = "set_config('golive.probe_row', (coalesce(nullif(current_setting(\
                         'golive.probe_row', true), ''), '0')::int + 1)::text, true) = '1'";
        let sql = format!("UPDATE {q} SET {col} = {b} WHERE {first_row}");
        match guarded(app, true, || app.execute(&sql, &[])).await? {
            Err(e) if is_rls_denial(&e) => out.record(t, "move-a-to-b", Some(true)),
            Ok(0) => out.record(t, "move-a-to-b", None),
            Ok(n) => out.fail(t, "move-a-to-b", Severity::CrossTenantWrite,
                format!("as tenant A, an UPDATE moving {n} row to tenant B succeeded"), &with_check_fix),
            Err(e) => out.fail(t, "move-a-to-b", Severity::Warning,
                format!("as tenant A, moving a row to tenant B failed otherwise than with an RLS denial: {}",
                        describe(&e)),
                "check the table's constraints; the static policy checks still apply"),
        }
        let one_a = format!("ctid = (SELECT ctid FROM {q} WHERE {col} = {a} LIMIT 1)");
        let sql = format!("UPDATE {q} SET {col} = {col} WHERE {one_a}");
        match guarded(app, true, || app.execute(&sql, &[])).await? {
            Ok(1) => out.record(t, "update-own", Some(true)),
            Ok(n) => out.fail(
                t,
                "update-own",
                Severity::Broken,
                format!("as tenant A, an UPDATE of one of its own rows touched {n} rows"),
                "add a permissive policy for UPDATE that lets the tenant update its rows",
            ),
            Err(e) => out.fail(
                t,
                "update-own",
                Severity::Broken,
                format!(
                    "as tenant A, an UPDATE of its own row failed: {}",
                    describe(&e)
                ),
                &with_check_fix,
            ),
        }
    } else {
        out.record(t, "move-a-to-b", None);
        out.record(t, "update-own", None);
    }
    for (probe, granted, sql) in [
        (
            "update-unfiltered",
            p.update,
            // A constant on the right: `SET col = col` would read the column, and the SELECT
            // policies would apply again.
            format!("UPDATE {q} SET {col} = {a}"),
        ),
        ("delete-unfiltered", p.delete, format!("DELETE FROM {q}")),
    ] {
        if granted && truth.b {
            unfiltered(app, t, probe, &sql, out).await?;
        } else {
            out.record(t, probe, None);
        }
    }
    let b_rows = format!("WHERE {col} = {b}");
    let foreign_writes = [
        (
            "update-b",
            p.update,
            format!("UPDATE {q} SET {col} = {col} {b_rows}"),
        ),
        ("delete-b", p.delete, format!("DELETE FROM {q} {b_rows}")),
    ];
    for (probe, granted, sql) in foreign_writes {
        if !granted || !truth.b {
            out.record(t, probe, None);
            continue;
        }
        match guarded(app, true, || app.execute(&sql, &[])).await? {
            Ok(0) => out.record(t, probe, Some(true)),
            Ok(n) => out.fail(t, probe, Severity::CrossTenantWrite,
                format!("as tenant A, {probe} touched {n} row(s) of tenant B"),
                "make the USING of every permissive UPDATE/DELETE policy test the tenant"),
            Err(e) if crate::pg::sqlstate(&e) == Some("23503") => out.fail(t, probe, Severity::CrossTenantWrite,
                format!("as tenant A, {probe} matched rows of tenant B (it failed only on a foreign key): {}",
                        describe(&e)),
                "make the USING of every permissive UPDATE/DELETE policy test the tenant"),
            Err(e) => out.fail(t, probe, Severity::Warning,
                format!("as tenant A, {probe} failed, so the probe is inconclusive: {}", describe(&e)),
                "check the policy expressions"),
        }
    }
    Ok(())
}

/// An UPDATE or DELETE that reads no column (no WHERE; a constant SET) is checked against its
/// command's policies' USING alone: the SELECT policies apply only when a column is read. A loose
/// UPDATE- or DELETE-only policy lets such a statement reach every tenant's rows even when every
/// probe with a WHERE sees nothing. Rolled back like every probe.
async fn unfiltered(
    app: &Client,
    t: &Table,
    probe: &'static str,
    sql: &str,
    out: &mut ProbeOutcome,
) -> Result<(), String> {
    let q = t.qualified();
    let fix = "make the USING of every permissive UPDATE/DELETE policy test the tenant";
    let count = format!("SELECT count(*) FROM {q}");
    let touched = guarded(app, true, || app.execute(sql, &[])).await?;
    let visible = guarded(app, true, || app.query_one(&count, &[]))
        .await?
        .map(|row| u64::try_from(row.get::<_, i64>(0)).unwrap_or(0));
    match (touched, visible) {
        (Ok(n), Ok(own)) if n <= own => out.record(t, probe, Some(true)),
        (Ok(n), Ok(own)) => out.fail(
            t,
            probe,
            Severity::CrossTenantWrite,
            format!(
                "as tenant A, `{sql}` touched {n} rows, but A sees only {own}: it reached other \
                 tenants' rows"
            ),
            fix,
        ),
        // Rows of A referenced elsewhere: the statement cannot finish, so it proves nothing.
        (Err(e), _) if crate::pg::sqlstate(&e) == Some("23503") => out.record(t, probe, None),
        (Err(e), _) if is_rls_denial(&e) => out.fail(
            t,
            probe,
            Severity::Warning,
            format!(
                "as tenant A, `{sql}` reached other tenants' rows and was stopped only by WITH \
                 CHECK: {}",
                crate::pg::describe(&e)
            ),
            fix,
        ),
        (Err(e), _) | (_, Err(e)) => out.fail(
            t,
            probe,
            Severity::Warning,
            format!(
                "as tenant A, `{sql}` failed, so the probe is inconclusive: {}",
                crate::pg::describe(&e)
            ),
            "check the policy expressions",
        ),
    }
    Ok(())
}
