//! `golive monitor [RUNBOOK]`: the dashboard alone, for the on-call. Full screen on a terminal;
//! `--headless` (or when stdout is not a terminal) prints one line, or with `--json` one JSON
//! snapshot, per refresh, and a final snapshot carrying the verdict. Exits after `--for`: 0 only
//! when every panel saw data and stayed within its thresholds and every source answered, 1 after
//! a breach or on an inconclusive watch (a source never answered, a panel never had data; the
//! reasons go to stderr), 2 on bad input. The baseline beside each panel is the one the newest
//! go-live of the runbook measured before its change, when there is one.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use golive_core::monitor::config::MonitorConfig;
use golive_core::monitor::snapshot::Snapshot;
use golive_core::monitor::verdict::{Tracker, Verdict, fmt_value};
use golive_core::monitor::watch::Watch;
use golive_core::runbook::Vars;

/// Arguments of `golive monitor`.
#[derive(Debug, Clone, clap::Args)]
pub struct MonitorArgs {
    /// The runbook whose `[monitor]` table and variables to use; when the default
    /// `./runbook.toml` does not exist, everything comes from the environment.
    #[arg(default_value = "runbook.toml")]
    pub runbook: PathBuf,
    /// Print snapshots instead of the full-screen view.
    #[arg(long)]
    pub headless: bool,
    /// Stop after this long (e.g. `10m`); without it, run until Ctrl-C or `q`.
    #[arg(long = "for", value_parser = humantime::parse_duration)]
    pub for_duration: Option<Duration>,
    /// One JSON object per refresh (headless).
    #[arg(long)]
    pub json: bool,
    /// Refresh interval, overriding `[monitor] refresh`.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub refresh: Option<Duration>,
}

/// Run `golive monitor`; the exit code.
pub async fn run_monitor_command(args: MonitorArgs) -> anyhow::Result<i32> {
    let (cfg, rollback) = match load_config(&args) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("golive monitor: {e:#}");
            return Ok(2);
        }
    };
    let mut watch = Watch::start(cfg)?;
    let baseline_note = use_latest_baseline(&mut watch, &args);
    let headless = args.headless || args.json || !std::io::stdout().is_terminal();
    if headless {
        for note in watch.notes() {
            eprintln!("{note}");
        }
        eprintln!("{baseline_note}");
        headless_loop(&mut watch, &args, &rollback).await
    } else {
        // Full screen is the console: its loop polls with the same configuration.
        let watching = golive_tui::monitor::Watching {
            source: if args.runbook.exists() {
                args.runbook.display().to_string()
            } else {
                "built-in thresholds (no runbook)".to_string()
            },
            notes: watch.notes().to_vec(),
            rollback: (!rollback.is_empty())
                .then(|| rollback.trim_start_matches(" — ").to_string()),
        };
        let cfg = watch.config().clone();
        drop(watch);
        golive_tui::monitor::run(
            cfg,
            watching,
            args.for_duration,
            golive_tui::TuiOptions::default(),
        )
        .await
    }
}

/// Compare against the baseline the newest go-live of the runbook measured (before its
/// `flags-on`), when there is one; what the baseline is, for people.
fn use_latest_baseline(watch: &mut Watch, args: &MonitorArgs) -> String {
    let found = args
        .runbook
        .exists()
        .then(|| golive_core::monitor::baseline::latest_of_runbook(&args.runbook))
        .flatten();
    match found {
        Some((dir, b)) => {
            let note = format!(
                "baseline: over {} (at {}), from the run in {}",
                b.over(),
                b.at,
                dir.display()
            );
            watch.set_baseline(b);
            note
        }
        None => "baseline: what the app counted before this watch (no run of this runbook \
                 measured one)"
            .into(),
    }
}

