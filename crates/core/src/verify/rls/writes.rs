//! The write probes on one table, as tenant A, each in a savepoint of the tenant-A transaction
//! that is rolled back. Gentle on a big production table:
//!
//! - the probes that ask "which rows can this UPDATE/DELETE reach?" write nothing at all: their
//!   WHERE counts the rows the policies admit (a volatile `set_config` counter, evaluated after
//!   the policies' quals) and is never true, so no row is locked, changed or left dead;
//! - the probes that must really write touch one row: a copy of one of A's rows that the probe
//!   inserted itself, or one of A's rows that no other session holds (`SKIP LOCKED`);
//! - every statement runs under a short lock and statement timeout ([`super::locks`]); a probe
//!   that is cut short is inconclusive, and the table's remaining write probes are not run.

use std::future::Future;

use tokio_postgres::Client;

use super::catalog::{Table, ident};
use super::locks;
use super::probes::{ProbeOutcome, ProbePlan, is_rls_denial};
use super::queries::{Truth, guarded};
use crate::verify::Severity;

type PgError = tokio_postgres::Error;

/// A per-row counter that is never NULL: `WHERE <counter> IS NULL` counts the rows that reach it
/// and admits none. It reads no column, so an UPDATE or DELETE using it is checked against its
/// own command's policies alone (the SELECT policies apply only when a column is read).
const COUNT_ROW: &str = "set_config('golive.probe_n', \
     (current_setting('golive.probe_n')::bigint + 1)::text, true)";

/// The probes of one table, stopped at the first interruption.
struct TableProbes<'p, 'a> {
    app: &'p Client,
    plan: &'p ProbePlan<'a>,
    t: &'p Table,
    out: &'p mut ProbeOutcome,
    stopped: bool,
}

impl TableProbes<'_, '_> {
    /// Run `f` in a savepoint. `None` when it was interrupted (recorded as inconclusive) or the
    /// table's probes were already stopped by an earlier interruption.
    async fn attempt<T, Fut>(
        &mut self,
        probe: &'static str,
        f: impl FnOnce() -> Fut,
    ) -> Result<Option<Result<T, PgError>>, String>
    where
        Fut: Future<Output = Result<T, PgError>>,
    {
        if self.stopped {
            self.out.record(self.t, probe, None);
            return Ok(None);
        }
        match guarded(self.app, true, f).await? {
            Err(e) if locks::interrupted(&e) => {
                let why = locks::explain(self.plan.admin, self.plan.app_pid, self.t, &e).await;
                self.out.inconclusive(
                    self.t,
                    probe,
                    format!("{why}; the table's remaining write probes were not run"),
                );
                self.stopped = true;
                Ok(None)
            }
            other => Ok(Some(other)),
        }
    }

    fn fail(&mut self, probe: &'static str, severity: Severity, seen: String, fix: &str) {
        self.out.fail(self.t, probe, severity, seen, fix);
    }

    /// A probe that failed otherwise than the policies decide (`what` happened): it could not
    /// conclude, a warning.
    fn failed_otherwise(&mut self, probe: &'static str, what: &str, e: &PgError, fix: &str) {
        let seen = format!(
            "{what}, so the probe is inconclusive: {}",
            crate::pg::describe(e)
        );
        self.fail(probe, Severity::Warning, seen, fix);
    }

