//! `golive attach RUN_DIR --headless [--json]` through the real binary, against a live driver:
//! it starts mid-run with the run so far, follows to the end printing what the driver's
//! `run --json` printed, and says when the driver died.

mod common;

use std::time::Duration;

use common::{TempDir, latest_run, run, spawn, text, wait_exit, wait_for};

fn runbook(dir: &TempDir, steps: &str) -> String {
    dir.write(
        "runbook.toml",
        &format!("[runbook]\nname = \"attach test\"\n\n{steps}"),
    )
    .display()
    .to_string()
}

fn wait_for_text(path: &std::path::Path, needle: &str) {
    let start = std::time::Instant::now();
    while !std::fs::read_to_string(path).is_ok_and(|t| t.contains(needle)) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{needle} never appeared in {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn attach_starts_mid_run_and_follows_it_to_the_end() {
    let dir = TempDir::new("attach-follow");
    let rb = runbook(
        &dir,
        r#"
[[steps]]
id = "slow"
title = "Slow"
kind = "shell"
run = "echo one; sleep 1; echo two; sleep 1"

[[steps]]
id = "after"
title = "After"
kind = "shell"
run = "echo done"
"#,
    );
    let driven = dir.join("driver.jsonl");
    let mut driver = common::golive()
        .args(["run", &rb, "--json"])
        .stdout(std::fs::File::create(&driven).expect("driver output"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the driver");
    wait_for(&dir.path().join(".golive/runs"));
    let run_dir = latest_run(dir.path());
    let journal = run_dir.join("journal.jsonl");
    wait_for_text(&journal, r#""step":"slow""#);
    let out = run(
        &[
            "attach",
            &run_dir.display().to_string(),
            "--headless",
            "--json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(wait_exit(&mut driver, Duration::from_secs(30)).success());
    let parse = |text: &str| -> Vec<serde_json::Value> {
        text.lines()
            .map(|l| serde_json::from_str(l).expect("one JSON event a line"))
            .collect()
    };
    let watched = parse(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        watched.first().map(|l| l["event"].clone()),
        Some("started".into())
    );
    assert!(
        watched
            .iter()
            .any(|l| l["event"] == "output" && l["chunks"][0]["text"] == "done"),
        "followed past the step it joined in: {watched:?}"
    );
    assert_eq!(
        watched,
        parse(&std::fs::read_to_string(&driven).expect("driver output")),
        "the driver's `run --json`, event for event"
    );
}

#[test]
fn attach_says_when_the_driver_died_mid_step() {
    let dir = TempDir::new("attach-crash");
    let pidfile = dir.join("step.pid");
    let rb = runbook(
        &dir,
        &format!(
            r#"
[[steps]]
id = "hang"
title = "Hangs"
kind = "shell"
run = "echo $$ > {}; sleep 60"
"#,
            pidfile.display()
        ),
    );
    let mut driver = spawn(&["run", &rb, "--headless"], &[]);
    wait_for(&pidfile);
    let run_dir = latest_run(dir.path()).display().to_string();
    let attach = std::thread::spawn(move || run(&["attach", &run_dir, "--headless"], &[]));
    std::thread::sleep(Duration::from_millis(300));
    driver.kill().expect("kill the driver");
    let _ = driver.wait();
    common::kill_group_in(&pidfile);
    let out = attach.join().expect("attach");
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("hang") && log.contains("running"), "{log}");
    assert!(log.contains("is gone without finishing the run"), "{log}");
}

#[test]
fn a_flood_of_output_is_capped_in_the_journal_and_whole_in_the_step_log() {
    let dir = TempDir::new("attach-flood");
    let rb = runbook(
        &dir,
        r#"
[[steps]]
id = "flood"
title = "Floods"
kind = "shell"
run = "seq 1 30000"
"#,
    );
    let out = run(&["run", &rb, "--headless"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let run_dir = latest_run(dir.path());
    let journal = std::fs::read_to_string(run_dir.join("journal.jsonl")).expect("journal");
    let texts: Vec<String> = journal
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a record"))
        .filter(|r| r["event"] == "output")
        .flat_map(|r| {
            r["chunks"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|c| c["text"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    let lines: Vec<&str> = texts.iter().flat_map(|t| t.split('\n')).collect();
    assert_eq!(lines.len(), 10_001, "10,000 lines and the note");
    assert_eq!(lines[9_999], "10000");
    assert!(lines[10_000].contains("the step's log has them all"));
    let log = std::fs::read_to_string(run_dir.join("steps/flood.log")).expect("step log");
    assert_eq!(log.lines().count(), 30_000);
}
