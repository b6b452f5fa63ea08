//! Each provider's happy path (complete, stream, tool use) and wire details, against the fakes.

use aiprism_fakes::fake_llm::Behavior;
use aiprism_llm::{ModelRequest, ProviderKind, StopReason, StreamEvent, StructuredOutput};
use futures::StreamExt;
use serde_json::{Value, json};

use crate::{TEST_API_KEY, chat_request, config, fake, provider, quotes, review_request};

const SONNET: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";

/// Drains a stream into (deltas, final response).
async fn drain(mut stream: aiprism_llm::ResponseStream) -> (Vec<String>, aiprism_llm::ModelResponse) {
    let mut deltas = Vec::new();
    while let Some(item) = stream.next().await {
        match item.unwrap_or_else(|e| panic!("stream failed: {e}")) {
            StreamEvent::TextDelta(text) => deltas.push(text),
            StreamEvent::Done(response) => return (deltas, response),
        }
    }
    panic!("stream ended without Done");
}

#[tokio::test]
async fn bedrock_converse_forces_the_tool_and_places_a_cache_point_after_the_cacheable_prefix() {
    let fake = fake().await;
    let bedrock = provider(&config(ProviderKind::Bedrock, SONNET, &fake)).await;
    let response = bedrock
        .complete(&review_request())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        quotes(&response),
        Ok(vec!["The outage began at 09:14 UTC.".to_string()])
    );
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert!(
        response.usage.cache_write_tokens > 0,
        "the first call writes the prefix to the cache"
    );

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        request.model, SONNET,
        "the profile-prefixed id reaches the path intact"
    );
    assert_eq!(
        request.path,
        "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"
    );
    assert!(
        request
            .headers
            .get("authorization")
            .is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256"))
    );
    let system = request.body["system"].as_array().cloned().unwrap_or_default();
    assert_eq!(system.len(), 3);
    assert!(system[0].get("text").is_some());
    assert_eq!(system[1], json!({"cachePoint": {"type": "default"}}));
    assert!(system[2].get("text").is_some());
    assert_eq!(
        request.body["toolConfig"]["toolChoice"],
        json!({"tool": {"name": "report_findings"}})
    );
    assert_eq!(request.body["inferenceConfig"]["maxTokens"], 4096);
    assert!(request.body.get("additionalModelRequestFields").is_none());

    let second = bedrock
        .complete(&review_request())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(second.usage.cache_read_tokens > 0 && second.usage.cache_write_tokens == 0);
    assert!(second.usage.input_tokens < response.usage.input_tokens + response.usage.cache_write_tokens);
}

#[tokio::test]
async fn bedrock_sends_thinking_fields_when_a_budget_is_configured() {
    let fake = fake().await;
    let mut cfg = config(ProviderKind::Bedrock, SONNET, &fake);
    cfg.thinking_budget = Some(2000);
    cfg.max_tokens = 1500;
    cfg.temperature = 0.3;
    let bedrock = provider(&cfg).await;
    bedrock
        .complete(&review_request())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let body = &fake.requests()[0].body;
    assert_eq!(
        body["additionalModelRequestFields"],
        json!({"thinking": {"type": "enabled", "budget_tokens": 2000}})
    );
    assert_eq!(body["inferenceConfig"]["temperature"], 1.0);
    assert!(body["inferenceConfig"]["maxTokens"].as_u64().unwrap_or(0) > 2000);
    assert_eq!(
        body["toolConfig"]["toolChoice"],
        json!({"auto": {}}),
        "a forced tool is refused with thinking"
    );
}

#[tokio::test]
async fn bedrock_converse_stream_yields_text_deltas_then_the_final_response() {
    let fake = fake().await;
    let bedrock = provider(&config(ProviderKind::Bedrock, SONNET, &fake)).await;
    let (deltas, response) = drain(
        bedrock
            .stream(&chat_request())
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert!(deltas.len() > 3, "several deltas: {deltas:?}");
    assert_eq!(
        deltas.concat(),
        "This is a fake answer about: When did the outage start?"
    );
    assert_eq!(response.text, deltas.concat());
    assert!(response.usage.input_tokens > 0 && response.usage.output_tokens > 0);
    let request = &fake.requests()[0];
    assert!(request.stream && request.path.ends_with("/converse-stream"));
    let roles: Vec<&str> = request.body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["role"].as_str())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user"], "the chat history is sent");
}

