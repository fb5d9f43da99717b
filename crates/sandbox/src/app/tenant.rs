//! The tenant middleware of the seed's Flask app: the tenant comes from the `X-Tenant-ID` header,
//! the subdomain (`Host: <uuid>.localhost`) or the `tenant_id` query parameter. An invalid value
//! is a 400; no tenant at all is a 400 too, so a request without a tenant never gets data; and
//! two places naming different tenants is a 400, so no place can override another.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::Response;

use super::error_response;

/// The tenant header.
pub(super) const TENANT_HEADER: &str = "x-tenant-id";

/// The request's tenant, a lower-case UUID.
pub(super) struct Tenant(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Tenant {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        tenant_of(parts)
            .map(Tenant)
            .map_err(|message| error_response(StatusCode::BAD_REQUEST, &message))
    }
}

fn tenant_of(parts: &Parts) -> Result<String, String> {
    let mut given: Vec<(&str, String)> = Vec::new();
    if let Some(value) = parts.headers.get(TENANT_HEADER) {
        let text = value.to_str().unwrap_or_default();
        let tenant =
            uuid(text).ok_or_else(|| format!("invalid X-Tenant-ID {text:?}: expected a UUID"))?;
        given.push(("the X-Tenant-ID header", tenant));
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| parts.uri.host())
        .unwrap_or_default();
    if let Some((label, _)) = host.split_once('.')
        && let Some(tenant) = uuid(label)
    {
        given.push(("the subdomain", tenant));
    }
    let query = parts.uri.query().unwrap_or_default();
    for (key, value) in query.split('&').filter_map(|pair| pair.split_once('=')) {
        if key == "tenant_id" {
            let tenant = uuid(value)
                .ok_or_else(|| format!("invalid tenant_id {value:?}: expected a UUID"))?;
            given.push(("the tenant_id parameter", tenant));
        }
    }
    match given.as_slice() {
        [] => Err(
            "no tenant: send the X-Tenant-ID header, a <tenant>.host subdomain or ?tenant_id="
                .into(),
        ),
        [(_, first), rest @ ..] => match rest.iter().find(|(_, t)| t != first) {
            Some((place, other)) => Err(format!(
                "conflicting tenants: {} names {first}, {place} names {other}; send one tenant",
                given[0].0
            )),
            None => Ok(first.clone()),
        },
    }
}

/// `text` as a canonical lower-case UUID (8-4-4-4-12 hex digits), if it is one.
fn uuid(text: &str) -> Option<String> {
    let text = text.trim();
    let groups: Vec<&str> = text.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    let ok = groups.len() == lengths.len()
        && groups
            .iter()
            .zip(lengths)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    ok.then(|| text.to_ascii_lowercase())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::Request;

    const A: &str = "11111111-1111-4111-8111-111111111111";

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut builder = Request::builder().uri(uri);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn header_then_subdomain_then_query() {
        assert_eq!(tenant_of(&parts("/x", &[("X-Tenant-ID", A)])).unwrap(), A);
        let host = format!("{A}.localhost:8080");
        assert_eq!(tenant_of(&parts("/x", &[("Host", &host)])).unwrap(), A);
        let uri = format!("/x?a=1&tenant_id={}", A.to_uppercase());
        assert_eq!(
            tenant_of(&parts(&uri, &[("Host", "127.0.0.1:80")])).unwrap(),
            A
        );
    }

    #[test]
    fn the_same_tenant_twice_is_fine_and_two_tenants_are_refused() {
        const B: &str = "22222222-2222-4222-8222-222222222222";
        let host = format!("{A}.localhost:8080");
        let same = format!("/x?tenant_id={A}");
        assert_eq!(
            tenant_of(&parts(&same, &[("X-Tenant-ID", A), ("Host", &host)])).unwrap(),
            A
        );
        let other = format!("/x?tenant_id={B}");
        let err = tenant_of(&parts(&other, &[("X-Tenant-ID", A)])).unwrap_err();
        assert!(err.contains("conflicting tenants"), "{err}");
        let err = tenant_of(&parts("/x", &[("X-Tenant-ID", B), ("Host", &host)])).unwrap_err();
        assert!(err.contains("conflicting tenants"), "{err}");
    }

    #[test]
    fn invalid_or_missing_tenants_are_errors() {
        assert!(tenant_of(&parts("/x", &[("X-Tenant-ID", "nope")])).is_err());
        assert!(tenant_of(&parts("/x?tenant_id=1", &[])).is_err());
        let err = tenant_of(&parts("/x", &[("Host", "127.0.0.1:80")])).unwrap_err();
        assert!(err.contains("no tenant"), "{err}");
    }
}
