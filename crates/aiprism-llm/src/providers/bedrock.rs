//! Amazon Bedrock through the official SDK: Converse and ConverseStream, SDK retries off (the router is the
//! only retry loop), explicit timeouts, cache points, forced tool use and extended thinking.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::timeout::TimeoutConfig;
use aws_sdk_bedrockruntime::config::{
    Credentials, Region, SharedCredentialsProvider, StalledStreamProtectionConfig,
};
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::types::{
    AutoToolChoice, CachePointBlock, CachePointType, ContentBlock, ContentBlockDelta, ContentBlockStart,
    ConversationRole, ConverseOutput, ConverseStreamOutput, InferenceConfiguration, Message,
    SpecificToolChoice, SystemContentBlock, Tool, ToolChoice, ToolConfiguration, ToolInputSchema,
    ToolSpecification,
};
use aws_smithy_types::{Document, Number};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::{Defaults, MAX_CACHE_POINTS, parse_tool_input, stop_reason};
use crate::config::EndpointConfig;
use crate::error::{ConfigError, ProviderError, classify_http, mentions_context_too_long, summarize};
use crate::provider::{Provider, ProviderKind};
use crate::types::{ModelRequest, ModelResponse, ResponseStream, Role, StreamEvent, TokenUsage};

/// Region used when neither the configuration nor the SDK's chain names one (the original's fallback).
const FALLBACK_REGION: &str = "us-east-1";

/// A Bedrock model (plain id, or a `us.` / `eu.` / `apac.` cross-region inference profile id).
pub struct BedrockProvider {
    client: Client,
    model: String,
    defaults: Defaults,
}

impl std::fmt::Debug for BedrockProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BedrockProvider")
            .field("model", &self.model)
            .finish()
    }
}

/// The HTTP client for the SDK: hyper + rustls with ring, the crypto provider the rest of the workspace
/// already compiles (the SDK's default would add aws-lc).
fn https_client() -> aws_sdk_bedrockruntime::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider as TlsProvider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(TlsProvider::Rustls(CryptoMode::Ring))
        .build_https()
}

impl BedrockProvider {
    /// Builds the provider with region and credentials from the SDK's default chain (environment,
    /// profile, web identity, ECS/EC2 roles). `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` is honoured by the SDK;
    /// `base_url` overrides it. An `api_key` is sent as a Bedrock API key (bearer token).
    pub async fn new(config: &EndpointConfig) -> Result<Self, ConfigError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(https_client());
        if let Some(region) = &config.region {
            loader = loader.region(Region::new(region.clone()));
        }
        let sdk = loader.load().await;
        Self::with_sdk_config(config, &sdk)
    }

    /// Builds the provider with explicit static credentials (tests, or keys handed over by a secret store).
    pub fn with_static_credentials(
        config: &EndpointConfig,
        access_key_id: &str,
        secret_access_key: &SecretString,
    ) -> Result<Self, ConfigError> {
        let credentials = Credentials::new(
            access_key_id,
            secret_access_key.expose_secret(),
            None,
            None,
            "aiprism-static",
        );
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(
                config
                    .region
                    .clone()
                    .unwrap_or_else(|| FALLBACK_REGION.to_string()),
            ))
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build();
        Self::with_sdk_config(config, &sdk)
    }

    /// Builds the provider from an already loaded SDK configuration, applying our policies on top: SDK
    /// retries off, explicit timeouts, no stalled-stream cut-off (the timeouts cover a silent server).
    pub fn with_sdk_config(config: &EndpointConfig, sdk: &SdkConfig) -> Result<Self, ConfigError> {
        let timeout = config.timeout();
        let mut builder = aws_sdk_bedrockruntime::config::Builder::from(sdk)
            .http_client(https_client())
            .retry_config(RetryConfig::disabled())
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10).min(timeout))
                    .read_timeout(timeout)
                    .operation_attempt_timeout(timeout)
                    .build(),
            );
        if sdk.region().is_none() {
            let region = config
                .region
                .clone()
                .unwrap_or_else(|| FALLBACK_REGION.to_string());
            builder = builder.region(Region::new(region));
        }
        if let Some(url) = &config.base_url {
            builder = builder.endpoint_url(url.trim_end_matches('/'));
        }
        if let Some(key) = &config.api_key {
            builder = builder.bearer_token(aws_sdk_bedrockruntime::config::Token::new(
                key.expose_secret(),
                None,
            ));
        }
        Ok(Self {
            client: Client::from_conf(builder.build()),
            model: config.model.clone(),
            defaults: Defaults::from_config(config),
        })
    }

    /// Translates our request into the Converse shapes shared by both operations.
    fn parts(&self, request: &ModelRequest) -> Result<Parts, ProviderError> {
        let generation = self.defaults.resolve(request);
        let build_error = |what: &str| ProviderError::Validation {
            message: format!("could not build the {what}"),
        };
        let mut system = Vec::new();
        let mut cache_points = 0;
        for block in &request.system {
            system.push(SystemContentBlock::Text(block.text.clone()));
            if block.cacheable && cache_points < MAX_CACHE_POINTS {
                cache_points += 1;
                let point = CachePointBlock::builder()
                    .r#type(CachePointType::Default)
                    .build()
                    .map_err(|_| build_error("cache point"))?;
                system.push(SystemContentBlock::CachePoint(point));
            }
        }
        let mut messages = Vec::with_capacity(request.messages.len());
        for message in &request.messages {
            let role = match message.role {
                Role::User => ConversationRole::User,
                Role::Assistant => ConversationRole::Assistant,
            };
            let built = Message::builder()
                .role(role)
                .content(ContentBlock::Text(message.content.clone()))
                .build()
                .map_err(|_| build_error("message"))?;
            messages.push(built);
        }
        let inference = InferenceConfiguration::builder()
            .max_tokens(i32::try_from(generation.max_tokens).unwrap_or(i32::MAX))
            .temperature(generation.temperature)
            .build();
        let tools = match &request.tool {
            None => None,
            Some(tool) => {
                let spec = ToolSpecification::builder()
                    .name(&tool.name)
                    .description(&tool.description)
                    .input_schema(ToolInputSchema::Json(to_document(&tool.input_schema)))
                    .build()
                    .map_err(|_| build_error("tool specification"))?;
                // Claude refuses a forced tool while thinking; the model is then asked, not forced.
                let choice = if generation.thinking_budget.is_some() {
                    ToolChoice::Auto(AutoToolChoice::builder().build())
                } else {
                    ToolChoice::Tool(
                        SpecificToolChoice::builder()
                            .name(&tool.name)
                            .build()
                            .map_err(|_| build_error("tool choice"))?,
                    )
                };
                Some(
                    ToolConfiguration::builder()
                        .tools(Tool::ToolSpec(spec))
                        .tool_choice(choice)
                        .build()
                        .map_err(|_| build_error("tool configuration"))?,
                )
            }
        };
        let additional = generation.thinking_budget.map(|budget| {
            Document::Object(HashMap::from([(
                "thinking".to_string(),
                Document::Object(HashMap::from([
                    ("type".to_string(), Document::String("enabled".to_string())),
                    (
                        "budget_tokens".to_string(),
                        Document::Number(Number::PosInt(u64::from(budget))),
                    ),
                ])),
            )]))
        });
        Ok(Parts {
            system,
            messages,
            inference,
            tools,
            additional,
        })
    }
}

