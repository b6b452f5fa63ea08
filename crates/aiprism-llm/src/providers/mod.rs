//! The provider implementations and the plumbing the two HTTP ones share (settings resolution, error
//! answers, server-sent events).

mod anthropic;
mod bedrock;
mod openai;
mod sse;

use std::collections::VecDeque;
use std::time::Duration;

use futures::StreamExt;

pub use anthropic::AnthropicProvider;
pub use bedrock::BedrockProvider;
pub use openai::OpenAiProvider;

use crate::config::EndpointConfig;
use crate::error::{
    ConfigError, ProviderError, classify_http, error_fields, from_reqwest, retry_after_from_headers,
};
use crate::types::{ModelRequest, ResponseStream, StreamEvent};

/// Smallest thinking budget Claude accepts.
const MIN_THINKING_BUDGET: u32 = 1024;
/// Bytes of an error body we read to classify it (bodies are never passed on, only summarised).
const MAX_ERROR_BODY: usize = 16 * 1024;

/// The generation settings of one call: the request's overrides over the endpoint's defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Generation {
    pub max_tokens: u32,
    pub temperature: f32,
    pub thinking_budget: Option<u32>,
}

/// The endpoint defaults a provider keeps from its configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Defaults {
    pub max_tokens: u32,
    pub temperature: f32,
    pub thinking_budget: Option<u32>,
}

impl Defaults {
    pub fn from_config(config: &EndpointConfig) -> Self {
        Self {
            max_tokens: config.max_tokens,
            temperature: config.temperature,
            thinking_budget: config.thinking_budget,
        }
    }

    /// Applies Claude's extended-thinking constraints: the budget is at least 1024, `max_tokens` must
    /// exceed it (the budget is added when it does not, so the answer keeps its own allowance) and the
    /// temperature must be 1.
    pub fn resolve(&self, request: &ModelRequest) -> Generation {
        let thinking_budget = match request.thinking_budget {
            Some(0) => None,
            Some(budget) => Some(budget),
            None => self.thinking_budget,
        }
        .map(|b| b.max(MIN_THINKING_BUDGET));
        let mut max_tokens = request.max_tokens.unwrap_or(self.max_tokens).max(1);
        let mut temperature = request.temperature.unwrap_or(self.temperature);
        if let Some(budget) = thinking_budget {
            if max_tokens <= budget {
                max_tokens = max_tokens.saturating_add(budget);
            }
            temperature = 1.0;
        }
        Generation {
            max_tokens,
            temperature,
            thinking_budget,
        }
    }
}

/// At most this many cache breakpoints per request (Bedrock and Anthropic both allow four).
pub(crate) const MAX_CACHE_POINTS: usize = 4;

/// The reqwest client for an HTTP provider. The read timeout bounds the wait for each piece of an answer
/// (a stream stays alive while it produces), the connect timeout a dead host.
pub(crate) fn http_client(config: &EndpointConfig) -> Result<reqwest::Client, ConfigError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10).min(config.timeout()))
        .read_timeout(config.timeout())
        .build()
        .map_err(|_| ConfigError::Invalid {
            endpoint: config.name.clone(),
            field: "base_url",
            reason: "the HTTP client could not be built".to_string(),
        })
}

/// Sends a request and turns a non-success answer into a classified error.
pub(crate) async fn send(request: reqwest::RequestBuilder) -> Result<reqwest::Response, ProviderError> {
    let response = request.send().await.map_err(|e| from_reqwest(&e))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = retry_after_from_headers(response.headers());
    let body = read_bounded(response).await;
    let (code, message) = error_fields(&body);
    Err(classify_http(
        status.as_u16(),
        code.as_deref(),
        &message,
        retry_after,
    ))
}

