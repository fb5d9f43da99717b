//! The runbook's `[monitor]` table: sources, windows, panels and their thresholds.
//!
//! ```toml
//! [monitor]
//! refresh = "5s"                 # refresh during the first `fine_for`
//! refresh_later = "15s"          # refresh after that
//! fine_for = "10m"
//! windows = ["1m", "5m", "15m"]  # the first during `fine_for`, then the second; keys cycle all
//! breach_count = 3               # crit for this many refreshes in a row fails the step
//! min_requests = 20              # fewer requests in the window is NO DATA
//! metrics = "flask"              # or "otel" (http.server.request.duration)
//! catalog_route = "/api/admin/service-operations"
//! add_to_invoice_route = "/api/invoices/<int:invoice_id>/items"
//! timeout = "5s"                 # per request or query to a source
//!
//! [monitor.sources]              # all optional; defaults follow the dashboard contract
//! prometheus_url = "${PROMETHEUS_URL}"
//! metrics_url = "${APP_METRICS_URL}"
//! pg_log = "${PG_LOG}"
//!
//! [monitor.mapping]              # override metric and label names of the chosen `metrics`
//! route_label = "endpoint"
//!
//! [monitor.panels.http_5xx_ratio]
//! warn = 0.01
//! crit = 0.05
//!
//! [monitor.canary]
//! every = "1m"
//! app_url = "${APP_URL}"
//! database = "APP_DATABASE_URL"  # a variable holding a login as the application role
//! tenants = ["${TENANT_A}", "${TENANT_B}"]
//!
//! [[monitor.queries]]            # read-only SQL panels: the first column of the first row
//! id = "waiting_locks"
//! database = "DATABASE_URL"
//! sql = "SELECT count(*) FROM pg_locks WHERE NOT granted"
//! warn = 1
//! crit = 10
//! ```

use std::time::Duration;

use crate::runbook::Vars;

/// A problem in `[monitor]`, naming the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[monitor] {key}: {message}")]
pub struct ConfigError {
    /// The dotted key, e.g. `panels.http_5xx_ratio.warn`.
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

fn err(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.to_string(),
        message: message.into(),
    }
}

/// The panels every dashboard has, in display order.
pub const PANEL_IDS: &[&str] = &[
    "http_5xx_ratio",
    "http_4xx_ratio",
    "catalog_304_ratio",
    "rls_denials",
    "add_to_invoice_p95_seconds",
    "isolation_canary",
];

/// Which way is worse for a panel's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Higher values are worse (error ratios, latency, denials).
    Above,
    /// Lower values are worse (a hit rate).
    Below,
}

/// Thresholds of one panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// Warn at this value (or beyond).
    pub warn: Option<f64>,
    /// Critical at this value (or beyond); critical for `breach_count` refreshes fails the step.
    pub crit: Option<f64>,
    /// Which way is worse.
    pub direction: Direction,
    /// Fewer requests than this in the window is NO DATA.
    pub min_requests: u64,
}

impl Thresholds {
    /// Whether `value` is at or beyond `limit` in the bad direction.
    pub fn beyond(&self, value: f64, limit: f64) -> bool {
        match self.direction {
            Direction::Above => value >= limit,
            Direction::Below => value <= limit,
        }
    }
}

/// Metric and label names of the instrumented application.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// The request-duration histogram's base name (`_count` and `_bucket` are appended).
    pub histogram: String,
    /// The route label.
    pub route_label: String,
    /// The status label.
    pub status_label: String,
    /// The method label.
    pub method_label: String,
    /// The application's RLS-denial counter.
    pub rls_denials: String,
    /// Its table label.
    pub table_label: String,
}

impl Mapping {
    /// prometheus_flask_exporter with `group_by='url_rule'`.
    pub fn flask() -> Self {
        Mapping {
            histogram: "flask_http_request_duration_seconds".into(),
            route_label: "url_rule".into(),
            status_label: "status".into(),
            method_label: "method".into(),
            rls_denials: "app_rls_denials_total".into(),
            table_label: "table".into(),
        }
    }

