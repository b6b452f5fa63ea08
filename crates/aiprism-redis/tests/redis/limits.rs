//! `RedisLimitState`: the shared conformance scenarios, and two "processes" (separate connections on
//! one prefix) drawing on one budget.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use aiprism_llm::{CooldownPolicy, LimitState, RateLimits, Settlement};
use aiprism_redis::RedisLimitState;
use aiprism_redis::testing::TestRedis;

/// A limit state that keeps its test prefix alive (and cleaned up) as long as it is used.
pub struct Fixture {
    state: RedisLimitState,
    _redis: TestRedis,
}

impl Deref for Fixture {
    type Target = RedisLimitState;

    fn deref(&self) -> &RedisLimitState {
        &self.state
    }
}

async fn fresh() -> Option<Fixture> {
    let redis = TestRedis::new().await?;
    Some(Fixture {
        state: RedisLimitState::new(redis.redis.clone()),
        _redis: redis,
    })
}

mod conformance {
    use super::fresh;

    aiprism_llm::limit_state_conformance!(fresh);
}

const MINUTE: Duration = Duration::from_secs(60);

fn requests(per_minute: u32) -> RateLimits {
    RateLimits {
        requests_per_minute: per_minute,
        tokens_per_minute: 0,
        burst: MINUTE,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_never_admit_more_than_one_budget_between_them() {
    let Some(redis) = TestRedis::new().await else {
        return;
    };
    let one = Arc::new(RedisLimitState::new(redis.redis.clone()));
    let two = Arc::new(RedisLimitState::new(redis.another_connection().await));
    one.configure("a", requests(20));
    two.configure("a", requests(20));
    let mut tasks = Vec::new();
    for i in 0..120 {
        let state = if i % 2 == 0 { one.clone() } else { two.clone() };
        tasks.push(tokio::spawn(
            async move { state.try_acquire(&["a"], 0).await.is_ok() },
        ));
    }
    let mut admitted = 0;
    for task in tasks {
        admitted += u32::from(task.await.unwrap());
    }
    // 20 at once, and one more every 3 s: the test takes well under that.
    assert!(
        (20..=21).contains(&admitted),
        "admitted {admitted} of a budget of 20"
    );
    let three = RedisLimitState::new(redis.another_connection().await);
    three.configure("a", requests(20));
    assert!(
        three.try_acquire(&["a"], 0).await.is_err(),
        "a process that starts later finds the budget spent"
    );
    let refused = Settlement {
        reserved_tokens: 0,
        used_tokens: 0,
        admitted: false,
    };
    two.settle(&["a"], refused).await;
    assert!(
        one.try_acquire(&["a"], 0).await.is_ok(),
        "a request given back by one is there for the other"
    );
}

#[tokio::test]
async fn a_cooldown_started_by_one_process_rests_the_endpoint_for_the_other() {
    let Some(redis) = TestRedis::new().await else {
        return;
    };
    let one = RedisLimitState::new(redis.redis.clone());
    let two = RedisLimitState::new(redis.another_connection().await);
    let policy = CooldownPolicy::default();
    let rest = one.cool_down("a", Some(Duration::from_secs(30)), &policy).await;
    assert_eq!(rest, Duration::from_secs(30));
    let seen = two.cooldown_remaining("a").await.unwrap();
    assert!(
        seen > Duration::from_secs(29) && seen <= Duration::from_secs(30),
        "{seen:?}"
    );
    assert_eq!(two.cooldown_remaining("b").await, None);
    // A throttle answered to the other process's in-flight request does not escalate the episode.
    let again = two.cool_down("a", None, &policy).await;
    assert!(again <= Duration::from_secs(30), "{again:?}");
    two.clear_cooldowns().await;
    assert_eq!(
        one.cooldown_remaining("a").await,
        None,
        "clearing is seen by everyone"
    );
}

#[tokio::test]
async fn token_budgets_are_shared_and_reconciled_across_processes() {
    let Some(redis) = TestRedis::new().await else {
        return;
    };
    let one = RedisLimitState::new(redis.redis.clone());
    let two = RedisLimitState::new(redis.another_connection().await);
    let tokens = RateLimits {
        requests_per_minute: 0,
        tokens_per_minute: 1000,
        burst: MINUTE,
    };
    one.configure("a", tokens);
    two.configure("a", tokens);
    assert!(one.try_acquire(&["a"], 600).await.is_ok());
    assert!(two.try_acquire(&["a"], 600).await.is_err(), "400 left");
    one.settle(
        &["a"],
        Settlement {
            reserved_tokens: 600,
            used_tokens: 100,
            admitted: true,
        },
    )
    .await;
    assert!(
        two.try_acquire(&["a"], 600).await.is_ok(),
        "500 came back for everyone"
    );
}
