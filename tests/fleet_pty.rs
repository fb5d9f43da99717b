//! The fleet console as a person meets it: the real program on a pseudo-terminal, the matrix
//! read back through vt100, each wave's destructive step confirmed once by typing the wave's
//! name (a wrong name runs nothing), and the terminal given back.
#![allow(clippy::unwrap_used)]

mod common;
mod tui_support;

use std::time::Duration;

use common::{TempDir, latest_run};
use tui_support::{Pty, assert_restored};

const WAIT: Duration = Duration::from_secs(30);

const RUNBOOK: &str = r#"
[runbook]
name = "fleet console demo"

[vars]
NAME = { required = true }

[[steps]]
id = "hello"
title = "Hello"
kind = "shell"
run = 'echo "hello from $NAME"'

[[steps]]
id = "drop"
title = "Drop"
kind = "shell"
destructive = true
run = 'echo "dropped on $NAME"'
"#;

const TARGETS: &str = r#"
[[target]]
name = "eu-1"
vars = { NAME = "EU1" }
[[target]]
name = "eu-2"
vars = { NAME = "EU2" }
[[target]]
name = "us-1"
vars = { NAME = "US1" }
[waves]
plan = [1, "100%"]
parallel = 2
"#;

#[test]
fn a_person_takes_a_fleet_live_wave_by_wave_in_the_console() {
    let dir = TempDir::new("fleet-pty");
    dir.write("runbook.toml", RUNBOOK);
    dir.write("TARGETS.toml", TARGETS);
    let cmd = tui_support::golive(dir.path(), &["run", "--targets", "TARGETS.toml"]);
    let mut pty = Pty::spawn(cmd, 100, 30);

    let screen = pty.wait_for("wave-1: once for 1 target(s)", WAIT);
    assert!(screen.contains("3 targets × 2 steps"), "{screen}");
    assert!(screen.contains("targets: eu-1"), "{screen}");
    // A wrong name runs nothing, and the console says so.
    pty.send("wave-2\r");
    pty.wait_for("nothing ran", WAIT);
    assert!(
        !latest_run(dir.path())
            .join("targets/eu-1/steps/drop.log")
            .exists()
    );
    pty.send("wave-1\r");
    let screen = pty.wait_for("wave-2: once for 2 target(s)", WAIT);
    assert!(screen.contains("targets: eu-2, us-1"), "{screen}");
    pty.send("wave-2\r");
    pty.wait_for("· passed", WAIT);
    pty.send("q");
    let code = pty.wait_exit(WAIT);
    assert_eq!(code, 0, "{}", pty.screen());
    assert_restored(&pty.raw());

    let fleet = std::fs::read_to_string(latest_run(dir.path()).join("fleet.jsonl")).unwrap();
    let confirmed: Vec<&str> = fleet
        .lines()
        .filter(|l| l.contains("\"event\":\"wave_confirmed\""))
        .collect();
    assert_eq!(confirmed.len(), 2, "{fleet}");
    assert!(confirmed[0].contains("typed `wave-1`"), "{}", confirmed[0]);
    assert!(
        confirmed[1].contains("[\"eu-2\",\"us-1\"]"),
        "{}",
        confirmed[1]
    );
    // Each target's own journal says what the person typed: the wave's name, once for the
    // wave, not the target's.
    for (target, wave) in [("eu-1", "wave-1"), ("us-1", "wave-2")] {
        let own = std::fs::read_to_string(
            latest_run(dir.path()).join(format!("targets/{target}/journal.jsonl")),
        )
        .unwrap();
        let record = own
            .lines()
            .find(|l| l.contains("\"event\":\"confirmed\""))
            .unwrap_or_else(|| panic!("{target}: no confirmation in {own}"));
        assert!(
            record.contains(&format!("typed `{wave}`), once for fleet wave `{wave}`")),
            "{target}: {record}"
        );
        assert!(
            record.contains(&format!("\"for_wave\":\"{wave}\"")),
            "{target}: {record}"
        );
        assert!(!record.contains("target's name"), "{target}: {record}");
    }
}

/// A `[monitor]` table with no source at all: the watch between the waves cannot see.
const BLIND_MONITOR: &str = r#"
[monitor]
refresh = "1s"
windows = ["2s"]
"#;

#[test]
fn the_watch_between_waves_brings_up_the_dashboard_and_a_blind_target_tops_it() {
    let dir = TempDir::new("fleet-pty-dashboard");
    dir.write("runbook.toml", &format!("{RUNBOOK}{BLIND_MONITOR}"));
    dir.write(
        "TARGETS.toml",
        &TARGETS.replace("parallel = 2", "parallel = 2\npause = \"4s\""),
    );
    let mut cmd = tui_support::golive(dir.path(), &["run", "--targets", "TARGETS.toml"]);
    for var in ["PROMETHEUS_URL", "APP_METRICS_URL", "APP_URL", "PG_LOG"] {
        cmd.env_remove(var);
    }
    let mut pty = Pty::spawn(cmd, 100, 30);

    // The canary passes; the watch before wave-2 brings the dashboard up by itself.
    pty.wait_for("wave-1: once for 1 target(s)", WAIT);
    pty.send("wave-1\r");
    let screen = pty.wait_for("dashboard · 3 targets, worst first", WAIT);
    assert!(screen.contains("watching before wave-2"), "{screen}");
    let screen = pty.wait_for("NO DATA", WAIT);
    let row = |screen: &str, name: &str| {
        screen
            .lines()
            .position(|l| l.contains(&format!("{name} ")) && l.contains('│'))
            .unwrap_or(usize::MAX)
    };
    assert!(row(&screen, "eu-1") < row(&screen, "eu-2"), "{screen}");
    assert!(screen.contains("not watched yet (wave 2)"), "{screen}");
    // The watch could not see: the fleet halts, eu-1 is marked BLIND, wave 2 never starts.
    let screen = pty.wait_for("BLIND", WAIT);
    assert!(screen.contains("HALTED"), "{screen}");
    assert!(screen.contains("watch inconclusive"), "{screen}");
    // The fleet run is over: the console keeps watching the live target on its own, and its
    // row keeps the verdict of the watch that halted the fleet.
    let screen = pty.wait_for("eu-1 · live since the fleet run ended", WAIT);
    assert!(screen.contains("BLIND"), "{screen}");
    // d goes to the matrix and back.
    pty.send("d");
    pty.wait_for("3 targets × 2 steps", WAIT);
    pty.send("d");
    pty.wait_for("worst first", WAIT);
    pty.send("q");
    let code = pty.wait_exit(WAIT);
    assert_eq!(code, 1, "{}", pty.screen());
    assert_restored(&pty.raw());
    assert!(!latest_run(dir.path()).join("targets/eu-2").exists());
}