/// Reads at most [`MAX_ERROR_BODY`] bytes of a body, lossily as text.
async fn read_bounded(response: reqwest::Response) -> String {
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    while let Some(Ok(chunk)) = chunks.next().await {
        let room = MAX_ERROR_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// Turns server-sent events of one provider into [`StreamEvent`]s.
pub(crate) trait SseDecoder: Send + 'static {
    /// One event (`event:` name, may be empty, and its `data:`). Emitting `Done` ends the stream.
    fn on_event(&mut self, event: &str, data: &str) -> Result<Vec<StreamEvent>, ProviderError>;

    /// The connection closed before `Done`.
    fn on_end(&mut self) -> Result<Vec<StreamEvent>, ProviderError>;
}

/// Wraps an SSE response body into a [`ResponseStream`] driven by `decoder`.
pub(crate) fn sse_stream<D: SseDecoder>(response: reqwest::Response, decoder: D) -> ResponseStream {
    struct State<D> {
        body: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
        parser: sse::SseParser,
        decoder: D,
        queue: VecDeque<Result<StreamEvent, ProviderError>>,
        finished: bool,
    }

    impl<D: SseDecoder> State<D> {
        fn take(&mut self, result: Result<Vec<StreamEvent>, ProviderError>) {
            match result {
                Ok(events) => {
                    for event in events {
                        let done = matches!(event, StreamEvent::Done(_));
                        self.queue.push_back(Ok(event));
                        if done {
                            self.finished = true;
                            return;
                        }
                    }
                }
                Err(error) => {
                    self.queue.push_back(Err(error));
                    self.finished = true;
                }
            }
        }
    }

    let state = State {
        body: response.bytes_stream().boxed(),
        parser: sse::SseParser::default(),
        decoder,
        queue: VecDeque::new(),
        finished: false,
    };
    let stream = futures::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(item) = state.queue.pop_front() {
                return Some((item, state));
            }
            if state.finished {
                return None;
            }
            match state.body.next().await {
                Some(Ok(chunk)) => {
                    for event in state.parser.push(&chunk) {
                        if state.finished {
                            break;
                        }
                        let result = state.decoder.on_event(&event.event, &event.data);
                        state.take(result);
                    }
                }
                Some(Err(error)) => {
                    state.queue.push_back(Err(from_reqwest(&error)));
                    state.finished = true;
                }
                None => {
                    let result = state.decoder.on_end();
                    state.take(result);
                    state.finished = true;
                }
            }
        }
    });
    Box::pin(stream)
}

/// Maps every provider's spelling of a stop reason onto ours.
pub(crate) fn stop_reason(reason: &str) -> crate::types::StopReason {
    use crate::types::StopReason;
    match reason {
        "end_turn" | "stop" => StopReason::EndTurn,
        "tool_use" | "tool_calls" | "function_call" => StopReason::ToolUse,
        "max_tokens" | "length" | "model_context_window_exceeded" => StopReason::MaxTokens,
        "stop_sequence" => StopReason::StopSequence,
        "content_filtered" | "content_filter" | "refusal" | "guardrail_intervened" => {
            StopReason::ContentFiltered
        }
        other => StopReason::Other(other.to_string()),
    }
}

/// Parses a tool's accumulated JSON input, or reports malformed output carrying the raw text.
pub(crate) fn parse_tool_input(raw: &str) -> Result<serde_json::Value, ProviderError> {
    let raw_trimmed = raw.trim();
    if raw_trimmed.is_empty() {
        return Ok(serde_json::Value::Object(serde_json::Map::new()));
    }
    serde_json::from_str(raw_trimmed).map_err(|e| {
        ProviderError::malformed(
            format!("the tool input is not valid JSON: {e}"),
            Some(raw.to_string()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinking_forces_temperature_one_and_room_for_the_answer() {
        let defaults = Defaults {
            max_tokens: 1500,
            temperature: 0.7,
            thinking_budget: Some(2000),
        };
        let generation = defaults.resolve(&ModelRequest::default());
        assert_eq!(
            generation,
            Generation {
                max_tokens: 3500,
                temperature: 1.0,
                thinking_budget: Some(2000)
            }
        );
        let off = defaults.resolve(&ModelRequest {
            thinking_budget: Some(0),
            ..ModelRequest::default()
        });
        assert_eq!(
            off,
            Generation {
                max_tokens: 1500,
                temperature: 0.7,
                thinking_budget: None
            }
        );
        let small = Defaults {
            max_tokens: 8000,
            temperature: 0.2,
            thinking_budget: Some(10),
        }
        .resolve(&ModelRequest::default());
        assert_eq!(small.thinking_budget, Some(MIN_THINKING_BUDGET));
        assert_eq!(small.max_tokens, 8000);
    }
}
