//! How the SQS backend is configured, from the original deployment's environment variables
//! (`SQS_QUEUE_PREFIX`, `SQS_VISIBILITY_TIMEOUT`, `SQS_WAIT_TIME_SECONDS`, `AWS_REGION`) plus a few
//! `AIPRISM_SQS_*` ones.

use std::time::Duration;

use aiprism_store::queue::QueueName;

use crate::SqsError;

/// Keys for a static identity (tests against moto, or keys handed over by a secret store); without
/// them the SDK's default chain (environment, profile, web identity, ECS/EC2 roles) is used.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticCredentials {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
}

impl std::fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .finish()
    }
}

/// The SQS backend's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SqsConfig {
    /// Queue names are `{prefix}analysis`, `{prefix}chat`, `{prefix}monitoring` and the dead-letter queue
    /// `{prefix}dead` (`SQS_QUEUE_PREFIX`, default `aiprism-` as in the original deployment).
    pub prefix: String,
    /// The AWS region (`AWS_REGION` / `AWS_DEFAULT_REGION`; the SDK's chain when unset).
    pub region: Option<String>,
    /// Another SQS endpoint (`AIPRISM_SQS_ENDPOINT`; moto or LocalStack in tests).
    pub endpoint: Option<String>,
    /// The queues' default visibility timeout (`SQS_VISIBILITY_TIMEOUT`, default 300 s). Each claim sets
    /// its message's visibility to its own lease and heartbeats extend it, so run workers with a lease
    /// equal to this.
    pub visibility_timeout: Duration,
    /// Longest single long poll (`SQS_WAIT_TIME_SECONDS`, 0..=20, default 20).
    pub wait_time: Duration,
    /// Create missing queues (and the dead-letter queue) at start-up (`AIPRISM_SQS_CREATE_QUEUES`,
    /// default false: production queues are usually made by infrastructure code).
    pub create_queues: bool,
    /// Receives after which SQS moves a message to the dead-letter queue (`AIPRISM_SQS_MAX_RECEIVE_COUNT`,
    /// default 10). The database's attempt count decides when a job is dead; this is the broker's own
    /// safety net for messages that keep coming back without their job ever settling.
    pub max_receive_count: u32,
    /// How long a due job may sit queued without a dispatch before the sweeper sends its message again
    /// (`AIPRISM_SQS_STALE_AFTER_SECONDS`, default 300).
    pub stale_after: Duration,
    /// Static keys (`AIPRISM_SQS_ACCESS_KEY_ID` / `AIPRISM_SQS_SECRET_ACCESS_KEY`).
    pub credentials: Option<StaticCredentials>,
}

impl Default for SqsConfig {
    fn default() -> Self {
        Self {
            prefix: "aiprism-".into(),
            region: None,
            endpoint: None,
            visibility_timeout: Duration::from_secs(300),
            wait_time: Duration::from_secs(20),
            create_queues: false,
            max_receive_count: 10,
            stale_after: Duration::from_secs(300),
            credentials: None,
        }
    }
}

impl SqsConfig {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, SqsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SqsError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let seconds = |name: &str, default: Duration| -> Result<Duration, SqsError> {
            match get(name) {
                None => Ok(default),
                Some(v) => v.parse::<u64>().map(Duration::from_secs).map_err(|_| {
                    SqsError::Config(format!("{name} must be a whole number of seconds, got {v:?}"))
                }),
            }
        };
        let defaults = Self::default();
        let wait_time = seconds("SQS_WAIT_TIME_SECONDS", defaults.wait_time)?;
        if wait_time > Duration::from_secs(20) {
            return Err(SqsError::Config(
                "SQS_WAIT_TIME_SECONDS must be between 0 and 20".into(),
            ));
        }
        let visibility_timeout = seconds("SQS_VISIBILITY_TIMEOUT", defaults.visibility_timeout)?;
        if visibility_timeout > Duration::from_secs(43_200) {
            return Err(SqsError::Config(
                "SQS_VISIBILITY_TIMEOUT must be at most 43200 (12 hours)".into(),
            ));
        }
        let max_receive_count = match get("AIPRISM_SQS_MAX_RECEIVE_COUNT") {
            None => defaults.max_receive_count,
            Some(v) => v.parse().ok().filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
                SqsError::Config(format!(
                    "AIPRISM_SQS_MAX_RECEIVE_COUNT must be 1..=1000, got {v:?}"
                ))
            })?,
        };
        let create_queues = match get("AIPRISM_SQS_CREATE_QUEUES").as_deref() {
            None => false,
            Some("1" | "true" | "yes" | "on") => true,
            Some("0" | "false" | "no" | "off") => false,
            Some(v) => {
                return Err(SqsError::Config(format!(
                    "AIPRISM_SQS_CREATE_QUEUES must be true or false, got {v:?}"
                )));
            }
        };
        let credentials = match (
            get("AIPRISM_SQS_ACCESS_KEY_ID"),
            get("AIPRISM_SQS_SECRET_ACCESS_KEY"),
        ) {
            (Some(access_key_id), Some(secret_access_key)) => Some(StaticCredentials {
                access_key_id,
                secret_access_key,
            }),
            (None, None) => None,
            _ => {
                return Err(SqsError::Config(
                    "set both AIPRISM_SQS_ACCESS_KEY_ID and AIPRISM_SQS_SECRET_ACCESS_KEY, or neither".into(),
                ));
            }
        };
        Ok(Self {
            prefix: get("SQS_QUEUE_PREFIX").unwrap_or(defaults.prefix),
            region: get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION")),
            endpoint: get("AIPRISM_SQS_ENDPOINT"),
            visibility_timeout,
            wait_time,
            create_queues,
            max_receive_count,
            stale_after: seconds("AIPRISM_SQS_STALE_AFTER_SECONDS", defaults.stale_after)?,
            credentials,
        })
    }

    /// The SQS queue name of a job queue.
    pub fn queue_name(&self, queue: QueueName) -> String {
        format!("{}{}", self.prefix, queue.as_str())
    }

    /// The dead-letter queue's name.
    pub fn dead_letter_queue_name(&self) -> String {
        format!("{}dead", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<SqsConfig, SqsError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        SqsConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn reads_the_original_deployments_variables() {
        let config = from(&[
            ("SQS_QUEUE_PREFIX", "prod-"),
            ("SQS_VISIBILITY_TIMEOUT", "3600"),
            ("SQS_WAIT_TIME_SECONDS", "1"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
        ])
        .expect("valid");
        assert_eq!(config.queue_name(QueueName::Analysis), "prod-analysis");
        assert_eq!(config.dead_letter_queue_name(), "prod-dead");
        assert_eq!(config.visibility_timeout, Duration::from_secs(3600));
        assert_eq!(config.wait_time, Duration::from_secs(1));
        assert_eq!(config.region.as_deref(), Some("eu-west-1"));
        assert!(!config.create_queues);
    }

    #[test]
    fn rejects_values_sqs_would_reject() {
        assert!(from(&[("SQS_WAIT_TIME_SECONDS", "21")]).is_err());
        assert!(from(&[("SQS_VISIBILITY_TIMEOUT", "ten")]).is_err());
        assert!(from(&[("AIPRISM_SQS_CREATE_QUEUES", "maybe")]).is_err());
        assert!(from(&[("AIPRISM_SQS_ACCESS_KEY_ID", "only-half")]).is_err());
    }

    #[test]
    fn never_prints_the_secret_key() {
        let creds = StaticCredentials {
            access_key_id: "AKIA".into(),
            secret_access_key: "hunter2".into(),
        };
        assert!(!format!("{creds:?}").contains("hunter2"));
    }
}
