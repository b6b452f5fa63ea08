//! The one trait every model provider implements, so the router (and tests, and benchmarks) can hold any
//! of them as `Arc<dyn Provider>`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::ProviderError;
use crate::types::{ModelRequest, ModelResponse, ResponseStream};

/// Which wire protocol an endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Amazon Bedrock Converse / ConverseStream through the AWS SDK.
    Bedrock,
    /// The Anthropic Messages API.
    Anthropic,
    /// An OpenAI-compatible chat completions API (OpenAI, Ollama, vLLM, llama.cpp server).
    #[serde(alias = "openai-compatible", alias = "openai_compatible")]
    Openai,
}

impl ProviderKind {
    /// Stable lowercase name, as written in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Bedrock => "bedrock",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Openai => "openai",
        }
    }
}

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A model endpoint that can answer a [`ModelRequest`].
///
/// Implementations make exactly one attempt per call (no internal retries: the router is the only retry
/// loop) and classify every failure into a [`ProviderError`]. Request fields left `None` take the
/// endpoint's configured defaults.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The wire protocol, for snapshots and logs.
    fn kind(&self) -> ProviderKind;

    /// The configured model id.
    fn model(&self) -> &str;

    /// One complete (non-streaming) call.
    async fn complete(&self, request: &ModelRequest) -> Result<ModelResponse, ProviderError>;

    /// One streaming call: text deltas, then a final `Done` with the whole response. An error before the
    /// stream starts is returned directly; one after it is the stream's last item.
    async fn stream(&self, request: &ModelRequest) -> Result<ResponseStream, ProviderError>;
}
