//! The model chain the settings describe: the TOML `[[models]]` list when present, otherwise Bedrock from
//! the original deployment's variables, then Anthropic and an OpenAI-compatible server when configured.
//! No chain at all means the built-in rule reviewer runs alone.

use std::sync::Arc;

use aiprism_llm::{
    BedrockChainSettings, Endpoint, EndpointConfig, GlobalLimits, LimitState, ProviderKind, Router,
    RouterObserver, bedrock_chain,
};
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::AppError;
use crate::settings::Settings;

/// Default Anthropic model when `ANTHROPIC_API_KEY` is set without `AIPRISM_ANTHROPIC_MODEL`.
pub const DEFAULT_ANTHROPIC_MODEL: &str = "claude-sonnet-4-5";

/// The endpoint configurations of the chain, in priority order.
pub fn chain(settings: &Settings) -> Result<Vec<EndpointConfig>, AppError> {
    let invalid = |what: String| AppError::invalid("invalid_model_configuration", what);
    if !settings.models.is_empty() {
        return settings
            .models
            .iter()
            .enumerate()
            .map(|(i, table)| {
                EndpointConfig::deserialize(toml::Value::Table(table.clone()))
                    .map_err(|e| invalid(format!("[[models]] entry {}: {e}", i + 1)))
            })
            .collect();
    }
    let mut chain = Vec::new();
    if let Some(model_id) = &settings.bedrock.model_id {
        let bedrock = BedrockChainSettings {
            model_id: model_id.clone(),
            fallback_models: settings.bedrock.fallback_models.join(","),
            region: settings
                .bedrock
                .region
                .clone()
                .or_else(|| settings.storage.region.clone()),
            max_tokens: Some(settings.bedrock.max_tokens),
            temperature: Some(settings.bedrock.temperature),
            reasoning_enabled: settings.bedrock.reasoning_enabled,
            thinking_budget: Some(settings.bedrock.thinking_budget),
        };
        chain.extend(bedrock_chain(&bedrock).map_err(|e| invalid(format!("Bedrock models: {e}")))?);
    }
    if let Some(key) = &settings.anthropic.api_key {
        let model = settings
            .anthropic
            .model
            .clone()
            .unwrap_or_else(|| DEFAULT_ANTHROPIC_MODEL.to_string());
        let mut config = EndpointConfig::new(ProviderKind::Anthropic, model);
        config.api_key = Some(secrecy::SecretString::from(key.expose_secret().to_string()));
        config.base_url = settings.anthropic.base_url.clone();
        config.max_tokens = settings.bedrock.max_tokens;
        config.temperature = settings.bedrock.temperature;
        chain.push(config);
    }
    if settings.openai.base_url.is_some() || settings.openai.model.is_some() {
        let model = settings.openai.model.clone().ok_or_else(|| {
            invalid("OPENAI_BASE_URL is set but AIPRISM_OPENAI_MODEL is not: name the model to use".into())
        })?;
        let mut config = EndpointConfig::new(ProviderKind::Openai, model);
        config.api_key = settings
            .openai
            .api_key
            .as_ref()
            .map(|k| secrecy::SecretString::from(k.expose_secret().to_string()));
        config.base_url = settings.openai.base_url.clone();
        config.max_tokens = settings.bedrock.max_tokens;
        config.temperature = settings.bedrock.temperature;
        chain.push(config);
    }
    for config in &chain {
        config
            .validate()
            .map_err(|e| invalid(format!("model {}: {e}", config.name)))?;
    }
    Ok(chain)
}

/// Builds the router for the settings' chain with limits kept in this process; `None` when no model is
/// configured.
pub async fn router(
    settings: &Settings,
    observer: Option<Arc<dyn RouterObserver>>,
) -> Result<Option<Arc<Router>>, AppError> {
    router_with_state(settings, observer, None).await
}

/// Builds the router for the settings' chain; its rate budgets and cooldowns live in `state` (shared by
/// every process, e.g. in Redis) or, when `None`, in this process.
pub async fn router_with_state(
    settings: &Settings,
    observer: Option<Arc<dyn RouterObserver>>,
    state: Option<Arc<dyn LimitState>>,
) -> Result<Option<Arc<Router>>, AppError> {
    let configs = chain(settings)?;
    if configs.is_empty() {
        return Ok(None);
    }
    let mut endpoints = Vec::with_capacity(configs.len());
    for config in configs {
        let name = config.name.clone();
        let endpoint = Endpoint::from_config(config)
            .await
            .map_err(|e| AppError::invalid("invalid_model_configuration", format!("model {name}: {e}")))?;
        endpoints.push(endpoint);
    }
    let limits = GlobalLimits {
        max_requests_per_minute: settings.limits.max_requests_per_minute,
        max_concurrent_requests: settings.limits.max_concurrent_requests,
        max_tokens_per_minute: settings.limits.max_tokens_per_minute.map(u64::from),
    };
    let mut builder = Router::builder(endpoints).global_limits(limits);
    if let Some(observer) = observer {
        builder = builder.observer(observer);
    }
    if let Some(state) = state {
        builder = builder.state(state);
    }
    let router = builder
        .build()
        .map_err(|e| AppError::invalid("invalid_model_configuration", format!("model chain: {e}")))?;
    Ok(Some(Arc::new(router)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_model_settings_means_no_chain() {
        assert!(chain(&Settings::default()).unwrap().is_empty());
    }

    #[test]
    fn bedrock_then_anthropic_then_openai() {
        let mut s = Settings::default();
        s.bedrock.model_id = Some("us.anthropic.claude-sonnet-4-5-20250929-v1:0".into());
        s.bedrock.fallback_models = vec!["us.anthropic.claude-haiku-4-5-20251001-v1:0".into()];
        s.anthropic.api_key = Some(secrecy::SecretString::from("sk-ant-x".to_string()));
        s.openai.base_url = Some("http://127.0.0.1:11434/v1".into());
        s.openai.model = Some("llama3.1".into());
        let chain = chain(&s).unwrap();
        let providers: Vec<_> = chain.iter().map(|c| c.provider).collect();
        assert_eq!(
            providers,
            [
                ProviderKind::Bedrock,
                ProviderKind::Bedrock,
                ProviderKind::Anthropic,
                ProviderKind::Openai
            ]
        );
    }

    #[test]
    fn a_toml_models_list_is_the_whole_chain() {
        let mut s = Settings::default();
        s.bedrock.model_id = Some("ignored".into());
        let table: toml::Table =
            toml::from_str("provider = \"openai\"\nmodel = \"qwen\"\nrequests_per_minute = 30").unwrap();
        s.models = vec![table];
        let chain = chain(&s).unwrap();
        assert_eq!(chain.len(), 1);
        assert_eq!(chain[0].requests_per_minute, 30);
    }

    #[test]
    fn a_bad_models_entry_names_its_position() {
        let mut s = Settings::default();
        let table: toml::Table = toml::from_str("provider = \"openai\"\nmodel = \"qwen\"\nrpm = 30").unwrap();
        s.models = vec![table];
        let err = chain(&s).unwrap_err().to_string();
        assert!(err.contains("entry 1"), "{err}");
    }
}
