//! Wiring: from the settings to the shared parts an [`App`](aiprism_app::App) and its model router take,
//! so the binary and the test kit build them the same way.

use std::sync::Arc;

use aiprism_app::ratelimit::ApiRate;
use aiprism_app::{Settings, SharedParts, SharedService};
use aiprism_llm::LimitState;
use async_trait::async_trait;

use crate::{Redis, RedisApiLimiter, RedisConfig, RedisError, RedisLimitState, RedisSessionStore};

/// Redis as `/ready` and the monitoring probe see it.
#[derive(Debug, Clone)]
pub struct RedisService {
    redis: Redis,
}

impl RedisService {
    /// The service behind this connection.
    pub fn new(redis: Redis) -> Self {
        Self { redis }
    }
}

#[async_trait]
impl SharedService for RedisService {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn target(&self) -> String {
        self.redis.target().to_string()
    }

    async fn ping(&self) -> Result<String, String> {
        self.redis
            .ping()
            .await
            .map(|info| format!("Redis {} answers", info.version))
            .map_err(|e| e.to_string())
    }
}

/// Everything that is shared through Redis: the app's parts and the model router's limit state.
pub struct SharedRedis {
    /// Sessions, the API rate limiter (when limiting is on) and the service, for [`aiprism_app::AppParts`].
    pub parts: SharedParts,
    /// The model router's budgets and cooldowns.
    pub limit_state: Arc<dyn LimitState>,
    /// The connection itself.
    pub redis: Redis,
}

/// Connects to Redis when `REDIS_URL` is set (`None` otherwise) and builds every shared part on one
/// connection. Fails when Redis is configured but does not answer: a process that silently kept its
/// sessions elsewhere would sign people out at random behind a load balancer.
pub async fn connect_shared(settings: &Settings) -> Result<Option<SharedRedis>, RedisError> {
    let Some(config) = RedisConfig::from_settings(&settings.redis) else {
        return Ok(None);
    };
    let redis = Redis::connect(&config).await?;
    redis.ping().await?;
    let api_limiter = ApiRate::from_settings(&settings.api_limits).map(|rate| {
        let limiter: Arc<dyn aiprism_app::ratelimit::ApiRateLimiter> =
            Arc::new(RedisApiLimiter::new(redis.clone(), rate));
        limiter
    });
    let parts = SharedParts {
        sessions: Some(Arc::new(RedisSessionStore::new(redis.clone()))),
        api_limiter,
        service: Some(Arc::new(RedisService::new(redis.clone()))),
    };
    Ok(Some(SharedRedis {
        parts,
        limit_state: Arc::new(RedisLimitState::new(redis.clone())),
        redis,
    }))
}
