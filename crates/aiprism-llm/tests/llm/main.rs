//! Integration tests of the providers and the router, through real HTTP against the fake servers of
//! `aiprism-testkit` (and, for exact timing of rate budgets, in-process providers under a paused clock).

mod limit_state;
mod limits;
mod providers;
mod router;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aiprism_fakes::fake_llm::{FakeLlm, FakeProvider};
use aiprism_llm::providers::BedrockProvider;
use aiprism_llm::{
    ChatMessage, CooldownPolicy, Endpoint, EndpointConfig, ModelRequest, ModelResponse, Provider,
    ProviderKind, RouterEvent, RouterObserver, RouterSettings, SystemBlock, ToolSpec, build_provider,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::time::Instant;

/// The API key every test endpoint uses; tests check it never leaks.
pub const TEST_API_KEY: &str = "sk-test-secret-4242";

/// Starts a fake model server.
pub async fn fake() -> FakeLlm {
    FakeLlm::start()
        .await
        .unwrap_or_else(|e| panic!("fake server did not start: {e}"))
}

/// An endpoint configuration pointing at the fake, unlimited, with short timeouts.
pub fn config(kind: ProviderKind, model: &str, fake: &FakeLlm) -> EndpointConfig {
    let mut config = EndpointConfig::new(kind, model);
    let provider = match kind {
        ProviderKind::Bedrock => FakeProvider::Bedrock,
        ProviderKind::Anthropic => FakeProvider::Anthropic,
        ProviderKind::Openai => FakeProvider::Openai,
    };
    config.base_url = Some(fake.base_url(provider));
    config.region = Some("us-east-1".into());
    if kind != ProviderKind::Bedrock {
        config.api_key = Some(SecretString::from(TEST_API_KEY));
    }
    config.requests_per_minute = 0;
    config.tokens_per_minute = 0;
    config.max_concurrency = 0;
    config.timeout_secs = 3.0;
    config.price_input_per_mtok = 3.0;
    config.price_output_per_mtok = 15.0;
    config.price_cache_read_per_mtok = 0.3;
    config.price_cache_write_per_mtok = 3.75;
    config
}

/// Builds the provider; Bedrock gets static fake credentials (the default chain is not consulted, so the
/// tests need no environment).
pub async fn provider(config: &EndpointConfig) -> Arc<dyn Provider> {
    match config.provider {
        ProviderKind::Bedrock => Arc::new(
            BedrockProvider::with_static_credentials(config, "AKIDFAKE", &SecretString::from("fake-secret"))
                .unwrap_or_else(|e| panic!("{e}")),
        ),
        _ => build_provider(config).await.unwrap_or_else(|e| panic!("{e}")),
    }
}

/// An endpoint of the router.
pub async fn endpoint(config: EndpointConfig) -> Endpoint {
    let provider = provider(&config).await;
    Endpoint::new(config, provider)
}

/// Short cooldowns so tests run in well under a second per rule.
pub fn settings() -> RouterSettings {
    RouterSettings {
        cooldown: CooldownPolicy {
            base: Duration::from_millis(400),
            factor: 3,
            max: Duration::from_secs(2),
            window: Duration::from_secs(2),
            min: Duration::from_millis(10),
            max_retry_after: Duration::from_secs(10),
        },
        max_attempts: 24,
        // Whole-minute buckets keep the arithmetic of the limit tests simple.
        burst: Duration::from_secs(60),
    }
}

/// The tool schema of a section review.
pub fn findings_schema() -> Value {
    json!({
        "type": "object",
        "required": ["findings"],
        "properties": {"findings": {"type": "array", "items": {"type": "object", "required": ["quote", "risk"],
            "properties": {
                "quote": {"type": "string"},
                "description": {"type": "string"},
                "risk": {"type": "string", "enum": ["high", "medium", "low"]},
                "confidence": {"type": "number"}
            }}}}
    })
}

/// A section review request: cacheable framework + outline, then the section.
pub fn review_request() -> ModelRequest {
    ModelRequest {
        system: vec![
            SystemBlock::cached(
                "You review incident write-ups against the framework below.\nFRAMEWORK: 20 checkpoints ...\nOUTLINE: 1. Summary 2. Timeline",
            ),
            SystemBlock::plain("Report findings with the report_findings tool."),
        ],
        messages: vec![ChatMessage::user(
            "Review this section.\n<section title=\"Timeline\">The outage began at 09:14 UTC. Paging failed.</section>",
        )],
        tool: Some(ToolSpec {
            name: "report_findings".into(),
            description: "Report the findings of one section".into(),
            input_schema: findings_schema(),
        }),
        ..ModelRequest::default()
    }
}

/// A chat request (plain text).
pub fn chat_request() -> ModelRequest {
    ModelRequest {
        system: vec![SystemBlock::plain("You help a reviewer.")],
        messages: vec![
            ChatMessage::user("What is this document about?"),
            ChatMessage::assistant("An outage."),
            ChatMessage::user("When did the outage start? Be brief."),
        ],
        ..ModelRequest::default()
    }
}

/// The validator of a section review: a `findings` array whose items quote text.
pub fn quotes(response: &ModelResponse) -> Result<Vec<String>, String> {
    let output = response.json_output()?;
    let findings = output
        .get("findings")
        .and_then(Value::as_array)
        .ok_or_else(|| "`findings` must be an array".to_string())?;
    findings
        .iter()
        .map(|f| {
            f.get("quote")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| "every finding needs a quote".to_string())
        })
        .collect()
}

/// A deadline this far from now.
pub fn deadline(secs: u64) -> Instant {
    Instant::now() + Duration::from_secs(secs)
}

/// Collects router events.
#[derive(Default)]
pub struct Events(pub Mutex<Vec<RouterEvent>>);

impl RouterObserver for Events {
    fn on_event(&self, event: &RouterEvent) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event.clone());
    }
}

impl Events {
    /// A copy of the events so far.
    pub fn all(&self) -> Vec<RouterEvent> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
