//! When Redis stops answering: no call hangs past the timeout, sessions answer "unavailable" (503),
//! and model limits and API limits go on in-process.

use std::time::{Duration, Instant};

use aiprism_app::ratelimit::{ApiRate, ApiRateLimiter};
use aiprism_core::UserId;
use aiprism_llm::{CooldownPolicy, LimitState, RateLimits};
use aiprism_redis::testing::{TestRedis, test_url};
use aiprism_redis::{Redis, RedisApiLimiter, RedisConfig, RedisLimitState, RedisSessionStore};
use aiprism_store::{SessionRecord, SessionStore, StoreError};
use chrono::Utc;
use secrecy::SecretString;

use crate::proxy::{Proxy, through};

const TIMEOUT: Duration = Duration::from_millis(200);

/// A connection through a proxy (under the test's own prefix) that the test can silence.
async fn behind_proxy(redis: &TestRedis) -> (Proxy, Redis) {
    let url = test_url().unwrap();
    let (upstream, _) = through(&url, "127.0.0.1:1".parse().unwrap());
    let proxy = Proxy::start(upstream).await;
    let (_, proxied) = through(&url, proxy.address);
    let config = RedisConfig {
        url: SecretString::from(proxied),
        prefix: redis.config.prefix.clone(),
        timeout: TIMEOUT,
    };
    let connection = Redis::connect(&config).await.unwrap();
    (proxy, connection)
}

/// Runs `f` and asserts it returned within a bound well below "hanging".
async fn promptly<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    let started = Instant::now();
    let out = f.await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "{what} took {took:?}");
    out
}

#[tokio::test]
async fn limits_fall_back_to_the_process_and_nothing_hangs() {
    let Some(redis) = TestRedis::new().await else {
        return;
    };
    let (proxy, connection) = behind_proxy(&redis).await;
    let state = RedisLimitState::new(connection);
    state.configure(
        "a",
        RateLimits {
            requests_per_minute: 1,
            tokens_per_minute: 0,
            burst: Duration::from_secs(60),
        },
    );
    assert!(state.try_acquire(&["a"], 0).await.is_ok(), "through Redis");
    proxy.go_silent();
    // The first call waits out the timeout, then the in-process budget (a fresh one of its own) answers:
    // one request, then a wait.
    let started = Instant::now();
    assert!(state.try_acquire(&["a"], 0).await.is_ok());
    let took = started.elapsed();
    assert!(
        took >= TIMEOUT / 2 && took < Duration::from_secs(2),
        "gave up after {took:?}"
    );
    assert!(promptly("acquire", state.try_acquire(&["a"], 0)).await.is_err());
    let rest = promptly(
        "cool_down",
        state.cool_down("a", Some(Duration::from_secs(5)), &CooldownPolicy::default()),
    )
    .await;
    assert_eq!(rest, Duration::from_secs(5));
    assert!(
        promptly("cooldown_remaining", state.cooldown_remaining("a"))
            .await
            .is_some()
    );
    promptly("clear_cooldowns", state.clear_cooldowns()).await;
    assert_eq!(
        promptly("cooldown_remaining", state.cooldown_remaining("a")).await,
        None
    );
    // After the pause that follows a failure Redis is tried again; the call gives up within the timeout.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        promptly("acquire", state.try_acquire(&["a"], 0)).await.is_err(),
        "still the in-process budget"
    );
}

#[tokio::test]
async fn sessions_answer_unavailable_and_api_limits_go_on_per_process() {
    let Some(redis) = TestRedis::new().await else {
        return;
    };
    let (proxy, connection) = behind_proxy(&redis).await;
    let sessions = RedisSessionStore::new(connection.clone());
    let limiter = RedisApiLimiter::new(
        connection,
        ApiRate {
            per_minute: 60,
            burst: 1,
        },
    );
    assert_eq!(limiter.check("user:a").await, Ok(()));
    proxy.go_silent();
    let now = Utc::now();
    let record = SessionRecord {
        id_hash: "x".into(),
        user_id: UserId::new("usr_a"),
        created_at: now,
        last_seen_at: now,
        expires_at: now + chrono::Duration::hours(1),
    };
    let inserted = promptly("insert_session", sessions.insert_session(&record)).await;
    assert!(
        matches!(inserted, Err(StoreError::Unavailable(_))),
        "{inserted:?}"
    );
    let read = promptly("session", sessions.session("x")).await;
    assert!(matches!(read, Err(StoreError::Unavailable(_))), "{read:?}");
    assert_eq!(
        promptly("check", limiter.check("user:a")).await,
        Ok(()),
        "a fresh in-process budget"
    );
    assert!(promptly("check", limiter.check("user:a")).await.is_err());
}
