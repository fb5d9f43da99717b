//! What the lock sampler costs during a rehearsal, side by side: the sandbox (PostgreSQL, the
//! app, ~30 requests/s of traffic) runs for a window with the sampler off, then a window with
//! it on, alternated; counted are the CPU of this process (getrusage: the app, the traffic and,
//! when on, the sampler's client side) and the CPU of the sampler's own PostgreSQL backend
//! (/proc/<pid>/stat). The sampler's cost is the difference plus its backend. Target: < 2 % of
//! a core.
//!
//! Run with `cargo bench --bench lock_sampler`. Needs PostgreSQL installed.

use std::time::{Duration, Instant};

use golive::lockprofile::sampler::{LockSampler, SAMPLER_APP_NAME};
use golive::sandbox::{Sandbox, SandboxOptions};
use tokio_util::sync::CancellationToken;

const WINDOW: Duration = Duration::from_secs(5);
const ROUNDS: usize = 3;

/// CPU time of this process so far (user + system).
fn process_cpu() -> Duration {
    // SAFETY: getrusage only writes into the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// CPU time of process `pid` so far, from /proc (user + system).
fn pid_cpu(pid: i32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<u64> = after
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    let (utime, stime) = (
        fields.get(11).copied().unwrap_or(0),
        fields.get(12).copied().unwrap_or(0),
    );
    Duration::from_millis((utime + stime) * 1000 / ticks)
}

fn share(cpu: Duration, wall: Duration) -> f64 {
    cpu.as_secs_f64() / wall.as_secs_f64() * 100.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn sampler_pid(url: &str) -> i32 {
    let s = golive::pg::connect(url, "golive-sandbox-bench")
        .await
        .expect("connect");
    let row = s
        .client
        .query_one(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
            &[&SAMPLER_APP_NAME],
        )
        .await
        .expect("the sampler's backend");
    row.get(0)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let sandbox = Sandbox::start(&SandboxOptions::default())
            .await
            .expect("the sandbox starts (is PostgreSQL installed?)");
        let url = sandbox.superuser_url().to_string();
        tokio::time::sleep(Duration::from_secs(2)).await; // traffic under way
        let (mut off, mut on, mut backend, mut reads) = (vec![], vec![], vec![], 0usize);
        for _ in 0..ROUNDS {
            let (c0, t0) = (process_cpu(), Instant::now());
            tokio::time::sleep(WINDOW).await;
            off.push(share(process_cpu() - c0, t0.elapsed()));

            let handle = LockSampler::start(&url, CancellationToken::new())
                .await
                .expect("sampler");
            let pid = sampler_pid(&url).await;
            let (c0, b0, t0) = (process_cpu(), pid_cpu(pid), Instant::now());
            tokio::time::sleep(WINDOW).await;
            let (c1, b1, wall) = (process_cpu(), pid_cpu(pid), t0.elapsed());
            reads += handle.finish().await.len();
            on.push(share(c1 - c0, wall));
            backend.push(share(b1 - b0, wall));
        }
        sandbox.shutdown().await;
        let (off, on, backend) = (median(off), median(on), median(backend));
        let client = (on - off).max(0.0);
        println!(
            "lock sampler, {ROUNDS} x {}s windows under sandbox traffic: this process {off:.2} % of \
             a core off, {on:.2} % on (client side +{client:.2} %); the sampler's backend \
             {backend:.2} %; total {:.2} % of a core (target < 2 %); {reads} reads, {:.1} per second",
            WINDOW.as_secs(),
            client + backend,
            reads as f64 / (ROUNDS as f64 * WINDOW.as_secs_f64()),
        );
    });
}
