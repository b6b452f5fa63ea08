//! Layers every response goes through: request ids, tracing, security headers, and (when enabled)
//! request metrics.

use std::collections::BTreeSet;
use std::sync::{PoisonError, RwLock};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::MatchedPath;
use axum::http::{HeaderName, HeaderValue, Method, Request, header};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

/// The header carrying the request id (accepted from a proxy, generated otherwise, always echoed).
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";

/// Generates time-ordered request ids.
#[derive(Clone, Copy, Default)]
pub(crate) struct RequestIds;

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let id = uuid::Uuid::now_v7().simple().to_string();
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// Wraps a router in request ids, tracing and security headers. Layers added later run first, so the
/// request id is set before the trace span reads it and echoed after the response is built.
pub(crate) fn apply(router: Router) -> Router {
    router
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, RequestIds))
}

/// One span per request with its id, method and path (never the query string, which may carry tokens).
fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        path = %request.uri().path(),
    )
}

/// Adds the request metrics layer (when metrics are enabled). Added after [`apply`], it wraps every
/// route's stack, so its latency covers the other layers too; like them it runs per route, after
/// routing, which is what puts the matched route template in the request.
pub(crate) fn with_metrics(router: Router) -> Router {
    router.layer(axum::middleware::from_fn(record_request))
}

/// Records a request's latency and count by method, matched route template (`/api/v1/documents/{id}`,
/// never the path with its ids) and status. Labels are interned, so after warm-up a request allocates
/// only what the metrics facade needs for its key.
async fn record_request(request: Request<Body>, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, |path| ROUTES.intern(path.as_str()));
    let method = method_label(request.method());
    let response = next.run(request).await;
    let status = STATUSES.intern(response.status().as_str());
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::histogram!(aiprism_app::metrics::HTTP_REQUEST_DURATION, &labels)
        .record(started.elapsed().as_secs_f64());
    metrics::counter!(aiprism_app::metrics::HTTP_REQUESTS, &labels).increment(1);
    response
}

/// The route label of requests no route matched (the 404 fallback), whatever their path.
const UNMATCHED_ROUTE: &str = "unmatched";

/// A label for values past an interner's capacity.
const OTHER: &str = "other";

static ROUTES: Interner = Interner::new(256);
static STATUSES: Interner = Interner::new(64);

/// The method as a static label; methods outside the standard set share one label, since a client can
/// send any token as a method.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => OTHER,
    }
}

/// A bounded set of label values leaked once and reused: route templates and status codes are few, and
/// the cap keeps both the memory and the label cardinality bounded whatever comes in.
struct Interner {
    values: RwLock<BTreeSet<&'static str>>,
    capacity: usize,
}

impl Interner {
    const fn new(capacity: usize) -> Self {
        Self {
            values: RwLock::new(BTreeSet::new()),
            capacity,
        }
    }

    fn intern(&self, value: &str) -> &'static str {
        if let Some(known) = self
            .values
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(value)
        {
            return known;
        }
        let mut values = self.values.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(known) = values.get(value) {
            return known;
        }
        if values.len() >= self.capacity {
            return OTHER;
        }
        let leaked: &'static str = Box::leak(value.to_owned().into_boxed_str());
        values.insert(leaked);
        leaked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_returns_one_value_per_string_and_caps_the_set() {
        let interner = Interner::new(2);
        let a = interner.intern("/api/v1/documents");
        assert!(std::ptr::eq(a, interner.intern("/api/v1/documents")));
        assert_eq!(
            interner.intern("/api/v1/documents/{id}"),
            "/api/v1/documents/{id}"
        );
        assert_eq!(interner.intern("/third"), OTHER);
    }

    #[test]
    fn unusual_methods_share_one_label() {
        assert_eq!(method_label(&Method::POST), "POST");
        let custom = Method::from_bytes(b"PROPFIND").unwrap();
        assert_eq!(method_label(&custom), OTHER);
    }
}
