//! `golive run --targets TARGETS.toml` through the real binary: waves in order, one approval per
//! wave, a halt at the first target that does not pass (the wave's others stop at a step
//! boundary, no later wave starts), `--resume` skipping the targets that passed, and a target
//! whose go-live lock (on a real PostgreSQL) is held by another operator.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

use common::{Db, TempDir, golive, latest_run, text};

/// Four shell steps; `drop` is destructive; `$FAIL` makes `drop` fail, `$SLOW` makes `one` slow.
const RUNBOOK: &str = r#"
[runbook]
name = "fleet demo"

[vars]
NAME = { required = true }
FAIL = { default = "" }
SLOW = { default = "0" }

[[steps]]
id = "one"
title = "One"
kind = "shell"
run = 'echo "hello from $NAME as $GOLIVE_TARGET"; sleep "$SLOW"'

[[steps]]
id = "drop"
title = "Drop"
kind = "shell"
destructive = true
run = 'test -z "$FAIL"'

[[steps]]
id = "three"
title = "Three"
kind = "shell"
run = 'echo three'

[[rollback]]
id = "undo"
title = "Undo the drop"

[[rollback.steps]]
id = "restore"
title = "Restore what the drop took"
kind = "shell"
destructive = true
run = 'echo "undone on $NAME"'
"#;

fn fleet_dir(tag: &str, targets: &str) -> TempDir {
    let dir = TempDir::new(tag);
    dir.write("runbook.toml", RUNBOOK);
    dir.write("TARGETS.toml", targets);
    dir
}

fn fleet(dir: &TempDir, args: &[&str]) -> std::process::Output {
    golive()
        .current_dir(dir.path())
        .args(["run", "--targets", "TARGETS.toml", "--headless"])
        .args(args)
        .output()
        .expect("run golive")
}

fn records(run: &Path) -> Vec<Value> {
    std::fs::read_to_string(run.join("fleet.jsonl"))
        .expect("fleet.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON record a line"))
        .collect()
}

fn events<'a>(records: &'a [Value], event: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["event"] == event).collect()
}

/// The outcome in a target's own journal, `None` when it has none (never started).
fn target_outcome(run: &Path, target: &str) -> Option<String> {
    let journal: PathBuf = run.join("targets").join(target).join("journal.jsonl");
    let text = std::fs::read_to_string(journal).ok()?;
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .rfind(|r| r["event"] == "run_finished")
        .map(|r| r["outcome"].as_str().unwrap_or_default().to_string())
}

/// A target's own journal records of kind `event`.
fn target_records(run: &Path, target: &str, event: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(run.join("targets").join(target).join("journal.jsonl"))
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["event"] == event)
        .collect()
}

