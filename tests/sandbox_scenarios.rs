//! Each game-day scenario's fault is real: it does to the sandbox what `docs/scenarios.md` says.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use golive::sandbox::{Sandbox, SandboxOptions, Scenario, TENANT_A};
use serde_json::{Value, json};

const CATALOG: &str = "/api/admin/service-operations";

async fn start(scenario: Scenario) -> Sandbox {
    Sandbox::start(&SandboxOptions {
        scenario: Some(scenario),
        traffic: false,
        ..SandboxOptions::default()
    })
    .await
    .unwrap()
}

async fn connect(url: &str, application_name: &str) -> tokio_postgres::Client {
    golive::pg::connect(url, application_name)
        .await
        .unwrap()
        .client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_open_policy_survives_the_rls_deployment() {
    let sandbox = start(Scenario::FailOpenPolicy).await;
    let owner = connect(sandbox.database_url(), "golive-test").await;
    owner
        .batch_execute(&format!("BEGIN; {} COMMIT;", golive::sandbox::RLS_ON_SQL))
        .await
        .unwrap();
    let policies: Vec<String> = owner
        .query(
            "SELECT policyname::text FROM pg_policies WHERE tablename = 'customers' ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(policies, ["support_dashboard_read", "tenant_isolation"]);

    // app_user, logged in as itself, with no tenant context: customers leak, other tables do not.
    let app = connect(sandbox.app_database_url(), "golive-test").await;
    let count = |table: &str| format!("SELECT count(*) FROM {table}");
    let customers: i64 = app
        .query_one(&count("customers"), &[])
        .await
        .unwrap()
        .get(0);
    let vehicles: i64 = app.query_one(&count("vehicles"), &[]).await.unwrap().get(0);
    assert_eq!(
        (customers, vehicles),
        (120, 0),
        "the leftover policy must fail open"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_wrapper_answers_v2_requests_with_the_wrapper() {
    let sandbox = start(Scenario::LegacyWrapper).await;
    let owner = connect(sandbox.database_url(), "golive-test").await;
    owner
        .batch_execute(include_str!("../assets/sql/catalog-v2-columns.sql"))
        .await
        .unwrap();
    sandbox
        .build()
        .deploy(golive::sandbox::Build::Phase2)
        .unwrap();
    let body: Value = golive::httpc::client(Duration::from_secs(10))
        .unwrap()
        .get(format!("{}{CATALOG}", sandbox.app_url()))
        .header("X-Tenant-ID", TENANT_A)
        .header("X-Catalog-Version", "2")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = body["service_operations"]
        .as_array()
        .expect("the legacy wrapper");
    assert!(
        items[0].get("internal_code").is_some(),
        "v2 items inside the v1 wrapper: {body}"
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_xx_spike_fails_three_in_ten_writes_once_the_flag_is_on() {
    let sandbox = start(Scenario::FiveXxSpike).await;
    let owner = connect(sandbox.database_url(), "golive-test").await;
    let http = golive::httpc::client(Duration::from_secs(10)).unwrap();
    let row = owner
        .query_one(
            "SELECT (SELECT min(id) FROM appointments WHERE tenant_id = $1::text::uuid),
                    (SELECT min(id) FROM service_operations WHERE tenant_id = $1::text::uuid)",
            &[&TENANT_A],
        )
        .await
        .unwrap();
    let (invoice, operation): (i64, i64) = (row.get(0), row.get(1));
    let add = || async {
        http.post(format!(
            "{}/api/invoices/{invoice}/items",
            sandbox.app_url()
        ))
        .header("X-Tenant-ID", TENANT_A)
        .json(&json!({ "service_operation_id": operation }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
    };
    for _ in 0..10 {
        assert_eq!(add().await, 201, "no spike before the flag");
    }

    owner
        .batch_execute(include_str!("../assets/sql/catalog-v2-columns.sql"))
        .await
        .unwrap();
    sandbox
        .build()
        .deploy(golive::sandbox::Build::Phase2)
        .unwrap();
    owner
        .execute(
            "UPDATE feature_flags SET enabled = true WHERE name = 'catalog_api_v2'",
            &[],
        )
        .await
        .unwrap();
    // Wait until the app has seen the flag (its cache lives a second): the catalog turns v2.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let body: Value = http
            .get(format!("{}{CATALOG}", sandbox.app_url()))
            .header("X-Tenant-ID", TENANT_A)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if body.is_array() {
            break;
        }
        assert!(Instant::now() < deadline, "flag not seen");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut failed = 0;
    for _ in 0..20 {
        match add().await {
            500 => failed += 1,
            201 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(failed, 6, "30% of add-to-invoice must fail");
    let text = http
        .get(sandbox.metrics_url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("flask_http_request_duration_seconds_count{method=\"POST\",status=\"500\",url_rule=\"/api/invoices/<int:invoice_id>/items\"} 6.0"),
        "{text}"
    );
    sandbox.shutdown().await;
}

async fn pg_dump(url: &str, lock_wait: &str) -> std::process::Output {
    tokio::process::Command::new("pg_dump")
        .args([
            "--lock-wait-timeout",
            lock_wait,
            "--no-sync",
            "-Fc",
            "-f",
            "/dev/null",
            url,
        ])
        .output()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_snapshot_lock_fails_a_lock_wait_timeout_dump_until_released() {
    let hold = Duration::from_secs(4);
    let sandbox = Sandbox::start(&SandboxOptions {
        scenario: Some(Scenario::SlowSnapshot),
        traffic: false,
        slow_snapshot_hold: hold,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let locked_by = Instant::now();
    let lock_wait = sandbox
        .vars()
        .into_iter()
        .find(|(name, _, _)| name == "SNAPSHOT_LOCK_WAIT")
        .map(|(_, value, _)| value);
    assert_eq!(lock_wait.as_deref(), Some("3s"));

    let out = pg_dump(sandbox.database_url(), "1s").await;
    let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(!out.status.success(), "pg_dump should not get its locks");
    assert!(
        stderr.contains("customers") && stderr.contains("lock"),
        "{stderr}"
    );

    // The batch job ends; a retry succeeds.
    tokio::time::sleep(
        (locked_by + hold + Duration::from_millis(300)).saturating_duration_since(Instant::now()),
    )
    .await;
    let out = pg_dump(sandbox.database_url(), "1s").await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_goes_away_terminates_golive_sessions_once() {
    let sandbox = start(Scenario::DbGoesAway).await;
    let bystander = connect(sandbox.database_url(), "golive").await;
    let flipper = connect(sandbox.database_url(), "golive").await;
    let other_tool = connect(sandbox.database_url(), "psql").await;

    // The runbook's flags step writes with an upsert.
    let err = flipper
        .execute(
            "INSERT INTO feature_flags (name, enabled) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = now()",
            &[&"catalog_api_v2", &true],
        )
        .await
        .unwrap_err();
    let text = golive::pg::describe(&err);
    assert!(text.contains("terminat"), "{text}");
    assert!(
        bystander.query_one("SELECT 1", &[]).await.is_err(),
        "golive's other session must be gone"
    );
    assert!(
        other_tool.query_one("SELECT 1", &[]).await.is_ok(),
        "only golive's sessions go away"
    );
    let flags: i64 = other_tool
        .query_one("SELECT count(*) FROM feature_flags WHERE enabled", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(flags, 0, "the terminated update was rolled back");

    // A retry on a new connection works, and the app never lost its own sessions.
    let retry = connect(sandbox.database_url(), "golive").await;
    let n = retry
        .execute(
            "UPDATE feature_flags SET enabled = true WHERE name = 'rls_enabled'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let response = golive::httpc::client(Duration::from_secs(10))
        .unwrap()
        .get(format!("{}{CATALOG}", sandbox.app_url()))
        .header("X-Tenant-ID", TENANT_A)
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_eq!(status, 200, "{}", response.text().await.unwrap());
    sandbox.shutdown().await;
}
