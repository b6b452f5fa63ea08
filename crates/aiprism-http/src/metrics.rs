//! `GET /metrics`: every series in the Prometheus text format when metrics are enabled
//! (`ENABLE_METRICS`, on by default), the API's 404 otherwise. The series themselves are defined in
//! [`aiprism_app::metrics`]; HTTP latency is recorded by a layer in `middleware`.

use aiprism_app::App;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::{self, ApiError};

/// The Prometheus text exposition format, version 0.0.4.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub(crate) fn routes() -> Router<App> {
    Router::new().route("/metrics", get(metrics))
}

/// Renders the process's series, refreshing queue depth and model endpoint state first.
async fn metrics(State(app): State<App>) -> Response {
    if !app.settings.observability.metrics {
        return error::not_found().await.into_response();
    }
    match aiprism_app::metrics::render(&app).await {
        Some(text) => (
            [
                (header::CONTENT_TYPE, CONTENT_TYPE),
                (header::CACHE_CONTROL, "no-store"),
            ],
            text,
        )
            .into_response(),
        None => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics_unavailable",
            "Another metrics recorder was installed in this process; nothing to render here.",
        )
        .into_response(),
    }
}
