//! Rehearsals that tell the truth, through the real binary: the sandbox starts in the world
//! before the go-live (the Phase 1 build serving, no RLS), its traffic's oracle judges every
//! answer, so a runbook that enables RLS before the Phase 2 build is live fails with wrong
//! answers attributed to the step that began them; `--drill` proves every rollback from the
//! post-go-live state, and catches a rollback that brings the Phase 1 build back under RLS.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Output;

use serde_json::Value;

use common::{TempDir, golive, latest_run, shipped_runbook_dir};

/// `golive rehearse --headless --approve-all --json ARGS` in `dir`.
fn rehearse(dir: &TempDir, args: &[&str]) -> Output {
    golive()
        .current_dir(dir.path())
        .args(["rehearse", "--headless", "--approve-all", "--json"])
        .args(["--watch", "5s", "--pace", "300ms"])
        .args(args)
        .output()
        .expect("run golive rehearse")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The `[[steps]]` (or `[[rollback.steps]]`) table of `id` in `text`: from its header to the
/// next table header.
fn table_of(text: &str, header: &str, id: &str) -> (usize, usize) {
    let start = text
        .find(&format!("{header}\nid = \"{id}\""))
        .unwrap_or_else(|| panic!("no {header} {id}"));
    let after = start + header.len();
    let end = text[after..]
        .find("\n[[")
        .map_or(text.len(), |i| after + i + 1);
    (start, end)
}

/// Edit the runbook in `dir`.
fn edit_runbook(dir: &TempDir, edit: impl FnOnce(String) -> String) {
    let path = dir.join("runbook.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(text)).unwrap();
}

fn journal(dir: &TempDir) -> Vec<Value> {
    let text = std::fs::read_to_string(latest_run(dir.path()).join("journal.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_shipped_order_gives_no_wrong_answer_and_the_old_order_fails_at_rls_enable() {
    let good = shipped_runbook_dir("truth-good");
    let out = rehearse(&good, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stderr(&out);
    let judged: u64 = text
        .split("judged ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no oracle summary: {text}"));
    assert!(judged > 50, "the oracle judged {judged} answers: {text}");
    assert!(text.contains("none wrong"), "{text}");

    // The seed's order: RLS enabled and forced while the Phase 1 build still serves.
    let old = shipped_runbook_dir("truth-old-order");
    edit_runbook(&old, |text| {
        let (start, end) = table_of(&text, "[[steps]]", "rls-enable");
        let block = text[start..end].replace("requires = [\"app-health\"]\n", "");
        let text = format!("{}{}", &text[..start], &text[end..]);
        let at = text.find("[[steps]]\nid = \"app-deploy\"").unwrap();
        format!("{}{block}{}", &text[..at], &text[at..])
    });
    let out = rehearse(&old, &[]);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("REHEARSAL FAILED"), "{text}");
    let live: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["event"] == "wrong_answers")
        .collect();
    assert!(!live.is_empty(), "the wrong answers were shown live");
    let records = journal(&old);
    let wrong: Vec<&Value> = records
        .iter()
        .filter(|r| r["event"] == "wrong_answers")
        .collect();
    assert_eq!(
        wrong[0]["step"], "rls-enable",
        "attributed to the step that began them: {wrong:?}"
    );
    assert!(
        wrong[0]["example"]
            .as_str()
            .unwrap()
            .contains("empty answer"),
        "{wrong:?}"
    );
    let last = records.last().unwrap();
    assert_eq!(
        (&last["event"], &last["outcome"]),
        (&Value::from("run_finished"), &Value::from("failed"))
    );
    let report = golive()
        .args(["report"])
        .arg(latest_run(old.path()))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.contains("WRONG ANSWERS") && report.contains("during `rls-enable`"),
        "{report}"
    );
}

#[test]
fn every_rollback_is_drilled_from_the_post_go_live_state_and_proven_right() {
    let dir = shipped_runbook_dir("truth-drill");
    let out = rehearse(&dir, &["--drill"]);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for procedure in ["fast", "app", "database", "restore"] {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(procedure) && l.contains(" of "))
            .unwrap_or_else(|| panic!("no drill line for {procedure}: {text}"));
        assert!(
            line.contains("passed") && line.contains(" 0 wrong"),
            "{line}"
        );
    }
}

#[test]
fn a_drill_catches_the_app_rollback_that_brings_phase1_back_under_rls() {
    let dir = shipped_runbook_dir("truth-drill-app");
    edit_runbook(&dir, |text| {
        let app = text.find("[[rollback]]\nid = \"app\"").unwrap();
        let (start, end) = table_of(&text[app..], "[[rollback.steps]]", "rls-disable");
        format!("{}{}", &text[..app + start], &text[app + end..])
    });
    let out = rehearse(&dir, &["--drill"]);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let app = text
        .lines()
        .find(|l| l.trim_start().starts_with("app ") && l.contains(" of "))
        .unwrap_or_else(|| panic!("no drill line for app: {text}"));
    assert!(app.contains("FAILED"), "{app}");
    assert!(
        app.contains("app/redeploy") || app.contains("app/health"),
        "{app}"
    );
    let fast = text
        .lines()
        .find(|l| l.trim_start().starts_with("fast ") && l.contains(" of "))
        .unwrap();
    assert!(fast.contains("passed"), "the others still pass: {fast}");
}
