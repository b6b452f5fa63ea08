//! OpenAI-compatible chat completions (OpenAI, Ollama, vLLM, llama.cpp server):
//! `POST {base}/chat/completions`, JSON or `data:` chunks ending with `[DONE]`.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Defaults, SseDecoder, http_client, parse_tool_input, send, sse_stream, stop_reason};
use crate::config::{EndpointConfig, StructuredOutput};
use crate::error::{ConfigError, ProviderError, classify_http};
use crate::provider::{Provider, ProviderKind};
use crate::types::{ModelRequest, ModelResponse, ResponseStream, StopReason, StreamEvent, TokenUsage};

/// Where the API lives unless configured otherwise.
const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// A chat-completions endpoint. Local servers usually need no key; structured output is a forced
/// function call or, for servers that only support it, `response_format: json_schema`.
pub struct OpenAiProvider {
    client: reqwest::Client,
    url: String,
    api_key: Option<SecretString>,
    model: String,
    defaults: Defaults,
    structured_output: StructuredOutput,
}

impl std::fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiProvider")
            .field("url", &self.url)
            .field("model", &self.model)
            .finish()
    }
}

impl OpenAiProvider {
    /// Builds the provider. Key and base URL fall back to `OPENAI_API_KEY` and `OPENAI_BASE_URL`.
    pub fn new(config: &EndpointConfig) -> Result<Self, ConfigError> {
        let api_key = config.api_key.clone().or_else(|| {
            std::env::var("OPENAI_API_KEY")
                .ok()
                .filter(|k| !k.trim().is_empty())
                .map(SecretString::from)
        });
        let base = config
            .base_url
            .clone()
            .or_else(|| {
                std::env::var("OPENAI_BASE_URL")
                    .ok()
                    .filter(|u| !u.trim().is_empty())
            })
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        Ok(Self {
            client: http_client(config)?,
            url: format!("{}/chat/completions", base.trim_end_matches('/')),
            api_key,
            model: config.model.clone(),
            defaults: Defaults::from_config(config),
            structured_output: config.structured_output,
        })
    }

    /// The JSON body of a chat-completions request.
    fn body(&self, request: &ModelRequest, stream: bool) -> Value {
        let generation = self.defaults.resolve(request);
        let mut messages = Vec::with_capacity(request.messages.len() + 1);
        if !request.system.is_empty() {
            let system: Vec<&str> = request.system.iter().map(|b| b.text.as_str()).collect();
            messages.push(json!({"role": "system", "content": system.join("\n\n")}));
        }
        for message in &request.messages {
            messages.push(json!({"role": message.role.as_str(), "content": message.content}));
        }
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "max_tokens": generation.max_tokens,
            "temperature": generation.temperature,
            "stream": stream,
        });
        if stream {
            body["stream_options"] = json!({"include_usage": true});
        }
        if let Some(tool) = &request.tool {
            match self.structured_output {
                StructuredOutput::Tools => {
                    body["tools"] = json!([{
                        "type": "function",
                        "function": {
                            "name": tool.name,
                            "description": tool.description,
                            "parameters": tool.input_schema,
                        }
                    }]);
                    body["tool_choice"] = json!({"type": "function", "function": {"name": tool.name}});
                }
                StructuredOutput::JsonSchema => {
                    body["response_format"] = json!({
                        "type": "json_schema",
                        "json_schema": {"name": tool.name, "schema": tool.input_schema},
                    });
                }
            }
        }
        body
    }

    fn post(&self, body: &Value) -> reqwest::RequestBuilder {
        let request = self.client.post(&self.url).json(body);
        match &self.api_key {
            Some(key) => request.bearer_auth(key.expose_secret()),
            None => request,
        }
    }

    /// In `json_schema` mode the structured output arrives as text.
    fn structured_from_text(
        &self,
        request: &ModelRequest,
        text: &str,
    ) -> Result<Option<Value>, ProviderError> {
        if request.tool.is_some() && self.structured_output == StructuredOutput::JsonSchema {
            return serde_json::from_str(text.trim()).map(Some).map_err(|e| {
                ProviderError::malformed(
                    format!("the JSON answer is not valid JSON: {e}"),
                    Some(text.to_string()),
                )
            });
        }
        Ok(None)
    }
}

#[async_trait]
impl Provider for OpenAiProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Openai
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
        let completion: Completion = serde_json::from_slice(&bytes)
            .map_err(|_| ProviderError::malformed("the chat completion could not be read", None))?;
        let choice = completion.choices.into_iter().next();
        let finish = choice.as_ref().and_then(|c| c.finish_reason.clone());
        let message = choice.and_then(|c| c.message).unwrap_or_default();
        let text = message.content.unwrap_or_default();
        let mut tool_input = None;
        if let Some(arguments) = message
            .tool_calls
            .unwrap_or_default()
            .into_iter()
            .find_map(|c| c.function.and_then(|f| f.arguments))
        {
            tool_input = Some(parse_tool_input(&arguments)?);
        }
        if tool_input.is_none() {
            tool_input = self.structured_from_text(request, &text)?;
        }
        Ok(ModelResponse {
            text,
            tool_input,
            usage: completion.usage.map(TokenUsage::from).unwrap_or_default(),
            stop_reason: finish.as_deref().map(stop_reason).unwrap_or(StopReason::EndTurn),
            model: completion.model.unwrap_or_else(|| self.model.clone()),
        })
    }

    async fn stream(&self, request: &ModelRequest) -> Result<ResponseStream, ProviderError> {
        let response = send(self.post(&self.body(request, true))).await?;
        let json_text = request.tool.is_some() && self.structured_output == StructuredOutput::JsonSchema;
        Ok(sse_stream(response, Decoder::new(&self.model, json_text)))
    }
}