/// The Converse request pieces.
struct Parts {
    system: Vec<SystemContentBlock>,
    messages: Vec<Message>,
    inference: InferenceConfiguration,
    tools: Option<ToolConfiguration>,
    additional: Option<Document>,
}

#[async_trait]
impl Provider for BedrockProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Bedrock
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn complete(&self, request: &ModelRequest) -> Result<ModelResponse, ProviderError> {
        let parts = self.parts(request)?;
        let output = self
            .client
            .converse()
            .model_id(&self.model)
            .set_system(Some(parts.system).filter(|s| !s.is_empty()))
            .set_messages(Some(parts.messages))
            .inference_config(parts.inference)
            .set_tool_config(parts.tools)
            .set_additional_model_request_fields(parts.additional)
            .send()
            .await
            .map_err(|e| classify_sdk(&e))?;
        let mut text = String::new();
        let mut tool_input = None;
        if let Some(ConverseOutput::Message(message)) = output.output() {
            for block in message.content() {
                match block {
                    ContentBlock::Text(t) => text.push_str(t),
                    ContentBlock::ToolUse(tool) => tool_input = Some(from_document(tool.input())),
                    _ => {}
                }
            }
        }
        Ok(ModelResponse {
            text,
            tool_input,
            usage: output.usage().map(usage).unwrap_or_default(),
            stop_reason: stop_reason(output.stop_reason().as_str()),
            model: self.model.clone(),
        })
    }

    async fn stream(&self, request: &ModelRequest) -> Result<ResponseStream, ProviderError> {
        let parts = self.parts(request)?;
        let output = self
            .client
            .converse_stream()
            .model_id(&self.model)
            .set_system(Some(parts.system).filter(|s| !s.is_empty()))
            .set_messages(Some(parts.messages))
            .inference_config(parts.inference)
            .set_tool_config(parts.tools)
            .set_additional_model_request_fields(parts.additional)
            .send()
            .await
            .map_err(|e| classify_sdk(&e))?;
        let state = StreamState {
            receiver: output.stream,
            model: self.model.clone(),
            text: String::new(),
            tool_json: None,
            usage: TokenUsage::default(),
            stop_reason: None,
            finished: false,
        };
        let stream = futures::stream::unfold(state, |mut state| async move {
            if state.finished {
                return None;
            }
            loop {
                match state.receiver.recv().await {
                    Ok(Some(event)) => match state.on_event(event) {
                        Ok(Some(delta)) => return Some((Ok(delta), state)),
                        Ok(None) => {}
                        Err(error) => {
                            state.finished = true;
                            return Some((Err(error), state));
                        }
                    },
                    Ok(None) => {
                        state.finished = true;
                        return Some((state.finish(), state));
                    }
                    Err(error) => {
                        state.finished = true;
                        return Some((Err(classify_sdk(&error)), state));
                    }
                }
            }
        });
        Ok(Box::pin(stream))
    }
}