    /// OpenTelemetry's `http.server.request.duration` as exported to Prometheus.
    pub fn otel() -> Self {
        Mapping {
            histogram: "http_server_request_duration_seconds".into(),
            route_label: "http_route".into(),
            status_label: "http_response_status_code".into(),
            method_label: "http_request_method".into(),
            rls_denials: "app_rls_denials_total".into(),
            table_label: "table".into(),
        }
    }
}

/// Where the numbers come from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sources {
    /// The Prometheus server's base URL; when set, traffic comes from its HTTP API.
    pub prometheus_url: Option<String>,
    /// The application's `/metrics`, scraped directly when there is no Prometheus.
    pub metrics_url: Option<String>,
    /// A PostgreSQL log file (or the directory of the logging collector).
    pub pg_log: Option<String>,
}

/// The isolation canary.
#[derive(Debug, Clone, PartialEq)]
pub struct CanaryConfig {
    /// How often the probes run (they also run at the start).
    pub every: Duration,
    /// The application's base URL, for the API probe.
    pub app_url: Option<String>,
    /// A connection string logging in as the application role, for the database probes.
    pub database_url: Option<String>,
    /// Two tenants to compare.
    pub tenants: Vec<String>,
    /// The tenant header.
    pub tenant_header: String,
    /// Tenant tables probed in the database.
    pub tables: Vec<String>,
}

/// One read-only SQL panel.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPanel {
    /// Panel id.
    pub id: String,
    /// The connection string (resolved from the variable named in `database`).
    pub database_url: String,
    /// The query; its first row's first column is the value.
    pub sql: String,
    /// Thresholds.
    pub thresholds: Thresholds,
}

/// The whole validated `[monitor]` configuration, variables interpolated.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorConfig {
    /// Refresh during the first `fine_for`.
    pub refresh: Duration,
    /// Refresh after that.
    pub refresh_later: Duration,
    /// How long the fine window and refresh apply.
    pub fine_for: Duration,
    /// The windows, shortest first.
    pub windows: Vec<Duration>,
    /// Consecutive critical refreshes that fail the step.
    pub breach_count: u32,
    /// The catalog route (as the route label spells it).
    pub catalog_route: String,
    /// The add-to-invoice route (as the route label spells it).
    pub add_to_invoice_route: String,
    /// Timeout of one request or query to a source.
    pub timeout: Duration,
    /// Metric names.
    pub mapping: Mapping,
    /// Sources.
    pub sources: Sources,
    /// Thresholds by panel id, in [`PANEL_IDS`] order.
    pub panels: Vec<(String, Thresholds)>,
    /// The canary, when it has something to probe.
    pub canary: CanaryConfig,
    /// Extra SQL panels.
    pub queries: Vec<QueryPanel>,
}

impl MonitorConfig {
    /// Thresholds of a panel.
    pub fn thresholds(&self, id: &str) -> Option<&Thresholds> {
        self.panels
            .iter()
            .map(|(p, t)| (p, t))
            .chain(self.queries.iter().map(|q| (&q.id, &q.thresholds)))
            .find(|(p, _)| *p == id)
            .map(|(_, t)| t)
    }

