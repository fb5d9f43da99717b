//! `golive rehearse`: start the sandbox (the world before the go-live: the Phase 1 build serving,
//! live traffic judged by the oracle), point the runbook at it, run it as `golive run` would (full
//! screen or headless, same flags), fail it on any wrong answer the traffic got, tear the sandbox
//! down however the run ends.
//!
//! Without a `./runbook.toml`, the shipped Phase 2 runbook (built into the binary) is written to
//! `.golive/phase2/` and rehearsed from there.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

mod drill;
mod fleet;
mod locks;
mod verdict;

use super::ExitCode;
use super::RunArgs;
use super::drive::{farewell, run_observed};
use golive_core::events::Outcome;
use golive_core::events::RunMode;
use golive_core::logging::LogSink;
use golive_sandbox::{Sandbox, SandboxOptions, Scenario};

/// Flags of `golive rehearse`: those of `golive run`, plus the scenario and the watch.
#[derive(Debug, Clone, Args)]
pub struct RehearseArgs {
    /// Everything `golive run` takes.
    #[command(flatten)]
    pub run: RunArgs,
    /// A game-day fault to rehearse (see `golive sandbox --help` for the list).
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// How long the monitoring step watches (a rehearsal compresses time).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub watch: Duration,
    /// How long the state each passed step leaves stands before the next starts, so the
    /// sandbox's traffic meets every intermediate state as customers would on the night.
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = humantime::parse_duration)]
    pub pace: Duration,
    /// After the go-live passes, drill every rollback procedure in turn, each from the
    /// post-go-live state, each proven by the traffic oracle; their durations are recorded for
    /// later runs.
    #[arg(long, conflicts_with_all = ["procedure", "only", "from", "resume"])]
    pub drill: bool,
    /// Rehearse a fleet go-live: N sandboxes (each its own cluster, app and traffic), in
    /// waves planned as `[1, "50%", "100%"]` with all N at once inside a wave; the oracle
    /// judges each target.
    #[arg(long, value_name = "N", conflicts_with_all = ["procedure", "only", "from", "resume", "drill"])]
    pub targets: Option<usize>,
    /// With --targets: the target --scenario applies to (t1 … tN; default the second wave's
    /// first), to prove that its failure halts the fleet.
    #[arg(long, value_name = "NAME", requires = "targets")]
    pub scenario_target: Option<String>,
    /// With --targets: how long the live targets are watched between waves (each target its
    /// own sources and verdict; the next wave starts only when every watch passed); default
    /// as long as --watch.
    #[arg(long, value_name = "DURATION", requires = "targets", value_parser = humantime::parse_duration)]
    pub pause: Option<Duration>,
    /// With --targets: when the fleet halts, rehearse the rollback of the set before the
    /// sandboxes go: procedure ID on every target the fleet changed (those that went live, and
    /// those that failed or stopped after a destructive step or a flag flip began on them).
    #[arg(long, value_name = "ID", requires = "targets")]
    pub rollback: Option<String>,
}

const EMBEDDED: &[(&str, &str)] = &[
    ("runbook.toml", include_str!("../../../runbook.toml")),
    (
        "assets/sql/catalog-v2-columns.sql",
        include_str!("../../../assets/sql/catalog-v2-columns.sql"),
    ),
    (
        "assets/sql/catalog-v2-backfill.sql",
        include_str!("../../../assets/sql/catalog-v2-backfill.sql"),
    ),
    (
        "assets/sql/rls-policies.sql",
        include_str!("../../../assets/sql/rls-policies.sql"),
    ),
    (
        "assets/sql/rls-enable.sql",
        include_str!("../../../assets/sql/rls-enable.sql"),
    ),
    (
        "assets/sql/rls-disable.sql",
        include_str!("../../../assets/sql/rls-disable.sql"),
    ),
];

