//! The provider-neutral request and response shapes every provider translates to and from its wire format.

use std::pin::Pin;

use futures::Stream;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ProviderError;

/// One block of the system prompt.
///
/// A review prompt is built from a framework and a document outline that are identical for every section of
/// a document; marking those blocks `cacheable` lets Bedrock (cache points) and Anthropic (`cache_control`)
/// bill them once and read them from the prompt cache afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemBlock {
    /// The text of the block.
    pub text: String,
    /// Whether the prompt up to and including this block may be cached by the provider.
    #[serde(default)]
    pub cacheable: bool,
}

impl SystemBlock {
    /// A block that is sent as is, never cached.
    pub fn plain(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            cacheable: false,
        }
    }

    /// A block after which the provider may place a cache point (the shared framework + outline prefix).
    pub fn cached(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            cacheable: true,
        }
    }
}

/// Who said a conversation turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The reviewer (or the review engine speaking for them).
    User,
    /// The model.
    Assistant,
}

impl Role {
    /// The spelling every provider API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One conversation turn. Chat sends the history; a section review sends a single user turn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who said it.
    pub role: Role,
    /// What was said.
    pub content: String,
}

impl ChatMessage {
    /// A user turn.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An assistant turn.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// A tool the model is forced to call, which is how we get structured output from every provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Tool name (letters, digits, `_` and `-`; providers reject anything else).
    pub name: String,
    /// What the tool is for; models read it.
    pub description: String,
    /// JSON schema of the tool input.
    pub input_schema: Value,
}

/// Everything a provider needs for one model call.
///
/// `max_tokens`, `temperature` and `thinking_budget` are overrides: left `None`, the endpoint's configured
/// values apply, so callers describe the task and the configuration describes the model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelRequest {
    /// System prompt blocks, in order.
    pub system: Vec<SystemBlock>,
    /// Conversation turns, oldest first; the last one is normally the user's.
    pub messages: Vec<ChatMessage>,
    /// A tool the model must call (structured output).
    pub tool: Option<ToolSpec>,
    /// Upper bound on output tokens.
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// Extended-thinking budget in tokens; `Some(0)` switches thinking off for this call.
    pub thinking_budget: Option<u32>,
}

impl ModelRequest {
    /// Total characters of prompt text, the basis of the token estimate used to reserve rate budget.
    pub fn prompt_chars(&self) -> usize {
        let system: usize = self.system.iter().map(|b| b.text.len()).sum();
        let messages: usize = self.messages.iter().map(|m| m.content.len()).sum();
        let tool = self
            .tool
            .as_ref()
            .map(|t| t.description.len() + t.name.len() + t.input_schema.to_string().len())
            .unwrap_or(0);
        system + messages + tool
    }
}

/// Token counts as the provider reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Input tokens processed at the full rate (not read from or written to the cache).
    pub input_tokens: u64,
    /// Output tokens (including thinking tokens).
    pub output_tokens: u64,
    /// Input tokens read from the prompt cache (billed at the cache-read rate).
    pub cache_read_tokens: u64,
    /// Input tokens written to the prompt cache (billed at a premium by Anthropic models).
    pub cache_write_tokens: u64,
}

impl TokenUsage {
    /// Tokens that count against a tokens-per-minute quota. Cache reads are excluded, as Bedrock and
    /// Anthropic do for their input-token quotas.
    pub fn quota_tokens(&self) -> u64 {
        self.input_tokens + self.cache_write_tokens + self.output_tokens
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model finished its answer.
    EndTurn,
    /// The model called the tool.
    ToolUse,
    /// Output hit `max_tokens`: the answer is probably cut.
    MaxTokens,
    /// A stop sequence matched.
    StopSequence,
    /// Output was filtered by the provider.
    ContentFiltered,
    /// Anything else, as the provider spelled it.
    Other(String),
}

/// What a model call produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelResponse {
    /// Text output (concatenated text blocks; thinking is not included).
    pub text: String,
    /// The input the model passed to the tool, when it called it.
    pub tool_input: Option<Value>,
    /// Token counts.
    pub usage: TokenUsage,
    /// Why it stopped.
    pub stop_reason: StopReason,
    /// The model id that answered, as the provider reports it (or as configured when it does not).
    pub model: String,
}

impl ModelResponse {
    /// The structured output: the tool input when the model called the tool, else a JSON value parsed
    /// from the text (code fences and prose around the outermost object are tolerated). Validators use
    /// this so that a model that answers in JSON text instead of a tool call (extended thinking cannot
    /// force a tool) is still understood.
    pub fn json_output(&self) -> Result<Value, String> {
        if let Some(input) = &self.tool_input {
            return Ok(input.clone());
        }
        extract_json(&self.text)
    }

    /// The output as text, for a repair prompt: the tool input serialised, or the text.
    pub fn output_text(&self) -> String {
        match &self.tool_input {
            Some(input) => input.to_string(),
            None => self.text.clone(),
        }
    }
}

/// Finds the JSON value in a model's text answer.
fn extract_json(text: &str) -> Result<Value, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("the model returned neither a tool call nor any text".to_string());
    }
    if let Ok(value) = serde_json::from_str::<Value>(trimmed) {
        return Ok(value);
    }
    let start = trimmed.find(['{', '[']);
    let end = trimmed.rfind(['}', ']']);
    match (start, end) {
        (Some(start), Some(end)) if end > start => serde_json::from_str::<Value>(&trimmed[start..=end])
            .map_err(|e| format!("the model's answer is not valid JSON: {e}")),
        _ => Err("the model's answer contains no JSON object".to_string()),
    }
}

/// One item of a streaming call.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// A piece of text output, in order.
    TextDelta(String),
    /// The end of the stream with the whole response (text, tool input, usage). Always the last item.
    Done(ModelResponse),
}

/// A streaming call's items: text deltas, then exactly one `Done`, or an error that ends the stream.
pub type ResponseStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, ProviderError>> + Send>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_output_prefers_the_tool_input() {
        let response = ModelResponse {
            text: "ignored".into(),
            tool_input: Some(serde_json::json!({"a": 1})),
            usage: TokenUsage::default(),
            stop_reason: StopReason::ToolUse,
            model: "m".into(),
        };
        assert_eq!(response.json_output(), Ok(serde_json::json!({"a": 1})));
    }

    #[test]
    fn json_output_reads_json_wrapped_in_a_code_fence() {
        let response = ModelResponse {
            text: "Here you go:\n```json\n{\"findings\": []}\n```".into(),
            tool_input: None,
            usage: TokenUsage::default(),
            stop_reason: StopReason::EndTurn,
            model: "m".into(),
        };
        assert_eq!(response.json_output(), Ok(serde_json::json!({"findings": []})));
    }

    #[test]
    fn json_output_rejects_prose() {
        let response = ModelResponse {
            text: "I cannot help with that".into(),
            tool_input: None,
            usage: TokenUsage::default(),
            stop_reason: StopReason::EndTurn,
            model: "m".into(),
        };
        assert!(response.json_output().is_err());
    }
}
