//! The dashboard snapshot: what one refresh shows, in the `golive monitor --json` shape
//! (`{"at", "window_seconds", "panels": [{"id", "state", "value", "by_route"?, …}]}`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::verdict::{Verdict, VerdictKind};

/// A panel's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Too little data to judge: never a pass, never a fail.
    Nodata,
    /// Within thresholds.
    Ok,
    /// At or beyond `warn`.
    Warn,
    /// At or beyond `crit`.
    Crit,
}

impl State {
    /// The word shown and printed.
    pub fn label(self) -> &'static str {
        match self {
            State::Nodata => "nodata",
            State::Ok => "ok",
            State::Warn => "warn",
            State::Crit => "crit",
        }
    }
}

/// One panel at one refresh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Panel {
    /// `http_5xx_ratio`, …, or a SQL panel's id.
    pub id: String,
    /// ok, warn, crit or nodata.
    pub state: State,
    /// The value; `null` when there is no data.
    pub value: Option<f64>,
    /// Per route (ratio panels); `null` for a route with too few requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_route: Option<BTreeMap<String, Option<f64>>>,
    /// Requests per second behind each route (ratio panels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rps_by_route: Option<BTreeMap<String, f64>>,
    /// The same number before the watch began (from the runbook's baseline step when it ran,
    /// else everything the app counted before the watch's first reading).
    #[serde(default)]
    pub baseline: Option<f64>,
    /// Over which window the baseline was measured, e.g. `1m before flags-on`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_over: Option<String>,
    /// Warn threshold.
    #[serde(default)]
    pub warn: Option<f64>,
    /// Critical threshold.
    #[serde(default)]
    pub crit: Option<f64>,
    /// Requests (or events) in the window behind the value.
    #[serde(default)]
    pub requests: Option<f64>,
    /// Requests (or events) per second.
    #[serde(default)]
    pub rate: Option<f64>,
    /// Seconds since the panel's source last answered, when that is more than two refreshes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_seconds: Option<u64>,
    /// One line of context: the latest offending table, failed probes, why there is no data,
    /// the route over its threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The route whose own ratio set the state, when it is worse than the all-routes ratio's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worst_route: Option<String>,
}

/// A source's health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceStatus {
    /// `prometheus`, `scrape`, `pg_log`, `sql:<id>`, `canary`.
    pub name: String,
    /// Whether its last attempt succeeded.
    pub ok: bool,
    /// Seconds since it last answered (`null`: never).
    pub age_seconds: Option<u64>,
    /// The last error, redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The panels over another window than the current one (the view switches between them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowPanels {
    /// The window.
    pub window_seconds: u64,
    /// The panels over it.
    pub panels: Vec<Panel>,
}

/// One refresh of the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// RFC 3339, UTC.
    pub at: String,
    /// The current window.
    pub window_seconds: u64,
    /// The panels over it.
    pub panels: Vec<Panel>,
    /// Seconds since the watch began.
    #[serde(default)]
    pub elapsed_seconds: u64,
    /// The sources and how fresh they are.
    #[serde(default)]
    pub sources: Vec<SourceStatus>,
    /// The other windows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_windows: Vec<WindowPanels>,
    /// On the final snapshot of a watch only: its verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<VerdictKind>,
    /// With the verdict: why it is not `passed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

impl Snapshot {
    /// This snapshot as the final one of a watch, carrying `verdict`.
    pub fn with_verdict(mut self, verdict: &Verdict) -> Self {
        self.verdict = Some(verdict.kind());
        self.reasons = verdict.reasons();
        self
    }

    /// A panel by id.
    pub fn panel(&self, id: &str) -> Option<&Panel> {
        self.panels.iter().find(|p| p.id == id)
    }

    /// The panels over `window_seconds` (the current ones when it is not among the others).
    pub fn panels_for(&self, window_seconds: u64) -> &[Panel] {
        self.other_windows
            .iter()
            .find(|w| w.window_seconds == window_seconds)
            .map_or(&self.panels, |w| &w.panels)
    }

    /// The windows available, shortest first.
    pub fn windows(&self) -> Vec<u64> {
        let mut w: Vec<u64> = std::iter::once(self.window_seconds)
            .chain(self.other_windows.iter().map(|w| w.window_seconds))
            .collect();
        w.sort_unstable();
        w
    }
}

/// Format a unix time as RFC 3339 (seconds, UTC).
pub fn rfc3339(at: f64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(at.max(0.0));
    humantime::format_rfc3339_seconds(t).to_string()
}
