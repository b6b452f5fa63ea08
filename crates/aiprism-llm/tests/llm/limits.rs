//! Rate budgets under a paused clock, with in-process providers (real HTTP and a paused clock do not mix:
//! the runtime would fire client timeouts while a loopback answer is on its way).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aiprism_llm::{
    EndpointConfig, GlobalLimits, ModelRequest, ModelResponse, Provider, ProviderError, ProviderKind,
    ResponseStream, Router, RouterError, StopReason, TokenUsage,
};
use async_trait::async_trait;
use tokio::time::Instant;

use crate::settings;

/// Answers every call after `latency` with fixed usage.
struct Instant200 {
    model: String,
    latency: Duration,
    usage: TokenUsage,
    calls: AtomicU32,
}

#[async_trait]
impl Provider for Instant200 {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Bedrock
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn complete(&self, _request: &ModelRequest) -> Result<ModelResponse, ProviderError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.latency).await;
        Ok(ModelResponse {
            text: "ok".into(),
            tool_input: None,
            usage: self.usage,
            stop_reason: StopReason::EndTurn,
            model: self.model.clone(),
        })
    }

    async fn stream(&self, _request: &ModelRequest) -> Result<ResponseStream, ProviderError> {
        Err(ProviderError::Validation {
            message: "not used".into(),
        })
    }
}

fn simulated(name: &str, rpm: u32, tpm: u64, usage: TokenUsage) -> (aiprism_llm::Endpoint, Arc<Instant200>) {
    let mut config = EndpointConfig::new(ProviderKind::Bedrock, name);
    config.requests_per_minute = rpm;
    config.tokens_per_minute = tpm;
    config.max_concurrency = 0;
    config.max_tokens = 4000;
    let provider = Arc::new(Instant200 {
        model: name.into(),
        latency: Duration::from_millis(100),
        usage,
        calls: AtomicU32::new(0),
    });
    (aiprism_llm::Endpoint::new(config, provider.clone()), provider)
}

fn text(response: &ModelResponse) -> Result<String, String> {
    Ok(response.text.clone())
}

/// A request whose estimate is 2,000 prompt tokens + a quarter of 4,000 output tokens = 3,000 tokens.
fn big_request() -> ModelRequest {
    ModelRequest {
        messages: vec![aiprism_llm::ChatMessage::user("x".repeat(8000))],
        ..ModelRequest::default()
    }
}

#[tokio::test(start_paused = true)]
async fn calls_wait_for_capacity_instead_of_failing_and_give_up_at_their_deadline() {
    let (a, a_calls) = simulated("a", 2, 0, TokenUsage::default());
    let (b, b_calls) = simulated("b", 2, 0, TokenUsage::default());
    let router = Router::builder(vec![a, b])
        .settings(settings())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let request = ModelRequest::default();
    let start = Instant::now();
    for expected in ["a", "a", "b", "b"] {
        let routed = router
            .call(&request, start + Duration::from_secs(60), text)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(routed.endpoint, expected);
    }
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "the first four fit in the budgets"
    );

    // Both budgets are spent: the next call waits for the first refill (one request per 30 s) and succeeds.
    let routed = router
        .call(&request, start + Duration::from_secs(60), text)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        start.elapsed() >= Duration::from_secs(29),
        "waited {:?}",
        start.elapsed()
    );
    assert_eq!(routed.endpoint, "a");
    let routed = router
        .call(&request, start + Duration::from_secs(60), text)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(routed.endpoint, "b", "b refilled a moment after a");

    // With a short deadline the wait is bounded and the error says so.
    let short = Instant::now() + Duration::from_secs(5);
    let error = router.call(&request, short, text).await.err();
    assert!(
        matches!(error, Some(RouterError::DeadlineExceeded { .. })),
        "{error:?}"
    );
    assert!(Instant::now() >= short && Instant::now() < short + Duration::from_millis(50));
    assert_eq!(
        a_calls.calls.load(Ordering::SeqCst) + b_calls.calls.load(Ordering::SeqCst),
        6
    );
}

#[tokio::test(start_paused = true)]
async fn token_reservations_are_reconciled_with_the_usage_the_provider_reports() {
    // Each call reserves ~3,000 tokens of a 10,000 tokens/minute budget but uses only 100.
    let small = TokenUsage {
        input_tokens: 80,
        output_tokens: 20,
        ..TokenUsage::default()
    };
    let (a, calls) = simulated("a", 0, 10_000, small);
    let router = Router::builder(vec![a])
        .settings(settings())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    for _ in 0..10 {
        router
            .call(&big_request(), start + Duration::from_secs(600), text)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(calls.calls.load(Ordering::SeqCst), 10);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "refunds kept the budget open: {:?}",
        start.elapsed()
    );

    // A call that used far more than reserved is paid back before new work starts.
    let heavy = TokenUsage {
        input_tokens: 9_000,
        output_tokens: 1_000,
        ..TokenUsage::default()
    };
    let (b, _) = simulated("b", 0, 10_000, heavy);
    let router = Router::builder(vec![b])
        .settings(settings())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    router
        .call(&big_request(), start + Duration::from_secs(600), text)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    router
        .call(&big_request(), start + Duration::from_secs(600), text)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        start.elapsed() >= Duration::from_secs(17),
        "the overuse delayed the next call: {:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn the_global_request_budget_spans_every_endpoint() {
    let (a, _) = simulated("a", 100, 0, TokenUsage::default());
    let (b, _) = simulated("b", 100, 0, TokenUsage::default());
    let router = Router::builder(vec![a, b])
        .settings(settings())
        .global_limits(GlobalLimits {
            max_requests_per_minute: Some(3),
            ..GlobalLimits::default()
        })
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    for _ in 0..4 {
        router
            .call(&ModelRequest::default(), start + Duration::from_secs(60), text)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(
        start.elapsed() >= Duration::from_secs(19),
        "the fourth call waited for the global refill"
    );
}
