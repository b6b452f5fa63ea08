//! The resolved configuration, typed. Loading it (defaults, then an optional TOML file, then the
//! environment) is the binary's job; everything else reads these values and nothing else.
//!
//! Secrets are [`SecretString`]s: their `Debug` prints `[REDACTED]`, and [`Settings::describe`] shows them
//! as `***`, so neither logs nor `aiprism check` can leak them.

use std::net::IpAddr;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Every setting, grouped as in the TOML file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// HTTP server and local data.
    pub server: ServerSettings,
    /// The database.
    pub database: DatabaseSettings,
    /// Object storage (local directory or S3) and S3 exports.
    pub storage: StorageSettings,
    /// The job queue.
    pub queue: QueueSettings,
    /// Model access: Bedrock chain settings and global limits (full chains go in `models`).
    pub bedrock: BedrockSettings,
    /// Anthropic Messages API access.
    pub anthropic: AnthropicSettings,
    /// OpenAI-compatible server access.
    pub openai: OpenAiSettings,
    /// Global model limits shared by all endpoints.
    pub limits: LimitSettings,
    /// Full model chains; each entry is one endpoint (kept as TOML until the model router reads it).
    pub models: Vec<toml::Table>,
    /// Review behaviour.
    pub review: ReviewSettings,
    /// Redis, for shared sessions and limits when scaled out.
    pub redis: RedisSettings,
    /// Per-user API rate limits.
    pub api_limits: ApiLimitSettings,
    /// Who may sign in, and how sessions behave.
    pub auth: AuthSettings,
    /// Logging and metrics.
    pub observability: ObservabilitySettings,
}

/// HTTP server and local data.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on (`127.0.0.1` keeps a laptop install private).
    pub bind: IpAddr,
    /// Port (`PORT`).
    pub port: u16,
    /// Where the SQLite file and local objects live by default (`AIPRISM_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Largest accepted upload in bytes (`MAX_CONTENT_LENGTH`).
    pub max_upload_bytes: u64,
    /// Key for signing cookies and tokens (`SECRET_KEY`); generated per process when absent.
    pub secret_key: Option<SecretString>,
    /// Whether `serve` also runs workers in-process.
    pub workers: bool,
    /// Where `aiprism worker` answers `/health`, `/ready` and `/metrics` (`AIPRISM_WORKER_LISTEN`, e.g.
    /// `127.0.0.1:9091`); unset (the default) opens no port, as a worker needs none to do its work.
    pub worker_listen: Option<std::net::SocketAddr>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: IpAddr::from([127, 0, 0, 1]),
            port: 8080,
            data_dir: PathBuf::from("./aiprism-data"),
            max_upload_bytes: 16 * 1024 * 1024,
            secret_key: None,
            workers: true,
            worker_listen: None,
        }
    }
}

/// The database.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://...` or `sqlite://...` (`DATABASE_URL`); defaults to a file in the data directory.
    pub url: Option<SecretString>,
    /// Whether `serve` and `worker` apply migrations at start-up.
    pub migrate_on_start: Option<bool>,
}

/// Object storage.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSettings {
    /// S3 bucket for originals and exports (`S3_BUCKET_NAME`); local directory when absent.
    pub s3_bucket: Option<String>,
    /// Key prefix inside the bucket (`S3_BASE_PATH`).
    pub s3_base_path: String,
    /// Endpoint of an S3-compatible server (`S3_ENDPOINT`).
    pub s3_endpoint: Option<String>,
    /// Region (`AWS_REGION`, `AWS_DEFAULT_REGION`).
    pub region: Option<String>,
    /// Whether exports to S3 are offered (`ENABLE_S3_EXPORT`).
    pub enable_s3_export: bool,
    /// Static S3 access key (`AIPRISM_S3_ACCESS_KEY_ID`); the AWS credential chain is used when absent.
    pub s3_access_key_id: Option<String>,
    /// Static S3 secret key (`AIPRISM_S3_SECRET_ACCESS_KEY`).
    pub s3_secret_access_key: Option<SecretString>,
}

/// Which queue carries jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum QueueBackend {
    /// The database (SQLite or PostgreSQL): the default.
    #[default]
    Database,
    /// Amazon SQS (job state stays in the database).
    Sqs,
}

