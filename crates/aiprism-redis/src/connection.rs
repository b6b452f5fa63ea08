//! The connection every Redis-backed part shares: a [`ConnectionManager`] (one multiplexed connection
//! that reconnects by itself), the key prefix, a timeout on every call, and a short pause after a
//! failure so that callers do not each wait out the timeout while Redis is down.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, ScriptInvocation};
use secrecy::{ExposeSecret, SecretString};

use crate::RedisError;

/// How long calls skip Redis after one failed.
const PAUSE_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// Where Redis is and how aiprism uses it.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://[:password@]host[:port][/db]` or `rediss://` for TLS. Secret: it may hold a password.
    pub url: SecretString,
    /// Prefix of every key written (`aiprism:` by default).
    pub prefix: String,
    /// Longest a single call may take before it counts as failed.
    pub timeout: Duration,
}

impl RedisConfig {
    /// The configuration the settings describe; `None` without `REDIS_URL`.
    pub fn from_settings(settings: &aiprism_app::settings::RedisSettings) -> Option<Self> {
        settings.url.as_ref().map(|url| Self {
            url: url.clone(),
            prefix: settings.key_prefix.clone(),
            timeout: Duration::from_millis(u64::from(settings.timeout_ms.max(1))),
        })
    }
}

/// What `INFO server` says about the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// `redis_version` (Valkey reports a compatible one).
    pub version: String,
}

/// A handle on Redis, cheap to clone; every clone shares one connection.
#[derive(Clone)]
pub struct Redis {
    inner: Arc<Inner>,
}

struct Inner {
    manager: ConnectionManager,
    prefix: String,
    timeout: Duration,
    target: String,
    password: Option<SecretString>,
    paused_until: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("target", &self.inner.target)
            .field("prefix", &self.inner.prefix)
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// Connects (within the timeout, at least two seconds) and checks the server answers.
    pub async fn connect(config: &RedisConfig) -> Result<Self, RedisError> {
        let url = config.url.expose_secret();
        let target = aiprism_store::redact_url(url);
        let password = password_of(url).map(SecretString::from);
        let scrub = |message: String| scrub(message, password.as_ref());
        let client = redis::Client::open(url).map_err(|e| RedisError::Config(scrub(e.to_string())))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout.max(Duration::from_millis(100))))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let connect_within = config.timeout.max(Duration::from_secs(2));
        let manager = tokio::time::timeout(
            connect_within,
            ConnectionManager::new_with_config(client, manager_config),
        )
        .await
        .map_err(|_| RedisError::Unavailable(format!("no answer from {target} within {connect_within:?}")))?
        .map_err(|e| RedisError::Unavailable(format!("{target}: {}", scrub(e.to_string()))))?;
        Ok(Self {
            inner: Arc::new(Inner {
                manager,
                prefix: config.prefix.clone(),
                timeout: config.timeout,
                target,
                password,
                paused_until: Mutex::new(None),
            }),
        })
    }

    /// The URL with its password shown as `***`.
    pub fn target(&self) -> &str {
        &self.inner.target
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// A key under the prefix.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.inner.prefix)
    }

    /// `PING`, then the server's version from `INFO server`.
    pub async fn ping(&self) -> Result<ServerInfo, RedisError> {
        let pong: String = self.query(&redis::cmd("PING")).await?;
        if pong != "PONG" {
            return Err(RedisError::Protocol(format!("PING answered {pong:?}")));
        }
        let info: String = self.query(redis::cmd("INFO").arg("server")).await?;
        let version = info
            .lines()
            .find_map(|line| line.strip_prefix("redis_version:"))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        Ok(ServerInfo { version })
    }

    /// Runs a command.
    pub(crate) async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, RedisError> {
        self.guard()?;
        let mut conn = self.inner.manager.clone();
        let outcome = tokio::time::timeout(self.inner.timeout, cmd.query_async(&mut conn)).await;
        self.settle(outcome)
    }

    /// Runs a script (by its hash, loading it first when the server does not know it yet).
    pub(crate) async fn invoke<T: FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, RedisError> {
        self.guard()?;
        let mut conn = self.inner.manager.clone();
        let outcome = tokio::time::timeout(self.inner.timeout, invocation.invoke_async(&mut conn)).await;
        self.settle(outcome)
    }

    /// Refuses at once while calls are paused after a failure.
    fn guard(&self) -> Result<(), RedisError> {
        let paused = self.lock_pause();
        match *paused {
            Some(until) if Instant::now() < until => Err(RedisError::Unavailable(
                "a call failed less than a second ago; not trying again yet".into(),
            )),
            _ => Ok(()),
        }
    }

    fn settle<T>(
        &self,
        outcome: Result<redis::RedisResult<T>, tokio::time::error::Elapsed>,
    ) -> Result<T, RedisError> {
        let error = match outcome {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(e)) => classify(&e, self.inner.password.as_ref()),
            Err(_) => RedisError::Unavailable(format!("no answer within {:?}", self.inner.timeout)),
        };
        if matches!(error, RedisError::Unavailable(_)) {
            *self.lock_pause() = Some(Instant::now() + PAUSE_AFTER_FAILURE);
        }
        Err(error)
    }

    fn lock_pause(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        // A poisoned lock only means a panic elsewhere; the instant is still meaningful.
        self.inner
            .paused_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Type and parse failures are ours (or a foreign key's); everything else means Redis is not usable
/// right now (down, timed out, loading, read-only replica, out of memory, bad password).
fn classify(e: &redis::RedisError, password: Option<&SecretString>) -> RedisError {
    let message = scrub(e.to_string(), password);
    match e.kind() {
        redis::ErrorKind::UnexpectedReturnType | redis::ErrorKind::Parse => RedisError::Protocol(message),
        redis::ErrorKind::InvalidClientConfig => RedisError::Config(message),
        _ => RedisError::Unavailable(message),
    }
}

/// The password inside a URL's user info, if any (`redis://user:password@host`).
fn password_of(url: &str) -> Option<String> {
    let rest = &url[url.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    let password = &userinfo[userinfo.find(':')? + 1..];
    (!password.is_empty()).then(|| password.to_string())
}

/// Error texts never carry the password, whatever the driver put in them.
fn scrub(message: String, password: Option<&SecretString>) -> String {
    match password {
        Some(p) if !p.expose_secret().is_empty() => message.replace(p.expose_secret(), "***"),
        _ => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_found_in_the_user_info_only() {
        assert_eq!(password_of("redis://:s3cret@h:6379/0").as_deref(), Some("s3cret"));
        assert_eq!(password_of("rediss://app:pw@h").as_deref(), Some("pw"));
        assert_eq!(password_of("redis://h:6379"), None);
        assert_eq!(password_of("redis://user@h"), None);
    }

    #[test]
    fn error_texts_are_scrubbed_of_the_password() {
        let p = SecretString::from("hunter2".to_string());
        assert_eq!(scrub("auth hunter2 failed".into(), Some(&p)), "auth *** failed");
        assert_eq!(scrub("plain".into(), None), "plain");
    }
}