/// Run `golive rehearse`.
pub async fn rehearse(mut args: RehearseArgs, log: &LogSink) -> ExitCode {
    let scenario = match args
        .scenario
        .as_deref()
        .map(str::parse::<Scenario>)
        .transpose()
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("golive: {e}");
            return 2;
        }
    };
    if args.run.runbook == Path::new("runbook.toml") && !args.run.runbook.exists() {
        match write_embedded(Path::new(".golive/phase2")) {
            Ok(path) => {
                eprintln!(
                    "golive: no ./runbook.toml here; rehearsing the shipped Phase 2 runbook, written to {}",
                    path.display()
                );
                args.run.runbook = path;
            }
            Err(e) => {
                eprintln!("golive: cannot write the shipped runbook to .golive/phase2: {e}");
                return 2;
            }
        }
    }
    if let Some(n) = args.targets {
        return fleet::rehearse_fleet(&args, n, scenario, log).await;
    }
    eprintln!(
        "golive: starting the sandbox{}…",
        scenario
            .map(|s| format!(" with scenario {}", s.name()))
            .unwrap_or_default()
    );
    let sandbox = match Sandbox::start(&SandboxOptions {
        scenario,
        ..SandboxOptions::default()
    })
    .await
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("golive: the sandbox did not start: {e}");
            return if e.is_missing_environment() { 2 } else { 1 };
        }
    };
    eprintln!(
        "golive: sandbox up: app {}, database {}, PostgreSQL log {}",
        sandbox.app_url(),
        golive_core::redact::url_passwords(sandbox.database_url()),
        sandbox.pg_log().display()
    );
    let overlay = overlay(&sandbox, args.watch);
    let oracle = sandbox.oracle().clone();
    let json = args.run.json;
    let sampler = locks::start(&sandbox).await;
    let runbook = args.run.runbook.clone();
    let end = run_observed(
        args.run.clone(),
        RunMode::Rehearse,
        overlay.clone(),
        log,
        Some(verdict::live(oracle.clone())),
        args.pace,
    )
    .await;
    locks::finish(sampler, &runbook).await;
    let mut code = end.code;
    if let (Some(run_dir), Some(outcome)) = (&end.run_dir, end.outcome) {
        // The state the run left serves on: judge it too.
        tokio::time::sleep(verdict::SETTLE).await;
        let wrong = verdict::judge(&oracle, run_dir, std::time::SystemTime::UNIX_EPOCH);
        eprintln!("{}", verdict::summary(oracle.checked(), &wrong));
        let outcome = if wrong.is_empty() {
            outcome
        } else {
            code = code.max(1);
            Outcome::Failed
        };
        let words = farewell(outcome, run_dir, RunMode::Rehearse);
        if json {
            eprint!("{words}");
        } else {
            print!("{words}");
        }
    }
    if args.drill && code == 0 {
        code = drill::drill_all(&sandbox, &args.run, &overlay, log, args.pace).await;
    } else if args.drill {
        eprintln!("golive: the go-live did not pass: no rollback drill was run");
    }
    sandbox.shutdown().await;
    eprintln!("golive: sandbox removed");
    code
}

/// What a rehearsal lays over the environment: the sandbox's variables, its backup folder, and
/// the watch and baseline compressed.
fn overlay(sandbox: &Sandbox, watch: Duration) -> Vec<(String, String, bool)> {
    let mut overlay = sandbox.vars();
    // The rehearsal's snapshot goes with the sandbox, not beside the runbook.
    overlay.push((
        "BACKUP_DIR".into(),
        sandbox.root().join("backups").display().to_string(),
        false,
    ));
    overlay.push((
        "WATCH".into(),
        humantime::format_duration(watch).to_string(),
        false,
    ));
    // The baseline before flags-on, compressed like the watch: a third of it, 10 s to 1 min.
    let baseline = (watch / 3).clamp(Duration::from_secs(10), Duration::from_secs(60));
    overlay.push((
        "BASELINE_WINDOW".into(),
        humantime::format_duration(baseline).to_string(),
        false,
    ));
    overlay
}

fn write_embedded(dir: &Path) -> std::io::Result<PathBuf> {
    for (name, text) in EMBEDDED {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text)?;
    }
    Ok(dir.join("runbook.toml"))
}
