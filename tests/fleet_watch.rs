//! The pause between a fleet's waves, through the real binary: with a `[monitor]` table it is a
//! watch of every live target that must pass before the next wave starts (a watch that cannot
//! see halts the fleet, and `--resume` watches again rather than skipping it); without one it is
//! a plain wait. (A passing and a breached watch on real sandboxes: `fleet_rehearse`.)
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use serde_json::Value;

use common::{TempDir, golive, latest_run, text};

/// One harmless step; `[monitor]` added by the test that watches.
const RUNBOOK: &str = r#"
[runbook]
name = "watched fleet"

[[steps]]
id = "one"
title = "One"
kind = "shell"
run = 'echo "live on $GOLIVE_TARGET"'
"#;

/// A watch with no traffic source at all: blind by construction.
const MONITOR: &str = r#"
[monitor]
refresh = "1s"
windows = ["2s"]
"#;

const TWO: &str = r#"
[[target]]
name = "a"
[[target]]
name = "b"
[waves]
plan = [1, 2]
pause = "3s"
"#;

fn fleet(dir: &TempDir, args: &[&str]) -> std::process::Output {
    let mut cmd = golive();
    // Nothing from the environment may give the watch a source.
    for var in [
        "PROMETHEUS_URL",
        "APP_METRICS_URL",
        "APP_URL",
        "PG_LOG",
        "APP_DATABASE_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd.current_dir(dir.path())
        .args(["run", "--targets", "TARGETS.toml", "--headless"])
        .args(args)
        .output()
        .expect("run golive")
}

fn records(run: &Path, event: &str) -> Vec<Value> {
    std::fs::read_to_string(run.join("fleet.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("whole JSON lines"))
        .filter(|r| r["event"] == event)
        .collect()
}

#[test]
fn a_blind_watch_between_waves_halts_the_fleet_and_resume_watches_again() {
    let dir = TempDir::new("fleet-watch-blind");
    dir.write("runbook.toml", &format!("{RUNBOOK}{MONITOR}"));
    dir.write("TARGETS.toml", TWO);
    let out = fleet(&dir, &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let run = latest_run(dir.path());
    let started = records(&run, "pause_started");
    assert_eq!(started.len(), 1, "{all}");
    assert_eq!(started[0]["before"], "wave-2");
    assert_eq!(started[0]["watched"], serde_json::json!(["a"]));
    let watched = records(&run, "target_watched");
    assert_eq!(watched.len(), 1, "{all}");
    assert_eq!(watched[0]["target"], "a");
    assert_eq!(watched[0]["verdict"], "inconclusive");
    let reasons = watched[0]["reasons"].to_string();
    assert!(reasons.contains("http_5xx_ratio had no data"), "{reasons}");
    assert_eq!(records(&run, "pause_finished")[0]["passed"], false);
    let halted = &records(&run, "halted")[0];
    assert_eq!(halted["target"], "a");
    assert_eq!(halted["wave"], "wave-1");
    assert!(
        halted["reason"]
            .as_str()
            .unwrap()
            .starts_with("the watch before wave-2: inconclusive"),
        "{halted}"
    );
    // The second wave never started; the line output said why.
    assert!(!run.join("targets/b").exists(), "{all}");
    assert!(
        all.contains("[a] the watch before wave-2: inconclusive"),
        "{all}"
    );

    // Resumed, the canary is not run again, but its watch is: a halted watch is not a pass.
    let out = fleet(&dir, &["--resume"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert_eq!(latest_run(dir.path()), run, "the same fleet run continues");
    assert_eq!(records(&run, "target_skipped").len(), 1, "{all}");
    assert_eq!(records(&run, "pause_started").len(), 2, "{all}");
    assert_eq!(records(&run, "halted").len(), 2, "{all}");
    assert!(!run.join("targets/b").exists(), "{all}");
}

#[test]
fn a_pause_too_short_to_watch_is_refused_before_anything_runs() {
    let dir = TempDir::new("fleet-watch-short");
    dir.write("runbook.toml", &format!("{RUNBOOK}{MONITOR}"));
    dir.write(
        "TARGETS.toml",
        &TWO.replace("pause = \"3s\"", "pause = \"1500ms\""),
    );
    let out = fleet(&dir, &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("the pause between waves (1s 500ms) is too short to watch")
            && all.contains("make the pause at least 2s; nothing was run"),
        "{all}"
    );
    assert!(!dir.path().join(".golive/runs").exists(), "{all}");
}

#[test]
fn without_a_monitor_table_the_pause_is_a_plain_wait() {
    let dir = TempDir::new("fleet-watch-plain");
    dir.write("runbook.toml", RUNBOOK);
    dir.write("TARGETS.toml", TWO);
    let out = fleet(&dir, &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let run = latest_run(dir.path());
    let started = records(&run, "pause_started");
    assert_eq!(started.len(), 1, "{all}");
    assert_eq!(started[0]["watched"], serde_json::json!([]));
    assert_eq!(started[0]["pause_ms"], 3000);
    assert!(records(&run, "target_watched").is_empty(), "{all}");
    assert_eq!(records(&run, "pause_finished")[0]["passed"], true);
    assert!(all.contains("pause: wave-2 starts in"), "{all}");
    assert!(run.join("targets/b/journal.jsonl").exists(), "{all}");
}
