//! Errors: one classification for every provider so the router can act on them without knowing the wire
//! format, and the helpers that turn HTTP answers into that classification.

use std::time::{Duration, SystemTime};

use serde::Serialize;

/// A failed provider call, classified by what the router should do about it.
///
/// Messages are short summaries (status, provider error code, a bounded single-line excerpt of the
/// provider's message), never a provider's body verbatim and never a credential.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// The provider is rate limiting or overloaded: cool the endpoint down and use another.
    #[error("throttled: {message}")]
    Throttled {
        /// How long the provider asked us to wait, when it said.
        retry_after: Option<Duration>,
        /// Summary.
        message: String,
    },
    /// No answer in time.
    #[error("timed out: {message}")]
    Timeout {
        /// Summary.
        message: String,
    },
    /// The provider failed on its side (5xx).
    #[error("server error: {message}")]
    Server {
        /// HTTP status, when there was one.
        status: Option<u16>,
        /// Summary.
        message: String,
    },
    /// The output could not be used (unparseable, or rejected by the caller's validator).
    #[error("malformed output: {message}")]
    Malformed {
        /// What is wrong with it.
        message: String,
        /// The raw output, so the router can show it to the model in a repair turn. Not a provider body.
        output: Option<String>,
    },
    /// The prompt does not fit the model's context window: the caller must split its input.
    #[error("context too long: {message}")]
    ContextTooLong {
        /// Summary.
        message: String,
    },
    /// Credentials are missing, wrong or not allowed to use this model.
    #[error("authentication failed: {message}")]
    Auth {
        /// Summary.
        message: String,
    },
    /// The provider rejected the request as invalid (other 4xx).
    #[error("request rejected: {message}")]
    Validation {
        /// Summary.
        message: String,
    },
    /// The model (or endpoint) does not exist or is not enabled.
    #[error("model not found: {message}")]
    NotFound {
        /// Summary.
        message: String,
    },
    /// Connection-level failure (refused, reset, DNS, TLS, a broken stream).
    #[error("transport error: {message}")]
    Transport {
        /// Summary.
        message: String,
    },
}

/// The class of a [`ProviderError`], for counters, snapshots and decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// See [`ProviderError::Throttled`].
    Throttled,
    /// See [`ProviderError::Timeout`].
    Timeout,
    /// See [`ProviderError::Server`].
    Server,
    /// See [`ProviderError::Malformed`].
    Malformed,
    /// See [`ProviderError::ContextTooLong`].
    ContextTooLong,
    /// See [`ProviderError::Auth`].
    Auth,
    /// See [`ProviderError::Validation`].
    Validation,
    /// See [`ProviderError::NotFound`].
    NotFound,
    /// See [`ProviderError::Transport`].
    Transport,
}

impl ErrorKind {
    /// Stable snake_case name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Throttled => "throttled",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Server => "server",
            ErrorKind::Malformed => "malformed",
            ErrorKind::ContextTooLong => "context_too_long",
            ErrorKind::Auth => "auth",
            ErrorKind::Validation => "validation",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Transport => "transport",
        }
    }

    /// Whether this error means the endpoint is misconfigured (disable it rather than retry).
    pub fn is_configuration(self) -> bool {
        matches!(
            self,
            ErrorKind::Auth | ErrorKind::Validation | ErrorKind::NotFound
        )
    }
}

impl ProviderError {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ProviderError::Throttled { .. } => ErrorKind::Throttled,
            ProviderError::Timeout { .. } => ErrorKind::Timeout,
            ProviderError::Server { .. } => ErrorKind::Server,
            ProviderError::Malformed { .. } => ErrorKind::Malformed,
            ProviderError::ContextTooLong { .. } => ErrorKind::ContextTooLong,
            ProviderError::Auth { .. } => ErrorKind::Auth,
            ProviderError::Validation { .. } => ErrorKind::Validation,
            ProviderError::NotFound { .. } => ErrorKind::NotFound,
            ProviderError::Transport { .. } => ErrorKind::Transport,
        }
    }

    /// A malformed-output error carrying the output for a repair turn.
    pub fn malformed(message: impl Into<String>, output: Option<String>) -> Self {
        ProviderError::Malformed {
            message: message.into(),
            output,
        }
    }

    /// A transport error with a summarised message.
    pub fn transport(message: impl Into<String>) -> Self {
        ProviderError::Transport {
            message: summarize(&message.into()),
        }
    }
}

