//! The runbook's monitor steps through the real binary, headless: a watch that cannot see (the
//! metrics URL has nothing behind it, the canary's database is unreachable) is inconclusive,
//! which fails the step unless `--approve` accepts it (journaled); a baseline step stores the
//! baseline, measured before the step after it, and the later watch names its window.

#![allow(clippy::unwrap_used)]

mod common;

use serde_json::Value;

use common::{TempDir, latest_run, run, text};

/// A closed port on 127.0.0.1: bound, then released.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a port")
        .port()
}

/// A runbook with a baseline, a change and a watch, all blind.
fn blind_runbook(dir: &TempDir) -> (String, Vec<(&'static str, String)>) {
    let app = closed_port();
    let db = closed_port();
    let text = format!(
        r#"[runbook]
name = "blind watch"

[vars]
APP_URL = {{ required = true }}
APP_DATABASE_URL = {{ required = true, secret = true }}

[[steps]]
id = "baseline"
title = "Baseline"
kind = "monitor"
baseline = true
duration = "2s"

[[steps]]
id = "change"
title = "The change the watch guards"
kind = "shell"
run = "echo changed"

[[steps]]
id = "monitor"
title = "Watch"
kind = "monitor"
duration = "3s"

[monitor]
refresh = "1s"
refresh_later = "1s"

[monitor.sources]
metrics_url = "http://127.0.0.1:{app}/metrics"

[monitor.canary]
database = "APP_DATABASE_URL"
"#
    );
    let path = dir.write("runbook.toml", &text).display().to_string();
    let env = vec![
        ("APP_URL", format!("http://127.0.0.1:{app}")),
        (
            "APP_DATABASE_URL",
            format!("postgres://app_user:canary-pw@127.0.0.1:{db}/shop"),
        ),
    ];
    (path, env)
}

fn golive_run(rb: &str, env: &[(&'static str, String)], flags: &[&str]) -> std::process::Output {
    let mut args = vec!["run", rb, "--headless"];
    args.extend_from_slice(flags);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run(&args, &env)
}

fn journal(run_dir: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(run_dir.join("journal.jsonl"))
        .expect("journal")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON record"))
        .collect()
}

fn finished<'a>(journal: &'a [Value], step: &str) -> &'a Value {
    journal
        .iter()
        .rev()
        .find(|e| e["event"] == "step_finished" && e["step"] == step)
        .unwrap_or_else(|| panic!("`{step}` finished: {journal:?}"))
}

#[test]
fn a_blind_watch_fails_the_step_headless_unless_approved_and_the_acceptance_is_journaled() {
    let dir = TempDir::new("blind-step");
    let (rb, env) = blind_runbook(&dir);

    // The baseline is accepted on the command line, the watch is not: the watch step fails.
    let out = golive_run(&rb, &env, &["--approve", "baseline"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("NOT ACCEPTED: The watch `monitor` was inconclusive"),
        "{log}"
    );
    assert!(!log.contains("canary-pw"), "no secret on screen: {log}");
    let j = journal(&latest_run(dir.path()));
    let monitor = finished(&j, "monitor");
    assert_eq!(monitor["state"], "failed", "{monitor}");
    let detail = monitor["detail"].as_str().expect("detail");
    assert!(
        detail.starts_with("the watch was inconclusive: APP_METRICS_URL http://127.0.0.1:")
            && detail.contains("never answered")
            && detail.contains("the isolation canary never answered"),
        "{detail}"
    );
    assert!(
        j.iter().any(|e| e["event"] == "refused"
            && e["step"] == "monitor"
            && e["what"] == "accept inconclusive watch"),
        "the refusal is journaled: {j:?}"
    );
    assert_eq!(finished(&j, "baseline")["state"], "passed");

    // Approved: the inconclusive watch passes, journaled as accepted on the command line.
    let out = golive_run(
        &rb,
        &env,
        &["--approve", "baseline", "--approve", "monitor", "--json"],
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    let run_dir = latest_run(dir.path());
    let j = journal(&run_dir);
    let accepted: Vec<&Value> = j
        .iter()
        .filter(|e| e["event"] == "confirmed" && e["what"] == "accept inconclusive watch")
        .collect();
    assert_eq!(accepted.len(), 2, "{j:?}");
    assert!(
        accepted.iter().all(|e| e["by"]
            .as_str()
            .unwrap()
            .ends_with("(approved on the command line)")),
        "{accepted:?}"
    );
    let monitor = finished(&j, "monitor");
    assert_eq!(monitor["state"], "passed");
    assert!(
        monitor["detail"]
            .as_str()
            .unwrap()
            .starts_with("inconclusive watch accepted as passed by "),
        "{monitor}"
    );

    // The baseline was measured before `change`, and the watch's snapshots say so.
    let baseline: Value = serde_json::from_str(
        &std::fs::read_to_string(run_dir.join("baseline.json")).expect("baseline.json"),
    )
    .expect("JSON");
    assert_eq!(baseline["before"], "change", "{baseline}");
    assert_eq!(baseline["window_seconds"], 2, "{baseline}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let snapshot = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["event"] == "monitor" && e["step"] == 2)
        .expect("a snapshot of the watch");
    assert_eq!(
        snapshot["snapshot"]["panels"][0]["baseline_over"], "2s before change",
        "{snapshot}"
    );

    // The on-call's `golive monitor` of the same runbook compares against that baseline too.
    let mut args = vec!["monitor", &rb, "--headless", "--json", "--refresh", "1s"];
    args.extend(["--for", "2s"]);
    let env2: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = run(&args, &env2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "still blind: {stderr}");
    assert!(
        stderr.contains("baseline: over 2s before change (at "),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last: Value = serde_json::from_str(stdout.lines().last().expect("a snapshot")).unwrap();
    assert_eq!(last["panels"][0]["baseline_over"], "2s before change");
    assert_eq!(last["verdict"], "inconclusive");
}
