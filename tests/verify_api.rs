//! `golive verify api` against the sandbox app, which serves the Catalog API v2 correctly (after
//! the Catalog v2 migration, previewed with `X-Catalog-Version: 2`) and, in the `legacy-wrapper`
//! scenario, with the legacy wrapper.
//!
//! The other broken variants the verifier must catch (a missing v2 field, the wrong order, no
//! ETag, items shared between tenants, data without a tenant, a tenant sticking across requests)
//! cannot be made to happen on the sandbox app, so a small hyper server serves them.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use golive::sandbox::{Sandbox, SandboxOptions, Scenario, TENANT_A as A, TENANT_B as B};
use golive::verify::api::{self, ApiOptions, ApiReport};
use golive::verify::canary::{self, CanaryOptions, CanaryOutcome};
use golive::verify::{Severity, Verdict};

/// How the fake server misbehaves.
#[derive(Clone, Copy, PartialEq)]
enum Variant {
    MissingField,
    NullsFirst,
    NoEtag,
    SharedItems,
    NoTenantLeaks,
    StickyTenant,
    /// Header, else subdomain, else query: conflicting tenants are not refused.
    HeaderWins,
    /// The query parameter overrides the header.
    QueryWins,
}

/// The tenants a request names: header, subdomain, query parameter, in that order.
fn places(req: &Request<hyper::body::Incoming>) -> Vec<String> {
    let header = req
        .headers()
        .get("x-tenant-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let subdomain = req
        .headers()
        .get("host")
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.split_once('.'))
        .map(|(label, _)| label.to_string())
        .filter(|label| label.len() == 36);
    let query = req.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("tenant_id="))
            .map(str::to_string)
    });
    [header, subdomain, query].into_iter().flatten().collect()
}

fn items(tenant: &str, base: i64, variant: Variant) -> Vec<Value> {
    let mut items = vec![
        json!({"id": base + 1, "tenant_id": tenant, "name": "Oil change", "internal_code": "OP-1", "subcategory": "fluids", "display_order": 1}),
        json!({"id": base + 2, "tenant_id": tenant, "name": "Tire rotation", "internal_code": "OP-2", "subcategory": "wheels", "display_order": 2}),
        json!({"id": base + 3, "tenant_id": tenant, "name": "A/C recharge", "internal_code": "OP-3", "subcategory": null, "display_order": null}),
        json!({"id": base + 4, "tenant_id": tenant, "name": "Brake fluid flush", "internal_code": "OP-4", "subcategory": "brakes", "display_order": null}),
    ];
    if variant == Variant::NullsFirst {
        items.rotate_left(2);
    }
    if variant == Variant::MissingField {
        items.iter_mut().for_each(|i| {
            i.as_object_mut().map(|o| o.remove("subcategory"));
        });
    }
    items
}

fn catalog(tenant: &str, variant: Variant) -> Vec<Value> {
    match (tenant, variant) {
        (B, Variant::SharedItems) => items(A, 0, variant),
        (B, _) => items(B, 100, variant),
        (t, _) => items(t, 0, variant),
    }
}

fn respond(status: StatusCode, etag: Option<String>, body: String) -> Response<Full<Bytes>> {
    let mut builder = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Some(tag) = etag {
        builder = builder.header("etag", tag);
    }
    builder
        .body(Full::new(Bytes::from(body)))
        .expect("response")
}

