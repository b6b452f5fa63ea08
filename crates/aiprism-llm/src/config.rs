//! Endpoint configuration: what one `[[models]]` entry of the TOML file holds, the known Claude prices,
//! the chain built from the original tool's `BEDROCK_*` variables, and the provider constructor.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use crate::error::ConfigError;
use crate::provider::{Provider, ProviderKind};
use crate::providers::{AnthropicProvider, BedrockProvider, OpenAiProvider};

/// How an OpenAI-compatible endpoint is asked for structured output. Servers differ: OpenAI, vLLM and
/// recent Ollama honour forced tool calls; some llama.cpp builds only honour `response_format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StructuredOutput {
    /// `tools` + `tool_choice` naming the function.
    #[default]
    Tools,
    /// `response_format: {type: "json_schema", ...}`; the JSON comes back as text.
    JsonSchema,
}

/// One model endpoint of the chain, in priority order of the list it is in.
///
/// Only `provider` and `model` are required; everything else has a default that is safe for a first run.
/// Prices left out are taken from [`KNOWN_PRICES`] by model id, and cache-read/cache-write prices from
/// the input price (10% and 125%, as Anthropic and Bedrock bill Claude).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawEndpointConfig")]
pub struct EndpointConfig {
    /// Unique name (defaults to the model id); keys limits, cooldowns and usage records.
    pub name: String,
    /// Wire protocol.
    pub provider: ProviderKind,
    /// Model id (`us.anthropic.claude-sonnet-4-5-20250929-v1:0`, `claude-sonnet-4-5`, `llama3.1`...).
    pub model: String,
    /// AWS region (Bedrock only); the SDK's default chain decides when absent.
    pub region: Option<String>,
    /// Endpoint URL override (a proxy, a local server, a test fake).
    pub base_url: Option<String>,
    /// API key (Anthropic, OpenAI-compatible). Redacted in Debug output.
    pub api_key: Option<SecretString>,
    /// Requests per minute this endpoint may receive (0 = unlimited).
    pub requests_per_minute: u32,
    /// Tokens (input + output) per minute this endpoint may receive (0 = unlimited).
    pub tokens_per_minute: u64,
    /// Requests in flight at once (0 = unlimited).
    pub max_concurrency: u32,
    /// US dollars per million input tokens.
    pub price_input_per_mtok: f64,
    /// US dollars per million output tokens.
    pub price_output_per_mtok: f64,
    /// US dollars per million input tokens read from the prompt cache.
    pub price_cache_read_per_mtok: f64,
    /// US dollars per million input tokens written to the prompt cache.
    pub price_cache_write_per_mtok: f64,
    /// Default output token limit.
    pub max_tokens: u32,
    /// Default sampling temperature.
    pub temperature: f32,
    /// Extended-thinking budget (Claude 3.7+ on Bedrock and Anthropic); `None` = off.
    pub thinking_budget: Option<u32>,
    /// Seconds to wait for an answer (for streams: between two pieces of the answer).
    pub timeout_secs: f64,
    /// How OpenAI-compatible endpoints are asked for structured output.
    pub structured_output: StructuredOutput,
}

/// Default requests per minute: a typical on-demand Claude quota on Bedrock.
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 50;
/// Default tokens per minute.
pub const DEFAULT_TOKENS_PER_MINUTE: u64 = 200_000;
/// Default concurrent requests.
pub const DEFAULT_MAX_CONCURRENCY: u32 = 8;
/// Default output tokens (the original's `BEDROCK_MAX_TOKENS` default).
pub const DEFAULT_MAX_TOKENS: u32 = 4096;
/// Default temperature (the original's `BEDROCK_TEMPERATURE` default).
pub const DEFAULT_TEMPERATURE: f32 = 0.7;
/// Default per-call timeout in seconds (the original's read timeout for synchronous calls).
pub const DEFAULT_TIMEOUT_SECS: f64 = 180.0;
/// Thinking budget used when `REASONING_ENABLED` is set without `EXTENDED_THINKING_BUDGET` (the original's).
pub const DEFAULT_THINKING_BUDGET: u32 = 2000;

