//! What the monitor tests share: the sandbox app (no generated traffic) and a known mix of real
//! requests to it, a `[monitor]` config, and one fake for what a real server cannot be made to
//! show: a proxy in front of it that can go away (a dead port) and answers an HTML 502 when its
//! upstream is down (garbage instead of the API).
#![allow(clippy::unwrap_used, dead_code)]

use std::time::{Duration, Instant};

use golive::sandbox::{Sandbox, SandboxOptions, TENANT_A};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// A sandbox whose app answers only the requests a test sends.
pub async fn quiet_sandbox() -> Sandbox {
    Sandbox::start(&SandboxOptions {
        traffic: false,
        ..SandboxOptions::default()
    })
    .await
    .unwrap()
}

/// `host:port` of the sandbox app.
pub fn app_addr(sandbox: &Sandbox) -> String {
    sandbox.app_url().trim_start_matches("http://").to_string()
}

/// The known mix, 75 requests as tenant A: 40 catalog reads (10 answered 200, 30 revalidated
/// with the ETag and answered 304), 5 v2 catalog previews to the Phase 2 build before the
/// Catalog v2 migration (answered 500: the columns do not exist yet), 10 unknown paths (404, `url_rule="None"`),
/// 20 add-to-invoice writes answered 201, 2 of them held about 600 ms behind a row lock on the
/// invoice.
pub async fn send_known_mix(sandbox: &Sandbox) {
    sandbox
        .build()
        .deploy(golive::sandbox::Build::Phase2)
        .unwrap();
    let base = sandbox.app_url();
    let client = reqwest_client();
    let mut owner = golive::pg::connect(sandbox.database_url(), "monitor-tests")
        .await
        .unwrap();
    let (invoice, operation) = first_invoice_and_operation(&owner.client).await;

    let catalog = format!("{base}/api/admin/service-operations");
    let mut etag = String::new();
    for i in 0..40 {
        let mut req = client.get(&catalog).header("X-Tenant-ID", TENANT_A);
        if i >= 10 {
            req = req.header("If-None-Match", &etag);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), if i < 10 { 200 } else { 304 });
        etag = resp.headers()["etag"].to_str().unwrap().to_string();
    }
    for _ in 0..5 {
        let resp = client
            .get(&catalog)
            .header("X-Tenant-ID", TENANT_A)
            .header("X-Catalog-Version", "2")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 500);
    }
    for i in 0..10 {
        let resp = client
            .get(format!("{base}/api/customers/{i}"))
            .header("X-Tenant-ID", TENANT_A)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 404);
    }
    let add = move || {
        client
            .post(format!("{base}/api/invoices/{invoice}/items"))
            .header("X-Tenant-ID", TENANT_A)
            .json(&json!({ "service_operation_id": operation }))
            .send()
    };
    for _ in 0..18 {
        assert_eq!(add().await.unwrap().status().as_u16(), 201);
    }
    // The new line's foreign key waits for the invoice row this transaction locks.
    let tx = owner.client.transaction().await.unwrap();
    tx.execute(
        "SELECT 1 FROM appointments WHERE id = $1 FOR UPDATE",
        &[&invoice],
    )
    .await
    .unwrap();
    let slow: Vec<_> = (0..2).map(|_| tokio::spawn(add())).collect();
    tokio::time::sleep(Duration::from_millis(600)).await;
    tx.commit().await.unwrap();
    for request in slow {
        assert_eq!(request.await.unwrap().unwrap().status().as_u16(), 201);
    }
}

/// Tenant A's first invoice (appointment) and first catalog operation, read as the owner.
pub async fn first_invoice_and_operation(owner: &tokio_postgres::Client) -> (i64, i64) {
    let ids = owner
        .query_one(
            "SELECT (SELECT min(id) FROM appointments WHERE tenant_id = $1::text::uuid),
                    (SELECT min(id) FROM service_operations WHERE tenant_id = $1::text::uuid)",
            &[&TENANT_A],
        )
        .await
        .unwrap();
    (ids.get(0), ids.get(1))
}

