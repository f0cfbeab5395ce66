//! The Greenlight HTTP server: the JSON API under `/api/v1`, problem+json errors, OpenAPI
//! 3.1 at `/api/openapi.json`, operational endpoints (`/healthz`, `/readyz`, `/metrics`),
//! and the server-rendered web pages.
//!
//! [`app`] builds the whole router from an [`AppState`]; tests call it in-process with
//! `tower::ServiceExt::oneshot`, and `greenlight serve` binds it to a socket.

pub mod api;
pub mod attachment;
pub mod auth;
pub mod client;
pub mod demo;
pub mod error;
pub mod headers;
pub mod links;
pub mod metrics;
pub mod notify;
pub mod openapi;
pub mod pages;
pub mod sso;
pub mod state;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

pub use state::{AppState, ServerConfig};

/// The whole application: API, pages, OpenAPI, health, readiness and metrics.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(api::router())
        .merge(pages::router())
        .route("/api/openapi.json", get(openapi::serve))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .fallback(pages::not_found)
        .route_layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            headers::add,
        ))
        .with_state(state)
}

/// Serves `app(state)` on `listener` until `shutdown` resolves, then lets in-flight
/// requests finish and the store commit what is queued. A background task moves expired
/// approvals and consents along once a minute.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = state.store.clone();
    let ticker = tokio::spawn({
        let store = store.clone();
        async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                every.tick().await;
                match store.expire_due().await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(changed = n, "expired approvals and consents processed")
                    }
                    Err(e) => tracing::warn!(error = %e, "expiry run failed"),
                }
            }
        }
    });
    let dispatcher = notify::spawn(state.clone());
    let result = axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    ticker.abort();
    dispatcher.abort();
    store.close().await;
    result
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the database answers and the writer runs.
async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    if s.store.ready().await {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

async fn metrics_text(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(&s.store.writer_stats()),
    )
}
