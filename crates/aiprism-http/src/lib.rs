//! aiprism's HTTP surface: the JSON API of `API.md` and (later) the web UI, on axum.
//!
//! Handlers stay thin: parse the request, call a use case on [`aiprism_app::App`], map the result to a
//! DTO. Every error leaves as `{"error": {"code", "message"}}` with a 4xx for bad input. Depends on
//! `aiprism-app` and `aiprism-core`; knows nothing of databases or file formats.

pub mod dto;
mod error;
mod metrics;
mod middleware;
mod routes;
mod ui;

use std::future::Future;
use std::net::SocketAddr;

use aiprism_app::App;
use axum::Router;
use tokio::net::TcpListener;

pub use error::ApiError;

/// The whole HTTP application for one [`App`].
pub fn router(app: App) -> Router {
    let metrics_enabled = app.settings.observability.metrics;
    let api = routes::documents::routes(&app)
        .merge(routes::frameworks::routes())
        .merge(routes::reviews::routes())
        .merge(routes::findings::routes())
        .merge(routes::models::routes())
        .merge(routes::decisions::routes())
        .merge(routes::activity::routes())
        .merge(routes::chat::routes())
        .merge(routes::statistics::routes())
        .merge(routes::exports::routes());
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