pub fn reqwest_client() -> reqwest::Client {
    golive::httpc::client(Duration::from_secs(10)).unwrap()
}

/// A TCP proxy on a loopback port in front of `upstream` (`host:port`). When the upstream
/// cannot be reached it answers as a reverse proxy does: `502 Bad Gateway` with an HTML page.
/// Dropping it closes the port and every connection through it.
pub struct Proxy {
    pub port: u16,
    task: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const BAD_GATEWAY: &str = "<html><head><title>502 Bad Gateway</title></head>\
    <body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";

impl Proxy {
    /// Listen on `port` (0: a free one).
    pub async fn start(port: u16, upstream: &str) -> Proxy {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let upstream = upstream.to_string();
        let task = tokio::spawn(async move {
            // Owned by this task: aborting it aborts every connection.
            let mut connections = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                connections.spawn(async move {
                    match TcpStream::connect(&upstream).await {
                        Ok(mut server) => {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                        Err(_) => {
                            let answer = format!(
                                "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n\
                                 Content-Length: {}\r\nConnection: close\r\n\r\n{BAD_GATEWAY}",
                                BAD_GATEWAY.len()
                            );
                            let _ = client.write_all(answer.as_bytes()).await;
                            let _ = client.shutdown().await;
                        }
                    }
                });
            }
        });
        Proxy { port, task }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// A `[monitor]` config reading `metrics_url` or `prometheus_url`, 1 s refresh.
pub fn config(source_key: &str, url: &str) -> golive::monitor::MonitorConfig {
    config_with(source_key, url, &golive::runbook::Vars::default())
}

/// [`config`] with the run's variables (e.g. a fleet target's `GOLIVE_TARGET`).
pub fn config_with(
    source_key: &str,
    url: &str,
    vars: &golive::runbook::Vars,
) -> golive::monitor::MonitorConfig {
    let toml = format!(
        "refresh = \"1s\"\nrefresh_later = \"1s\"\nwindows = [\"1m\", \"5m\"]\nbreach_count = 2\nmin_requests = 5\n\
         [sources]\n{source_key} = \"{url}\"\n\
         [panels.http_5xx_ratio]\nwarn = 0.01\ncrit = 0.05\n"
    );
    let table: toml::Table = toml.parse().unwrap();
    golive::monitor::MonitorConfig::from_table(Some(&table), vars, &|_| None).unwrap()
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

/// A fake application `/metrics` (prometheus_flask_exporter names) whose counters grow by
/// `per_scrape` at each scrape: `(route, method, status, count)`. For what the sandbox app cannot
/// be made to show on demand, e.g. one route failing inside a healthy all-routes ratio.
pub struct FakeMetrics {
    pub port: u16,
    task: JoinHandle<()>,
}

impl Drop for FakeMetrics {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeMetrics {
    pub async fn start(per_scrape: Vec<(&'static str, &'static str, u16, u64)>) -> FakeMetrics {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let mut scrapes = 0u64;
            while let Ok((mut client, _)) = listener.accept().await {
                let mut request = [0u8; 4096];
                let _ = tokio::io::AsyncReadExt::read(&mut client, &mut request).await;
                let mut body =
                    String::from("# TYPE flask_http_request_duration_seconds histogram\n");
                for (route, method, status, n) in &per_scrape {
                    body.push_str(&format!(
                        "flask_http_request_duration_seconds_count{{method=\"{method}\",status=\"{status}\",url_rule=\"{route}\"}} {}\n",
                        n * scrapes
                    ));
                }
                scrapes += 1;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = client.write_all(answer.as_bytes()).await;
                let _ = client.shutdown().await;
            }
        });
        FakeMetrics { port, task }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/metrics", self.port)
    }
}
