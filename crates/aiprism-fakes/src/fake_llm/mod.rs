//! Fake model servers speaking the real wire formats, for tests of the model router and end-to-end tests
//! of `aiprism serve`: Bedrock Converse (JSON) and ConverseStream (AWS event-stream frames), the Anthropic
//! Messages API (JSON and server-sent events) and OpenAI-compatible chat completions (JSON and `data:`
//! chunks ending with `[DONE]`).
//!
//! One [`FakeLlm`] serves all three formats on one loopback port:
//! - Bedrock: `POST /model/{modelId}/converse` and `/converse-stream`; any SigV4 signature is accepted;
//! - Anthropic: `POST /v1/messages` (base URL = [`FakeLlm::url`]);
//! - OpenAI: `POST /v1/chat/completions` (base URL = [`FakeLlm::openai_base_url`]).
//!
//! Every request is recorded ([`FakeLlm::requests`]). What the fake answers is scripted with
//! [`Behavior`]s: a queue per model id, then a queue for any model, then a per-model default, then the
//! global default, which is [`Behavior::Findings`]:
//!
//! **The findings convention.** Asked to call a tool, the fake calls it with one finding whose `quote` is
//! the first sentence (up to the first `.`, `!` or `?` followed by a space) of the text inside the last
//! `<section ...>...</section>` of the conversation, or of the last user message when there is no such
//! tag. The finding follows the tool's schema: the first array property of the input schema holds it and
//! each property of the item schema gets a plausible value (`quote`, `description`, `risk`, `confidence`
//! ... by name, the first `enum` value when constrained). Asked for plain text, it answers "This is a fake
//! answer about: <that sentence>". Usage is about four characters a token; a cacheable system prefix
//! (Bedrock cache point, Anthropic `cache_control`) is written to the cache the first time it is seen and
//! read from it afterwards.

mod anthropic;
mod bedrock;
mod behavior;
mod openai;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use behavior::Behavior;
use behavior::{Outcome, Parsed};

/// Which wire format a base URL is meant for (the fake serves all of them at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FakeProvider {
    /// Bedrock Converse / ConverseStream.
    Bedrock,
    /// Anthropic Messages.
    Anthropic,
    /// OpenAI-compatible chat completions.
    Openai,
}

impl std::str::FromStr for FakeProvider {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "bedrock" => Ok(FakeProvider::Bedrock),
            "anthropic" => Ok(FakeProvider::Anthropic),
            "openai" => Ok(FakeProvider::Openai),
            other => Err(format!(
                "unknown provider {other:?}; expected bedrock, anthropic or openai"
            )),
        }
    }
}

/// A request the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// Which wire format it used.
    pub provider: FakeProvider,
    /// The model id (from the path for Bedrock, from the body otherwise).
    pub model: String,
    /// The request path.
    pub path: String,
    /// Whether it asked for a stream.
    pub stream: bool,
    /// Headers, names lowercased.
    pub headers: BTreeMap<String, String>,
    /// The JSON body.
    pub body: Value,
    /// When it arrived.
    pub received_at: Instant,
}

/// A whole script, as loaded from the `--script` file of the `aiprism-fake-llm` binary.
///
/// ```json
/// {"default": {"kind": "findings"},
///  "model_defaults": {"broken-model": {"kind": "auth_failure"}},
///  "models": {"m1": [{"kind": "throttle", "retry_after_secs": 2}, {"kind": "findings"}]},
///  "any": [{"kind": "server_error", "status": 502}]}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// Behaviour when no queue has anything (defaults to findings).
    #[serde(default)]
    pub default: Option<Behavior>,
    /// Per-model behaviour when that model's queue and the shared queue are empty.
    #[serde(default)]
    pub model_defaults: HashMap<String, Behavior>,
    /// Per-model queues, consumed first.
    #[serde(default)]
    pub models: HashMap<String, Vec<Behavior>>,
    /// A queue for any model, consumed when the model's own queue is empty.
    #[serde(default)]
    pub any: Vec<Behavior>,
}

#[derive(Default)]
struct State {
    default: Option<Behavior>,
    model_defaults: HashMap<String, Behavior>,
    queues: HashMap<String, VecDeque<Behavior>>,
    any: VecDeque<Behavior>,
    requests: Vec<RecordedRequest>,
    cached_prefixes: HashSet<(String, String)>,
    in_flight: HashMap<String, usize>,
    max_in_flight: HashMap<String, usize>,
}

/// Shared between the handle and the server.
#[derive(Clone, Default)]
pub(crate) struct Shared(Arc<Mutex<State>>);

