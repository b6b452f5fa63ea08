//! The Anthropic Messages API over reqwest: `POST {base}/v1/messages`, JSON or server-sent events.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Defaults, MAX_CACHE_POINTS, SseDecoder, http_client, parse_tool_input, send, sse_stream, stop_reason,
};
use crate::config::EndpointConfig;
use crate::error::{ConfigError, ProviderError, classify_http};
use crate::provider::{Provider, ProviderKind};
use crate::types::{ModelRequest, ModelResponse, ResponseStream, StopReason, StreamEvent, TokenUsage};

/// The API version header every request carries.
const ANTHROPIC_VERSION: &str = "2023-06-01";
/// Where the API lives unless configured otherwise.
const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// Claude through the Anthropic API. Prompt caching via `cache_control`, structured output via a forced
/// tool, extended thinking via `thinking`.
pub struct AnthropicProvider {
    client: reqwest::Client,
    url: String,
    api_key: SecretString,
    model: String,
    defaults: Defaults,
}

impl std::fmt::Debug for AnthropicProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnthropicProvider")
            .field("url", &self.url)
            .field("model", &self.model)
            .finish()
    }
}

impl AnthropicProvider {
    /// Builds the provider. The key and base URL fall back to `ANTHROPIC_API_KEY` and
    /// `ANTHROPIC_BASE_URL`, the names Anthropic's own SDKs read.
    pub fn new(config: &EndpointConfig) -> Result<Self, ConfigError> {
        let api_key = match &config.api_key {
            Some(key) => key.clone(),
            None => std::env::var("ANTHROPIC_API_KEY")
                .ok()
                .filter(|k| !k.trim().is_empty())
                .map(SecretString::from)
                .ok_or(ConfigError::Missing {
                    endpoint: config.name.clone(),
                    field: "api_key (ANTHROPIC_API_KEY)",
                })?,
        };
        let base = config
            .base_url
            .clone()
            .or_else(|| {
                std::env::var("ANTHROPIC_BASE_URL")
                    .ok()
                    .filter(|u| !u.trim().is_empty())
            })
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        Ok(Self {
            client: http_client(config)?,
            url: format!("{}/v1/messages", base.trim_end_matches('/')),
            api_key,
            model: config.model.clone(),
            defaults: Defaults::from_config(config),
        })
    }

    /// The JSON body of a Messages request.
    fn body(&self, request: &ModelRequest, stream: bool) -> Value {
        let generation = self.defaults.resolve(request);
        let mut cache_points = 0;
        let system: Vec<Value> = request
            .system
            .iter()
            .map(|block| {
                let mut value = json!({"type": "text", "text": block.text});
                if block.cacheable && cache_points < MAX_CACHE_POINTS {
                    cache_points += 1;
                    value["cache_control"] = json!({"type": "ephemeral"});
                }
                value
            })
            .collect();
        let messages: Vec<Value> = request
            .messages
            .iter()
            .map(|m| json!({"role": m.role.as_str(), "content": [{"type": "text", "text": m.content}]}))
            .collect();
        let mut body = json!({
            "model": self.model,
            "max_tokens": generation.max_tokens,
            "messages": messages,
            "stream": stream,
        });
        if !system.is_empty() {
            body["system"] = Value::Array(system);
        }
        if let Some(budget) = generation.thinking_budget {
            // Thinking requires temperature 1 (the API's default, so it is left out).
            body["thinking"] = json!({"type": "enabled", "budget_tokens": budget});
        } else {
            body["temperature"] = json!(generation.temperature);
        }
        if let Some(tool) = &request.tool {
            body["tools"] = json!([{
                "name": tool.name,
                "description": tool.description,
                "input_schema": tool.input_schema,
            }]);
            // A forced tool is refused together with thinking; then the model is asked, not forced.
            body["tool_choice"] = if generation.thinking_budget.is_some() {
                json!({"type": "auto"})
            } else {
                json!({"type": "tool", "name": tool.name})
            };
        }
        body
    }

    fn post(&self, body: &Value) -> reqwest::RequestBuilder {
        self.client
            .post(&self.url)
            .header("x-api-key", self.api_key.expose_secret())
            .header("anthropic-version", ANTHROPIC_VERSION)
            .json(body)
    }
}

