//! The [`LimitState`] conformance scenarios, written against the trait only, so the in-process state and
//! any shared one (Redis, in `aiprism-redis`) are held to the same behaviour by the same code.
//!
//! Every scenario takes a fresh, empty state of its own and panics on a violation. They run on the real
//! clock (a shared state cannot follow tokio's paused one), so durations are short and every bound
//! leaves room for a loaded machine. [`limit_state_conformance!`](crate::limit_state_conformance)
//! generates one test per scenario. Compiled only with the `testing` feature.

use std::time::Duration;

use crate::router::{CooldownPolicy, GLOBAL_KEY, LimitState, RateLimits, Settlement};

const MINUTE: Duration = Duration::from_secs(60);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn limits(requests_per_minute: u32, tokens_per_minute: u64, burst: Duration) -> RateLimits {
    RateLimits {
        requests_per_minute,
        tokens_per_minute,
        burst,
    }
}

/// A policy with short rests so the scenarios run in real time: 200 ms, doubled per repeat up to 400 ms,
/// repeats within 1 s escalate, `Retry-After` clamped to 50 ms ..= 1 s.
pub fn short_policy() -> CooldownPolicy {
    CooldownPolicy {
        base: ms(200),
        factor: 2,
        max: ms(400),
        window: ms(1000),
        min: ms(50),
        max_retry_after: ms(1000),
    }
}

async fn admits(state: &dyn LimitState, keys: &[&str], tokens: u64) -> bool {
    state.try_acquire(keys, tokens).await.is_ok()
}

async fn wait_of(state: &dyn LimitState, keys: &[&str], tokens: u64) -> Duration {
    match state.try_acquire(keys, tokens).await {
        Ok(()) => panic!("expected {keys:?} to be out of budget for {tokens} tokens"),
        Err(wait) => wait,
    }
}

/// A burst of a few seconds' worth of the minute budget is admitted at once, and no more; the wait
/// returned is the time one request takes to refill.
pub async fn a_short_burst_spreads_the_minute_budget(state: &dyn LimitState) {
    state.configure("a", limits(120, 0, Duration::from_secs(5)));
    for i in 0..10 {
        assert!(admits(state, &["a"], 0).await, "request {i} of the burst");
    }
    let wait = wait_of(state, &["a"], 0).await;
    assert!(
        wait > ms(350) && wait <= ms(510),
        "one request refills in 0.5 s: {wait:?}"
    );
}

/// Once spent, the request budget refills with time: waiting the returned time is enough.
pub async fn the_request_budget_refills_with_time(state: &dyn LimitState) {
    state.configure("a", limits(600, 0, Duration::from_secs(1)));
    for _ in 0..10 {
        assert!(admits(state, &["a"], 0).await);
    }
    let wait = wait_of(state, &["a"], 0).await;
    assert!(wait <= ms(110), "10 per second refill one every 100 ms: {wait:?}");
    tokio::time::sleep(wait).await;
    assert!(
        admits(state, &["a"], 0).await,
        "admitted after the wait it was told"
    );
}

/// Several keys are charged all or nothing: a refusal by one charges none of the others.
pub async fn acquisition_is_all_or_nothing_across_keys(state: &dyn LimitState) {
    state.configure("a", limits(10, 0, MINUTE));
    state.configure(GLOBAL_KEY, limits(1, 0, MINUTE));
    assert!(admits(state, &["a", GLOBAL_KEY], 0).await);
    assert!(
        !admits(state, &["a", GLOBAL_KEY], 0).await,
        "the global budget is spent"
    );
    for i in 0..9 {
        assert!(
            admits(state, &["a"], 0).await,
            "request {i}: \"a\" was not charged by the refusal"
        );
    }
    assert!(!admits(state, &["a"], 0).await, "ten in all");
}

/// A key nobody configured has no limits.
pub async fn an_unconfigured_key_is_unlimited(state: &dyn LimitState) {
    for _ in 0..100 {
        assert!(admits(state, &["nobody"], 1_000_000).await);
    }
}

/// Token reservations are corrected with what calls really used: underuse is given back, overuse is
/// paid back before new work.
pub async fn token_reservations_are_reconciled_with_actual_use(state: &dyn LimitState) {
    state.configure("a", limits(0, 1000, MINUTE));
    assert!(admits(state, &["a"], 800).await);
    assert!(!admits(state, &["a"], 800).await);
    let settle = |used_tokens| Settlement {
        reserved_tokens: 800,
        used_tokens,
        admitted: true,
    };
    state.settle(&["a"], settle(100)).await;
    assert!(admits(state, &["a"], 800).await, "700 tokens came back");
    state.settle(&["a"], settle(1500)).await;
    let wait = wait_of(state, &["a"], 100).await;
    assert!(
        wait >= Duration::from_secs(30),
        "overuse is paid back first: {wait:?}"
    );
}

/// A reservation larger than the whole bucket waits for a full bucket instead of forever.
pub async fn a_reservation_above_capacity_waits_for_a_full_bucket(state: &dyn LimitState) {
    state.configure("a", limits(0, 600, MINUTE));
    assert!(admits(state, &["a"], 1000).await, "a full bucket admits it");
    let wait = wait_of(state, &["a"], 1000).await;
    assert!(
        wait > Duration::from_secs(55) && wait <= Duration::from_secs(61),
        "a minute to refill 600 tokens: {wait:?}"
    );
}

