//! Per-user API rate limiting: every API request is counted against its user's budget (an anonymous
//! one against its client address) before it is served; over the budget it is answered 429 with
//! `Retry-After` in whole seconds and the API's error body. Only `/api/v1` is limited: health,
//! readiness, metrics, pages and static files never are.

use std::net::SocketAddr;
use std::time::Duration;

use aiprism_app::App;
use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The key a signed-in user's requests are counted under.
pub(crate) fn user_key(user: &aiprism_core::User) -> String {
    format!("user:{}", user.id)
}

/// The key an anonymous request is counted under: the address it came from (the proxy's, behind one).
pub(crate) fn address_key(parts: &Parts) -> String {
    match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(address)) => format!("ip:{}", address.ip()),
        None => "ip:unknown".to_string(),
    }
}

/// Counts a request for `key`; the 429 to answer instead when it is over the budget.
pub(crate) async fn check(app: &App, key: &str) -> Option<Response> {
    let limiter = app.api_limiter.as_ref()?;
    let wait = limiter.check(key).await.err()?;
    Some(too_many(wait))
}

/// Whole seconds to wait, at least one (a `Retry-After` of 0 invites an immediate retry).
fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

fn too_many(wait: Duration) -> Response {
    let secs = retry_after_secs(wait);
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("Too many requests; try again in {secs} s."),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_rounded_up_to_whole_seconds_and_never_zero() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(10)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
    }
}
