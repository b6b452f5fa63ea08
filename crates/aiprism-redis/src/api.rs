//! [`RedisApiLimiter`]: per-user API rate limits in Redis, so a user has one budget however many
//! processes serve them. The same GCRA step as [`InProcessApiLimiter`], run as a Lua script on the
//! server's clock; one key per caller (`api:{key}`) holding its theoretical arrival time, which
//! expires once it has passed.
//!
//! When Redis fails or times out, the request is counted by an in-process limiter at the same rate
//! (with a warning at most every 30 s): limiting goes on per process rather than refusing every
//! request or none.

use std::time::Duration;

use aiprism_app::ratelimit::{ApiRate, ApiRateLimiter, InProcessApiLimiter};
use async_trait::async_trait;
use redis::Script;

use crate::Redis;
use crate::degraded::Degraded;

/// API rate limits shared through Redis.
pub struct RedisApiLimiter {
    redis: Redis,
    rate: ApiRate,
    script: Script,
    fallback: InProcessApiLimiter,
    degraded: Degraded,
}

impl std::fmt::Debug for RedisApiLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisApiLimiter")
            .field("redis", &self.redis)
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

impl RedisApiLimiter {
    /// A limiter at this rate on this connection, under its prefix.
    pub fn new(redis: Redis, rate: ApiRate) -> Self {
        Self {
            redis,
            rate,
            script: Script::new(include_str!("lua/api_gcra.lua")),
            fallback: InProcessApiLimiter::new(rate),
            degraded: Degraded::new("API rate limits are kept per process until it answers again"),
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[async_trait]
impl ApiRateLimiter for RedisApiLimiter {
    async fn check(&self, key: &str) -> Result<(), Duration> {
        let mut invocation = self.script.key(self.redis.key(&format!("api:{key}")));
        invocation
            .arg(micros(self.rate.interval()))
            .arg(micros(self.rate.tolerance()));
        match self.redis.invoke::<i64>(&invocation).await {
            Ok(wait) if wait > 0 => Err(Duration::from_micros(wait.unsigned_abs())),
            Ok(_) => Ok(()),
            Err(error) => {
                self.degraded.failed("api rate limit", &error);
                self.fallback.check(key).await
            }
        }
    }
}
