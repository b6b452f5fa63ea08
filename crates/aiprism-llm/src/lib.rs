//! Model access for aiprism: the providers (Amazon Bedrock, the Anthropic API, OpenAI-compatible servers)
//! behind one [`Provider`] trait, their configuration, and the [`Router`] that spreads calls over a chain of
//! model endpoints within their quotas and falls back by error class.
//!
//! This crate depends on `aiprism-core` only among aiprism crates: it knows nothing of documents, reviews,
//! storage or HTTP routes. Callers describe a call as a [`ModelRequest`] (cacheable system blocks,
//! conversation, an optional tool for structured output) and hand the router a validator that turns the
//! [`ModelResponse`] into their own typed value; the router owns every retry, cooldown and fallback
//! decision and reports each attempt (tokens, latency, price) to a [`RouterObserver`].
//!
//! Secrets (API keys) are `secrecy::SecretString` and never appear in Debug output, logs or errors;
//! provider error bodies are summarised, never passed on verbatim.

pub mod config;
pub mod error;
pub mod provider;
pub mod providers;
pub mod router;
#[cfg(feature = "testing")]
pub mod testing;
pub mod types;

pub use config::{
    BedrockChainSettings, EndpointConfig, KNOWN_PRICES, KnownPrice, StructuredOutput, bedrock_chain,
    build_provider, known_price,
};
pub use error::{ConfigError, ErrorKind, ProviderError};
pub use provider::{Provider, ProviderKind};
pub use router::{
    AttemptFailure, AttemptOutcome, AttemptRecord, CooldownPolicy, Endpoint, EndpointSnapshot, GlobalLimits,
    InProcessLimitState, LimitState, RateLimits, Routed, RoutedEvent, RoutedStream, Router, RouterBuilder,
    RouterError, RouterEvent, RouterObserver, RouterSettings, Settlement,
};
pub use types::{
    ChatMessage, ModelRequest, ModelResponse, ResponseStream, Role, StopReason, StreamEvent, SystemBlock,
    TokenUsage, ToolSpec,
};