    /// Read `[monitor]` (absent means all defaults). `${VAR}`s are interpolated with `vars`;
    /// sources not set in the table come from `env` (`PROMETHEUS_URL`, `APP_METRICS_URL` or
    /// `$APP_URL/metrics`, `PG_LOG`).
    pub fn from_table(
        table: Option<&toml::Table>,
        vars: &Vars,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let empty = toml::Table::new();
        let t = Reader {
            table: table.unwrap_or(&empty),
            prefix: String::new(),
            vars,
        };
        t.only(&[
            "refresh",
            "refresh_later",
            "fine_for",
            "windows",
            "breach_count",
            "min_requests",
            "metrics",
            "catalog_route",
            "add_to_invoice_route",
            "timeout",
            "sources",
            "mapping",
            "panels",
            "canary",
            "queries",
        ])?;
        let refresh = t.duration("refresh")?.unwrap_or(Duration::from_secs(5));
        let refresh_later = t
            .duration("refresh_later")?
            .unwrap_or(refresh.max(Duration::from_secs(15)));
        let fine_for = t.duration("fine_for")?.unwrap_or(Duration::from_secs(600));
        let mut windows = Vec::new();
        for (i, w) in t.str_list("windows")?.into_iter().enumerate() {
            let d = humantime::parse_duration(&w)
                .map_err(|e| err(&format!("windows[{i}]"), format!("{e}; write e.g. \"1m\"")))?;
            windows.push(d);
        }
        if windows.is_empty() {
            windows = vec![
                Duration::from_secs(60),
                Duration::from_secs(300),
                Duration::from_secs(900),
            ];
        }
        windows.sort();
        windows.dedup();
        if windows[0] < refresh {
            return Err(err(
                "windows",
                "the shortest window must be at least one refresh long",
            ));
        }
        let breach_count = t.uint("breach_count")?.unwrap_or(3).max(1);
        let min_requests = t.uint("min_requests")?.unwrap_or(20);
        let mut mapping = match t.string("metrics")?.as_deref() {
            None | Some("flask") => Mapping::flask(),
            Some("otel") => Mapping::otel(),
            Some(other) => {
                return Err(err(
                    "metrics",
                    format!("unknown metrics naming {other:?}; use \"flask\" or \"otel\""),
                ));
            }
        };
        let otel = mapping == Mapping::otel();
        if let Some(m) = t.sub("mapping")? {
            m.only(&[
                "histogram",
                "route_label",
                "status_label",
                "method_label",
                "rls_denials",
                "table_label",
            ])?;
            for (key, slot) in [
                ("histogram", &mut mapping.histogram),
                ("route_label", &mut mapping.route_label),
                ("status_label", &mut mapping.status_label),
                ("method_label", &mut mapping.method_label),
                ("rls_denials", &mut mapping.rls_denials),
                ("table_label", &mut mapping.table_label),
            ] {
                if let Some(v) = m.string(key)? {
                    *slot = v;
                }
            }
        }
        let catalog_route = t
            .string("catalog_route")?
            .unwrap_or_else(|| "/api/admin/service-operations".into());
        let add_to_invoice_route = t.string("add_to_invoice_route")?.unwrap_or_else(|| {
            if otel {
                "/api/invoices/{invoice_id}/items".into()
            } else {
                "/api/invoices/<int:invoice_id>/items".into()
            }
        });
        let timeout = t.duration("timeout")?.unwrap_or(Duration::from_secs(5));

        let sources = read_sources(&t, env)?;
        let mut panels = Vec::new();
        let panel_table = t.sub("panels")?;
        if let Some(p) = &panel_table {
            for key in p.table.keys() {
                if !PANEL_IDS.contains(&key.as_str()) {
                    return Err(err(
                        &format!("panels.{key}"),
                        format!("unknown panel; the panels are {}", PANEL_IDS.join(", ")),
                    ));
                }
            }
        }
        for id in PANEL_IDS {
            let defaults = default_thresholds(id, min_requests);
            let th = match panel_table
                .as_ref()
                .map(|p| p.sub(id))
                .transpose()?
                .flatten()
            {
                Some(p) => read_thresholds(&p, defaults)?,
                None => defaults,
            };
            panels.push(((*id).to_string(), th));
        }
        let canary = read_canary(&t, vars, env)?;
        let queries = read_queries(&t, vars)?;
        Ok(MonitorConfig {
            refresh,
            refresh_later,
            fine_for,
            windows,
            breach_count: u32::try_from(breach_count).unwrap_or(u32::MAX),
            catalog_route,
            add_to_invoice_route,
            timeout,
            mapping,
            sources,
            panels,
            canary,
            queries,
        })
    }
}

fn default_thresholds(id: &str, min_requests: u64) -> Thresholds {
    let (warn, crit, direction, min) = match id {
        "http_5xx_ratio" => (Some(0.01), Some(0.05), Direction::Above, min_requests),
        "http_4xx_ratio" => (Some(0.05), Some(0.20), Direction::Above, min_requests),
        "catalog_304_ratio" => (None, None, Direction::Below, min_requests),
        "rls_denials" => (Some(1.0), Some(20.0), Direction::Above, 0),
        "add_to_invoice_p95_seconds" => (Some(0.5), Some(1.0), Direction::Above, 5),
        _ => (None, Some(1.0), Direction::Above, 0),
    };
    Thresholds {
        warn,
        crit,
        direction,
        min_requests: min,
    }
}

