//! `golive monitor` on its own, as the on-call runs it: the real binary against the sandbox app
//! under live traffic, one JSON snapshot per refresh in DESIGN's shape; and after a real 5xx spike,
//! a breach that exits 1 and names the rollback to run.

mod common;

use std::time::Duration;

use golive::sandbox::{Sandbox, SandboxOptions, Scenario};
use serde_json::Value;

use common::{golive, repo, text};

const PANELS: [&str; 6] = [
    "http_5xx_ratio",
    "http_4xx_ratio",
    "catalog_304_ratio",
    "rls_denials",
    "add_to_invoice_p95_seconds",
    "isolation_canary",
];

/// The database after the go-live's SQL: catalog v2 columns and the fail-closed policies (the
/// isolation canary fails on the Phase 1 database, which has no row-level security yet).
async fn deploy_phase2(sandbox: &Sandbox) -> golive::pg::Session {
    let owner = golive::pg::connect(sandbox.database_url(), "test")
        .await
        .expect("owner");
    for sql in golive::sandbox::PHASE2_SQL {
        owner.client.batch_execute(sql).await.expect("phase 2 SQL");
    }
    sandbox
        .build()
        .deploy(golive::sandbox::Build::Phase2)
        .expect("deploy");
    owner
}

async fn monitor(sandbox: &Sandbox, seconds: u64) -> std::process::Output {
    let mut cmd = golive();
    cmd.arg("monitor")
        .arg(repo().join("runbook.toml"))
        .args(["--headless", "--json", "--refresh", "1s", "--for"])
        .arg(format!("{seconds}s"));
    for (name, value, _) in sandbox.vars() {
        cmd.env(name, value);
    }
    tokio::task::spawn_blocking(move || cmd.output().expect("golive monitor"))
        .await
        .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_json_prints_one_snapshot_per_refresh_with_every_panel() {
    let sandbox = Sandbox::start(&SandboxOptions::default())
        .await
        .expect("sandbox");
    deploy_phase2(&sandbox).await;
    let out = monitor(&sandbox, 6).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let snapshots: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is one JSON snapshot"))
        .collect();
    assert!(snapshots.len() >= 4, "one per refresh: {}", snapshots.len());
    for snap in &snapshots {
        assert!(
            snap["at"].as_str().is_some_and(|a| a.ends_with('Z')),
            "{snap}"
        );
        assert!(snap["window_seconds"].as_u64().is_some(), "{snap}");
        let ids: Vec<&str> = snap["panels"]
            .as_array()
            .expect("panels")
            .iter()
            .filter_map(|p| p["id"].as_str())
            .collect();
        assert_eq!(ids, PANELS, "{snap}");
        for panel in snap["panels"].as_array().expect("panels") {
            let state = panel["state"].as_str().expect("state");
            assert!(["ok", "warn", "crit", "nodata"].contains(&state), "{panel}");
            if state == "nodata" {
                assert!(panel["value"].is_null(), "nodata has no value: {panel}");
            }
        }
    }
    // The last line is the final snapshot, carrying the verdict: every source answered and
    // every panel saw data within its thresholds.
    let (last, refreshes) = snapshots.split_last().expect("a snapshot");
    assert_eq!(last["verdict"], "passed", "{last}");
    assert!(
        refreshes.iter().all(|s| s.get("verdict").is_none()),
        "only the final snapshot carries a verdict"
    );
    // Live traffic: by the last refresh the ratios have values and routes.
    let canary = &last["panels"][5];
    assert_eq!(canary["state"], "ok", "fail-closed policies: {canary}");
    let five = &last["panels"][0];
    assert_eq!(five["state"], "ok", "{last}");
    assert!(
        five["by_route"]["/api/invoices/<int:invoice_id>/items"].is_number(),
        "{last}"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_spike_breaches_exits_1_and_names_the_rollback() {
    let sandbox = Sandbox::start(&SandboxOptions {
        scenario: Some(Scenario::FiveXxSpike),
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox");
    let owner = deploy_phase2(&sandbox).await;
    owner
        .client
        .batch_execute("UPDATE feature_flags SET enabled = true WHERE name = 'catalog_api_v2'")
        .await
        .expect("flag on");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let out = monitor(&sandbox, 20).await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("BREACH: http_5xx_ratio"), "{stderr}");
    assert!(!stderr.contains("BREACH: isolation_canary"), "{stderr}");
    assert!(
        stderr.contains("Fast rollback: feature flags off: golive run")
            && stderr.contains("--procedure fast"),
        "{stderr}"
    );
    sandbox.shutdown().await;
}

/// A closed port on 127.0.0.1: bound, then released.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a port")
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blind_watch_is_inconclusive_exits_1_and_names_what_it_could_not_see() {
    // A typo'd metrics URL (nothing listens there) and a canary whose database is unreachable.
    let app = closed_port();
    let db = closed_port();
    let metrics = format!("http://127.0.0.1:{app}/metrics");
    let mut cmd = golive();
    cmd.arg("monitor")
        .arg(repo().join("runbook.toml"))
        .args(["--headless", "--json", "--refresh", "1s", "--for", "5s"])
        .env("APP_URL", format!("http://127.0.0.1:{app}"))
        .env("APP_METRICS_URL", &metrics)
        .env(
            "APP_DATABASE_URL",
            format!("postgres://app_user:pw@127.0.0.1:{db}/shop"),
        )
        .env("TENANT_A", golive::sandbox::TENANT_A)
        .env("TENANT_B", golive::sandbox::TENANT_B)
        .env("PG_LOG", "")
        .env("PROMETHEUS_URL", "");
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("golive monitor"))
        .await
        .expect("join");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stderr.contains("watch INCONCLUSIVE (not a pass)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "APP_METRICS_URL {metrics} never answered: error sending request"
        )) && stderr.contains("Connection refused"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the isolation canary never answered"),
        "{stderr}"
    );
    assert!(!stderr.contains("pw@"), "no password on screen: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let last: Value =
        serde_json::from_str(stdout.lines().last().expect("a final snapshot")).expect("JSON");
    assert_eq!(last["verdict"], "inconclusive", "{last}");
    let reasons = last["reasons"].as_array().expect("reasons");
    assert!(
        reasons.iter().any(|r| r
            .as_str()
            .is_some_and(|r| r.starts_with("http_5xx_ratio had no data"))),
        "{last}"
    );
}
