//! Two servers on one database and one Redis, as two processes behind a load balancer: a session
//! started on one works on the other, a user's API budget is one budget, and `/ready` reports Redis.
//! Skipped (with a note) without `AIPRISM_TEST_REDIS_URL` outside CI.

use aiprism_app::Settings;
use aiprism_core::Role;
use aiprism_redis::testing::TestRedis;
use aiprism_store::{Backend, SessionStore};
use aiprism_testkit::app::TestApp;
use aiprism_testkit::browser::{cookie, no_redirect_client as client};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::ratelimit::assert_rate_limited;

aiprism_testkit::on_each_backend!(
    a_session_started_on_one_server_works_on_the_other_until_signed_out_there,
    two_servers_on_one_redis_give_a_user_one_api_budget,
);

const PASSWORD: &str = "a long passphrase";

/// Accounts mode on this Redis prefix, 3 requests at once then one a second per user.
fn on_redis(redis: &TestRedis) -> impl Fn(&mut Settings) + '_ {
    move |s: &mut Settings| {
        s.auth.mode = aiprism_app::settings::AuthMode::Accounts;
        s.redis.url = Some(redis.config.url.expose_secret().to_string().into());
        s.redis.key_prefix = redis.config.prefix.clone();
        s.api_limits.per_minute = 60;
        s.api_limits.burst = 3;
    }
}

async fn a_session_started_on_one_server_works_on_the_other_until_signed_out_there(backend: Backend) {
    let Some(redis) = TestRedis::new().await else {
        return;
    };
    let one = TestApp::spawn_with(backend, on_redis(&redis)).await;
    let two = one.spawn_beside(on_redis(&redis)).await;
    one.add_user("alice", Role::Reviewer, PASSWORD).await;
    let csrf = "ab".repeat(32);
    let signed_in = client()
        .post(one.url("/login"))
        .header("cookie", format!("aiprism_csrf={csrf}"))
        .form(&[("csrf", csrf.as_str()), ("name", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(signed_in.status().is_redirection(), "{}", signed_in.status());
    let session = cookie(&signed_in, "aiprism_session").expect("a session cookie");
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(session.as_bytes()));
    assert!(
        one.app.store.session(&hash).await.unwrap().is_none(),
        "the session is not in the database"
    );
    let in_redis = aiprism_redis::RedisSessionStore::new(redis.redis.clone());
    assert!(
        in_redis.session(&hash).await.unwrap().is_some(),
        "the session is in Redis"
    );
    let list_on = |app: &TestApp| {
        client()
            .get(app.url("/api/v1/documents"))
            .header("cookie", format!("aiprism_session={session}"))
            .send()
    };
    assert_eq!(
        list_on(&two).await.unwrap().status(),
        StatusCode::OK,
        "the other server knows it"
    );
    let out = client()
        .post(two.url("/logout"))
        .header(
            "cookie",
            format!("aiprism_csrf={csrf}; aiprism_session={session}"),
        )
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(out.status().is_redirection());
    assert_eq!(
        list_on(&one).await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "signed out on one server, signed out on all"
    );
    let (status, ready) = one.get_json("/ready").await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    let check: &Value = &ready["checks"]["redis"];
    assert_eq!(check["ok"], true, "{ready}");
    assert!(check["detail"].as_str().unwrap().starts_with("Redis "), "{ready}");
}

async fn two_servers_on_one_redis_give_a_user_one_api_budget(backend: Backend) {
    let Some(redis) = TestRedis::new().await else {
        return;
    };
    let one = TestApp::spawn_with(backend, on_redis(&redis)).await;
    let two = one.spawn_beside(on_redis(&redis)).await;
    let (_, alice) = one.add_user("alice", Role::Reviewer, PASSWORD).await;
    let (_, bob) = one.add_user("bob", Role::Reviewer, PASSWORD).await;
    let list = |app: &TestApp, token: &str| {
        app.client
            .get(app.url("/api/v1/documents"))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(list(&one, &alice).await.unwrap().status(), StatusCode::OK);
    assert_eq!(list(&two, &alice).await.unwrap().status(), StatusCode::OK);
    assert_eq!(list(&one, &alice).await.unwrap().status(), StatusCode::OK);
    assert_rate_limited(list(&two, &alice).await.unwrap()).await;
    assert_rate_limited(list(&one, &alice).await.unwrap()).await;
    assert_eq!(
        list(&two, &bob).await.unwrap().status(),
        StatusCode::OK,
        "bob's budget is his own"
    );
    for _ in 0..10 {
        let health = two.client.get(two.url("/health")).send().await.unwrap();
        assert_eq!(health.status(), StatusCode::OK);
    }
}
