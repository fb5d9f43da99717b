//! A small target application for the monitor tests, until the sandbox app is on main: real
//! HTTP on a loopback port, counting every request it answers in prometheus_flask_exporter's
//! format (`flask_http_request_duration_seconds` with `method`, `status`, `url_rule`).
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

#[derive(Default)]
struct Hist {
    buckets: [u64; 14],
    count: u64,
    sum: f64,
}

type Key = (String, u16, String);

struct Metrics {
    started: f64,
    hist: BTreeMap<Key, Hist>,
}

/// The running target; stopped when dropped.
pub struct Target {
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Target {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Target {
    /// Start on a free port (or `port`).
    pub async fn start(port: u16) -> Target {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let metrics = Arc::new(Mutex::new(Metrics {
            started,
            hist: BTreeMap::new(),
        }));
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let metrics = metrics.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).to_string();
                    let started = Instant::now();
                    let (status, rule, headers, body) = answer(&head, &metrics).await;
                    let mut resp = format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n",
                        body.len()
                    );
                    resp.push_str(&body);
                    let _ = sock.write_all(resp.as_bytes()).await;
                    let _ = sock.shutdown().await;
                    if let Some((method, rule)) = rule {
                        let secs = started.elapsed().as_secs_f64();
                        let mut m = metrics.lock().unwrap();
                        let h = m.hist.entry((method, status, rule)).or_default();
                        for (i, le) in BUCKETS.iter().enumerate() {
                            if secs <= *le {
                                h.buckets[i] += 1;
                            }
                        }
                        h.count += 1;
                        h.sum += secs;
                    }
                });
            }
        });
        Target { port, task }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

async fn answer(
    head: &str,
    metrics: &Mutex<Metrics>,
) -> (u16, Option<(String, String)>, String, String) {
    let mut first = head.lines().next().unwrap_or("").split_whitespace();
    let method = first.next().unwrap_or("").to_string();
    let target = first.next().unwrap_or("/").to_string();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    let counted = |rule: &str| Some((method.clone(), rule.to_string()));
    if path == "/metrics" {
        return (
            200,
            None,
            String::new(),
            exposition(&metrics.lock().unwrap()),
        );
    }
    if path == "/api/admin/service-operations" {
        let rule = counted(path);
        if header("X-Tenant-ID").is_none() {
            return (200, rule, String::new(), "[]".into());
        }
        if header("If-None-Match").as_deref() == Some("\"v1\"") {
            return (304, rule, "ETag: \"v1\"\r\n".into(), String::new());
        }
        return (
            200,
            rule,
            "ETag: \"v1\"\r\n".into(),
            "[{\"name\":\"oil\"}]".into(),
        );
    }
    if path.starts_with("/api/customers/") {
        return (
            404,
            counted("/api/customers/<int:customer_id>"),
            String::new(),
            "not found".into(),
        );
    }
    if path == "/api/boom" {
        return (500, counted("/api/boom"), String::new(), "boom".into());
    }
    if path.starts_with("/api/invoices/") && method == "POST" {
        let ms: u64 = query
            .strip_prefix("ms=")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        return (
            201,
            counted("/api/invoices/<int:invoice_id>/items"),
            String::new(),
            "{}".into(),
        );
    }
    (
        404,
        None,
        String::new(),
        "<html><body>no such page</body></html>".into(),
    )
}