/// The configuration, and what to say after a breach: how to start the runbook's first rollback.
fn load_config(args: &MonitorArgs) -> anyhow::Result<(MonitorConfig, String)> {
    let env = |k: &str| std::env::var(k).ok();
    let default_missing = args.runbook.as_os_str() == "runbook.toml" && !args.runbook.exists();
    let (table, vars, rollback) = if default_missing {
        (None, Vars::default(), String::new())
    } else {
        let runbook = golive_core::runbook::load(&args.runbook)?;
        let vars = Vars::partial(&runbook, env);
        let rollback = runbook
            .rollbacks
            .first()
            .map(|p| {
                format!(
                    " — {}: golive run {} --procedure {}",
                    p.title,
                    args.runbook.display(),
                    p.id
                )
            })
            .unwrap_or_default();
        (runbook.monitor, vars, rollback)
    };
    let mut cfg = MonitorConfig::from_table(table.as_ref(), &vars, &env)
        .with_context(|| format!("in {}", args.runbook.display()))?;
    if default_missing {
        eprintln!(
            "golive monitor: no runbook.toml here, so the built-in thresholds apply: {}; pass a \
             runbook to use its [monitor] table",
            golive_tui::dashboard::panels::thresholds_note(&cfg)
        );
    }
    if let Some(r) = args.refresh {
        anyhow::ensure!(!r.is_zero(), "--refresh must be longer than zero, e.g. 5s");
        cfg.refresh = r;
        cfg.refresh_later = cfg.refresh_later.max(r);
    }
    Ok((cfg, rollback))
}

fn deadline(args: &MonitorArgs) -> tokio::time::Instant {
    let far = Duration::from_secs(100 * 365 * 24 * 3600);
    tokio::time::Instant::now() + args.for_duration.unwrap_or(far)
}

async fn headless_loop(
    watch: &mut Watch,
    args: &MonitorArgs,
    rollback: &str,
) -> anyhow::Result<i32> {
    let mut tracker = Tracker::new(watch.config());
    let end = deadline(args);
    let mut signals = golive_core::os::Signals::new()?;
    loop {
        let snap = tokio::select! {
            () = tokio::time::sleep_until(end) => break,
            _ = signals.next() => break,
            s = watch.next() => s,
        };
        let line = if args.json {
            serde_json::to_string(&snap)?
        } else {
            human_line(&snap)
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()?;
        if let Some(b) = tracker.observe(&snap) {
            eprintln!("BREACH: {b}{rollback}");
        }
    }
    // What arrived since the last refresh counts too (a short watch, a slow source).
    let fin = watch.snapshot_now();
    if let Some(b) = tracker.observe(&fin) {
        eprintln!("BREACH: {b}{rollback}");
    }
    let verdict = tracker.verdict();
    if args.json {
        let fin = fin.with_verdict(&verdict);
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", serde_json::to_string(&fin)?)?;
        out.flush()?;
    } else {
        for line in tracker.report(Some(&fin)) {
            eprintln!("{line}");
        }
    }
    print_verdict(&verdict, rollback);
    Ok(verdict.exit_code())
}

/// The verdict on stderr: why a watch did not pass.
fn print_verdict(verdict: &Verdict, rollback: &str) {
    match verdict {
        Verdict::Passed => eprintln!("watch passed: every panel saw data within its thresholds"),
        Verdict::Breached(b) => eprintln!("watch breached: {b}{rollback}"),
        Verdict::Inconclusive(reasons) => {
            eprintln!("watch INCONCLUSIVE (not a pass): it did not see");
            for r in reasons {
                eprintln!("  {r}");
            }
        }
    }
}

/// One refresh for people: `time window | panel state value (baseline, rate) | …`.
pub fn human_line(snap: &Snapshot) -> String {
    let mut parts = vec![format!("{} window {}s", snap.at, snap.window_seconds)];
    for p in &snap.panels {
        let mut text = format!("{} {} {}", p.id, p.state.label(), fmt_value(p.value));
        if let Some(b) = p.baseline {
            let over = p
                .baseline_over
                .as_deref()
                .map(|o| format!(" over {o}"))
                .unwrap_or_default();
            text.push_str(&format!(" (baseline {}{over})", fmt_value(Some(b))));
        }
        if let Some(r) = p.rate {
            text.push_str(&format!(" {r:.1}/s"));
        }
        if let Some(s) = p.stale_seconds {
            text.push_str(&format!(" stale {s}s"));
        }
        parts.push(text);
    }
    parts.join(" | ")
}
