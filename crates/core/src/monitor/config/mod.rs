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
//! target_label = "target"       # a fleet target's series in a shared Prometheus (GOLIVE_TARGET)
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

mod load;
mod reader;
mod sections;

use super::panel_kind::PanelKind;
use std::time::Duration;

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
    /// The label naming a fleet target in a Prometheus the targets share; with
    /// [`Sources::target`] set, only that target's series are read.
    pub target_label: String,
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
            target_label: "target".into(),
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
            target_label: "target".into(),
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
    /// The fleet target this watch judges (`GOLIVE_TARGET`); Prometheus then selects only the
    /// series whose [`Mapping::target_label`] is this name.
    pub target: Option<String>,
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
    /// Thresholds of each built-in panel, in [`PanelKind::ALL`] order.
    pub panels: Vec<(PanelKind, Thresholds)>,
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
            .map(|(kind, t)| (kind.id(), t))
            .chain(self.queries.iter().map(|q| (q.id.as_str(), &q.thresholds)))
            .find(|(p, _)| *p == id)
            .map(|(_, t)| t)
    }
}

/// A source a watch starts, by the name it reports under ([`super::SourceStatus::name`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInUse {
    /// `prometheus`, `scrape`, `pg_log`, `canary`, `sql:<id>`.
    pub name: String,
    /// For people: which setting points at it, e.g. `APP_METRICS_URL http://app/metrics`.
    pub label: String,
    /// The URL or path it reads (redacted), which its errors begin with.
    pub target: Option<String>,
}

impl MonitorConfig {
    /// The sources a watch of this configuration starts (the traffic source, the PostgreSQL
    /// log, the canary, each SQL panel), each of which must answer at least once for a verdict.
    pub fn sources_in_use(&self) -> Vec<SourceInUse> {
        let redact = |u: &str| crate::redact::url_passwords(u).into_owned();
        let mut out = Vec::new();
        let mut add = |name: &str, setting: &str, target: Option<String>| {
            out.push(SourceInUse {
                name: name.to_string(),
                label: match &target {
                    Some(t) => format!("{setting} {t}"),
                    None => setting.to_string(),
                },
                target,
            })
        };
        if let Some(url) = &self.sources.prometheus_url {
            add("prometheus", "PROMETHEUS_URL", Some(redact(url)));
        } else if let Some(url) = &self.sources.metrics_url {
            add("scrape", "APP_METRICS_URL", Some(redact(url)));
        }
        if let Some(path) = &self.sources.pg_log {
            add("pg_log", "PG_LOG", Some(path.clone()));
        }
        if super::canary::Canary::configured(&self.canary) {
            add("canary", "the isolation canary", None);
        }
        for q in &self.queries {
            add(
                &format!("sql:{}", q.id),
                &format!("SQL panel `{}`", q.id),
                None,
            );
        }
        out
    }
}