#[tokio::test]
async fn bedrock_converse_stream_assembles_the_tool_input() {
    let fake = fake().await;
    let bedrock = provider(&config(ProviderKind::Bedrock, SONNET, &fake)).await;
    let (deltas, response) = drain(
        bedrock
            .stream(&review_request())
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert!(deltas.is_empty());
    assert_eq!(
        quotes(&response),
        Ok(vec!["The outage began at 09:14 UTC.".to_string()])
    );
}

#[tokio::test]
async fn anthropic_requests_carry_cache_control_the_version_and_the_key() {
    let fake = fake().await;
    let anthropic = provider(&config(ProviderKind::Anthropic, "claude-sonnet-4-5", &fake)).await;
    let response = anthropic
        .complete(&review_request())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        quotes(&response),
        Ok(vec!["The outage began at 09:14 UTC.".to_string()])
    );
    assert_eq!(response.model, "claude-sonnet-4-5");
    assert!(response.usage.cache_write_tokens > 0);
    let request = &fake.requests()[0];
    assert_eq!(request.path, "/v1/messages");
    assert_eq!(
        request.headers.get("x-api-key").map(String::as_str),
        Some(TEST_API_KEY)
    );
    assert_eq!(
        request.headers.get("anthropic-version").map(String::as_str),
        Some("2023-06-01")
    );
    assert_eq!(
        request.body["system"][0]["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert!(request.body["system"][1].get("cache_control").is_none());
    assert_eq!(
        request.body["tool_choice"],
        json!({"type": "tool", "name": "report_findings"})
    );
}

#[tokio::test]
async fn anthropic_streams_text_and_tool_input() {
    let fake = fake().await;
    let anthropic = provider(&config(ProviderKind::Anthropic, "claude-haiku-4-5", &fake)).await;
    let (deltas, response) = drain(
        anthropic
            .stream(&chat_request())
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!(
        deltas.concat(),
        "This is a fake answer about: When did the outage start?"
    );
    assert_eq!(response.stop_reason, StopReason::EndTurn);
    assert!(
        response.usage.output_tokens > 1,
        "message_delta usage replaces the placeholder"
    );
    let (_, tool) = drain(
        anthropic
            .stream(&review_request())
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!(
        quotes(&tool),
        Ok(vec!["The outage began at 09:14 UTC.".to_string()])
    );
    assert!(
        tool.usage.cache_write_tokens > 0,
        "the first cacheable request writes the prefix"
    );
}

#[tokio::test]
async fn openai_compatible_complete_and_stream_use_a_forced_function_and_report_usage() {
    let fake = fake().await;
    let openai = provider(&config(ProviderKind::Openai, "llama3.1", &fake)).await;
    let response = openai
        .complete(&review_request())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        quotes(&response),
        Ok(vec!["The outage began at 09:14 UTC.".to_string()])
    );
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    let (deltas, streamed) = drain(
        openai
            .stream(&chat_request())
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!(deltas.concat(), streamed.text);
    assert!(
        streamed.usage.input_tokens > 0,
        "usage comes from the final chunk"
    );
    let (_, tool) = drain(
        openai
            .stream(&review_request())
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!(
        quotes(&tool),
        Ok(vec!["The outage began at 09:14 UTC.".to_string()])
    );

    let requests = fake.requests();
    assert_eq!(requests[0].path, "/v1/chat/completions");
    assert_eq!(
        requests[0].headers.get("authorization").map(String::as_str),
        Some(format!("Bearer {TEST_API_KEY}").as_str())
    );
    assert_eq!(
        requests[0].body["tool_choice"],
        json!({"type": "function", "function": {"name": "report_findings"}})
    );
    assert_eq!(requests[1].body["stream_options"], json!({"include_usage": true}));
}

#[tokio::test]
async fn openai_json_schema_mode_reads_structured_output_from_the_text() {
    let fake = fake().await;
    let mut cfg = config(ProviderKind::Openai, "qwen2.5", &fake);
    cfg.structured_output = StructuredOutput::JsonSchema;
    let openai = provider(&cfg).await;
    let response = openai
        .complete(&review_request())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        quotes(&response),
        Ok(vec!["The outage began at 09:14 UTC.".to_string()])
    );
    let (_, streamed) = drain(
        openai
            .stream(&review_request())
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!(
        quotes(&streamed),
        Ok(vec!["The outage began at 09:14 UTC.".to_string()])
    );
    let body = &fake.requests()[0].body;
    assert!(body.get("tools").is_none());
    assert_eq!(body["response_format"]["type"], "json_schema");
}

#[tokio::test]
async fn provider_errors_are_classified_and_never_echo_the_key() {
    let fake = fake().await;
    for (kind, model) in [
        (ProviderKind::Bedrock, "anthropic.claude-3-haiku-20240307-v1:0"),
        (ProviderKind::Anthropic, "claude-3-haiku"),
        (ProviderKind::Openai, "llama3.1"),
    ] {
        let p = provider(&config(kind, model, &fake)).await;
        let cases = [
            (
                Behavior::Throttle {
                    retry_after_secs: Some(3),
                },
                "throttled",
            ),
            (Behavior::Overloaded, "throttled"),
            (Behavior::ServerError { status: 502 }, "server"),
            (Behavior::ContextTooLong, "context_too_long"),
            (Behavior::AuthFailure, "auth"),
            (Behavior::ModelNotFound, "not_found"),
        ];
        for (behavior, expected) in cases {
            fake.push(model, [behavior.clone()]);
            let error = p
                .complete(&review_request())
                .await
                .err()
                .unwrap_or_else(|| panic!("{kind} {behavior:?} succeeded"));
            assert_eq!(error.kind().as_str(), expected, "{kind} {behavior:?}: {error}");
            assert!(!error.to_string().contains(TEST_API_KEY));
            if let aiprism_llm::ProviderError::Throttled {
                retry_after: Some(wait),
                ..
            } = &error
            {
                assert_eq!(wait.as_secs(), 3, "{kind}: Retry-After is read");
            }
        }
    }
}

#[tokio::test]
async fn malformed_tool_json_in_a_stream_is_reported_with_the_raw_output() {
    let fake = fake().await;
    for (kind, model) in [
        (ProviderKind::Bedrock, SONNET),
        (ProviderKind::Anthropic, "claude-sonnet-4"),
        (ProviderKind::Openai, "mistral"),
    ] {
        let p = provider(&config(kind, model, &fake)).await;
        fake.push(model, [Behavior::MalformedJson]);
        let mut stream = p
            .stream(&review_request())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut last = None;
        while let Some(item) = stream.next().await {
            last = Some(item);
        }
        match last {
            Some(Err(aiprism_llm::ProviderError::Malformed {
                output: Some(output), ..
            })) => {
                assert!(output.starts_with("{\"findings\""), "{kind}: {output}");
            }
            other => panic!("{kind}: expected malformed output, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_request_without_system_blocks_or_tool_is_accepted_everywhere() {
    let fake = fake().await;
    let request = ModelRequest {
        messages: vec![aiprism_llm::ChatMessage::user("Hello there.")],
        ..ModelRequest::default()
    };
    for (kind, model) in [
        (ProviderKind::Bedrock, SONNET),
        (ProviderKind::Anthropic, "claude-sonnet-4"),
        (ProviderKind::Openai, "mistral"),
    ] {
        let p = provider(&config(kind, model, &fake)).await;
        let response = p
            .complete(&request)
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(response.text, "This is a fake answer about: Hello there.");
        assert_eq!(response.json_output().ok(), None::<Value>);
    }
}

#[tokio::test]
async fn a_stream_that_breaks_after_some_text_ends_with_a_server_error_on_every_provider() {
    let fake = fake().await;
    for (kind, model) in [
        (ProviderKind::Bedrock, SONNET),
        (ProviderKind::Anthropic, "claude-sonnet-4"),
        (ProviderKind::Openai, "mistral"),
    ] {
        let p = provider(&config(kind, model, &fake)).await;
        fake.push(
            model,
            [Behavior::StreamThenFail {
                tokens: vec!["Partial ".into(), "answer".into()],
            }],
        );
        let mut stream = p
            .stream(&chat_request())
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let mut deltas = Vec::new();
        let mut failure = None;
        while let Some(item) = stream.next().await {
            match item {
                Ok(StreamEvent::TextDelta(text)) => deltas.push(text),
                Ok(StreamEvent::Done(_)) => panic!("{kind}: the stream cannot complete"),
                Err(error) => failure = Some(error.kind()),
            }
        }
        assert_eq!(deltas, ["Partial ", "answer"], "{kind}");
        assert_eq!(failure.map(|k| k.as_str()), Some("server"), "{kind}");
    }
}
