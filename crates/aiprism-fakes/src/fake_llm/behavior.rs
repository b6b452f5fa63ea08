//! What a fake model does with a request: the scriptable behaviours, and the provider-neutral outcome the
//! wire-format modules render (including the default "one finding quoting the section" answer).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One scripted reaction to one request. Scripts are queues of these, per model id or for any model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Behavior {
    /// The default: for a tool call, one finding quoting the first sentence of the last
    /// `<section>...</section>` of the request (or of the last user message); for plain text, a short
    /// answer quoting the same sentence.
    Findings,
    /// Answer with this text (no tool call).
    Text {
        /// The answer.
        text: String,
    },
    /// Call the requested tool with this input.
    ToolInput {
        /// The tool input.
        input: Value,
    },
    /// Rate limited: HTTP 429 (Bedrock `ThrottlingException`, Anthropic `rate_limit_error`, OpenAI
    /// `rate_limit_exceeded`), with `Retry-After` when given.
    Throttle {
        /// Seconds for the `Retry-After` header.
        #[serde(default)]
        retry_after_secs: Option<u64>,
    },
    /// Overloaded: Anthropic 529 `overloaded_error`, Bedrock 503 `ServiceUnavailableException`, OpenAI 503.
    Overloaded,
    /// A 5xx answer.
    ServerError {
        /// The HTTP status (500 if absent).
        #[serde(default = "default_server_status")]
        status: u16,
    },
    /// Wait this long before answering (with the default answer), to trip client timeouts.
    Hang {
        /// Seconds to wait.
        secs: f64,
    },
    /// Wait, then behave as `then` (holds requests in flight for concurrency tests).
    Delayed {
        /// Milliseconds to wait.
        millis: u64,
        /// What to do afterwards.
        then: Box<Behavior>,
    },
    /// Stream these text pieces, then fail with a server error (a non-streaming request gets a 500).
    StreamThenFail {
        /// The pieces sent before the failure.
        tokens: Vec<String>,
    },
    /// Output that is not JSON: a broken tool input where the wire format carries it as text (streams,
    /// OpenAI arguments), otherwise broken JSON as text instead of a tool call.
    MalformedJson,
    /// Valid JSON that violates the usual findings schema (the findings array is a string).
    SchemaViolation,
    /// The prompt is too long for the model (HTTP 400 with each provider's wording).
    ContextTooLong,
    /// Credentials rejected (HTTP 401/403).
    AuthFailure,
    /// The model does not exist (HTTP 404).
    ModelNotFound,
}

fn default_server_status() -> u16 {
    500
}

/// A request reduced to what the behaviours need, whatever the wire format.
#[derive(Debug, Clone, Default)]
pub(crate) struct Parsed {
    pub model: String,
    pub stream: bool,
    /// System text blocks, in order.
    pub system: Vec<String>,
    /// The system text up to the last cache marker (empty when the request asked for no caching).
    pub cached_prefix: String,
    /// (role, text) turns.
    pub messages: Vec<(String, String)>,
    /// The tool name and input schema, when the request asks for structured output.
    pub tool: Option<(String, Value)>,
    /// Whether structured output was asked through `response_format` (OpenAI json_schema mode).
    pub json_text: bool,
}

/// The error answers every wire format knows how to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    Throttle { retry_after_secs: Option<u64> },
    Overloaded,
    Server { status: u16 },
    ContextTooLong,
    Auth,
    NotFound,
}

/// The tool output of an answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ToolOutput {
    Json(Value),
    /// Not JSON (the malformed behaviour).
    Raw(String),
}

/// A successful (or stream-then-fail) answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    pub text: String,
    pub tool: Option<(String, ToolOutput)>,
    pub usage: FakeUsage,
    /// Text pieces to stream (joined they equal `text`).
    pub pieces: Vec<String>,
    /// Fail with a server error after the pieces.
    pub fail_after_pieces: bool,
}

/// Token counts of a fake answer (about four characters a token).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FakeUsage {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
}

/// What to send back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    Answer(Answer),
    Fail(Failure),
}

/// Roughly four characters a token, at least one for non-empty text.
pub(crate) fn tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// Resolves the waiting behaviours (hang, delay) and returns the behaviour to answer with.
pub(crate) async fn settle(mut behavior: Behavior) -> Behavior {
    loop {
        match behavior {
            Behavior::Hang { secs } => {
                tokio::time::sleep(Duration::from_secs_f64(secs.max(0.0))).await;
                return Behavior::Findings;
            }
            Behavior::Delayed { millis, then } => {
                tokio::time::sleep(Duration::from_millis(millis)).await;
                behavior = *then;
            }
            other => return other,
        }
    }
}