fn handle(
    req: &Request<hyper::body::Incoming>,
    variant: Variant,
    last: &Mutex<Option<String>>,
) -> Response<Full<Bytes>> {
    if req.uri().path() != "/api/admin/service-operations" {
        return respond(StatusCode::NOT_FOUND, None, "{}".into());
    }
    let given = places(req);
    let header = match variant {
        Variant::QueryWins => given.last().cloned(),
        Variant::HeaderWins => given.first().cloned(),
        _ if given.iter().any(|t| *t != given[0]) => {
            return respond(
                StatusCode::BAD_REQUEST,
                None,
                r#"{"error":"conflicting tenants"}"#.into(),
            );
        }
        _ => given.first().cloned(),
    };
    let tenant = match (header, variant) {
        (Some(t), _) => {
            *last.lock().expect("lock") = Some(t.clone());
            Some(t)
        }
        (None, Variant::StickyTenant) => last.lock().expect("lock").clone(),
        (None, _) => None,
    };
    let items = match (tenant, variant) {
        (Some(t), _) => catalog(&t, variant),
        (None, Variant::NoTenantLeaks) => [catalog(A, variant), catalog(B, variant)].concat(),
        (None, _) => {
            return respond(
                StatusCode::BAD_REQUEST,
                None,
                r#"{"error":"tenant required"}"#.into(),
            );
        }
    };
    let body = Value::Array(items).to_string();
    if variant == Variant::NoEtag {
        return respond(StatusCode::OK, None, body);
    }
    let tag = format!(
        "\"{:x}\"",
        body.len() * 31 + body.bytes().map(usize::from).sum::<usize>()
    );
    let matches = req
        .headers()
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        == Some(tag.as_str());
    if matches {
        return respond(StatusCode::NOT_MODIFIED, Some(tag), String::new());
    }
    respond(StatusCode::OK, Some(tag), body)
}

/// Serve `variant` on a free loopback port; returns the base URL.
async fn serve(variant: Variant) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let last = Arc::new(Mutex::new(None));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let last = last.clone();
            let service = hyper::service::service_fn(move |req| {
                let response = handle(&req, variant, &last);
                async move { Ok::<_, Infallible>(response) }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    format!("http://{addr}")
}

/// A sandbox app answering only the test's requests, with the Catalog v2 migration applied as
/// the owner.
async fn sandbox_v2(scenario: Option<Scenario>) -> Sandbox {
    let sandbox = Sandbox::start(&SandboxOptions {
        scenario,
        traffic: false,
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox");
    let migration = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sql/catalog-v2-columns.sql"),
    )
    .expect("migration");
    let owner = golive::pg::connect(sandbox.database_url(), "verify-api-tests")
        .await
        .expect("connect");
    owner
        .client
        .batch_execute(&migration)
        .await
        .expect("catalog v2 migration");
    sandbox
        .build()
        .deploy(golive::sandbox::Build::Phase2)
        .expect("deploy");
    sandbox
}

/// The verifier's options for tenants A and B, previewing v2 as the runbook's
/// `verify-api-preview` does.
fn preview(app_url: String) -> ApiOptions {
    let mut options = ApiOptions::new(app_url, vec![A.into(), B.into()]);
    options.headers = vec![("X-Catalog-Version".into(), "2".into())];
    options
}

async fn verify_sandbox(scenario: Option<Scenario>) -> ApiReport {
    let sandbox = sandbox_v2(scenario).await;
    let report = check(&preview(sandbox.app_url())).await;
    sandbox.shutdown().await;
    report
}

async fn verify(variant: Variant) -> ApiReport {
    check(&ApiOptions::new(
        serve(variant).await,
        vec![A.into(), B.into()],
    ))
    .await
}

async fn check(options: &ApiOptions) -> ApiReport {
    let report = api::verify(options).await.expect("verifier runs");
    for line in report.text_lines() {
        println!("{line}");
    }
    report
}

fn failed(report: &ApiReport, check: &str, severity: Severity) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.check == check && f.severity == severity)
}

#[tokio::test]
async fn correct_v2_api_passes() {
    let report = verify_sandbox(None).await;
    assert_eq!(report.verdict, Verdict::Pass, "{:?}", report.findings);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert!(report.checks.iter().all(|c| c.passed));
    assert!(report.text_lines().join("\n").contains("read-only"));
}

#[tokio::test]
async fn every_place_gives_the_tenant_and_conflicts_are_refused() {
    // The fake server refuses conflicting tenants, like the sandbox app.
    let report = verify(Variant::MissingField).await;
    for check in [
        "tenant A by the subdomain: A's items",
        "tenant A by the tenant_id parameter: A's items",
        "A in the X-Tenant-ID header, B in the subdomain: refused",
        "A in the X-Tenant-ID header, B in the tenant_id parameter: refused",
        "A in the subdomain, B in the tenant_id parameter: refused",
    ] {
        assert!(
            report.checks.iter().any(|c| c.name == check && c.passed),
            "{check}: {:?}",
            report.checks
        );
    }
}

