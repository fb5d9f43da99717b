//! Database faults while monitoring (issue 7): `pg_terminate_backend` on the dashboard's own
//! connections. The SQL panel's source shows the failure, and both it and the isolation canary
//! reconnect by themselves (the poller backs off and retries).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::Db;
use golive::monitor::{MonitorConfig, Snapshot, Watch};
use golive::runbook::Vars;

fn config(db: &Db) -> MonitorConfig {
    let table: toml::Table = toml::from_str(
        r#"
refresh = "1s"
windows = ["2s", "5s"]
[canary]
every = "1s"
tables = ["customers"]
[[queries]]
id = "backends"
database = "DATABASE_URL"
sql = "SELECT count(*) FROM pg_stat_activity"
"#,
    )
    .unwrap();
    let mut vars = Vars::default();
    vars.set("DATABASE_URL", db.admin_url(), true);
    vars.set("APP_DATABASE_URL", db.app_url(), true);
    MonitorConfig::from_table(Some(&table), &vars, &|_| None).unwrap()
}

/// Refreshes until `done` holds for a snapshot, or panics after `secs` with the last one.
async fn until(watch: &mut Watch, secs: u64, what: &str, done: impl Fn(&Snapshot) -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        let snap = watch.next().await;
        if done(&snap) {
            return;
        }
        assert!(Instant::now() < end, "{what}: {:?}", snap.sources);
    }
}

fn source_ok(snap: &Snapshot, name: &str) -> bool {
    snap.sources.iter().any(|s| s.name == name && s.ok)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_monitor_connections_show_as_failing_and_recover() {
    let db = tokio::task::spawn_blocking(Db::phase1).await.unwrap();
    let mut watch = Watch::start(config(&db)).unwrap();
    until(&mut watch, 20, "sources answer", |s| {
        source_ok(s, "sql:backends") && source_ok(s, "canary")
    })
    .await;

    let admin = golive::pg::connect(&db.admin_url(), "test").await.unwrap();
    let killed = |app: &'static str| {
        format!(
            "SELECT count(pg_terminate_backend(pid))::int FROM pg_stat_activity \
             WHERE application_name = '{app}' AND pid <> pg_backend_pid()"
        )
    };
    let row = admin
        .client
        .query_one(&killed("golive-monitor"), &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 1, "the SQL panel's connection");

    until(
        &mut watch,
        20,
        "the SQL source shows the lost connection",
        |s| {
            s.sources
                .iter()
                .any(|src| src.name == "sql:backends" && !src.ok && src.error.is_some())
        },
    )
    .await;
    until(&mut watch, 60, "the SQL source reconnects", |s| {
        source_ok(s, "sql:backends")
            && s.panels
                .iter()
                .any(|p| p.id == "backends" && p.value.is_some() && p.stale_seconds.is_none())
    })
    .await;

    // The canary opens its connection per round: terminating it between rounds costs nothing,
    // and it keeps answering.
    admin
        .client
        .query_one(&killed("golive canary"), &[])
        .await
        .unwrap();
    until(&mut watch, 30, "the canary keeps answering", |s| {
        source_ok(s, "canary")
            && s.panels
                .iter()
                .any(|p| p.id == "isolation_canary" && p.value.is_some())
    })
    .await;
}