/// Assembles ConverseStream events.
struct StreamState {
    receiver: aws_sdk_bedrockruntime::primitives::event_stream::EventReceiver<
        ConverseStreamOutput,
        aws_sdk_bedrockruntime::types::error::ConverseStreamOutputError,
    >,
    model: String,
    text: String,
    tool_json: Option<String>,
    usage: TokenUsage,
    stop_reason: Option<String>,
    finished: bool,
}

impl StreamState {
    fn on_event(&mut self, event: ConverseStreamOutput) -> Result<Option<StreamEvent>, ProviderError> {
        match event {
            ConverseStreamOutput::ContentBlockStart(start) => {
                if let Some(ContentBlockStart::ToolUse(_)) = start.start() {
                    self.tool_json.get_or_insert_with(String::new);
                }
            }
            ConverseStreamOutput::ContentBlockDelta(delta) => match delta.delta() {
                Some(ContentBlockDelta::Text(text)) if !text.is_empty() => {
                    self.text.push_str(text);
                    return Ok(Some(StreamEvent::TextDelta(text.clone())));
                }
                Some(ContentBlockDelta::ToolUse(tool)) => {
                    self.tool_json
                        .get_or_insert_with(String::new)
                        .push_str(tool.input());
                }
                _ => {}
            },
            ConverseStreamOutput::MessageStop(stop) => {
                self.stop_reason = Some(stop.stop_reason().as_str().to_string());
            }
            ConverseStreamOutput::Metadata(metadata) => {
                if let Some(u) = metadata.usage() {
                    self.usage = usage(u);
                }
            }
            _ => {}
        }
        Ok(None)
    }

    fn finish(&mut self) -> Result<StreamEvent, ProviderError> {
        let Some(reason) = self.stop_reason.take() else {
            return Err(ProviderError::transport(
                "the ConverseStream ended before messageStop",
            ));
        };
        let tool_input = match self.tool_json.take() {
            Some(json) => Some(parse_tool_input(&json)?),
            None => None,
        };
        Ok(StreamEvent::Done(ModelResponse {
            text: std::mem::take(&mut self.text),
            tool_input,
            usage: self.usage,
            stop_reason: stop_reason(&reason),
            model: self.model.clone(),
        }))
    }
}

fn usage(u: &aws_sdk_bedrockruntime::types::TokenUsage) -> TokenUsage {
    let n = |v: i32| u64::try_from(v).unwrap_or(0);
    TokenUsage {
        input_tokens: n(u.input_tokens()),
        output_tokens: n(u.output_tokens()),
        cache_read_tokens: n(u.cache_read_input_tokens().unwrap_or(0)),
        cache_write_tokens: n(u.cache_write_input_tokens().unwrap_or(0)),
    }
}

/// Access to the HTTP status and `Retry-After` of an SDK error's raw response, when it has one.
trait RawStatus {
    fn status_and_retry_after(&self) -> (Option<u16>, Option<Duration>);
}

impl RawStatus for aws_sdk_bedrockruntime::config::http::HttpResponse {
    fn status_and_retry_after(&self) -> (Option<u16>, Option<Duration>) {
        let retry_after = self
            .headers()
            .get("retry-after")
            .and_then(|v| crate::error::parse_retry_after(v, std::time::SystemTime::now()));
        (Some(self.status().as_u16()), retry_after)
    }
}

impl RawStatus for aws_smithy_types::event_stream::RawMessage {
    fn status_and_retry_after(&self) -> (Option<u16>, Option<Duration>) {
        (None, None)
    }
}