/// The job queue.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueSettings {
    /// Where jobs travel (`AIPRISM_QUEUE`).
    pub backend: QueueBackend,
    /// SQS queue name prefix (`SQS_QUEUE_PREFIX`).
    pub sqs_queue_prefix: String,
    /// SQS visibility timeout in seconds (`SQS_VISIBILITY_TIMEOUT`).
    pub sqs_visibility_timeout: u32,
    /// SQS long-poll wait in seconds (`SQS_WAIT_TIME_SECONDS`).
    pub sqs_wait_time_seconds: u32,
    /// Concurrent analysis jobs per process (`AIPRISM_ANALYSIS_CONCURRENCY`).
    pub analysis_concurrency: u32,
    /// Concurrent chat jobs per process (`AIPRISM_CHAT_CONCURRENCY`).
    pub chat_concurrency: u32,
    /// Seconds between monitoring probes (`AIPRISM_MONITOR_INTERVAL`).
    pub monitor_interval_secs: u32,
    /// Seconds a worker holds a job between heartbeats; a killed worker's jobs are claimed again after
    /// this (`AIPRISM_JOB_LEASE`).
    pub lease_secs: u32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            backend: QueueBackend::Database,
            sqs_queue_prefix: "aiprism-".into(),
            sqs_visibility_timeout: 300,
            sqs_wait_time_seconds: 20,
            analysis_concurrency: 4,
            chat_concurrency: 2,
            monitor_interval_secs: 60,
            lease_secs: 60,
        }
    }
}

/// Bedrock chain settings from the original deployment's variables.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BedrockSettings {
    /// Primary model id (`BEDROCK_MODEL_ID`).
    pub model_id: Option<String>,
    /// Fallback model ids in order (`BEDROCK_FALLBACK_MODELS`, comma separated).
    pub fallback_models: Vec<String>,
    /// Output token cap (`BEDROCK_MAX_TOKENS`).
    pub max_tokens: u32,
    /// Sampling temperature (`BEDROCK_TEMPERATURE`).
    pub temperature: f32,
    /// Extended thinking on (`REASONING_ENABLED`).
    pub reasoning_enabled: bool,
    /// Thinking budget in tokens (`EXTENDED_THINKING_BUDGET`).
    pub thinking_budget: u32,
    /// Bedrock runtime region (`BEDROCK_REGION`, else the AWS region).
    pub region: Option<String>,
}

impl Default for BedrockSettings {
    fn default() -> Self {
        Self {
            model_id: None,
            fallback_models: Vec::new(),
            max_tokens: 4096,
            temperature: 0.3,
            reasoning_enabled: false,
            thinking_budget: 2000,
            region: None,
        }
    }
}

/// Anthropic Messages API.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AnthropicSettings {
    /// `ANTHROPIC_API_KEY`.
    pub api_key: Option<SecretString>,
    /// `ANTHROPIC_BASE_URL`.
    pub base_url: Option<String>,
    /// `AIPRISM_ANTHROPIC_MODEL`.
    pub model: Option<String>,
}

/// OpenAI-compatible server.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct OpenAiSettings {
    /// `OPENAI_API_KEY`.
    pub api_key: Option<SecretString>,
    /// `OPENAI_BASE_URL`.
    pub base_url: Option<String>,
    /// `AIPRISM_OPENAI_MODEL`.
    pub model: Option<String>,
}

/// Global model limits.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// `MAX_REQUESTS_PER_MINUTE`.
    pub max_requests_per_minute: Option<u32>,
    /// `MAX_CONCURRENT_REQUESTS`.
    pub max_concurrent_requests: Option<u32>,
    /// `MAX_TOKENS_PER_MINUTE`.
    pub max_tokens_per_minute: Option<u32>,
}

/// Review behaviour.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewSettings {
    /// Findings below this confidence are hidden by default (`FEEDBACK_MIN_CONFIDENCE`).
    pub min_confidence: f32,
    /// Framework used when an upload names none (`AIPRISM_DEFAULT_FRAMEWORK`).
    pub default_framework: String,
    /// Author name of model and rule comments in the reviewed document (`AIPRISM_COMMENT_AUTHOR`).
    pub comment_author: String,
    /// Seconds one section may wait for and talk to models before it settles for its rule findings
    /// (`AIPRISM_SECTION_TIMEOUT`).
    pub section_timeout_secs: u32,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        Self {
            min_confidence: 0.8,
            default_framework: "investigation-writeup".into(),
            comment_author: "aiprism".into(),
            section_timeout_secs: 300,
        }
    }
}

