//! What sources send to the dashboard: owned messages, one per reading.

/// One time series reading: a metric name, its labels (sorted by name) and the value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Metric name, e.g. `flask_http_request_duration_seconds_count`.
    pub name: String,
    /// Labels, sorted by name.
    pub labels: Vec<(String, String)>,
    /// The value (counters are cumulative).
    pub value: f64,
}

impl Series {
    /// A label's value.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Seconds since the Unix epoch.
pub type UnixSeconds = f64;

/// The current time as [`UnixSeconds`].
pub fn now() -> UnixSeconds {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A message from a source.
#[derive(Debug, Clone, PartialEq)]
pub enum Sample {
    /// Cumulative counters read at `at` (a scrape, or a Prometheus instant query).
    Counters {
        /// Which source read them.
        source: &'static str,
        /// When they were read.
        at: UnixSeconds,
        /// The readings.
        series: Vec<Series>,
    },
    /// A `42501 … row-level security` line in the PostgreSQL log.
    Denial {
        /// The log line's time (or when it was read).
        at: UnixSeconds,
        /// The table named in the message.
        table: Option<String>,
    },
    /// A read-only SQL panel's value.
    Query {
        /// The panel id.
        id: String,
        /// When it was read.
        at: UnixSeconds,
        /// The value.
        value: f64,
    },
    /// One round of isolation probes.
    Canary {
        /// When they ran.
        at: UnixSeconds,
        /// How many probes ran.
        probes: u32,
        /// What failed, one line each.
        failures: Vec<String>,
    },
    /// A source answered (`error: None`) or failed.
    Health {
        /// The source's name (`prometheus`, `scrape`, `pg_log`, `sql:<id>`, `canary`).
        source: String,
        /// When.
        at: UnixSeconds,
        /// Why it failed, redacted.
        error: Option<String>,
    },
}
