//! The sandbox's target app against a real sandbox (PostgreSQL, app, no traffic): the Phase 1
//! contract, the v1 → v2 switch, ETag/304, tenant isolation, add-to-invoice, RLS denials, and
//! metrics that count exactly what was sent.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use golive::sandbox::{Sandbox, SandboxOptions, TENANT_A, TENANT_B};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};

const CATALOG: &str = "/api/admin/service-operations";
const ITEMS_RULE: &str = "/api/invoices/<int:invoice_id>/items";
const TENANT_C: &str = "33333333-3333-4333-8333-333333333333";

async fn quiet_sandbox() -> Sandbox {
    Sandbox::start(&SandboxOptions {
        traffic: false,
        ..SandboxOptions::default()
    })
    .await
    .unwrap()
}

/// Sends requests and tallies (method, status, url_rule) as the app should count them.
struct Client {
    http: reqwest::Client,
    base: String,
    sent: Mutex<BTreeMap<(String, u16, String), u64>>,
}

impl Client {
    fn new(sandbox: &Sandbox) -> Self {
        Client {
            http: golive::httpc::client(Duration::from_secs(10)).unwrap(),
            base: sandbox.app_url(),
            sent: Mutex::default(),
        }
    }

    fn get(&self, path: &str) -> RequestBuilder {
        self.http.get(format!("{}{path}", self.base))
    }

    fn post(&self, path: &str) -> RequestBuilder {
        self.http.post(format!("{}{path}", self.base))
    }

    async fn send(&self, req: RequestBuilder, rule: &str) -> (StatusCode, Option<String>, Value) {
        let req = req.build().unwrap();
        let method = req.method().to_string();
        let res = self.http.execute(req).await.unwrap();
        let status = res.status();
        let etag = res
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_string());
        let body = res.bytes().await.unwrap();
        let json = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).unwrap()
        };
        *self
            .sent
            .lock()
            .unwrap()
            .entry((method, status.as_u16(), rule.to_string()))
            .or_default() += 1;
        (status, etag, json)
    }
}

fn names(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect()
}

fn ids(items: &Value) -> Vec<i64> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

async fn owner(sandbox: &Sandbox) -> tokio_postgres::Client {
    golive::pg::connect(sandbox.database_url(), "golive-test")
        .await
        .unwrap()
        .client
}

