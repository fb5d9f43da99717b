//! The sub-tables of `[monitor]`: a panel's thresholds, `[monitor.sources]`, `[monitor.canary]`
//! and `[[monitor.queries]]`.

use std::time::Duration;

use crate::monitor::panel_kind::PanelKind;
use crate::runbook::Vars;

use super::reader::Reader;
use super::{CanaryConfig, ConfigError, Direction, QueryPanel, Sources, Thresholds, err};

pub(super) fn default_thresholds(kind: PanelKind, min_requests: u64) -> Thresholds {
    let (warn, crit, direction, min) = match kind {
        PanelKind::Http5xx => (Some(0.01), Some(0.05), Direction::Above, min_requests),
        PanelKind::Http4xx => (Some(0.05), Some(0.20), Direction::Above, min_requests),
        PanelKind::Catalog304 => (None, None, Direction::Below, min_requests),
        PanelKind::RlsDenials => (Some(1.0), Some(20.0), Direction::Above, 0),
        PanelKind::AddToInvoiceP95 => (Some(0.5), Some(1.0), Direction::Above, 5),
        PanelKind::IsolationCanary => (None, Some(1.0), Direction::Above, 0),
    };
    Thresholds {
        warn,
        crit,
        direction,
        min_requests: min,
    }
}

/// The keys of a `[monitor.panels.<id>]` table.
pub(super) const THRESHOLD_KEYS: &[&str] = &["warn", "crit", "direction", "min_requests"];

/// A panel's thresholds from `p`, which the caller has checked for unknown keys (a query panel's
/// table has more keys than [`THRESHOLD_KEYS`]).
pub(super) fn read_thresholds(
    p: &Reader<'_>,
    defaults: Thresholds,
) -> Result<Thresholds, ConfigError> {
    let direction = match p.string("direction")?.as_deref() {
        None => defaults.direction,
        Some("above") => Direction::Above,
        Some("below") => Direction::Below,
        Some(other) => {
            return Err(p.err(
                "direction",
                format!(
                    "{other:?} is not a direction; use \"above\" (higher is worse) or \"below\""
                ),
            ));
        }
    };
    let th = Thresholds {
        warn: p.number("warn")?.or(defaults.warn),
        crit: p.number("crit")?.or(defaults.crit),
        direction,
        min_requests: p.uint("min_requests")?.unwrap_or(defaults.min_requests),
    };
    if let (Some(w), Some(c)) = (th.warn, th.crit)
        && th.beyond(w, c)
        && w != c
    {
        return Err(p.err(
            "warn",
            format!("warn {w} is already beyond crit {c}; swap them or set direction"),
        ));
    }
    Ok(th)
}

pub(super) fn read_sources(
    t: &Reader<'_>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Sources, ConfigError> {
    let s = t.sub("sources")?;
    if let Some(s) = &s {
        s.only(&["prometheus_url", "metrics_url", "pg_log"])?;
    }
    // A variable: the runbook's (or the fleet target's) first, then the environment.
    let var = |name: &str| t.vars.get(name).map(str::to_string).or_else(|| env(name));
    let get = |key: &str, name: &str| -> Result<Option<String>, ConfigError> {
        let configured = match &s {
            Some(s) => s.string(key)?,
            None => None,
        };
        Ok(configured
            .or_else(|| var(name))
            .filter(|v| !v.trim().is_empty() && !v.contains("${")))
    };
    let metrics_url = get("metrics_url", "APP_METRICS_URL")?.or_else(|| {
        var("APP_URL")
            .filter(|u| !u.is_empty())
            .map(|u| format!("{}/metrics", u.trim_end_matches('/')))
    });
    Ok(Sources {
        prometheus_url: get("prometheus_url", "PROMETHEUS_URL")?,
        metrics_url,
        pg_log: get("pg_log", "PG_LOG")?,
        target: var("GOLIVE_TARGET").filter(|v| !v.trim().is_empty()),
    })
}

