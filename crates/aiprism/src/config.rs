//! Loads [`Settings`]: embedded defaults, then an optional TOML file (`--config` / `AIPRISM_CONFIG`), then
//! the environment. The original AI-Prism variable names keep their meaning; everything else has an
//! `AIPRISM_` name. A bad value stops start-up with a message naming the variable.
//!
//! Secrets may also come from files (`SECRET_KEY_FILE`, `DATABASE_URL_FILE`, ...), which is how ECS and
//! Secrets Manager inject them.

use std::path::{Path, PathBuf};

use aiprism_app::Settings;
use aiprism_app::settings::{LogFormat, QueueBackend};
use secrecy::SecretString;

/// A configuration problem, naming the variable or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// An environment variable holds an unusable value.
    #[error("invalid value for {variable}: {message}")]
    Variable {
        /// The variable's name.
        variable: &'static str,
        /// What is wrong, without echoing secret values.
        message: String,
    },
    /// The configuration file cannot be read or parsed.
    #[error("configuration file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

type Apply = fn(&mut Settings, &str) -> Result<(), String>;

/// One environment variable: its name, whether its value is secret (never echoed in errors), and how it
/// changes the settings.
struct Variable {
    name: &'static str,
    secret: bool,
    apply: Apply,
}

const fn var(name: &'static str, apply: Apply) -> Variable {
    Variable {
        name,
        secret: false,
        apply,
    }
}

const fn secret(name: &'static str, apply: Apply) -> Variable {
    Variable {
        name,
        secret: true,
        apply,
    }
}

