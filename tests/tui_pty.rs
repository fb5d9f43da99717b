//! The console as a person meets it: the real program on a pseudo-terminal, its screen read back
//! through vt100, keys typed as a person would, and the terminal's modes checked afterwards.
//!
//! Two kinds of program run here: the `golive` binary on a test runbook against a throwaway
//! PostgreSQL, and this test binary itself re-run as a child (the `#[ignore]`d `child_*` tests,
//! run only by their parents, with `GOLIVE_TUI_CHILD` set) to check that the terminal comes back after a panic, on
//! SIGTERM and on SIGHUP.

mod common;
mod tui_support;

use std::time::Duration;

use golive::os::Sig;
use portable_pty::CommandBuilder;

use common::{Db, TempDir, value};
use tui_support::{self as pty, Pty, assert_restored};

const WAIT: Duration = Duration::from_secs(30);

/// Set in the child processes, so a child run alone says whose it is instead of hanging.
const CHILD_ENV: &str = "GOLIVE_TUI_CHILD";

/// Child program of `the_terminal_comes_back_after_a_panic`: takes the terminal over, then
/// panics.
#[test]
#[ignore = "the child process of the_terminal_comes_back_after_a_panic"]
fn child_panics_inside_the_console() {
    common::assert_child_of(CHILD_ENV, "the_terminal_comes_back_after_a_panic");
    let _guard = golive::tui::terminal::enter().expect("take the terminal");
    panic!("deliberate panic inside the console");
}

/// Child program of the signal tests: the console with an engine that has not started; it
/// returns on SIGTERM, SIGHUP or `q`.
#[test]
#[ignore = "the child process of the console's signal tests"]
fn child_runs_the_console() {
    common::assert_child_of(
        CHILD_ENV,
        "the_terminal_comes_back_on_sigterm_sighup_and_quit",
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let (_engine, events) = tokio::sync::mpsc::channel(8);
        let (commands, _received) = tokio::sync::mpsc::unbounded_channel();
        golive::tui::run(events, commands, golive::tui::TuiOptions::default())
            .await
            .expect("the console runs");
    });
    println!("CONSOLE RETURNED");
}

fn child(test: &str) -> Pty {
    let mut cmd = CommandBuilder::new(std::env::current_exe().expect("test binary"));
    cmd.args([
        test,
        "--ignored",
        "--exact",
        "--nocapture",
        "--test-threads=1",
    ]);
    cmd.env(CHILD_ENV, "1");
    Pty::spawn(cmd, 100, 30)
}

#[test]
fn the_terminal_comes_back_after_a_panic() {
    let mut pty = child("child_panics_inside_the_console");
    pty.wait_exit(WAIT);
    let raw = pty.raw();
    assert_restored(&raw);
    let left = pty::find(&raw, pty::LEAVE_ALT_SCREEN, 0).expect("left the alternate screen");
    let message = pty::find(&raw, b"deliberate panic", 0).expect("the panic message");
    assert!(
        message > left,
        "the panic message is printed on the main screen, after restoring"
    );
}

#[test]
fn the_terminal_comes_back_on_sigterm_sighup_and_quit() {
    for how in ["SIGTERM", "SIGHUP", "q"] {
        let mut pty = child("child_runs_the_console");
        pty.wait_for("waiting for the engine", WAIT);
        match how {
            "SIGTERM" => {
                golive::os::signal_process(pty.pid(), Sig::Term);
            }
            "SIGHUP" => {
                golive::os::signal_process(pty.pid(), Sig::Hup);
            }
            _ => pty.send("q"),
        }
        let code = pty.wait_exit(WAIT);
        let raw = pty.raw();
        assert_restored(&raw);
        assert!(
            pty::find(&raw, b"CONSOLE RETURNED", 0).is_some(),
            "{how}: the console returned normally (exit {code}): {}",
            String::from_utf8_lossy(&raw)
        );
        assert_eq!(code, 0, "{how}");
    }
}