fn step_states(run: &Path, target: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(run.join("targets").join(target).join("journal.jsonl"))
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["event"] == "step_finished")
        .map(|r| {
            (
                r["step"].as_str().unwrap().to_string(),
                r["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const FOUR: &str = r#"
[[target]]
name = "a"
vars = { NAME = "A" }
[[target]]
name = "b"
vars = { NAME = "B" }
[[target]]
name = "c"
vars = { NAME = "C" }
[[target]]
name = "d"
vars = { NAME = "D" }
[waves]
plan = [1, "50%", "100%"]
parallel = 2
pause = "1s"
"#;

#[test]
fn a_fleet_passes_wave_by_wave_with_one_approval_per_wave() {
    let dir = fleet_dir("fleet-pass", FOUR);
    let out = fleet(&dir, &["--approve", "drop"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let run = latest_run(dir.path());
    for t in ["a", "b", "c", "d"] {
        assert_eq!(
            target_outcome(&run, t).as_deref(),
            Some("passed"),
            "{t}: {all}"
        );
    }
    // The pause between waves is a countdown line.
    assert!(all.contains("── pause: wave-2 starts in 1s"), "{all}");
    // Each target's own variables reached its commands.
    assert!(
        all.contains("[c] one") && all.contains("hello from C as c"),
        "{all}"
    );
    let recs = records(&run);
    let waves: Vec<&str> = events(&recs, "wave_started")
        .iter()
        .map(|r| r["wave"].as_str().unwrap())
        .collect();
    assert_eq!(waves, ["wave-1", "wave-2", "wave-3"]);
    let confirmed = events(&recs, "wave_confirmed");
    assert_eq!(confirmed.len(), 3, "one confirmation per wave: {recs:#?}");
    assert_eq!(confirmed[2]["targets"], serde_json::json!(["c", "d"]));
    assert_eq!(confirmed[2]["step"], "drop");
    assert!(
        confirmed[2]["by"]
            .as_str()
            .unwrap()
            .contains("command line")
    );
    // Wave 3 starts only after wave 2 finished.
    let order: Vec<String> = recs
        .iter()
        .map(|r| {
            format!(
                "{}:{}",
                r["event"].as_str().unwrap(),
                r["wave"].as_str().or(r["target"].as_str()).unwrap_or("")
            )
        })
        .collect();
    let wave2_done = order
        .iter()
        .position(|e| e == "wave_finished:wave-2")
        .unwrap();
    let c_started = order.iter().position(|e| e == "target_started:c").unwrap();
    assert!(wave2_done < c_started, "{order:#?}");
    assert_eq!(events(&recs, "fleet_finished")[0]["outcome"], "passed");
    // A target's own journal, and its report, say the step was confirmed once for its wave
    // (here on the command line), not that anyone typed the target's name.
    let own = target_records(&run, "c", "confirmed");
    assert_eq!(own.len(), 1, "{own:#?}");
    assert_eq!(own[0]["step"], "drop");
    assert_eq!(own[0]["for_wave"], "wave-3", "{:#?}", own[0]);
    let by = own[0]["by"].as_str().unwrap();
    assert!(
        by.contains("approved on the command line") && by.ends_with("once for fleet wave `wave-3`"),
        "{by}"
    );
    assert!(!by.contains("typed"), "{by}");
    let report = golive()
        .arg("report")
        .arg(run.join("targets/c"))
        .output()
        .expect("golive report");
    let report = text(&report);
    assert!(report.contains("once for fleet wave `wave-3`"), "{report}");
    assert!(!report.contains("typed the target"), "{report}");
}

#[test]
fn a_failing_target_halts_its_wave_at_a_step_boundary_and_no_later_wave_starts() {
    // Wave 2 is b and c together: b fails at `drop` while c is still in its slow `one`.
    let targets = r#"
[[target]]
name = "a"
vars = { NAME = "A" }
[[target]]
name = "b"
vars = { NAME = "B", FAIL = "yes" }
[[target]]
name = "c"
vars = { NAME = "C", SLOW = "3" }
[[target]]
name = "d"
vars = { NAME = "D" }
[waves]
plan = [1, 3, "100%"]
parallel = 2
"#;
    let dir = fleet_dir("fleet-halt", targets);
    let out = fleet(&dir, &["--approve-all"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let run = latest_run(dir.path());
    assert_eq!(target_outcome(&run, "a").as_deref(), Some("passed"));
    assert_eq!(target_outcome(&run, "b").as_deref(), Some("failed"));
    // c finished the step it was in, then stopped before the next one: resumable.
    assert_eq!(
        target_outcome(&run, "c").as_deref(),
        Some("interrupted"),
        "{all}"
    );
    assert_eq!(
        step_states(&run, "c"),
        [("one".to_string(), "passed".to_string())]
    );
    // d, in wave 3, never started.
    assert!(!run.join("targets/d").exists(), "{all}");
    let recs = records(&run);
    let halted = events(&recs, "halted");
    assert_eq!(halted.len(), 1, "{recs:#?}");
    assert_eq!(halted[0]["target"], "b");
    assert_eq!(halted[0]["wave"], "wave-2");
    assert!(
        halted[0]["reason"]
            .as_str()
            .unwrap()
            .contains("`drop` failed")
    );
    assert!(
        events(&recs, "wave_started")
            .iter()
            .all(|r| r["wave"] != "wave-3")
    );
    assert_eq!(events(&recs, "fleet_finished")[0]["outcome"], "halted");

    // A different fleet is not resumed as this one.
    dir.write(
        "TARGETS.toml",
        &targets.replace("name = \"d\"", "name = \"e\""),
    );
    let out = fleet(&dir, &["--approve-all", "--resume"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("wave-3: d"), "{}", text(&out));

    // Fixed, the fleet resumes: a is not run again, b and c resume their own runs, d runs.
    dir.write("TARGETS.toml", &targets.replace(", FAIL = \"yes\"", ""));
    let out = fleet(&dir, &["--approve-all", "--resume"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert_eq!(latest_run(dir.path()), run, "the same fleet run continues");
    for t in ["a", "b", "c", "d"] {
        assert_eq!(
            target_outcome(&run, t).as_deref(),
            Some("passed"),
            "{t}: {all}"
        );
    }
    let recs = records(&run);
    let skipped: Vec<&Value> = events(&recs, "target_skipped");
    assert_eq!(skipped.len(), 1, "{recs:#?}");
    assert_eq!(skipped[0]["target"], "a");
    // c's `one` passed before the halt and did not run again.
    assert_eq!(
        step_states(&run, "c")
            .iter()
            .filter(|(s, _)| s == "one")
            .count(),
        1
    );
}

#[test]
fn headless_without_approvals_runs_nothing_and_a_bad_targets_file_is_pointed_at() {
    let dir = fleet_dir("fleet-refused", FOUR);
    let out = fleet(&dir, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("--approve"), "{}", text(&out));
    assert!(!dir.join(".golive").exists());

    dir.write("TARGETS.toml", &FOUR.replace("\"50%\"", "\"25%\""));
    let out = fleet(&dir, &["--approve-all"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // 25% of 4 is 1, the canary's count: the entry is pointed at.
    assert!(
        text(&out).contains("TARGETS.toml:15:12: plan entry \"25%\""),
        "{}",
        text(&out)
    );
}

#[test]
fn a_target_whose_lock_another_operator_holds_is_refused_and_halts_the_fleet() {
    let dbs: Vec<Db> = (0..2).map(|_| Db::phase1()).collect();
    // The same runbook, with the go-live lock on each target's database.
    let runbook = RUNBOOK.replace(
        "name = \"fleet demo\"\n\n[vars]\n",
        "name = \"fleet demo\"\nlock = \"DATABASE_URL\"\nregistry = false\n\n[vars]\n\
         DATABASE_URL = { required = true, secret = true }\n",
    );
    assert!(runbook.contains("lock ="));
    let targets = format!(
        "[[target]]\nname = \"a\"\nvars = {{ NAME = \"A\", DATABASE_URL = \"{}\" }}\n\
         [[target]]\nname = \"b\"\nvars = {{ NAME = \"B\", DATABASE_URL = \"{}\" }}\n\
         [waves]\nplan = [\"100%\"]\nparallel = 2\n",
        dbs[0].owner_url(),
        dbs[1].owner_url()
    );
    let dir = fleet_dir("fleet-lock", &targets);
    dir.write("runbook.toml", &runbook);
    // Another operator's run holds b's lock.
    let other = TempDir::new("fleet-lock-other");
    other.write(
        "runbook.toml",
        &runbook.replace("sleep \"$SLOW\"", "sleep 60"),
    );
    let mut holder = golive()
        .current_dir(other.path())
        .args(["run", "--headless", "--approve-all"])
        .env("NAME", "other")
        .env("DATABASE_URL", dbs[1].owner_url())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("holder");
    common::wait_for(&other.join(".golive/runs"));
    let start = std::time::Instant::now();
    while common::value(
        &dbs[1].admin_url(),
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'",
    )
    .as_deref()
        != Some("1")
    {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "the holder never locked"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = fleet(&dir, &["--approve-all"]);
    let _ = holder.kill();
    let _ = holder.wait();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(3), "{all}");
    let run = latest_run(dir.path());
    let recs = records(&run);
    let b = events(&recs, "target_finished")
        .into_iter()
        .find(|r| r["target"] == "b")
        .cloned()
        .expect("b finished");
    assert_eq!(b["outcome"], "refused");
    assert!(b["message"].as_str().unwrap().contains("held by"), "{b}");
    assert_eq!(events(&recs, "halted")[0]["target"], "b");
    // The password of a target's URL is in no fleet record, nor in the fleet's log.
    let log = std::fs::read_to_string(run.join("golive.log")).unwrap();
    assert!(log.contains("fleet run started"), "{log}");
    assert!(!log.contains("owner-secret-pw"), "{log}");
    assert!(
        !std::fs::read_to_string(run.join("fleet.jsonl"))
            .unwrap()
            .contains("owner-secret-pw")
    );
}

#[test]
fn a_fleet_killed_mid_wave_resumes_where_it_stopped() {
    let targets = |slow: &str| {
        format!(
            "[[target]]\nname = \"a\"\nvars = {{ NAME = \"A\" }}\n\
             [[target]]\nname = \"b\"\nvars = {{ NAME = \"B\", SLOW = \"{slow}\" }}\n\
             [[target]]\nname = \"c\"\nvars = {{ NAME = \"C\", SLOW = \"{slow}\" }}\n\
             [waves]\nplan = [1, \"100%\"]\nparallel = 2\n"
        )
    };
    let dir = fleet_dir("fleet-kill", &targets("60"));
    let mut child = golive()
        .current_dir(dir.path())
        .args([
            "run",
            "--targets",
            "TARGETS.toml",
            "--headless",
            "--approve-all",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the fleet");
    common::wait_for(&dir.join(".golive/runs"));
    let run = latest_run(dir.path());
    let pidfiles: Vec<PathBuf> = ["b", "c"]
        .iter()
        .map(|t| run.join("targets").join(t).join("steps/one.pid"))
        .collect();
    for pidfile in &pidfiles {
        common::wait_for(pidfile);
    }
    // Mid-wave: both targets of wave 2 are in their slow first step.
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    // The operator stops what the killed run left running.
    for pidfile in &pidfiles {
        common::kill_group_in(pidfile);
    }
    assert_eq!(target_outcome(&run, "a").as_deref(), Some("passed"));
    assert_eq!(target_outcome(&run, "b"), None, "b was cut off mid-step");

    dir.write("TARGETS.toml", &targets("0"));
    let out = fleet(&dir, &["--approve-all", "--resume"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert_eq!(latest_run(dir.path()), run);
    for t in ["a", "b", "c"] {
        assert_eq!(
            target_outcome(&run, t).as_deref(),
            Some("passed"),
            "{t}: {all}"
        );
    }
    let recs = records(&run);
    assert_eq!(events(&recs, "fleet_resumed").len(), 1);
    assert_eq!(events(&recs, "target_skipped")[0]["target"], "a");
    let resumed: Vec<&str> = events(&recs, "target_started")
        .iter()
        .filter(|r| r["resumed"] == true)
        .map(|r| r["target"].as_str().unwrap())
        .collect();
    assert_eq!(resumed.len(), 2, "{recs:#?}");
    // The interrupted step ran again only once confirmed, once for the wave.
    let rerun = events(&recs, "wave_confirmed")
        .into_iter()
        .filter(|r| r["step"] == "one")
        .count();
    assert_eq!(rerun, 1, "{recs:#?}");
    assert_eq!(
        events(&recs, "fleet_finished").last().unwrap()["outcome"],
        "passed"
    );
}

#[test]
fn after_a_halt_the_targets_that_changed_are_rolled_back_as_one_set() {
    let dir = fleet_dir(
        "fleet-rollback",
        &FOUR.replace("NAME = \"B\"", "NAME = \"B\", FAIL = \"yes\""),
    );
    let out = fleet(&dir, &["--approve-all"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let go_live = latest_run(dir.path());

    // Headless, the rollback's destructive step needs its approval like any other.
    let out = fleet(&dir, &["--procedure", "undo"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("undo/restore"), "{}", text(&out));

    let out = fleet(&dir, &["--procedure", "undo", "--approve", "undo/restore"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    // The canary went live, and b failed in its destructive `drop` (which may have done part
    // of its work): both are rolled back, and golive says why each. c and d never started.
    assert!(
        all.contains("changed: a (went live), b (failed after `drop` began)"),
        "{all}"
    );
    assert!(
        all.contains("undone on A") && all.contains("undone on B"),
        "{all}"
    );
    assert!(!all.contains("undone on C"), "{all}");
    let rollback = latest_run(dir.path());
    assert_ne!(rollback, go_live, "the rollback is a fleet run of its own");
    for t in ["a", "b"] {
        assert_eq!(
            target_outcome(&rollback, t).as_deref(),
            Some("rolled_back"),
            "{t}: {all}"
        );
    }
    assert!(!rollback.join("targets/c").exists());
    let recs = records(&rollback);
    assert_eq!(events(&recs, "fleet_started")[0]["procedure"], "undo");
    let confirmed = events(&recs, "wave_confirmed");
    assert_eq!(confirmed.len(), 1, "{recs:#?}");
    assert_eq!(confirmed[0]["wave"], "rollback-undo");
    assert_eq!(confirmed[0]["targets"], serde_json::json!(["a", "b"]));
    assert_eq!(events(&recs, "fleet_finished")[0]["outcome"], "passed");
    // The go-live's own record is untouched: a --resume continues the go-live, not the rollback.
    assert_eq!(target_outcome(&go_live, "a").as_deref(), Some("passed"));
}

#[test]
fn check_with_targets_validates_the_fleet_without_running_anything() {
    let dir = fleet_dir("fleet-check", FOUR);
    let check = |dir: &TempDir| {
        golive()
            .current_dir(dir.path())
            .args(["check", "runbook.toml", "--targets", "TARGETS.toml"])
            .output()
            .expect("golive check")
    };
    let out = check(&dir);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains(
            "TARGETS.toml: ok — 4 target(s) in 3 wave(s) (wave-1: a; wave-2: b; wave-3: c, d), \
             2 at once, a plain wait of 1s between waves (no [monitor] to watch with)"
        ),
        "{all}"
    );
    assert!(all.contains("runbook.toml: ok"), "{all}");
    // A target without the variable the runbook requires is named.
    dir.write("TARGETS.toml", &FOUR.replace("vars = { NAME = \"B\" }", ""));
    let out = check(&dir);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("(target `b`)") && all.contains("NAME"),
        "{all}"
    );
    assert!(
        all.contains("1 required variable(s) are not set for its targets"),
        "{all}"
    );
    // A plan that does not rise is pointed at.
    dir.write(
        "TARGETS.toml",
        &FOUR.replace("[1, \"50%\", \"100%\"]", "[2, 1, 4]"),
    );
    let out = check(&dir);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("TARGETS.toml:"), "{all}");
    assert!(!dir.path().join(".golive").exists(), "check ran nothing");
}

#[test]
fn plan_with_targets_shows_each_targets_plan_in_wave_order_with_its_own_variables() {
    let dir = fleet_dir("fleet-plan", FOUR);
    // A destructive SQL step too: its target, and the name that confirms it.
    let runbook = RUNBOOK.replace(
        "SLOW = { default = \"0\" }",
        "SLOW = { default = \"0\" }\nDB = { default = \"postgres://owner:pw-9x@db-x:5432/shop\", secret = true }",
    ) + "\n[[steps]]\nid = \"purge\"\ntitle = \"Purge\"\nkind = \"sql\"\ndatabase = \"DB\"\n\
           sql = \"DELETE FROM things WHERE obsolete\"\ndestructive = true\n";
    dir.write("runbook.toml", &runbook);
    let out = golive()
        .current_dir(dir.path())
        .args(["plan", "runbook.toml", "--targets", "TARGETS.toml"])
        .output()
        .expect("golive plan");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.starts_with("fleet: 4 target(s) in 3 wave(s) (wave-1: a; wave-2: b; wave-3: c, d)"),
        "{all}"
    );
    let heads: Vec<&str> = all.lines().filter(|l| l.starts_with("── target")).collect();
    assert_eq!(
        heads,
        [
            "── target a (wave-1) ──",
            "── target b (wave-2) ──",
            "── target c (wave-3) ──",
            "── target d (wave-3) ──"
        ]
    );
    // Each target's destructive step is confirmed by its wave's name, as the console asks.
    assert!(
        all.contains("target: owner@db-x:5432/shop (confirmed once for wave-3 by typing `wave-3`)"),
        "{all}"
    );
    assert!(!all.contains("pw-9x"), "{all}");
    assert!(!dir.path().join(".golive").exists(), "plan ran nothing");
}
