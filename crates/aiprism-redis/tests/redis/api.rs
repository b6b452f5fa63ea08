//! `RedisApiLimiter`: one budget per caller across processes, and the service's probe.

use std::time::Duration;

use aiprism_app::SharedService;
use aiprism_app::ratelimit::{ApiRate, ApiRateLimiter};
use aiprism_redis::testing::TestRedis;
use aiprism_redis::{RedisApiLimiter, RedisService};

#[tokio::test]
async fn two_processes_share_a_callers_budget_and_callers_do_not_share_theirs() {
    let Some(redis) = TestRedis::new().await else {
        return;
    };
    let rate = ApiRate {
        per_minute: 60,
        burst: 3,
    };
    let one = RedisApiLimiter::new(redis.redis.clone(), rate);
    let two = RedisApiLimiter::new(redis.another_connection().await, rate);
    assert_eq!(one.check("user:alice").await, Ok(()));
    assert_eq!(two.check("user:alice").await, Ok(()));
    assert_eq!(one.check("user:alice").await, Ok(()));
    let wait = two.check("user:alice").await.unwrap_err();
    assert!(
        wait > Duration::from_millis(900) && wait <= Duration::from_secs(1),
        "{wait:?}"
    );
    assert!(
        one.check("user:alice").await.is_err(),
        "refusals cost nothing, but the budget is spent"
    );
    assert_eq!(one.check("user:bob").await, Ok(()), "bob has a budget of his own");
    tokio::time::sleep(wait).await;
    assert_eq!(
        two.check("user:alice").await,
        Ok(()),
        "the budget refills for everyone"
    );
}

#[tokio::test]
async fn the_probe_names_redis_and_its_version() {
    let Some(redis) = TestRedis::new().await else {
        return;
    };
    let service = RedisService::new(redis.redis.clone());
    assert_eq!(service.name(), "redis");
    let answer = service.ping().await.unwrap();
    assert!(
        answer.starts_with("Redis ") && answer.ends_with(" answers"),
        "{answer}"
    );
    assert!(!redis.redis.ping().await.unwrap().version.is_empty());
}
