//! The built-in target app: an axum server on 127.0.0.1 that behaves like the seed's Flask app
//! (tenant middleware, catalog v1/v2 with ETag, add-to-invoice, feature flags from the database,
//! prometheus_flask_exporter metrics), logging in as `app_user` through a small reused pool.
//! It has both builds of the target contract ([`build::Build`]): the Phase 1 build serves until
//! a deploy switches it.

pub mod build;
mod catalog;
mod flags;
mod invoices;
mod metrics;
pub(super) mod pool;
mod tenant;

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{SandboxError, Scenario};

/// How many `app_user` connections the app keeps.
const POOL_SIZE: usize = 4;

/// The routes, as axum writes them and as Flask names them in the `url_rule` label.
const ROUTES: [(&str, &str); 3] = [
    ("/healthz", "/healthz"),
    (
        "/api/admin/service-operations",
        "/api/admin/service-operations",
    ),
    (
        "/api/invoices/{invoice_id}/items",
        "/api/invoices/<int:invoice_id>/items",
    ),
];

/// The Flask `url_rule` of a matched axum route; `None` (the string) when nothing matched.
fn flask_rule(matched: Option<&str>) -> &'static str {
    ROUTES
        .iter()
        .find(|(axum, _)| Some(*axum) == matched)
        .map_or("None", |(_, flask)| flask)
}

/// The application-side faults of the game-day scenarios.
#[derive(Default)]
struct Faults {
    /// The v2 handler keeps the legacy wrapper (`legacy-wrapper`).
    legacy_wrapper: bool,
    /// Add-to-invoice fails 30% of the time once `catalog_api_v2` has been on this long
    /// (`5xx-spike`: at once; `late-5xx`: later).
    spike: Option<Duration>,
}

/// What the handlers share.
struct AppState {
    /// The build serving now.
    build: build::ServingBuild,
    pool: Arc<pool::Pool>,
    flags: flags::FlagCache,
    metrics: metrics::Metrics,
    faults: Faults,
    spike_counter: AtomicU64,
    /// When a request first found `catalog_api_v2` on.
    v2_on_since: OnceLock<Instant>,
}

/// The running app.
pub(super) struct RunningApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The server; ends after `cancel`.
    pub task: JoinHandle<()>,
    /// Its connection pool (emptied when the database is swapped under it).
    pub pool: Arc<pool::Pool>,
}

/// Start the app, logging in with `app_database_url`, serving `build` (and whatever its build
/// file says later); it serves until `cancel`.
pub(super) async fn start(
    app_database_url: String,
    build: build::ServingBuild,
    scenario: Option<Scenario>,
    cancel: CancellationToken,
) -> Result<RunningApp, SandboxError> {
    let state = Arc::new(AppState {
        build,
        pool: Arc::new(pool::Pool::new(app_database_url, POOL_SIZE)),
        flags: flags::FlagCache::default(),
        metrics: metrics::Metrics::default(),
        faults: Faults {
            legacy_wrapper: scenario == Some(Scenario::LegacyWrapper),
            spike: match scenario {
                Some(Scenario::FiveXxSpike) => Some(Duration::ZERO),
                Some(Scenario::Late5xx) => Some(crate::scenario::LATE_5XX_AFTER),
                _ => None,
            },
        },
        spike_counter: AtomicU64::new(0),
        v2_on_since: OnceLock::new(),
    });
    // Log in once now, so a bad login fails the start instead of every request.
    drop(state.pool.get().await?);
    let pool = state.pool.clone();
    let router = Router::new()
        .route(ROUTES[0].0, get(healthz))
        .route(ROUTES[1].0, get(catalog::service_operations))
        .route(ROUTES[2].0, post(invoices::add_item))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .route("/metrics", get(metrics::metrics))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|source| SandboxError::Io {
            what: "cannot bind the sandbox app to 127.0.0.1",
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SandboxError::Io {
        what: "cannot read the sandbox app's address",
        source,
    })?;
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(cancel.cancelled_owned())
            .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "sandbox app stopped");
        }
    });
    Ok(RunningApp { addr, task, pool })
}

/// A JSON error body, as the Flask app's error handlers answer.
fn error_response(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

async fn healthz() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

async fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, "not found")
}
