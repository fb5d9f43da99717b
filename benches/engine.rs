//! Engine benchmarks, side by side in one run (ratios, not absolute times, are what count on a
//! noisy machine):
//!
//! 1. output: a step printing 3,000,000 lines, run headless by golive (stdout to /dev/null),
//!    against the same command with its output sent to /dev/null; and golive's peak memory.
//! 2. `golive check` and `golive plan` of the shipped runbook.
//! 3. a 20-query verification through one reused connection (a golive SQL step) against the same
//!    20 queries run as `psql -c` invocations one by one.
//!
//! Run with `cargo bench --bench engine`. Needs PostgreSQL installed (it starts a throwaway
//! cluster for part 3).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use golive::pg::cluster::{Cluster, ClusterOptions};

const LINES: u32 = 3_000_000;

fn main() {
    // `cargo bench --bench engine -- check`: part 2 alone.
    if std::env::args().any(|a| a == "check") {
        check_and_plan();
        return;
    }
    let dir = std::env::temp_dir().join(format!("golive-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench dir");
    output(&dir);
    check_and_plan();
    sql_round_trips(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}

fn golive() -> Command {
    Command::new(env!("CARGO_BIN_EXE_golive"))
}

/// Wall time and peak RSS (KiB) of a child process.
fn measure(mut cmd: Command) -> (Duration, i64) {
    let start = Instant::now();
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run");
    let took = start.elapsed();
    assert!(status.success(), "{cmd:?} failed: {status}");
    // SAFETY: getrusage fills the struct we pass.
    let rss = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage.ru_maxrss
    };
    (took, rss)
}

fn best_of(n: usize, mut f: impl FnMut() -> (Duration, i64)) -> (Duration, i64) {
    (0..n).map(|_| f()).min_by_key(|(d, _)| *d).expect("runs")
}

fn output(dir: &Path) {
    let script = format!(
        "i=0; seq 1 {LINES} | sed 's/$/ lorem ipsum dolor sit amet, consectetur adipiscing/'"
    );
    let runbook = dir.join("output.toml");
    std::fs::write(
        &runbook,
        format!(
            "[runbook]\nname = \"output\"\n\n[[steps]]\nid = \"print\"\ntitle = \"Print\"\nkind = \"shell\"\nrun = \"{script}\"\n"
        ),
    )
    .expect("runbook");
    let (plain, _) = best_of(3, || {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &script]);
        measure(cmd)
    });
    let (with_golive, rss) = best_of(3, || {
        let mut cmd = golive();
        cmd.args(["run", &runbook.display().to_string(), "--headless"]);
        measure(cmd)
    });
    println!(
        "output: {LINES} lines: command alone {:.2}s, under golive headless {:.2}s: {:.2}x (target ≤ 2x); golive peak RSS {:.1} MiB (target < 64 MiB)",
        plain.as_secs_f64(),
        with_golive.as_secs_f64(),
        with_golive.as_secs_f64() / plain.as_secs_f64(),
        rss as f64 / 1024.0
    );
}

fn check_and_plan() {
    let runbook = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbook.toml");
    let env = [
        ("DATABASE_URL", "postgres://app_owner:pw@db:5432/shop"),
        ("APP_DATABASE_URL", "postgres://app_user:pw@db:5432/shop"),
        ("APP_URL", "https://shop.example.com"),
        ("TENANT_A", "a"),
        ("TENANT_B", "b"),
    ];
    let loaded = golive::runbook::load(&runbook).expect("the shipped runbook loads");
    let (lint, _) = best_of(20, || {
        let start = Instant::now();
        let findings = golive::lint::lint_runbook(&loaded);
        (start.elapsed(), findings.len() as i64)
    });
    println!(
        "lint: every SQL step of the shipped runbook in {:.2} ms (squawk parse and rules, in process)",
        lint.as_secs_f64() * 1000.0
    );
    for command in ["check", "plan"] {
        let (took, _) = best_of(20, || {
            let mut cmd = golive();
            cmd.args([command, &runbook.display().to_string()])
                .envs(env);
            measure(cmd)
        });
        println!(
            "{command}: shipped runbook in {:.1} ms, process start to exit (target < 20 ms)",
            took.as_secs_f64() * 1000.0
        );
    }
}

fn sql_round_trips(dir: &Path) {
    let cluster = Cluster::start(&ClusterOptions::default()).expect("PostgreSQL");
    let url = cluster.url("postgres");
    let queries: Vec<String> = (0..20)
        .map(|i| format!("SELECT count(*) FROM pg_class WHERE oid > {i}"))
        .collect();
    let runbook = dir.join("sql.toml");
    std::fs::write(
        &runbook,
        format!(
            "[runbook]\nname = \"sql\"\n\n[vars]\nDATABASE_URL = {{ required = true }}\n\n[[steps]]\nid = \"checks\"\ntitle = \"20 checks\"\nkind = \"sql\"\ndatabase = \"DATABASE_URL\"\nsql = \"{}\"\n",
            queries.join("; ")
        ),
    )
    .expect("runbook");
    let (with_golive, _) = best_of(5, || {
        let mut cmd = golive();
        cmd.args(["run", &runbook.display().to_string(), "--headless"])
            .env("DATABASE_URL", &url);
        measure(cmd)
    });
    let (with_psql, _) = best_of(5, || {
        let start = Instant::now();
        for q in &queries {
            let status = Command::new("psql")
                .args([url.as_str(), "-XAtqc", q])
                .stdout(Stdio::null())
                .status()
                .expect("psql");
            assert!(status.success());
        }
        (start.elapsed(), 0)
    });
    println!(
        "sql: 20 checks: golive (one process, one connection) {:.1} ms vs psql -c one by one {:.1} ms: {:.1}x faster",
        with_golive.as_secs_f64() * 1000.0,
        with_psql.as_secs_f64() * 1000.0,
        with_psql.as_secs_f64() / with_golive.as_secs_f64()
    );
}