fn marker_exists(db: &Db) -> bool {
    value(
        &db.admin_url(),
        "SELECT coalesce(to_regclass('public.tui_marker')::text, '')",
    )
    .is_some_and(|v| !v.is_empty())
}

/// A person drives a runbook: sees the checklist, watches output arrive, meets the destructive
/// step, types a wrong confirmation (nothing runs), types the right one (it runs), opens help,
/// quits, and gets the terminal back.
#[test]

fn a_person_drives_a_runbook_in_the_console() {
    let db = Db::phase1();
    let dir = TempDir::new("tui");
    let runbook = std::fs::read_to_string(common::repo().join("tests/fixtures/tui_runbook.toml"))
        .expect("fixture");
    let path = dir.write("runbook.toml", &runbook);
    let mut cmd = tui_support::golive(dir.path(), &["run", &path.display().to_string()]);
    cmd.env("DATABASE_URL", db.owner_url());
    let mut pty = Pty::spawn(cmd, 110, 32);

    let screen = pty.wait_for("Greet the operator", WAIT);
    assert!(screen.contains("Create the marker table"), "{screen}");
    assert!(
        screen.contains("Drop the marker"),
        "procedures are listed:\n{screen}"
    );
    pty.wait_for("tick 2", WAIT);
    pty.wait_for("tick 4", WAIT);

    let screen = pty.wait_for("DESTRUCTIVE", WAIT);
    assert!(
        screen.contains("CREATE TABLE tui_marker"),
        "shows what runs:\n{screen}"
    );
    assert!(screen.contains(&db.name), "names the target:\n{screen}");
    assert!(!marker_exists(&db));

    pty.send("wrong-name\r");
    pty.wait_for("did not run", WAIT);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !marker_exists(&db),
        "a wrong confirmation must not run the step"
    );

    pty.wait_for("DESTRUCTIVE", WAIT);
    pty.send(&format!("{}\r", db.name));
    let start = std::time::Instant::now();
    while !marker_exists(&db) {
        assert!(
            start.elapsed() < WAIT,
            "the confirmed step never ran:\n{}",
            pty.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    pty.wait_for("goodbye from the console test", WAIT);

    pty.send("?");
    pty.wait_for("Keys (any key closes)", WAIT);
    pty.send("?");
    pty.send("q");
    let code = pty.wait_exit(WAIT);
    assert_eq!(code, 0, "the run passed:\n{}", pty.screen());
    assert_restored(&pty.raw());
    let journal = std::fs::read_to_string(common::latest_run(dir.path()).join("journal.jsonl"))
        .expect("journal");
    assert!(
        journal.contains("wrong-name"),
        "the refusal is journaled:\n{journal}"
    );
}

/// At 80x24 a destructive step with a long SQL preview keeps the typed-confirmation line on
/// screen: the operator sees every character typed before pressing Enter.
#[test]
fn typing_at_80x24_with_a_long_sql_preview_shows_the_typed_text() {
    let db = Db::phase1();
    let dir = TempDir::new("tui-long-sql");
    let fixture = std::fs::read_to_string(common::repo().join("tests/fixtures/tui_runbook.toml"))
        .expect("fixture");
    let comments: String = (1..=60)
        .map(|n| format!("-- preview line {n} of a long migration\n"))
        .collect();
    let runbook = fixture.replace(
        "sql = \"CREATE TABLE tui_marker (x int)\"",
        &format!("sql = '''\n{comments}CREATE TABLE tui_marker (x int)'''"),
    );
    assert_ne!(runbook, fixture, "the fixture's marker step changed");
    let path = dir.write("runbook.toml", &runbook);
    let mut cmd = tui_support::golive(dir.path(), &["run", &path.display().to_string()]);
    cmd.env("DATABASE_URL", db.owner_url());
    let mut pty = Pty::spawn(cmd, 80, 24);

    let screen = pty.wait_for("DESTRUCTIVE", WAIT);
    assert!(screen.contains("PgUp/PgDn scrolls"), "{screen}");
    pty.send(&db.name);
    let screen = pty.wait_for(&format!("> {}", db.name), WAIT);
    assert!(
        screen.contains("Enter run it"),
        "the key line is on screen too:\n{screen}"
    );
    assert!(!marker_exists(&db), "nothing runs before Enter");
    pty.send("\r");
    pty.wait_for("goodbye from the console test", WAIT);
    assert!(marker_exists(&db));
    pty.send("q");
    let code = pty.wait_exit(WAIT);
    assert_eq!(code, 0, "the run passed:\n{}", pty.screen());
    assert_restored(&pty.raw());
}

/// Quitting mid-step: the dialog gives the way back, and once the terminal is restored golive
/// prints how the run ended, its run directory and the `golive report` command.
#[test]
fn quit_mid_run_prints_the_outcome_and_the_run_directory() {
    let db = Db::phase1();
    let dir = TempDir::new("tui-quit");
    let fixture = std::fs::read_to_string(common::repo().join("tests/fixtures/tui_runbook.toml"))
        .expect("fixture");
    let runbook = fixture.replace("sleep 0.3", "sleep 5");
    let path = dir.write("runbook.toml", &runbook);
    let mut cmd = tui_support::golive(dir.path(), &["run", &path.display().to_string()]);
    cmd.env("DATABASE_URL", db.owner_url());
    let mut pty = Pty::spawn(cmd, 80, 24);
    pty.wait_for("tick 1", WAIT);
    pty.send("q");
    let screen = pty.wait_for("Stop the run and quit?", WAIT);
    assert!(screen.contains("golive run --resume"), "{screen}");
    assert!(screen.contains("n no, go back"), "{screen}");
    pty.send("y");
    let code = pty.wait_exit(WAIT);
    assert_eq!(code, 1, "interrupted:\n{}", pty.screen());
    let raw = String::from_utf8_lossy(&pty.raw()).to_string();
    let run_dir = common::latest_run(dir.path());
    let tail = &raw[raw.rfind("golive: the run").expect("the farewell line")..];
    assert!(tail.contains("was interrupted"), "{tail}");
    assert!(tail.contains("golive run --resume"), "{tail}");
    let name = run_dir
        .file_name()
        .expect("run id")
        .to_string_lossy()
        .to_string();
    assert!(
        tail.contains("run directory:") && tail.contains(&name),
        "{tail}"
    );
    assert!(tail.contains("golive report"), "{tail}");
    assert_restored(&pty.raw());
}

/// Full-screen `golive monitor` is the console: a header saying what it watches, the console's
/// keys (`?` help), and the terminal restored on SIGTERM, SIGHUP and `q`.
#[test]
fn full_screen_monitor_is_the_console_and_gives_the_terminal_back() {
    let dir = TempDir::new("tui-monitor");
    for how in ["SIGTERM", "SIGHUP", "q"] {
        let mut cmd = tui_support::golive(dir.path(), &["monitor"]);
        for var in [
            "PROMETHEUS_URL",
            "APP_METRICS_URL",
            "APP_URL",
            "APP_DATABASE_URL",
        ] {
            cmd.env_remove(var);
        }
        let mut pty = Pty::spawn(cmd, 100, 30);
        let screen = pty.wait_for_all(&["monitor · built-in thresholds", "watching"], WAIT);
        assert!(screen.contains("traffic"), "says what feeds it:\n{screen}");
        pty.send("?");
        pty.wait_for("Keys (any key closes)", WAIT);
        pty.send("?");
        match how {
            "SIGTERM" => golive::os::signal_process(pty.pid(), Sig::Term),
            "SIGHUP" => golive::os::signal_process(pty.pid(), Sig::Hup),
            _ => pty.send("q"),
        }
        let code = pty.wait_exit(WAIT);
        assert_eq!(code, 0, "{how}: nothing breached");
        assert_restored(&pty.raw());
    }
}
