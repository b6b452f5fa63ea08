//! [`RedisLimitState`]: the model router's rate budgets and cooldowns in Redis, so every process draws
//! on one budget per endpoint and a throttle seen by one process rests the endpoint for all.
//!
//! The arithmetic is the in-process state's ([`InProcessLimitState`]), run as Lua scripts on the
//! server's clock: continuously refilled token buckets, a multi-key all-or-nothing acquire, settlement
//! of reservations, and cooldowns that escalate on repeats and honour `Retry-After` within bounds.
//! Limits are configured per process ([`LimitState::configure`] is synchronous) and sent with every
//! call, so the buckets themselves are the only shared state.
//!
//! When Redis fails or times out, the call is answered by an in-process state configured the same way
//! (logged as a warning at most every 30 s): each process then keeps its own budget until Redis is
//! back, which bounds the overrun to the number of processes instead of stalling every review.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use aiprism_llm::router::GLOBAL_KEY;
use aiprism_llm::{CooldownPolicy, InProcessLimitState, LimitState, RateLimits, Settlement};
use async_trait::async_trait;
use redis::Script;

use crate::Redis;
use crate::degraded::Degraded;

struct Scripts {
    acquire: Script,
    settle: Script,
    cool_down: Script,
    remaining: Script,
    clear: Script,
}

impl Scripts {
    fn new() -> Self {
        Self {
            acquire: Script::new(concat!(
                include_str!("lua/limits_buckets.lua"),
                include_str!("lua/limits_acquire.lua")
            )),
            settle: Script::new(concat!(
                include_str!("lua/limits_buckets.lua"),
                include_str!("lua/limits_settle.lua")
            )),
            cool_down: Script::new(include_str!("lua/limits_cool_down.lua")),
            remaining: Script::new(include_str!("lua/limits_cooldown_remaining.lua")),
            clear: Script::new(include_str!("lua/limits_clear.lua")),
        }
    }
}

/// One key's buckets as the scripts take them: rates per microsecond and capacities (0: no bucket).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Buckets {
    request_rate: f64,
    request_capacity: f64,
    token_rate: f64,
    token_capacity: f64,
}

impl Buckets {
    /// The same sizes as the in-process buckets: `burst` worth of the minute budget, at least one
    /// request and at most the minute's.
    fn of(limits: RateLimits) -> Self {
        let bucket = |per_minute: f64| {
            if per_minute <= 0.0 {
                return (0.0, 0.0);
            }
            let per_second = per_minute / 60.0;
            let capacity = (per_second * limits.burst.as_secs_f64()).clamp(1.0, per_minute.max(1.0));
            (per_second / 1_000_000.0, capacity)
        };
        let (request_rate, request_capacity) = bucket(f64::from(limits.requests_per_minute));
        let (token_rate, token_capacity) = bucket(limits.tokens_per_minute as f64);
        Self {
            request_rate,
            request_capacity,
            token_rate,
            token_capacity,
        }
    }
}

/// Rate budgets and cooldowns shared through Redis.
pub struct RedisLimitState {
    redis: Redis,
    scripts: Scripts,
    limits: Mutex<HashMap<String, Buckets>>,
    fallback: InProcessLimitState,
    degraded: Degraded,
}

impl std::fmt::Debug for RedisLimitState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLimitState")
            .field("redis", &self.redis)
            .finish_non_exhaustive()
    }
}

