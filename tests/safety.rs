//! Faults from outside: signals, a full disk under the journal, a database connection terminated
//! mid-step, an unwritable run directory.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use golive::os::Sig;

use common::{Db, TempDir, golive, latest_run, run, text, value, wait_exit, wait_for};

#[test]
fn sigterm_and_sighup_stop_the_step_group_and_journal_it_as_interrupted() {
    let db = Db::phase1();
    for (signal, name) in [
        (Sig::Term, "SIGTERM"),
        (Sig::Hup, "SIGHUP"),
        (Sig::Int, "Ctrl-C"),
    ] {
        let dir = TempDir::new("signal");
        let pidfile = dir.join("child.pid");
        let rb = dir.write(
            "runbook.toml",
            &format!(
                "[runbook]\nname = \"signals\"\n\n[vars]\nDATABASE_URL = {{ required = true }}\n\n\
                 [[steps]]\nid = \"long\"\ntitle = \"Long\"\nkind = \"shell\"\n\
                 run = \"sleep 300 & echo $! > {}; wait\"\n",
                pidfile.display()
            ),
        );
        let mut child = golive()
            .args(["run", &rb.display().to_string(), "--headless"])
            .env("DATABASE_URL", db.owner_url())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        wait_for(&pidfile);
        let sleeper: i32 = std::fs::read_to_string(&pidfile)
            .expect("pid")
            .trim()
            .parse()
            .expect("number");
        golive::os::signal_process(child.id() as i32, signal);
        let status = wait_exit(&mut child, Duration::from_secs(15));
        assert_eq!(status.code(), Some(1), "{name}");
        assert!(
            !golive::os::process_running(sleeper),
            "{name}: the step's child {sleeper} survived"
        );
        let out = std::io::read_to_string(child.stdout.take().expect("stdout")).expect("read");
        assert!(out.contains("stopping the running step"), "{name}: {out}");
        let journal =
            std::fs::read_to_string(latest_run(dir.path()).join("journal.jsonl")).expect("journal");
        assert!(
            common::has_record(&journal, r#""step":"long","state":"interrupted""#),
            "{name}: {journal}"
        );
        assert!(
            common::has_record(&journal, r#""outcome":"interrupted""#),
            "{name}: {journal}"
        );
    }
}

#[test]
fn a_full_disk_stops_the_run_before_the_next_step_and_the_journal_stays_whole() {
    let db = Db::phase1();
    let outside = TempDir::new("full-outside");
    let marker = outside.join("second-ran");
    let dir = TempDir::new("full");
    let _disk = common::SmallDisk::mount(dir.path(), "256k");
    let rb = dir.write(
        "runbook.toml",
        &format!(
            "[runbook]\nname = \"full\"\n\n[vars]\nDATABASE_URL = {{ required = true }}\n\n\
             [[steps]]\nid = \"fill\"\ntitle = \"Fill the disk\"\nkind = \"shell\"\n\
             run = \"head -c 1000000 /dev/zero > filler 2>/dev/null; seq 1 5000\"\n\n\
             [[steps]]\nid = \"second\"\ntitle = \"Must not run\"\nkind = \"shell\"\nrun = \"touch {}\"\n",
            marker.display()
        ),
    );
    let out = run(
        &["run", &rb.display().to_string(), "--headless"],
        &[("DATABASE_URL", &db.owner_url())],
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    // Whichever write hits the full disk first (the step's log or the journal), the run stops
    // there and says why.
    assert!(log.contains("No space left on device"), "{log}");
    assert!(log.contains("golive finished: failed"), "{log}");
    assert!(!marker.exists(), "a step ran that could not be recorded");
    let journal =
        std::fs::read_to_string(latest_run(dir.path()).join("journal.jsonl")).expect("journal");
    for line in journal.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("every journal line is whole");
    }
}

#[test]
fn an_unwritable_run_directory_is_refused_before_anything_runs() {
    let db = Db::phase1();
    let dir = TempDir::new("readonly");
    let marker = dir.join("ran");
    let rb = dir.write(
        "runbook.toml",
        &format!(
            "[runbook]\nname = \"ro\"\n\n[vars]\nDATABASE_URL = {{ required = true }}\n\n\
             [[steps]]\nid = \"a\"\ntitle = \"A\"\nkind = \"shell\"\nrun = \"touch {}\"\n",
            marker.display()
        ),
    );
    // A file where the journal's folder should be: no run directory can be made.
    std::fs::write(dir.join(".golive"), "not a directory").expect("block");
    let out = run(
        &["run", &rb.display().to_string(), "--headless"],
        &[("DATABASE_URL", &db.owner_url())],
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(log.contains("cannot write the journal"), "{log}");
    assert!(!marker.exists());
}

#[test]
fn a_connection_terminated_mid_step_fails_that_attempt_clearly_and_a_retry_reconnects() {
    let db = Db::phase1();
    common::sql(
        &db.admin_url(),
        "CREATE SEQUENCE attempt_seq; GRANT USAGE ON attempt_seq TO app_owner;",
    );
    let dir = TempDir::new("terminate");
    let rb = dir.write(
        "runbook.toml",
        "[runbook]\nname = \"terminate\"\n\n[vars]\nDATABASE_URL = { required = true, secret = true }\n\n\
         [[steps]]\nid = \"slow-query\"\ntitle = \"Slow the first time\"\nkind = \"sql\"\n\
         database = \"DATABASE_URL\"\nretries = 1\nretry_delay = \"1s\"\n\
         sql = \"SELECT pg_sleep(CASE WHEN nextval('attempt_seq') = 1 THEN 60 ELSE 0 END)\"\n",
    );
    let mut child = golive()
        .args(["run", &rb.display().to_string(), "--headless"])
        .env("DATABASE_URL", db.owner_url())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    loop {
        let active = value(
            &db.admin_url(),
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'golive' AND query LIKE '%pg_sleep%' AND state = 'active'",
        );
        if active.as_deref() == Some("1") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the slow query never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    common::sql(
        &db.admin_url(),
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'golive'",
    );
    let status = wait_exit(&mut child, Duration::from_secs(20));
    let out = std::io::read_to_string(child.stdout.take().expect("stdout")).expect("read");
    assert_eq!(status.code(), Some(0), "{out}");
    assert!(
        out.contains("terminating connection due to administrator command (57P01)"),
        "{out}"
    );
    assert!(out.contains("retry 1 of 1"), "{out}");
    assert!(!out.contains("owner-secret-pw"), "{out}");
}

#[test]
fn a_running_steps_log_is_on_disk_as_it_goes_and_survives_a_killed_golive() {
    let dir = TempDir::new("log-as-it-goes");
    let marker = dir.join("printed");
    let rb = dir.write(
        "runbook.toml",
        &format!(
            "[runbook]\nname = \"slow printer\"\n\n[[steps]]\nid = \"slow\"\ntitle = \"Slow\"\n\
             kind = \"shell\"\nrun = \"echo 'first line of a long step'; touch {}; sleep 30\"\n",
            marker.display()
        ),
    );
    let mut child = golive()
        .args(["run", &rb.display().to_string(), "--headless"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    wait_for(&marker);
    let log = latest_run(dir.path()).join("steps/slow.log");
    let start = Instant::now();
    let on_disk = || std::fs::read_to_string(&log).unwrap_or_default();
    while !on_disk().contains("first line of a long step") {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the running step's log never got its line: {:?}",
            on_disk()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Killed without a chance to flush anything: the line stays.
    child.kill().expect("SIGKILL golive");
    let _ = child.wait();
    assert!(on_disk().contains("first line of a long step"));
}