impl EndpointConfig {
    /// A configuration with every default filled in and prices looked up by model id.
    pub fn new(provider: ProviderKind, model: impl Into<String>) -> Self {
        let model = model.into();
        let price = known_price(&model);
        let input = price.map(|p| p.input_per_mtok).unwrap_or(0.0);
        Self {
            name: model.clone(),
            provider,
            region: None,
            base_url: None,
            api_key: None,
            requests_per_minute: DEFAULT_REQUESTS_PER_MINUTE,
            tokens_per_minute: DEFAULT_TOKENS_PER_MINUTE,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            price_input_per_mtok: input,
            price_output_per_mtok: price.map(|p| p.output_per_mtok).unwrap_or(0.0),
            price_cache_read_per_mtok: input * 0.1,
            price_cache_write_per_mtok: input * 1.25,
            max_tokens: DEFAULT_MAX_TOKENS,
            temperature: DEFAULT_TEMPERATURE,
            thinking_budget: None,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            structured_output: StructuredOutput::Tools,
            model,
        }
    }

    /// The per-call timeout as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout_secs)
    }

    /// What the given token counts cost on this endpoint, in US dollars.
    pub fn cost_usd(&self, usage: &crate::types::TokenUsage) -> f64 {
        (usage.input_tokens as f64 * self.price_input_per_mtok
            + usage.output_tokens as f64 * self.price_output_per_mtok
            + usage.cache_read_tokens as f64 * self.price_cache_read_per_mtok
            + usage.cache_write_tokens as f64 * self.price_cache_write_per_mtok)
            / 1_000_000.0
    }

    /// Checks values that would make the endpoint unusable, so a typo fails at start-up, not mid-review.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: &'static str, reason: &str| ConfigError::Invalid {
            endpoint: self.name.clone(),
            field,
            reason: reason.to_string(),
        };
        if self.model.trim().is_empty() {
            return Err(ConfigError::Missing {
                endpoint: self.name.clone(),
                field: "model",
            });
        }
        if !(self.timeout_secs.is_finite() && self.timeout_secs > 0.0) {
            return Err(invalid("timeout_secs", "must be a positive number of seconds"));
        }
        if !(0.0..=2.0).contains(&self.temperature) {
            return Err(invalid("temperature", "must be between 0 and 2"));
        }
        if self.max_tokens == 0 {
            return Err(invalid("max_tokens", "must be at least 1"));
        }
        let prices = [
            self.price_input_per_mtok,
            self.price_output_per_mtok,
            self.price_cache_read_per_mtok,
            self.price_cache_write_per_mtok,
        ];
        if prices.iter().any(|p| !(p.is_finite() && *p >= 0.0)) {
            return Err(invalid("price", "prices must be non-negative numbers"));
        }
        if let Some(url) = &self.base_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(invalid("base_url", "must start with http:// or https://"));
        }
        Ok(())
    }
}

/// The TOML shape, before defaults are applied.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEndpointConfig {
    name: Option<String>,
    provider: ProviderKind,
    model: String,
    region: Option<String>,
    base_url: Option<String>,
    api_key: Option<SecretString>,
    requests_per_minute: Option<u32>,
    tokens_per_minute: Option<u64>,
    max_concurrency: Option<u32>,
    price_input_per_mtok: Option<f64>,
    price_output_per_mtok: Option<f64>,
    price_cache_read_per_mtok: Option<f64>,
    price_cache_write_per_mtok: Option<f64>,
    max_tokens: Option<u32>,
    temperature: Option<f32>,
    thinking_budget: Option<u32>,
    timeout_secs: Option<f64>,
    structured_output: Option<StructuredOutput>,
}

impl TryFrom<RawEndpointConfig> for EndpointConfig {
    type Error = ConfigError;

    fn try_from(raw: RawEndpointConfig) -> Result<Self, ConfigError> {
        let mut config = EndpointConfig::new(raw.provider, raw.model);
        if let Some(name) = raw.name.filter(|n| !n.trim().is_empty()) {
            config.name = name;
        }
        config.region = raw.region;
        config.base_url = raw.base_url;
        config.api_key = raw.api_key;
        if let Some(v) = raw.requests_per_minute {
            config.requests_per_minute = v;
        }
        if let Some(v) = raw.tokens_per_minute {
            config.tokens_per_minute = v;
        }
        if let Some(v) = raw.max_concurrency {
            config.max_concurrency = v;
        }
        if let Some(v) = raw.price_input_per_mtok {
            config.price_input_per_mtok = v;
            config.price_cache_read_per_mtok = v * 0.1;
            config.price_cache_write_per_mtok = v * 1.25;
        }
        if let Some(v) = raw.price_output_per_mtok {
            config.price_output_per_mtok = v;
        }
        if let Some(v) = raw.price_cache_read_per_mtok {
            config.price_cache_read_per_mtok = v;
        }
        if let Some(v) = raw.price_cache_write_per_mtok {
            config.price_cache_write_per_mtok = v;
        }
        if let Some(v) = raw.max_tokens {
            config.max_tokens = v;
        }
        if let Some(v) = raw.temperature {
            config.temperature = v;
        }
        config.thinking_budget = raw.thinking_budget.filter(|b| *b > 0);
        if let Some(v) = raw.timeout_secs {
            config.timeout_secs = v;
        }
        if let Some(v) = raw.structured_output {
            config.structured_output = v;
        }
        config.validate()?;
        Ok(config)
    }
}

