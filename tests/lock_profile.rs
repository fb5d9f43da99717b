//! The lock profile against real PostgreSQL: the sampler, run directly against a test cluster,
//! sees a step's session hold ACCESS EXCLUSIVE on `customers` for about its `pg_sleep(1)` while
//! a sandbox query waits on it; and a whole `golive rehearse` records the profile in the run's
//! `locks.json`, prints it at the end, and `golive report` and `golive plan` show it.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use golive::journal::{Entry, Journal, read_journal};
use golive::lockprofile::sampler::{LockSampler, SAMPLE_EVERY};
use tokio_util::sync::CancellationToken;

use common::{Db, TempDir, golive, latest_run};

/// Whether some session holds ACCESS EXCLUSIVE on `customers`, seen from `url`.
async fn locked(url: &str) -> bool {
    let s = golive::pg::connect(url, "golive-tests").await.unwrap();
    let row = s
        .client
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE relation = 'customers'::regclass \
             AND mode = 'AccessExclusiveLock' AND granted",
            &[],
        )
        .await
        .unwrap();
    row.get::<_, i64>(0) > 0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_holding_access_exclusive_while_a_sandbox_query_waits() {
    let db = Db::phase1();
    let url = db.admin_url();
    let dir = TempDir::new("locks");
    let mut journal = Journal::open(dir.path()).unwrap();
    let sampler = LockSampler::start(&url, CancellationToken::new())
        .await
        .unwrap();
    // The step's session, named as golive's engine names its connections.
    let step = golive::pg::connect(&url, "golive").await.unwrap();
    // A sandbox app session.
    let app = golive::pg::connect(&url, "golive-sandbox-app")
        .await
        .unwrap();

    journal
        .append(Entry::StepStarted {
            step: "hold".into(),
            attempt: 1,
        })
        .unwrap();
    let hold = tokio::spawn(async move {
        step.client
            .batch_execute(
                "BEGIN; LOCK TABLE customers IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(1); COMMIT",
            )
            .await
    });
    while !locked(&url).await {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let waited = tokio::spawn(async move {
        app.client
            .query_one("SELECT count(*) FROM customers", &[])
            .await
            .map(|r| r.get::<_, i64>(0))
    });
    hold.await.unwrap().unwrap();
    assert!(waited.await.unwrap().unwrap() > 0);
    journal
        .append(Entry::StepFinished {
            step: "hold".into(),
            state: golive::events::StepState::Passed,
            duration_ms: 1000,
            detail: None,
        })
        .unwrap();
    let samples = sampler.finish().await;

    let read = read_journal(journal.path()).unwrap();
    let profile = golive::lockprofile::build(&samples, &read, SAMPLE_EVERY);
    let hold = profile.step("hold").expect("the step's locks");
    let customers = hold
        .tables
        .iter()
        .find(|t| t.table == "customers")
        .unwrap_or_else(|| panic!("{profile:?}"));
    assert_eq!(customers.mode, "ACCESS EXCLUSIVE", "{profile:?}");
    assert!(
        (800..=1600).contains(&customers.held_ms),
        "held about the 1 s sleep: {profile:?}"
    );
    assert!(customers.waiters >= 1, "{profile:?}");
    assert!(
        hold.summary()
            .starts_with("ACCESS EXCLUSIVE on customers for "),
        "{}",
        hold.summary()
    );
    // The sandbox's own session is never counted as the step's.
    assert!(
        samples
            .iter()
            .flat_map(|s| &s.rows)
            .filter(|r| !r.granted)
            .all(|r| !r.own),
        "the waiter is a sandbox session"
    );
}

const HOLD_RUNBOOK: &str = r#"[runbook]
name = "hold customers"

[vars]
DATABASE_URL = { required = true, secret = true }

[[steps]]
id = "hold"
title = "Hold customers for a second"
kind = "sql"
database = "DATABASE_URL"
sql = "LOCK TABLE customers IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(1)"
"#;

#[test]
fn a_rehearsal_records_prints_and_reports_its_locks() {
    let dir = TempDir::new("locks-rehearse");
    std::fs::write(dir.path().join("runbook.toml"), HOLD_RUNBOOK).unwrap();
    let out = golive()
        .current_dir(dir.path())
        .args(["rehearse", "--headless"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("hold: ACCESS EXCLUSIVE on customers for"),
        "{stderr}"
    );
    let run = latest_run(dir.path());
    assert!(run.join("locks.json").exists());

    let report = golive()
        .args(["report", &run.display().to_string()])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(report.contains("## Locks taken (rehearsal)"), "{report}");
    assert!(
        report.contains("- `hold`: ACCESS EXCLUSIVE on customers for"),
        "{report}"
    );

    let plan = golive()
        .current_dir(dir.path())
        .args(["plan"])
        .output()
        .unwrap();
    let plan = String::from_utf8_lossy(&plan.stdout);
    assert!(
        plan.contains("rehearsal locks: ACCESS EXCLUSIVE on customers for"),
        "{plan}"
    );
}
