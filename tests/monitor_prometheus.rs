//! The Prometheus source against a real Prometheus server (Debian package `prometheus`,
//! binary `/usr/bin/prometheus`) scraping the sandbox app every second; both sources must give
//! the ratios of the traffic that was sent.
#![allow(clippy::unwrap_used)]

mod monitor_support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use golive::monitor::config::Mapping;
use golive::monitor::prometheus::Prometheus;
use golive::monitor::{State, Watch};
use monitor_support::*;

struct Server {
    child: Child,
    dir: PathBuf,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn prometheus_binary() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("prometheus"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "the Prometheus server is not installed: `apt-get install -y prometheus` (Debian \
             package `prometheus`, binary /usr/bin/prometheus); these tests need a real one"
        )
    })
}

/// A Prometheus scraping `target` (`host:port`) every second.
async fn start_prometheus(target: &str) -> Server {
    start_prometheus_of(&[(target, None)]).await
}

/// A Prometheus scraping each `host:port` every second, with the static label `target="<name>"`
/// where a name is given (one Prometheus shared by a fleet); ready once every one is up.
async fn start_prometheus_of(scraped: &[(&str, Option<&str>)]) -> Server {
    let bin = prometheus_binary();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("golive-prom-{}-{port}", std::process::id()));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let mut config = String::from(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: app\n    static_configs:\n",
    );
    for (addr, name) in scraped {
        config.push_str(&format!("      - targets: ['{addr}']\n"));
        if let Some(name) = name {
            config.push_str(&format!("        labels: {{target: {name}}}\n"));
        }
    }
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    let child = Command::new(&bin)
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        dir,
        url: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest_client();
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let up = client
            .get(format!("{}/api/v1/query?query=count(up==1)", server.url))
            .send()
            .await;
        if let Ok(r) = up
            && let Ok(v) = r.json::<serde_json::Value>().await
            && v["data"]["result"][0]["value"][1].as_str() == Some(&scraped.len().to_string())
        {
            return server;
        }
        assert!(
            Instant::now() < end,
            "Prometheus did not come up on {}",
            server.url
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn prometheus_and_a_direct_scrape_give_the_ratios_of_the_traffic_sent() {
    let sandbox = quiet_sandbox().await;
    let prom = start_prometheus(&app_addr(&sandbox)).await;
    let mut via_prom = Watch::start(config("prometheus_url", &prom.url)).unwrap();
    let mut via_scrape = Watch::start(config("metrics_url", &sandbox.metrics_url())).unwrap();
    for w in [&mut via_prom, &mut via_scrape] {
        until(w, Duration::from_secs(10), |s| {
            s.sources.iter().any(|s| s.ok)
        })
        .await;
    }
    send_known_mix(&sandbox).await;
    let total = |s: &golive::monitor::Snapshot| {
        s.panel("http_5xx_ratio").and_then(|p| p.requests) == Some(75.0)
    };
    let a = until(&mut via_prom, Duration::from_secs(20), total).await;
    let b = until(&mut via_scrape, Duration::from_secs(20), total).await;
    for snap in [&a, &b] {
        assert_eq!(value(snap, "http_5xx_ratio"), Some(5.0 / 75.0));
        assert_eq!(value(snap, "http_4xx_ratio"), Some(10.0 / 75.0));
        assert_eq!(value(snap, "catalog_304_ratio"), Some(30.0 / 45.0));
        let p95 = value(snap, "add_to_invoice_p95_seconds").unwrap();
        assert!((0.5..=0.75).contains(&p95), "p95 {p95}");
    }
    assert_eq!(
        a.panel("http_5xx_ratio").unwrap().by_route,
        b.panel("http_5xx_ratio").unwrap().by_route
    );

    // A later watch backfills from query_range: its window already holds the traffic.
    let mut late = Watch::start(config("prometheus_url", &prom.url)).unwrap();
    let c = until(&mut late, Duration::from_secs(10), total).await;
    assert_eq!(value(&c, "http_5xx_ratio"), Some(5.0 / 75.0));
}

#[tokio::test]
async fn a_fleet_target_s_watch_reads_only_that_target_s_series_of_a_shared_prometheus() {
    // Two targets' apps scraped by one Prometheus: `a` healthy, `b` answering half its requests
    // with 500. Mixed together, each would read a 5xx ratio of about 0.25.
    let a = FakeMetrics::start(vec![("/api/x", "GET", 200, 10)]).await;
    let b = FakeMetrics::start(vec![("/api/x", "GET", 200, 5), ("/api/x", "GET", 500, 5)]).await;
    let addr = |m: &FakeMetrics| format!("127.0.0.1:{}", m.port);
    let prom = start_prometheus_of(&[(&addr(&a), Some("a")), (&addr(&b), Some("b"))]).await;
    let watch = |target: Option<&str>| {
        let mut vars = golive::runbook::Vars::default();
        if let Some(t) = target {
            vars.set("GOLIVE_TARGET", t.to_string(), false);
        }
        Watch::start(config_with("prometheus_url", &prom.url, &vars)).unwrap()
    };
    let (mut on_a, mut on_b, mut fleet) = (watch(Some("a")), watch(Some("b")), watch(None));
    let note = format!(
        "traffic: Prometheus at {} (series with target=\"a\")",
        prom.url
    );
    assert!(on_a.notes().contains(&note), "{:?}", on_a.notes());
    assert!(
        fleet
            .notes()
            .contains(&format!("traffic: Prometheus at {}", prom.url)),
        "{:?}",
        fleet.notes()
    );
    let enough = |s: &golive::monitor::Snapshot| {
        s.panel("http_5xx_ratio")
            .and_then(|p| p.requests)
            .is_some_and(|r| r >= 40.0)
    };
    let sa = until(&mut on_a, Duration::from_secs(30), enough).await;
    let sb = until(&mut on_b, Duration::from_secs(30), enough).await;
    let all = until(&mut fleet, Duration::from_secs(30), enough).await;
    let http5xx = |s: &golive::monitor::Snapshot| s.panel("http_5xx_ratio").unwrap().clone();
    assert_eq!(http5xx(&sa).value, Some(0.0));
    assert_eq!(http5xx(&sa).state, State::Ok);
    assert_eq!(http5xx(&sb).value, Some(0.5));
    assert_eq!(http5xx(&sb).state, State::Crit);
    // Without a target the watch judges the whole fleet: neither a's nor b's ratio.
    let mixed = http5xx(&all).value.unwrap();
    assert!(mixed > 0.1 && mixed < 0.4, "fleet 5xx ratio {mixed}");
}

#[tokio::test]
async fn errors_from_prometheus_and_non_json_answers_say_what_to_fix() {
    let sandbox = quiet_sandbox().await;
    let prom = start_prometheus(&app_addr(&sandbox)).await;
    let client = reqwest_client();
    // Something that is not Prometheus answers: a reverse proxy whose upstream is down (HTML 502).
    let proxy = Proxy::start(0, "127.0.0.1:9").await;
    let wrong = Prometheus::new(
        client.clone(),
        &proxy.url(),
        &Mapping::flask(),
        "/x",
        None,
        60.0,
        1.0,
    );
    let e = wrong.instant().await.unwrap_err();
    assert!(e.contains("instead of the Prometheus API's JSON"), "{e}");
    assert!(e.contains("PROMETHEUS_URL"), "{e}");
    // Prometheus refuses the query (a metric name that is not one): its error is passed on.
    let mut bad = Mapping::flask();
    bad.histogram = "1bad name".into();
    let refused = Prometheus::new(client.clone(), &prom.url, &bad, "/x", None, 60.0, 1.0);
    let e = refused.instant().await.unwrap_err();
    assert!(e.contains("bad_data"), "{e}");
    // Nothing listens.
    let gone = Prometheus::new(
        client,
        "http://127.0.0.1:9",
        &Mapping::flask(),
        "/x",
        None,
        60.0,
        1.0,
    );
    let e = gone.instant().await.unwrap_err();
    assert!(e.contains("127.0.0.1:9"), "{e}");
}