/// Classifies an SDK error by its AWS error code first, HTTP status second.
fn classify_sdk<E, R>(error: &SdkError<E, R>) -> ProviderError
where
    E: ProvideErrorMetadata,
    R: RawStatus,
{
    match error {
        SdkError::TimeoutError(_) => ProviderError::Timeout {
            message: "no answer before the endpoint timeout".into(),
        },
        SdkError::DispatchFailure(failure) if failure.is_timeout() => ProviderError::Timeout {
            message: "no answer before the endpoint timeout".into(),
        },
        SdkError::DispatchFailure(_) => ProviderError::transport("could not reach the Bedrock endpoint"),
        SdkError::ResponseError(_) => ProviderError::Server {
            status: None,
            message: "the Bedrock answer could not be read".into(),
        },
        SdkError::ConstructionFailure(_) => ProviderError::Validation {
            message: "the Bedrock request could not be built".into(),
        },
        SdkError::ServiceError(context) => {
            let (status, retry_after) = context.raw().status_and_retry_after();
            classify_code(context.err().code(), context.err().message(), status, retry_after)
        }
        _ => ProviderError::transport("the Bedrock call failed"),
    }
}

/// Maps a Bedrock error code (`ThrottlingException`, `throttlingException` in streams...) to our classes.
fn classify_code(
    code: Option<&str>,
    message: Option<&str>,
    status: Option<u16>,
    retry_after: Option<Duration>,
) -> ProviderError {
    let code_text = code.unwrap_or("");
    let message_text = message.unwrap_or("");
    let summary = summarize(&match status {
        Some(status) => format!("HTTP {status} {code_text}: {message_text}"),
        None => format!("{code_text}: {message_text}"),
    });
    match code_text.to_ascii_lowercase().as_str() {
        "throttlingexception"
        | "serviceunavailableexception"
        | "modelnotreadyexception"
        | "servicequotaexceededexception"
        | "toomanyrequestsexception" => ProviderError::Throttled {
            retry_after,
            message: summary,
        },
        "modeltimeoutexception" | "requesttimeout" | "requesttimeoutexception" => {
            ProviderError::Timeout { message: summary }
        }
        "internalserverexception" | "modelerrorexception" | "modelstreamerrorexception" => {
            ProviderError::Server {
                status,
                message: summary,
            }
        }
        "accessdeniedexception"
        | "unrecognizedclientexception"
        | "invalidsignatureexception"
        | "expiredtokenexception"
        | "incompletesignature"
        | "missingauthenticationtoken"
        | "invalidclienttokenid"
        | "unauthorizedexception" => ProviderError::Auth { message: summary },
        "resourcenotfoundexception" => ProviderError::NotFound { message: summary },
        "validationexception" if mentions_context_too_long(message_text) => {
            ProviderError::ContextTooLong { message: summary }
        }
        "validationexception" => ProviderError::Validation { message: summary },
        _ => match status {
            Some(status) => classify_http(status, code, message_text, retry_after),
            None => ProviderError::Server {
                status: None,
                message: summary,
            },
        },
    }
}

/// serde_json -> smithy Document (tool schemas).
fn to_document(value: &Value) -> Document {
    match value {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => Document::Number(match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Number::PosInt(u),
            (None, Some(i)) => Number::NegInt(i),
            _ => Number::Float(n.as_f64().unwrap_or(0.0)),
        }),
        Value::String(s) => Document::String(s.clone()),
        Value::Array(items) => Document::Array(items.iter().map(to_document).collect()),
        Value::Object(map) => {
            Document::Object(map.iter().map(|(k, v)| (k.clone(), to_document(v))).collect())
        }
    }
}

/// smithy Document -> serde_json (tool inputs).
fn from_document(document: &Document) -> Value {
    match document {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Document::String(s) => Value::String(s.clone()),
        Document::Array(items) => Value::Array(items.iter().map(from_document).collect()),
        Document::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), from_document(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn documents_round_trip_through_json() {
        let value = serde_json::json!({"a": [1, -2, 2.5, "x", null, true], "b": {"c": {}}});
        assert_eq!(from_document(&to_document(&value)), value);
    }

    #[test]
    fn bedrock_error_codes_map_to_router_actions() {
        let kind =
            |code: &str, message: &str| classify_code(Some(code), Some(message), Some(400), None).kind();
        assert_eq!(
            kind("ThrottlingException", "Too many requests"),
            ErrorKind::Throttled
        );
        assert_eq!(
            kind("throttlingException", "Too many tokens"),
            ErrorKind::Throttled
        );
        assert_eq!(kind("ServiceUnavailableException", "busy"), ErrorKind::Throttled);
        assert_eq!(
            kind("ValidationException", "Input is too long for requested model."),
            ErrorKind::ContextTooLong
        );
        assert_eq!(
            kind("ValidationException", "The provided model identifier is invalid."),
            ErrorKind::Validation
        );
        assert_eq!(kind("AccessDeniedException", "no access"), ErrorKind::Auth);
        assert_eq!(kind("UnrecognizedClientException", "bad token"), ErrorKind::Auth);
        assert_eq!(
            kind("ResourceNotFoundException", "no such model"),
            ErrorKind::NotFound
        );
        assert_eq!(kind("ModelErrorException", "oops"), ErrorKind::Server);
    }
}
