//! Rate budgets and cooldowns, behind a trait so several processes can later share them (a Redis-backed
//! implementation) while one process uses the in-memory one.
//!
//! Time is `tokio::time::Instant`, so the router runs unchanged under a paused test clock.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

/// The rate limits of one key (an endpoint's name, or the global key). Zero means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests per minute.
    pub requests_per_minute: u32,
    /// Input + output tokens per minute.
    pub tokens_per_minute: u64,
    /// How much of the per-minute budget may be spent at once: the buckets hold this many seconds' worth
    /// (at least one request). Providers enforce per-minute quotas over shorter intervals too (Anthropic
    /// documents it), so spending a whole minute's quota in one burst invites throttling.
    pub burst: Duration,
}

/// How long a throttled endpoint rests.
///
/// The provider's `Retry-After` wins when present; otherwise the rest starts at `base` and is multiplied
/// by `factor` for every further throttle within `window` of the previous one, up to `max`. Throttles
/// answered while the endpoint is already resting (requests that were in flight) extend nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CooldownPolicy {
    /// First rest without `Retry-After`.
    pub base: Duration,
    /// Multiplier for repeated throttles.
    pub factor: u32,
    /// Longest rest without `Retry-After`.
    pub max: Duration,
    /// Throttles closer together than this escalate.
    pub window: Duration,
    /// Shortest rest, even when `Retry-After` says 0 (keeps a misbehaving server from being hammered).
    pub min: Duration,
    /// Longest `Retry-After` honoured (a broken header must not park an endpoint for hours).
    pub max_retry_after: Duration,
}

impl Default for CooldownPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            factor: 3,
            max: Duration::from_secs(60),
            window: Duration::from_secs(60),
            min: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(300),
        }
    }
}

/// Shared rate and cooldown state, keyed by endpoint name (and [`GLOBAL_KEY`] for the global limits).
#[async_trait]
pub trait LimitState: Send + Sync {
    /// Declares the limits of a key. Called once per key when the router is built.
    fn configure(&self, key: &str, limits: RateLimits);

    /// Takes one request and `tokens` tokens from every key at once, or nothing. When it cannot, returns
    /// how long until it could.
    async fn try_acquire(&self, keys: &[&str], tokens: u64) -> Result<(), Duration>;

    /// Settles a reservation once the call is over: the token reservation is corrected with what the
    /// call really used (more or less than reserved; 0 when the provider reported nothing), and a request
    /// the provider refused outright (throttled) gives its request back, as it did not count against the
    /// provider's quota either.
    async fn settle(&self, keys: &[&str], settlement: Settlement);

    /// Forgets a key's throttle history after a success, so a stray throttle long after the last one
    /// does not escalate the next cooldown.
    async fn forget_throttles(&self, key: &str);

    /// Starts (or extends) a key's cooldown after a throttle; returns the rest now in force.
    async fn cool_down(&self, key: &str, retry_after: Option<Duration>, policy: &CooldownPolicy) -> Duration;

    /// Time left in a key's cooldown, if it is resting.
    async fn cooldown_remaining(&self, key: &str) -> Option<Duration>;

    /// Ends every cooldown (and forgets throttle history), for an operator's reset.
    async fn clear_cooldowns(&self);
}

/// How a reserved call ended, for [`LimitState::settle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settlement {
    /// Tokens reserved before the call.
    pub reserved_tokens: u64,
    /// Tokens the provider reported (input + cache writes + output).
    pub used_tokens: u64,
    /// Whether the provider admitted the request (false when it throttled it).
    pub admitted: bool,
}

/// The key of the global limits (`MAX_REQUESTS_PER_MINUTE`, `MAX_TOKENS_PER_MINUTE`).
pub const GLOBAL_KEY: &str = "\u{0}global";

/// A token bucket refilled continuously; `level` may go negative when a call used more than reserved.
#[derive(Debug, Clone)]
struct Bucket {
    capacity: f64,
    level: f64,
    per_second: f64,
    updated: Instant,
}

impl Bucket {
    fn new(per_minute: f64, burst: Duration, now: Instant) -> Self {
        let per_second = per_minute / 60.0;
        let capacity = (per_second * burst.as_secs_f64()).clamp(1.0, per_minute.max(1.0));
        Self {
            capacity,
            level: capacity,
            per_second,
            updated: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.level = (self.level + elapsed * self.per_second).min(self.capacity);
        self.updated = now;
    }

    /// Time until `amount` is available (zero when it is). An amount above capacity waits for a full
    /// bucket instead of forever.
    fn wait_for(&self, amount: f64) -> Duration {
        let amount = amount.min(self.capacity);
        if self.level >= amount {
            Duration::ZERO
        } else {
            // Round up to a millisecond so a waiter does not wake a hair too early and spin.
            Duration::from_secs_f64((amount - self.level) / self.per_second + 0.001)
        }
    }
}

#[derive(Debug, Default)]
struct KeyState {
    requests: Option<Bucket>,
    tokens: Option<Bucket>,
    cooling_until: Option<Instant>,
    last_throttle: Option<Instant>,
    level: u32,
}

/// The in-process implementation: one mutex over a map, no I/O, exact under a paused clock.
#[derive(Debug, Default)]
pub struct InProcessLimitState {
    keys: Mutex<HashMap<String, KeyState>>,
}

impl InProcessLimitState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut HashMap<String, KeyState>) -> R) -> R {
        // A poisoned lock only means another caller panicked mid-update; the numbers are still usable.
        let mut guard = self.keys.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }
}

