//! A whole rehearsal through the real binary: `golive rehearse --headless --approve-all` of the
//! shipped Phase 2 runbook with the default 30 s watch, from start to clean exit (sandbox start,
//! every step, teardown). Target: < 60 s. Run from an empty temporary directory, so the runbook
//! is the one built into the binary and the journal does not land in the repository.
//!
//! `cargo bench --bench rehearse` (set `GOLIVE_BENCH_RUNS` to change the number of runs, 1 by
//! default). The sandbox start alone is `cargo bench --bench sandbox_start`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One rehearsal's phases.
struct Timing {
    sandbox_up: Duration,
    run_done: Duration,
    total: Duration,
}

fn rehearse(dir: &std::path::Path) -> anyhow::Result<Timing> {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_golive"))
        .current_dir(dir)
        .args(["rehearse", "--headless", "--approve-all"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stderr pipe"))?;
    let (mut sandbox_up, mut run_done) = (None, None);
    for line in BufReader::new(stderr).lines() {
        let line = line?;
        if line.contains("golive: sandbox up") {
            sandbox_up = Some(started.elapsed());
        } else if line.contains("golive: sandbox removed") {
            run_done = Some(started.elapsed());
        }
    }
    let status = child.wait()?;
    let total = started.elapsed();
    anyhow::ensure!(status.success(), "golive rehearse exited with {status}");
    let (Some(sandbox_up), Some(run_done)) = (sandbox_up, run_done) else {
        anyhow::bail!("golive rehearse did not report the sandbox's start and removal");
    };
    Ok(Timing {
        sandbox_up,
        run_done,
        total,
    })
}

fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::var("GOLIVE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let mut totals = Vec::with_capacity(runs);
    for run in 1..=runs {
        let dir = std::env::temp_dir().join(format!(
            "golive-bench-rehearse-{}-{run}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir)?;
        let timing = rehearse(&dir);
        std::fs::remove_dir_all(&dir)?;
        let timing = timing?;
        println!(
            "run {run}: sandbox up after {:.2} s, runbook done and sandbox removed after {:.2} s, \
             exit after {:.2} s",
            timing.sandbox_up.as_secs_f64(),
            timing.run_done.as_secs_f64(),
            timing.total.as_secs_f64()
        );
        totals.push(timing.total);
    }
    totals.sort();
    println!(
        "golive rehearse --headless --approve-all (30 s watch), start to clean exit: median {:.2} s \
         over {runs} run(s) (min {:.2} s, max {:.2} s); target < 60 s",
        totals[totals.len() / 2].as_secs_f64(),
        totals[0].as_secs_f64(),
        totals[totals.len() - 1].as_secs_f64()
    );
    Ok(())
}