pub(super) fn read_canary(
    t: &Reader<'_>,
    vars: &Vars,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<CanaryConfig, ConfigError> {
    let c = t.sub("canary")?;
    let lookup = |var: &str| vars.get(var).map(str::to_string).or_else(|| env(var));
    let mut cfg = CanaryConfig {
        every: Duration::from_secs(60),
        app_url: lookup("APP_URL").filter(|v| !v.is_empty()),
        database_url: lookup("APP_DATABASE_URL").filter(|v| !v.is_empty()),
        tenants: Vec::new(),
        tenant_header: "X-Tenant-ID".into(),
        tables: [
            "customers",
            "vehicles",
            "appointments",
            "services",
            "service_operations",
        ]
        .map(String::from)
        .to_vec(),
    };
    let Some(c) = c else {
        return Ok(cfg);
    };
    c.only(&[
        "every",
        "app_url",
        "database",
        "tenants",
        "tenant_header",
        "tables",
    ])?;
    if let Some(every) = c.duration("every")? {
        cfg.every = every;
    }
    if let Some(url) = c.string("app_url")? {
        cfg.app_url = Some(url).filter(|u| !u.is_empty());
    }
    if let Some(var) = c.string("database")? {
        cfg.database_url = Some(lookup(&var).filter(|v| !v.is_empty()).ok_or_else(|| {
            c.err(
                "database",
                format!("variable {var} is not set; export {var}=postgres://app_user:…@host/db"),
            )
        })?);
    }
    cfg.tenants = c.str_list("tenants")?;
    if !cfg.tenants.is_empty() && cfg.tenants.len() != 2 {
        return Err(c.err("tenants", "give exactly two tenants to compare, or none"));
    }
    if let Some(h) = c.string("tenant_header")? {
        cfg.tenant_header = h;
    }
    let tables = c.str_list("tables")?;
    if !tables.is_empty() {
        cfg.tables = tables;
    }
    Ok(cfg)
}

pub(super) fn read_queries(t: &Reader<'_>, vars: &Vars) -> Result<Vec<QueryPanel>, ConfigError> {
    let Some(value) = t.table.get("queries") else {
        return Ok(Vec::new());
    };
    let toml::Value::Array(items) = value else {
        return Err(err("queries", "write it as [[monitor.queries]] tables"));
    };
    let mut out: Vec<QueryPanel> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let toml::Value::Table(table) = item else {
            return Err(err(&format!("queries[{i}]"), "must be a table"));
        };
        let q = Reader {
            table,
            prefix: format!("queries[{i}]."),
            vars,
        };
        q.only(&[
            "id",
            "database",
            "sql",
            "warn",
            "crit",
            "direction",
            "min_requests",
        ])?;
        let id = q
            .string("id")?
            .ok_or_else(|| q.err("id", "missing; add id = \"waiting_locks\""))?;
        if PanelKind::from_id(&id).is_some() || out.iter().any(|o| o.id == id) {
            return Err(q.err(
                "id",
                format!("{id:?} is already a panel; choose another id"),
            ));
        }
        let var = q.string("database")?.ok_or_else(|| {
            q.err(
                "database",
                "missing; name the variable, e.g. \"DATABASE_URL\"",
            )
        })?;
        let database_url = vars
            .get(&var)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| q.err("database", format!("variable {var} is not set; export it")))?
            .to_string();
        let sql = q.string("sql")?.ok_or_else(|| {
            q.err(
                "sql",
                "missing; a read-only query whose first column is the value",
            )
        })?;
        let thresholds = read_thresholds(
            &q,
            Thresholds {
                warn: None,
                crit: None,
                direction: Direction::Above,
                min_requests: 0,
            },
        )?;
        out.push(QueryPanel {
            id,
            database_url,
            sql,
            thresholds,
        });
    }
    Ok(out)
}
