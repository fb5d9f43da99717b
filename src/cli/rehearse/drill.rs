//! `golive rehearse --drill`: after the go-live, each rollback procedure in turn, each from the
//! post-go-live state (saved once, restored before every drill), each proven by the traffic
//! oracle: no wrong answer while it ran, nor from the build it leaves serving. Every procedure's
//! run is journaled like any rehearsal, so later runs know how long each rollback takes.
//!
//! ```text
//!   go-live passed ─► save state `live` ─┬─► restore `live` ─► run --procedure P ─► settle ─► judge
//!                                        └─► … for every [[rollback]] in the runbook's order
//! ```

use std::time::{Duration, Instant, SystemTime};

use super::verdict;
use crate::cli::ExitCode;
use crate::cli::RunArgs;
use crate::cli::drive::run_observed;
use golive_core::events::RunMode;
use golive_core::logging::LogSink;
use golive_sandbox::Sandbox;

/// How one drill went.
#[derive(Debug)]
struct Drill {
    procedure: String,
    code: ExitCode,
    took: Duration,
    checked: u64,
    wrong: Vec<verdict::StepWrong>,
}

impl Drill {
    fn passed(&self) -> bool {
        self.code == 0 && self.wrong.is_empty() && self.checked > 0
    }
}

/// Drill every rollback of `args.runbook` on `sandbox`, which is in the post-go-live state.
/// Prints a summary; returns 0 when every drill passed, else 1.
pub(super) async fn drill_all(
    sandbox: &Sandbox,
    args: &RunArgs,
    overlay: &[(String, String, bool)],
    log: &LogSink,
    pace: Duration,
) -> ExitCode {
    let procedures = match golive_core::runbook::load(&args.runbook) {
        Ok(runbook) => runbook
            .rollbacks
            .iter()
            .map(|p| p.id.clone())
            .collect::<Vec<_>>(),
        Err(e) => {
            eprintln!("golive: cannot drill the rollbacks: {e}");
            return 2;
        }
    };
    eprintln!(
        "golive: rollback drills: {} from the post-go-live state",
        procedures.join(", ")
    );
    let live = match sandbox.save_state("live").await {
        Ok(saved) => saved,
        Err(e) => {
            eprintln!("golive: cannot save the post-go-live state for the drills: {e}");
            return 1;
        }
    };
    let mut drills = Vec::new();
    for (i, procedure) in procedures.iter().enumerate() {
        if i > 0
            && let Err(e) = sandbox.restore_state(&live).await
        {
            eprintln!("golive: cannot restore the post-go-live state before `{procedure}`: {e}");
            return 1;
        }
        eprintln!(
            "golive: drill {}/{}: rollback `{procedure}`",
            i + 1,
            procedures.len()
        );
        drills.push(one(sandbox, args, procedure, overlay, log, pace).await);
    }
    eprintln!("{}", summary(&drills));
    i32::from(!drills.iter().all(Drill::passed))
}

async fn one(
    sandbox: &Sandbox,
    args: &RunArgs,
    procedure: &str,
    overlay: &[(String, String, bool)],
    log: &LogSink,
    pace: Duration,
) -> Drill {
    let oracle = sandbox.oracle().clone();
    // Let the traffic meet the restored state before the drill starts.
    tokio::time::sleep(verdict::SETTLE).await;
    let since = SystemTime::now();
    let checked_before = oracle.checked();
    let started = Instant::now();
    let run = RunArgs {
        procedure: Some(procedure.to_string()),
        from: None,
        only: None,
        resume: false,
        ..args.clone()
    };
    let end = run_observed(
        run,
        RunMode::Rehearse,
        overlay.to_vec(),
        log,
        Some(verdict::live(oracle.clone())),
        pace,
    )
    .await;
    let took = started.elapsed();
    tokio::time::sleep(verdict::SETTLE).await;
    let wrong = match &end.run_dir {
        Some(run_dir) => verdict::judge(&oracle, run_dir, since),
        None => Vec::new(),
    };
    Drill {
        procedure: procedure.to_string(),
        code: end.code,
        took,
        checked: oracle.checked() - checked_before,
        wrong,
    }
}

fn summary(drills: &[Drill]) -> String {
    let mut text = String::from(
        "golive: rollback drills (each from the post-go-live state, judged by the traffic oracle):",
    );
    for d in drills {
        let wrong: u64 = d.wrong.iter().map(|w| w.count).sum();
        let verdict = if d.passed() { "passed" } else { "FAILED" };
        text.push_str(&format!(
            "\n  {:<12} {verdict:<7} {:>6.1} s   {wrong} wrong of {} answer(s){}",
            d.procedure,
            d.took.as_secs_f64(),
            d.checked,
            match (d.code, d.wrong.first()) {
                (0, None) if d.checked == 0 => "; the oracle saw no answer: not proven".into(),
                (0, None) => String::new(),
                (code, None) => format!("; the procedure exited {code}"),
                (_, Some(first)) => format!(
                    "; first during `{}`: {}",
                    first.step.as_deref().unwrap_or("(outside any step)"),
                    first.first
                ),
            }
        ));
    }
    text
}