fn exposition(m: &Metrics) -> String {
    let mut out = format!(
        "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds {}\n",
        m.started
    );
    out.push_str(
        "# HELP flask_http_request_duration_seconds Flask HTTP request duration in seconds\n\
         # TYPE flask_http_request_duration_seconds histogram\n",
    );
    let mut totals: BTreeMap<(String, u16), u64> = BTreeMap::new();
    for ((method, status, rule), h) in &m.hist {
        let labels = format!("method=\"{method}\",status=\"{status}\",url_rule=\"{rule}\"");
        for (i, le) in BUCKETS.iter().enumerate() {
            out.push_str(&format!(
                "flask_http_request_duration_seconds_bucket{{le=\"{le:?}\",{labels}}} {}.0\n",
                h.buckets[i]
            ));
        }
        out.push_str(&format!(
            "flask_http_request_duration_seconds_bucket{{le=\"+Inf\",{labels}}} {}.0\n",
            h.count
        ));
        out.push_str(&format!(
            "flask_http_request_duration_seconds_count{{{labels}}} {}.0\n",
            h.count
        ));
        out.push_str(&format!(
            "flask_http_request_duration_seconds_sum{{{labels}}} {}\n",
            h.sum
        ));
        *totals.entry((method.clone(), *status)).or_default() += h.count;
    }
    out.push_str("# HELP flask_http_request_total Total number of HTTP requests\n# TYPE flask_http_request_total counter\n");
    for ((method, status), n) in totals {
        out.push_str(&format!(
            "flask_http_request_total{{method=\"{method}\",status=\"{status}\"}} {n}.0\n"
        ));
    }
    out
}

/// The known mix: 40 catalog GETs with a tenant (10 answered 200, 30 answered 304),
/// 10 customer lookups answered 404, 5 requests answered 500, 20 add-to-invoice POSTs
/// (18 fast, 2 taking 600 ms). 75 requests in all.
pub async fn send_known_mix(base: &str) {
    let client = reqwest_client();
    for i in 0..40 {
        let mut req = client
            .get(format!("{base}/api/admin/service-operations"))
            .header("X-Tenant-ID", "11111111-1111-1111-1111-111111111111");
        if i >= 10 {
            req = req.header("If-None-Match", "\"v1\"");
        }
        req.send().await.unwrap();
    }
    for i in 0..10 {
        client
            .get(format!("{base}/api/customers/{i}"))
            .send()
            .await
            .unwrap();
    }
    for _ in 0..5 {
        client.get(format!("{base}/api/boom")).send().await.unwrap();
    }
    for i in 0..20 {
        let ms = if i < 2 { 600 } else { 0 };
        client
            .post(format!("{base}/api/invoices/{i}/items?ms={ms}"))
            .send()
            .await
            .unwrap();
    }
}

pub fn reqwest_client() -> reqwest::Client {
    golive::httpc::client(Duration::from_secs(10)).unwrap()
}

/// A `[monitor]` config reading `metrics_url` or `prometheus_url`, 1 s refresh.
pub fn config(source_key: &str, url: &str) -> golive::monitor::MonitorConfig {
    let toml = format!(
        "refresh = \"1s\"\nrefresh_later = \"1s\"\nwindows = [\"1m\", \"5m\"]\nbreach_count = 2\nmin_requests = 5\n\
         [sources]\n{source_key} = \"{url}\"\n\
         [panels.http_5xx_ratio]\nwarn = 0.01\ncrit = 0.05\n"
    );
    let table: toml::Table = toml.parse().unwrap();
    golive::monitor::MonitorConfig::from_table(
        Some(&table),
        &golive::runbook::Vars::default(),
        &|_| None,
    )
    .unwrap()
}

/// Snapshots until `done` holds (at most `limit`).
pub async fn until(
    watch: &mut golive::monitor::Watch,
    limit: Duration,
    done: impl Fn(&golive::monitor::Snapshot) -> bool,
) -> golive::monitor::Snapshot {
    let end = Instant::now() + limit;
    loop {
        let snap = watch.next().await;
        if done(&snap) {
            return snap;
        }
        assert!(
            Instant::now() < end,
            "condition not met in {limit:?}; last snapshot: {}",
            serde_json::to_string_pretty(&snap).unwrap()
        );
    }
}

pub fn value(snap: &golive::monitor::Snapshot, id: &str) -> Option<f64> {
    snap.panel(id).and_then(|p| p.value)
}