/// Redis: when set, sessions, model limits and API rate limits are shared by every process.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisSettings {
    /// `REDIS_URL` (`redis://` or `rediss://` for TLS).
    pub url: Option<SecretString>,
    /// Prefix of every key aiprism writes (`REDIS_KEY_PREFIX`), so installations can share a server.
    pub key_prefix: String,
    /// Milliseconds one Redis call may take before it counts as failed (`AIPRISM_REDIS_TIMEOUT_MS`).
    pub timeout_ms: u32,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: None,
            key_prefix: "aiprism:".into(),
            timeout_ms: 500,
        }
    }
}

/// Per-user API rate limits: a burst, then a sustained rate, per signed-in user (per client address
/// for requests that are not signed in). Health, metrics, pages and static files are never limited.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiLimitSettings {
    /// Requests per minute, sustained (`AIPRISM_API_RATE_PER_MINUTE`); 0 turns limiting off.
    pub per_minute: u32,
    /// Requests allowed at once after a quiet spell (`AIPRISM_API_RATE_BURST`).
    pub burst: u32,
}

impl Default for ApiLimitSettings {
    fn default() -> Self {
        // Generous: a busy reviewer (keyboard decisions, SSE, page loads) stays far below it; a runaway
        // script does not.
        Self {
            per_minute: 600,
            burst: 120,
        }
    }
}

/// How requests are attributed to a user (`AIPRISM_AUTH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    /// Single-user when the server is bound to a loopback address, accounts otherwise.
    #[default]
    Auto,
    /// Every request must be signed in (session cookie, API token or SSO header).
    Accounts,
    /// No sign-in: every request acts as the built-in local user. Only allowed on loopback.
    SingleUser,
}

impl AuthMode {
    /// The spelling used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::Auto => "auto",
            AuthMode::Accounts => "accounts",
            AuthMode::SingleUser => "single-user",
        }
    }
}

impl std::str::FromStr for AuthMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(AuthMode::Auto),
            "accounts" => Ok(AuthMode::Accounts),
            "single-user" | "single_user" | "single" => Ok(AuthMode::SingleUser),
            _ => Err("expected auto, accounts or single-user".into()),
        }
    }
}

/// The mode in effect once the bind address is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EffectiveAuth {
    /// No sign-in; everything acts as the local user.
    SingleUser,
    /// Sign-in required.
    Accounts,
}

/// Why an authentication setting cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    /// Single-user mode would give anyone who can reach the port full access.
    #[error(
        "AIPRISM_AUTH=single-user is refused because the server binds {0}, which is not a loopback address: \
         anyone who can reach it would act as the local user. Bind 127.0.0.1, or use AIPRISM_AUTH=accounts."
    )]
    SingleUserNotOnLoopback(IpAddr),
}

/// Who may sign in, and how sessions behave.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// `auto`, `accounts` or `single-user` (`AIPRISM_AUTH`).
    pub mode: AuthMode,
    /// A request header set by a trusted reverse proxy carrying the signed-in login name
    /// (`AIPRISM_SSO_HEADER`); unset (the default) means no header is trusted.
    pub sso_header: Option<String>,
    /// Seconds without a request after which a session ends (`AIPRISM_SESSION_IDLE`).
    pub session_idle_secs: u32,
    /// Seconds after sign-in after which a session ends, active or not (`AIPRISM_SESSION_LIFETIME`).
    pub session_lifetime_secs: u32,
    /// Always mark the session cookie `Secure`, also for plain-HTTP requests (`AIPRISM_SECURE_COOKIES`);
    /// it is marked `Secure` anyway when the request came over TLS (`X-Forwarded-Proto: https`).
    pub secure_cookies: bool,
    /// Seconds the first-admin sign-in link stays valid.
    pub signin_link_secs: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            mode: AuthMode::Auto,
            sso_header: None,
            session_idle_secs: 12 * 3600,
            session_lifetime_secs: 7 * 24 * 3600,
            secure_cookies: false,
            signin_link_secs: 3600,
        }
    }
}