/// An appointment (invoice) and a catalog id of `tenant`.
async fn invoice_and_operation(db: &tokio_postgres::Client, tenant: &str) -> (i64, i64) {
    let row = db
        .query_one(
            "SELECT (SELECT min(id) FROM appointments WHERE tenant_id = $1::text::uuid),
                    (SELECT min(id) FROM service_operations WHERE tenant_id = $1::text::uuid)",
            &[&tenant],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_serves_v1_then_v2_isolates_tenants_and_counts_every_request() {
    let sandbox = quiet_sandbox().await;
    let db = owner(&sandbox).await;
    let c = Client::new(&sandbox);

    let (status, _, _) = c.send(c.get("/healthz"), "/healthz").await;
    assert_eq!(status, 200);

    // No tenant: no data. A malformed tenant: 400 too.
    let (status, _, body) = c.send(c.get(CATALOG), CATALOG).await;
    assert_eq!(status, 400);
    assert!(body.get("service_operations").is_none() && body["error"].is_string());
    let bad = c.get(CATALOG).header("X-Tenant-ID", "not-a-uuid");
    assert_eq!(c.send(bad, CATALOG).await.0, 400);

    // v1 for each tenant, through header, subdomain and query parameter; no tenant sees another's.
    let (status, etag_a, a) = c
        .send(c.get(CATALOG).header("X-Tenant-ID", TENANT_A), CATALOG)
        .await;
    assert_eq!(status, 200);
    assert!(etag_a.is_some());
    let a = &a["service_operations"];
    assert_eq!(a.as_array().unwrap().len(), 15);
    assert!(
        a[0].get("internal_code").is_none(),
        "v1 has no v2 fields: {a}"
    );
    let port = sandbox.app_url().rsplit(':').next().unwrap().to_string();
    let by_host = c
        .get(CATALOG)
        .header("Host", format!("{TENANT_B}.localhost:{port}"));
    let (_, _, b) = c.send(by_host, CATALOG).await;
    let by_query = c.get(&format!("{CATALOG}?tenant_id={TENANT_C}"));
    let (_, _, c3) = c.send(by_query, CATALOG).await;
    let (ids_a, ids_b, ids_c) = (
        ids(a),
        ids(&b["service_operations"]),
        ids(&c3["service_operations"]),
    );
    assert_eq!(ids_b.len(), 15);
    assert!(
        ids_a
            .iter()
            .all(|id| !ids_b.contains(id) && !ids_c.contains(id))
    );

    // ETag revalidation.
    let reval = c
        .get(CATALOG)
        .header("X-Tenant-ID", TENANT_A)
        .header("If-None-Match", etag_a.clone().unwrap());
    let (status, etag, body) = c.send(reval, CATALOG).await;
    assert_eq!(
        (status, etag, body),
        (StatusCode::NOT_MODIFIED, etag_a.clone(), Value::Null)
    );

    // The Phase 1 build knows no v2: the preview header is ignored, the answer is v1.
    let preview = || {
        c.get(CATALOG)
            .header("X-Tenant-ID", TENANT_A)
            .header("X-Catalog-Version", "2")
    };
    let (status, _, body) = c.send(preview(), CATALOG).await;
    assert_eq!(status, 200);
    assert_eq!(body["service_operations"].as_array().unwrap().len(), 15);

    // After the migration the preview answers v2: a root array, sorted display_order NULLS LAST,
    // then name.
    for sql in &golive::sandbox::PHASE2_SQL[..2] {
        db.batch_execute(sql).await.unwrap();
    }
    sandbox
        .build()
        .deploy(golive::sandbox::Build::Phase2)
        .unwrap();
    db.execute(
        "UPDATE service_operations SET display_order = 1 WHERE name = 'Wheel alignment'",
        &[],
    )
    .await
    .unwrap();
    let (status, etag_v2, v2) = c.send(preview(), CATALOG).await;
    assert_eq!(status, 200);
    assert_ne!(etag_v2, etag_a);
    let list = v2.as_array().expect("v2 is a root array");
    assert_eq!(list.len(), 15);
    assert!(
        list[0]["internal_code"]
            .as_str()
            .unwrap()
            .starts_with("OP-")
    );
    assert!(list[0].get("subcategory").is_some());
    assert_eq!(list[0]["display_order"], json!(1));
    let rest = names(&v2)[1..].to_vec();
    let mut sorted = rest.clone();
    sorted.sort();
    assert_eq!(rest, sorted);

    // Without the header it stays v1 until the flag is on; then v2 for everyone.
    let plain = || c.get(CATALOG).header("X-Tenant-ID", TENANT_A);
    assert!(c.send(plain(), CATALOG).await.2.is_object());
    db.execute(
        "UPDATE feature_flags SET enabled = true WHERE name = 'catalog_api_v2'",
        &[],
    )
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, _, body) = c.send(plain(), CATALOG).await;
        if body.is_array() {
            break;
        }
        assert!(Instant::now() < deadline, "flag not picked up: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Add-to-invoice: 201 on the tenant's invoice, 404 on another tenant's or a non-number.
    let (invoice_a, op_a) = invoice_and_operation(&db, TENANT_A).await;
    let (invoice_b, _) = invoice_and_operation(&db, TENANT_B).await;
    let item = json!({ "service_operation_id": op_a, "quantity": 2 });
    let add = |invoice: &str| {
        c.post(&format!("/api/invoices/{invoice}/items"))
            .header("X-Tenant-ID", TENANT_A)
            .json(&item)
    };
    let (status, _, line) = c.send(add(&invoice_a.to_string()), ITEMS_RULE).await;
    assert_eq!(status, 201, "{line}");
    let row = db
        .query_one(
            "SELECT tenant_id::text, appointment_id, quantity FROM services WHERE id = $1",
            &[&line["id"].as_i64().unwrap()],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), TENANT_A);
    assert_eq!(row.get::<_, i64>(1), invoice_a);
    assert_eq!(row.get::<_, i32>(2), 2);
    assert_eq!(c.send(add(&invoice_b.to_string()), ITEMS_RULE).await.0, 404);
    assert_eq!(c.send(add("abc"), ITEMS_RULE).await.0, 404);
    let (status, _, _) = c.send(c.get("/nowhere"), "None").await;
    assert_eq!(status, 404);

    // /metrics counts exactly what was sent, under Flask's url_rule, and not itself.
    let text = c
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut totals: BTreeMap<(String, u16), u64> = BTreeMap::new();
    let sent = c.sent.lock().unwrap().clone();
    for ((method, status, rule), n) in &sent {
        let series = format!(
            "flask_http_request_duration_seconds_count{{method=\"{method}\",status=\"{status}\",url_rule=\"{rule}\"}}"
        );
        assert_eq!(metric_value(&text, &series), *n as f64, "{series}\n{text}");
        let inf = format!(
            "flask_http_request_duration_seconds_bucket{{method=\"{method}\",status=\"{status}\",url_rule=\"{rule}\",le=\"+Inf\"}}"
        );
        assert_eq!(metric_value(&text, &inf), *n as f64, "{inf}");
        *totals.entry((method.clone(), *status)).or_default() += n;
    }
    for ((method, status), n) in totals {
        let series = format!("flask_http_request_total{{method=\"{method}\",status=\"{status}\"}}");
        assert_eq!(metric_value(&text, &series), n as f64, "{series}");
    }
    let counted: usize = text
        .lines()
        .filter(|l| l.starts_with("flask_http_request_duration_seconds_count"))
        .count();
    assert_eq!(counted, sent.len(), "unexpected series:\n{text}");
    assert!(text.contains("app_rls_denials_total{table=\"services\"} 0.0"));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_rls_a_foreign_write_is_denied_counted_and_logged() {
    let sandbox = quiet_sandbox().await;
    let db = owner(&sandbox).await;
    let c = Client::new(&sandbox);
    db.batch_execute(&format!("BEGIN; {} COMMIT;", golive::sandbox::RLS_ON_SQL))
        .await
        .unwrap();
    sandbox
        .build()
        .deploy(golive::sandbox::Build::Phase2)
        .unwrap();

    // The pool's connections are reused across tenants; each still sees only its tenant.
    for _ in 0..3 {
        for tenant in [TENANT_A, TENANT_B] {
            let (status, _, body) = c
                .send(c.get(CATALOG).header("X-Tenant-ID", tenant), CATALOG)
                .await;
            assert_eq!(status, 200);
            assert_eq!(body["service_operations"].as_array().unwrap().len(), 15);
        }
    }

    // A legacy client naming another tenant in the body: RLS's WITH CHECK refuses the row.
    let (invoice_a, op_a) = invoice_and_operation(&db, TENANT_A).await;
    let foreign = json!({ "service_operation_id": op_a, "tenant_id": TENANT_B });
    let req = c
        .post(&format!("/api/invoices/{invoice_a}/items"))
        .header("X-Tenant-ID", TENANT_A)
        .json(&foreign);
    let (status, _, body) = c.send(req, ITEMS_RULE).await;
    assert_eq!(status, 403, "{body}");
    let text = c
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("app_rls_denials_total{table=\"services\"} 1.0"),
        "{text}"
    );

    // The server logged the denial in its jsonlog (what the dashboard's log source reads).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = std::fs::read_to_string(sandbox.pg_log()).unwrap_or_default();
        if log
            .lines()
            .any(|l| l.contains("\"state_code\":\"42501\"") && l.contains("row-level security"))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no 42501 line in {}",
            sandbox.pg_log().display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sandbox.shutdown().await;
}

/// The hazard the shipped runbook's order avoids, made real: under enabled and forced policies
/// the Phase 1 build (which sets no tenant) answers `200` with nothing; the Phase 2 build answers
/// each tenant its own rows; and the build file deploys either at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phase1_build_sees_nothing_under_rls_and_the_phase2_build_sees_its_tenant() {
    use golive::sandbox::Build;
    let sandbox = quiet_sandbox().await;
    let db = owner(&sandbox).await;
    let c = Client::new(&sandbox);
    let catalog = |tenant: &str| c.get(CATALOG).header("X-Tenant-ID", tenant.to_string());
    let count = |body: &Value| body["service_operations"].as_array().map(Vec::len);
    assert_eq!(
        sandbox.build().get(),
        Build::Phase1,
        "the world before the go-live"
    );

    // Dormant policies change nothing for Phase 1.
    db.batch_execute(include_str!("../assets/sql/rls-policies.sql"))
        .await
        .unwrap();
    assert_eq!(count(&c.send(catalog(TENANT_A), CATALOG).await.2), Some(15));

    // Enabled and forced: Phase 1 gets an empty catalog and cannot find its own invoices.
    db.batch_execute(include_str!("../assets/sql/rls-enable.sql"))
        .await
        .unwrap();
    let (status, _, body) = c.send(catalog(TENANT_A), CATALOG).await;
    assert_eq!((status, count(&body)), (StatusCode::OK, Some(0)));
    let (invoice_a, op_a) = invoice_and_operation(&db, TENANT_A).await;
    let add = || {
        c.post(&format!("/api/invoices/{invoice_a}/items"))
            .header("X-Tenant-ID", TENANT_A)
            .json(&json!({ "service_operation_id": op_a }))
    };
    assert_eq!(c.send(add(), ITEMS_RULE).await.0, StatusCode::NOT_FOUND);

    // A deploy is a line in the build file, done when it is written.
    std::fs::write(sandbox.build().file(), "phase2\n").unwrap();
    assert_eq!(sandbox.build().get(), Build::Phase2);
    for tenant in [TENANT_A, TENANT_B] {
        assert_eq!(count(&c.send(catalog(tenant), CATALOG).await.2), Some(15));
    }
    assert_eq!(c.send(add(), ITEMS_RULE).await.0, StatusCode::CREATED);
    sandbox.shutdown().await;
}
