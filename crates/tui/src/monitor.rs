//! `golive monitor` full screen is the console: the same event loop, terminal guard, signals,
//! keymap, help and dashboard as a run, with a header saying what it watches and from which
//! source, and the runbook's rollback one key away (as a command to run; nothing rolls back by
//! itself). Snapshots come from the console's own poller as typed values.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::TuiOptions;
use super::app::{App, View};
use super::event_loop::run_app;
use golive_core::events::NoticeLevel;
use golive_core::monitor::config::MonitorConfig;
use golive_core::monitor::snapshot::Snapshot;
use golive_core::monitor::verdict::Tracker;

/// What the dashboard alone watches, for its header.
#[derive(Debug, Clone, Default)]
pub struct Watching {
    /// Where the thresholds come from: the runbook's path, or the built-in thresholds.
    pub source: String,
    /// Which sources feed which panels (`traffic: scraping http://…`), one each.
    pub notes: Vec<String>,
    /// How to start the runbook's first rollback (`golive run runbook.toml --procedure fast`).
    pub rollback: Option<String>,
}

/// Run the dashboard alone, full screen, until `q`, Ctrl-C, SIGTERM, SIGHUP or `until`; the
/// exit code: 1 after a breach, else 0. The terminal is restored in every case.
pub async fn run(
    cfg: MonitorConfig,
    watching: Watching,
    until: Option<Duration>,
    options: TuiOptions,
) -> anyhow::Result<i32> {
    // No engine: a channel nobody sends on, held open until the console ends.
    let (_no_engine, events) = mpsc::channel(1);
    let (commands, _ignored) = mpsc::unbounded_channel();
    let deadline = until.map(|d| tokio::time::Instant::now() + d);
    let make = |w, h| {
        let mut app = App::new(&options, w, h);
        app.watch_alone(cfg, watching, Instant::now());
        app
    };
    let app = run_app(make, events, &commands, &options, deadline).await?;
    Ok(i32::from(
        app.dashboard.verdict.as_ref().is_some_and(|v| v.failed),
    ))
}

impl App {
    /// Become the dashboard alone: poll with `cfg` from `now`, judge every refresh for breaches.
    pub fn watch_alone(&mut self, cfg: MonitorConfig, watching: Watching, now: Instant) {
        self.run.runbook = format!("monitor · {}", watching.source);
        self.run.targets = watching
            .notes
            .iter()
            .map(|n| match n.split_once(": ") {
                Some((label, what)) => (label.to_string(), what.to_string()),
                None => (String::new(), n.clone()),
            })
            .collect();
        self.run.started_at = Some(now);
        self.tracker = Some(Tracker::new(&cfg));
        self.live = Some(cfg);
        self.dashboard.watch_alone(now);
        self.ui.view = View::Dashboard;
        self.alone = Some(watching);
    }

    /// `golive monitor`: a breach becomes the verdict line, with the way to roll back.
    pub(super) fn observe_alone(&mut self, snapshot: &Snapshot) {
        let Some(tracker) = self.tracker.as_mut() else {
            return;
        };
        let breach = tracker.observe(snapshot);
        if let Some(b) = breach
            && self.dashboard.verdict.is_none()
        {
            let how = self
                .alone
                .as_ref()
                .and_then(|w| w.rollback.clone())
                .map(|r| format!("; to roll back: {r}"))
                .unwrap_or_default();
            self.dashboard.breached(&format!("{b}{how}"), snapshot);
        }
    }

    /// `golive monitor`: what the rollback key does without a run: say how to start it.
    pub(super) fn rollback_alone(&mut self) {
        let text = match self.alone.as_ref().and_then(|w| w.rollback.as_deref()) {
            Some(how) => format!("To roll back, in a terminal next to the runbook: {how}"),
            None => "No runbook, so no rollback procedure is known: pass the runbook to \
                     `golive monitor`."
                .to_string(),
        };
        self.run.message = Some((NoticeLevel::Warn, text));
    }
}
