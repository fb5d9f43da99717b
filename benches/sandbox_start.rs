//! Sandbox start-to-ready time: `Sandbox::start` (stale reap, initdb, server start, database and
//! data, app, traffic) until the app answers `/healthz`, then a clean shutdown. Target: < 5 s.
//!
//! `cargo bench --bench sandbox_start` (set `GOLIVE_BENCH_RUNS` to change the number of runs).

use std::time::{Duration, Instant};

use golive::sandbox::{Sandbox, SandboxOptions};

fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::var("GOLIVE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let runtime = tokio::runtime::Runtime::new()?;
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    runtime.block_on(async {
        let http = golive::httpc::client(Duration::from_secs(10)).map_err(anyhow::Error::msg)?;
        for run in 1..=runs {
            let started = Instant::now();
            let sandbox = Sandbox::start(&SandboxOptions::default()).await?;
            let status = http
                .get(format!("{}/healthz", sandbox.app_url()))
                .send()
                .await?
                .status();
            let ready = started.elapsed();
            anyhow::ensure!(status.is_success(), "healthz answered {status}");
            let stopping = Instant::now();
            sandbox.shutdown().await;
            println!(
                "run {run}: ready in {:.2} s, shut down in {:.2} s",
                ready.as_secs_f64(),
                stopping.elapsed().as_secs_f64()
            );
            times.push(ready);
        }
        anyhow::Ok(())
    })?;
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "sandbox start-to-ready: median {:.2} s over {runs} runs (min {:.2} s, max {:.2} s); target < 5 s",
        median.as_secs_f64(),
        times[0].as_secs_f64(),
        times[times.len() - 1].as_secs_f64()
    );
    Ok(())
}
