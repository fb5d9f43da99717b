//! `golive verify api`: the Catalog API v2 contract, checked over HTTP for two tenants.
//! Read-only: it sends `GET` requests and nothing else.

use std::collections::HashSet;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::verify::findings::{findings_section, verdict_line};
use crate::verify::{Finding, Severity, Verdict, VerifyError};

/// The catalog route.
pub const CATALOG_PATH: &str = "/api/admin/service-operations";

/// Fields every v2 item carries.
pub const V2_FIELDS: [&str; 3] = ["internal_code", "subcategory", "display_order"];

/// What to check and how to call the application.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// Base URL of the application (`http://127.0.0.1:8080`).
    pub app_url: String,
    /// Tenant A and B.
    pub tenants: Vec<String>,
    /// The header carrying the tenant.
    pub tenant_header: String,
    /// Extra headers on every request (`X-Catalog-Version: 2` to preview v2).
    pub headers: Vec<(String, String)>,
    /// Timeout of each request.
    pub timeout: Duration,
    /// The catalog route ([`CATALOG_PATH`] unless the application mounts it elsewhere).
    pub path: String,
}

impl ApiOptions {
    /// Defaults: header `X-Tenant-ID`, no extra header, 10 s per request.
    pub fn new(app_url: impl Into<String>, tenants: Vec<String>) -> Self {
        ApiOptions {
            app_url: app_url.into(),
            tenants,
            tenant_header: "X-Tenant-ID".into(),
            headers: Vec::new(),
            timeout: Duration::from_secs(10),
            path: CATALOG_PATH.into(),
        }
    }

    pub(super) fn url(&self) -> String {
        format!("{}{}", self.app_url.trim_end_matches('/'), self.path)
    }
}

/// One check and whether it passed.
#[derive(Debug, Clone, Serialize)]
pub struct ApiCheck {
    /// What was checked.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
}

/// The verifier's result.
#[derive(Debug, Clone, Serialize)]
pub struct ApiReport {
    /// The catalog URL (password redacted).
    pub target: String,
    /// Tenant A and B.
    pub tenants: Vec<String>,
    /// Every check.
    pub checks: Vec<ApiCheck>,
    /// What is wrong, worst first.
    pub findings: Vec<Finding>,
    /// Pass or fail.
    pub verdict: Verdict,
    /// Always true: only GET requests were sent.
    pub read_only: bool,
}

impl ApiReport {
    /// The report for people.
    pub fn text_lines(&self) -> Vec<String> {
        let mut out = vec![
            format!("golive verify api: {}", self.target),
            "read-only: only GET requests were sent; nothing was changed".to_string(),
            format!(
                "tenants: A = {}, B = {}",
                self.tenants.first().map(String::as_str).unwrap_or("-"),
                self.tenants.get(1).map(String::as_str).unwrap_or("-")
            ),
            String::new(),
            "Checks".to_string(),
        ];
        for c in &self.checks {
            out.push(format!(
                "  {} {}",
                if c.passed { "ok  " } else { "FAIL" },
                c.name
            ));
        }
        out.push(String::new());
        let mut findings = self.findings.clone();
        out.extend(findings_section(&mut findings, &self.scope()));
        out
    }

    fn scope(&self) -> String {
        format!("{} checks", self.checks.len())
    }

    /// One line: the verdict and counts (the step's summary).
    pub fn summary(&self) -> String {
        verdict_line(&self.findings, &self.scope())
    }
}

/// An HTTP client for the verifiers (golive's shared client).
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, VerifyError> {
    crate::httpc::client(timeout).map_err(VerifyError::Http)
}

/// One response, read whole.
struct Response {
    status: u16,
    etag: Option<String>,
    body: String,
}

async fn get(
    client: &reqwest::Client,
    options: &ApiOptions,
    tenant: Option<&str>,
    if_none_match: Option<&str>,
) -> Result<Response, VerifyError> {
    let url = options.url();
    let mut request = client.get(&url);
    for (name, value) in &options.headers {
        request = request.header(name, value);
    }
    if let Some(tenant) = tenant {
        request = request.header(&options.tenant_header, tenant);
    }
    if let Some(tag) = if_none_match {
        request = request.header("If-None-Match", tag);
    }
    let shown = crate::redact::url_passwords(&url).into_owned();
    let failed = |e: reqwest::Error| {
        VerifyError::Http(format!("GET {shown}: {}", crate::httpc::describe(&e)))
    };
    let response = request.send().await.map_err(failed)?;
    let status = response.status().as_u16();
    let etag = crate::httpc::etag(&response);
    let body = response.text().await.map_err(failed)?;
    Ok(Response { status, etag, body })
}

/// The identity of a catalog item (its `id`, else the whole item).
pub(super) fn item_key(item: &Value) -> String {
    item.get("id")
        .map_or_else(|| item.to_string(), Value::to_string)
}

