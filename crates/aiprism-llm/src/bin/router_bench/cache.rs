//! The second figure: input tokens billed for a 20-section document with and without the cacheable
//! framework + outline prefix, through the real router and request types, with a provider that bills like
//! Anthropic / Bedrock prompt caching (the prefix is written once at 125% and read at 10% afterwards).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aiprism_llm::{
    ChatMessage, Endpoint, EndpointConfig, ModelRequest, ModelResponse, Provider, ProviderError,
    ProviderKind, ResponseStream, RouterEvent, RouterObserver, StopReason, SystemBlock, TokenUsage, ToolSpec,
};
use async_trait::async_trait;
use tokio::time::Instant;

use crate::world::Rng;

/// About four characters a token, as the router estimates.
fn tokens(chars: usize) -> u64 {
    (chars as u64).div_ceil(4)
}

/// Bills requests like a provider with prompt caching: the tool definition and the system text up to the
/// last cacheable block form the prefix; a prefix seen before is read from the cache.
#[derive(Default)]
struct CachingProvider {
    seen: Mutex<HashSet<String>>,
}

#[async_trait]
impl Provider for CachingProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Anthropic
    }

    fn model(&self) -> &str {
        "claude-sonnet-4-5"
    }

    async fn complete(&self, request: &ModelRequest) -> Result<ModelResponse, ProviderError> {
        let tool = request
            .tool
            .as_ref()
            .map(|t| t.input_schema.to_string() + &t.description)
            .unwrap_or_default();
        let last_cached = request.system.iter().rposition(|b| b.cacheable);
        let mut prefix = String::new();
        let mut rest = 0;
        for (i, block) in request.system.iter().enumerate() {
            if last_cached.is_some_and(|last| i <= last) {
                prefix.push_str(&block.text);
            } else {
                rest += block.text.len();
            }
        }
        rest += request.messages.iter().map(|m| m.content.len()).sum::<usize>();
        let mut usage = TokenUsage {
            output_tokens: 700,
            ..TokenUsage::default()
        };
        if last_cached.is_some() {
            prefix.insert_str(0, &tool);
            let hit = !self
                .seen
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(prefix.clone());
            if hit {
                usage.cache_read_tokens = tokens(prefix.len());
            } else {
                usage.cache_write_tokens = tokens(prefix.len());
            }
            usage.input_tokens = tokens(rest);
        } else {
            usage.input_tokens = tokens(rest + prefix.len() + tool.len());
        }
        Ok(ModelResponse {
            text: String::new(),
            tool_input: Some(serde_json::json!({"findings": []})),
            usage,
            stop_reason: StopReason::ToolUse,
            model: "claude-sonnet-4-5".into(),
        })
    }

    async fn stream(&self, _request: &ModelRequest) -> Result<ResponseStream, ProviderError> {
        Err(ProviderError::Validation {
            message: "not used".into(),
        })
    }
}

#[derive(Default)]
struct Tokens(Mutex<TokenUsage>);

impl RouterObserver for Tokens {
    fn on_event(&self, event: &RouterEvent) {
        if let RouterEvent::Attempt(record) = event {
            let mut total = self.0.lock().unwrap_or_else(|p| p.into_inner());
            total.input_tokens += record.tokens.input_tokens;
            total.output_tokens += record.tokens.output_tokens;
            total.cache_read_tokens += record.tokens.cache_read_tokens;
            total.cache_write_tokens += record.tokens.cache_write_tokens;
        }
    }
}

/// A synthetic review prompt: a 20-checkpoint framework, the outline, and 20 sections of varied length.
struct Document {
    framework: String,
    outline: String,
    sections: Vec<String>,
}

fn document(seed: u64) -> Document {
    let mut rng = Rng::new(seed);
    let mut framework = String::from("You review investigation write-ups against this framework.\n");
    for i in 1..=20 {
        framework.push_str(&format!(
            "Checkpoint C{i:02}: {}\n",
            "State what the reader must find in the section, the evidence that supports it, the owner and \
             date of each follow-up, and how to tell a complete answer from a vague one. "
                .repeat(3)
        ));
    }
    let mut outline = String::from("Document outline:\n");
    let mut sections = Vec::new();
    for i in 1..=20 {
        outline.push_str(&format!("{i}. Section {i} title with a few words\n"));
        let words = rng.between(250.0, 900.0) as usize;
        sections.push(format!(
            "<section title=\"Section {i}\">{}</section>",
            "word ".repeat(words)
        ));
    }
    Document {
        framework,
        outline,
        sections,
    }
}