/// Errors building a provider or a chain from configuration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// A required value is missing.
    #[error("endpoint {endpoint:?}: missing {field}")]
    Missing {
        /// The endpoint's name.
        endpoint: String,
        /// The missing field or environment variable.
        field: &'static str,
    },
    /// A value is present but unusable.
    #[error("endpoint {endpoint:?}: invalid {field}: {reason}")]
    Invalid {
        /// The endpoint's name.
        endpoint: String,
        /// The offending field.
        field: &'static str,
        /// Why it is unusable.
        reason: String,
    },
    /// Two endpoints share a name (names key the router's state and the usage records).
    #[error("two endpoints are named {0:?}; names must be unique")]
    DuplicateName(String),
    /// The chain is empty.
    #[error("no model endpoint configured")]
    Empty,
}

/// Longest excerpt of a provider message kept in an error.
const MAX_EXCERPT: usize = 160;

/// Whether a word looks like a credential some providers echo back, even masked (`sk-...`, `sk-ant-...`,
/// AWS access key ids).
fn looks_like_credential(word: &str) -> bool {
    let word = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '*' && c != '-' && c != '_');
    let aws_key_id = word.len() == 20
        && (word.starts_with("AKIA") || word.starts_with("ASIA"))
        && word.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    word.starts_with("sk-") || word.starts_with("sk_") || aws_key_id
}

/// Makes a provider message safe to show: one line, bounded length, no control characters, nothing that
/// looks like a key.
pub(crate) fn summarize(message: &str) -> String {
    let redacted: Vec<&str> = message
        .split_whitespace()
        .map(|word| {
            if looks_like_credential(word) {
                "[redacted]"
            } else {
                word
            }
        })
        .collect();
    let message = redacted.join(" ");
    let mut out = String::with_capacity(message.len().min(MAX_EXCERPT + 3));
    let mut last_space = false;
    for c in message.chars() {
        let c = if c.is_control() || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        if out.chars().count() >= MAX_EXCERPT {
            out.push_str("...");
            break;
        }
        out.push(c);
    }
    out.trim().to_string()
}

/// Parses a `Retry-After` value: delay seconds (integer or decimal) or an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value)
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(value))
        .ok()?;
    let at = SystemTime::from(date);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// How long to wait, from the response headers of a throttled call: `retry-after`, `retry-after-ms`
/// (OpenAI), or Anthropic's `anthropic-ratelimit-*-reset` times for the limits that are exhausted.
pub(crate) fn retry_after_from_headers(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let now = SystemTime::now();
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    if let Some(delay) = get("retry-after").and_then(|v| parse_retry_after(v, now)) {
        return Some(delay);
    }
    let mut exhausted: Option<Duration> = None;
    let mut any: Option<Duration> = None;
    for limit in ["requests", "tokens", "input-tokens", "output-tokens"] {
        let Some(reset) =
            get(&format!("anthropic-ratelimit-{limit}-reset")).and_then(|v| parse_retry_after(v, now))
        else {
            continue;
        };
        any = Some(any.map_or(reset, |a| a.max(reset)));
        if get(&format!("anthropic-ratelimit-{limit}-remaining")).map(str::trim) == Some("0") {
            exhausted = Some(exhausted.map_or(reset, |a| a.max(reset)));
        }
    }
    exhausted.or(any)
}

/// Whether a provider message says the prompt is too long for the model.
pub(crate) fn mentions_context_too_long(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("too long")
        || m.contains("context_length_exceeded")
        || m.contains("context length")
        || m.contains("context window")
        || m.contains("maximum context")
        || m.contains("too many tokens")
        || m.contains("too many input tokens")
        || m.contains("request_too_large")
}

/// Whether a provider message says the model does not exist.
pub(crate) fn mentions_model_not_found(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    (m.contains("model") && (m.contains("not found") || m.contains("does not exist")))
        || m.contains("model_not_found")
}

/// Classifies an HTTP error answer of the Anthropic or OpenAI-compatible APIs.
///
/// `code` is the provider's error type or code when the body had one (`overloaded_error`,
/// `context_length_exceeded`...), `message` its message. Only a summary ends up in the error.
pub(crate) fn classify_http(
    status: u16,
    code: Option<&str>,
    message: &str,
    retry_after: Option<Duration>,
) -> ProviderError {
    let code_text = code.unwrap_or("");
    let summary = match code {
        Some(code) if !code.is_empty() => summarize(&format!("HTTP {status} {code}: {message}")),
        _ => summarize(&format!("HTTP {status}: {message}")),
    };
    let joined = format!("{code_text} {message}");
    match status {
        429 | 529 | 503 => ProviderError::Throttled {
            retry_after,
            message: summary,
        },
        408 | 504 => ProviderError::Timeout { message: summary },
        401 | 403 => ProviderError::Auth { message: summary },
        404 => ProviderError::NotFound { message: summary },
        400..=499 if mentions_context_too_long(&joined) => ProviderError::ContextTooLong { message: summary },
        400..=499 if mentions_model_not_found(&joined) => ProviderError::NotFound { message: summary },
        400..=499 => ProviderError::Validation { message: summary },
        _ if code_text.contains("overloaded") || code_text.contains("rate_limit") => {
            ProviderError::Throttled {
                retry_after,
                message: summary,
            }
        }
        _ => ProviderError::Server {
            status: Some(status),
            message: summary,
        },
    }
}

