//! aiprism's HTTP surface: the JSON API of `API.md` and (later) the web UI, on axum.
//!
//! Handlers stay thin: parse the request, call a use case on [`aiprism_app::App`], map the result to a
//! DTO. Every error leaves as `{"error": {"code", "message"}}` with a 4xx for bad input. Depends on
//! `aiprism-app` and `aiprism-core`; knows nothing of databases or file formats.

mod auth;
pub mod dto;
mod error;
mod metrics;
mod middleware;
mod ratelimit;
mod routes;
mod ui;

use std::future::Future;
use std::net::SocketAddr;

use aiprism_app::App;
use axum::Router;
use tokio::net::TcpListener;

pub use error::ApiError;
pub use routes::{ApiMethod, IdKind, RouteSpec, api_routes};

/// The whole HTTP application for one [`App`].
pub fn router(app: App) -> Router {
    let metrics_enabled = app.settings.observability.metrics;
    let api = routes::api_router(&app).route_layer(axum::middleware::from_fn_with_state(
        app.clone(),
        auth::require_user,
    ));
    let router = Router::new()
        .merge(routes::health::routes())
        .merge(metrics::routes())
        .merge(ui::routes())
        .nest("/api/v1", api)
        .fallback(error::not_found)
        .with_state(app)
        .layer(axum::middleware::from_fn(ui::csrf::verify));
    let router = middleware::apply(router);
    if metrics_enabled {
        middleware::with_metrics(router)
    } else {
        router
    }
}

/// The operations surface alone: `/health`, `/ready` and `/metrics`, for processes that serve no API
/// (`aiprism worker`), so an orchestrator can probe them and Prometheus can scrape their job and model
/// series, which live in that process's recorder and nowhere else. Everything else answers the API's 404.
pub fn ops_router(app: App) -> Router {
    let router = Router::new()
        .merge(routes::health::routes())
        .merge(metrics::routes())
        .fallback(error::not_found)
        .with_state(app);
    middleware::apply(router)
}

/// Serves [`ops_router`] on a bound listener until `shutdown` resolves.
pub async fn serve_ops(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, ops_router(app))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serves the application on a bound listener until `shutdown` resolves, then finishes the requests in
/// flight. Tests bind port 0 and pass the listener in.
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = router(app).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}
