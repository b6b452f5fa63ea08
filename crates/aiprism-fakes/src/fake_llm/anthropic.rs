//! The Anthropic Messages API: `POST /v1/messages`, JSON or server-sent events.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::post;
use bytes::Bytes;
use serde_json::{Value, json};

use super::behavior::{Answer, Failure, Outcome, Parsed, ToolOutput};
use super::{FakeProvider, Shared, content_text, json_response, stream_response};

pub(crate) fn routes() -> Router<Shared> {
    Router::new().route("/v1/messages", post(messages))
}

async fn messages(State(shared): State<Shared>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let body: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(_) => return error(400, "invalid_request_error", "the request body is not JSON", None),
    };
    let parsed = parse(&body);
    let stream = parsed.stream;
    match shared
        .handle(FakeProvider::Anthropic, uri.path(), &headers, &body, &parsed)
        .await
    {
        Outcome::Fail(failure) => failure_response(failure, &parsed.model),
        Outcome::Answer(answer) if stream => stream_answer(&answer, &parsed.model),
        Outcome::Answer(answer) => json_answer(&answer, &parsed.model),
    }
}

fn parse(body: &Value) -> Parsed {
    let mut parsed = Parsed {
        model: body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
        ..Parsed::default()
    };
    match body.get("system") {
        Some(Value::String(text)) => parsed.system.push(text.clone()),
        Some(Value::Array(blocks)) => {
            let mut prefix = String::new();
            for block in blocks {
                let text = block.get("text").and_then(Value::as_str).unwrap_or("");
                parsed.system.push(text.to_string());
                prefix.push_str(text);
                if block.get("cache_control").is_some() {
                    parsed.cached_prefix = prefix.clone();
                }
            }
        }
        _ => {}
    }
    for message in body
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let role = message
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or("user")
            .to_string();
        parsed
            .messages
            .push((role, content_text(message.get("content").unwrap_or(&Value::Null))));
    }
    if let Some(tool) = body.pointer("/tools/0") {
        let name = tool
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("tool")
            .to_string();
        parsed.tool = Some((name, tool.get("input_schema").cloned().unwrap_or(Value::Null)));
    }
    parsed
}

fn error(status: u16, kind: &str, message: &str, retry_after: Option<u64>) -> Response {
    let headers: Vec<(&str, String)> = retry_after
        .map(|s| ("retry-after", s.to_string()))
        .into_iter()
        .collect();
    json_response(
        status,
        &headers,
        &json!({"type": "error", "error": {"type": kind, "message": message}}),
    )
}

fn failure_response(failure: Failure, model: &str) -> Response {
    match failure {
        Failure::Throttle { retry_after_secs } => error(
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit.",
            retry_after_secs,
        ),
        Failure::Overloaded => error(529, "overloaded_error", "Overloaded", None),
        Failure::Server { status } => error(status, "api_error", "Internal server error", None),
        Failure::ContextTooLong => error(
            400,
            "invalid_request_error",
            "prompt is too long: 250000 tokens > 200000 maximum",
            None,
        ),
        Failure::Auth => error(401, "authentication_error", "invalid x-api-key", None),
        Failure::NotFound => error(404, "not_found_error", &format!("model: {model}"), None),
    }
}

fn usage(answer: &Answer) -> Value {
    json!({
        "input_tokens": answer.usage.input,
        "output_tokens": answer.usage.output,
        "cache_creation_input_tokens": answer.usage.cache_write,
        "cache_read_input_tokens": answer.usage.cache_read,
    })
}

fn json_answer(answer: &Answer, model: &str) -> Response {
    let mut content = Vec::new();
    let mut stop = "end_turn";
    if !answer.text.is_empty() {
        content.push(json!({"type": "text", "text": answer.text}));
    }
    match &answer.tool {
        Some((name, ToolOutput::Json(input))) => {
            content.push(json!({"type": "tool_use", "id": "toolu_fake1", "name": name, "input": input}));
            stop = "tool_use";
        }
        // A complete Messages body carries tool input as a JSON object: broken JSON can only be text.
        Some((_, ToolOutput::Raw(raw))) => content.push(json!({"type": "text", "text": raw})),
        None => {}
    }
    json_response(
        200,
        &[],
        &json!({
            "id": "msg_fake1", "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": stop, "stop_sequence": null, "usage": usage(answer),
        }),
    )
}

fn sse(event: &str, data: Value) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

fn stream_answer(answer: &Answer, model: &str) -> Response {
    let mut start_usage = usage(answer);
    start_usage["output_tokens"] = json!(1);
    let mut chunks = vec![
        sse(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_fake1", "type": "message", "role": "assistant",
                "model": model, "content": [], "stop_reason": null, "usage": start_usage}}),
        ),
        sse("ping", json!({"type": "ping"})),
    ];
    let mut index = 0;
    if !answer.pieces.is_empty() {
        chunks.push(sse(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
        ));
        for piece in &answer.pieces {
            chunks.push(sse(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}),
            ));
        }
        if answer.fail_after_pieces {
            chunks.push(sse(
                "error",
                json!({"type": "error", "error": {"type": "api_error", "message": "Internal server error"}}),
            ));
            return stream_response("text/event-stream", chunks);
        }
        chunks.push(sse(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    let mut stop = "end_turn";
    if let Some((name, _)) = &answer.tool {
        chunks.push(sse(
            "content_block_start",
            json!({"type": "content_block_start", "index": index,
                "content_block": {"type": "tool_use", "id": "toolu_fake1", "name": name, "input": {}}}),
        ));
        for piece in answer.tool_pieces() {
            chunks.push(sse(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": piece}}),
            ));
        }
        chunks.push(sse(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
        stop = "tool_use";
    }
    chunks.push(sse(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
            "usage": {"output_tokens": answer.usage.output}}),
    ));
    chunks.push(sse("message_stop", json!({"type": "message_stop"})));
    stream_response("text/event-stream", chunks)
}
