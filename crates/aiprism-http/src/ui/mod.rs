//! The web UI: server-rendered pages (askama templates compiled into the binary) and small hand-written
//! ES modules and CSS served from the binary. No build step, no Node at run time.
//!
//! Every piece of state lives on the server: pages render what the store holds, scripts change it only
//! through the JSON API (with the CSRF header of [`csrf`]) and re-read it, so a reload or a second tab
//! shows the same thing. View choices (current section, filters) live in the URL.

mod assets;
pub(crate) mod csrf;
mod pages;
mod session;
mod views;

use aiprism_app::App;
use axum::Router;
use axum::routing::get;
use tower_http::compression::CompressionLayer;

/// The page and asset routes, compressed (gzip) when the browser accepts it.
pub(crate) fn routes() -> Router<App> {
    // Build the asset table now, so a broken asset set shows at start-up rather than on first request.
    let _ = assets::assets();
    Router::new()
        .route("/", get(pages::documents))
        .route("/documents/{id}", get(pages::review))
        .route("/documents/{id}/statistics", get(pages::statistics))
        .route("/dashboard", get(pages::dashboard))
        .route("/login", get(session::login_form).post(session::login))
        .route("/logout", get(session::logout_form).post(session::logout))
        .route("/signin/{token}", get(session::signin_form).post(session::signin))
        .route("/static/{*path}", get(assets::serve))
        .layer(CompressionLayer::new())
}
