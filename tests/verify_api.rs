//! `golive verify api` against a real HTTP server (hyper) serving the Catalog API v2 correctly
//! and in each broken variant the verifier must catch.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use golive::verify::api::{self, ApiOptions, ApiReport};
use golive::verify::canary::{self, CanaryOptions, CanaryOutcome};
use golive::verify::{Severity, Verdict};

const A: &str = "11111111-1111-4111-8111-111111111111";
const B: &str = "22222222-2222-4222-8222-222222222222";

/// How the server misbehaves.
#[derive(Clone, Copy, PartialEq)]
enum Variant {
    Correct,
    Legacy,
    MissingField,
    NullsFirst,
    NoEtag,
    SharedItems,
    NoTenantLeaks,
    StickyTenant,
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
    let header = req
        .headers()
        .get("x-tenant-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
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
    let body = if variant == Variant::Legacy {
        json!({ "service_operations": items }).to_string()
    } else {
        Value::Array(items).to_string()
    };
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

async fn verify(variant: Variant) -> ApiReport {
    let url = serve(variant).await;
    let report = api::verify(&ApiOptions::new(url, vec![A.into(), B.into()]))
        .await
        .expect("verifier runs");
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
    let report = verify(Variant::Correct).await;
    assert_eq!(report.verdict, Verdict::Pass, "{:?}", report.findings);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert!(report.checks.iter().all(|c| c.passed));
    assert!(report.text_lines().join("\n").contains("read-only"));
}

#[tokio::test]
async fn legacy_wrapper_is_caught() {
    let report = verify(Variant::Legacy).await;
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
    for (variant, expected) in [
        (Variant::Correct, CanaryOutcome::Pass),
        (Variant::NoTenantLeaks, CanaryOutcome::Fail),
    ] {
        let options = CanaryOptions {
            app_database_url: None,
            tables: Vec::new(),
            tenant_column: "tenant_id".into(),
            tenant_setting: "app.tenant_id".into(),
            tenant: None,
            api: Some(ApiOptions::new(serve(variant).await, Vec::new())),
        };
        let results = canary::canary(&options).await;
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].outcome, expected, "{:?}", results[0]);
    }
}