#[async_trait]
impl Provider for AnthropicProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Anthropic
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn complete(&self, request: &ModelRequest) -> Result<ModelResponse, ProviderError> {
        let response = send(self.post(&self.body(request, false))).await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| crate::error::from_reqwest(&e))?;
        let message: MessageBody = serde_json::from_slice(&bytes)
            .map_err(|_| ProviderError::malformed("the Messages API answer could not be read", None))?;
        let mut text = String::new();
        let mut tool_input = None;
        for block in message.content {
            match block {
                Block::Text { text: t } => text.push_str(&t),
                Block::ToolUse { input } => tool_input = Some(input),
                Block::Other => {}
            }
        }
        Ok(ModelResponse {
            text,
            tool_input,
            usage: message.usage.unwrap_or_default().into(),
            stop_reason: message
                .stop_reason
                .as_deref()
                .map(stop_reason)
                .unwrap_or(StopReason::EndTurn),
            model: message.model.unwrap_or_else(|| self.model.clone()),
        })
    }

    async fn stream(&self, request: &ModelRequest) -> Result<ResponseStream, ProviderError> {
        let response = send(self.post(&self.body(request, true))).await?;
        Ok(sse_stream(response, Decoder::new(&self.model)))
    }
}

#[derive(Deserialize)]
struct MessageBody {
    model: Option<String>,
    #[serde(default)]
    content: Vec<Block>,
    stop_reason: Option<String>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text {
        text: String,
    },
    ToolUse {
        input: Value,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize, Default, Clone, Copy)]
struct Usage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
}

impl From<Usage> for TokenUsage {
    fn from(u: Usage) -> Self {
        TokenUsage {
            input_tokens: u.input_tokens.unwrap_or(0),
            output_tokens: u.output_tokens.unwrap_or(0),
            cache_read_tokens: u.cache_read_input_tokens.unwrap_or(0),
            cache_write_tokens: u.cache_creation_input_tokens.unwrap_or(0),
        }
    }
}

/// Which kind of content block an index holds while streaming.
enum OpenBlock {
    Text,
    Tool(String),
    Other,
}

/// Assembles the Messages SSE events into deltas and a final response.
struct Decoder {
    model: String,
    text: String,
    blocks: Vec<(u64, OpenBlock)>,
    tool_input: Option<Value>,
    usage: TokenUsage,
    stop_reason: Option<String>,
}

impl Decoder {
    fn new(model: &str) -> Self {
        Self {
            model: model.to_string(),
            text: String::new(),
            blocks: Vec::new(),
            tool_input: None,
            usage: TokenUsage::default(),
            stop_reason: None,
        }
    }

    fn merge_usage(&mut self, usage: &Value) {
        let get = |key: &str| usage.get(key).and_then(Value::as_u64);
        if let Some(v) = get("input_tokens") {
            self.usage.input_tokens = v;
        }
        if let Some(v) = get("output_tokens") {
            self.usage.output_tokens = v;
        }
        if let Some(v) = get("cache_read_input_tokens") {
            self.usage.cache_read_tokens = v;
        }
        if let Some(v) = get("cache_creation_input_tokens") {
            self.usage.cache_write_tokens = v;
        }
    }
}

/// The HTTP status Anthropic uses for each error type, so stream errors classify like HTTP ones.
fn error_status(kind: &str) -> u16 {
    match kind {
        "overloaded_error" => 529,
        "rate_limit_error" => 429,
        "api_error" => 500,
        "authentication_error" => 401,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "timeout_error" => 504,
        _ => 400,
    }
}