/// A request the provider throttled gives its request back, but never beyond the bucket's capacity.
pub async fn a_throttled_request_gives_its_request_back(state: &dyn LimitState) {
    state.configure("a", limits(2, 0, MINUTE));
    let refused = Settlement {
        reserved_tokens: 0,
        used_tokens: 0,
        admitted: false,
    };
    state.settle(&["a"], refused).await;
    assert!(admits(state, &["a"], 0).await);
    assert!(admits(state, &["a"], 0).await);
    assert!(!admits(state, &["a"], 0).await, "a full bucket does not overflow");
    state.settle(&["a"], refused).await;
    assert!(admits(state, &["a"], 0).await, "the throttled request came back");
    assert!(!admits(state, &["a"], 0).await);
}

/// Throttles close together escalate the rest up to the cap; throttles from requests already in flight
/// during a rest extend nothing; after the window the rest starts from the base again.
pub async fn cooldowns_escalate_on_repeats_and_cap(state: &dyn LimitState) {
    let p = short_policy();
    assert_eq!(state.cool_down("a", None, &p).await, ms(200));
    let in_flight = state.cool_down("a", None, &p).await;
    assert!(
        in_flight <= ms(200) && in_flight > ms(100),
        "same episode: {in_flight:?}"
    );
    tokio::time::sleep(ms(230)).await;
    assert_eq!(state.cool_down("a", None, &p).await, ms(400), "a repeat doubles");
    tokio::time::sleep(ms(430)).await;
    assert_eq!(state.cool_down("a", None, &p).await, ms(400), "capped");
    tokio::time::sleep(ms(1100)).await;
    assert_eq!(
        state.cool_down("a", None, &p).await,
        ms(200),
        "outside the window: the base again"
    );
}

/// A success between throttles ends the escalation.
pub async fn a_success_between_throttles_stops_the_escalation(state: &dyn LimitState) {
    let p = short_policy();
    assert_eq!(state.cool_down("a", None, &p).await, ms(200));
    tokio::time::sleep(ms(230)).await;
    state.forget_throttles("a").await;
    assert_eq!(state.cool_down("a", None, &p).await, ms(200));
}

/// `Retry-After` wins over the escalation, within the policy's bounds, and only a longer one extends a
/// rest in force; clearing ends every rest.
pub async fn retry_after_wins_within_bounds(state: &dyn LimitState) {
    let p = short_policy();
    assert_eq!(state.cool_down("a", Some(ms(300)), &p).await, ms(300));
    let left = state.cooldown_remaining("a").await.unwrap_or_default();
    assert!(left > ms(200) && left <= ms(300), "{left:?}");
    let shorter = state.cool_down("a", Some(ms(100)), &p).await;
    assert!(
        shorter > ms(200) && shorter <= ms(300),
        "a shorter one extends nothing: {shorter:?}"
    );
    let longer = state.cool_down("a", Some(Duration::from_secs(3600)), &p).await;
    assert!(
        longer > ms(900) && longer <= ms(1000),
        "clamped to 1 s: {longer:?}"
    );
    assert_eq!(
        state.cool_down("b", Some(Duration::ZERO), &p).await,
        ms(50),
        "at least the minimum"
    );
    state.clear_cooldowns().await;
    assert_eq!(state.cooldown_remaining("a").await, None);
    assert_eq!(state.cooldown_remaining("b").await, None);
    assert_eq!(
        state.cool_down("a", None, &p).await,
        ms(200),
        "clearing forgets the history too"
    );
}

/// A rest ends by itself, and it is the key's alone.
pub async fn a_cooldown_ends_by_itself_and_is_per_key(state: &dyn LimitState) {
    let p = short_policy();
    assert_eq!(state.cooldown_remaining("a").await, None);
    state.cool_down("a", Some(ms(100)), &p).await;
    assert!(state.cooldown_remaining("a").await.is_some());
    assert_eq!(
        state.cooldown_remaining("b").await,
        None,
        "another key is not resting"
    );
    tokio::time::sleep(ms(130)).await;
    assert_eq!(state.cooldown_remaining("a").await, None);
}

/// Generates one `#[tokio::test]` per scenario. `$make` is an `async fn() -> Option<S>` where `S`
/// derefs to a [`LimitState`]: a fresh, empty state per call, or `None` (after a note) when the backend
/// is not available here.
#[macro_export]
macro_rules! limit_state_conformance {
    ($make:path) => {
        $crate::limit_state_conformance!(@each $make;
            a_short_burst_spreads_the_minute_budget,
            the_request_budget_refills_with_time,
            acquisition_is_all_or_nothing_across_keys,
            an_unconfigured_key_is_unlimited,
            token_reservations_are_reconciled_with_actual_use,
            a_reservation_above_capacity_waits_for_a_full_bucket,
            a_throttled_request_gives_its_request_back,
            cooldowns_escalate_on_repeats_and_cap,
            a_success_between_throttles_stops_the_escalation,
            retry_after_wins_within_bounds,
            a_cooldown_ends_by_itself_and_is_per_key,
        );
    };
    (@each $make:path; $($scenario:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                if let Some(state) = $make().await {
                    $crate::testing::$scenario(&*state).await;
                }
            }
        )+
    };
}