/// List prices of a model family, per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KnownPrice {
    /// Substring of the model id that identifies the family (first match wins, so longer ids come first).
    pub id_contains: &'static str,
    /// US dollars per million input tokens.
    pub input_per_mtok: f64,
    /// US dollars per million output tokens.
    pub output_per_mtok: f64,
    /// Whether the family supports extended thinking.
    pub thinking: bool,
}

/// Claude list prices (Anthropic and Bedrock on-demand, US regions), one table so cost figures and the
/// thinking capability can be checked in one place. Opus 4.5 is listed apart: it is priced lower than
/// Opus 4 and 4.1.
pub const KNOWN_PRICES: &[KnownPrice] = &[
    KnownPrice {
        id_contains: "claude-sonnet-4-5",
        input_per_mtok: 3.0,
        output_per_mtok: 15.0,
        thinking: true,
    },
    KnownPrice {
        id_contains: "claude-sonnet-4",
        input_per_mtok: 3.0,
        output_per_mtok: 15.0,
        thinking: true,
    },
    KnownPrice {
        id_contains: "claude-3-7-sonnet",
        input_per_mtok: 3.0,
        output_per_mtok: 15.0,
        thinking: true,
    },
    KnownPrice {
        id_contains: "claude-3-5-sonnet",
        input_per_mtok: 3.0,
        output_per_mtok: 15.0,
        thinking: false,
    },
    KnownPrice {
        id_contains: "claude-3-sonnet",
        input_per_mtok: 3.0,
        output_per_mtok: 15.0,
        thinking: false,
    },
    KnownPrice {
        id_contains: "claude-haiku-4-5",
        input_per_mtok: 1.0,
        output_per_mtok: 5.0,
        thinking: true,
    },
    KnownPrice {
        id_contains: "claude-3-5-haiku",
        input_per_mtok: 0.8,
        output_per_mtok: 4.0,
        thinking: false,
    },
    KnownPrice {
        id_contains: "claude-3-haiku",
        input_per_mtok: 0.25,
        output_per_mtok: 1.25,
        thinking: false,
    },
    KnownPrice {
        id_contains: "claude-opus-4-5",
        input_per_mtok: 5.0,
        output_per_mtok: 25.0,
        thinking: true,
    },
    KnownPrice {
        id_contains: "claude-opus-4",
        input_per_mtok: 15.0,
        output_per_mtok: 75.0,
        thinking: true,
    },
];

/// The known prices of a model id, if its family is in [`KNOWN_PRICES`].
pub fn known_price(model: &str) -> Option<&'static KnownPrice> {
    let model = model.to_ascii_lowercase();
    KNOWN_PRICES.iter().find(|p| model.contains(p.id_contains))
}

/// The original tool's Bedrock variables, already read from the environment by the binary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BedrockChainSettings {
    /// `BEDROCK_MODEL_ID`: the primary model.
    pub model_id: String,
    /// `BEDROCK_FALLBACK_MODELS`: comma-separated fallbacks, in order.
    pub fallback_models: String,
    /// `AWS_REGION` / `AWS_DEFAULT_REGION`, when set.
    pub region: Option<String>,
    /// `BEDROCK_MAX_TOKENS`.
    pub max_tokens: Option<u32>,
    /// `BEDROCK_TEMPERATURE`.
    pub temperature: Option<f32>,
    /// `REASONING_ENABLED`.
    pub reasoning_enabled: bool,
    /// `EXTENDED_THINKING_BUDGET`.
    pub thinking_budget: Option<u32>,
}