#[async_trait]
impl LimitState for InProcessLimitState {
    fn configure(&self, key: &str, limits: RateLimits) {
        let now = Instant::now();
        self.with(|keys| {
            let state = keys.entry(key.to_string()).or_default();
            state.requests = (limits.requests_per_minute > 0)
                .then(|| Bucket::new(f64::from(limits.requests_per_minute), limits.burst, now));
            state.tokens = (limits.tokens_per_minute > 0)
                .then(|| Bucket::new(limits.tokens_per_minute as f64, limits.burst, now));
        });
    }

    async fn try_acquire(&self, keys: &[&str], tokens: u64) -> Result<(), Duration> {
        let now = Instant::now();
        self.with(|map| {
            let mut wait = Duration::ZERO;
            for key in keys {
                let Some(state) = map.get_mut(*key) else { continue };
                if let Some(bucket) = &mut state.requests {
                    bucket.refill(now);
                    wait = wait.max(bucket.wait_for(1.0));
                }
                if let Some(bucket) = &mut state.tokens {
                    bucket.refill(now);
                    wait = wait.max(bucket.wait_for(tokens as f64));
                }
            }
            if !wait.is_zero() {
                return Err(wait);
            }
            for key in keys {
                let Some(state) = map.get_mut(*key) else { continue };
                if let Some(bucket) = &mut state.requests {
                    bucket.level -= 1.0;
                }
                if let Some(bucket) = &mut state.tokens {
                    bucket.level -= (tokens as f64).min(bucket.capacity);
                }
            }
            Ok(())
        })
    }

    async fn settle(&self, keys: &[&str], settlement: Settlement) {
        let now = Instant::now();
        self.with(|map| {
            for key in keys {
                let Some(state) = map.get_mut(*key) else { continue };
                if let Some(bucket) = state.tokens.as_mut() {
                    bucket.refill(now);
                    let reserved = (settlement.reserved_tokens as f64).min(bucket.capacity);
                    bucket.level =
                        (bucket.level + reserved - settlement.used_tokens as f64).min(bucket.capacity);
                }
                if !settlement.admitted
                    && let Some(bucket) = state.requests.as_mut()
                {
                    bucket.refill(now);
                    bucket.level = (bucket.level + 1.0).min(bucket.capacity);
                }
            }
        });
    }

    async fn forget_throttles(&self, key: &str) {
        self.with(|map| {
            if let Some(state) = map.get_mut(key) {
                state.last_throttle = None;
                state.level = 0;
            }
        });
    }

    async fn cool_down(&self, key: &str, retry_after: Option<Duration>, policy: &CooldownPolicy) -> Duration {
        let now = Instant::now();
        self.with(|map| {
            let state = map.entry(key.to_string()).or_default();
            let asked = retry_after.map(|r| r.min(policy.max_retry_after).max(policy.min));
            if let Some(until) = state.cooling_until.filter(|until| *until > now) {
                // Same episode: requests that were already in flight. Only a longer Retry-After extends it.
                let until = match asked {
                    Some(asked) => until.max(now + asked),
                    None => until,
                };
                state.cooling_until = Some(until);
                return until - now;
            }
            let repeated = state
                .last_throttle
                .is_some_and(|last| now.saturating_duration_since(last) < policy.window);
            state.level = if repeated {
                state.level.saturating_add(1)
            } else {
                0
            };
            state.last_throttle = Some(now);
            let escalated = policy
                .base
                .saturating_mul(policy.factor.saturating_pow(state.level))
                .min(policy.max);
            let rest = asked.unwrap_or(escalated.max(policy.min));
            state.cooling_until = Some(now + rest);
            rest
        })
    }

    async fn cooldown_remaining(&self, key: &str) -> Option<Duration> {
        let now = Instant::now();
        self.with(|map| {
            map.get(key)
                .and_then(|s| s.cooling_until)
                .filter(|until| *until > now)
                .map(|until| until - now)
        })
    }

