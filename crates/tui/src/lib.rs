//! The full-screen console: a checklist of the runbook's steps, the live output of the selected
//! step, dialogs for every confirmation, help, search and the monitoring view.
//!
//! It consumes the engine's [`EngineEvent`](golive_core::events::EngineEvent)s and sends
//! [`Command`](golive_core::events::Command)s; the engine never imports it. Start it with
//! [`run`]. The state ([`App`]) is split by concern under [`state`]; each region of the screen is
//! a pure function under [`view`].

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod actions;
pub mod ansi;
pub mod app;
pub mod dashboard;
pub mod event_loop;
pub mod fleet_dashboard;
pub mod fleet_loop;
pub mod fleet_state;
pub mod fleet_view;
pub mod keymap;
pub mod monitor;
pub mod state;
pub mod terminal;
pub mod theme;
pub mod view;

use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use app::App;
pub use event_loop::run;
pub use keymap::{Action, Keymap};

/// How the console looks and behaves.
#[derive(Debug, Clone)]
pub struct TuiOptions {
    /// No colours (also when the `NO_COLOR` environment variable is set; see [`Default`]).
    pub no_color: bool,
    /// How often the screen is redrawn while something changes (spinner, clock, output).
    pub tick_rate: Duration,
    /// Key bindings.
    pub keymap: Keymap,
    /// Lines of output kept in memory per step (the whole output is in the step's log file).
    pub output_cap: usize,
    /// Cancelling it stops the console (interrupting a live run).
    pub cancel: CancellationToken,
    /// The run is a rehearsal: its sandbox goes away with it, so there is nothing to resume.
    pub rehearsal: bool,
    /// The runbook's `[monitor]` configuration: after a watch ends, the console keeps polling
    /// with it so the dashboard stays live through failures, rollbacks and diagnostics.
    pub live: Option<golive_core::monitor::config::MonitorConfig>,
    /// `golive attach`: the console watches a run driven by this user, read-only (no key sends
    /// anything; a question shows as "waiting for <user>'s confirmation").
    pub observer: Option<String>,
}

impl Default for TuiOptions {
    /// Colour unless `NO_COLOR` is set to something non-empty; 30 frames a second; the default
    /// keymap; 100 000 lines per step in memory.
    fn default() -> Self {
        TuiOptions {
            no_color: crate::dashboard::panels::no_color(),
            tick_rate: Duration::from_millis(33),
            keymap: Keymap::default(),
            output_cap: state::output::DEFAULT_CAP,
            cancel: CancellationToken::new(),
            rehearsal: false,
            live: None,
            observer: None,
        }
    }
}

impl TuiOptions {
    /// Whether colours are used.
    pub fn color(&self) -> bool {
        !self.no_color
    }
}

#[cfg(test)]
mod app_tests;
#[cfg(test)]
mod dialog_view_tests;
#[cfg(test)]
mod fleet_tests;
#[cfg(test)]
mod observer_tests;
#[cfg(test)]
mod test_fixtures;
#[cfg(test)]
mod view_tests;