impl Shared {
    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut guard = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    /// Records the request, picks its behaviour, waits as told, and decides the outcome.
    pub(crate) async fn handle(
        &self,
        provider: FakeProvider,
        path: &str,
        headers: &HeaderMap,
        body: &Value,
        parsed: &Parsed,
    ) -> Outcome {
        let model = parsed.model.clone();
        let behavior = self.with(|state| {
            state.requests.push(RecordedRequest {
                provider,
                model: model.clone(),
                path: path.to_string(),
                stream: parsed.stream,
                headers: headers
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_ascii_lowercase(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect(),
                body: body.clone(),
                received_at: Instant::now(),
            });
            let now = {
                let count = state.in_flight.entry(model.clone()).or_default();
                *count += 1;
                *count
            };
            let max = state.max_in_flight.entry(model.clone()).or_default();
            *max = (*max).max(now);
            state
                .queues
                .get_mut(&model)
                .and_then(VecDeque::pop_front)
                .or_else(|| state.any.pop_front())
                .or_else(|| state.model_defaults.get(&model).cloned())
                .or_else(|| state.default.clone())
                .unwrap_or(Behavior::Findings)
        });
        let guard = InFlight {
            shared: self.clone(),
            model: model.clone(),
        };
        let behavior = behavior::settle(behavior).await;
        drop(guard);
        let cache_hit = !parsed.cached_prefix.is_empty()
            && self.with(|state| {
                !state
                    .cached_prefixes
                    .insert((model.clone(), parsed.cached_prefix.clone()))
            });
        behavior::outcome(&behavior, parsed, cache_hit)
    }
}

/// Decrements the in-flight count of a model when a request is answered (or abandoned).
struct InFlight {
    shared: Shared,
    model: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.shared.with(|state| {
            if let Some(count) = state.in_flight.get_mut(&self.model) {
                *count = count.saturating_sub(1);
            }
        });
    }
}

/// A running fake server. Dropping it stops the server.
pub struct FakeLlm {
    addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FakeLlm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeLlm").field("addr", &self.addr).finish()
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeLlm {
    /// Starts a fake on `127.0.0.1` with a free port and the default (findings) behaviour.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), Script::default()).await
    }

    /// Starts a fake on the given address with a script.
    pub async fn start_on(addr: SocketAddr, script: Script) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Shared::default();
        shared.with(|state| {
            state.default = script.default;
            state.model_defaults = script.model_defaults;
            state.queues = script.models.into_iter().map(|(k, v)| (k, v.into())).collect();
            state.any = script.any.into();
        });
        let app = routes(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("fake model server stopped: {error}");
            }
        });
        Ok(Self { addr, shared, task })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the base URL for Bedrock (`endpoint_url`) and Anthropic.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/v1`: the base URL for OpenAI-compatible clients.
    pub fn openai_base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The base URL a client of `provider` should use.
    pub fn base_url(&self, provider: FakeProvider) -> String {
        match provider {
            FakeProvider::Openai => self.openai_base_url(),
            FakeProvider::Bedrock | FakeProvider::Anthropic => self.url(),
        }
    }

    /// Queues behaviours for requests to `model`, consumed in order before any other rule.
    pub fn push(&self, model: &str, behaviors: impl IntoIterator<Item = Behavior>) {
        self.shared.with(|state| {
            state
                .queues
                .entry(model.to_string())
                .or_default()
                .extend(behaviors)
        });
    }

    /// Queues behaviours for requests to any model, consumed when the model's own queue is empty.
    pub fn push_any(&self, behaviors: impl IntoIterator<Item = Behavior>) {
        self.shared.with(|state| state.any.extend(behaviors));
    }

    /// What `model` does once its queues are empty (e.g. always throttle).
    pub fn set_model_default(&self, model: &str, behavior: Behavior) {
        self.shared
            .with(|state| state.model_defaults.insert(model.to_string(), behavior));
    }

    /// What every model does once all queues are empty (findings unless changed).
    pub fn set_default(&self, behavior: Behavior) {
        self.shared.with(|state| state.default = Some(behavior));
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.with(|state| state.requests.clone())
    }

    /// The requests received for one model.
    pub fn requests_for(&self, model: &str) -> Vec<RecordedRequest> {
        self.shared.with(|state| {
            state
                .requests
                .iter()
                .filter(|r| r.model == model)
                .cloned()
                .collect()
        })
    }

    /// The most requests to `model` that were being answered at the same time.
    pub fn max_in_flight(&self, model: &str) -> usize {
        self.shared
            .with(|state| state.max_in_flight.get(model).copied().unwrap_or(0))
    }

    /// Forgets recorded requests and cached prefixes (scripts are kept).
    pub fn clear_requests(&self) {
        self.shared.with(|state| {
            state.requests.clear();
            state.cached_prefixes.clear();
            state.max_in_flight.clear();
        });
    }
}

fn routes(shared: Shared) -> Router {
    Router::new()
        .merge(bedrock::routes())
        .merge(anthropic::routes())
        .merge(openai::routes())
        .with_state(shared)
}

/// A JSON response with a status.
pub(crate) fn json_response(
    status: u16,
    headers: &[(&str, String)],
    body: &Value,
) -> axum::response::Response {
    let mut builder = axum::http::Response::builder()
        .status(status)
        .header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, value);
    }
    builder
        .body(axum::body::Body::from(body.to_string()))
        .unwrap_or_else(|_| axum::http::Response::new(axum::body::Body::empty()))
}

/// A streamed response made of the given chunks.
pub(crate) fn stream_response(content_type: &str, chunks: Vec<bytes::Bytes>) -> axum::response::Response {
    let body = axum::body::Body::from_stream(futures::stream::iter(
        chunks.into_iter().map(Ok::<_, std::convert::Infallible>),
    ));
    axum::http::Response::builder()
        .status(200)
        .header("content-type", content_type)
        .body(body)
        .unwrap_or_else(|_| axum::http::Response::new(axum::body::Body::empty()))
}

/// The text of a JSON content field that is either a string or a list of `{type: text, text}` blocks.
pub(crate) fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}