/// Every variable read, in the order applied (later entries win, e.g. `AWS_REGION` over
/// `AWS_DEFAULT_REGION`).
const VARIABLES: &[Variable] = &[
    var("AIPRISM_BIND", |s, v| parse(v).map(|x| s.server.bind = x)),
    var("PORT", |s, v| parse(v).map(|x| s.server.port = x)),
    var("AIPRISM_DATA_DIR", |s, v| {
        s.server.data_dir = PathBuf::from(v);
        Ok(())
    }),
    var("MAX_CONTENT_LENGTH", |s, v| {
        parse_bytes(v).map(|x| s.server.max_upload_bytes = x)
    }),
    secret("SECRET_KEY", |s, v| {
        s.server.secret_key = Some(SecretString::from(v.to_string()));
        Ok(())
    }),
    var("AIPRISM_WORKERS", |s, v| {
        parse_bool(v).map(|x| s.server.workers = x)
    }),
    var("AIPRISM_WORKER_LISTEN", |s, v| {
        v.parse::<std::net::SocketAddr>()
            .map(|x| s.server.worker_listen = Some(x))
            .map_err(|_| "expected an address with a port, such as 127.0.0.1:9091 or 0.0.0.0:9091".into())
    }),
    secret("DATABASE_URL", |s, v| {
        s.database.url = Some(SecretString::from(v.to_string()));
        Ok(())
    }),
    var("AIPRISM_MIGRATE_ON_START", |s, v| {
        parse_bool(v).map(|x| s.database.migrate_on_start = Some(x))
    }),
    var("S3_BUCKET_NAME", |s, v| {
        s.storage.s3_bucket = Some(v.to_string());
        Ok(())
    }),
    var("S3_BASE_PATH", |s, v| {
        s.storage.s3_base_path = v.to_string();
        Ok(())
    }),
    var("S3_ENDPOINT", |s, v| {
        s.storage.s3_endpoint = Some(v.to_string());
        Ok(())
    }),
    var("AIPRISM_S3_ACCESS_KEY_ID", |s, v| {
        s.storage.s3_access_key_id = Some(v.to_string());
        Ok(())
    }),
    secret("AIPRISM_S3_SECRET_ACCESS_KEY", |s, v| {
        s.storage.s3_secret_access_key = Some(SecretString::from(v.to_string()));
        Ok(())
    }),
    var("AWS_DEFAULT_REGION", |s, v| {
        s.storage.region = Some(v.to_string());
        Ok(())
    }),
    var("AWS_REGION", |s, v| {
        s.storage.region = Some(v.to_string());
        Ok(())
    }),
    var("ENABLE_S3_EXPORT", |s, v| {
        parse_bool(v).map(|x| s.storage.enable_s3_export = x)
    }),
    var("AIPRISM_QUEUE", |s, v| match v.to_ascii_lowercase().as_str() {
        "database" | "db" => {
            s.queue.backend = QueueBackend::Database;
            Ok(())
        }
        "sqs" => {
            s.queue.backend = QueueBackend::Sqs;
            Ok(())
        }
        _ => Err("expected `database` or `sqs`".into()),
    }),
    var("SQS_QUEUE_PREFIX", |s, v| {
        s.queue.sqs_queue_prefix = v.to_string();
        Ok(())
    }),
    var("SQS_VISIBILITY_TIMEOUT", |s, v| {
        parse_range(v, 0, 43_200, "seconds").map(|x| s.queue.sqs_visibility_timeout = x)
    }),
    var("SQS_WAIT_TIME_SECONDS", |s, v| {
        parse_range(v, 0, 20, "seconds").map(|x| s.queue.sqs_wait_time_seconds = x)
    }),
    var("AIPRISM_ANALYSIS_CONCURRENCY", |s, v| {
        parse_range(v, 0, 1024, "workers").map(|x| s.queue.analysis_concurrency = x)
    }),
    var("AIPRISM_CHAT_CONCURRENCY", |s, v| {
        parse_range(v, 0, 1024, "workers").map(|x| s.queue.chat_concurrency = x)
    }),
    var("AIPRISM_MONITOR_INTERVAL", |s, v| {
        parse_range(v, 1, 86_400, "seconds").map(|x| s.queue.monitor_interval_secs = x)
    }),
    var("AIPRISM_JOB_LEASE", |s, v| {
        parse_range(v, 2, 86_400, "seconds").map(|x| s.queue.lease_secs = x)
    }),
    var("BEDROCK_MODEL_ID", |s, v| {
        s.bedrock.model_id = Some(v.to_string());
        Ok(())
    }),
    var("BEDROCK_FALLBACK_MODELS", |s, v| {
        s.bedrock.fallback_models = v
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .collect();
        Ok(())
    }),
    var("BEDROCK_MAX_TOKENS", |s, v| {
        parse_range(v, 1, 1_000_000, "tokens").map(|x| s.bedrock.max_tokens = x)
    }),
    var("BEDROCK_TEMPERATURE", |s, v| {
        parse_unit(v).map(|x| s.bedrock.temperature = x)
    }),
    var("REASONING_ENABLED", |s, v| {
        parse_bool(v).map(|x| s.bedrock.reasoning_enabled = x)
    }),
    var("EXTENDED_THINKING_BUDGET", |s, v| {
        parse_range(v, 1024, 1_000_000, "tokens").map(|x| s.bedrock.thinking_budget = x)
    }),
    var("BEDROCK_REGION", |s, v| {
        s.bedrock.region = Some(v.to_string());
        Ok(())
    }),
    secret("ANTHROPIC_API_KEY", |s, v| {
        s.anthropic.api_key = Some(SecretString::from(v.to_string()));
        Ok(())
    }),
    var("ANTHROPIC_BASE_URL", |s, v| {
        parse_url(v).map(|x| s.anthropic.base_url = Some(x))
    }),
    var("AIPRISM_ANTHROPIC_MODEL", |s, v| {
        s.anthropic.model = Some(v.to_string());
        Ok(())
    }),
    secret("OPENAI_API_KEY", |s, v| {
        s.openai.api_key = Some(SecretString::from(v.to_string()));
        Ok(())
    }),
    var("OPENAI_BASE_URL", |s, v| {
        parse_url(v).map(|x| s.openai.base_url = Some(x))
    }),
    var("AIPRISM_OPENAI_MODEL", |s, v| {
        s.openai.model = Some(v.to_string());
        Ok(())
    }),
    var("MAX_REQUESTS_PER_MINUTE", |s, v| {
        parse_range(v, 1, 10_000_000, "requests").map(|x| s.limits.max_requests_per_minute = Some(x))
    }),
    var("MAX_CONCURRENT_REQUESTS", |s, v| {
        parse_range(v, 1, 100_000, "requests").map(|x| s.limits.max_concurrent_requests = Some(x))
    }),
    var("MAX_TOKENS_PER_MINUTE", |s, v| {
        parse_range(v, 1, u32::MAX, "tokens").map(|x| s.limits.max_tokens_per_minute = Some(x))
    }),
    var("FEEDBACK_MIN_CONFIDENCE", |s, v| {
        parse_unit(v).map(|x| s.review.min_confidence = x)
    }),
    var("AIPRISM_DEFAULT_FRAMEWORK", |s, v| {
        s.review.default_framework = v.to_string();
        Ok(())
    }),
    var("AIPRISM_SECTION_TIMEOUT", |s, v| {
        parse_range(v, 1, 86_400, "seconds").map(|x| s.review.section_timeout_secs = x)
    }),
    var("AIPRISM_COMMENT_AUTHOR", |s, v| {
        s.review.comment_author = v.to_string();
        Ok(())
    }),
    secret("REDIS_URL", |s, v| {
        // The original treated these spellings as "no Redis"; keep that meaning.
        s.redis.url = match v.to_ascii_lowercase().as_str() {
            "disabled" | "none" | "off" | "false" => None,
            _ => Some(SecretString::from(v.to_string())),
        };
        Ok(())
    }),
    var("REDIS_KEY_PREFIX", |s, v| {
        s.redis.key_prefix = v.to_string();
        Ok(())
    }),
    var("AIPRISM_REDIS_TIMEOUT_MS", |s, v| {
        parse_range(v, 10, 60_000, "milliseconds").map(|x| s.redis.timeout_ms = x)
    }),
    var("AIPRISM_API_RATE_PER_MINUTE", |s, v| {
        parse_range(v, 0, 10_000_000, "requests").map(|x| s.api_limits.per_minute = x)
    }),
    var("AIPRISM_API_RATE_BURST", |s, v| {
        parse_range(v, 1, 10_000_000, "requests").map(|x| s.api_limits.burst = x)
    }),
    var("AIPRISM_AUTH", |s, v| parse(v).map(|x| s.auth.mode = x)),
    var("AIPRISM_SSO_HEADER", |s, v| {
        let name = v.trim().to_ascii_lowercase();
        if name.is_empty() {
            s.auth.sso_header = None;
            return Ok(());
        }
        check_header_name(&name)?;
        s.auth.sso_header = Some(name);
        Ok(())
    }),
    var("AIPRISM_SESSION_IDLE", |s, v| {
        parse_range(v, 60, 31_536_000, "seconds").map(|x| s.auth.session_idle_secs = x)
    }),
    var("AIPRISM_SESSION_LIFETIME", |s, v| {
        parse_range(v, 60, 31_536_000, "seconds").map(|x| s.auth.session_lifetime_secs = x)
    }),
    var("AIPRISM_SECURE_COOKIES", |s, v| {
        parse_bool(v).map(|x| s.auth.secure_cookies = x)
    }),
    var("LOG_LEVEL", |s, v| {
        s.observability.log_level = v.to_ascii_lowercase();
        Ok(())
    }),
    var("AIPRISM_LOG_FORMAT", |s, v| {
        match v.to_ascii_lowercase().as_str() {
            "text" | "plain" => {
                s.observability.log_format = LogFormat::Text;
                Ok(())
            }
            "json" => {
                s.observability.log_format = LogFormat::Json;
                Ok(())
            }
            _ => Err("expected `text` or `json`".into()),
        }
    }),
    var("ENABLE_METRICS", |s, v| {
        parse_bool(v).map(|x| s.observability.metrics = x)
    }),
    secret("AIPRISM_METRICS_TOKEN", |s, v| {
        s.observability.metrics_token = Some(SecretString::from(v.to_string()));
        Ok(())
    }),
];

