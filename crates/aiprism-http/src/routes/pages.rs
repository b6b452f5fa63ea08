//! The first page. The full web UI replaces this; until then it tells a visitor where things are.

use aiprism_app::App;
use axum::Router;
use axum::response::Html;
use axum::routing::get;

pub(crate) fn routes() -> Router<App> {
    Router::new().route("/", get(index))
}

async fn index() -> Html<&'static str> {
    Html(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>aiprism</title></head>\
         <body><h1>aiprism</h1><p>The document review API is at <code>/api/v1</code>; \
         health at <a href=\"/health\">/health</a>.</p></body></html>",
    )
}