fn describe_item(i: usize, item: &Value) -> String {
    let name = item.get("name").and_then(Value::as_str).unwrap_or("?");
    let order = item
        .get("display_order")
        .map_or("absent".to_string(), Value::to_string);
    format!("item {} ({name:?}, display_order {order})", i + 1)
}

/// Whether `b` may follow `a` in `display_order ASC NULLS LAST, name ASC` (names compared
/// byte-wise or case-insensitively, as the database's collation may do either).
fn in_order(a: &Value, b: &Value) -> bool {
    let order = |v: &Value| v.get("display_order").and_then(Value::as_i64);
    let name = |v: &Value| {
        v.get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    match (order(a), order(b)) {
        (Some(x), Some(y)) if x != y => x < y,
        (Some(_), None) => true,
        (None, Some(_)) => false,
        _ => name(a) <= name(b) || name(a).to_lowercase() <= name(b).to_lowercase(),
    }
}

/// The checks and findings so far.
pub(super) struct Checker {
    checks: Vec<ApiCheck>,
    findings: Vec<Finding>,
    subject: String,
}

impl Checker {
    /// Record a check: passed when `failure` is `None`.
    pub(super) fn check(
        &mut self,
        name: String,
        failure: Option<(Severity, String, String)>,
    ) -> bool {
        let passed = failure.is_none();
        if let Some((severity, seen, expected)) = failure {
            self.findings
                .push(Finding::new(&self.subject, severity, &name, seen, expected));
        }
        self.checks.push(ApiCheck { name, passed });
        passed
    }
}

/// The tenant's items, checked for shape, fields, order and ETag; `None` when unusable.
async fn tenant_items(
    client: &reqwest::Client,
    options: &ApiOptions,
    label: &str,
    tenant: &str,
    c: &mut Checker,
) -> Result<Option<Vec<Value>>, VerifyError> {
    let r = get(client, options, Some(tenant), None).await?;
    let status_ok = c.check(
        format!("tenant {label}: status 200"),
        (r.status != 200).then(|| {
            (
                Severity::Broken,
                format!(
                    "GET with {}: {tenant} answered {}",
                    options.tenant_header, r.status
                ),
                "expected 200 with the catalog".to_string(),
            )
        }),
    );
    if !status_ok {
        return Ok(None);
    }
    let parsed: Option<Value> = serde_json::from_str(&r.body).ok();
    let shape_failure = match &parsed {
        Some(Value::Array(_)) => None,
        Some(Value::Object(o)) if o.contains_key("service_operations") => Some((
            Severity::Broken,
            "the legacy v1 wrapper {\"service_operations\": [...]}".to_string(),
            "expected a JSON root array (v2); is Catalog API v2 deployed, or does it need an opt-in header (--header X-Catalog-Version:2)?".to_string(),
        )),
        _ => Some((
            Severity::Broken,
            format!("a body that is not a JSON array: {}", r.body.chars().take(120).collect::<String>()),
            "expected a JSON root array of service operations".to_string(),
        )),
    };
    if !c.check(format!("tenant {label}: root array"), shape_failure) {
        return Ok(None);
    }
    let items = match parsed {
        Some(Value::Array(items)) => items,
        _ => return Ok(None),
    };
    let missing = items.iter().enumerate().find_map(|(i, item)| {
        let lacks: Vec<&str> = V2_FIELDS
            .iter()
            .copied()
            .filter(|f| item.get(f).is_none())
            .collect();
        (!lacks.is_empty())
            .then(|| format!("{} lacks {}", describe_item(i, item), lacks.join(", ")))
    });
    c.check(
        format!("tenant {label}: v2 fields"),
        missing.map(|seen| {
            (
                Severity::Broken,
                seen,
                format!("expected every item to carry {}", V2_FIELDS.join(", ")),
            )
        }),
    );
    let disorder = items
        .windows(2)
        .enumerate()
        .find(|(_, w)| !in_order(&w[0], &w[1]));
    c.check(
        format!("tenant {label}: order"),
        disorder.map(|(i, w)| {
            (
                Severity::Broken,
                format!(
                    "{} comes after {}",
                    describe_item(i + 1, &w[1]),
                    describe_item(i, &w[0])
                ),
                "expected ORDER BY display_order ASC NULLS LAST, name ASC".to_string(),
            )
        }),
    );
    match r.etag {
        None => {
            c.check(
                format!("tenant {label}: ETag"),
                Some((
                    Severity::Broken,
                    "no ETag header".to_string(),
                    "expected an ETag on the catalog response".to_string(),
                )),
            );
        }
        Some(tag) => {
            c.check(format!("tenant {label}: ETag"), None);
            let again = get(client, options, Some(tenant), Some(&tag)).await?;
            let failure = (again.status != 304 || !again.body.is_empty()).then(|| {
                (
                    Severity::Broken,
                    format!(
                        "If-None-Match: {tag} answered {} with {} byte(s) of body",
                        again.status,
                        again.body.len()
                    ),
                    "expected 304 Not Modified with an empty body".to_string(),
                )
            });
            c.check(format!("tenant {label}: If-None-Match → 304"), failure);
        }
    }
    if items.is_empty() {
        c.findings.push(Finding::new(
            &c.subject,
            Severity::Warning,
            &format!("tenant {label}: items"),
            format!("tenant {label} ({tenant}) has no catalog items"),
            "pick tenants with data: the overlap check proves nothing on an empty catalog",
        ));
    }
    Ok(Some(items))
}

/// A request without a tenant must get no data (and should get an error status). `None` when it
/// passed, else the finding.
pub async fn no_tenant_check(
    client: &reqwest::Client,
    options: &ApiOptions,
    when: &str,
) -> Result<Option<(Severity, String, String)>, VerifyError> {
    let r = get(client, options, None, None).await?;
    let data = match serde_json::from_str::<Value>(&r.body) {
        Ok(Value::Array(items)) => items.len(),
        Ok(Value::Object(o)) => o.values().filter_map(Value::as_array).map(Vec::len).sum(),
        _ => 0,
    };
    let expected = format!(
        "expected an error status (400/401/403) and no data without {}",
        options.tenant_header
    );
    Ok(if data > 0 {
        Some((
            Severity::FailOpen,
            format!("no tenant {when}: status {} with {data} item(s)", r.status),
            expected,
        ))
    } else if r.status < 400 {
        Some((
            Severity::Warning,
            format!("no tenant {when}: status {} (no items)", r.status),
            expected,
        ))
    } else {
        None
    })
}

/// How many of the catalog items tenant `me` gets carry `tenant_id` = `other` (the canary's
/// cross-tenant probe; items without `tenant_id` cannot be judged and count as none).
pub async fn foreign_items(
    client: &reqwest::Client,
    options: &ApiOptions,
    me: &str,
    other: &str,
) -> Result<usize, VerifyError> {
    let r = get(client, options, Some(me), None).await?;
    let items = match serde_json::from_str::<Value>(&r.body) {
        Ok(Value::Array(items)) => items,
        Ok(Value::Object(o)) => o
            .into_iter()
            .filter_map(|(_, v)| match v {
                Value::Array(a) => Some(a),
                _ => None,
            })
            .flatten()
            .collect(),
        _ => Vec::new(),
    };
    Ok(items
        .iter()
        .filter(|i| i.get("tenant_id").and_then(Value::as_str) == Some(other))
        .count())
}

/// Check the Catalog API v2 contract. Sends only GET requests.
pub async fn verify(options: &ApiOptions) -> Result<ApiReport, VerifyError> {
    let [a, b] = options.tenants.as_slice() else {
        return Err(VerifyError::Tenants(format!(
            "need two tenants, have {}; pass --tenants A,B",
            options.tenants.len()
        )));
    };
    let client = http_client(options.timeout)?;
    let target = crate::redact::url_passwords(&options.url()).into_owned();
    let mut c = Checker {
        checks: Vec::new(),
        findings: Vec::new(),
        subject: format!("GET {}", options.path),
    };
    // Before any tenant request, so a server that keeps the last tenant cannot pass by luck.
    let fresh = no_tenant_check(&client, options, "on a fresh request").await?;
    c.check("no tenant: no data".into(), fresh);
    let items_a = tenant_items(&client, options, "A", a, &mut c).await?;
    let items_b = tenant_items(&client, options, "B", b, &mut c).await?;
    if let (Some(x), Some(y)) = (&items_a, &items_b) {
        let keys: HashSet<String> = x.iter().map(item_key).collect();
        let shared: Vec<String> = y
            .iter()
            .map(item_key)
            .filter(|k| keys.contains(k))
            .collect();
        c.check(
            "tenants A and B: no shared item".into(),
            (!shared.is_empty()).then(|| {
                (
                    Severity::FailOpen,
                    format!(
                        "{} item(s) appear for both tenants (ids {})",
                        shared.len(),
                        shared
                            .iter()
                            .take(5)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    "expected disjoint catalogs: each tenant sees only its own items".to_string(),
                )
            }),
        );
    }
    if let (Some(x), Some(y)) = (&items_a, &items_b) {
        super::api_tenant::check_places(&client, options, (a, b), (x, y), &mut c).await?;
    }
    get(&client, options, Some(a), None).await?;
    let after = no_tenant_check(&client, options, "right after a tenant-A request").await?;
    c.check("no tenant after a tenant-A request: no data".into(), after);
    let mut findings = c.findings;
    findings.sort_by_key(|f| f.severity);
    Ok(ApiReport {
        target,
        tenants: options.tenants.clone(),
        checks: c.checks,
        verdict: Verdict::of(&findings),
        findings,
        read_only: true,
    })
}
