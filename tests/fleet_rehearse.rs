//! `golive rehearse --targets N` through the real binary, on N real sandboxes (each its own
//! PostgreSQL cluster, app and traffic): the fleet passes end to end wave by wave, the live
//! targets watched between waves; a game-day fault on the second wave's target halts it before
//! the third wave; a regression that begins after the canary's own watch passed is caught by the
//! watch between waves, before the next wave starts.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use common::{TempDir, cluster_dirs_of, golive, latest_run, shipped_runbook_dir, text};

fn rehearse(dir: &TempDir, targets: &str, args: &[&str]) -> Output {
    let child = golive()
        .current_dir(dir.path())
        .args([
            "rehearse",
            "--targets",
            targets,
            "--headless",
            "--approve-all",
        ])
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
    let out = rehearse(&dir, "4", &[]);
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
    // Before each later wave every live target was watched (10 s, as --watch), and passed.
    let watched: Vec<(&str, &Value)> = fleet
        .iter()
        .filter(|r| r["event"] == "pause_started")
        .map(|r| (r["before"].as_str().unwrap(), &r["watched"]))
        .collect();
    assert_eq!(
        watched,
        [
            ("wave-2", &serde_json::json!(["t1"])),
            ("wave-3", &serde_json::json!(["t1", "t2"]))
        ]
    );
    let verdicts: Vec<&Value> = fleet
        .iter()
        .filter(|r| r["event"] == "target_watched")
        .collect();
    assert_eq!(verdicts.len(), 3, "{verdicts:#?}");
    assert!(
        verdicts.iter().all(|v| v["verdict"] == "passed"),
        "{verdicts:#?}"
    );
    assert!(all.contains("[t2] watch between waves"), "{all}");
    let last = fleet.last().unwrap();
    assert_eq!(last["event"], "fleet_finished");
    assert_eq!(last["outcome"], "passed");
}

#[test]
fn a_regression_after_the_canarys_own_watch_is_caught_between_waves() {
    let dir = shipped_runbook_dir("fleet-rehearse-late");
    // The 500s begin 20 s after the canary's flags go on: after its own 10 s watch passed.
    let args = ["--scenario", "late-5xx", "--scenario-target", "t1"];
    let out = rehearse(&dir, "2", &[&args[..], &["--pause", "90s"]].concat());
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let run = latest_run(dir.path());
    // The canary's own run passed, its monitor step included.
    let (outcome, passed) = target(&run, "t1");
    assert_eq!(outcome.as_deref(), Some("passed"), "{all}");
    assert!(passed.iter().any(|s| s == "monitor"), "{passed:?}");
    // The watch between waves breached on t1, and wave 2 never started.
    assert!(!run.join("targets").join("t2").exists(), "{all}");
    let fleet = jsonl(&run.join("fleet.jsonl"));
    let verdict = fleet
        .iter()
        .find(|r| r["event"] == "target_watched")
        .expect("t1 was watched between waves");
    assert_eq!(verdict["target"], "t1");
    assert_eq!(verdict["verdict"], "breached", "{verdict}");
    assert!(
        verdict["reasons"][0]
            .as_str()
            .unwrap()
            .contains("http_5xx_ratio"),
        "{verdict}"
    );
    let finished = fleet.iter().find(|r| r["event"] == "pause_finished");
    assert_eq!(finished.unwrap()["passed"], false);
    let halted = fleet.iter().find(|r| r["event"] == "halted").unwrap();
    assert_eq!(halted["target"], "t1");
    assert!(
        halted["reason"]
            .as_str()
            .unwrap()
            .starts_with("the watch before wave-2: breached"),
        "{halted}"
    );
    assert!(
        !fleet
            .iter()
            .any(|r| r["event"] == "wave_started" && r["wave"] == "wave-2")
    );
    assert_eq!(fleet.last().unwrap()["outcome"], "halted");
}

#[test]
fn a_fault_on_the_second_wave_halts_the_fleet_before_the_third() {
    let dir = shipped_runbook_dir("fleet-rehearse-halt");
    let args = ["--scenario", "fail-open-policy", "--rollback", "fast"];
    let out = rehearse(&dir, "4", &args);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("scenario fail-open-policy on t2"), "{all}");
    // The halted go-live, then the rollback of the set rehearsed on the same sandboxes.
    let mut runs: Vec<_> = std::fs::read_dir(dir.path().join(".golive/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    runs.sort();
    let [run, rollback] = &runs[..] else {
        panic!("a go-live and its rollback: {runs:?}\n{all}")
    };
    let run = run.clone();
    // Rolled back: the canary (live) and t2, whose RLS deployment (destructive) ran before its
    // audit failed; t3 and t4 never started.
    assert!(
        all.contains("t1 (went live), t2 (failed after `rls-enable` began)"),
        "{all}"
    );
    assert!(all.contains("the rollback of the set passed"), "{all}");
    let set = jsonl(&rollback.join("fleet.jsonl"));
    let wave = set
        .iter()
        .find(|r| r["event"] == "wave_started")
        .expect("the set's one wave");
    assert_eq!(wave["wave"], "rollback-fast");
    assert_eq!(wave["targets"], serde_json::json!(["t1", "t2"]));
    for name in ["t1", "t2"] {
        let (outcome, _) = target(rollback, name);
        assert_eq!(outcome.as_deref(), Some("rolled_back"), "{name}: {all}");
    }
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
