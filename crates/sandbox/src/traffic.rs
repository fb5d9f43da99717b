//! The traffic generator: realistic requests to the sandbox app across the three tenants, so the
//! dashboard has live numbers. About 30 requests a second, one at a time (bounded: a slow answer
//! delays the next tick, it never piles requests up), loopback only, until cancelled.
//!
//! The mix: 55% catalog reads (half revalidating with `If-None-Match`, so 304s appear), 37%
//! add-to-invoice writes on the tenant's own invoices, 2% add-to-invoice on another tenant's
//! invoice (404), 1% an unknown path (404), 5% health checks. The tenant travels in the header,
//! the subdomain or the query parameter, in turn. Every answer goes to the [`Oracle`].

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;

use reqwest::{Method, RequestBuilder};
use serde_json::json;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::SandboxError;
use super::oracle::{Answer, Expect, Oracle};

/// Time between two requests.
const TICK: Duration = Duration::from_millis(33);
/// No request waits longer than this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// One tenant's ids, for building requests.
pub(super) struct TenantData {
    id: String,
    invoices: Vec<i64>,
    operations: Vec<i64>,
    /// `operations` again, for the oracle's look-ups.
    own: HashSet<i64>,
}

/// Stops and restarts the traffic.
#[derive(Debug, Clone, Default)]
pub struct Pause {
    paused: Arc<AtomicBool>,
    /// Held by the generator while a request is in flight.
    in_flight: Arc<Mutex<()>>,
}

impl Pause {
    /// Stop sending; returns once the request in flight, if any, has its answer.
    pub async fn pause(&self) {
        self.paused.store(true, Ordering::Release);
        drop(self.in_flight.lock().await);
    }

    /// Send again.
    pub fn resume(&self) {
        self.paused.store(false, Ordering::Release);
    }
}

/// Read every tenant's invoice and catalog ids (as the superuser, before RLS exists).
pub(super) async fn load_tenants(
    admin: &tokio_postgres::Client,
) -> Result<Vec<TenantData>, SandboxError> {
    let rows = admin
        .query(
            "SELECT t.tenant_id::text,
                    (SELECT array_agg(id ORDER BY id) FROM appointments a WHERE a.tenant_id = t.tenant_id),
                    (SELECT array_agg(id ORDER BY id) FROM service_operations s WHERE s.tenant_id = t.tenant_id)
               FROM (SELECT DISTINCT tenant_id FROM appointments) t ORDER BY 1",
            &[],
        )
        .await
        .map_err(|e| SandboxError::sql("read the tenants for the traffic generator", &e))?;
    Ok(rows
        .iter()
        .map(|row| {
            let operations = row.get::<_, Option<Vec<i64>>>(2).unwrap_or_default();
            TenantData {
                id: row.get(0),
                invoices: row.get::<_, Option<Vec<i64>>>(1).unwrap_or_default(),
                own: operations.iter().copied().collect(),
                operations,
            }
        })
        .filter(|t| !t.invoices.is_empty() && !t.operations.is_empty())
        .collect())
}

/// Start sending requests to the app at `addr` until `cancel`, every answer judged by `oracle`;
/// no request is sent while `paused` is set.
pub(super) fn spawn(
    addr: SocketAddr,
    tenants: Vec<TenantData>,
    oracle: Oracle,
    pause: Pause,
    cancel: CancellationToken,
) -> Result<JoinHandle<()>, SandboxError> {
    let client = golive_core::httpc::client(REQUEST_TIMEOUT).map_err(SandboxError::Http)?;
    let mut generator = Generator {
        client,
        addr,
        tenants,
        etags: HashMap::new(),
        rng: seed(),
        oracle,
    };
    Ok(tokio::spawn(async move {
        if generator.tenants.is_empty() {
            return;
        }
        let mut ticks = tokio::time::interval(TICK);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = ticks.tick() => {}
            }
            let in_flight = pause.in_flight.lock().await;
            if pause.paused.load(Ordering::Acquire) {
                continue;
            }
            tokio::select! {
                () = cancel.cancelled() => break,
                () = generator.one() => {}
            }
            drop(in_flight);
        }
    }))
}

struct Generator {
    client: reqwest::Client,
    addr: SocketAddr,
    tenants: Vec<TenantData>,
    /// The last catalog ETag seen per tenant.
    etags: HashMap<String, String>,
    rng: u64,
    oracle: Oracle,
}