/// Turns a (settled) behaviour into an outcome for this request. `cache_hit` says whether the request's
/// cached prefix was seen before (it is then read from the cache instead of written).
pub(crate) fn outcome(behavior: &Behavior, request: &Parsed, cache_hit: bool) -> Outcome {
    let answer = |text: String, tool: Option<(String, ToolOutput)>| {
        Outcome::Answer(Answer::new(request, cache_hit, text, tool, false))
    };
    let tool_name = || {
        request
            .tool
            .as_ref()
            .map(|(name, _)| name.clone())
            .unwrap_or_else(|| "tool".to_string())
    };
    match behavior {
        Behavior::Findings | Behavior::Hang { .. } | Behavior::Delayed { .. } => match &request.tool {
            Some((name, schema)) => answer(
                String::new(),
                Some((name.clone(), ToolOutput::Json(findings(schema, request)))),
            ),
            None => answer(format!("This is a fake answer about: {}", quote(request)), None),
        },
        Behavior::Text { text } => answer(text.clone(), None),
        Behavior::ToolInput { input } => answer(
            String::new(),
            Some((tool_name(), ToolOutput::Json(input.clone()))),
        ),
        Behavior::Throttle { retry_after_secs } => Outcome::Fail(Failure::Throttle {
            retry_after_secs: *retry_after_secs,
        }),
        Behavior::Overloaded => Outcome::Fail(Failure::Overloaded),
        Behavior::ServerError { status } => Outcome::Fail(Failure::Server { status: *status }),
        Behavior::StreamThenFail { tokens } if request.stream => Outcome::Answer(
            Answer::new(request, cache_hit, tokens.concat(), None, true).with_pieces(tokens.clone()),
        ),
        Behavior::StreamThenFail { .. } => Outcome::Fail(Failure::Server { status: 500 }),
        Behavior::MalformedJson => answer(
            String::new(),
            Some((
                tool_name(),
                ToolOutput::Raw("{\"findings\": [{\"quote\": ".to_string()),
            )),
        ),
        Behavior::SchemaViolation => {
            let key = request
                .tool
                .as_ref()
                .map(|(_, schema)| array_property(schema))
                .unwrap_or_else(|| "findings".into());
            answer(
                String::new(),
                Some((
                    tool_name(),
                    ToolOutput::Json(json!({key: "this should have been a list"})),
                )),
            )
        }
        Behavior::ContextTooLong => Outcome::Fail(Failure::ContextTooLong),
        Behavior::AuthFailure => Outcome::Fail(Failure::Auth),
        Behavior::ModelNotFound => Outcome::Fail(Failure::NotFound),
    }
}

impl Answer {
    fn new(
        request: &Parsed,
        cache_hit: bool,
        text: String,
        tool: Option<(String, ToolOutput)>,
        fail: bool,
    ) -> Self {
        let all_input: u64 = request.system.iter().map(|s| tokens(s)).sum::<u64>()
            + request.messages.iter().map(|(_, t)| tokens(t)).sum::<u64>()
            + request
                .tool
                .as_ref()
                .map(|(n, s)| tokens(n) + tokens(&s.to_string()))
                .unwrap_or(0);
        let prefix = tokens(&request.cached_prefix).min(all_input);
        let (cache_read, cache_write) = match (prefix, cache_hit) {
            (0, _) => (0, 0),
            (p, true) => (p, 0),
            (p, false) => (0, p),
        };
        let tool_text = match &tool {
            Some((_, ToolOutput::Json(v))) => v.to_string(),
            Some((_, ToolOutput::Raw(s))) => s.clone(),
            None => String::new(),
        };
        Self {
            usage: FakeUsage {
                input: all_input - prefix,
                output: tokens(&text) + tokens(&tool_text),
                cache_read,
                cache_write,
            },
            pieces: split_pieces(&text),
            text,
            tool,
            fail_after_pieces: fail,
        }
    }

    fn with_pieces(mut self, pieces: Vec<String>) -> Self {
        self.pieces = pieces;
        self
    }

    /// The tool output as the text pieces of a stream (three pieces, split on character boundaries).
    pub fn tool_pieces(&self) -> Vec<String> {
        let text = match &self.tool {
            Some((_, ToolOutput::Json(v))) => v.to_string(),
            Some((_, ToolOutput::Raw(s))) => s.clone(),
            None => return vec![],
        };
        let chars: Vec<char> = text.chars().collect();
        let third = chars.len().div_ceil(3).max(1);
        chars.chunks(third).map(|c| c.iter().collect()).collect()
    }
}

