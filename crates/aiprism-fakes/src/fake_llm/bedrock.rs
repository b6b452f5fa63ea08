//! Bedrock Converse (JSON) and ConverseStream (AWS event-stream binary frames with CRCs).

use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::post;
use bytes::Bytes;
use serde_json::{Value, json};

use super::behavior::{Answer, Failure, Outcome, Parsed, ToolOutput};
use super::{FakeProvider, Shared, content_text, json_response, stream_response};

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/model/{model_id}/converse", post(converse))
        .route("/model/{model_id}/converse-stream", post(converse_stream))
}

async fn converse(
    State(shared): State<Shared>,
    Path(model_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(shared, model_id, uri, headers, body, false).await
}

async fn converse_stream(
    State(shared): State<Shared>,
    Path(model_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(shared, model_id, uri, headers, body, true).await
}

async fn respond(
    shared: Shared,
    model: String,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    stream: bool,
) -> Response {
    let body: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(_) => {
            return error(
                400,
                "SerializationException",
                "the request body is not JSON",
                None,
            );
        }
    };
    let parsed = parse(&model, &body, stream);
    let outcome = shared
        .handle(FakeProvider::Bedrock, uri.path(), &headers, &body, &parsed)
        .await;
    match outcome {
        Outcome::Fail(failure) => failure_response(failure),
        Outcome::Answer(answer) if stream => stream_answer(&answer),
        Outcome::Answer(answer) => json_answer(&answer),
    }
}

/// Reads the Converse request shape.
fn parse(model: &str, body: &Value, stream: bool) -> Parsed {
    let mut parsed = Parsed {
        model: model.to_string(),
        stream,
        ..Parsed::default()
    };
    let mut prefix = String::new();
    for block in body.get("system").and_then(Value::as_array).into_iter().flatten() {
        if let Some(text) = block.get("text").and_then(Value::as_str) {
            parsed.system.push(text.to_string());
            prefix.push_str(text);
        }
        if block.get("cachePoint").is_some() {
            parsed.cached_prefix = prefix.clone();
        }
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
        let text = content_text(message.get("content").unwrap_or(&Value::Null));
        parsed.messages.push((role, text));
    }
    if let Some(spec) = body.pointer("/toolConfig/tools/0/toolSpec") {
        let name = spec
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("tool")
            .to_string();
        let schema = spec.pointer("/inputSchema/json").cloned().unwrap_or(Value::Null);
        parsed.tool = Some((name, schema));
    }
    parsed
}

fn error(status: u16, code: &str, message: &str, retry_after: Option<u64>) -> Response {
    let mut headers = vec![(
        "x-amzn-errortype",
        format!("{code}:http://internal.amazon.com/coral/com.amazon.bedrock/"),
    )];
    if let Some(secs) = retry_after {
        headers.push(("retry-after", secs.to_string()));
    }
    json_response(status, &headers, &json!({"message": message}))
}

fn failure_response(failure: Failure) -> Response {
    match failure {
        Failure::Throttle { retry_after_secs } => error(
            429,
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
            retry_after_secs,
        ),
        Failure::Overloaded => error(
            503,
            "ServiceUnavailableException",
            "Bedrock is unable to process your request.",
            None,
        ),
        Failure::Server { status } => error(
            status,
            "InternalServerException",
            "The server encountered an internal error.",
            None,
        ),
        Failure::ContextTooLong => error(
            400,
            "ValidationException",
            "Input is too long for requested model.",
            None,
        ),
        Failure::Auth => error(
            403,
            "AccessDeniedException",
            "You don't have access to the model with the specified model ID.",
            None,
        ),
        Failure::NotFound => error(
            404,
            "ResourceNotFoundException",
            "Could not resolve the foundation model from the provided model identifier.",
            None,
        ),
    }
}

fn usage(answer: &Answer) -> Value {
    let u = answer.usage;
    json!({
        "inputTokens": u.input,
        "outputTokens": u.output,
        "totalTokens": u.input + u.output + u.cache_read + u.cache_write,
        "cacheReadInputTokens": u.cache_read,
        "cacheWriteInputTokens": u.cache_write,
    })
}

fn json_answer(answer: &Answer) -> Response {
    let mut content = Vec::new();
    let mut stop = "end_turn";
    if !answer.text.is_empty() {
        content.push(json!({"text": answer.text}));
    }
    match &answer.tool {
        Some((name, ToolOutput::Json(input))) => {
            content.push(json!({"toolUse": {"toolUseId": "tooluse_fake1", "name": name, "input": input}}));
            stop = "tool_use";
        }
        // Converse carries tool input as a JSON document, so broken JSON can only come back as text.
        Some((_, ToolOutput::Raw(raw))) => content.push(json!({"text": raw})),
        None => {}
    }
    json_response(
        200,
        &[],
        &json!({
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop,
            "usage": usage(answer),
            "metrics": {"latencyMs": 1},
        }),
    )
}

/// One event-stream frame.
fn frame(message_type: &str, type_header: (&'static str, &str), payload: &Value) -> Bytes {
    let message = Message::new(Bytes::from(payload.to_string()))
        .add_header(Header::new(
            ":message-type",
            HeaderValue::String(message_type.to_string().into()),
        ))
        .add_header(Header::new(
            type_header.0,
            HeaderValue::String(type_header.1.to_string().into()),
        ))
        .add_header(Header::new(
            ":content-type",
            HeaderValue::String("application/json".into()),
        ));
    let mut buffer = Vec::new();
    match aws_smithy_eventstream::frame::write_message_to(&message, &mut buffer) {
        Ok(()) => Bytes::from(buffer),
        Err(_) => Bytes::new(),
    }
}

fn event(name: &str, payload: Value) -> Bytes {
    frame("event", (":event-type", name), &payload)
}

fn stream_answer(answer: &Answer) -> Response {
    let mut chunks = vec![event("messageStart", json!({"role": "assistant"}))];
    let mut index = 0;
    if !answer.pieces.is_empty() {
        for piece in &answer.pieces {
            chunks.push(event(
                "contentBlockDelta",
                json!({"contentBlockIndex": index, "delta": {"text": piece}}),
            ));
        }
        if answer.fail_after_pieces {
            chunks.push(frame(
                "exception",
                (":exception-type", "modelStreamErrorException"),
                &json!({"message": "The model stream failed.", "originalStatusCode": 500}),
            ));
            return stream_response("application/vnd.amazon.eventstream", chunks);
        }
        chunks.push(event("contentBlockStop", json!({"contentBlockIndex": index})));
        index += 1;
    }
    let mut stop = "end_turn";
    if let Some((name, _)) = &answer.tool {
        chunks.push(event(
            "contentBlockStart",
            json!({"contentBlockIndex": index, "start": {"toolUse": {"toolUseId": "tooluse_fake1", "name": name}}}),
        ));
        for piece in answer.tool_pieces() {
            chunks.push(event(
                "contentBlockDelta",
                json!({"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}}),
            ));
        }
        chunks.push(event("contentBlockStop", json!({"contentBlockIndex": index})));
        stop = "tool_use";
    }
    chunks.push(event("messageStop", json!({"stopReason": stop})));
    chunks.push(event(
        "metadata",
        json!({"usage": usage(answer), "metrics": {"latencyMs": 1}}),
    ));
    stream_response("application/vnd.amazon.eventstream", chunks)
}