/// Loads settings from defaults, the file (if any) and the given environment.
pub fn load(
    config_file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, ConfigError> {
    let file = config_file.map(Path::to_path_buf).or_else(|| {
        env("AIPRISM_CONFIG")
            .filter(|v| !v.trim().is_empty())
            .map(PathBuf::from)
    });
    let mut settings = match &file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
                path: path.clone(),
                message: e.to_string(),
            })?;
            toml::from_str::<Settings>(&text).map_err(|e| ConfigError::File {
                path: path.clone(),
                message: e.message().to_string(),
            })?
        }
        None => Settings::default(),
    };
    for variable in VARIABLES {
        let value = match read_variable(variable, env)? {
            Some(v) => v,
            None => continue,
        };
        (variable.apply)(&mut settings, &value).map_err(|message| ConfigError::Variable {
            variable: variable.name,
            message: if variable.secret {
                message
            } else {
                format!("{message} (got {value:?})")
            },
        })?;
    }
    validate(&settings)?;
    Ok(settings)
}

/// A variable's value from the environment, or from the file named by `NAME_FILE` for secrets. Empty
/// values count as unset, as they do in most `.env` files.
fn read_variable(
    variable: &Variable,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, ConfigError> {
    if let Some(value) = env(variable.name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    {
        return Ok(Some(value));
    }
    if !variable.secret {
        return Ok(None);
    }
    let file_var = format!("{}_FILE", variable.name);
    let Some(path) = env(&file_var).filter(|p| !p.trim().is_empty()) else {
        return Ok(None);
    };
    let content = std::fs::read_to_string(path.trim()).map_err(|e| ConfigError::Variable {
        variable: variable.name,
        message: format!("cannot read the file named by {file_var}: {e}"),
    })?;
    let content = content.trim().to_string();
    Ok((!content.is_empty()).then_some(content))
}

fn validate(settings: &Settings) -> Result<(), ConfigError> {
    let file_error = |message: String| ConfigError::File {
        path: PathBuf::from("(resolved settings)"),
        message,
    };
    if !(0.0..=1.0).contains(&settings.review.min_confidence) {
        return Err(file_error("review.min_confidence must be between 0 and 1".into()));
    }
    if settings.server.max_upload_bytes == 0 {
        return Err(file_error("server.max_upload_bytes must be above 0".into()));
    }
    if settings.storage.s3_access_key_id.is_some() != settings.storage.s3_secret_access_key.is_some() {
        return Err(ConfigError::Variable {
            variable: "AIPRISM_S3_ACCESS_KEY_ID",
            message: "set both AIPRISM_S3_ACCESS_KEY_ID and AIPRISM_S3_SECRET_ACCESS_KEY, or neither".into(),
        });
    }
    if let Some(url) = &settings.database.url {
        aiprism_store::Backend::from_url(secrecy::ExposeSecret::expose_secret(url)).map_err(|e| {
            ConfigError::Variable {
                variable: "DATABASE_URL",
                message: e.to_string(),
            }
        })?;
    }
    Ok(())
}

fn parse<T: std::str::FromStr>(v: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    v.parse::<T>().map_err(|e| e.to_string())
}

/// A header name is letters, digits and `-` (no spaces, no colon), e.g. `x-forwarded-user`.
fn check_header_name(name: &str) -> Result<(), String> {
    if name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(())
    } else {
        Err("expected a header name such as X-Forwarded-User".into())
    }
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

fn parse_range(v: &str, min: u32, max: u32, unit: &str) -> Result<u32, String> {
    let n: u32 = v
        .parse()
        .map_err(|_| format!("expected a whole number of {unit}"))?;
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(format!("expected {min} to {max} {unit}"))
    }
}

fn parse_unit(v: &str) -> Result<f32, String> {
    let x: f32 = v
        .parse()
        .map_err(|_| "expected a number between 0 and 1".to_string())?;
    if (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err("expected a number between 0 and 1".into())
    }
}

fn parse_url(v: &str) -> Result<String, String> {
    if v.starts_with("http://") || v.starts_with("https://") {
        Ok(v.trim_end_matches('/').to_string())
    } else {
        Err("expected an http:// or https:// URL".into())
    }
}

/// Bytes, with an optional K/M/G suffix (binary multiples): `16777216`, `16M`, `16MB`, `16MiB`.
fn parse_bytes(v: &str) -> Result<u64, String> {
    let lower = v.trim().to_ascii_lowercase();
    let digits_end = lower.find(|c: char| !c.is_ascii_digit()).unwrap_or(lower.len());
    let (number, unit) = lower.split_at(digits_end);
    let n: u64 = number
        .parse()
        .map_err(|_| "expected a size in bytes, e.g. 16777216 or 16M".to_string())?;
    let multiplier: u64 = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        "g" | "gb" | "gib" => 1024 * 1024 * 1024,
        _ => return Err("expected a size in bytes, e.g. 16777216 or 16M".into()),
    };
    let bytes = n.checked_mul(multiplier).ok_or("size too large")?;
    if bytes == 0 {
        Err("must be above 0".into())
    } else {
        Ok(bytes)
    }
}

