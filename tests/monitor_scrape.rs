//! The scrape source and the panels against the sandbox app's real `/metrics` under a known mix
//! of real requests; a proxy in front of it stands for an app that goes away and comes back.
#![allow(clippy::unwrap_used)]

mod monitor_support;

use std::time::Duration;

use golive::monitor::{State, Tracker, Watch};
use monitor_support::*;

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[tokio::test]
async fn ratios_match_the_traffic_sent_and_a_breach_is_reported() {
    let sandbox = quiet_sandbox().await;
    let cfg = config("metrics_url", &sandbox.metrics_url());
    let mut tracker = Tracker::new(&cfg);
    let mut watch = Watch::start(cfg).unwrap();
    // No traffic yet: NO DATA, never a pass or a fail.
    let first = until(&mut watch, Duration::from_secs(10), |s| {
        s.sources.iter().any(|s| s.name == "scrape" && s.ok)
    })
    .await;
    assert_eq!(first.panel("http_5xx_ratio").unwrap().state, State::Nodata);
    assert_eq!(value(&first, "http_5xx_ratio"), None);

    send_known_mix(&sandbox).await;
    let snap = until(&mut watch, Duration::from_secs(10), |s| {
        s.panel("http_5xx_ratio").and_then(|p| p.requests) == Some(75.0)
    })
    .await;
    assert!(close(value(&snap, "http_5xx_ratio"), 5.0 / 75.0));
    assert!(close(value(&snap, "http_4xx_ratio"), 10.0 / 75.0));
    assert!(close(value(&snap, "catalog_304_ratio"), 30.0 / 45.0));
    let p5 = snap.panel("http_5xx_ratio").unwrap();
    assert_eq!(p5.state, State::Crit);
    let by_route = p5.by_route.as_ref().unwrap();
    assert!(close(by_route["/api/admin/service-operations"], 5.0 / 45.0));
    assert_eq!(by_route["/api/invoices/<int:invoice_id>/items"], Some(0.0));
    let p4 = snap.panel("http_4xx_ratio").unwrap();
    assert_eq!(p4.by_route.as_ref().unwrap()["None"], Some(1.0));
    let p95 = value(&snap, "add_to_invoice_p95_seconds").unwrap();
    assert!((0.5..=0.75).contains(&p95), "p95 {p95}");
    // The JSON shape of the dashboard contract.
    let json = serde_json::to_value(&snap).unwrap();
    assert!(json["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(json["window_seconds"], 60);
    assert_eq!(json["panels"][0]["id"], "http_5xx_ratio");
    assert_eq!(json["panels"][0]["state"], "crit");

    let mut breach = tracker.observe(&snap);
    while breach.is_none() {
        breach = tracker.observe(&watch.next().await);
    }
    let b = breach.unwrap();
    assert_eq!(b.panel, "http_5xx_ratio");
    assert!(b.to_string().contains("fast rollback"), "{b}");
    let verdict = tracker.report(Some(&snap)).join("\n");
    assert!(
        verdict.contains("http_5xx_ratio: worst 0.0667 (crit)"),
        "{verdict}"
    );
}

#[tokio::test]
async fn a_source_that_stops_answering_goes_stale_and_recovers() {
    let first = quiet_sandbox().await;
    let proxy = Proxy::start(0, &app_addr(&first)).await;
    let port = proxy.port;
    let mut watch =
        Watch::start(config("metrics_url", &format!("{}/metrics", proxy.url()))).unwrap();
    send_known_mix(&first).await;
    until(&mut watch, Duration::from_secs(10), |s| {
        s.panel("http_5xx_ratio").and_then(|p| p.requests) == Some(75.0)
    })
    .await;
    // The app goes away: nothing listens on its port any more.
    drop(proxy);
    first.shutdown().await;
    let stale = until(&mut watch, Duration::from_secs(15), |s| {
        s.panel("http_5xx_ratio").unwrap().stale_seconds.is_some()
    })
    .await;
    let source = stale.sources.iter().find(|s| s.name == "scrape").unwrap();
    assert!(!source.ok);
    assert!(source.error.is_some());
    // It comes back on the same port as a new process (fresh counters: a reset) and the panel
    // recovers by itself.
    let second = quiet_sandbox().await;
    let _proxy = Proxy::start(port, &app_addr(&second)).await;
    send_known_mix(&second).await;
    until(&mut watch, Duration::from_secs(40), |s| {
        let p = s.panel("http_5xx_ratio").unwrap();
        p.stale_seconds.is_none() && p.requests == Some(150.0)
    })
    .await;
    second.shutdown().await;
}

#[tokio::test]
async fn one_route_over_crit_breaches_the_panel_while_all_routes_together_are_fine() {
    const INVOICE: &str = "/api/invoices/<int:invoice_id>/items";
    // Each scrape: 1000 good catalog reads; 20 add-to-invoice writes, 10 of them answered 500;
    // 10 unknown paths answered 404. All routes: 10 / 1030 < 1 % (under warn); the invoice route
    // alone: 50 % (over crit 5 %).
    let fake = FakeMetrics::start(vec![
        ("/api/admin/service-operations", "GET", 200, 1000),
        (INVOICE, "POST", 201, 10),
        (INVOICE, "POST", 500, 10),
        // Unknown paths (no route matched): judged only in the all-routes ratio.
        ("None", "GET", 404, 10),
    ])
    .await;
    let cfg = config("metrics_url", &fake.url());
    let mut tracker = Tracker::new(&cfg);
    let mut watch = Watch::start(cfg).unwrap();
    let snap = until(&mut watch, Duration::from_secs(15), |s| {
        s.panel("http_5xx_ratio").and_then(|p| p.requests) >= Some(1030.0)
    })
    .await;
    let p = snap.panel("http_5xx_ratio").unwrap();
    let all = p.value.unwrap();
    assert!(all < 0.01, "all routes together are fine: {p:?}");
    assert_eq!(p.state, State::Crit, "{p:?}");
    assert_eq!(p.worst_route.as_deref(), Some(INVOICE));
    let detail = p.detail.as_deref().unwrap();
    assert!(
        detail.starts_with(&format!("route {INVOICE}: 0.5000 over"))
            && detail.contains("crit 0.05"),
        "{detail}"
    );
    let p4 = snap.panel("http_4xx_ratio").unwrap();
    assert_eq!(p4.by_route.as_ref().unwrap()["None"], Some(1.0));
    assert_eq!(
        p4.state,
        State::Ok,
        "404s on unknown paths are no route's: {p4:?}"
    );
    // Sustained: the watch breaches, naming the route.
    let mut breach = tracker.observe(&snap);
    while breach.is_none() {
        breach = tracker.observe(&watch.next().await);
    }
    let b = breach.unwrap();
    assert_eq!(b.panel, "http_5xx_ratio");
    assert!(b.to_string().contains(&format!("route {INVOICE}")), "{b}");
    assert_eq!(tracker.verdict().exit_code(), 1);
}
