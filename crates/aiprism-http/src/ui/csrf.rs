//! CSRF protection for requests a browser makes with cookies: a double-submit token.
//!
//! Every page sets a random `aiprism_csrf` cookie (SameSite=Strict) when the browser has none, and the
//! page's scripts copy it into an `X-CSRF-Token` header on every state-changing request. Another site
//! can make the browser send our cookies but cannot read them, so it cannot send the matching header.
//! A request without any cookie (a script, curl, an API token) carries no ambient authority and is let
//! through unchanged.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The cookie holding the token.
pub(crate) const COOKIE: &str = "aiprism_csrf";
/// The header the page's scripts echo the token in.
pub(crate) const HEADER: &str = "x-csrf-token";

/// The token a page should use, and the `Set-Cookie` value to send when the browser has none yet.
pub(crate) struct PageToken {
    /// The token (also written into the page for scripts that cannot read the cookie).
    pub(crate) value: String,
    /// `Some` when the cookie must be (re)set.
    pub(crate) set_cookie: Option<HeaderValue>,
}

/// Reuses the browser's token (so every open tab keeps working) or makes a new one.
pub(crate) fn page_token(headers: &HeaderMap) -> PageToken {
    if let Some(value) = cookie_token(headers) {
        return PageToken {
            value,
            set_cookie: None,
        };
    }
    let value = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let set_cookie = HeaderValue::from_str(&format!("{COOKIE}={value}; Path=/; SameSite=Strict")).ok();
    PageToken { value, set_cookie }
}

/// The well-formed `aiprism_csrf` cookie of a request, if any.
fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|v| (32..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The sign-in forms: plain HTML forms that send the token as a `csrf` field, checked by their handlers
/// with [`form_token_matches`].
fn is_form_route(path: &str) -> bool {
    path == "/login" || path == "/logout" || path.starts_with("/signin/")
}

/// Middleware: refuses a state-changing request that carries cookies but not the matching token.
/// Requests authenticated by `Authorization: Bearer` are exempt: a browser never adds that header to a
/// cross-site request, and such a request acts as the token's owner, not as the cookie's.
pub(crate) async fn verify(request: Request, next: Next) -> Response {
    let unsafe_method = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if unsafe_method
        && request.headers().contains_key(header::COOKIE)
        && !crate::auth::has_bearer(request.headers())
        && !is_form_route(request.uri().path())
        && !token_matches(request.headers())
    {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "This request came with cookies but without the matching X-CSRF-Token header. \
             Reload the page and try again.",
        )
        .into_response();
    }
    next.run(request).await
}

/// Whether a form's `csrf` field matches the browser's CSRF cookie (double submit for plain forms).
pub(crate) fn form_token_matches(headers: &HeaderMap, sent: &str) -> bool {
    cookie_token(headers).is_some_and(|cookie| constant_time_eq(sent.trim().as_bytes(), cookie.as_bytes()))
}

fn token_matches(headers: &HeaderMap) -> bool {
    let Some(cookie) = cookie_token(headers) else {
        return false;
    };
    let mut sent = headers.get_all(HEADER).iter();
    match (sent.next().and_then(|v| v.to_str().ok()), sent.next()) {
        (Some(header), None) => constant_time_eq(header.trim().as_bytes(), cookie.as_bytes()),
        _ => false,
    }
}

/// Compares without stopping at the first difference, so timing does not reveal how much matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::post;
    use tower::ServiceExt;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    async fn status(request: axum::http::Request<Body>) -> StatusCode {
        let app = Router::new()
            .route(
                "/x",
                post(|| async { "ok" })
                    .delete(|| async { "ok" })
                    .get(|| async { "ok" }),
            )
            .layer(axum::middleware::from_fn(verify));
        match app.oneshot(request).await {
            Ok(response) => response.status(),
            Err(never) => match never {},
        }
    }

    fn request(method: &str, cookie: Option<&str>, token: Option<&str>) -> axum::http::Request<Body> {
        let mut builder = axum::http::Request::builder().method(method).uri("/x");
        if let Some(c) = cookie {
            builder = builder.header(header::COOKIE, c);
        }
        if let Some(t) = token {
            builder = builder.header(HEADER, t);
        }
        builder.body(Body::empty()).unwrap_or_default()
    }

    #[tokio::test]
    async fn requests_without_cookies_pass() {
        assert_eq!(status(request("POST", None, None)).await, StatusCode::OK);
        assert_eq!(status(request("DELETE", None, None)).await, StatusCode::OK);
    }

    #[tokio::test]
    async fn cookie_requests_without_a_token_are_refused() {
        let cookie = format!("{COOKIE}={TOKEN}");
        assert_eq!(
            status(request("POST", Some(&cookie), None)).await,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            status(request("DELETE", Some("session=abc"), Some(TOKEN))).await,
            StatusCode::FORBIDDEN
        );
    }

    #[tokio::test]
    async fn cookie_requests_with_a_different_token_are_refused() {
        let cookie = format!("other=1; {COOKIE}={TOKEN}");
        let wrong = "fedcba9876543210fedcba9876543210";
        assert_eq!(
            status(request("POST", Some(&cookie), Some(wrong))).await,
            StatusCode::FORBIDDEN
        );
    }

    #[tokio::test]
    async fn cookie_requests_with_the_matching_token_pass() {
        let cookie = format!("other=1; {COOKIE}={TOKEN}");
        assert_eq!(
            status(request("POST", Some(&cookie), Some(TOKEN))).await,
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn safe_methods_are_never_checked() {
        let cookie = format!("{COOKIE}={TOKEN}");
        assert_eq!(status(request("GET", Some(&cookie), None)).await, StatusCode::OK);
    }

    #[test]
    fn a_page_reuses_the_browsers_token_and_makes_one_otherwise() {
        let mut headers = HeaderMap::new();
        let fresh = page_token(&headers);
        assert!(fresh.set_cookie.is_some());
        assert_eq!(fresh.value.len(), 64);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{COOKIE}={}", fresh.value))
                .unwrap_or(HeaderValue::from_static("")),
        );
        let again = page_token(&headers);
        assert_eq!(again.value, fresh.value);
        assert!(again.set_cookie.is_none());
    }

    #[test]
    fn malformed_cookies_are_replaced() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("aiprism_csrf=short"));
        assert!(page_token(&headers).set_cookie.is_some());
    }
}
