//! `golive rehearse --targets N` through the real binary, on N real sandboxes (each its own
//! PostgreSQL cluster, app and traffic): the fleet passes end to end wave by wave, and a
//! game-day fault on the second wave's target halts it before the third wave.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use common::{TempDir, cluster_dirs_of, golive, latest_run, shipped_runbook_dir, text};

fn rehearse(dir: &TempDir, args: &[&str]) -> Output {
    let child = golive()
        .current_dir(dir.path())
        .args(["rehearse", "--targets", "4", "--headless", "--approve-all"])
        // A rehearsal compresses time; four sandboxes share the machine.
        .args(["--watch", "10s", "--pace", "200ms"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start golive rehearse");
    let pid = child.id();
    let out = child.wait_with_output().expect("wait for golive");
    assert!(
        cluster_dirs_of(pid).is_empty(),
        "a sandbox was left behind: {:?}",
        cluster_dirs_of(pid)
    );
    out
}

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// (outcome of its run, passed steps) from a target's own journal.
fn target(run: &Path, name: &str) -> (Option<String>, Vec<String>) {
    let records = jsonl(&run.join("targets").join(name).join("journal.jsonl"));
    let outcome = records
        .iter()
        .rfind(|r| r["event"] == "run_finished")
        .map(|r| r["outcome"].as_str().unwrap().to_string());
    let passed = records
        .iter()
        .filter(|r| r["event"] == "step_finished" && r["state"] == "passed")
        .map(|r| r["step"].as_str().unwrap().to_string())
        .collect();
    (outcome, passed)
}

#[test]
fn four_sandboxes_go_live_in_three_waves() {
    let dir = shipped_runbook_dir("fleet-rehearse-pass");
    let out = rehearse(&dir, &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let run = latest_run(dir.path());
    for name in ["t1", "t2", "t3", "t4"] {
        let (outcome, passed) = target(&run, name);
        assert_eq!(outcome.as_deref(), Some("passed"), "{name}: {all}");
        assert!(passed.iter().any(|s| s == "flags-on"), "{name}: {passed:?}");
        assert!(
            all.contains(&format!("target {name}: the traffic oracle judged")),
            "{all}"
        );
    }
    let fleet = jsonl(&run.join("fleet.jsonl"));
    let waves: Vec<(String, Vec<String>)> = fleet
        .iter()
        .filter(|r| r["event"] == "wave_started")
        .map(|r| {
            (
                r["wave"].as_str().unwrap().to_string(),
                serde_json::from_value(r["targets"].clone()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        waves,
        [
            ("wave-1".to_string(), vec!["t1".to_string()]),
            ("wave-2".to_string(), vec!["t2".to_string()]),
            (
                "wave-3".to_string(),
                vec!["t3".to_string(), "t4".to_string()]
            ),
        ]
    );
    let last = fleet.last().unwrap();
    assert_eq!(last["event"], "fleet_finished");
    assert_eq!(last["outcome"], "passed");
}

#[test]
fn a_fault_on_the_second_wave_halts_the_fleet_before_the_third() {
    let dir = shipped_runbook_dir("fleet-rehearse-halt");
    let out = rehearse(&dir, &["--scenario", "fail-open-policy"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("scenario fail-open-policy on t2"), "{all}");
    let run = latest_run(dir.path());
    // The canary went live.
    let (outcome, passed) = target(&run, "t1");
    assert_eq!(outcome.as_deref(), Some("passed"), "{all}");
    assert!(passed.iter().any(|s| s == "flags-on"), "{passed:?}");
    // The second wave's target failed where the fault is caught, before its flags went on.
    let (outcome, passed) = target(&run, "t2");
    assert_eq!(outcome.as_deref(), Some("failed"), "{all}");
    assert!(!passed.iter().any(|s| s == "flags-on"), "{passed:?}");
    // The third wave never started: no run journal at all.
    for name in ["t3", "t4"] {
        assert!(!run.join("targets").join(name).exists(), "{name}: {all}");
    }
    let fleet = jsonl(&run.join("fleet.jsonl"));
    let halted: Vec<&Value> = fleet.iter().filter(|r| r["event"] == "halted").collect();
    assert_eq!(halted.len(), 1, "{fleet:#?}");
    assert_eq!(halted[0]["target"], "t2");
    assert_eq!(halted[0]["wave"], "wave-2");
    assert!(
        halted[0]["reason"].as_str().unwrap().contains("verify-rls"),
        "{}",
        halted[0]
    );
    assert!(
        !fleet
            .iter()
            .any(|r| r["event"] == "wave_started" && r["wave"] == "wave-3")
    );
    assert_eq!(fleet.last().unwrap()["outcome"], "halted");
}