    fn pass(&mut self, probe: &'static str, passed: Option<bool>) {
        self.out.record(self.t, probe, passed);
    }
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

/// Count the rows `statement` (an UPDATE or DELETE whose WHERE ends in `{COUNT_ROW} IS NULL`)
/// reaches, and the rows A sees, in one statement (one snapshot). Writes nothing.
async fn reach(app: &Client, statement: &str, q: &str) -> Result<(i64, i64), PgError> {
    app.batch_execute("SELECT set_config('golive.probe_n', '0', true)")
        .await?;
    let own: i64 = app
        .query_one(
            &format!("WITH probe AS ({statement}) SELECT count(*) FROM {q}"),
            &[],
        )
        .await?
        .try_get(0)?;
    let reached: String = app
        .query_one("SELECT current_setting('golive.probe_n')", &[])
        .await?
        .try_get(0)?;
    Ok((reached.parse().unwrap_or(0), own))
}

/// The write probes on one table.
pub async fn run(
    app: &Client,
    plan: &ProbePlan<'_>,
    t: &Table,
    truth: &Truth,
    own_visible: bool,
    out: &mut ProbeOutcome,
) -> Result<(), String> {
    let mut tp = TableProbes {
        app,
        plan,
        t,
        out,
        stopped: false,
    };
    inserts(&mut tp, truth, own_visible).await?;
    updates(&mut tp, own_visible).await?;
    reaches(&mut tp, truth).await
}

async fn inserts(
    tp: &mut TableProbes<'_, '_>,
    truth: &Truth,
    own_visible: bool,
) -> Result<(), String> {
    let (plan, t) = (tp.plan, tp.t);
    let p = t.privileges;
    let Some(row) = truth
        .sample
        .as_ref()
        .map(|s| serde_json::Value::Object(s.clone()).to_string())
        .filter(|_| p.insert)
    else {
        for probe in ["insert-b", "insert-own", "delete-own"] {
            tp.pass(probe, None);
        }
        return Ok(());
    };
    insert_other(tp, &row).await?;
    let own = insert_from_sample(t, plan.column, &plan.a);
    insert_own(tp, &own, &row).await?;
    if p.delete && own_visible {
        delete_own(tp, &own, &row).await
    } else {
        tp.pass("delete-own", None);
        Ok(())
    }
}

/// `insert-b`: as tenant A, INSERT a row of tenant B (a copy of a sample row), without
/// RETURNING (RETURNING would fail on the SELECT policy and mask it).
async fn insert_other(tp: &mut TableProbes<'_, '_>, row: &str) -> Result<(), String> {
    let (app, plan, t) = (tp.app, tp.plan, tp.t);
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&row];
    let sql = insert_from_sample(t, plan.column, &plan.b);
    match tp
        .attempt("insert-b", || app.execute(&sql, &params))
        .await?
    {
        None => {}
        Some(Err(e)) if is_rls_denial(&e) => tp.pass("insert-b", Some(true)),
        Some(Ok(n)) => tp.fail(
            "insert-b",
            Severity::CrossTenantWrite,
            format!("as tenant A, an INSERT of a tenant B row succeeded ({n} row)"),
            &with_check_fix(plan),
        ),
        Some(Err(e)) => tp.failed_otherwise(
            "insert-b",
            "as tenant A, the INSERT of a tenant B row failed otherwise than with an RLS denial",
            &e,
            "check the table's constraints; the static policy checks still apply",
        ),
    }
    Ok(())
}

/// `insert-own`: as tenant A, INSERT a copy of one of its own rows (`sql`).
async fn insert_own(tp: &mut TableProbes<'_, '_>, sql: &str, row: &str) -> Result<(), String> {
    let (app, plan) = (tp.app, tp.plan);
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&row];
    match tp
        .attempt("insert-own", || app.execute(sql, &params))
        .await?
    {
        None => {}
        Some(Ok(_)) => tp.pass("insert-own", Some(true)),
        Some(Err(e)) if is_rls_denial(&e) => tp.fail(
            "insert-own",
            Severity::Broken,
            format!(
                "as tenant A, an INSERT of its own row was refused: {}",
                crate::pg::describe(&e)
            ),
            &with_check_fix(plan),
        ),
        Some(Err(e)) => tp.failed_otherwise(
            "insert-own",
            "as tenant A, the INSERT of a copy of its own row failed",
            &e,
            "check the table's unique constraints; the static policy checks still apply",
        ),
    }
    Ok(())
}

/// `delete-own`: as tenant A, DELETE one of its rows: the copy the probe inserts (`sql` with
/// RETURNING), so no other row is touched and no other session's row is waited for.
async fn delete_own(tp: &mut TableProbes<'_, '_>, sql: &str, row: &str) -> Result<(), String> {
    let app = tp.app;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&row];
    let insert = format!("{sql} RETURNING ctid::text");
    let delete = format!(
        "DELETE FROM {} WHERE ctid = $1::text::tid",
        tp.t.qualified()
    );
    let probe = || async {
        let ctid: String = app.query_one(&insert, &params).await?.try_get(0)?;
        app.execute(&delete, &[&ctid]).await
    };
    match tp.attempt("delete-own", probe).await? {
        None => {}
        Some(Ok(1)) => tp.pass("delete-own", Some(true)),
        Some(Ok(n)) => tp.fail(
            "delete-own",
            Severity::Broken,
            format!("as tenant A, a DELETE of its own row touched {n} rows"),
            "add a permissive policy for DELETE that lets the tenant delete its rows",
        ),
        Some(Err(e)) if is_rls_denial(&e) => tp.pass("delete-own", None),
        Some(Err(e)) => tp.failed_otherwise(
            "delete-own",
            "as tenant A, inserting and deleting a copy of its own row failed",
            &e,
            "check the table's constraints and triggers; the static policy checks still apply",
        ),
    }
    Ok(())
}

fn with_check_fix(plan: &ProbePlan<'_>) -> String {
    format!(
        "WITH CHECK ({} = NULLIF(current_setting('{}', true), '')::uuid) on every permissive policy",
        ident(plan.column),
        plan.setting
    )
}

