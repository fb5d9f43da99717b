//! `GET /api/admin/service-operations`: the catalog, in its v1 shape (`{"service_operations":
//! [...]}`) from the Phase 1 build, and from the Phase 2 build until the `catalog_api_v2` flag is
//! on or the request asks for `X-Catalog-Version: 2`; in its v2 shape (a root array with `internal_code`, `subcategory`, `display_order`, sorted
//! `display_order ASC NULLS LAST, name ASC`) after. `ETag` on every 200, 304 on a match.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::build::Build;
use super::flags::CATALOG_API_V2;
use super::tenant::Tenant;
use super::{AppState, error_response};

/// The header that previews v2 before the flag is on.
const VERSION_HEADER: &str = "x-catalog-version";

const V1_SQL: &str = "SELECT id, name, category, duration_minutes, price_cents
    FROM service_operations WHERE tenant_id = $1::text::uuid ORDER BY id";

/// Only run when serving v2: before the Catalog v2 migration the columns do not exist.
const V2_SQL: &str = "SELECT id, name, category, duration_minutes, price_cents,
           internal_code, subcategory, display_order
    FROM service_operations WHERE tenant_id = $1::text::uuid
    ORDER BY display_order ASC NULLS LAST, name ASC";

/// The handler.
pub(super) async fn service_operations(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    headers: HeaderMap,
) -> Response {
    let build = state.build.get();
    let preview = headers
        .get(VERSION_HEADER)
        .is_some_and(|v| v.as_bytes() == b"2");
    let v2 =
        build == Build::Phase2 && (preview || state.flags.is_on(&state.pool, CATALOG_API_V2).await);
    let items = match load(&state, build, &tenant, v2).await {
        Ok(items) => items,
        Err(reason) => {
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot read the catalog: {reason}"),
            );
        }
    };
    let body = if v2 && !state.faults.legacy_wrapper {
        Value::Array(items)
    } else {
        json!({ "service_operations": items })
    };
    let bytes = body.to_string().into_bytes();
    let etag = format!("\"{}\"", &hex(&Sha256::digest(&bytes))[..32]);
    let Ok(etag_value) = HeaderValue::from_str(&etag) else {
        return error_response(StatusCode::INTERNAL_SERVER_ERROR, "unprintable ETag");
    };
    if matches(headers.get(header::IF_NONE_MATCH), &etag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value)]).into_response();
    }
    (
        StatusCode::OK,
        [
            (header::ETAG, etag_value),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        bytes,
    )
        .into_response()
}

async fn load(
    state: &AppState,
    build: Build,
    tenant: &str,
    v2: bool,
) -> Result<Vec<Value>, String> {
    let mut conn = state.pool.get().await.map_err(|e| e.to_string())?;
    let describe = |e: tokio_postgres::Error| golive_core::pg::describe(&e);
    let tx = conn.begin(build, tenant).await.map_err(describe)?;
    let rows = tx
        .query(if v2 { V2_SQL } else { V1_SQL }, &[&tenant])
        .await
        .map_err(describe)?;
    tx.commit().await.map_err(describe)?;
    Ok(rows
        .iter()
        .map(|row| {
            let mut item = json!({
                "id": row.get::<_, i64>("id"),
                "name": row.get::<_, String>("name"),
                "category": row.get::<_, String>("category"),
                "duration_minutes": row.get::<_, i32>("duration_minutes"),
                "price_cents": row.get::<_, i32>("price_cents"),
            });
            if v2 {
                item["internal_code"] = json!(row.get::<_, Option<String>>("internal_code"));
                item["subcategory"] = json!(row.get::<_, Option<String>>("subcategory"));
                item["display_order"] = json!(row.get::<_, Option<i32>>("display_order"));
            }
            item
        })
        .collect())
}

/// Whether an `If-None-Match` header names `etag` (or is `*`); weak tags compare by value.
fn matches(if_none_match: Option<&HeaderValue>, etag: &str) -> bool {
    let Some(text) = if_none_match.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    text.split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_and_weak_tags() {
        let tag = "\"abc\"";
        assert!(matches(Some(&HeaderValue::from_static("\"abc\"")), tag));
        assert!(matches(
            Some(&HeaderValue::from_static("\"x\", W/\"abc\"")),
            tag
        ));
        assert!(matches(Some(&HeaderValue::from_static("*")), tag));
        assert!(!matches(Some(&HeaderValue::from_static("\"abd\"")), tag));
        assert!(!matches(None, tag));
    }
}
