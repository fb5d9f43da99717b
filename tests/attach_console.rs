//! `golive attach` in full screen, the real binary in pseudo-terminals against a real PostgreSQL:
//! a person drives a run in the console while one watcher follows it through the run directory
//! and another through the registry. Both see the same checklist and the question as "waiting
//! for <user>'s confirmation"; the keys they press change nothing; the driver killed mid-step
//! is shown as gone. And `--headless --json` prints what the driver's `run --json` printed.

mod common;
mod tui_support;

use std::time::Duration;

use common::{Db, TempDir, latest_run, run, text, value};
use tui_support::{Pty, assert_restored};

const WAIT: Duration = Duration::from_secs(30);

const STEPS: &str = r#"
[[steps]]
id = "greet"
title = "Greet the watchers"
kind = "shell"
run = "echo hello-watchers"

[[steps]]
id = "marker"
title = "Create the marker table"
kind = "sql"
database = "DATABASE_URL"
sql = "CREATE TABLE attach_marker (x int)"
destructive = true

[[steps]]
id = "bye"
title = "Say goodbye"
kind = "shell"
run = "echo goodbye-watchers"
"#;

fn runbook(dir: &TempDir, steps: &str) -> String {
    let body = format!(
        "[runbook]\nname = \"attach console test\"\nlock = \"DATABASE_URL\"\n\n\
         [vars]\nDATABASE_URL = {{ required = true, secret = true }}\n{steps}"
    );
    dir.write("runbook.toml", &body).display().to_string()
}

/// A database whose DBA made the registry's schema for the deploying role (app_owner may not
/// create schemas).
fn database() -> Db {
    let db = Db::phase1();
    common::sql(
        &db.admin_url(),
        "CREATE SCHEMA golive AUTHORIZATION app_owner",
    );
    db
}

