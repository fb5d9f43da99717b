//! `golive rehearse --targets N`: a fleet go-live rehearsed whole. N sandboxes start at once
//! (each its own cluster, app, traffic and oracle), a targets plan is generated (`[1, "50%",
//! "100%"]` fitted to N, all N at once inside a wave, the live targets watched between waves for
//! `--pause`), `--scenario` goes to one target, and the fleet runs as `golive run --targets`
//! would; each target's oracle judges its run.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::super::fleet::{FleetRun, farewell, run_fleet};
use super::{RehearseArgs, overlay, verdict};
use crate::cli::ExitCode;
use crate::cli::RunArgs;
use golive_core::events::RunMode;
use golive_core::fleet::{Fleet, FleetOutcome, Judge, PlanEntry, Target, waves};
use golive_core::logging::LogSink;
use golive_sandbox::{Sandbox, SandboxOptions, Scenario};

/// The plan a rehearsal's fleet follows: a canary, half, all.
const PLAN: [PlanEntry; 3] = [
    PlanEntry::Count(1),
    PlanEntry::Share(50.0),
    PlanEntry::Share(100.0),
];

/// The generated fleet of `n` targets (`t1` … `tN`) watched for `pause` between waves, without
/// variables: each target's come from its sandbox.
pub(super) fn generated(n: usize, pause: Duration) -> Fleet {
    let counts: Vec<PlanEntry> = waves::fitted(&PLAN, n)
        .into_iter()
        .map(PlanEntry::Count)
        .collect();
    Fleet {
        path: "generated".into(),
        targets: (1..=n)
            .map(|i| Target {
                name: format!("t{i}"),
                vars: Vec::new(),
            })
            .collect(),
        // `fitted` gives a plan that resolves for any n ≥ 1.
        waves: waves::resolve(&counts, n).unwrap_or_default(),
        parallel: n,
        pause,
    }
}

/// Run `golive rehearse --targets N`.
pub(super) async fn rehearse_fleet(
    args: &RehearseArgs,
    n: usize,
    scenario: Option<Scenario>,
    log: &LogSink,
) -> ExitCode {
    if n == 0 {
        eprintln!("golive: --targets 0 rehearses nothing; give 1 or more sandboxes");
        return 2;
    }
    let fleet = generated(n, args.pause.unwrap_or(args.watch));
    let chosen = match &args.scenario_target {
        Some(name) if fleet.targets.iter().any(|t| &t.name == name) => name.clone(),
        Some(name) => {
            eprintln!("golive: --scenario-target `{name}` is not one of t1 … t{n}");
            return 2;
        }
        None => {
            let wave = fleet.waves.get(1).or(fleet.waves.first());
            let first = wave.and_then(|w| w.targets.first()).copied().unwrap_or(0);
            fleet.targets[first].name.clone()
        }
    };
    eprintln!(
        "golive: starting {n} sandboxes{}…",
        scenario
            .map(|s| format!(", scenario {} on {chosen}", s.name()))
            .unwrap_or_default()
    );
    let started = futures_util::future::join_all(fleet.targets.iter().map(|t| {
        let options = SandboxOptions {
            scenario: scenario.filter(|_| t.name == chosen),
            ..SandboxOptions::default()
        };
        async move { Sandbox::start(&options).await }
    }))
    .await;
    let mut sandboxes = Vec::with_capacity(n);
    let mut failure = None;
    for result in started {
        match result {
            Ok(s) => sandboxes.push(s),
            Err(e) => failure = Some(e),
        }
    }
    if let Some(e) = failure {
        eprintln!("golive: a sandbox did not start: {e}");
        shutdown(sandboxes).await;
        return if e.is_missing_environment() { 2 } else { 1 };
    }
    for (t, s) in fleet.targets.iter().zip(&sandboxes) {
        eprintln!(
            "golive: sandbox {} up: app {}, database {}",
            t.name,
            s.app_url(),
            golive_core::redact::url_passwords(s.database_url())
        );
    }
    let oracles: Vec<_> = sandboxes.iter().map(|s| s.oracle().clone()).collect();
    let judged = oracles.clone();
    let judge: Judge = Arc::new(move |t, run_dir| {
        let wrong = verdict::judge(judged.get(t)?, run_dir, SystemTime::UNIX_EPOCH);
        (!wrong.is_empty()).then(|| {
            let total: u64 = wrong.iter().map(|w| w.count).sum();
            format!("{total} wrong answer(s) to the sandbox's traffic")
        })
    });
    let names: Vec<String> = fleet.targets.iter().map(|t| t.name.clone()).collect();
    let extra: HashMap<_, _> = names
        .iter()
        .zip(&sandboxes)
        .map(|(name, s)| (name.clone(), overlay(s, args.watch)))
        .collect();
    let run = FleetRun {
        fleet: fleet.clone(),
        extra: extra.clone(),
        mode: RunMode::Rehearse,
        pace: args.pace,
        judge: Some(judge),
    };
    let end = run_fleet(&args.run, run, log).await;
    let halted = matches!(
        end.outcome,
        Some(FleetOutcome::Halted | FleetOutcome::Refused)
    );
    if let Some(id) = args.rollback.as_ref().filter(|_| halted) {
        rehearse_rollback(args, id, fleet, extra, log).await;
    }
    for (name, oracle) in names.iter().zip(&oracles) {
        eprintln!(
            "golive: target {name}: the traffic oracle judged {} answer(s), {} wrong",
            oracle.checked(),
            oracle.wrong_total()
        );
    }
    if let Some(run_dir) = &end.run_dir {
        let words = farewell(end.outcome, run_dir, RunMode::Rehearse);
        if args.run.json {
            eprint!("{words}");
        } else {
            print!("{words}");
        }
    }
    shutdown(sandboxes).await;
    eprintln!("golive: sandboxes removed");
    end.code
}

