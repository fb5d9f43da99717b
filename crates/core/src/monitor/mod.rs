//! The post-deploy dashboard: sources (Prometheus, a direct `/metrics` scrape, the PostgreSQL
//! log, read-only SQL, the isolation canary) send [`Sample`]s; the [`Board`] turns them into a
//! [`Snapshot`] per refresh; [`Tracker`] fails the watch on a sustained breach and writes the
//! verdict. The runbook's `kind = "monitor"` step ([`run_step`]), `golive monitor`
//! ([`run_monitor_command`]) and the console's dashboard view ([`render`]) all use it.
//!
//! No module here imports the UI except [`view`], a pure render function.

pub mod baseline;
pub mod board;
pub mod canary;
pub mod config;
pub mod panel_kind;
pub mod pglog;
pub mod poller;
pub mod prometheus;
pub mod promtext;
pub mod sample;
pub mod scrape;
pub mod snapshot;
pub mod sql;
pub mod traffic;
pub mod verdict;
pub mod watch;

pub use board::Board;
pub use config::{ConfigError, MonitorConfig};
pub use sample::Sample;
pub use snapshot::{Panel, Snapshot, State};
pub use verdict::{Breach, Tracker, Verdict, VerdictKind};
pub use watch::Watch;
