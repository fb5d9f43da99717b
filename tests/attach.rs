//! `golive attach RUN_DIR --headless --json` through the real binary, against a live driver:
//! it starts mid-run with the records so far, follows to the end, and says when the driver died.

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
run = "sleep 2"

[[steps]]
id = "after"
title = "After"
kind = "shell"
run = "echo done"
"#,
    );
    let mut driver = spawn(&["run", &rb, "--headless"], &[]);
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
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON record a line"))
        .collect();
    assert_eq!(
        lines.first().map(|l| l["event"].clone()),
        Some("run_started".into())
    );
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "step_finished" && l["step"] == "after"),
        "followed past the step it joined in: {lines:?}"
    );
    assert_eq!(
        lines.last().map(|l| l["event"].clone()),
        Some("run_finished".into())
    );
    assert_eq!(
        lines.len(),
        std::fs::read_to_string(&journal)
            .expect("journal")
            .lines()
            .count(),
        "every journal record, once"
    );
    assert!(wait_exit(&mut driver, Duration::from_secs(30)).success());
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
    assert!(
        log.contains("step_started") && log.contains("step=hang"),
        "{log}"
    );
    assert!(log.contains("is gone without finishing the run"), "{log}");
}
