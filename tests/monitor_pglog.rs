//! The PostgreSQL log source after real RLS violations: the sandbox's own jsonlog after the
//! sandbox app's add-to-invoice is refused by the deployed policies, and a stderr log; the
//! isolation canary against real row-level security, on a throwaway cluster.
#![allow(clippy::unwrap_used)]

mod monitor_support;

use std::path::Path;
use std::time::{Duration, Instant};

use golive::monitor::Sample;
use golive::monitor::canary::Canary;
use golive::monitor::config::CanaryConfig;
use golive::monitor::pglog::PgLog;
use golive::pg::cluster::{Cluster, ClusterOptions};
use golive::sandbox::{Sandbox, TENANT_A, TENANT_B};
use monitor_support::{first_invoice_and_operation, quiet_sandbox, reqwest_client};

const A: &str = "11111111-1111-1111-1111-111111111111";
const B: &str = "22222222-2222-2222-2222-222222222222";

async fn setup(cluster: &Cluster) -> tokio_postgres::Client {
    let admin = golive::pg::connect(&cluster.url("postgres"), "test")
        .await
        .unwrap()
        .client;
    admin
        .batch_execute(&format!(
            "CREATE ROLE app_user LOGIN PASSWORD 'app-pw' NOSUPERUSER NOBYPASSRLS;
             CREATE TABLE customers (id serial PRIMARY KEY, tenant_id uuid NOT NULL, name text);
             INSERT INTO customers (tenant_id, name) VALUES ('{A}', 'a'), ('{B}', 'b');
             ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
             ALTER TABLE customers FORCE ROW LEVEL SECURITY;
             CREATE POLICY tenant ON customers FOR ALL
               USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
               WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
             GRANT SELECT, INSERT ON customers TO app_user;
             GRANT USAGE ON SEQUENCE customers_id_seq TO app_user;"
        ))
        .await
        .unwrap();
    admin
}

async fn violate(cluster: &Cluster) {
    let app = golive::pg::connect(&cluster.url_as("app_user", "app-pw", "postgres"), "test")
        .await
        .unwrap()
        .client;
    let err = app
        .batch_execute(&format!(
            "BEGIN; SET LOCAL app.tenant_id = '{A}'; INSERT INTO customers (tenant_id, name) VALUES ('{B}', 'x'); COMMIT;"
        ))
        .await
        .unwrap_err();
    assert_eq!(golive::pg::sqlstate(&err), Some("42501"));
}

async fn denials(log: &mut PgLog, want: usize) -> Vec<Option<String>> {
    let end = Instant::now() + Duration::from_secs(15);
    let mut found = Vec::new();
    while found.len() < want {
        for s in log.read_new().unwrap() {
            if let Sample::Denial { table, .. } = s {
                found.push(table);
            }
        }
        assert!(
            Instant::now() < end,
            "only {} denials in the log",
            found.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    found
}

/// A Phase 1 integration client's add-to-invoice as tenant A whose body still names tenant B:
/// refused by the policy's `WITH CHECK` once the RLS policies are deployed (403).
async fn cross_tenant_write(sandbox: &Sandbox, invoice: i64, operation: i64) {
    let resp = reqwest_client()
        .post(format!(
            "{}/api/invoices/{invoice}/items",
            sandbox.app_url()
        ))
        .header("X-Tenant-ID", TENANT_A)
        .json(&serde_json::json!({ "service_operation_id": operation, "tenant_id": TENANT_B }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
}

#[tokio::test]
async fn sandbox_jsonlog_denials_are_counted_with_their_table_through_truncation() {
    let sandbox = quiet_sandbox().await;
    let owner = golive::pg::connect(sandbox.database_url(), "monitor-tests")
        .await
        .unwrap();
    owner
        .client
        .batch_execute(golive::sandbox::RLS_ON_SQL)
        .await
        .unwrap();
    sandbox
        .build()
        .deploy(golive::sandbox::Build::Phase2)
        .unwrap();
    let (invoice, operation) = first_invoice_and_operation(&owner.client).await;
    let mut log = PgLog::new(sandbox.pg_log());
    assert!(
        log.read_new().unwrap().is_empty(),
        "reading starts at the end"
    );
    cross_tenant_write(&sandbox, invoice, operation).await;
    cross_tenant_write(&sandbox, invoice, operation).await;
    assert_eq!(
        denials(&mut log, 2).await,
        vec![Some("services".to_string()); 2]
    );
    // Truncated under our feet: read again from the start of what is there.
    std::fs::OpenOptions::new()
        .write(true)
        .open(sandbox.pg_log())
        .unwrap()
        .set_len(0)
        .unwrap();
    cross_tenant_write(&sandbox, invoice, operation).await;
    assert_eq!(denials(&mut log, 1).await.len(), 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn stderr_log_denials_are_found() {
    let cluster = Cluster::start(&ClusterOptions::default()).unwrap();
    setup(&cluster).await;
    let mut log = PgLog::new(&cluster.root().join("server.log"));
    log.read_new().unwrap();
    violate(&cluster).await;
    assert_eq!(
        denials(&mut log, 1).await,
        vec![Some("customers".to_string())]
    );
    let missing = PgLog::new(Path::new("/nonexistent/pg.log"))
        .read_new()
        .unwrap_err();
    assert!(missing.contains("set PG_LOG"), "{missing}");
}

#[tokio::test]
async fn the_canary_passes_on_fail_closed_rls_and_fails_on_a_leak() {
    let cluster = Cluster::start(&ClusterOptions::default()).unwrap();
    let admin = setup(&cluster).await;
    let cfg = CanaryConfig {
        every: Duration::from_secs(60),
        app_url: None,
        database_url: Some(cluster.url_as("app_user", "app-pw", "postgres")),
        tenants: vec![A.into(), B.into()],
        tenant_header: "X-Tenant-ID".into(),
        tables: vec!["customers".into()],
    };
    let canary = Canary::new(cfg, "/api/admin/service-operations", Duration::from_secs(5));
    let (probes, failures) = canary.round().await.unwrap();
    assert_eq!((probes, failures.len()), (3, 0), "{failures:?}");
    // The seed's policy: not fail-closed on a reused connection ('' :: uuid raises 22P02).
    admin
        .batch_execute(
            "DROP POLICY tenant ON customers;
             CREATE POLICY tenant ON customers FOR ALL
               USING (tenant_id = current_setting('app.tenant_id', true)::uuid);",
        )
        .await
        .unwrap();
    let (_, failures) = canary.round().await.unwrap();
    assert!(
        failures.iter().any(|f| f.contains("NULLIF")),
        "{failures:?}"
    );
    // A leak: everyone sees everything.
    admin
        .batch_execute(
            "DROP POLICY tenant ON customers; CREATE POLICY tenant ON customers USING (true);",
        )
        .await
        .unwrap();
    let (_, failures) = canary.round().await.unwrap();
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert!(
        failures[0].contains("rows of other tenants"),
        "{failures:?}"
    );
}
