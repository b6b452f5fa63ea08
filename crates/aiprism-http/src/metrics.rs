//! `GET /metrics`: every series in the Prometheus text format when metrics are enabled
//! (`ENABLE_METRICS`, on by default), the API's 404 otherwise. The series themselves are defined in
//! [`aiprism_app::metrics`]; HTTP latency is recorded by a layer in `middleware`.

use aiprism_app::App;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use crate::error::{self, ApiError};

/// The Prometheus text exposition format, version 0.0.4.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub(crate) fn routes() -> Router<App> {
    Router::new().route("/metrics", get(metrics))
}

/// Renders the process's series, refreshing queue depth and model endpoint state first.
async fn metrics(State(app): State<App>, headers: HeaderMap) -> Response {
    if !app.settings.observability.metrics {
        return error::not_found().await.into_response();
    }
    if let Some(token) = &app.settings.observability.metrics_token
        && !bearer_matches(&headers, token.expose_secret())
    {
        return (
            [(header::WWW_AUTHENTICATE, "Bearer")],
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "The metrics need the scrape token (Authorization: Bearer ...).",
            ),
        )
            .into_response();
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

/// Whether the request's bearer token equals `expected`. Both sides are hashed first, so the
/// comparison takes the same time whatever the length or the first differing byte.
fn bearer_matches(headers: &HeaderMap, expected: &str) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let (a, b) = (Sha256::digest(given.trim()), Sha256::digest(expected));
    let diff = a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    !given.is_empty() && diff == 0
}
