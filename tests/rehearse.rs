//! `golive rehearse` through the real binary, each from a temporary directory holding a copy of
//! the shipped runbook: the baseline passes and leaves nothing behind, every game-day scenario of
//! docs/scenarios.md ends as written there, and SIGTERM tears the sandbox down.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use serde_json::Value;

use common::{TempDir, assert_no_sandbox_left, golive, latest_run, shipped_runbook_dir};

/// Every rollback procedure of the shipped runbook: the engine offers them all when a main step
/// fails.
const ROLLBACKS: [&str; 4] = ["fast", "app", "database", "restore"];

/// A finished `golive rehearse --headless --approve-all --json`.
struct Rehearsal {
    dir: TempDir,
    code: Option<i32>,
    events: Vec<Value>,
    stderr: String,
}

/// Start `golive rehearse --headless --approve-all --json ARGS` in `dir`.
fn spawn(dir: &TempDir, args: &[&str]) -> Child {
    golive()
        .current_dir(dir.path())
        .args(["rehearse", "--headless", "--approve-all", "--json"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start golive rehearse")
}

fn parse_events(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn rehearse(tag: &str, args: &[&str]) -> Rehearsal {
    let dir = shipped_runbook_dir(tag);
    let child = spawn(&dir, args);
    let pid = child.id();
    let out = child.wait_with_output().expect("wait for golive");
    let rehearsal = Rehearsal {
        dir,
        code: out.status.code(),
        events: parse_events(&String::from_utf8_lossy(&out.stdout)),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_no_sandbox_left(pid, rehearsal.app_port());
    rehearsal
}

/// The `started` event's main steps, by index.
fn step_ids(events: &[Value]) -> Vec<String> {
    let started = events
        .iter()
        .find(|e| e["event"] == "started")
        .expect("a started event");
    started["run"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["procedure"].is_null())
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

/// The app's port, from the `started` event's `APP_URL` target.
fn app_port(events: &[Value]) -> u16 {
    let started = events.iter().find(|e| e["event"] == "started").unwrap();
    let url = started["run"]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t[0] == "APP_URL")
        .expect("APP_URL target")[1]
        .as_str()
        .unwrap();
    url.rsplit(':').next().unwrap().parse().unwrap()
}

impl Rehearsal {
    fn app_port(&self) -> u16 {
        app_port(&self.events)
    }

    fn step_index(&self, id: &str) -> usize {
        step_ids(&self.events)
            .iter()
            .position(|s| s == id)
            .unwrap_or_else(|| panic!("no step {id}"))
    }

    /// The steps that failed, in order.
    fn failed_steps(&self) -> Vec<String> {
        let ids = step_ids(&self.events);
        self.events
            .iter()
            .filter(|e| e["event"] == "step_state" && e["state"] == "failed")
            .map(|e| ids[e["step"].as_u64().unwrap() as usize].clone())
            .collect()
    }

    /// The single `failure` question: its step and the rollbacks it offers.
    fn failure_offer(&self) -> (String, Vec<String>, String) {
        let asks: Vec<&Value> = self
            .events
            .iter()
            .filter(|e| e["event"] == "ask" && e["question"]["kind"]["type"] == "failure")
            .collect();
        assert_eq!(asks.len(), 1, "{asks:?}");
        let q = &asks[0]["question"];
        let ids = step_ids(&self.events);
        let rollbacks = q["kind"]["rollbacks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect();
        (
            ids[q["step"].as_u64().unwrap() as usize].clone(),
            rollbacks,
            q["kind"]["error"].as_str().unwrap().to_string(),
        )
    }

    /// Everything step `id` printed.
    fn output_of(&self, id: &str) -> String {
        let idx = self.step_index(id) as u64;
        self.events
            .iter()
            .filter(|e| e["event"] == "output" && e["step"] == idx)
            .flat_map(|e| e["chunks"].as_array().unwrap().iter())
            .map(|c| c["text"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The last `step_finished` state the journal holds for each step, in journal order.
    fn journal_states(&self) -> Vec<(String, String)> {
        let text =
            std::fs::read_to_string(latest_run(self.dir.path()).join("journal.jsonl")).unwrap();
        let mut states: Vec<(String, String)> = Vec::new();
        for event in parse_events(&text) {
            if event["event"] != "step_finished" {
                continue;
            }
            let step = event["step"].as_str().unwrap().to_string();
            let state = event["state"].as_str().unwrap().to_string();
            states.retain(|(s, _)| *s != step);
            states.push((step, state));
        }
        states
    }

    fn journal_state(&self, id: &str) -> Option<String> {
        self.journal_states()
            .into_iter()
            .find_map(|(s, state)| (s == id).then_some(state))
    }

    /// The panels of the last dashboard refresh: `id → panel`.
    fn last_panels(&self) -> Vec<Value> {
        let snapshot = &self
            .events
            .iter()
            .rev()
            .find(|e| e["event"] == "monitor")
            .expect("a monitor event")["snapshot"];
        snapshot["panels"].as_array().unwrap().clone()
    }

    /// Assert the headless failure of a scenario: exit 1, `step` the only failure, every
    /// rollback offered; returns the failure's error.
    fn assert_fails_at(&self, step: &str) -> String {
        self.assert_fails_offering(step, &ROLLBACKS)
    }

    /// As [`Self::assert_fails_at`], with the rollbacks offered being `offered`.
    fn assert_fails_offering(&self, step: &str, offered: &[&str]) -> String {
        assert_eq!(self.code, Some(1), "{}", self.stderr);
        assert_eq!(self.failed_steps(), vec![step.to_string()]);
        let (asked_for, rollbacks, error) = self.failure_offer();
        assert_eq!(asked_for, step);
        assert_eq!(rollbacks, offered);
        assert_eq!(self.journal_state(step).as_deref(), Some("failed"));
        let finished = self.events.last().unwrap();
        assert_eq!(finished["event"], "finished");
        assert_eq!(finished["outcome"], "failed");
        error
    }
}

#[test]
fn the_shipped_runbook_passes_and_leaves_nothing_behind() {
    let r = rehearse("rehearse-pass", &["--watch", "10s"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let journaled = r.journal_states();
    for id in step_ids(&r.events) {
        assert!(
            journaled.contains(&(id.clone(), "passed".into())),
            "{id} not journaled as passed: {journaled:?}"
        );
    }
    assert_eq!(r.events.last().unwrap()["outcome"], "passed");
    assert!(r.stderr.contains("sandbox removed"), "{}", r.stderr);
}

#[test]
fn fail_open_policy_fails_verify_rls() {
    let r = rehearse("rehearse-fail-open", &["--scenario", "fail-open-policy"]);
    let error = r.assert_fails_at("verify-rls");
    assert!(error.contains("fail-open"), "{error}");
    assert_eq!(r.journal_state("rls-check").as_deref(), Some("passed"));
    let audit = r.output_of("verify-rls");
    assert!(
        audit.contains("support_dashboard_read USING (true)"),
        "{audit}"
    );
    assert_eq!(r.journal_state("flags-on"), None, "the flags never go on");
}

#[test]
fn legacy_wrapper_fails_verify_api_preview() {
    let r = rehearse("rehearse-legacy", &["--scenario", "legacy-wrapper"]);
    r.assert_fails_at("verify-api-preview");
    assert!(
        r.output_of("verify-api-preview")
            .contains("legacy v1 wrapper")
    );
    assert_eq!(r.journal_state("verify-rls").as_deref(), Some("passed"));
    assert_eq!(r.journal_state("flags-on"), None, "the flags never go on");
}

#[test]
fn five_xx_spike_fails_the_monitor_with_http_5xx_ratio_crit() {
    // The watch ends at the breach (3 refreshes of 5 s), well before 60 s.
    let r = rehearse(
        "rehearse-5xx",
        &["--scenario", "5xx-spike", "--watch", "60s"],
    );
    let error = r.assert_fails_at("monitor");
    assert!(error.contains("http_5xx_ratio"), "{error}");
    assert!(error.contains("fast rollback: flags off"), "{error}");
    for id in [
        "verify-rls",
        "verify-api-preview",
        "flags-on",
        "verify-api-live",
    ] {
        assert_eq!(r.journal_state(id).as_deref(), Some("passed"), "{id}");
    }
    let panels = r.last_panels();
    let crit: Vec<&str> = panels
        .iter()
        .filter(|p| p["state"] == "crit")
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(crit, ["http_5xx_ratio"], "{panels:?}");
    let p5 = panels.iter().find(|p| p["id"] == "http_5xx_ratio").unwrap();
    let on_route = p5["by_route"]["/api/invoices/<int:invoice_id>/items"]
        .as_f64()
        .unwrap();
    assert!((0.2..=0.4).contains(&on_route), "{p5}");
    let overall = p5["value"].as_f64().unwrap();
    assert!((0.05..=0.2).contains(&overall), "{p5}");
}

#[test]
fn slow_snapshot_fails_the_snapshot_instead_of_hanging() {
    let r = rehearse("rehearse-slow", &["--scenario", "slow-snapshot"]);
    // Nothing changed yet: no rollback is offered (no restore from a snapshot that failed), and
    // the error is pg_dump's cause, not the query it was running.
    let error = r.assert_fails_offering("snapshot", &[]);
    assert!(!error.contains("Query was"), "{error}");
    let dump = r.output_of("snapshot");
    assert!(
        dump.contains("LOCK TABLE public.customers IN ACCESS SHARE MODE"),
        "{dump}"
    );
    // It gave up at the lock wait, long before the batch job lets go of its lock.
    let idx = r.step_index("snapshot") as u64;
    let failed = r
        .events
        .iter()
        .find(|e| e["event"] == "step_state" && e["step"] == idx && e["state"] == "failed")
        .unwrap();
    let elapsed_ms = failed["elapsed"].as_u64().unwrap();
    assert!(
        elapsed_ms < golive::sandbox::SLOW_SNAPSHOT_HOLD.as_millis() as u64,
        "{failed}"
    );
}

#[test]
fn db_goes_away_fails_flags_on_and_leaves_the_flags_off() {
    let r = rehearse("rehearse-db-away", &["--scenario", "db-goes-away"]);
    let error = r.assert_fails_at("flags-on");
    assert!(error.contains("57P01"), "{error}");
    assert!(error.contains("rolled back"), "{error}");
    assert_eq!(
        r.journal_state("verify-api-preview").as_deref(),
        Some("passed")
    );
}

#[test]
fn sigterm_during_the_watch_tears_the_sandbox_down() {
    let dir = shipped_runbook_dir("rehearse-sigterm");
    let mut child = spawn(&dir, &["--watch", "5m"]);
    let pid = child.id();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut events = Vec::new();
    // The watch after flags-on (the baseline before it sends snapshots too).
    let mut monitor_step = None;
    for line in stdout.by_ref().map_while(Result::ok) {
        let event: Value = serde_json::from_str(&line).unwrap();
        if event["event"] == "started" {
            monitor_step = event["run"]["steps"]
                .as_array()
                .unwrap()
                .iter()
                .position(|s| s["id"] == "monitor" && s["procedure"].is_null());
        }
        let watching = event["event"] == "monitor"
            && event["step"].as_u64().map(|s| s as usize) == monitor_step;
        events.push(event);
        if watching {
            break;
        }
    }
    assert!(
        events.last().is_some_and(|e| e["event"] == "monitor"),
        "the rehearsal never reached the monitor step: {events:?}"
    );
    assert!(!common::cluster_dirs_of(pid).is_empty());
    golive::os::signal_process(pid as i32, golive::os::Sig::Term);
    let rest: Vec<String> = stdout.map_while(Result::ok).collect();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // Every line stays JSON, the signal notice included.
    let rest = parse_events(&rest.join("\n"));
    assert!(
        rest.iter()
            .any(|e| e["event"] == "signal" && e["signal"] == "SIGTERM"),
        "{rest:?}"
    );
    let finished = rest.last().cloned().unwrap();
    assert_eq!(finished["event"], "finished");
    assert_eq!(finished["outcome"], "interrupted", "{finished}");
    assert!(stderr.contains("sandbox removed"), "{stderr}");
    assert_no_sandbox_left(pid, app_port(&events));
    let text = std::fs::read_to_string(latest_run(dir.path()).join("journal.jsonl")).unwrap();
    assert!(
        common::has_record(
            &text,
            r#""event":"step_finished","step":"monitor","state":"interrupted""#
        ),
        "{text}"
    );
}

#[test]
fn without_a_runbook_here_the_shipped_one_is_rehearsed_from_the_binary() {
    let dir = TempDir::new("rehearse-embedded");
    let out = spawn(&dir, &["--watch", "5s"]).wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("rehearsing the shipped Phase 2 runbook"),
        "{stderr}"
    );
    let written = dir.join(".golive/phase2");
    assert_eq!(
        std::fs::read_to_string(written.join("runbook.toml")).unwrap(),
        std::fs::read_to_string(common::repo().join("runbook.toml")).unwrap()
    );
    assert!(written.join("assets/sql/rls-policies.sql").exists());
    assert!(
        !written.join("backups").exists(),
        "the rehearsal's snapshot belongs to the sandbox and goes with it"
    );
    let journal = std::fs::read_to_string(latest_run(&written).join("journal.jsonl")).unwrap();
    assert!(
        common::has_record(&journal, r#""outcome":"passed""#),
        "{journal}"
    );
}
