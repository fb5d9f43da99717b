//! `POST /api/invoices/<invoice_id>/items`: add a line item (`services` row) to an invoice
//! (an appointment) as the request's tenant. 201 on success, 404 when the invoice or the service
//! operation is not the tenant's, 403 when row-level security refuses the write (SQLSTATE 42501,
//! counted in `app_rls_denials_total{table="services"}`).
//!
//! Like Phase 1 integration clients, a body may still carry `tenant_id`; the legacy handler writes
//! it through as the row's tenant. Before RLS that is a silent cross-tenant write; after it, the
//! policy's `WITH CHECK` refuses it: the denial the dashboard counts.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::build::Build;
use super::flags::CATALOG_API_V2;
use super::tenant::Tenant;
use super::{AppState, error_response};

/// The request body.
#[derive(Deserialize)]
pub(super) struct NewItem {
    service_operation_id: i64,
    #[serde(default = "one")]
    quantity: i32,
    tenant_id: Option<String>,
}

fn one() -> i32 {
    1
}

/// The handler.
pub(super) async fn add_item(
    State(state): State<Arc<AppState>>,
    Tenant(tenant): Tenant,
    Path(invoice_id): Path<String>,
    body: Result<Json<NewItem>, JsonRejection>,
) -> Response {
    let Ok(invoice_id) = invoice_id.parse::<i64>() else {
        return error_response(StatusCode::NOT_FOUND, "no such invoice");
    };
    let Json(item) = match body {
        Ok(item) => item,
        Err(rejection) => return error_response(rejection.status(), &rejection.body_text()),
    };
    if item.quantity < 1 {
        return error_response(StatusCode::BAD_REQUEST, "quantity must be at least 1");
    }
    let build = state.build.get();
    if let Some(after) = state.faults.spike
        && build == Build::Phase2
        && state.flags.is_on(&state.pool, CATALOG_API_V2).await
        && state.v2_on_since.get_or_init(Instant::now).elapsed() >= after
    {
        // Three requests in ten fail, evenly spread.
        let n = state.spike_counter.fetch_add(1, Ordering::Relaxed);
        if n % 10 < 3 {
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "pricing lookup timed out (catalog v2 price resolver)",
            );
        }
    }
    match insert(&state, build, &tenant, invoice_id, &item).await {
        Ok(Some(line)) => (StatusCode::CREATED, Json(line)).into_response(),
        Ok(None) => error_response(
            StatusCode::NOT_FOUND,
            &format!(
                "invoice {invoice_id} or service operation {} not found",
                item.service_operation_id
            ),
        ),
        Err(Failure::Sql(e)) if golive_core::pg::sqlstate(&e) == Some("42501") => {
            state.metrics.rls_denial("services");
            error_response(
                StatusCode::FORBIDDEN,
                "row-level security refused the write",
            )
        }
        Err(Failure::Sql(e)) => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot add the item: {}", golive_core::pg::describe(&e)),
        ),
        Err(Failure::Pool(e)) => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot add the item: {e}"),
        ),
    }
}

/// Why an insert failed.
enum Failure {
    /// No connection.
    Pool(golive_core::pg::DbError),
    /// A statement failed.
    Sql(tokio_postgres::Error),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        Failure::Sql(e)
    }
}

/// The new line item as JSON, or `None` when the invoice or the operation is not the tenant's.
async fn insert(
    state: &AppState,
    build: Build,
    tenant: &str,
    invoice_id: i64,
    item: &NewItem,
) -> Result<Option<serde_json::Value>, Failure> {
    let mut conn = state.pool.get().await.map_err(Failure::Pool)?;
    let tx = conn.begin(build, tenant).await?;
    let appointment = tx
        .query_opt(
            "SELECT id FROM appointments WHERE id = $1 AND tenant_id = $2::text::uuid",
            &[&invoice_id, &tenant],
        )
        .await?;
    let operation = tx
        .query_opt(
            "SELECT price_cents FROM service_operations WHERE id = $1 AND tenant_id = $2::text::uuid",
            &[&item.service_operation_id, &tenant],
        )
        .await?;
    let (Some(_), Some(operation)) = (appointment, operation) else {
        return Ok(None);
    };
    let price: i32 = operation.get(0);
    let row_tenant = item.tenant_id.as_deref().unwrap_or(tenant);
    let row = tx
        .query_one(
            "INSERT INTO services
                 (tenant_id, appointment_id, service_operation_id, quantity, price_cents)
             VALUES ($1::text::uuid, $2, $3, $4, $5) RETURNING id",
            &[
                &row_tenant,
                &invoice_id,
                &item.service_operation_id,
                &item.quantity,
                &price,
            ],
        )
        .await?;
    tx.commit().await?;
    Ok(Some(json!({
        "id": row.get::<_, i64>(0),
        "invoice_id": invoice_id,
        "service_operation_id": item.service_operation_id,
        "quantity": item.quantity,
        "price_cents": price,
    })))
}
