//! Per-user API rate limiting: a user over their budget gets 429 with `Retry-After` and the API's error
//! body, another user is not affected, anonymous requests are counted by address, and health, metrics
//! and pages are never limited.

use aiprism_core::Role;
use aiprism_store::Backend;
use aiprism_testkit::app::TestApp;
use reqwest::StatusCode;
use serde_json::Value;

aiprism_testkit::on_each_backend!(
    a_user_over_the_rate_gets_429_and_another_user_does_not,
    anonymous_requests_are_limited_by_address_and_health_never_is,
    a_rate_of_zero_turns_limiting_off,
);

/// A server in accounts mode allowing a burst of 3 and then one request a second per user.
async fn limited_app(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |s| {
        s.auth.mode = aiprism_app::settings::AuthMode::Accounts;
        s.api_limits.per_minute = 60;
        s.api_limits.burst = 3;
    })
    .await
}

async fn list(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .get(app.url("/api/v1/documents"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Asserts a response is the rate limit's 429 and returns its `Retry-After` in seconds.
pub async fn assert_rate_limited(response: reqwest::Response) -> u64 {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .expect("a 429 carries Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After is whole seconds");
    assert!(retry_after >= 1, "{retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    retry_after
}

async fn a_user_over_the_rate_gets_429_and_another_user_does_not(backend: Backend) {
    let app = limited_app(backend).await;
    let (_, alice) = app.add_user("alice", Role::Reviewer, "a long passphrase").await;
    let (_, bob) = app
        .add_user("bob", Role::Reviewer, "another long passphrase")
        .await;
    for i in 0..3 {
        assert_eq!(
            list(&app, &alice).await.status(),
            StatusCode::OK,
            "request {i} of the burst"
        );
    }
    let retry_after = assert_rate_limited(list(&app, &alice).await).await;
    assert_eq!(retry_after, 1, "one request a second");
    assert_eq!(
        list(&app, &bob).await.status(),
        StatusCode::OK,
        "bob has a budget of his own"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        list(&app, &alice).await.status(),
        StatusCode::OK,
        "the budget refills"
    );
}

async fn anonymous_requests_are_limited_by_address_and_health_never_is(backend: Backend) {
    let app = limited_app(backend).await;
    for _ in 0..3 {
        let (status, _) = app.get_json("/api/v1/documents").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let response = app.client.get(app.url("/api/v1/documents")).send().await.unwrap();
    assert_rate_limited(response).await;
    for path in ["/health", "/ready", "/metrics", "/login"] {
        for _ in 0..10 {
            let response = app.client.get(app.url(path)).send().await.unwrap();
            assert_ne!(
                response.status(),
                StatusCode::TOO_MANY_REQUESTS,
                "{path} is never limited"
            );
        }
    }
}

async fn a_rate_of_zero_turns_limiting_off(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.api_limits.per_minute = 0;
        s.api_limits.burst = 1;
    })
    .await;
    assert!(app.app.api_limiter.is_none());
    for _ in 0..20 {
        let (status, _) = app.get_json("/api/v1/documents").await;
        assert_eq!(status, StatusCode::OK);
    }
}