/// Builds the Bedrock chain: the primary model, then each fallback (duplicates dropped), with known prices.
/// Thinking is switched on only for models that support it, so one `REASONING_ENABLED` does not break
/// older fallbacks.
pub fn bedrock_chain(settings: &BedrockChainSettings) -> Result<Vec<EndpointConfig>, ConfigError> {
    let mut ids: Vec<&str> = Vec::new();
    let all = std::iter::once(settings.model_id.as_str()).chain(settings.fallback_models.split(','));
    for id in all.map(str::trim).filter(|id| !id.is_empty()) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err(ConfigError::Empty);
    }
    ids.into_iter()
        .map(|id| {
            let mut config = EndpointConfig::new(ProviderKind::Bedrock, id);
            config.region = settings.region.clone();
            if let Some(max_tokens) = settings.max_tokens {
                config.max_tokens = max_tokens;
            }
            if let Some(temperature) = settings.temperature {
                config.temperature = temperature;
            }
            if settings.reasoning_enabled && known_price(id).is_some_and(|p| p.thinking) {
                config.thinking_budget = Some(
                    settings
                        .thinking_budget
                        .filter(|b| *b > 0)
                        .unwrap_or(DEFAULT_THINKING_BUDGET),
                );
            }
            config.validate()?;
            Ok(config)
        })
        .collect()
}

/// Builds the provider for one endpoint. Async because the AWS configuration loader resolves region and
/// credentials asynchronously.
pub async fn build_provider(config: &EndpointConfig) -> Result<Arc<dyn Provider>, ConfigError> {
    config.validate()?;
    Ok(match config.provider {
        ProviderKind::Bedrock => Arc::new(BedrockProvider::new(config).await?),
        ProviderKind::Anthropic => Arc::new(AnthropicProvider::new(config)?),
        ProviderKind::Openai => Arc::new(OpenAiProvider::new(config)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_models_entry_needs_only_provider_and_model() {
        let config: EndpointConfig = serde_json::from_value(
            serde_json::json!({"provider": "bedrock", "model": "anthropic.claude-3-haiku-20240307-v1:0"}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.name, "anthropic.claude-3-haiku-20240307-v1:0");
        assert_eq!(config.price_input_per_mtok, 0.25);
        assert!((config.price_cache_read_per_mtok - 0.025).abs() < 1e-12);
        assert_eq!(config.max_tokens, DEFAULT_MAX_TOKENS);
    }

    #[test]
    fn unknown_fields_and_bad_values_are_rejected() {
        let typo = serde_json::from_value::<EndpointConfig>(
            serde_json::json!({"provider": "anthropic", "model": "claude-sonnet-4-5", "requests_per_minit": 5}),
        );
        assert!(typo.is_err());
        let bad = serde_json::from_value::<EndpointConfig>(
            serde_json::json!({"provider": "openai", "model": "llama3", "timeout_secs": 0}),
        );
        assert!(bad.is_err());
    }

    #[test]
    fn the_api_key_never_shows_in_debug_output() {
        let config: EndpointConfig = serde_json::from_value(
            serde_json::json!({"provider": "anthropic", "model": "claude-sonnet-4-5", "api_key": "sk-ant-very-secret"}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{config:?}").contains("very-secret"));
    }

    #[test]
    fn bedrock_chain_orders_dedupes_and_prices_models() {
        let chain = bedrock_chain(&BedrockChainSettings {
            model_id: "us.anthropic.claude-sonnet-4-5-20250929-v1:0".into(),
            fallback_models: " anthropic.claude-3-5-sonnet-20240620-v1:0, us.anthropic.claude-sonnet-4-5-20250929-v1:0,us.anthropic.claude-haiku-4-5-20251001-v1:0,".into(),
            region: Some("us-east-1".into()),
            max_tokens: Some(8000),
            temperature: Some(0.2),
            reasoning_enabled: true,
            thinking_budget: Some(3000),
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<_> = chain.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "anthropic.claude-3-5-sonnet-20240620-v1:0",
                "us.anthropic.claude-haiku-4-5-20251001-v1:0"
            ]
        );
        assert_eq!(chain[0].thinking_budget, Some(3000));
        assert_eq!(
            chain[1].thinking_budget, None,
            "3.5 Sonnet has no extended thinking"
        );
        assert_eq!(chain[2].price_output_per_mtok, 5.0);
        assert!(chain.iter().all(|c| c.max_tokens == 8000 && c.temperature == 0.2));
    }

    #[test]
    fn cost_uses_all_four_rates() {
        let config = EndpointConfig::new(ProviderKind::Anthropic, "claude-sonnet-4-5");
        let usage = crate::types::TokenUsage {
            input_tokens: 1_000_000,
            output_tokens: 1_000_000,
            cache_read_tokens: 1_000_000,
            cache_write_tokens: 1_000_000,
        };
        assert!((config.cost_usd(&usage) - (3.0 + 15.0 + 0.3 + 3.75)).abs() < 1e-9);
    }
}