/// After a halt, the rollback of the set on the same sandboxes: procedure `id` on the targets
/// the fleet changed, confirmed once for the set, as `golive run --targets … --procedure id`.
async fn rehearse_rollback(
    args: &RehearseArgs,
    id: &str,
    fleet: Fleet,
    extra: HashMap<String, Vec<(String, String, bool)>>,
    log: &LogSink,
) {
    eprintln!("golive: the fleet halted: rehearsing the rollback of the set, `{id}`");
    let run_args = RunArgs {
        procedure: Some(id.to_string()),
        ..args.run.clone()
    };
    let run = FleetRun {
        fleet,
        extra,
        mode: RunMode::Rehearse,
        pace: args.pace,
        judge: None,
    };
    let end = run_fleet(&run_args, run, log).await;
    let how = end.outcome.map_or("did not run", FleetOutcome::label);
    eprintln!("golive: the rollback of the set {how}");
    if let Some(run_dir) = &end.run_dir {
        eprintln!(
            "  its fleet journal: {}",
            run_dir.join(golive_core::fleet::journal::FILE).display()
        );
    }
}

async fn shutdown(sandboxes: Vec<Sandbox>) {
    futures_util::future::join_all(sandboxes.into_iter().map(Sandbox::shutdown)).await;
}

#[cfg(test)]
mod tests {
    use super::generated;
    use std::time::Duration;

    #[test]
    fn the_generated_plan_is_a_canary_then_half_then_all() {
        let four = generated(4, Duration::from_secs(9));
        let waves: Vec<Vec<usize>> = four.waves.iter().map(|w| w.targets.clone()).collect();
        assert_eq!(waves, vec![vec![0], vec![1], vec![2, 3]]);
        assert_eq!(four.parallel, 4);
        assert_eq!(four.pause, Duration::from_secs(9));
        assert_eq!(four.targets[3].name, "t4");
        assert_eq!(generated(1, Duration::ZERO).waves.len(), 1);
        assert_eq!(generated(2, Duration::ZERO).waves.len(), 2);
    }
}