impl SseDecoder for Decoder {
    fn on_event(&mut self, event: &str, data: &str) -> Result<Vec<StreamEvent>, ProviderError> {
        let value: Value = serde_json::from_str(data).map_err(|_| {
            ProviderError::malformed("an event of the Messages stream could not be read", None)
        })?;
        let kind = if event.is_empty() {
            value.get("type").and_then(Value::as_str).unwrap_or("")
        } else {
            event
        };
        let index = value.get("index").and_then(Value::as_u64).unwrap_or(0);
        match kind {
            "message_start" => {
                if let Some(model) = value.pointer("/message/model").and_then(Value::as_str) {
                    self.model = model.to_string();
                }
                if let Some(usage) = value.pointer("/message/usage") {
                    self.merge_usage(usage);
                }
                Ok(vec![])
            }
            "content_block_start" => {
                let block = value.get("content_block").cloned().unwrap_or(Value::Null);
                match block.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        self.blocks.push((index, OpenBlock::Text));
                        let initial = block.get("text").and_then(Value::as_str).unwrap_or("");
                        if initial.is_empty() {
                            Ok(vec![])
                        } else {
                            self.text.push_str(initial);
                            Ok(vec![StreamEvent::TextDelta(initial.to_string())])
                        }
                    }
                    Some("tool_use") => {
                        self.blocks.push((index, OpenBlock::Tool(String::new())));
                        Ok(vec![])
                    }
                    _ => {
                        self.blocks.push((index, OpenBlock::Other));
                        Ok(vec![])
                    }
                }
            }
            "content_block_delta" => {
                let delta = value.get("delta").cloned().unwrap_or(Value::Null);
                let block = self
                    .blocks
                    .iter_mut()
                    .rev()
                    .find(|(i, _)| *i == index)
                    .map(|(_, b)| b);
                match (delta.get("type").and_then(Value::as_str), block) {
                    (Some("text_delta"), _) => {
                        let text = delta
                            .get("text")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string();
                        self.text.push_str(&text);
                        Ok(if text.is_empty() {
                            vec![]
                        } else {
                            vec![StreamEvent::TextDelta(text)]
                        })
                    }
                    (Some("input_json_delta"), Some(OpenBlock::Tool(json))) => {
                        json.push_str(delta.get("partial_json").and_then(Value::as_str).unwrap_or(""));
                        Ok(vec![])
                    }
                    // thinking_delta, signature_delta, citations: not part of the answer.
                    _ => Ok(vec![]),
                }
            }
            "content_block_stop" => {
                if let Some(pos) = self.blocks.iter().position(|(i, _)| *i == index) {
                    let (_, block) = self.blocks.remove(pos);
                    if let OpenBlock::Tool(json) = block {
                        self.tool_input = Some(parse_tool_input(&json)?);
                    }
                }
                Ok(vec![])
            }
            "message_delta" => {
                if let Some(reason) = value.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    self.stop_reason = Some(reason.to_string());
                }
                if let Some(usage) = value.get("usage") {
                    self.merge_usage(usage);
                }
                Ok(vec![])
            }
            "message_stop" => Ok(vec![StreamEvent::Done(ModelResponse {
                text: std::mem::take(&mut self.text),
                tool_input: self.tool_input.take(),
                usage: self.usage,
                stop_reason: self
                    .stop_reason
                    .as_deref()
                    .map(stop_reason)
                    .unwrap_or(StopReason::EndTurn),
                model: self.model.clone(),
            })]),
            "error" => {
                let error_type = value
                    .pointer("/error/type")
                    .and_then(Value::as_str)
                    .unwrap_or("api_error");
                let message = value
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("stream error");
                Err(classify_http(
                    error_status(error_type),
                    Some(error_type),
                    message,
                    None,
                ))
            }
            _ => Ok(vec![]),
        }
    }

    fn on_end(&mut self) -> Result<Vec<StreamEvent>, ProviderError> {
        Err(ProviderError::transport(
            "the Messages stream ended before message_stop",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{SystemBlock, ToolSpec};

    fn provider(thinking: Option<u32>) -> AnthropicProvider {
        let mut config = EndpointConfig::new(ProviderKind::Anthropic, "claude-sonnet-4-5");
        config.api_key = Some(SecretString::from("k"));
        config.base_url = Some("http://127.0.0.1:1".into());
        config.thinking_budget = thinking;
        AnthropicProvider::new(&config).unwrap_or_else(|e| panic!("{e}"))
    }

    fn tool_request() -> ModelRequest {
        ModelRequest {
            system: vec![
                SystemBlock::cached("framework"),
                SystemBlock::plain("section rules"),
            ],
            messages: vec![crate::types::ChatMessage::user("review this")],
            tool: Some(ToolSpec {
                name: "report".into(),
                description: "d".into(),
                input_schema: json!({"type": "object"}),
            }),
            ..ModelRequest::default()
        }
    }

    #[test]
    fn cacheable_system_blocks_carry_cache_control_and_the_tool_is_forced() {
        let body = provider(None).body(&tool_request(), false);
        assert_eq!(body["system"][0]["cache_control"], json!({"type": "ephemeral"}));
        assert!(body["system"][1].get("cache_control").is_none());
        assert_eq!(body["tool_choice"], json!({"type": "tool", "name": "report"}));
        assert!(body.get("thinking").is_none());
    }

    #[test]
    fn thinking_sets_the_budget_and_lets_the_model_choose_the_tool() {
        let body = provider(Some(2048)).body(&tool_request(), true);
        assert_eq!(
            body["thinking"],
            json!({"type": "enabled", "budget_tokens": 2048})
        );
        assert_eq!(body["tool_choice"], json!({"type": "auto"}));
        assert!(body.get("temperature").is_none());
        assert!(body["max_tokens"].as_u64().unwrap_or(0) > 2048);
    }

    #[test]
    fn the_api_key_is_not_in_debug_output() {
        assert!(!format!("{:?}", provider(None)).contains("\"k\""));
    }
}