fn read_thresholds(p: &Reader<'_>, defaults: Thresholds) -> Result<Thresholds, ConfigError> {
    p.only(&["warn", "crit", "direction", "min_requests"])?;
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

fn read_sources(
    t: &Reader<'_>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Sources, ConfigError> {
    let s = t.sub("sources")?;
    if let Some(s) = &s {
        s.only(&["prometheus_url", "metrics_url", "pg_log"])?;
    }
    let get = |key: &str, var: &str| -> Result<Option<String>, ConfigError> {
        let configured = match &s {
            Some(s) => s.string(key)?,
            None => None,
        };
        Ok(configured
            .or_else(|| t.vars.get(var).map(str::to_string))
            .or_else(|| env(var))
            .filter(|v| !v.trim().is_empty() && !v.contains("${")))
    };
    let metrics_url = get("metrics_url", "APP_METRICS_URL")?.or_else(|| {
        t.vars
            .get("APP_URL")
            .map(str::to_string)
            .or_else(|| env("APP_URL"))
            .filter(|u| !u.is_empty())
            .map(|u| format!("{}/metrics", u.trim_end_matches('/')))
    });
    Ok(Sources {
        prometheus_url: get("prometheus_url", "PROMETHEUS_URL")?,
        metrics_url,
        pg_log: get("pg_log", "PG_LOG")?,
    })
}

fn read_canary(
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

fn read_queries(t: &Reader<'_>, vars: &Vars) -> Result<Vec<QueryPanel>, ConfigError> {
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
        if PANEL_IDS.contains(&id.as_str()) || out.iter().any(|o| o.id == id) {
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

/// Typed access to one table of `[monitor]`, errors naming the dotted key.
struct Reader<'a> {
    table: &'a toml::Table,
    prefix: String,
    vars: &'a Vars,
}

impl<'a> Reader<'a> {
    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn err(&self, key: &str, message: impl Into<String>) -> ConfigError {
        err(&self.key(key), message)
    }

    fn only(&self, allowed: &[&str]) -> Result<(), ConfigError> {
        match self.table.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(self.err(
                k,
                format!("unknown key; the keys here are {}", allowed.join(", ")),
            )),
            None => Ok(()),
        }
    }

    fn string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(self.vars.interpolate(s))),
            Some(_) => Err(self.err(key, "must be a string")),
        }
    }

    fn str_list(&self, key: &str) -> Result<Vec<String>, ConfigError> {
        match self.table.get(key) {
            None => Ok(Vec::new()),
            Some(toml::Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    toml::Value::String(s) => Ok(self.vars.interpolate(s)),
                    _ => Err(self.err(key, "must be a list of strings")),
                })
                .collect(),
            Some(_) => Err(self.err(key, "must be a list of strings")),
        }
    }

    fn duration(&self, key: &str) -> Result<Option<Duration>, ConfigError> {
        let Some(text) = self.string(key)? else {
            return Ok(None);
        };
        let d = humantime::parse_duration(text.trim())
            .map_err(|e| self.err(key, format!("{e}; write a duration like \"5s\" or \"10m\"")))?;
        if d.is_zero() {
            return Err(self.err(key, "must be longer than zero"));
        }
        Ok(Some(d))
    }

    fn uint(&self, key: &str) -> Result<Option<u64>, ConfigError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(toml::Value::Integer(n)) if *n >= 0 => Ok(Some(n.unsigned_abs())),
            Some(_) => Err(self.err(key, "must be a whole number, 0 or more")),
        }
    }

    fn number(&self, key: &str) -> Result<Option<f64>, ConfigError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(toml::Value::Integer(n)) => Ok(Some(*n as f64)),
            Some(toml::Value::Float(f)) if f.is_finite() => Ok(Some(*f)),
            Some(_) => Err(self.err(key, "must be a number")),
        }
    }

    fn sub(&self, key: &str) -> Result<Option<Reader<'a>>, ConfigError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(toml::Value::Table(table)) => Ok(Some(Reader {
                table,
                prefix: format!("{}{key}.", self.prefix),
                vars: self.vars,
            })),
            Some(_) => Err(self.err(key, format!("must be a table: [monitor.{key}]"))),
        }
    }
}
