//! OpenAI-compatible chat completions: `POST /v1/chat/completions` (and `/chat/completions`), JSON or
//! `data:` chunks ending with `[DONE]`.

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
    Router::new()
        .route("/v1/chat/completions", post(completions))
        .route("/chat/completions", post(completions))
}

async fn completions(State(shared): State<Shared>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let body: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(_) => {
            return error(
                400,
                "invalid_request_error",
                None,
                "the request body is not JSON",
                None,
            );
        }
    };
    let parsed = parse(&body);
    let include_usage = body
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    match shared
        .handle(FakeProvider::Openai, uri.path(), &headers, &body, &parsed)
        .await
    {
        Outcome::Fail(failure) => failure_response(failure, &parsed.model),
        Outcome::Answer(answer) if parsed.stream => stream_answer(&answer, &parsed, include_usage),
        Outcome::Answer(answer) => json_answer(&answer, &parsed),
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
        let text = content_text(message.get("content").unwrap_or(&Value::Null));
        if role == "system" || role == "developer" {
            parsed.system.push(text);
        } else {
            parsed.messages.push((role, text));
        }
    }
    if let Some(function) = body.pointer("/tools/0/function") {
        let name = function
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("tool")
            .to_string();
        parsed.tool = Some((name, function.get("parameters").cloned().unwrap_or(Value::Null)));
    } else if let Some(schema) = body.pointer("/response_format/json_schema") {
        let name = schema
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("answer")
            .to_string();
        parsed.tool = Some((name, schema.get("schema").cloned().unwrap_or(Value::Null)));
        parsed.json_text = true;
    }
    parsed
}

fn error(status: u16, kind: &str, code: Option<&str>, message: &str, retry_after: Option<u64>) -> Response {
    let headers: Vec<(&str, String)> = retry_after
        .map(|s| ("retry-after", s.to_string()))
        .into_iter()
        .collect();
    json_response(
        status,
        &headers,
        &json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
    )
}

fn failure_response(failure: Failure, model: &str) -> Response {
    match failure {
        Failure::Throttle { retry_after_secs } => error(
            429,
            "requests",
            Some("rate_limit_exceeded"),
            "Rate limit reached for requests per minute.",
            retry_after_secs,
        ),
        Failure::Overloaded => error(503, "server_error", None, "The server is overloaded.", None),
        Failure::Server { status } => error(status, "server_error", None, "The server had an error.", None),
        Failure::ContextTooLong => error(
            400,
            "invalid_request_error",
            Some("context_length_exceeded"),
            "This model's maximum context length is 8192 tokens.",
            None,
        ),
        Failure::Auth => error(
            401,
            "invalid_request_error",
            Some("invalid_api_key"),
            "Incorrect API key provided.",
            None,
        ),
        Failure::NotFound => error(
            404,
            "invalid_request_error",
            Some("model_not_found"),
            &format!("The model `{model}` does not exist."),
            None,
        ),
    }
}

fn usage(answer: &Answer) -> Value {
    let u = answer.usage;
    let prompt = u.input + u.cache_read + u.cache_write;
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": u.output,
        "total_tokens": prompt + u.output,
        "prompt_tokens_details": {"cached_tokens": u.cache_read},
    })
}

/// The structured output as text (json_schema mode) or as function-call arguments.
fn tool_text(answer: &Answer) -> Option<String> {
    answer.tool.as_ref().map(|(_, output)| match output {
        ToolOutput::Json(value) => value.to_string(),
        ToolOutput::Raw(raw) => raw.clone(),
    })
}

fn json_answer(answer: &Answer, parsed: &Parsed) -> Response {
    let mut message = json!({"role": "assistant", "content": if answer.text.is_empty() { Value::Null } else { json!(answer.text) }});
    let mut finish = "stop";
    if let (Some((name, _)), Some(arguments)) = (&answer.tool, tool_text(answer)) {
        if parsed.json_text {
            message["content"] = json!(arguments);
        } else {
            message["tool_calls"] = json!([{"id": "call_fake1", "type": "function", "function": {"name": name, "arguments": arguments}}]);
            finish = "tool_calls";
        }
    }
    json_response(
        200,
        &[],
        &json!({
            "id": "chatcmpl-fake1", "object": "chat.completion", "created": 0, "model": parsed.model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": usage(answer),
        }),
    )
}

fn chunk(model: &str, delta: Value, finish: Option<&str>) -> Bytes {
    let body = json!({"id": "chatcmpl-fake1", "object": "chat.completion.chunk", "created": 0, "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    Bytes::from(format!("data: {body}\n\n"))
}

fn stream_answer(answer: &Answer, parsed: &Parsed, include_usage: bool) -> Response {
    let model = parsed.model.as_str();
    let mut chunks = vec![chunk(model, json!({"role": "assistant", "content": ""}), None)];
    for piece in &answer.pieces {
        chunks.push(chunk(model, json!({"content": piece}), None));
    }
    if answer.fail_after_pieces {
        chunks.push(Bytes::from(format!(
            "data: {}\n\n",
            json!({"error": {"message": "The server had an error while processing your request.", "type": "server_error"}})
        )));
        return stream_response("text/event-stream", chunks);
    }
    let mut finish = "stop";
    if let Some((name, _)) = &answer.tool {
        let pieces = answer.tool_pieces();
        if parsed.json_text {
            for piece in pieces {
                chunks.push(chunk(model, json!({"content": piece}), None));
            }
        } else {
            chunks.push(chunk(
                model,
                json!({"tool_calls": [{"index": 0, "id": "call_fake1", "type": "function", "function": {"name": name, "arguments": ""}}]}),
                None,
            ));
            for piece in pieces {
                chunks.push(chunk(
                    model,
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}),
                    None,
                ));
            }
            finish = "tool_calls";
        }
    }
    chunks.push(chunk(model, json!({}), Some(finish)));
    if include_usage {
        let body = json!({"id": "chatcmpl-fake1", "object": "chat.completion.chunk", "created": 0, "model": model,
            "choices": [], "usage": usage(answer)});
        chunks.push(Bytes::from(format!("data: {body}\n\n")));
    }
    chunks.push(Bytes::from_static(b"data: [DONE]\n\n"));
    stream_response("text/event-stream", chunks)
}