    async fn clear_cooldowns(&self) {
        self.with(|map| {
            for state in map.values_mut() {
                state.cooling_until = None;
                state.last_throttle = None;
                state.level = 0;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[tokio::test(start_paused = true)]
    async fn a_short_burst_spreads_the_minute_budget() {
        let state = InProcessLimitState::new();
        let limits = RateLimits {
            requests_per_minute: 120,
            tokens_per_minute: 0,
            burst: Duration::from_secs(5),
        };
        state.configure("a", limits);
        for _ in 0..10 {
            assert_eq!(state.try_acquire(&["a"], 0).await, Ok(()));
        }
        assert!(
            state.try_acquire(&["a"], 0).await.is_err(),
            "ten requests (5 s of 120/min) at once, no more"
        );
    }

    fn policy() -> CooldownPolicy {
        CooldownPolicy::default()
    }

    #[tokio::test(start_paused = true)]
    async fn request_budget_refills_over_the_minute() {
        let state = InProcessLimitState::new();
        state.configure(
            "a",
            RateLimits {
                requests_per_minute: 60,
                tokens_per_minute: 0,
                burst: MINUTE,
            },
        );
        for _ in 0..60 {
            assert_eq!(state.try_acquire(&["a"], 10).await, Ok(()));
        }
        let wait = state.try_acquire(&["a"], 10).await.err().unwrap_or_default();
        assert!(
            wait > Duration::from_millis(900) && wait <= Duration::from_millis(1100),
            "{wait:?}"
        );
        tokio::time::advance(wait).await;
        assert_eq!(state.try_acquire(&["a"], 10).await, Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn acquisition_is_all_or_nothing_across_keys() {
        let state = InProcessLimitState::new();
        state.configure(
            "a",
            RateLimits {
                requests_per_minute: 10,
                tokens_per_minute: 0,
                burst: MINUTE,
            },
        );
        state.configure(
            GLOBAL_KEY,
            RateLimits {
                requests_per_minute: 1,
                tokens_per_minute: 0,
                burst: MINUTE,
            },
        );
        assert_eq!(state.try_acquire(&["a", GLOBAL_KEY], 0).await, Ok(()));
        assert!(state.try_acquire(&["a", GLOBAL_KEY], 0).await.is_err());
        // "a" was not charged by the refused attempt: nine more fit once the global bucket refills.
        tokio::time::advance(Duration::from_secs(600)).await;
        for _ in 0..10 {
            assert_eq!(state.try_acquire(&["a"], 0).await, Ok(()));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn token_reservations_are_reconciled_with_actual_use() {
        let state = InProcessLimitState::new();
        state.configure(
            "a",
            RateLimits {
                requests_per_minute: 0,
                tokens_per_minute: 1000,
                burst: MINUTE,
            },
        );
        assert_eq!(state.try_acquire(&["a"], 800).await, Ok(()));
        assert!(state.try_acquire(&["a"], 800).await.is_err());
        state
            .settle(
                &["a"],
                Settlement {
                    reserved_tokens: 800,
                    used_tokens: 100,
                    admitted: true,
                },
            )
            .await;
        assert_eq!(state.try_acquire(&["a"], 800).await, Ok(()));
        state
            .settle(
                &["a"],
                Settlement {
                    reserved_tokens: 800,
                    used_tokens: 1500,
                    admitted: true,
                },
            )
            .await;
        let wait = state.try_acquire(&["a"], 100).await.err().unwrap_or_default();
        assert!(
            wait >= Duration::from_secs(30),
            "overuse is paid back before new work: {wait:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn cooldowns_escalate_on_repeats_and_cap() {
        let state = InProcessLimitState::new();
        let p = policy();
        let secs = Duration::from_secs;
        assert_eq!(state.cool_down("a", None, &p).await, secs(2));
        // A throttle from a request that was already in flight does not escalate.
        assert_eq!(state.cool_down("a", None, &p).await, secs(2));
        for (wait, expected) in [(3, 6), (7, 18), (19, 54), (55, 60)] {
            tokio::time::advance(secs(wait)).await;
            assert_eq!(state.cool_down("a", None, &p).await, secs(expected));
        }
        // The longest rest outlasts the window: the next throttle after it starts again from the base.
        tokio::time::advance(secs(61)).await;
        assert_eq!(state.cool_down("a", None, &p).await, secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_between_throttles_stops_the_escalation() {
        let state = InProcessLimitState::new();
        let p = policy();
        assert_eq!(state.cool_down("a", None, &p).await, Duration::from_secs(2));
        tokio::time::advance(Duration::from_secs(3)).await;
        state.forget_throttles("a").await;
        assert_eq!(state.cool_down("a", None, &p).await, Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttled_request_gives_its_request_back() {
        let state = InProcessLimitState::new();
        state.configure(
            "a",
            RateLimits {
                requests_per_minute: 1,
                tokens_per_minute: 0,
                burst: MINUTE,
            },
        );
        assert_eq!(state.try_acquire(&["a"], 0).await, Ok(()));
        state
            .settle(
                &["a"],
                Settlement {
                    reserved_tokens: 0,
                    used_tokens: 0,
                    admitted: false,
                },
            )
            .await;
        assert_eq!(state.try_acquire(&["a"], 0).await, Ok(()));
        assert!(state.try_acquire(&["a"], 0).await.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_wins_over_the_escalation() {
        let state = InProcessLimitState::new();
        let p = policy();
        assert_eq!(
            state.cool_down("a", Some(Duration::from_secs(3)), &p).await,
            Duration::from_secs(3)
        );
        assert_eq!(state.cooldown_remaining("a").await, Some(Duration::from_secs(3)));
        assert_eq!(
            state.cool_down("a", Some(Duration::from_secs(7)), &p).await,
            Duration::from_secs(7)
        );
        state.clear_cooldowns().await;
        assert_eq!(state.cooldown_remaining("a").await, None);
    }
}