async fn updates(tp: &mut TableProbes<'_, '_>, own_visible: bool) -> Result<(), String> {
    let (app, plan, t) = (tp.app, tp.plan, tp.t);
    if !(t.privileges.update && own_visible) {
        tp.pass("move-a-to-b", None);
        tp.pass("update-own", None);
        return Ok(());
    }
    let q = t.qualified();
    let col = ident(plan.column);
    let describe = |e: &PgError| crate::pg::describe(e);
    // The attacker's form: a WHERE that reads no column, so PostgreSQL does not also check
    // the new row against the SELECT policies and only WITH CHECK stands in the way. The
    // volatile counter limits it to the first visible row; WITH CHECK refuses it before the
    // row is locked.
    let sql = format!("UPDATE {q} SET {col} = {} WHERE {COUNT_ROW} = '1'", plan.b);
    let moved = tp
        .attempt("move-a-to-b", || async {
            app.batch_execute("SELECT set_config('golive.probe_n', '0', true)")
                .await?;
            app.execute(&sql, &[]).await
        })
        .await?;
    match moved {
        None => {}
        Some(Err(e)) if is_rls_denial(&e) => tp.pass("move-a-to-b", Some(true)),
        Some(Ok(0)) => tp.pass("move-a-to-b", None),
        Some(Ok(n)) => tp.fail(
            "move-a-to-b",
            Severity::CrossTenantWrite,
            format!("as tenant A, an UPDATE moving {n} row to tenant B succeeded"),
            &with_check_fix(plan),
        ),
        Some(Err(e)) => tp.fail(
            "move-a-to-b",
            Severity::Warning,
            format!(
                "as tenant A, moving a row to tenant B failed otherwise than with an RLS denial: {}",
                describe(&e)
            ),
            "check the table's constraints; the static policy checks still apply",
        ),
    }
    let one_a = format!(
        "ctid = (SELECT ctid FROM {q} WHERE {col} = {} LIMIT 1 FOR UPDATE SKIP LOCKED)",
        plan.a
    );
    let sql = format!("UPDATE {q} SET {col} = {col} WHERE {one_a}");
    // When every row of A is held by other sessions, SKIP LOCKED finds none: ask again and wait
    // (briefly) for one, so that a held row is inconclusive and never a false "broken".
    let waiting = sql.replace(" FOR UPDATE SKIP LOCKED", "");
    let probe = || async {
        match app.execute(&sql, &[]).await? {
            0 => app.execute(&waiting, &[]).await,
            n => Ok(n),
        }
    };
    match tp.attempt("update-own", probe).await? {
        None => {}
        Some(Ok(1)) => tp.pass("update-own", Some(true)),
        Some(Ok(n)) => tp.fail(
            "update-own",
            Severity::Broken,
            format!("as tenant A, an UPDATE of one of its own rows touched {n} rows"),
            "add a permissive policy for UPDATE that lets the tenant update its rows",
        ),
        Some(Err(e)) => tp.fail(
            "update-own",
            Severity::Broken,
            format!(
                "as tenant A, an UPDATE of its own row failed: {}",
                describe(&e)
            ),
            &with_check_fix(plan),
        ),
    }
    Ok(())
}

/// Which rows can A's UPDATE and DELETE reach: without a WHERE that reads a column (checked
/// against the command's own policies alone) and with `WHERE tenant = B`. Counted, not written.
async fn reaches(tp: &mut TableProbes<'_, '_>, truth: &Truth) -> Result<(), String> {
    let (app, plan, t) = (tp.app, tp.plan, tp.t);
    let p = t.privileges;
    let q = t.qualified();
    let col = ident(plan.column);
    let fix = "make the USING of every permissive UPDATE/DELETE policy test the tenant";
    let never = format!("{COUNT_ROW} IS NULL");
    let b_rows = format!("{col} = {} AND {never}", plan.b);
    let probes = [
        // A constant on the right: `SET col = col` would read the column, and the SELECT
        // policies would apply again.
        (
            "update-unfiltered",
            p.update,
            format!("UPDATE {q} SET {col} = {} WHERE {never}", plan.a),
        ),
        (
            "delete-unfiltered",
            p.delete,
            format!("DELETE FROM {q} WHERE {never}"),
        ),
        (
            "update-b",
            p.update,
            format!("UPDATE {q} SET {col} = {col} WHERE {b_rows}"),
        ),
        (
            "delete-b",
            p.delete,
            format!("DELETE FROM {q} WHERE {b_rows}"),
        ),
    ];
    for (probe, granted, statement) in probes {
        if !granted || !truth.b {
            tp.pass(probe, None);
            continue;
        }
        let unfiltered = probe.ends_with("unfiltered");
        match tp.attempt(probe, || reach(app, &statement, &q)).await? {
            None => {}
            Some(Ok((n, own))) if (unfiltered && n <= own) || (!unfiltered && n == 0) => {
                tp.pass(probe, Some(true))
            }
            Some(Ok((n, own))) => {
                let seen = if unfiltered {
                    format!(
                        "as tenant A, {probe} reached {n} rows, but A sees only {own}: it reaches \
                         other tenants' rows (counted; nothing was written)"
                    )
                } else {
                    format!(
                        "as tenant A, {probe} reached {n} row(s) of tenant B (counted; nothing was written)"
                    )
                };
                tp.fail(probe, Severity::CrossTenantWrite, seen, fix)
            }
            Some(Err(e)) => tp.failed_otherwise(
                probe,
                &format!("as tenant A, {probe} failed"),
                &e,
                "check the policy expressions",
            ),
        }
    }
    Ok(())
}
