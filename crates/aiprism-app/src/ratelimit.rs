//! Per-user API rate limiting: the [`ApiRateLimiter`] trait the HTTP layer asks before serving an API
//! request, and [`InProcessApiLimiter`], which keeps the budgets in this process. A shared backend
//! (Redis, in `aiprism-redis`) implements the same trait with the same arithmetic, so several processes
//! behind a load balancer give a user one budget rather than one each.
//!
//! The arithmetic is GCRA (the generic cell rate algorithm): a key's state is one instant, its
//! theoretical arrival time (TAT). A request at `now` moves the TAT to `max(TAT, now) + interval`, and
//! is admitted when that lies no further than `burst × interval` ahead of `now`; otherwise it waits
//! until it would. It allows `burst` requests at once and `per_minute` sustained, with one number of
//! state per key.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::settings::ApiLimitSettings;

/// A rate: `per_minute` requests sustained, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiRate {
    /// Requests per minute, sustained (at least 1).
    pub per_minute: u32,
    /// Requests admitted at once after a quiet spell (at least 1).
    pub burst: u32,
}

impl ApiRate {
    /// The rate the settings ask for; `None` when rate limiting is off (`per_minute` 0).
    pub fn from_settings(settings: &ApiLimitSettings) -> Option<Self> {
        (settings.per_minute > 0).then(|| Self {
            per_minute: settings.per_minute,
            burst: settings.burst.max(1),
        })
    }

    /// Time between two requests at the sustained rate.
    pub fn interval(&self) -> Duration {
        Duration::from_secs(60) / self.per_minute.max(1)
    }

    /// How far ahead of now a key's TAT may run: `burst` intervals.
    pub fn tolerance(&self) -> Duration {
        self.interval().saturating_mul(self.burst.max(1))
    }

    /// One GCRA step: the key's new TAT when a request at `now` is admitted, or how long it must wait.
    pub fn admit(&self, tat: Option<Instant>, now: Instant) -> Result<Instant, Duration> {
        let start = tat.map_or(now, |t| t.max(now));
        let next = start + self.interval();
        let ahead = next.saturating_duration_since(now);
        let tolerance = self.tolerance();
        if ahead <= tolerance {
            Ok(next)
        } else {
            Err(ahead - tolerance)
        }
    }
}

/// Decides whether a caller (a user, or an address for anonymous requests) may make another API
/// request now. Implementations must be cheap: it runs on every API request.
#[async_trait]
pub trait ApiRateLimiter: Send + Sync {
    /// Counts a request for `key`: `Ok` when it is within the budget, otherwise how long until it
    /// would be (for `Retry-After`).
    async fn check(&self, key: &str) -> Result<(), Duration>;
}

/// Budgets kept in this process: right for one process, one budget per process when scaled out.
#[derive(Debug)]
pub struct InProcessApiLimiter {
    rate: ApiRate,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    tats: HashMap<String, Instant>,
    prune_at: usize,
}

/// The map is swept of idle keys when it reaches this size (and then at twice what remained).
const FIRST_PRUNE: usize = 1024;

impl InProcessApiLimiter {
    /// A limiter at this rate.
    pub fn new(rate: ApiRate) -> Self {
        Self {
            rate,
            state: Mutex::new(State {
                tats: HashMap::new(),
                prune_at: FIRST_PRUNE,
            }),
        }
    }

    /// The rate in force.
    pub fn rate(&self) -> ApiRate {
        self.rate
    }

    /// Counts a request for `key` at `now` (the clock is a parameter so tests need not sleep).
    pub fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        // A poisoned lock only means another caller panicked mid-update; the instants are still usable.
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let next = self.rate.admit(state.tats.get(key).copied(), now)?;
        state.tats.insert(key.to_string(), next);
        if state.tats.len() >= state.prune_at {
            // A TAT in the past means the same as no entry: a full burst is available.
            state.tats.retain(|_, tat| *tat > now);
            state.prune_at = (state.tats.len() * 2).max(FIRST_PRUNE);
        }
        Ok(())
    }

    /// How many keys are remembered (for tests of the sweeping).
    pub fn tracked_keys(&self) -> usize {
        let state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        state.tats.len()
    }
}

#[async_trait]
impl ApiRateLimiter for InProcessApiLimiter {
    async fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_minute: u32, burst: u32) -> InProcessApiLimiter {
        InProcessApiLimiter::new(ApiRate { per_minute, burst })
    }

    #[test]
    fn a_burst_is_admitted_then_one_request_per_interval() {
        let limiter = limiter(60, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check_at("u", t0), Ok(()));
        }
        let wait = limiter.check_at("u", t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(1), "one request a second");
        assert!(limiter.check_at("u", t0 + Duration::from_millis(999)).is_err());
        assert_eq!(limiter.check_at("u", t0 + Duration::from_secs(1)), Ok(()));
        assert!(limiter.check_at("u", t0 + Duration::from_secs(1)).is_err());
    }

    #[test]
    fn a_refused_request_does_not_use_the_budget() {
        let limiter = limiter(60, 1);
        let t0 = Instant::now();
        assert_eq!(limiter.check_at("u", t0), Ok(()));
        for _ in 0..10 {
            assert!(limiter.check_at("u", t0).is_err());
        }
        assert_eq!(limiter.check_at("u", t0 + Duration::from_secs(1)), Ok(()));
    }

    #[test]
    fn keys_have_budgets_of_their_own() {
        let limiter = limiter(60, 1);
        let t0 = Instant::now();
        assert_eq!(limiter.check_at("alice", t0), Ok(()));
        assert!(limiter.check_at("alice", t0).is_err());
        assert_eq!(limiter.check_at("bob", t0), Ok(()));
    }

    #[test]
    fn a_quiet_spell_restores_the_whole_burst_but_no_more() {
        let limiter = limiter(600, 5);
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(limiter.check_at("u", t0), Ok(()));
        for _ in 0..5 {
            assert_eq!(limiter.check_at("u", later), Ok(()));
        }
        assert!(limiter.check_at("u", later).is_err());
    }

    #[test]
    fn idle_keys_are_swept() {
        let limiter = limiter(6000, 1);
        let t0 = Instant::now();
        for i in 0..FIRST_PRUNE - 1 {
            assert_eq!(limiter.check_at(&format!("k{i}"), t0), Ok(()));
        }
        assert_eq!(limiter.tracked_keys(), FIRST_PRUNE - 1);
        // A minute later every earlier key is idle; the next insert sweeps them.
        assert_eq!(limiter.check_at("new", t0 + Duration::from_secs(60)), Ok(()));
        assert_eq!(limiter.tracked_keys(), 1);
    }

    #[test]
    fn zero_per_minute_turns_limiting_off() {
        let off = ApiLimitSettings {
            per_minute: 0,
            burst: 10,
        };
        assert_eq!(ApiRate::from_settings(&off), None);
        let on = ApiLimitSettings {
            per_minute: 600,
            burst: 0,
        };
        assert_eq!(
            ApiRate::from_settings(&on),
            Some(ApiRate {
                per_minute: 600,
                burst: 1
            })
        );
    }
}