/// Splits text into word-sized pieces (spaces kept), the way models stream.
fn split_pieces(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        current.push(c);
        if c == ' ' {
            pieces.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// The first sentence of the last `<section ...>...</section>` in the request, else of the last user turn.
pub(crate) fn quote(request: &Parsed) -> String {
    let all: Vec<&str> = request.messages.iter().map(|(_, t)| t.as_str()).collect();
    let section = all.iter().rev().find_map(|text| last_section(text));
    let source = section.unwrap_or_else(|| {
        request
            .messages
            .iter()
            .rev()
            .find(|(role, _)| role == "user")
            .map(|(_, t)| t.as_str())
            .unwrap_or("")
    });
    first_sentence(source)
}

fn last_section(text: &str) -> Option<&str> {
    let open = text.rfind("<section")?;
    let body_start = open + text[open..].find('>')? + 1;
    let body_end = body_start + text[body_start..].find("</section>")?;
    Some(&text[body_start..body_end])
}

/// Text up to and including the first `.`, `!` or `?` followed by whitespace or the end; at most 300
/// characters.
pub(crate) fn first_sentence(text: &str) -> String {
    let text = text.trim();
    let mut end = text.len();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if matches!(c, '.' | '!' | '?') && chars.peek().is_none_or(|(_, next)| next.is_whitespace()) {
            end = i + c.len_utf8();
            break;
        }
    }
    let sentence = &text[..end];
    match sentence.char_indices().nth(300) {
        Some((cut, _)) => sentence[..cut].to_string(),
        None => sentence.to_string(),
    }
}

/// The name of the array property that holds the findings (the first array property of the schema).
fn array_property(schema: &Value) -> String {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .and_then(|props| {
            props
                .iter()
                .find(|(_, p)| p.get("type").and_then(Value::as_str) == Some("array"))
        })
        .map(|(name, _)| name.clone())
        .unwrap_or_else(|| "findings".to_string())
}

/// One finding shaped by the tool schema: every property of the item schema gets a plausible value (by
/// name first, then by type, first `enum` value when constrained), and `quote` gets the quoted sentence.
pub(crate) fn findings(schema: &Value, request: &Parsed) -> Value {
    let key = array_property(schema);
    let quote = quote(request);
    let item_schema = schema
        .pointer(&format!("/properties/{key}/items"))
        .cloned()
        .unwrap_or(Value::Null);
    let mut item = serde_json::Map::new();
    let defaults = json!({
        "type": "suggestion",
        "finding_type": "suggestion",
        "category": "Clarity",
        "risk": "low",
        "risk_level": "low",
        "confidence": 0.9,
        "description": format!("Fake finding about: {quote}"),
        "suggestion": "Say who did what and when.",
        "example": "",
        "questions": ["What happened next?"],
        "checkpoints": [],
        "quote": quote,
    });
    match item_schema.get("properties").and_then(Value::as_object) {
        Some(props) => {
            for (name, prop) in props {
                item.insert(name.clone(), value_for(name, prop, &defaults));
            }
        }
        None => {
            if let Some(map) = defaults.as_object() {
                for (name, value) in map {
                    if name != "finding_type" && name != "risk_level" {
                        item.insert(name.clone(), value.clone());
                    }
                }
            }
        }
    }
    json!({ key: [Value::Object(item)] })
}

fn value_for(name: &str, prop: &Value, defaults: &Value) -> Value {
    let enumerated = prop.get("enum").and_then(Value::as_array);
    if let Some(default) = defaults.get(name) {
        match enumerated {
            Some(options) if !options.contains(default) => {
                return options.first().cloned().unwrap_or(Value::Null);
            }
            _ => return default.clone(),
        }
    }
    if let Some(first) = enumerated.and_then(|o| o.first()) {
        return first.clone();
    }
    match prop.get("type").and_then(Value::as_str) {
        Some("string") => json!("fake"),
        Some("number") => json!(0.9),
        Some("integer") => json!(1),
        Some("boolean") => json!(false),
        Some("array") => json!([]),
        Some("object") => json!({}),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(user: &str) -> Parsed {
        Parsed {
            messages: vec![("user".into(), user.into())],
            ..Parsed::default()
        }
    }

    #[test]
    fn the_quote_is_the_first_sentence_of_the_last_section() {
        let r = request(
            "<section title=\"A\">First. Second.</section>\n<section title=\"B\">\n  Outage began at 09:14 UTC. It lasted 2.5 hours.\n</section>",
        );
        assert_eq!(quote(&r), "Outage began at 09:14 UTC.");
    }

    #[test]
    fn without_a_section_the_last_user_message_is_quoted() {
        assert_eq!(
            quote(&request("Why did the v2.1 deploy fail? Tell me.")),
            "Why did the v2.1 deploy fail?"
        );
    }

    #[test]
    fn findings_follow_the_item_schema() {
        let schema = json!({"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object",
            "properties": {"quote": {"type": "string"}, "risk": {"enum": ["high", "medium"]}, "score": {"type": "integer"}}}}}});
        let value = findings(&schema, &request("<section>Done. Later.</section>"));
        assert_eq!(
            value,
            json!({"items": [{"quote": "Done.", "risk": "high", "score": 1}]})
        );
    }
}
