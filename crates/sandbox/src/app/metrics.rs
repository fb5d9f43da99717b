//! `/metrics` in the format of prometheus_flask_exporter (with `group_by='url_rule'`), written by
//! hand: `flask_http_request_duration_seconds` (histogram by method, status and Flask URL rule),
//! `flask_http_request_total` (by method and status) and `app_rls_denials_total` (by table), plus
//! the process collector's `process_start_time_seconds`, which tells a restart (counters back at
//! zero) from a quiet period.
//! Like the exporter, the metrics endpoint itself is not tracked.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{AppState, flask_rule};

/// The exporter's default histogram buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The tables whose denials are counted from the start (so the series exists at zero).
const DENIAL_TABLES: [&str; 1] = ["services"];

#[derive(Default)]
struct Histogram {
    /// Non-cumulative counts per bucket; the last slot is `+Inf`.
    buckets: [u64; BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Counts {
    durations: BTreeMap<(String, u16, &'static str), Histogram>,
    totals: BTreeMap<(String, u16), u64>,
    denials: BTreeMap<&'static str, u64>,
}

/// The app's metrics.
pub(super) struct Metrics {
    counts: Mutex<Counts>,
    /// When the app started, in seconds since the Unix epoch.
    started: f64,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut counts = Counts::default();
        for table in DENIAL_TABLES {
            counts.denials.insert(table, 0);
        }
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        Metrics {
            counts: Mutex::new(counts),
            started,
        }
    }
}

impl Metrics {
    fn record(&self, method: &str, status: u16, rule: &'static str, seconds: f64) {
        let Ok(mut counts) = self.counts.lock() else {
            return;
        };
        let slot = BUCKETS
            .iter()
            .position(|le| seconds <= *le)
            .unwrap_or(BUCKETS.len());
        let h = counts
            .durations
            .entry((method.to_string(), status, rule))
            .or_default();
        h.buckets[slot] += 1;
        h.sum += seconds;
        h.count += 1;
        *counts
            .totals
            .entry((method.to_string(), status))
            .or_default() += 1;
    }

    /// Count one row-level-security denial on `table`.
    pub(super) fn rls_denial(&self, table: &'static str) {
        if let Ok(mut counts) = self.counts.lock() {
            *counts.denials.entry(table).or_default() += 1;
        }
    }

    /// The exposition text.
    fn render(&self) -> String {
        let Ok(counts) = self.counts.lock() else {
            return String::new();
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n\
             # TYPE process_start_time_seconds gauge\n\
             process_start_time_seconds {}",
            float(self.started)
        );
        out.push_str(
            "# HELP flask_http_request_duration_seconds Flask HTTP request duration in seconds\n\
             # TYPE flask_http_request_duration_seconds histogram\n",
        );
        for ((method, status, rule), h) in &counts.durations {
            let labels = format!(
                "method=\"{}\",status=\"{status}\",url_rule=\"{}\"",
                escape(method),
                escape(rule)
            );
            let mut cumulative = 0;
            for (i, n) in h.buckets.iter().enumerate() {
                cumulative += n;
                let le = BUCKETS.get(i).map_or("+Inf".to_string(), |b| float(*b));
                let _ = writeln!(
                    out,
                    "flask_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}",
                    float(cumulative as f64)
                );
            }
            let _ = writeln!(
                out,
                "flask_http_request_duration_seconds_count{{{labels}}} {}",
                float(h.count as f64)
            );
            let _ = writeln!(
                out,
                "flask_http_request_duration_seconds_sum{{{labels}}} {}",
                float(h.sum)
            );
        }
        out.push_str(
            "# HELP flask_http_request_total Total number of HTTP requests\n\
             # TYPE flask_http_request_total counter\n",
        );
        for ((method, status), n) in &counts.totals {
            let _ = writeln!(
                out,
                "flask_http_request_total{{method=\"{}\",status=\"{status}\"}} {}",
                escape(method),
                float(*n as f64)
            );
        }
        out.push_str(
            "# HELP app_rls_denials_total Writes refused by row-level security (SQLSTATE 42501)\n\
             # TYPE app_rls_denials_total counter\n",
        );
        for (table, n) in &counts.denials {
            let _ = writeln!(
                out,
                "app_rls_denials_total{{table=\"{}\"}} {}",
                escape(table),
                float(*n as f64)
            );
        }
        out
    }
}

/// Python's float formatting, as the Prometheus client prints it (`1.0`, `0.005`).
fn float(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Middleware: time every request and count it under its Flask URL rule.
pub(super) async fn track(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let rule = flask_rule(
        req.extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str),
    );
    let response = next.run(req).await;
    let seconds = started.elapsed().as_secs_f64();
    state
        .metrics
        .record(&method, response.status().as_u16(), rule, seconds);
    response
}

/// `GET /metrics`.
pub(super) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_is_cumulative_and_python_formatted() {
        let m = Metrics::default();
        m.record("GET", 200, "/healthz", 0.002);
        m.record("GET", 200, "/healthz", 0.2);
        m.record("POST", 500, "None", 20.0);
        m.rls_denial("services");
        let text = m.render();
        for line in [
            "flask_http_request_duration_seconds_bucket{method=\"GET\",status=\"200\",url_rule=\"/healthz\",le=\"0.005\"} 1.0",
            "flask_http_request_duration_seconds_bucket{method=\"GET\",status=\"200\",url_rule=\"/healthz\",le=\"0.25\"} 2.0",
            "flask_http_request_duration_seconds_bucket{method=\"POST\",status=\"500\",url_rule=\"None\",le=\"10.0\"} 0.0",
            "flask_http_request_duration_seconds_bucket{method=\"POST\",status=\"500\",url_rule=\"None\",le=\"+Inf\"} 1.0",
            "flask_http_request_duration_seconds_count{method=\"GET\",status=\"200\",url_rule=\"/healthz\"} 2.0",
            "flask_http_request_total{method=\"GET\",status=\"200\"} 2.0",
            "app_rls_denials_total{table=\"services\"} 1.0",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
        let started: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("process_start_time_seconds "))
            .and_then(|v| v.parse().ok())
            .unwrap_or_default();
        assert!(started > 1.7e9, "{text}");
    }
}