/// Pulls the error type/code and message out of an Anthropic- or OpenAI-style error body.
pub(crate) fn error_fields(body: &str) -> (Option<String>, String) {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
        return (
            None,
            if body.trim().is_empty() {
                "no body".to_string()
            } else {
                body.to_string()
            },
        );
    };
    let error = value.get("error").unwrap_or(&value);
    if let Some(text) = error.as_str() {
        return (None, text.to_string());
    }
    let code = error
        .get("code")
        .and_then(|c| {
            c.as_str()
                .map(str::to_string)
                .or_else(|| c.as_i64().map(|n| n.to_string()))
        })
        .or_else(|| error.get("type").and_then(|t| t.as_str()).map(str::to_string));
    let message = error
        .get("message")
        .and_then(|m| m.as_str())
        .unwrap_or("no message")
        .to_string();
    (code, message)
}

/// Classifies a reqwest failure (no HTTP status to go by).
pub(crate) fn from_reqwest(error: &reqwest::Error) -> ProviderError {
    if error.is_timeout() {
        ProviderError::Timeout {
            message: "no answer before the endpoint timeout".to_string(),
        }
    } else if error.is_connect() {
        ProviderError::Transport {
            message: "could not connect to the endpoint".to_string(),
        }
    } else if error.is_decode() {
        ProviderError::malformed("the response body could not be decoded", None)
    } else if error.is_body() {
        ProviderError::Transport {
            message: "the response body was cut off".to_string(),
        }
    } else {
        ProviderError::Transport {
            message: "the request failed before an answer arrived".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("2024-01-01T00:00:00Z", SystemTime::UNIX_EPOCH),
            Some(Duration::from_secs(1_704_067_200))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn anthropic_reset_headers_are_used_for_exhausted_limits() {
        let mut headers = reqwest::header::HeaderMap::new();
        let soon = chrono::Utc::now() + chrono::TimeDelta::seconds(30);
        let later = chrono::Utc::now() + chrono::TimeDelta::seconds(50);
        headers.insert(
            "anthropic-ratelimit-requests-remaining",
            "0".parse().unwrap_or_else(|_| unreachable!()),
        );
        headers.insert(
            "anthropic-ratelimit-requests-reset",
            soon.to_rfc3339().parse().unwrap_or_else(|_| unreachable!()),
        );
        headers.insert(
            "anthropic-ratelimit-tokens-remaining",
            "100".parse().unwrap_or_else(|_| unreachable!()),
        );
        headers.insert(
            "anthropic-ratelimit-tokens-reset",
            later.to_rfc3339().parse().unwrap_or_else(|_| unreachable!()),
        );
        let wait = retry_after_from_headers(&headers).unwrap_or_default();
        assert!(
            wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
    }

    #[test]
    fn http_statuses_map_to_router_actions() {
        assert_eq!(
            classify_http(529, Some("overloaded_error"), "Overloaded", None).kind(),
            ErrorKind::Throttled
        );
        assert_eq!(
            classify_http(
                400,
                Some("invalid_request_error"),
                "prompt is too long: 250000 tokens > 200000 maximum",
                None
            )
            .kind(),
            ErrorKind::ContextTooLong
        );
        assert_eq!(
            classify_http(
                400,
                Some("context_length_exceeded"),
                "This model's maximum context length is 8192 tokens",
                None
            )
            .kind(),
            ErrorKind::ContextTooLong
        );
        assert_eq!(
            classify_http(
                400,
                None,
                "model \"llama9\" not found, try pulling it first",
                None
            )
            .kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            classify_http(400, None, "bad field", None).kind(),
            ErrorKind::Validation
        );
        assert_eq!(
            classify_http(401, None, "invalid x-api-key", None).kind(),
            ErrorKind::Auth
        );
        assert_eq!(
            classify_http(502, None, "bad gateway", None).kind(),
            ErrorKind::Server
        );
    }

    #[test]
    fn keys_echoed_by_a_provider_are_redacted() {
        let s =
            summarize("Incorrect API key provided: sk-proj-****abcd. Key AKIAIOSFODNN7EXAMPLE is unknown.");
        assert_eq!(
            s,
            "Incorrect API key provided: [redacted] Key [redacted] is unknown."
        );
    }

    #[test]
    fn summaries_are_single_line_and_bounded() {
        let long = format!("line one\nline two {}", "x".repeat(500));
        let s = summarize(&long);
        assert!(!s.contains('\n'));
        assert!(s.len() <= MAX_EXCERPT + 3);
    }
}
