//! `kind = "monitor"`: watch the dashboard for the step's duration. Each refresh goes to the
//! front end as a snapshot; a panel critical for `breach_count` refreshes in a row fails the step
//! (the engine then offers the runbook's rollbacks; nothing rolls back by itself). A watch that
//! did not see (a source that never answered, a panel that never had data) ends
//! [`StepError::Inconclusive`], which the engine puts to a person. The verdict goes to the
//! step's output (and so the journal and the report) and its summary.
//!
//! With `baseline = true` the step measures the baseline instead (same verdict rules) and stores
//! it in the run's directory; a later watch of the run shows it beside each panel.

use std::time::Duration;

use crate::exec::{StepCtx, StepError, StepResult};
use crate::runbook::MonitorSpec;

use crate::monitor::baseline::Baseline;
use crate::monitor::config::MonitorConfig;
use crate::monitor::verdict::{Tracker, Verdict};
use crate::monitor::watch::Watch;

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
    if !spec.baseline {
        use_baseline(&mut watch, ctx).await?;
    }
    let what = if spec.baseline {
        "measuring the baseline"
    } else {
        "watching"
    };
    ctx.out
        .info(&format!(
            "{what} for {}",
            humantime::format_duration(duration)
        ))
        .await;
    let started = tokio::time::Instant::now();
    // A baseline records the state before the change, a critical panel included: it never
    // fails on one (before flags-on the canary may well be red by design), only on not seeing.
    let mut tracker = Tracker::new(watch.config());
    if spec.baseline {
        tracker = tracker.measuring();
    }
    watch_until(&mut watch, &mut tracker, duration, ctx).await?;
    let verdict = tracker.verdict();
    let summary = if spec.baseline {
        let window = started.elapsed().as_secs_f64().min(duration.as_secs_f64());
        store_baseline(&watch, window, spec.before.clone(), ctx).await?
    } else {
        tracker.summary()
    };
    match verdict {
        Verdict::Passed => Ok(summary),
        Verdict::Breached(b) => Err(StepError::Failed(b.to_string())),
        Verdict::Inconclusive(reasons) => Err(StepError::Inconclusive(reasons.join("; "))),
    }
}

/// Store every panel's value over the last `window` seconds as the run's baseline, measured
/// before the step `before`; its summary.
async fn store_baseline(
    watch: &Watch,
    window: f64,
    before: Option<String>,
    ctx: &mut StepCtx<'_>,
) -> Result<String, StepError> {
    let panels = watch.panels_over(window);
    let at = crate::monitor::snapshot::rfc3339(crate::monitor::sample::now());
    let baseline = Baseline::of(&panels, &at, window.round() as u64, before);
    baseline.save(ctx.run_dir).map_err(StepError::Failed)?;
    for p in &panels {
        ctx.out
            .info(&format!(
                "baseline {}: {} over {}",
                p.id,
                crate::monitor::verdict::fmt_value(p.value),
                baseline.over()
            ))
            .await;
    }
    Ok(format!(
        "baseline measured over {}, stored in {}",
        baseline.over(),
        crate::monitor::baseline::FILE
    ))
}

/// Compare against the baseline an earlier step of this run measured, when there is one.
async fn use_baseline(watch: &mut Watch, ctx: &mut StepCtx<'_>) -> Result<(), StepError> {
    match Baseline::load(ctx.run_dir).map_err(StepError::Failed)? {
        Some(b) => {
            ctx.out
                .info(&format!(
                    "baseline: measured over {} (at {})",
                    b.over(),
                    b.at
                ))
                .await;
            watch.set_baseline(b);
        }
        None => {
            ctx.out
                .info(
                    "baseline: what the app counted before this watch (no baseline step ran in \
                     this run; add one before the change, see `baseline = true`)",
                )
                .await;
        }
    }
    Ok(())
}

/// Watch until the deadline (or a breach, when `tracker` judges breaches), reporting what it
/// saw to the output (cancelled: the step was stopped).
async fn watch_until(
    watch: &mut Watch,
    tracker: &mut Tracker,
    duration: Duration,
    ctx: &mut StepCtx<'_>,
) -> Result<(), StepError> {
    let stop_on_breach = tracker.judges_breaches();
    let mut noted = std::collections::BTreeSet::new();
    let deadline = tokio::time::Instant::now() + duration;
    let mut last = None;
    loop {
        let snap = tokio::select! {
            () = ctx.cancel.cancelled() => {
                verdict_to_output(tracker, last.as_ref(), ctx).await;
                return Err(StepError::Cancelled);
            }
            () = tokio::time::sleep_until(deadline) => {
                // What arrived since the last refresh counts too (a short watch, a slow source).
                let snap = watch.snapshot_now();
                tracker.observe(&snap);
                last = Some(snap);
                break;
            }
            s = watch.next() => s,
        };
        if let Ok(json) = serde_json::to_value(&snap) {
            ctx.out.monitor(json).await;
        }
        let breach = tracker.observe(&snap);
        last = Some(snap);
        match breach {
            Some(_) if stop_on_breach => break,
            Some(b) if noted.insert(b.panel.clone()) => {
                ctx.out
                    .info(&format!("critical before the change: {b}"))
                    .await;
            }
            _ => {}
        }
    }
    verdict_to_output(tracker, last.as_ref(), ctx).await;
    Ok(())
}

async fn verdict_to_output(
    tracker: &Tracker,
    last: Option<&crate::monitor::snapshot::Snapshot>,
    ctx: &mut StepCtx<'_>,
) {
    for line in tracker.report(last) {
        ctx.out.info(&line).await;
    }
}
