//! One module per resource, and [`api_routes`]: the single table every API route is registered from.
//!
//! The router is built from the table and nothing else, so a route cannot exist without an entry; the
//! isolation test walks the same table and fails when a route is not exercised.

pub(crate) mod activity;
pub(crate) mod chat;
pub(crate) mod decisions;
pub(crate) mod documents;
pub(crate) mod exports;
pub(crate) mod findings;
pub(crate) mod frameworks;
pub(crate) mod health;
pub(crate) mod models;
pub(crate) mod reviews;
pub(crate) mod statistics;

use aiprism_app::App;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, delete, get, patch, post};

/// An HTTP method an API route answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiMethod {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl ApiMethod {
    /// The method's name as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiMethod::Get => "GET",
            ApiMethod::Post => "POST",
            ApiMethod::Patch => "PATCH",
            ApiMethod::Delete => "DELETE",
        }
    }
}

/// What a route's `{id}` names: owner-scoped resources must answer 404 to anyone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    /// The route takes no id.
    None,
    /// A document (owner-scoped).
    Document,
    /// A review (owner-scoped through its document).
    Review,
    /// A finding (owner-scoped through its document).
    Finding,
    /// An export (owner-scoped).
    Export,
    /// A framework: shared by every user of the installation by design.
    Framework,
}

impl IdKind {
    /// Whether another user's id must read as absent (404).
    pub fn is_owned(self) -> bool {
        !matches!(self, IdKind::None | IdKind::Framework)
    }
}

/// One API route: method, path under `/api/v1`, what its id names, and how to build its handler.
pub struct RouteSpec {
    /// The method.
    pub method: ApiMethod,
    /// The path template under `/api/v1`, with `{id}` for the id.
    pub path: &'static str,
    /// What the id names.
    pub id: IdKind,
    handler: fn(&App) -> MethodRouter<App>,
}

impl std::fmt::Debug for RouteSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} /api/v1{}", self.method.as_str(), self.path)
    }
}

macro_rules! route {
    ($method:ident, $path:literal, $id:ident, $handler:expr) => {
        RouteSpec {
            method: ApiMethod::$method,
            path: $path,
            id: IdKind::$id,
            handler: $handler,
        }
    };
}

static API_ROUTES: &[RouteSpec] = &[
    route!(Get, "/documents", None, |_| get(documents::list)),
    route!(Post, "/documents", None, |app| post(documents::upload)
        .layer(DefaultBodyLimit::max(documents::body_limit(app)))),
    route!(Get, "/documents/{id}", Document, |_| get(documents::show)),
    route!(Delete, "/documents/{id}", Document, |_| delete(documents::remove)),
    route!(Get, "/frameworks", None, |_| get(frameworks::list)),
    route!(Post, "/frameworks", None, |_| post(frameworks::upload)),
    route!(Get, "/frameworks/{id}", Framework, |_| get(frameworks::show)),
    route!(Post, "/documents/{id}/reviews", Document, |_| post(
        reviews::start
    )),
    route!(Get, "/reviews/{id}", Review, |_| get(reviews::show)),
    route!(Post, "/reviews/{id}/cancel", Review, |_| post(reviews::cancel)),
    route!(Get, "/reviews/{id}/events", Review, |_| get(reviews::events)),
    route!(Get, "/documents/{id}/findings", Document, |_| get(findings::list)),
    route!(Get, "/models", None, |_| get(models::list)),
    route!(Post, "/models/reset", None, |_| post(models::reset)),
    route!(Post, "/findings/{id}/decision", Finding, |_| post(
        decisions::decide
    )),
    route!(Patch, "/findings/{id}", Finding, |_| patch(decisions::edit)),
    route!(Delete, "/findings/{id}", Finding, |_| delete(decisions::remove)),
    route!(Post, "/documents/{id}/comments", Document, |_| post(
        decisions::comment
    )),
    route!(Post, "/documents/{id}/decisions/reset", Document, |_| post(
        decisions::reset
    )),
    route!(Get, "/documents/{id}/activity", Document, |_| get(
        activity::activity
    )),
    route!(Get, "/activity", None, |_| get(activity::recent)),
    route!(Get, "/documents/{id}/chat", Document, |_| get(chat::history)),
    route!(Post, "/documents/{id}/chat", Document, |_| post(chat::ask)),
    route!(Get, "/documents/{id}/chat/export", Document, |_| get(
        chat::export
    )),
    route!(Get, "/documents/{id}/statistics", Document, |_| get(
        statistics::document
    )),
    route!(Get, "/statistics", None, |_| get(statistics::overall)),
    route!(Get, "/learning", None, |_| get(statistics::learning)),
    route!(Post, "/documents/{id}/exports", Document, |_| post(
        exports::create
    )),
    route!(Get, "/documents/{id}/exports", Document, |_| get(exports::list)),
    route!(Get, "/exports/{id}", Export, |_| get(exports::show)),
    route!(Get, "/exports/{id}/file", Export, |_| get(exports::file)),
];

/// Every API route, in the order they are registered.
pub fn api_routes() -> &'static [RouteSpec] {
    API_ROUTES
}

/// The API router (to be nested under `/api/v1`), built from [`api_routes`].
pub(crate) fn api_router(app: &App) -> Router<App> {
    API_ROUTES.iter().fold(Router::new(), |router, spec| {
        router.route(spec.path, (spec.handler)(app))
    })
}
