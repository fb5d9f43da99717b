//! A running watch: the sources chosen from the configuration, each its own task, and the
//! refresh loop that applies their samples and produces a snapshot per refresh.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_util::sync::{CancellationToken, DropGuard};

use super::board::Board;
use super::canary::Canary;
use super::config::MonitorConfig;
use super::pglog::PgLog;
use super::poller;
use super::prometheus::Prometheus;
use super::sample::{Sample, now};
use super::scrape::Scrape;
use super::snapshot::Snapshot;
use super::sql::SqlQuery;

/// Why a watch could not start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The HTTP client could not be built.
    #[error("{0}")]
    Http(String),
}

/// The sources and the dashboard state of one watch; the sources stop when it is dropped.
pub struct Watch {
    board: Board,
    rx: mpsc::Receiver<Sample>,
    ticker: Interval,
    started: Instant,
    later: bool,
    notes: Vec<String>,
    _stop: DropGuard,
}

impl Watch {
    /// Start the sources `cfg` names (must run inside a tokio runtime).
    pub fn start(cfg: MonitorConfig) -> Result<Self, WatchError> {
        let (tx, rx) = mpsc::channel(1024);
        let cancel = CancellationToken::new();
        let client = crate::httpc::client(cfg.timeout).map_err(WatchError::Http)?;
        let mut notes = Vec::new();
        let redact = |u: &str| crate::redact::url_passwords(u).into_owned();
        let history = cfg.windows.last().map_or(900.0, Duration::as_secs_f64);
        if let Some(url) = &cfg.sources.prometheus_url {
            let target = cfg.sources.target.as_deref();
            notes.push(match target {
                Some(t) => format!(
                    "traffic: Prometheus at {} (series with {})",
                    redact(url),
                    super::prometheus::target_matcher(&cfg.mapping, t)
                ),
                None => format!("traffic: Prometheus at {}", redact(url)),
            });
            let source = Prometheus::new(
                client,
                url,
                &cfg.mapping,
                &cfg.add_to_invoice_route,
                target,
                history,
                cfg.refresh.as_secs_f64(),
            );
            poller::spawn(source, cfg.refresh, tx.clone(), cancel.clone());
        } else if let Some(url) = &cfg.sources.metrics_url {
            notes.push(format!("traffic: scraping {}", redact(url)));
            let source = Scrape::new(client, url, &cfg.mapping);
            poller::spawn(source, cfg.refresh, tx.clone(), cancel.clone());
        } else {
            notes.push(
                "traffic: none; set PROMETHEUS_URL, APP_METRICS_URL or APP_URL (the ratio and \
                 latency panels show NO DATA)"
                    .into(),
            );
        }
        if let Some(path) = &cfg.sources.pg_log {
            notes.push(format!("RLS denials: also from the PostgreSQL log {path}"));
            let source = PgLog::new(std::path::Path::new(path));
            poller::spawn(source, Duration::from_secs(1), tx.clone(), cancel.clone());
        }
        if Canary::configured(&cfg.canary) {
            notes.push(format!(
                "isolation canary: every {} ({}{})",
                humantime::format_duration(cfg.canary.every),
                if cfg.canary.app_url.is_some() {
                    "API"
                } else {
                    ""
                },
                if cfg.canary.database_url.is_some() {
                    ", database as the app role"
                } else {
                    ""
                },
            ));
            let source = Canary::new(cfg.canary.clone(), &cfg.catalog_route, cfg.timeout);
            poller::spawn(source, cfg.canary.every, tx.clone(), cancel.clone());
        } else {
            notes.push(
                "isolation canary: off; set APP_URL and APP_DATABASE_URL or [monitor.canary]"
                    .into(),
            );
        }
        for q in &cfg.queries {
            let source = SqlQuery::new(q.clone(), cfg.timeout);
            poller::spawn(source, cfg.refresh, tx.clone(), cancel.clone());
        }
        let mut ticker = tokio::time::interval(cfg.refresh);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        Ok(Watch {
            board: Board::new(cfg, now()),
            rx,
            ticker,
            started: Instant::now(),
            later: false,
            notes,
            _stop: cancel.drop_guard(),
        })
    }

    /// Which sources feed which panels, one line each.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Show `baseline` beside each panel (see [`Board::set_baseline`]).
    pub fn set_baseline(&mut self, baseline: super::baseline::Baseline) {
        self.board.set_baseline(baseline);
    }

    /// The panels now, over the last `window_seconds` (capped at the longest window kept).
    pub fn panels_over(&self, window_seconds: f64) -> Vec<super::snapshot::Panel> {
        let longest = self
            .board
            .config()
            .windows
            .last()
            .map_or(900.0, Duration::as_secs_f64);
        self.board.panels(now(), window_seconds.min(longest))
    }

    /// The snapshot now, without waiting for the next refresh (the final one of a watch).
    pub fn snapshot_now(&mut self) -> Snapshot {
        while let Ok(sample) = self.rx.try_recv() {
            self.board.apply(sample);
        }
        self.board.snapshot(now())
    }

    /// The configuration in force.
    pub fn config(&self) -> &MonitorConfig {
        self.board.config()
    }

    /// Apply samples until the next refresh, then the snapshot (cancel-safe).
    pub async fn next(&mut self) -> Snapshot {
        loop {
            tokio::select! {
                Some(sample) = self.rx.recv() => self.board.apply(sample),
                _ = self.ticker.tick() => break,
            }
        }
        // Take what arrived together with the tick.
        while let Ok(sample) = self.rx.try_recv() {
            self.board.apply(sample);
        }
        let cfg = self.board.config();
        if !self.later && self.started.elapsed() >= cfg.fine_for {
            self.later = true;
            let mut ticker =
                tokio::time::interval_at(Instant::now() + cfg.refresh_later, cfg.refresh_later);
            ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
            self.ticker = ticker;
        }
        self.board.snapshot(now())
    }
}