impl AuthSettings {
    /// The mode in effect for a server bound to `bind`: `auto` is single-user only on loopback, and
    /// `single-user` is refused anywhere else.
    pub fn effective(&self, bind: IpAddr) -> Result<EffectiveAuth, AuthConfigError> {
        match (self.mode, bind.is_loopback()) {
            (AuthMode::Accounts, _) | (AuthMode::Auto, false) => Ok(EffectiveAuth::Accounts),
            (AuthMode::Auto | AuthMode::SingleUser, true) => Ok(EffectiveAuth::SingleUser),
            (AuthMode::SingleUser, false) => Err(AuthConfigError::SingleUserNotOnLoopback(bind)),
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging and metrics.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ObservabilitySettings {
    /// `LOG_LEVEL` (a tracing filter such as `info` or `aiprism=debug`).
    pub log_level: String,
    /// `AIPRISM_LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `ENABLE_METRICS`.
    pub metrics: bool,
    /// `AIPRISM_METRICS_TOKEN`: when set, `/metrics` answers only requests that carry it as
    /// `Authorization: Bearer ...` (Prometheus' `authorization` setting), for deployments where the
    /// port is reachable by more than the scraper.
    pub metrics_token: Option<SecretString>,
}

impl Default for ObservabilitySettings {
    fn default() -> Self {
        Self {
            log_level: "info".into(),
            log_format: LogFormat::Text,
            metrics: true,
            metrics_token: None,
        }
    }
}

impl Settings {
    /// The database URL in effect: the configured one, or an SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.expose_secret().to_string(),
            None => format!("sqlite://{}", self.server.data_dir.join("aiprism.db").display()),
        }
    }

    /// The directory local objects are kept in.
    pub fn objects_dir(&self) -> PathBuf {
        self.server.data_dir.join("objects")
    }

    /// Whether a model of any provider is configured (otherwise only the rule reviewer runs).
    pub fn models_configured(&self) -> bool {
        self.bedrock.model_id.is_some()
            || self.anthropic.api_key.is_some()
            || self.openai.base_url.is_some()
            || self.openai.model.is_some()
            || !self.models.is_empty()
    }

    /// The resolved configuration as (key, value) rows for `aiprism check`, secrets shown as `***` and
    /// passwords inside URLs redacted.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let secret = |s: &Option<SecretString>| match s {
            Some(_) => "***".to_string(),
            None => "(not set)".to_string(),
        };
        let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| "(not set)".into());
        let num = |n: Option<u32>| n.map_or_else(|| "(no limit)".into(), |n| n.to_string());
        vec![
            ("server.bind", self.server.bind.to_string()),
            ("server.port", self.server.port.to_string()),
            ("server.data_dir", self.server.data_dir.display().to_string()),
            (
                "server.max_upload_bytes",
                self.server.max_upload_bytes.to_string(),
            ),
            ("server.secret_key", secret(&self.server.secret_key)),
            ("server.workers", self.server.workers.to_string()),
            (
                "server.worker_listen",
                self.server
                    .worker_listen
                    .map_or_else(|| "(not set)".into(), |a| a.to_string()),
            ),
            ("database.url", aiprism_store::redact_url(&self.database_url())),
            ("storage.s3_bucket", opt(&self.storage.s3_bucket)),
            ("storage.s3_base_path", self.storage.s3_base_path.clone()),
            ("storage.s3_endpoint", opt(&self.storage.s3_endpoint)),
            ("storage.region", opt(&self.storage.region)),
            (
                "storage.enable_s3_export",
                self.storage.enable_s3_export.to_string(),
            ),
            (
                "queue.backend",
                format!("{:?}", self.queue.backend).to_lowercase(),
            ),
            ("queue.sqs_queue_prefix", self.queue.sqs_queue_prefix.clone()),
            (
                "queue.sqs_visibility_timeout",
                self.queue.sqs_visibility_timeout.to_string(),
            ),
            (
                "queue.sqs_wait_time_seconds",
                self.queue.sqs_wait_time_seconds.to_string(),
            ),
            ("queue.lease_secs", self.queue.lease_secs.to_string()),
            (
                "queue.monitor_interval_secs",
                self.queue.monitor_interval_secs.to_string(),
            ),
            ("bedrock.model_id", opt(&self.bedrock.model_id)),
            ("bedrock.fallback_models", self.bedrock.fallback_models.join(",")),
            ("bedrock.max_tokens", self.bedrock.max_tokens.to_string()),
            ("bedrock.temperature", self.bedrock.temperature.to_string()),
            (
                "bedrock.reasoning_enabled",
                self.bedrock.reasoning_enabled.to_string(),
            ),
            (
                "bedrock.thinking_budget",
                self.bedrock.thinking_budget.to_string(),
            ),
            ("anthropic.api_key", secret(&self.anthropic.api_key)),
            ("anthropic.base_url", opt(&self.anthropic.base_url)),
            ("openai.api_key", secret(&self.openai.api_key)),
            ("openai.base_url", opt(&self.openai.base_url)),
            ("openai.model", opt(&self.openai.model)),
            (
                "models",
                format!("{} endpoint(s) from the configuration file", self.models.len()),
            ),
            (
                "limits.max_requests_per_minute",
                num(self.limits.max_requests_per_minute),
            ),
            (
                "limits.max_concurrent_requests",
                num(self.limits.max_concurrent_requests),
            ),
            (
                "limits.max_tokens_per_minute",
                num(self.limits.max_tokens_per_minute),
            ),
            ("review.min_confidence", self.review.min_confidence.to_string()),
            ("review.default_framework", self.review.default_framework.clone()),
            (
                "review.section_timeout_secs",
                self.review.section_timeout_secs.to_string(),
            ),
            (
                "redis.url",
                self.redis.url.as_ref().map_or_else(
                    || "(not set)".into(),
                    |u| aiprism_store::redact_url(u.expose_secret()),
                ),
            ),
            ("redis.key_prefix", self.redis.key_prefix.clone()),
            ("redis.timeout_ms", self.redis.timeout_ms.to_string()),
            (
                "api_limits.per_minute",
                match self.api_limits.per_minute {
                    0 => "0 (off)".to_string(),
                    n => n.to_string(),
                },
            ),
            ("api_limits.burst", self.api_limits.burst.to_string()),
            ("auth.mode", self.auth.mode.as_str().to_string()),
            ("auth.sso_header", opt(&self.auth.sso_header)),
            ("auth.session_idle_secs", self.auth.session_idle_secs.to_string()),
            (
                "auth.session_lifetime_secs",
                self.auth.session_lifetime_secs.to_string(),
            ),
            ("auth.secure_cookies", self.auth.secure_cookies.to_string()),
            ("observability.log_level", self.observability.log_level.clone()),
            (
                "observability.log_format",
                format!("{:?}", self.observability.log_format).to_lowercase(),
            ),
            ("observability.metrics", self.observability.metrics.to_string()),
            (
                "observability.metrics_token",
                if self.observability.metrics_token.is_some() {
                    "*** (set)".to_string()
                } else {
                    "(none: /metrics is open)".to_string()
                },
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_single_user_only_on_loopback() {
        let auth = AuthSettings::default();
        let loopback = IpAddr::from([127, 0, 0, 1]);
        let any = IpAddr::from([0, 0, 0, 0]);
        assert_eq!(auth.effective(loopback).ok(), Some(EffectiveAuth::SingleUser));
        assert_eq!(auth.effective(any).ok(), Some(EffectiveAuth::Accounts));
        assert_eq!(
            auth.effective("::1".parse().unwrap_or(loopback)).ok(),
            Some(EffectiveAuth::SingleUser)
        );
    }

    #[test]
    fn single_user_is_refused_off_loopback_and_accounts_apply_everywhere() {
        let single = AuthSettings {
            mode: AuthMode::SingleUser,
            ..AuthSettings::default()
        };
        let err = single.effective(IpAddr::from([10, 0, 0, 5]));
        assert!(matches!(err, Err(AuthConfigError::SingleUserNotOnLoopback(_))));
        let accounts = AuthSettings {
            mode: AuthMode::Accounts,
            ..AuthSettings::default()
        };
        assert_eq!(
            accounts.effective(IpAddr::from([127, 0, 0, 1])).ok(),
            Some(EffectiveAuth::Accounts)
        );
    }

    #[test]
    fn modes_parse_from_their_spellings() {
        assert_eq!("accounts".parse::<AuthMode>().ok(), Some(AuthMode::Accounts));
        assert_eq!("Single-User".parse::<AuthMode>().ok(), Some(AuthMode::SingleUser));
        assert_eq!("auto".parse::<AuthMode>().ok(), Some(AuthMode::Auto));
        assert!("everyone".parse::<AuthMode>().is_err());
    }
}