impl RedisLimitState {
    /// Limit state on this connection, under its prefix.
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            scripts: Scripts::new(),
            limits: Mutex::new(HashMap::new()),
            fallback: InProcessLimitState::new(),
            degraded: Degraded::new("model limits are kept per process until it answers again"),
        }
    }

    /// The hash holding a limit key's buckets and cooldown.
    fn hash(&self, key: &str) -> String {
        if key == GLOBAL_KEY {
            self.redis.key("limit:global")
        } else {
            self.redis.key(&format!("limit:endpoint:{key}"))
        }
    }

    fn cooling_index(&self) -> String {
        self.redis.key("limit:cooling")
    }

    /// Keys and per-key bucket arguments for the acquire and settle scripts.
    fn keyed(&self, invocation: &mut redis::ScriptInvocation<'_>, keys: &[&str]) {
        let limits = self.limits.lock().unwrap_or_else(PoisonError::into_inner);
        let mut buckets = Vec::with_capacity(keys.len());
        for key in keys {
            invocation.key(self.hash(key));
            buckets.push(limits.get(*key).copied().unwrap_or_default());
        }
        for b in buckets {
            invocation
                .arg(b.request_rate)
                .arg(b.request_capacity)
                .arg(b.token_rate)
                .arg(b.token_capacity);
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn from_micros(n: i64) -> Duration {
    Duration::from_micros(u64::try_from(n).unwrap_or(0))
}

#[async_trait]
impl LimitState for RedisLimitState {
    fn configure(&self, key: &str, limits: RateLimits) {
        self.fallback.configure(key, limits);
        let mut map = self.limits.lock().unwrap_or_else(PoisonError::into_inner);
        map.insert(key.to_string(), Buckets::of(limits));
    }

    async fn try_acquire(&self, keys: &[&str], tokens: u64) -> Result<(), Duration> {
        let mut invocation = self.scripts.acquire.prepare_invoke();
        invocation.arg(tokens);
        self.keyed(&mut invocation, keys);
        match self.redis.invoke::<i64>(&invocation).await {
            Ok(0) => Ok(()),
            Ok(wait) => Err(from_micros(wait)),
            Err(e) => {
                self.degraded.failed("try_acquire", &e);
                self.fallback.try_acquire(keys, tokens).await
            }
        }
    }

    async fn settle(&self, keys: &[&str], settlement: Settlement) {
        let mut invocation = self.scripts.settle.prepare_invoke();
        invocation
            .arg(settlement.reserved_tokens)
            .arg(settlement.used_tokens)
            .arg(if settlement.admitted { "1" } else { "0" });
        self.keyed(&mut invocation, keys);
        if let Err(e) = self.redis.invoke::<i64>(&invocation).await {
            self.degraded.failed("settle", &e);
            self.fallback.settle(keys, settlement).await;
        }
    }

    async fn forget_throttles(&self, key: &str) {
        let mut cmd = redis::cmd("HDEL");
        cmd.arg(self.hash(key)).arg("lt").arg("lv");
        if let Err(e) = self.redis.query::<i64>(&cmd).await {
            self.degraded.failed("forget_throttles", &e);
        }
        self.fallback.forget_throttles(key).await;
    }

    async fn cool_down(&self, key: &str, retry_after: Option<Duration>, policy: &CooldownPolicy) -> Duration {
        let mut invocation = self.scripts.cool_down.key(self.hash(key));
        invocation
            .key(self.cooling_index())
            .arg(retry_after.map_or(-1, |r| i64::try_from(micros(r)).unwrap_or(i64::MAX)))
            .arg(micros(policy.base))
            .arg(policy.factor)
            .arg(micros(policy.max))
            .arg(micros(policy.window))
            .arg(micros(policy.min))
            .arg(micros(policy.max_retry_after));
        // The local state rests too, so a Redis outage right after a throttle still keeps this process
        // off the endpoint.
        let local = self.fallback.cool_down(key, retry_after, policy).await;
        match self.redis.invoke::<i64>(&invocation).await {
            Ok(rest) => from_micros(rest),
            Err(e) => {
                self.degraded.failed("cool_down", &e);
                local
            }
        }
    }

    async fn cooldown_remaining(&self, key: &str) -> Option<Duration> {
        let invocation = self.scripts.remaining.key(self.hash(key));
        match self.redis.invoke::<i64>(&invocation).await {
            Ok(left) if left > 0 => Some(from_micros(left)),
            Ok(_) => None,
            Err(e) => {
                self.degraded.failed("cooldown_remaining", &e);
                self.fallback.cooldown_remaining(key).await
            }
        }
    }

    async fn clear_cooldowns(&self) {
        let invocation = self.scripts.clear.key(self.cooling_index());
        if let Err(e) = self.redis.invoke::<i64>(&invocation).await {
            self.degraded.failed("clear_cooldowns", &e);
        }
        self.fallback.clear_cooldowns().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_sized_like_the_in_process_ones() {
        let b = Buckets::of(RateLimits {
            requests_per_minute: 120,
            tokens_per_minute: 0,
            burst: Duration::from_secs(5),
        });
        assert!((b.request_capacity - 10.0).abs() < 1e-9);
        assert!((b.request_rate - 2.0 / 1_000_000.0).abs() < 1e-15);
        assert_eq!(b.token_rate, 0.0);
        let tiny = Buckets::of(RateLimits {
            requests_per_minute: 1,
            tokens_per_minute: 10,
            burst: Duration::from_secs(1),
        });
        assert!((tiny.request_capacity - 1.0).abs() < 1e-9, "at least one request");
        assert!((tiny.token_capacity - 1.0).abs() < 1e-9);
    }
}
