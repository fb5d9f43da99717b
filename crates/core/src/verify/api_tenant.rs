//! The three ways a request names its tenant (the header, the subdomain `Host: <tenant>.host`, the
//! `tenant_id` query parameter): each alone must give that tenant's items, and two places naming
//! different tenants must be refused (a 4xx, no data), so that no place can override another.
//! Otherwise a tenant fixed by one layer (a proxy that routes by subdomain) is replaced by another
//! one the caller chose.

use std::collections::HashSet;

use serde_json::Value;

use super::api::{ApiOptions, Checker};
use crate::verify::{Severity, VerifyError};

/// Where a tenant is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Header,
    Subdomain,
    Query,
}

impl Place {
    fn name(self, options: &ApiOptions) -> String {
        match self {
            Place::Header => format!("the {} header", options.tenant_header),
            Place::Subdomain => "the subdomain".to_string(),
            Place::Query => "the tenant_id parameter".to_string(),
        }
    }
}

/// `Host: <tenant>.<host>` for the application URL (`localhost` when it is an IP address).
fn host_for(options: &ApiOptions, tenant: &str) -> Result<String, VerifyError> {
    let url = reqwest::Url::parse(&options.app_url)
        .map_err(|e| VerifyError::Input(format!("--app-url is not a URL: {e}")))?;
    let host = match url.host_str() {
        Some(h) if h.parse::<std::net::IpAddr>().is_err() && !h.starts_with('[') => h.to_string(),
        _ => "localhost".to_string(),
    };
    Ok(match url.port() {
        Some(port) => format!("{tenant}.{host}:{port}"),
        None => format!("{tenant}.{host}"),
    })
}

/// GET the catalog with tenants at `places`: the status and the item keys.
async fn send(
    client: &reqwest::Client,
    options: &ApiOptions,
    places: &[(Place, &str)],
) -> Result<(u16, HashSet<String>), VerifyError> {
    let mut url = reqwest::Url::parse(&options.url())
        .map_err(|e| VerifyError::Input(format!("--app-url is not a URL: {e}")))?;
    let mut request_headers = Vec::new();
    for (place, tenant) in places {
        match place {
            Place::Header => {
                request_headers.push((options.tenant_header.clone(), tenant.to_string()))
            }
            Place::Subdomain => {
                request_headers.push(("Host".to_string(), host_for(options, tenant)?))
            }
            Place::Query => {
                url.query_pairs_mut().append_pair("tenant_id", tenant);
            }
        }
    }
    let mut request = client.get(url);
    for (name, value) in options.headers.iter().chain(&request_headers) {
        request = request.header(name, value);
    }
    let shown = crate::redact::url_passwords(&options.url()).into_owned();
    let failed = |e: reqwest::Error| {
        VerifyError::Http(format!("GET {shown}: {}", crate::httpc::describe(&e)))
    };
    let response = request.send().await.map_err(failed)?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(failed)?;
    let keys = match serde_json::from_str::<Value>(&body) {
        Ok(Value::Array(items)) => items.iter().map(super::api::item_key).collect(),
        Ok(Value::Object(o)) => o
            .values()
            .filter_map(Value::as_array)
            .flatten()
            .map(super::api::item_key)
            .collect(),
        _ => HashSet::new(),
    };
    Ok((status, keys))
}

/// Check each place alone for tenant A, and every pair of places with A and B.
pub(super) async fn check_places(
    client: &reqwest::Client,
    options: &ApiOptions,
    (a, b): (&str, &str),
    (items_a, items_b): (&[Value], &[Value]),
    c: &mut Checker,
) -> Result<(), VerifyError> {
    let keys_a: HashSet<String> = items_a.iter().map(super::api::item_key).collect();
    let keys_b: HashSet<String> = items_b.iter().map(super::api::item_key).collect();
    for place in [Place::Subdomain, Place::Query] {
        let (status, keys) = send(client, options, &[(place, a)]).await?;
        let name = place.name(options);
        c.check(
            format!("tenant A by {name}: A's items"),
            (status != 200 || keys != keys_a).then(|| {
                (
                    Severity::Broken,
                    format!(
                        "tenant A given by {name}: status {status}, {} item(s), {} of them A's",
                        keys.len(),
                        keys.intersection(&keys_a).count()
                    ),
                    format!(
                        "expected 200 with the same {} item(s) as with {}",
                        keys_a.len(),
                        Place::Header.name(options)
                    ),
                )
            }),
        );
    }
    let pairs = [
        (Place::Header, Place::Subdomain),
        (Place::Header, Place::Query),
        (Place::Subdomain, Place::Query),
    ];
    for (first, second) in pairs {
        let (status, keys) = send(client, options, &[(first, a), (second, b)]).await?;
        let (one, two) = (first.name(options), second.name(options));
        let won = if !keys.is_disjoint(&keys_b) {
            Some(&two)
        } else if !keys.is_disjoint(&keys_a) {
            Some(&one)
        } else {
            None
        };
        let expected =
            "expected a 4xx and no data: a request naming two tenants is refused, so no \
                        place can override another"
                .to_string();
        let failure = match won {
            Some(winner) => Some((
                Severity::FailOpen,
                format!(
                    "A in {one} and B in {two}: status {status} with the items of the tenant in {winner}: \
                     one place overrides the other"
                ),
                expected,
            )),
            None if status < 400 => Some((
                Severity::Warning,
                format!("A in {one} and B in {two}: status {status} (no items)"),
                expected,
            )),
            None => None,
        };
        c.check(format!("A in {one}, B in {two}: refused"), failure);
    }
    Ok(())
}