/// Wait until a run has registered in `url`'s registry (its tap writes behind the journal):
/// a watcher through the registry attaches to a run that is there, as a person would.
fn wait_registered(url: &str) {
    let start = std::time::Instant::now();
    let registered = || {
        common::value(url, "SELECT to_regclass('golive.runs') IS NOT NULL").as_deref() == Some("t")
            && common::value(url, "SELECT count(*) FROM golive.runs").as_deref() != Some("0")
    };
    while !registered() {
        assert!(start.elapsed() < WAIT, "no run registered in {url}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn golive_on_pty(dir: &TempDir, args: &[&str], url: &str) -> Pty {
    let mut cmd = tui_support::golive(dir.path(), args);
    cmd.env("DATABASE_URL", url);
    Pty::spawn(cmd, 110, 32)
}

fn marker_exists(db: &Db) -> bool {
    value(
        &db.admin_url(),
        "SELECT coalesce(to_regclass('public.attach_marker')::text, '')",
    )
    .is_some_and(|v| !v.is_empty())
}

/// The checklist's row for each title: the screen line up to the end of the title (the icon
/// that says the step's state, and the title).
fn rows(screen: &str, titles: &[&str]) -> Vec<String> {
    titles
        .iter()
        .map(|title| {
            screen
                .lines()
                .find_map(|l| l.find(title).map(|at| l[..at + title.len()].to_string()))
                .unwrap_or_else(|| panic!("no row for {title}:\n{screen}"))
        })
        .collect()
}

fn events(journal: &std::path::Path, name: &str) -> usize {
    std::fs::read_to_string(journal)
        .expect("journal")
        .lines()
        .filter(|l| l.contains(&format!(r#""event":"{name}""#)))
        .count()
}

#[test]
fn two_watchers_follow_a_driven_run_and_can_answer_nothing() {
    let db = database();
    let dir = TempDir::new("attach-console");
    let rb = runbook(&dir, STEPS);
    let url = db.owner_url();
    let mut driver = golive_on_pty(&dir, &["run", &rb], &url);
    driver.wait_for("DESTRUCTIVE", WAIT);
    let run_dir = latest_run(dir.path());
    let journal = run_dir.join("journal.jsonl");

    let mut by_dir = golive_on_pty(&dir, &["attach", &run_dir.display().to_string()], &url);
    wait_registered(&url);
    let mut by_registry = golive_on_pty(&dir, &["attach", "--database-url", &url], &url);
    let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    let waiting = format!("waiting for {user}'s confirmation");
    let titles = [
        "Greet the watchers",
        "Create the marker table",
        "Say goodbye",
    ];
    let mut screens = Vec::new();
    for watcher in [&by_dir, &by_registry] {
        let screen = watcher.wait_for_all(&[&waiting, "Say goodbye", "CREATE TABLE"], WAIT);
        assert!(
            screen.contains("Destructive step: waiting for"),
            "the question shows where the dialog would be:\n{screen}"
        );
        screens.push(screen);
    }
    assert_eq!(
        rows(&screens[0], &titles),
        rows(&screens[1], &titles),
        "both watchers show the same step states:\n{}\n{}",
        screens[0],
        screens[1]
    );

    // Every key that answers a question in the driver's console, pressed on both watchers.
    let confirmations = events(&journal, "confirmed");
    let lines = std::fs::read_to_string(&journal)
        .expect("journal")
        .lines()
        .count();
    for watcher in [&mut by_dir, &mut by_registry] {
        for key in ["y", "\r", "r", &db.name, "\r", "1", "s"] {
            watcher.send(key);
        }
    }
    for watcher in [&by_dir, &by_registry] {
        watcher.wait_for("Read-only", WAIT);
    }
    // Give a stray command time to arrive (there is no channel for one, which is the point).
    std::thread::sleep(Duration::from_millis(500));
    assert!(!marker_exists(&db), "a watcher's keys ran the step");
    assert_eq!(events(&journal, "confirmed"), confirmations);
    assert_eq!(
        std::fs::read_to_string(&journal)
            .expect("journal")
            .lines()
            .count(),
        lines,
        "the watchers' keys changed the driver's journal"
    );
    driver.wait_for("DESTRUCTIVE", WAIT);

    // The driver answers: both watchers follow to the end.
    driver.send(&format!("{}\r", db.name));
    driver.wait_for("every step passed", WAIT);
    assert!(marker_exists(&db));
    for watcher in [&mut by_dir, &mut by_registry] {
        let screen = watcher.wait_for("every step passed", WAIT);
        assert!(!screen.contains(&waiting), "{screen}");
        watcher.send("q");
        assert_eq!(watcher.wait_exit(WAIT), 0);
        assert_restored(&watcher.raw());
    }
    driver.send("q");
    assert_eq!(driver.wait_exit(WAIT), 0, "{}", driver.screen());
}

#[test]
fn watchers_say_the_driver_is_gone_when_it_is_killed_mid_step() {
    let db = database();
    let dir = TempDir::new("attach-console-kill");
    let pidfile = dir.join("step.pid");
    let rb = runbook(
        &dir,
        &format!(
            "\n[[steps]]\nid = \"hang\"\ntitle = \"Hangs for a minute\"\nkind = \"shell\"\n\
             run = \"echo $$ > {}; echo hanging; sleep 60\"\n",
            pidfile.display()
        ),
    );
    let url = db.owner_url();
    let mut driver = common::spawn(&["run", &rb, "--headless"], &[("DATABASE_URL", &url)]);
    common::wait_for(&pidfile);
    let run_dir = latest_run(dir.path()).display().to_string();
    let by_dir = golive_on_pty(&dir, &["attach", &run_dir], &url);
    wait_registered(&url);
    let by_registry = golive_on_pty(&dir, &["attach", "--database-url", &url], &url);
    for watcher in [&by_dir, &by_registry] {
        watcher.wait_for_all(&["Hangs for a minute", "hanging"], WAIT);
    }
    driver.kill().expect("SIGKILL the driver");
    let _ = driver.wait();
    common::kill_group_in(&pidfile);
    let screen = by_dir.wait_for("is gone without finishing the run", WAIT);
    assert!(screen.contains("no longer alive"), "{screen}");
    let screen = by_registry.wait_for("is gone without finishing the run", WAIT);
    assert!(
        screen.contains("nobody holds the go-live lock"),
        "through the registry, the lock says so:\n{screen}"
    );
}

#[test]
fn headless_json_through_the_registry_is_what_run_json_printed() {
    let db = database();
    let dir = TempDir::new("attach-json");
    let rb = runbook(&dir, STEPS);
    let url = db.owner_url();
    let driver = run(
        &["run", &rb, "--json", "--approve-all"],
        &[("DATABASE_URL", &url)],
    );
    assert_eq!(driver.status.code(), Some(0), "{}", text(&driver));
    let run_id = latest_run(dir.path())
        .file_name()
        .expect("run id")
        .to_string_lossy()
        .into_owned();
    let attach = run(
        &[
            "attach",
            "--database-url",
            &url,
            &run_id,
            "--headless",
            "--json",
        ],
        &[],
    );
    assert_eq!(attach.status.code(), Some(0), "{}", text(&attach));
    let parse = |out: &std::process::Output| -> Vec<serde_json::Value> {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON event a line"))
            .collect()
    };
    let (driven, watched) = (parse(&driver), parse(&attach));
    let kinds = |events: &[serde_json::Value]| -> Vec<String> {
        events.iter().map(|e| e["event"].to_string()).collect()
    };
    assert_eq!(kinds(&watched), kinds(&driven));
    assert!(kinds(&driven).contains(&"\"ask\"".to_string()));
    assert_eq!(watched, driven, "the same events, field for field");
}
