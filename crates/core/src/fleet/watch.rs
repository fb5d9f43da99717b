//! Watches of many targets at once, each with its own sources (its own scrape, or its own
//! `target` series of a shared Prometheus: see `monitor::config`) and its own tracker. The driver
//! judges with it between waves (before a wave starts, every target already live is watched for
//! the fleet's `pause`: a breach on any target ends the watch at once, and at the end a target
//! whose watch did not see fails it too; the next wave starts only on a passed watch); the fleet
//! console keeps the live targets' rows fresh with it once the fleet run is over.
//!
//! ```text
//!   live target ─► task: Watch (its sources) ─► Tracker ─► Refresh ─► driver ─► FleetEvent::Watch
//!                                               breach ─► task ends early ─► driver stops all
//!   deadline ─► stop ─► each task's last snapshot and verdict
//! ```

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::monitor::config::MonitorConfig;
use crate::monitor::verdict::{Tracker, Verdict};
use crate::monitor::watch::Watch;
use crate::runbook::{Runbook, Vars};

/// The `[monitor]` configuration of one target: the runbook's table with the target's
/// variables (sources not in the table come from them, then from the environment).
pub fn target_config(runbook: &Runbook, vars: &Vars) -> Result<MonitorConfig, String> {
    let env = |k: &str| std::env::var(k).ok();
    MonitorConfig::from_table(runbook.monitor.as_ref(), vars, &env).map_err(|e| e.to_string())
}

/// Why `pause` cannot watch the live targets between waves, if it cannot: with `[monitor]`, a
/// pause shorter than two refreshes (a ratio needs two answers of its source) is blind by
/// construction and would halt the fleet after its first wave.
pub fn pause_problem(runbook: &Runbook, vars: &Vars, pause: Duration) -> Option<String> {
    if runbook.monitor.is_none() || pause.is_zero() {
        return None;
    }
    let refresh = target_config(runbook, vars).ok()?.refresh;
    let least = refresh * 2;
    (pause < least).then(|| {
        format!(
            "the pause between waves ({}) is too short to watch the live targets: their sources \
             answer every {} and a ratio needs two answers, so the watch could not see and would \
             halt the fleet; make the pause at least {}",
            humantime::format_duration(pause),
            humantime::format_duration(refresh),
            humantime::format_duration(least)
        )
    })
}

/// One target's verdict at the end of its watch.
#[derive(Debug)]
pub struct TargetVerdict {
    /// Index into the targets.
    pub target: usize,
    /// How its watch ended.
    pub verdict: Verdict,
}

/// What a running watch says next.
pub enum Said {
    /// One target's refresh, in the `golive monitor --json` shape.
    Refresh {
        target: usize,
        snapshot: serde_json::Value,
    },
    /// A target's watch ended before the deadline: it breached.
    Breached(TargetVerdict),
}

/// The watches of the live targets, running until [`FleetWatch::finish`] (or dropped).
pub struct FleetWatch {
    tasks: JoinSet<TargetVerdict>,
    stop: CancellationToken,
    refreshes: mpsc::Receiver<(usize, serde_json::Value)>,
}

impl FleetWatch {
    /// Start one watch per `(target, configuration)` (inside a tokio runtime); `judge`: a
    /// target's watch ends at its first breach (else it only shows). A target whose
    /// configuration could not be read (the error) is inconclusive at the end: a watch that
    /// cannot see is not a pass.
    pub fn start(targets: Vec<(usize, Result<MonitorConfig, String>)>, judge: bool) -> Self {
        let (tx, refreshes) = mpsc::channel(64);
        let stop = CancellationToken::new();
        let mut tasks = JoinSet::new();
        for (target, cfg) in targets {
            tasks.spawn(watch_one(target, cfg, tx.clone(), stop.clone(), judge));
        }
        FleetWatch {
            tasks,
            stop,
            refreshes,
        }
    }

    /// The next refresh, or a target that breached (cancel-safe); `None` when every watch
    /// ended.
    pub async fn next(&mut self) -> Option<Said> {
        loop {
            tokio::select! {
                // A breached target's last refresh is sent before its task ends: take it first.
                biased;
                Some((target, snapshot)) = self.refreshes.recv() => {
                    return Some(Said::Refresh { target, snapshot });
                }
                joined = self.tasks.join_next() => match joined? {
                    Ok(ended) => return Some(Said::Breached(ended)),
                    Err(e) => tracing::error!(error = %e, "a target's watch task failed"),
                },
            }
        }
    }

    /// Stop every watch; the verdicts of those that were still watching, in target order, each
    /// judged on what arrived until now.
    pub async fn finish(self) -> Vec<TargetVerdict> {
        let FleetWatch {
            mut tasks,
            stop,
            refreshes,
        } = self;
        // Nobody reads refreshes any more: a task waiting to send one must not wait forever.
        drop(refreshes);
        stop.cancel();
        let mut verdicts = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(v) => verdicts.push(v),
                Err(e) => tracing::error!(error = %e, "a target's watch task failed"),
            }
        }
        verdicts.sort_by_key(|v| v.target);
        verdicts
    }
}

/// Watch one target until `stop` (its verdict then) or, when it `judge`s, its first breach.
async fn watch_one(
    target: usize,
    cfg: Result<MonitorConfig, String>,
    tx: mpsc::Sender<(usize, serde_json::Value)>,
    stop: CancellationToken,
    judge: bool,
) -> TargetVerdict {
    let started = cfg.and_then(|cfg| Watch::start(cfg).map_err(|e| e.to_string()));
    let mut watch = match started {
        Ok(watch) => watch,
        Err(e) => {
            // Ends at the deadline with the rest, not at once: only a breach ends the watch.
            stop.cancelled().await;
            return TargetVerdict {
                target,
                verdict: Verdict::Inconclusive(vec![format!("the watch could not start: {e}")]),
            };
        }
    };
    let mut tracker = Tracker::new(watch.config());
    loop {
        let (snapshot, last) = tokio::select! {
            () = stop.cancelled() => (watch.snapshot_now(), true),
            s = watch.next() => (s, false),
        };
        let breach = tracker.observe(&snapshot).filter(|_| judge);
        let shown = if last || breach.is_some() {
            snapshot.with_verdict(&tracker.verdict())
        } else {
            snapshot
        };
        if let Ok(json) = serde_json::to_value(&shown) {
            // Fails only once the driver stopped reading (the deadline): then nobody needs it.
            let _ = tx.send((target, json)).await;
        }
        if last || breach.is_some() {
            return TargetVerdict {
                target,
                verdict: tracker.verdict(),
            };
        }
    }
}
