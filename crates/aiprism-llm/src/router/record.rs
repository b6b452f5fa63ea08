//! What the router reports: the result of a routed call, its error, per-call events for usage records and
//! metrics, and the per-endpoint snapshot behind `GET /api/v1/models`.

use std::time::Duration;

use aiprism_core::Usage;
use serde::Serialize;

use crate::error::{ErrorKind, ProviderError};
use crate::provider::ProviderKind;
use crate::types::TokenUsage;

/// A successful routed call.
#[derive(Debug, Clone, PartialEq)]
pub struct Routed<T> {
    /// What the validator made of the answer.
    pub value: T,
    /// The endpoint that answered.
    pub endpoint: String,
    /// Its provider.
    pub provider: ProviderKind,
    /// The model that answered.
    pub model: String,
    /// Tokens and cost of every attempt this call made (repairs and failed attempts that were billed
    /// included), each priced at its own endpoint's rates.
    pub usage: Usage,
    /// Provider calls made (1 when the first endpoint answered well the first time).
    pub attempts: u32,
    /// From the call to the answer, waits included.
    pub latency: Duration,
}

/// Why one attempt on one endpoint did not produce the answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttemptFailure {
    /// The endpoint.
    pub endpoint: String,
    /// The class of failure.
    pub kind: ErrorKind,
    /// A summary (never a provider body or a secret).
    pub message: String,
    /// What the attempt cost even though its answer was unusable (malformed output is billed; a
    /// throttle or a 5xx costs nothing), priced at the endpoint's rates, so review totals are honest.
    pub usage: Usage,
}

impl std::fmt::Display for AttemptFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.endpoint, self.kind.as_str(), self.message)
    }
}

/// Lists failures in one line for an error message.
fn list(failures: &[AttemptFailure]) -> String {
    if failures.is_empty() {
        return "no attempt was made".to_string();
    }
    failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A routed call that produced no answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RouterError {
    /// The prompt does not fit the model: split the input and call again.
    #[error("the input is too long for {endpoint}: {message}")]
    ContextTooLong {
        /// The endpoint that said so.
        endpoint: String,
        /// Its summary.
        message: String,
    },
    /// The caller's deadline passed while waiting for capacity or for an answer.
    #[error("no model answered before the deadline: {}", list(.failures))]
    DeadlineExceeded {
        /// What went wrong on the way.
        failures: Vec<AttemptFailure>,
    },
    /// Every endpoint failed or is disabled.
    #[error("every model endpoint failed: {}", list(.failures))]
    Exhausted {
        /// Why each endpoint failed (disabled endpoints included).
        failures: Vec<AttemptFailure>,
    },
    /// A stream failed after its first token; falling back then would repeat text the user has seen.
    #[error("the answer from {endpoint} broke off: {error}")]
    StreamInterrupted {
        /// The endpoint whose stream broke.
        endpoint: String,
        /// What broke it.
        error: ProviderError,
    },
}

impl RouterError {
    /// The failures recorded on the way, for display and logs.
    pub fn failures(&self) -> &[AttemptFailure] {
        match self {
            RouterError::DeadlineExceeded { failures } | RouterError::Exhausted { failures } => failures,
            RouterError::ContextTooLong { .. } | RouterError::StreamInterrupted { .. } => &[],
        }
    }

    /// Tokens and money the failed attempts spent, per endpoint, in the order first seen.
    pub fn spent(&self) -> Vec<(&str, Usage)> {
        let mut spent: Vec<(&str, Usage)> = Vec::new();
        for f in self.failures() {
            if f.usage == Usage::default() {
                continue;
            }
            match spent.iter_mut().find(|(endpoint, _)| *endpoint == f.endpoint) {
                Some((_, total)) => total.add(&f.usage),
                None => spent.push((f.endpoint.as_str(), f.usage)),
            }
        }
        spent
    }
}

/// How one provider call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "error")]
pub enum AttemptOutcome {
    /// Usable answer.
    Success,
    /// Failed with this class (a validator rejection is `Malformed`).
    Failed(ErrorKind),
}

/// One provider call, as recorded for usage storage and metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttemptRecord {
    /// The endpoint called.
    pub endpoint: String,
    /// Its provider.
    pub provider: ProviderKind,
    /// Its model.
    pub model: String,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// Tokens the provider reported (zero when it reported none).
    pub tokens: TokenUsage,
    /// Tokens and price in the domain's terms.
    pub usage: Usage,
    /// Time spent in the provider call.
    pub latency: Duration,
    /// Which attempt of the routed call this was (1-based).
    pub attempt: u32,
    /// Whether it was a streaming call.
    pub streaming: bool,
}

/// Everything the router decides, in the order it decides it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum RouterEvent {
    /// A provider call ended.
    Attempt(AttemptRecord),
    /// An endpoint was throttled and rests for `duration`.
    CooldownStarted {
        /// The endpoint.
        endpoint: String,
        /// How long it rests.
        duration: Duration,
    },
    /// An endpoint was disabled as misconfigured.
    EndpointDisabled {
        /// The endpoint.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// A call waited because no endpoint had capacity.
    WaitedForCapacity {
        /// How long it waited.
        waited: Duration,
    },
}

/// Receives router events, so the application can store per-call usage and emit metrics without the
/// router knowing about either. Called inline: keep it quick (push to a channel for slow work).
pub trait RouterObserver: Send + Sync {
    /// One event.
    fn on_event(&self, event: &RouterEvent);
}

/// One endpoint's state, for operators (`GET /api/v1/models`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointSnapshot {
    /// Name.
    pub name: String,
    /// Place in the chain, 0 = first choice.
    pub priority: usize,
    /// Provider.
    pub provider: ProviderKind,
    /// Model id.
    pub model: String,
    /// Configured requests per minute (0 = unlimited).
    pub requests_per_minute: u32,
    /// Configured tokens per minute (0 = unlimited).
    pub tokens_per_minute: u64,
    /// Configured concurrency (0 = unlimited).
    pub max_concurrency: u32,
    /// Calls running now.
    pub in_flight: u32,
    /// Milliseconds of cooldown left, when resting.
    pub cooldown_remaining_ms: Option<u64>,
    /// Why it is disabled, when it is.
    pub disabled_reason: Option<String>,
    /// Provider calls made.
    pub calls: u64,
    /// Calls that produced a usable answer.
    pub successes: u64,
    /// Calls throttled.
    pub throttles: u64,
    /// Calls failed otherwise (validator rejections included).
    pub errors: u64,
    /// Tokens and price of every call.
    pub usage: Usage,
    /// The last failure, summarised.
    pub last_error: Option<String>,
}

/// Running totals of one endpoint.
#[derive(Debug, Default, Clone)]
pub(crate) struct Counters {
    pub calls: u64,
    pub successes: u64,
    pub throttles: u64,
    pub errors: u64,
    pub usage: Usage,
    pub last_error: Option<String>,
}
