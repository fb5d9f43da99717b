//! `kind = "monitor"`: watch the dashboard for the step's duration. Each refresh goes to the
//! front end as a snapshot; a panel critical for `breach_count` refreshes in a row fails the step
//! (the engine then offers the runbook's rollbacks; nothing rolls back by itself). The verdict
//! goes to the step's output (and so the journal and the report) and its summary.

use std::time::Duration;

use crate::exec::{StepCtx, StepError, StepResult};
use crate::runbook::MonitorSpec;

use super::config::MonitorConfig;
use super::verdict::Tracker;
use super::watch::Watch;

/// Run a monitor step.
pub async fn run_step(spec: &MonitorSpec, ctx: &mut StepCtx<'_>) -> StepResult {
    let text = ctx.vars.interpolate(&spec.duration);
    let duration = humantime::parse_duration(text.trim()).map_err(|e| {
        StepError::Failed(format!(
            "duration {text:?} of the monitor step: {e}; write e.g. duration = \"10m\" (or set the variable it names)"
        ))
    })?;
    let cfg = MonitorConfig::from_table(ctx.runbook.monitor.as_ref(), ctx.vars, &|k| {
        std::env::var(k).ok()
    })
    .map_err(|e| StepError::Failed(format!("{e} (in {})", ctx.runbook.path.display())))?;
    let mut watch = Watch::start(cfg).map_err(|e| StepError::Failed(e.to_string()))?;
    for note in watch.notes().to_vec() {
        ctx.out.info(&note).await;
    }
    ctx.out
        .info(&format!(
            "watching for {}",
            humantime::format_duration(duration)
        ))
        .await;
    watch_until(&mut watch, duration, ctx).await
}

async fn watch_until(watch: &mut Watch, duration: Duration, ctx: &mut StepCtx<'_>) -> StepResult {
    let mut tracker = Tracker::new(watch.config());
    let deadline = tokio::time::Instant::now() + duration;
    let mut last = None;
    loop {
        let snap = tokio::select! {
            () = ctx.cancel.cancelled() => {
                verdict_to_output(&tracker, last.as_ref(), ctx).await;
                return Err(StepError::Cancelled);
            }
            () = tokio::time::sleep_until(deadline) => break,
            s = watch.next() => s,
        };
        if let Ok(json) = serde_json::to_value(&snap) {
            ctx.out.monitor(json).await;
        }
        let breach = tracker.observe(&snap);
        last = Some(snap);
        if let Some(b) = breach {
            verdict_to_output(&tracker, last.as_ref(), ctx).await;
            return Err(StepError::Failed(b.to_string()));
        }
    }
    verdict_to_output(&tracker, last.as_ref(), ctx).await;
    Ok(tracker.summary())
}

async fn verdict_to_output(
    tracker: &Tracker,
    last: Option<&super::snapshot::Snapshot>,
    ctx: &mut StepCtx<'_>,
) {
    for line in tracker.verdict(last) {
        ctx.out.info(&line).await;
    }
}
