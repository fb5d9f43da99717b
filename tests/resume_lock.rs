//! A golive killed with SIGKILL mid-step: the journal reads back (a torn line tolerated), `--resume`
//! keeps finished steps finished and re-runs the interrupted one only when approved. And the
//! go-live lock: a second golive on the same database is refused with exit 3 naming the holder,
//! and a killed holder leaves no lock behind.

mod common;

use std::time::{Duration, Instant};

use common::{Db, TempDir, kill_group_in, latest_run, run, spawn, text, value, wait_for};

#[test]
fn a_killed_run_resumes_without_repeating_finished_steps() {
    let db = Db::phase1();
    common::sql(
        &db.admin_url(),
        "CREATE TABLE ledger (step text, at timestamptz DEFAULT now()); GRANT ALL ON ledger TO app_owner;",
    );
    let dir = TempDir::new("resume");
    let started = dir.join("slow-started");
    let release = dir.join("release");
    let rb = dir.write(
        "runbook.toml",
        &format!(
            r#"[runbook]
name = "resume"

[vars]
DATABASE_URL = {{ required = true, secret = true }}

[[steps]]
id = "one"
title = "Ledger one"
kind = "sql"
database = "DATABASE_URL"
sql = "INSERT INTO ledger (step) VALUES ('one')"

[[steps]]
id = "slow"
title = "Slow the first time"
kind = "shell"
run = 'echo $$ > {started}.pid; if [ -f {release} ]; then echo released; else touch {started}; sleep 120; fi'

[[steps]]
id = "three"
title = "Ledger three"
kind = "sql"
database = "DATABASE_URL"
sql = "INSERT INTO ledger (step) VALUES ('three')"
"#,
            started = started.display(),
            release = release.display()
        ),
    );
    let rb = rb.display().to_string();
    let env = [("DATABASE_URL", db.owner_url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let mut first = spawn(&["run", &rb, "--headless"], &env);
    wait_for(&started);
    first.kill().expect("SIGKILL golive");
    let _ = first.wait();
    let run_dir = latest_run(dir.path());
    let journal = run_dir.join("journal.jsonl");
    let killed = std::fs::read_to_string(&journal).expect("journal");
    assert!(
        common::has_record(&killed, r#""step":"slow","attempt":1"#),
        "{killed}"
    );
    assert!(
        !common::has_record(&killed, r#""event":"run_finished""#),
        "{killed}"
    );

    // The step's `sleep` outlived golive: resuming now would run the step twice at once.
    let out = run(
        &["run", &rb, "--headless", "--resume", "--approve", "slow"],
        &env,
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(3), "{log}");
    assert!(
        log.contains("processes of the interrupted `slow` are still running"),
        "{log}"
    );
    kill_group_in(&dir.join("slow-started.pid"));
    std::thread::sleep(Duration::from_millis(200));
    let before = std::fs::read_to_string(&journal).expect("journal");
    // A crash can tear the last line: simulate one.
    std::fs::write(
        &journal,
        format!("{before}{{\"at\":\"2026-11-26T00:00:00Z\",\"eve"),
    )
    .expect("tear");

    // The interrupted step runs again only when asked.
    let out = run(&["run", &rb, "--headless", "--resume"], &env);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(3), "{log}");
    assert!(
        log.contains("`slow` was interrupted in an earlier run"),
        "{log}"
    );
    assert!(log.contains("torn by a crash"), "{log}");
    assert_eq!(
        value(&db.admin_url(), "SELECT count(*) FROM ledger").as_deref(),
        Some("1")
    );

    std::fs::write(&release, "").expect("release");
    let out = run(
        &["run", &rb, "--headless", "--resume", "--approve", "slow"],
        &env,
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("released"), "{log}");
    assert_eq!(
        value(
            &db.admin_url(),
            "SELECT string_agg(step, ',' ORDER BY at) FROM ledger"
        )
        .as_deref(),
        Some("one,three"),
        "`one` must not run twice"
    );
    let after = std::fs::read_to_string(&journal).expect("journal");
    assert!(common::has_record(&after, r#""event":"run_resumed""#));
    let report = run(&["report", &run_dir.display().to_string()], &[]);
    let md = text(&report);
    assert!(md.contains("torn by a crash"), "{md}");
    assert!(md.contains("| `slow` | main | passed |"), "{md}");
    // Nothing left to resume.
    let out = run(&["run", &rb, "--headless", "--resume"], &env);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no unfinished run"));
}

#[test]
fn a_second_golive_on_the_same_database_is_refused_until_the_holder_dies() {
    let db = Db::phase1();
    let dir = TempDir::new("lock");
    let started = dir.join("holder-started");
    let rb = dir.write(
        "runbook.toml",
        &format!(
            r#"[runbook]
name = "lock"
lock = "DATABASE_URL"

[vars]
DATABASE_URL = {{ required = true, secret = true }}

[[steps]]
id = "hold"
title = "Hold the lock a while"
kind = "shell"
run = 'echo $$ > {started}.pid; touch {started}; sleep 120'

[[steps]]
id = "quick"
title = "Quick"
kind = "shell"
run = "echo quick"
"#,
            started = started.display()
        ),
    );
    let rb = rb.display().to_string();
    let url = db.owner_url();
    let env = [("DATABASE_URL", url.as_str())];
    let mut holder = spawn(&["run", &rb, "--headless"], &env);
    wait_for(&started);

    let t = Instant::now();
    let out = run(&["run", &rb, "--headless", "--only", "quick"], &env);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(3), "{log}");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "refusal took {:?}",
        t.elapsed()
    );
    assert!(log.contains("go-live lock on app_owner@127.0.0.1"), "{log}");
    assert!(log.contains(&format!("(pid {}", holder.id())), "{log}");
    assert!(log.contains(" since 20"), "{log}");
    assert!(!log.contains("owner-secret-pw"), "{log}");

    holder.kill().expect("SIGKILL the holder");
    let _ = holder.wait();
    kill_group_in(&dir.join("holder-started.pid"));
    // The lock goes with the holder's session, which the server notices as soon as the socket
    // closes.
    let start = Instant::now();
    loop {
        let out = run(&["run", &rb, "--headless", "--only", "quick"], &env);
        if out.status.code() == Some(0) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the lock outlived its killed holder: {}",
            text(&out)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        value(
            &db.admin_url(),
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
        )
        .as_deref(),
        Some("0")
    );
}

/// SIGKILL at random moments, many times: after resuming to the end, every step ran at least once,
/// and a step ran more than once only when the journal shows it was started more than once (an
/// interrupted step re-run on approval). Nothing runs behind the journal's back.
#[test]
fn random_sigkills_never_lose_or_invent_a_step() {
    let db = Db::phase1();
    common::sql(
        &db.admin_url(),
        "CREATE TABLE ledger (step text, at timestamptz DEFAULT clock_timestamp()); GRANT ALL ON ledger TO app_owner;",
    );
    let dir = TempDir::new("chaos");
    let mut body = String::from(
        "[runbook]\nname = \"chaos\"\n\n[vars]\nDATABASE_URL = { required = true, secret = true }\n",
    );
    let steps = 6;
    for i in 0..steps {
        body.push_str(&format!(
            "\n[[steps]]\nid = \"s{i}\"\ntitle = \"Step {i}\"\nkind = \"sql\"\ndatabase = \"DATABASE_URL\"\n\
             sql = \"INSERT INTO ledger (step) VALUES ('s{i}'); SELECT pg_sleep(0.05)\"\n"
        ));
    }
    let rb = dir.write("runbook.toml", &body).display().to_string();
    let url = db.owner_url();
    let env = [("DATABASE_URL", url.as_str())];
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .subsec_nanos() as u64
        | 1;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let trials = 12;
    for trial in 0..trials {
        common::sql(&db.admin_url(), "TRUNCATE ledger");
        let _ = std::fs::remove_dir_all(dir.join(".golive"));
        let mut child = spawn(&["run", &rb, "--headless"], &env);
        std::thread::sleep(Duration::from_millis(next() % 700));
        let _ = child.kill();
        let _ = child.wait();
        let mut finished = false;
        for _ in 0..10 {
            // What the killed process left: nothing, a journal without its first record (killed
            // while creating it: nothing ran), an unfinished run, or a passed one.
            let journal = std::fs::read_dir(dir.join(".golive/runs"))
                .ok()
                .and_then(|runs| runs.flatten().map(|e| e.path()).max())
                .and_then(|run| std::fs::read_to_string(run.join("journal.jsonl")).ok())
                .unwrap_or_default();
            if common::has_record(&journal, r#""outcome":"passed""#) {
                finished = true;
                break;
            }
            let started = journal
                .lines()
                .next()
                .is_some_and(|l| serde_json::from_str::<serde_json::Value>(l).is_ok());
            let args: Vec<&str> = if started {
                vec!["run", &rb, "--headless", "--resume", "--approve-all"]
            } else {
                let _ = std::fs::remove_dir_all(dir.join(".golive"));
                vec!["run", &rb, "--headless"]
            };
            if run(&args, &env).status.code() == Some(0) {
                finished = true;
                break;
            }
        }
        assert!(finished, "trial {trial}: the run never completed");
        let run_dir = latest_run(dir.path());
        let journal = std::fs::read_to_string(run_dir.join("journal.jsonl")).expect("journal");
        for i in 0..steps {
            let starts = journal
                .matches(&format!(r#""event":"step_started","step":"s{i}""#))
                .count();
            let ran: usize = value(
                &db.admin_url(),
                &format!("SELECT count(*) FROM ledger WHERE step = 's{i}'"),
            )
            .and_then(|v| v.parse().ok())
            .expect("count");
            assert!(ran >= 1, "trial {trial}: s{i} never ran\n{journal}");
            assert!(
                ran <= starts,
                "trial {trial}: s{i} ran {ran} times but was started {starts} times\n{journal}"
            );
        }
    }
}
