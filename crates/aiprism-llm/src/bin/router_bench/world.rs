//! The simulated world: model endpoints that enforce a requests-per-minute quota and throttle at random,
//! answering after a model-like latency. Everything is seeded, and time is tokio's paused clock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aiprism_llm::{
    ModelRequest, ModelResponse, Provider, ProviderError, ProviderKind, ResponseStream, StopReason,
    TokenUsage,
};
use async_trait::async_trait;
use tokio::time::Instant;

/// SplitMix64: small, seedable, good enough for a simulation.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [low, high).
    pub fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }
}

/// The knobs of the world, printed with the results.
#[derive(Debug, Clone)]
pub struct WorldSettings {
    /// Endpoints in the chain.
    pub endpoints: usize,
    /// Each endpoint's quota, requests per minute.
    pub requests_per_minute: u32,
    /// The provider enforces the quota as a token bucket holding this many seconds of it.
    pub provider_burst_secs: f64,
    /// Mean time between "noisy neighbour" episodes of one endpoint (everything throttled meanwhile).
    pub episode_every_secs: f64,
    /// Shortest and longest episode.
    pub episode_secs: (f64, f64),
    /// Chance that any single request is throttled regardless of quota.
    pub stray_throttle: f64,
    /// Model latency range of one section review.
    pub latency_secs: (f64, f64),
    /// Seed of everything.
    pub seed: u64,
}

impl Default for WorldSettings {
    fn default() -> Self {
        Self {
            endpoints: 7,
            requests_per_minute: 200,
            provider_burst_secs: 10.0,
            episode_every_secs: 60.0,
            episode_secs: (2.0, 12.0),
            stray_throttle: 0.01,
            latency_secs: (3.0, 12.0),
            seed: 42,
        }
    }
}

struct Quota {
    level: f64,
    updated: Instant,
    rng: Rng,
    admitted: u64,
    throttled: u64,
    /// Quota that expired unused (the bucket was full) while reviews were waiting and the endpoint was
    /// not in a throttle episode: capacity a perfect client would have used.
    wasted: f64,
}

/// Reviews that have arrived and are not yet admitted by any endpoint (or given up).
#[derive(Debug, Default)]
pub struct Backlog(AtomicI64);

impl Backlog {
    /// A review arrived.
    pub fn arrive(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    /// A review was admitted or given up.
    pub fn leave(&self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }

    fn waiting(&self) -> bool {
        self.0.load(Ordering::SeqCst) > 0
    }
}

/// One simulated model endpoint.
pub struct SimEndpoint {
    model: String,
    start: Instant,
    per_second: f64,
    capacity: f64,
    /// Throttle episodes as offsets from the start.
    episodes: Vec<(f64, f64)>,
    stray_throttle: f64,
    latency_secs: (f64, f64),
    backlog: Arc<Backlog>,
    quota: Mutex<Quota>,
}

impl SimEndpoint {
    /// Endpoint `index` of a world; its episodes are drawn from the world's seed.
    pub fn new(
        world: &WorldSettings,
        index: usize,
        start: Instant,
        horizon_secs: f64,
        backlog: Arc<Backlog>,
    ) -> Self {
        let mut rng = Rng::new(world.seed.wrapping_mul(1_000_003).wrapping_add(index as u64));
        let mut episodes = Vec::new();
        let mut t = rng.between(0.0, world.episode_every_secs);
        while t < horizon_secs {
            let length = rng.between(world.episode_secs.0, world.episode_secs.1);
            episodes.push((t, t + length));
            // Exponential gaps: a memoryless neighbour.
            t += length - world.episode_every_secs * (1.0 - rng.unit()).ln();
        }
        let per_second = f64::from(world.requests_per_minute) / 60.0;
        let capacity = (per_second * world.provider_burst_secs).max(1.0);
        Self {
            model: format!("sim-model-{}", index + 1),
            start,
            per_second,
            capacity,
            episodes,
            stray_throttle: world.stray_throttle,
            latency_secs: world.latency_secs,
            backlog,
            quota: Mutex::new(Quota {
                level: capacity,
                updated: start,
                rng,
                admitted: 0,
                throttled: 0,
                wasted: 0.0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Quota> {
        self.quota.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Requests admitted and throttled so far, and quota wasted while reviews waited.
    pub fn counts(&self) -> (u64, u64, f64) {
        let quota = self.lock();
        (quota.admitted, quota.throttled, quota.wasted)
    }

    /// Refills the bucket up to now, booking what overflows as waste when reviews are waiting. Called on
    /// every request and by a fine-grained ticker, so the booking follows the backlog closely.
    pub fn tick(&self, now: Instant) {
        let mut quota = self.lock();
        self.refill(&mut quota, now);
    }

    fn refill(&self, quota: &mut Quota, now: Instant) {
        let elapsed = now.duration_since(quota.updated).as_secs_f64();
        let level = quota.level + elapsed * self.per_second;
        if level > self.capacity && self.backlog.waiting() && !self.in_episode(now) {
            quota.wasted += level - self.capacity;
        }
        quota.level = level.min(self.capacity);
        quota.updated = now;
    }

    fn in_episode(&self, now: Instant) -> bool {
        let t = now.duration_since(self.start).as_secs_f64();
        self.episodes.iter().any(|(a, b)| t >= *a && t < *b)
    }
}

#[async_trait]
impl Provider for SimEndpoint {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Bedrock
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn complete(&self, _request: &ModelRequest) -> Result<ModelResponse, ProviderError> {
        let now = Instant::now();
        let latency = {
            let mut quota = self.lock();
            self.refill(&mut quota, now);
            let stray = quota.rng.unit() < self.stray_throttle;
            if self.in_episode(now) || stray || quota.level < 1.0 {
                quota.throttled += 1;
                // Like Bedrock: a ThrottlingException without Retry-After.
                return Err(ProviderError::Throttled {
                    retry_after: None,
                    message: "HTTP 429 ThrottlingException: Too many requests".into(),
                });
            }
            quota.level -= 1.0;
            quota.admitted += 1;
            self.backlog.leave();
            quota.rng.between(self.latency_secs.0, self.latency_secs.1)
        };
        tokio::time::sleep(Duration::from_secs_f64(latency)).await;
        Ok(ModelResponse {
            text: String::new(),
            tool_input: Some(serde_json::json!({"findings": []})),
            usage: TokenUsage {
                input_tokens: 1200,
                output_tokens: 700,
                cache_read_tokens: 4000,
                cache_write_tokens: 0,
            },
            stop_reason: StopReason::ToolUse,
            model: self.model.clone(),
        })
    }

    async fn stream(&self, _request: &ModelRequest) -> Result<ResponseStream, ProviderError> {
        Err(ProviderError::Validation {
            message: "the benchmark does not stream".into(),
        })
    }
}
