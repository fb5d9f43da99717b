//! The isolation canary: cheap empirical probes of tenant isolation, re-run during the watch.
//!
//! - no tenant gets no data from the API (the catalog route without any tenant);
//! - no tenant gets no rows in the database, logged in as the application role, also on a
//!   connection that just served a tenant (a pooled connection);
//! - tenant A never sees tenant B's rows (database; and the API when its items carry
//!   `tenant_id`).
//!
//! These are golive's own probes; `golive verify` runs the full audit.

use crate::pg::{self, Session};

use super::config::CanaryConfig;
use super::poller::Source;
use super::sample::{Sample, now};

/// Runs the probes.
pub struct Canary {
    cfg: CanaryConfig,
    catalog_route: String,
    client: reqwest::Client,
    session: Option<Session>,
}

impl Canary {
    /// Probes as `cfg` says, against the catalog route for the API.
    pub fn new(cfg: CanaryConfig, catalog_route: &str, client: reqwest::Client) -> Self {
        Canary {
            cfg,
            catalog_route: catalog_route.to_string(),
            client,
            session: None,
        }
    }

    /// Whether anything can be probed.
    pub fn configured(cfg: &CanaryConfig) -> bool {
        cfg.app_url.is_some() || cfg.database_url.is_some()
    }

    /// One round: how many probes ran and what failed. An error when a probe could not run.
    pub async fn round(&mut self) -> Result<(u32, Vec<String>), String> {
        let mut probes = 0;
        let mut failures = Vec::new();
        if let Some(app) = self.cfg.app_url.clone() {
            self.api_probes(&app, &mut probes, &mut failures).await?;
        }
        if self.cfg.database_url.is_some() {
            self.db_probes(&mut probes, &mut failures).await?;
        }
        Ok((probes, failures))
    }

    async fn api_probes(
        &self,
        app: &str,
        probes: &mut u32,
        failures: &mut Vec<String>,
    ) -> Result<(), String> {
        let url = format!("{}{}", app.trim_end_matches('/'), self.catalog_route);
        let shown = crate::redact::url_passwords(&url).into_owned();
        let get = |tenant: Option<&str>| {
            let mut req = self.client.get(&url);
            if let Some(t) = tenant {
                req = req.header(&self.cfg.tenant_header, t);
            }
            req.send()
        };
        let resp = get(None)
            .await
            .map_err(|e| format!("{shown}: {}", crate::httpc::describe(&e)))?;
        *probes += 1;
        if resp.status().is_success() {
            let body = resp
                .text()
                .await
                .map_err(|e| format!("{shown}: {}", crate::httpc::describe(&e)))?;
            let n = items(&body).map_or(0, |i| i.len());
            if n > 0 {
                failures.push(format!(
                    "API without a tenant returned {n} items from {shown}"
                ));
            }
        }
        if let [a, b] = self.cfg.tenants.as_slice() {
            for (me, other) in [(a, b), (b, a)] {
                let resp = get(Some(me))
                    .await
                    .map_err(|e| format!("{shown}: {}", crate::httpc::describe(&e)))?;
                let body = resp
                    .text()
                    .await
                    .map_err(|e| format!("{shown}: {}", crate::httpc::describe(&e)))?;
                *probes += 1;
                let leaked = items(&body)
                    .unwrap_or_default()
                    .iter()
                    .filter(|i| i.get("tenant_id").and_then(|t| t.as_str()) == Some(other.as_str()))
                    .count();
                if leaked > 0 {
                    failures.push(format!(
                        "API as tenant {me} returned {leaked} items of tenant {other}"
                    ));
                }
            }
        }
        Ok(())
    }

    async fn db_probes(
        &mut self,
        probes: &mut u32,
        failures: &mut Vec<String>,
    ) -> Result<(), String> {
        if self.session.as_ref().is_none_or(|s| s.client.is_closed()) {
            let url = self.cfg.database_url.clone().unwrap_or_default();
            let s = pg::connect(&url, "golive-canary")
                .await
                .map_err(|e| crate::redact::url_passwords(&e.to_string()).into_owned())?;
            self.session = Some(s);
        }
        let tenants = self.cfg.tenants.clone();
        let tables = self.cfg.tables.clone();
        let Some(session) = self.session.as_mut() else {
            return Ok(());
        };
        for table in &tables {
            let t = quote_table(table);
            for (me, other) in tenant_pairs(&tenants) {
                let sql = format!("SELECT count(*) FROM {t} WHERE tenant_id::text <> $1");
                let n = count(session, Some(me), &sql, &[&me]).await?;
                *probes += 1;
                if n > 0 {
                    failures.push(format!(
                        "as tenant {me}, {n} rows of other tenants are visible in {table} (e.g. {other})"
                    ));
                }
            }
            // No tenant: on the same connection, right after a tenant's transaction.
            let sql = format!("SELECT count(*) FROM {t}");
            match count(session, None, &sql, &[]).await {
                Ok(0) => {}
                Ok(n) => {
                    failures.push(format!("without a tenant, {n} rows of {table} are visible"))
                }
                Err(e) if e.contains("22P02") => failures.push(format!(
                    "without a tenant, reading {table} fails instead of returning no rows ({e}); \
                     the policy needs NULLIF(current_setting('app.tenant_id', true), '')"
                )),
                Err(e) => return Err(e),
            }
            *probes += 1;
        }
        Ok(())
    }
}

impl Source for Canary {
    fn name(&self) -> String {
        "canary".into()
    }

    async fn poll(&mut self) -> Result<Vec<Sample>, String> {
        let (probes, failures) = self.round().await?;
        Ok(vec![Sample::Canary {
            at: now(),
            probes,
            failures,
        }])
    }
}

fn tenant_pairs(tenants: &[String]) -> Vec<(&str, &str)> {
    match tenants {
        [a, b] => vec![(a.as_str(), b.as_str()), (b.as_str(), a.as_str())],
        _ => Vec::new(),
    }
}

/// `count(*)` in a read-only transaction, with the tenant set for it when given.
async fn count(
    session: &mut Session,
    tenant: Option<&str>,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<i64, String> {
    let tx = session
        .client
        .transaction()
        .await
        .map_err(|e| pg::describe(&e))?;
    tx.batch_execute("SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = 5000")
        .await
        .map_err(|e| pg::describe(&e))?;
    if let Some(t) = tenant {
        tx.execute("SELECT set_config('app.tenant_id', $1, true)", &[&t])
            .await
            .map_err(|e| pg::describe(&e))?;
    }
    let row = tx
        .query_one(sql, params)
        .await
        .map_err(|e| pg::describe(&e))?;
    let n: i64 = row.try_get(0).map_err(|e| pg::describe(&e))?;
    tx.rollback().await.map_err(|e| pg::describe(&e))?;
    Ok(n)
}

fn quote_table(name: &str) -> String {
    name.split('.')
        .map(|part| format!("\"{}\"", part.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

/// The items of a catalog answer: a root array (v2) or `{"service_operations": […]}` (v1).
fn items(body: &str) -> Option<Vec<serde_json::Value>> {
    match serde_json::from_str::<serde_json::Value>(body).ok()? {
        serde_json::Value::Array(a) => Some(a),
        serde_json::Value::Object(o) => match o.get("service_operations") {
            Some(serde_json::Value::Array(a)) => Some(a.clone()),
            _ => None,
        },
        _ => None,
    }
}