/// Names of every variable read (the test below checks the list against the design).
#[cfg(test)]
pub fn variable_names() -> impl Iterator<Item = &'static str> {
    VARIABLES.iter().map(|v| v.name)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_are_embedded_and_need_nothing() {
        let s = load(None, &env_of(&[])).unwrap();
        assert_eq!(s.server.port, 8080);
        assert_eq!(s.server.bind.to_string(), "127.0.0.1");
        assert!(s.database_url().starts_with("sqlite://"));
        assert!(!s.models_configured());
        assert!((s.review.min_confidence - 0.8).abs() < f32::EPSILON);
    }

    #[test]
    fn original_variable_names_keep_their_meaning() {
        let s = load(
            None,
            &env_of(&[
                ("PORT", "9000"),
                ("BEDROCK_MODEL_ID", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
                ("BEDROCK_FALLBACK_MODELS", "a, b,,c"),
                ("REASONING_ENABLED", "true"),
                ("EXTENDED_THINKING_BUDGET", "2000"),
                ("MAX_REQUESTS_PER_MINUTE", "60"),
                ("FEEDBACK_MIN_CONFIDENCE", "0.6"),
                ("MAX_CONTENT_LENGTH", "8M"),
                ("AWS_DEFAULT_REGION", "eu-north-1"),
                ("AWS_REGION", "us-east-2"),
                ("REDIS_URL", "disabled"),
                ("SQS_QUEUE_PREFIX", "team-"),
            ]),
        )
        .unwrap();
        assert_eq!(s.server.port, 9000);
        assert_eq!(s.bedrock.fallback_models, ["a", "b", "c"]);
        assert!(s.bedrock.reasoning_enabled);
        assert_eq!(s.limits.max_requests_per_minute, Some(60));
        assert_eq!(s.server.max_upload_bytes, 8 * 1024 * 1024);
        assert_eq!(s.storage.region.as_deref(), Some("us-east-2"));
        assert!(s.redis.url.is_none());
        assert_eq!(s.queue.sqs_queue_prefix, "team-");
        assert!(s.models_configured());
    }

    #[test]
    fn auth_settings_come_from_the_environment() {
        let s = load(
            None,
            &env_of(&[
                ("AIPRISM_AUTH", "accounts"),
                ("AIPRISM_SSO_HEADER", "X-Forwarded-User"),
                ("AIPRISM_SESSION_IDLE", "3600"),
                ("AIPRISM_SESSION_LIFETIME", "86400"),
                ("AIPRISM_SECURE_COOKIES", "true"),
            ]),
        )
        .unwrap();
        assert_eq!(s.auth.mode, aiprism_app::settings::AuthMode::Accounts);
        assert_eq!(s.auth.sso_header.as_deref(), Some("x-forwarded-user"));
        assert_eq!(s.auth.session_idle_secs, 3600);
        assert_eq!(s.auth.session_lifetime_secs, 86400);
        assert!(s.auth.secure_cookies);
        assert!(load(None, &env_of(&[("AIPRISM_AUTH", "everyone")])).is_err());
        assert!(load(None, &env_of(&[("AIPRISM_SSO_HEADER", "bad header:")])).is_err());
    }

    #[test]
    fn static_s3_keys_and_the_worker_listener_come_from_the_environment() {
        let s = load(
            None,
            &env_of(&[
                ("AIPRISM_S3_ACCESS_KEY_ID", "AKIDEXAMPLE"),
                ("AIPRISM_S3_SECRET_ACCESS_KEY", "s3-very-secret"),
                ("AIPRISM_WORKER_LISTEN", "127.0.0.1:9091"),
            ]),
        )
        .unwrap();
        assert_eq!(s.storage.s3_access_key_id.as_deref(), Some("AKIDEXAMPLE"));
        assert_eq!(
            s.storage.s3_secret_access_key.as_ref().unwrap().expose_secret(),
            "s3-very-secret"
        );
        assert_eq!(s.server.worker_listen, Some("127.0.0.1:9091".parse().unwrap()));
        assert!(load(None, &env_of(&[])).unwrap().server.worker_listen.is_none());
        let err = load(
            None,
            &env_of(&[("AIPRISM_S3_SECRET_ACCESS_KEY", "s3-very-secret")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("AIPRISM_S3_ACCESS_KEY_ID") && !err.contains("very-secret"),
            "{err}"
        );
        let err = load(None, &env_of(&[("AIPRISM_WORKER_LISTEN", "9091")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("AIPRISM_WORKER_LISTEN"), "{err}");
    }

    #[test]
    fn redis_and_api_limit_settings_come_from_the_environment() {
        let defaults = load(None, &env_of(&[])).unwrap();
        assert_eq!(defaults.redis.key_prefix, "aiprism:");
        assert_eq!(defaults.api_limits.per_minute, 600);
        assert_eq!(defaults.api_limits.burst, 120);
        let s = load(
            None,
            &env_of(&[
                ("REDIS_URL", "redis://:pw@cache:6379/0"),
                ("REDIS_KEY_PREFIX", "team-a:"),
                ("AIPRISM_REDIS_TIMEOUT_MS", "250"),
                ("AIPRISM_API_RATE_PER_MINUTE", "0"),
                ("AIPRISM_API_RATE_BURST", "20"),
            ]),
        )
        .unwrap();
        assert_eq!(
            s.redis.url.as_ref().map(|u| u.expose_secret().to_string()),
            Some("redis://:pw@cache:6379/0".to_string())
        );
        assert_eq!(s.redis.key_prefix, "team-a:");
        assert_eq!(s.redis.timeout_ms, 250);
        assert_eq!(s.api_limits.per_minute, 0, "0 turns limiting off");
        assert_eq!(s.api_limits.burst, 20);
        assert!(load(None, &env_of(&[("AIPRISM_API_RATE_BURST", "0")])).is_err());
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        let err = load(None, &env_of(&[("BEDROCK_TEMPERATURE", "hot")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("BEDROCK_TEMPERATURE"), "{err}");
        assert!(err.contains("hot"), "{err}");
        let err = load(None, &env_of(&[("PORT", "http")])).unwrap_err().to_string();
        assert!(err.contains("PORT"), "{err}");
        let err = load(None, &env_of(&[("DATABASE_URL", "mysql://u:pw@h/db")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("DATABASE_URL") && !err.contains("pw@"), "{err}");
    }

    #[test]
    fn secret_values_are_never_echoed_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = load(None, &env_of(&[("SECRET_KEY_FILE", missing.to_str().unwrap())]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("SECRET_KEY"), "{err}");
    }

    #[test]
    fn secrets_can_come_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("db");
        std::fs::write(&file, "postgres://app:hunter2@db/aiprism\n").unwrap();
        let s = load(None, &env_of(&[("DATABASE_URL_FILE", file.to_str().unwrap())])).unwrap();
        assert_eq!(s.database_url(), "postgres://app:hunter2@db/aiprism");
        let described: Vec<_> = s
            .describe()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let described = described.join("\n");
        assert!(described.contains("postgres://app:***@db/aiprism"), "{described}");
        assert!(!described.contains("hunter2"));
    }

    #[test]
    fn the_file_is_read_and_the_environment_wins() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("aiprism.toml");
        std::fs::write(
            &file,
            "[server]\nport = 7000\ndata_dir = \"/srv/aiprism\"\n[review]\nmin_confidence = 0.5\n\
             [[models]]\nprovider = \"openai\"\nmodel = \"llama3\"\n",
        )
        .unwrap();
        let s = load(Some(&file), &env_of(&[("PORT", "7001")])).unwrap();
        assert_eq!(s.server.port, 7001);
        assert_eq!(s.server.data_dir, PathBuf::from("/srv/aiprism"));
        assert!((s.review.min_confidence - 0.5).abs() < f32::EPSILON);
        assert_eq!(s.models.len(), 1);
    }

    #[test]
    fn a_typo_in_the_file_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "[server]\nprot = 1\n").unwrap();
        let err = load(Some(&file), &env_of(&[])).unwrap_err().to_string();
        assert!(err.contains("bad.toml") && err.contains("prot"), "{err}");
    }

    #[test]
    fn secret_strings_do_not_debug_print() {
        let s = load(None, &env_of(&[("ANTHROPIC_API_KEY", "sk-ant-very-secret")])).unwrap();
        assert!(!format!("{s:?}").contains("very-secret"));
        assert_eq!(
            s.anthropic.api_key.as_ref().unwrap().expose_secret(),
            "sk-ant-very-secret"
        );
    }

    #[test]
    fn every_variable_named_in_the_design_is_read() {
        let names: Vec<_> = variable_names().collect();
        for required in [
            "PORT",
            "SECRET_KEY",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "S3_BUCKET_NAME",
            "S3_BASE_PATH",
            "SQS_QUEUE_PREFIX",
            "SQS_VISIBILITY_TIMEOUT",
            "SQS_WAIT_TIME_SECONDS",
            "BEDROCK_MODEL_ID",
            "BEDROCK_FALLBACK_MODELS",
            "BEDROCK_MAX_TOKENS",
            "BEDROCK_TEMPERATURE",
            "REASONING_ENABLED",
            "EXTENDED_THINKING_BUDGET",
            "MAX_REQUESTS_PER_MINUTE",
            "MAX_CONCURRENT_REQUESTS",
            "MAX_TOKENS_PER_MINUTE",
            "FEEDBACK_MIN_CONFIDENCE",
            "DATABASE_URL",
            "REDIS_URL",
            "LOG_LEVEL",
            "ENABLE_METRICS",
            "ENABLE_S3_EXPORT",
            "AIPRISM_S3_ACCESS_KEY_ID",
            "AIPRISM_S3_SECRET_ACCESS_KEY",
            "MAX_CONTENT_LENGTH",
        ] {
            assert!(names.contains(&required), "{required} is not read");
        }
    }
}