/// Billed input of one document review, with or without the cacheable prefix.
async fn review_document(
    doc: &Document,
    cacheable: bool,
) -> Result<(TokenUsage, f64), aiprism_llm::RouterError> {
    let mut config = EndpointConfig::new(ProviderKind::Anthropic, "claude-sonnet-4-5");
    config.requests_per_minute = 0;
    config.tokens_per_minute = 0;
    let totals = Arc::new(Tokens::default());
    let router = aiprism_llm::Router::builder(vec![Endpoint::new(
        config.clone(),
        Arc::new(CachingProvider::default()),
    )])
    .observer(totals.clone())
    .build()
    .map_err(|e| aiprism_llm::RouterError::Exhausted {
        failures: vec![aiprism_llm::AttemptFailure {
            endpoint: "bench".into(),
            kind: aiprism_llm::ErrorKind::Validation,
            message: e.to_string(),
            usage: Default::default(),
        }],
    })?;
    let shared = format!("{}\n{}", doc.framework, doc.outline);
    let tool = ToolSpec {
        name: "report_findings".into(),
        description: "Report the findings of one section.".into(),
        input_schema: serde_json::json!({"type": "object", "properties": {"findings": {"type": "array", "items": {
            "type": "object", "properties": {"quote": {"type": "string"}, "description": {"type": "string"},
            "risk": {"enum": ["high", "medium", "low"]}, "confidence": {"type": "number"}}}}}}),
    };
    for section in &doc.sections {
        let request = ModelRequest {
            system: vec![
                SystemBlock {
                    text: shared.clone(),
                    cacheable,
                },
                SystemBlock::plain("Review only the section below. Quote the text each finding is about."),
            ],
            messages: vec![ChatMessage::user(section.clone())],
            tool: Some(tool.clone()),
            ..ModelRequest::default()
        };
        router
            .call(
                &request,
                Instant::now() + Duration::from_secs(60),
                |r| Ok(r.usage),
            )
            .await?;
    }
    let usage = *totals.0.lock().unwrap_or_else(|p| p.into_inner());
    // The input side of the bill: full-rate input, cache writes and cache reads at their own prices.
    let input_cost = (usage.input_tokens as f64 * config.price_input_per_mtok
        + usage.cache_write_tokens as f64 * config.price_cache_write_per_mtok
        + usage.cache_read_tokens as f64 * config.price_cache_read_per_mtok)
        / 1e6;
    Ok((usage, input_cost))
}

/// Prints the cache figure.
pub async fn report(seed: u64) -> Result<(), aiprism_llm::RouterError> {
    let doc = document(seed);
    let (plain, plain_cost) = review_document(&doc, false).await?;
    let (cached, cached_cost) = review_document(&doc, true).await?;
    let full = |u: &TokenUsage| u.input_tokens + u.cache_write_tokens;
    let reduction = |a: f64, b: f64| 100.0 * (1.0 - b / a);
    println!(
        "Figure 2: input tokens of one 20-section document (prefix = framework + outline + tool schema)"
    );
    println!(
        "  {:<34} {:>14} {:>14} {:>12}",
        "", "full-rate in", "cache reads", "input $"
    );
    println!(
        "  {:<34} {:>14} {:>14} {:>12.4}",
        "without cacheable prefix",
        full(&plain),
        plain.cache_read_tokens,
        plain_cost
    );
    println!(
        "  {:<34} {:>14} {:>14} {:>12.4}",
        "with cacheable prefix (1 write)",
        full(&cached),
        cached.cache_read_tokens,
        cached_cost
    );
    println!(
        "  billed input tokens at the full rate: {:.1}% fewer; input cost: {:.1}% lower (target >= 40%)",
        reduction(full(&plain) as f64, full(&cached) as f64),
        reduction(plain_cost, cached_cost)
    );
    Ok(())
}
