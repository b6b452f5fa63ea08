//! State that every aiprism process must agree on once there are several of them behind a load
//! balancer, kept in Redis (`REDIS_URL`):
//!
//! - [`RedisSessionStore`]: browser sessions, so a request may land on any process;
//! - [`RedisLimitState`]: the model router's request/token budgets and cooldowns, so two workers do not
//!   each spend a provider's whole quota;
//! - [`RedisApiLimiter`]: per-user API rate limits, one budget per user rather than one per process.
//!
//! Everything that must be atomic across processes runs as a Lua script on the server, on the
//! server's clock (`TIME`), so processes with skewed clocks still agree. Every key starts with a
//! configurable prefix (`REDIS_KEY_PREFIX`), so installations (and tests) can share one server.
//!
//! When Redis does not answer within the configured timeout: sessions fail with
//! [`StoreError::Unavailable`](aiprism_store::StoreError) (HTTP 503: nobody can be signed in against a
//! store that cannot be read), while the model limits and the API rate limits fall back to in-process
//! state with a warning (each process keeps its own budget until Redis is back, rather than stalling
//! reviews or refusing every request). After a failure, calls skip Redis for a second instead of each
//! waiting out the timeout.
//!
//! Only a standalone Redis (or a primary endpoint such as ElastiCache's) is supported, not Redis
//! Cluster: some scripts touch keys they derive from others.

mod api;
mod connection;
mod degraded;
mod limits;
mod sessions;
mod shared;
pub mod testing;

pub use api::RedisApiLimiter;
pub use connection::{Redis, RedisConfig, ServerInfo};
pub use limits::RedisLimitState;
pub use sessions::RedisSessionStore;
pub use shared::{RedisService, SharedRedis, connect_shared};

/// Why a Redis call failed.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// The URL or options do not describe a usable server.
    #[error("invalid Redis configuration: {0}")]
    Config(String),
    /// The server cannot be reached, refused the call, or timed out: retry later.
    #[error("Redis is unavailable: {0}")]
    Unavailable(String),
    /// The server answered something this code does not understand (a bug or a foreign key).
    #[error("unexpected answer from Redis: {0}")]
    Protocol(String),
}

impl From<RedisError> for aiprism_store::StoreError {
    fn from(e: RedisError) -> Self {
        match e {
            RedisError::Config(m) => aiprism_store::StoreError::Config(m),
            RedisError::Unavailable(m) => aiprism_store::StoreError::Unavailable(format!("Redis: {m}")),
            RedisError::Protocol(m) => aiprism_store::StoreError::Corrupt(format!("Redis: {m}")),
        }
    }
}
