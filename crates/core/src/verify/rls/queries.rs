//! Queries shared by the audit's probes and the dashboard's canary: ground truth from the admin
//! login, tenant picking, and batched per-table counts with per-table fallback.

use std::future::Future;

use serde::Deserialize;
use tokio_postgres::Client;

use super::catalog::{Table, ident};

type PgError = tokio_postgres::Error;

/// What the admin login sees of a table, the ground truth for the probes.
#[derive(Debug, Clone, Deserialize)]
pub struct Truth {
    /// Tenant A has rows.
    pub a: bool,
    /// Tenant B has rows.
    pub b: bool,
    /// One of A's rows as JSON (the template of the insert probes).
    pub sample: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A tenant id, validated as a UUID so that it can be written as a SQL literal.
pub fn uuid_literal(tenant: &str) -> Option<String> {
    let hex_groups = [8, 4, 4, 4, 12];
    let parts: Vec<&str> = tenant.split('-').collect();
    let ok = parts.len() == 5
        && parts
            .iter()
            .zip(hex_groups)
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()));
    ok.then(|| format!("'{}'", tenant.to_lowercase()))
}

/// Whether a setting name is safe to write into SQL (`app.tenant_id`: letters, digits, `_`, `.`).
pub fn valid_setting(name: &str) -> bool {
    !name.is_empty()
        && name.contains('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Run `f`, inside a savepoint rolled back afterwards when `in_tx`. The outer error means the
/// connection itself failed; the inner one is the probe's own result.
pub(super) async fn guarded<T, Fut>(
    client: &Client,
    in_tx: bool,
    f: impl FnOnce() -> Fut,
) -> Result<Result<T, PgError>, String>
where
    Fut: Future<Output = Result<T, PgError>>,
{
    let infra = |e: PgError| crate::pg::describe(&e);
    if in_tx {
        client
            .batch_execute("SAVEPOINT golive_probe")
            .await
            .map_err(infra)?;
    }
    let result = f().await;
    if in_tx {
        client
            .batch_execute("ROLLBACK TO SAVEPOINT golive_probe")
            .await
            .map_err(infra)?;
    }
    Ok(result)
}

/// Evaluate one `bigint` expression per table in one round trip; when that fails, one by one, so
/// each error is attributed to its table.
pub async fn counts(
    client: &Client,
    exprs: &[String],
    in_tx: bool,
) -> Result<Vec<Result<i64, PgError>>, String> {
    if exprs.is_empty() {
        return Ok(Vec::new());
    }
    let all = format!("SELECT ARRAY[{}]::bigint[]", exprs.join(", "));
    let batch = guarded(client, in_tx, || client.query_one(&all, &[])).await?;
    if let Ok(row) = batch
        && let Ok(values) = row.try_get::<_, Vec<i64>>(0)
        && values.len() == exprs.len()
    {
        return Ok(values.into_iter().map(Ok).collect());
    }
    let mut out = Vec::with_capacity(exprs.len());
    for e in exprs {
        let sql = format!("SELECT ({e})::bigint");
        let one = guarded(client, in_tx, || client.query_one(&sql, &[])).await?;
        out.push(one.and_then(|row| row.try_get::<_, i64>(0)));
    }
    Ok(out)
}

/// `count of visible rows, up to 1000` for a table: the no-tenant probe.
pub fn visible_rows(table: &str) -> String {
    format!("(SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1000) s)")
}

/// `count of rows not of tenant literal`, the cross-tenant read probe.
pub fn foreign_rows(table: &str, column: &str, tenant: &str) -> String {
    format!(
        "(SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {} IS DISTINCT FROM {tenant} LIMIT 1000) s)",
        ident(column)
    )
}

/// Two tenants found in the data: those present in the most tables.
pub async fn pick_tenants(
    admin: &Client,
    tables: &[&Table],
    column: &str,
) -> Result<Vec<String>, String> {
    let parts: Vec<String> = tables
        .iter()
        .map(|t| {
            format!(
                "(SELECT json_agg(DISTINCT v) FROM (SELECT {}::text AS v FROM {} LIMIT 10000) s)",
                ident(column),
                t.qualified()
            )
        })
        .collect();
    let per_table: Vec<Option<Vec<String>>> = json_array(admin, &parts).await?;
    let mut seen: Vec<(String, usize)> = Vec::new();
    for id in per_table.into_iter().flatten().flatten() {
        match seen.iter_mut().find(|(s, _)| *s == id) {
            Some((_, n)) => *n += 1,
            None => seen.push((id, 1)),
        }
    }
    seen.sort_by(|(a, n), (b, m)| m.cmp(n).then(a.cmp(b)));
    Ok(seen.into_iter().take(2).map(|(id, _)| id).collect())
}

/// What the admin login sees for tenants `a` and `b` (literals), one round trip for all tables.
pub async fn truth(
    admin: &Client,
    tables: &[&Table],
    column: &str,
    a: &str,
    b: &str,
) -> Result<Vec<Truth>, String> {
    let col = ident(column);
    let parts: Vec<String> = tables
        .iter()
        .map(|t| {
            let q = t.qualified();
            format!(
                "json_build_object('a', EXISTS (SELECT 1 FROM {q} WHERE {col} = {a}), \
                 'b', EXISTS (SELECT 1 FROM {q} WHERE {col} = {b}), \
                 'sample', (SELECT row_to_json(x) FROM {q} x WHERE x.{col} = {a} LIMIT 1))"
            )
        })
        .collect();
    json_array(admin, &parts).await
}

/// The JSON expressions `parts` as one array, in one round trip, read as `T`.
async fn json_array<T: serde::de::DeserializeOwned>(
    admin: &Client,
    parts: &[String],
) -> Result<T, String> {
    let sql = format!("SELECT json_build_array({})::text", parts.join(", "));
    let row = admin
        .query_one(&sql, &[])
        .await
        .map_err(|e| crate::pg::describe(&e))?;
    let text: String = row.try_get(0).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}