#[tokio::test]
async fn a_query_parameter_overriding_the_header_is_fail_open() {
    let report = verify(Variant::QueryWins).await;
    let f = report
        .findings
        .iter()
        .find(|f| f.check == "A in the X-Tenant-ID header, B in the tenant_id parameter: refused")
        .expect("the override is found");
    assert_eq!(f.severity, Severity::FailOpen);
    assert!(
        f.seen
            .contains("items of the tenant in the tenant_id parameter"),
        "{}",
        f.seen
    );
    assert_eq!(report.verdict, Verdict::Fail);
}

#[tokio::test]
async fn a_header_silently_winning_over_the_subdomain_is_fail_open() {
    let report = verify(Variant::HeaderWins).await;
    assert!(failed(
        &report,
        "A in the subdomain, B in the tenant_id parameter: refused",
        Severity::FailOpen
    ));
    let f = report
        .findings
        .iter()
        .find(|f| f.check == "A in the X-Tenant-ID header, B in the subdomain: refused")
        .expect("found");
    assert!(
        f.seen.contains("tenant in the X-Tenant-ID header"),
        "{}",
        f.seen
    );
}

#[tokio::test]
async fn legacy_wrapper_is_caught() {
    let report = verify_sandbox(Some(Scenario::LegacyWrapper)).await;
    assert!(failed(&report, "tenant A: root array", Severity::Broken));
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.seen.contains("legacy v1 wrapper"))
    );
    assert_eq!(report.verdict, Verdict::Fail);
}

#[tokio::test]
async fn missing_v2_field_is_caught() {
    let report = verify(Variant::MissingField).await;
    let f = report
        .findings
        .iter()
        .find(|f| f.check == "tenant A: v2 fields")
        .expect("finding");
    assert!(f.seen.contains("lacks subcategory"), "{}", f.seen);
}

#[tokio::test]
async fn wrong_order_is_caught() {
    let report = verify(Variant::NullsFirst).await;
    assert!(failed(&report, "tenant A: order", Severity::Broken));
}

#[tokio::test]
async fn missing_etag_is_caught() {
    let report = verify(Variant::NoEtag).await;
    assert!(failed(&report, "tenant A: ETag", Severity::Broken));
}

#[tokio::test]
async fn overlapping_tenants_are_fail_open() {
    let report = verify(Variant::SharedItems).await;
    assert!(failed(
        &report,
        "tenants A and B: no shared item",
        Severity::FailOpen
    ));
}

#[tokio::test]
async fn data_without_a_tenant_is_fail_open() {
    let report = verify(Variant::NoTenantLeaks).await;
    assert!(failed(&report, "no tenant: no data", Severity::FailOpen));
}

#[tokio::test]
async fn tenant_leaking_across_requests_is_fail_open() {
    let report = verify(Variant::StickyTenant).await;
    assert!(!failed(&report, "no tenant: no data", Severity::FailOpen));
    assert!(failed(
        &report,
        "no tenant after a tenant-A request: no data",
        Severity::FailOpen
    ));
}

#[tokio::test]
async fn canary_api_probe_passes_and_fails() {
    let sandbox = sandbox_v2(None).await;
    for (app_url, expected) in [
        (sandbox.app_url(), CanaryOutcome::Pass),
        (serve(Variant::NoTenantLeaks).await, CanaryOutcome::Fail),
    ] {
        let options = CanaryOptions {
            app_database_url: None,
            tables: Vec::new(),
            tenant_column: "tenant_id".into(),
            tenant_setting: "app.tenant_id".into(),
            tenant: None,
            api: Some(ApiOptions::new(app_url, Vec::new())),
        };
        let results = canary::canary(&options).await;
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].outcome, expected, "{:?}", results[0]);
    }
    sandbox.shutdown().await;
}