impl Generator {
    /// Send one request of the mix, and have the oracle judge its answer.
    async fn one(&mut self) {
        let roll = self.next() % 100;
        let t = (self.next() as usize) % self.tenants.len();
        match roll {
            0..55 => self.catalog(t).await,
            55..92 => {
                let invoice = self.invoice(t);
                self.add_item(t, invoice, Expect::OwnWrite).await;
            }
            92..94 => {
                let other = (t + 1) % self.tenants.len();
                let invoice = self.invoice(other);
                self.add_item(t, invoice, Expect::ForeignWrite).await;
            }
            94..95 => {
                let path = "/api/admin/service-operations/none";
                let request = self.request(Method::GET, path, t);
                self.send(request, &format!("GET {path}"), Expect::NotFound)
                    .await;
            }
            _ => {
                let request = self.client.get(format!("http://{}/healthz", self.addr));
                self.send(request, "GET /healthz", Expect::Health).await;
            }
        }
    }

    async fn catalog(&mut self, t: usize) {
        let mut request = self.request(Method::GET, "/api/admin/service-operations", t);
        let tenant = self.tenants[t].id.clone();
        if self.next().is_multiple_of(2)
            && let Some(etag) = self.etags.get(&tenant)
        {
            request = request.header("If-None-Match", etag);
        }
        let what = format!("GET /api/admin/service-operations as tenant {tenant}");
        let own = &self.tenants[t].own;
        let etag = send_and_judge(&self.oracle, request, &what, Expect::Catalog { own }).await;
        if let Some(etag) = etag {
            self.etags.insert(tenant, etag);
        }
    }

    async fn add_item(&mut self, t: usize, invoice: i64, expect: Expect<'static>) {
        let n = self.next() as usize;
        let operations = &self.tenants[t].operations;
        let operation = operations[n % operations.len()];
        let quantity = 1 + self.next() % 3;
        let body = json!({ "service_operation_id": operation, "quantity": quantity });
        let path = format!("/api/invoices/{invoice}/items");
        let request = self.request(Method::POST, &path, t).json(&body);
        let what = format!("POST {path} as tenant {}", self.tenants[t].id);
        self.send(request, &what, expect).await;
    }

    async fn send(&self, request: RequestBuilder, what: &str, expect: Expect<'_>) {
        send_and_judge(&self.oracle, request, what, expect).await;
    }

    /// A request to `path` as tenant `t`, the tenant in the header, the subdomain or the query
    /// parameter, in turn.
    fn request(&mut self, method: Method, path: &str, t: usize) -> RequestBuilder {
        let way = self.next() % 3;
        let tenant = &self.tenants[t].id;
        let url = format!("http://{}{path}", self.addr);
        match way {
            0 => self
                .client
                .request(method, url)
                .header("X-Tenant-ID", tenant),
            1 => {
                let host = format!("{tenant}.localhost:{}", self.addr.port());
                self.client.request(method, url).header("Host", host)
            }
            _ => self
                .client
                .request(method, format!("{url}?tenant_id={tenant}")),
        }
    }

    /// One of tenant `t`'s invoices.
    fn invoice(&mut self, t: usize) -> i64 {
        let n = self.next() as usize;
        let invoices = &self.tenants[t].invoices;
        invoices[n % invoices.len()]
    }

    /// xorshift64: cheap, and good enough to shuffle a request mix.
    fn next(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }
}

/// Send `request`, have `oracle` judge the answer; the answer's `ETag`, if any.
async fn send_and_judge(
    oracle: &Oracle,
    request: RequestBuilder,
    what: &str,
    expect: Expect<'_>,
) -> Option<String> {
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => {
            oracle.judge(what, expect, Answer::Failed(describe(&e)));
            return None;
        }
    };
    let status = response.status().as_u16();
    let etag = golive_core::httpc::etag(&response);
    match response.bytes().await {
        Ok(body) => oracle.judge(
            what,
            expect,
            Answer::Http {
                status,
                body: &body,
            },
        ),
        Err(e) => oracle.judge(what, expect, Answer::Failed(describe(&e))),
    }
    etag
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!(
            "no answer within {}",
            humantime::format_duration(REQUEST_TIMEOUT)
        )
    } else {
        format!("request failed: {e}")
    }
}

fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x9e37_79b9_7f4a_7c15);
    nanos | 1
}