#[derive(Deserialize)]
struct Completion {
    model: Option<String>,
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: Option<Message>,
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct Message {
    content: Option<String>,
    tool_calls: Option<Vec<ToolCall>>,
}

#[derive(Deserialize)]
struct ToolCall {
    function: Option<FunctionCall>,
}

#[derive(Deserialize)]
struct FunctionCall {
    arguments: Option<String>,
}

#[derive(Deserialize, Default)]
struct Usage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Deserialize, Default)]
struct PromptDetails {
    cached_tokens: Option<u64>,
}

impl From<Usage> for TokenUsage {
    fn from(u: Usage) -> Self {
        let cached = u.prompt_tokens_details.and_then(|d| d.cached_tokens).unwrap_or(0);
        TokenUsage {
            input_tokens: u.prompt_tokens.unwrap_or(0).saturating_sub(cached),
            output_tokens: u.completion_tokens.unwrap_or(0),
            cache_read_tokens: cached,
            cache_write_tokens: 0,
        }
    }
}

/// Assembles `data:` chunks into deltas and a final response.
struct Decoder {
    model: String,
    json_text: bool,
    text: String,
    arguments: Option<String>,
    usage: TokenUsage,
    finish_reason: Option<String>,
}

impl Decoder {
    fn new(model: &str, json_text: bool) -> Self {
        Self {
            model: model.to_string(),
            json_text,
            text: String::new(),
            arguments: None,
            usage: TokenUsage::default(),
            finish_reason: None,
        }
    }

    fn finish(&mut self) -> Result<Vec<StreamEvent>, ProviderError> {
        let text = std::mem::take(&mut self.text);
        let tool_input = match self.arguments.take() {
            Some(arguments) => Some(parse_tool_input(&arguments)?),
            None if self.json_text => Some(serde_json::from_str(text.trim()).map_err(|e| {
                ProviderError::malformed(
                    format!("the JSON answer is not valid JSON: {e}"),
                    Some(text.clone()),
                )
            })?),
            None => None,
        };
        Ok(vec![StreamEvent::Done(ModelResponse {
            text,
            tool_input,
            usage: self.usage,
            stop_reason: self
                .finish_reason
                .as_deref()
                .map(stop_reason)
                .unwrap_or(StopReason::EndTurn),
            model: self.model.clone(),
        })])
    }
}

impl SseDecoder for Decoder {
    fn on_event(&mut self, _event: &str, data: &str) -> Result<Vec<StreamEvent>, ProviderError> {
        if data.trim() == "[DONE]" {
            return self.finish();
        }
        let chunk: Value = serde_json::from_str(data).map_err(|_| {
            ProviderError::malformed("a chunk of the completion stream could not be read", None)
        })?;
        if let Some(error) = chunk.get("error") {
            let (code, message) = crate::error::error_fields(&json!({"error": error}).to_string());
            let status = error
                .get("status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok());
            let status = status.unwrap_or(match code.as_deref() {
                Some("rate_limit_exceeded") => 429,
                Some("context_length_exceeded") => 400,
                _ => 500,
            });
            return Err(classify_http(status, code.as_deref(), &message, None));
        }
        if let Some(model) = chunk.get("model").and_then(Value::as_str) {
            self.model = model.to_string();
        }
        if let Some(usage) = chunk.get("usage").filter(|u| !u.is_null())
            && let Ok(usage) = serde_json::from_value::<Usage>(usage.clone())
        {
            self.usage = usage.into();
        }
        let mut events = Vec::new();
        if let Some(choice) = chunk.get("choices").and_then(|c| c.get(0)) {
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finish_reason = Some(reason.to_string());
            }
            let delta = choice.get("delta").cloned().unwrap_or(Value::Null);
            if let Some(content) = delta
                .get("content")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
            {
                self.text.push_str(content);
                events.push(StreamEvent::TextDelta(content.to_string()));
            }
            if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
                for call in calls
                    .iter()
                    .filter(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
                {
                    let piece = call
                        .pointer("/function/arguments")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    self.arguments.get_or_insert_with(String::new).push_str(piece);
                }
            }
        }
        Ok(events)
    }

    fn on_end(&mut self) -> Result<Vec<StreamEvent>, ProviderError> {
        if self.finish_reason.is_some() {
            // Some servers close without `[DONE]` once the last choice has finished.
            return self.finish();
        }
        Err(ProviderError::transport(
            "the completion stream ended before it finished",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ChatMessage, SystemBlock, ToolSpec};

    fn provider(mode: StructuredOutput) -> OpenAiProvider {
        let mut config = EndpointConfig::new(ProviderKind::Openai, "llama3.1");
        config.base_url = Some("http://127.0.0.1:1/v1".into());
        config.structured_output = mode;
        OpenAiProvider::new(&config).unwrap_or_else(|e| panic!("{e}"))
    }

    fn request() -> ModelRequest {
        ModelRequest {
            system: vec![SystemBlock::cached("a"), SystemBlock::plain("b")],
            messages: vec![ChatMessage::user("hi")],
            tool: Some(ToolSpec {
                name: "report".into(),
                description: "d".into(),
                input_schema: json!({"type": "object"}),
            }),
            ..ModelRequest::default()
        }
    }

    #[test]
    fn tools_mode_forces_the_function() {
        let body = provider(StructuredOutput::Tools).body(&request(), true);
        assert_eq!(body["tool_choice"]["function"]["name"], "report");
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["messages"][0]["content"], "a\n\nb");
    }

    #[test]
    fn json_schema_mode_uses_response_format() {
        let body = provider(StructuredOutput::JsonSchema).body(&request(), false);
        assert!(body.get("tools").is_none());
        assert_eq!(body["response_format"]["type"], "json_schema");
        assert!(body.get("stream_options").is_none());
    }
}
