//! The empirical half of the LEAKPROOF check: as tenant A, filter each tenant table with each
//! user-defined LEAKPROOF function the role can call, and listen to what the server says (notices,
//! errors). If tenant B's values come back, the planner ran the function on B's rows before the
//! policy filtered them. Read-only, in a transaction that is rolled back.

use tokio_postgres::Client;

use super::catalog::{Table, ident};
use super::leaks_catalog::Leakproof;
use crate::pg::Session;
use crate::verify::{Finding, Severity};

/// What the probe needs.
pub struct LeakPlan<'a> {
    /// The admin login (B's values, the ground truth).
    pub admin: &'a Client,
    /// The tenant tables.
    pub tables: &'a [Table],
    /// The tenant column.
    pub column: &'a str,
    /// `SELECT set_config(<setting>, <A>, true)`.
    pub set_a: String,
    /// Tenant B as a SQL literal.
    pub b: &'a str,
}

/// Up to 100 of B's values in `column` of `table`, as text.
async fn b_values(plan: &LeakPlan<'_>, table: &Table, column: &str) -> Vec<String> {
    let sql = format!(
        "SELECT DISTINCT {c}::text FROM {q} WHERE {t} = {b} AND {c} IS NOT NULL LIMIT 100",
        c = ident(column),
        q = table.qualified(),
        t = ident(plan.column),
        b = plan.b
    );
    match plan.admin.query(&sql, &[]).await {
        Ok(rows) => rows
            .iter()
            .filter_map(|r| r.try_get::<_, String>(0).ok())
            .filter(|v| v.len() >= 3)
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Run `f(column)` as a filter on `table` as tenant A; everything the server said meanwhile.
async fn heard(
    app: &mut Session,
    plan: &LeakPlan<'_>,
    f: &Leakproof,
    q: &str,
    column: &str,
) -> String {
    while app.notices.try_recv().is_ok() {}
    let setup = format!(
        "BEGIN; {}; SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off",
        plan.set_a
    );
    let mut said = Vec::new();
    if let Err(e) = app.client.batch_execute(&setup).await {
        said.push(crate::pg::describe(&e));
    }
    let sql = format!(
        "SELECT count(*) FROM {q} WHERE {}({}) IS NOT NULL",
        f.call,
        ident(column)
    );
    if let Err(e) = app.client.query_one(&sql, &[]).await {
        said.push(crate::pg::describe(&e));
    }
    let _ = app.client.batch_execute("ROLLBACK").await;
    while let Ok(notice) = app.notices.try_recv() {
        said.push(notice);
    }
    said.join("\n")
}

/// Probe every LEAKPROOF function on every tenant column of its argument type.
pub async fn probe(
    app: &mut Session,
    plan: &LeakPlan<'_>,
    functions: &[Leakproof],
) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in functions {
        for (table, column) in &f.columns {
            let Some(t) = plan.tables.iter().find(|t| &t.display() == table) else {
                continue;
            };
            let values = b_values(plan, t, column).await;
            if values.is_empty() {
                continue;
            }
            let said = heard(app, plan, f, &t.qualified(), column).await;
            let leaked = values.iter().filter(|v| said.contains(v.as_str())).count();
            if leaked > 0 {
                out.push(Finding::new(
                    table,
                    Severity::FailOpen,
                    "leakproof-probe",
                    format!(
                        "as tenant A, `WHERE {}({column})` made the server show {leaked} of tenant B's \
                         {column} values: the LEAKPROOF function ran on B's rows before the policy",
                        f.call
                    ),
                    format!("ALTER FUNCTION {} NOT LEAKPROOF;", f.name),
                ));
            }
        }
    }
    out
}
