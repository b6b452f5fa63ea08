//! Redis for tests: every test gets its own key prefix on the server named by `AIPRISM_TEST_REDIS_URL`
//! (so tests run in parallel without seeing each other's keys), and its keys are deleted afterwards.
//!
//! Without the variable a test prints a note and passes locally; when `CI=true` a missing variable is
//! a failure, and a set variable whose server does not answer is a failure everywhere.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::{Redis, RedisConfig};

/// Environment variable naming the Redis server tests may write to.
pub const REDIS_URL_VAR: &str = "AIPRISM_TEST_REDIS_URL";

/// The test server's URL; `None` (after a note) when it is not configured outside CI.
pub fn test_url() -> Option<String> {
    if let Ok(url) = std::env::var(REDIS_URL_VAR) {
        return Some(url);
    }
    assert!(
        !aiprism_store::testing::is_ci(),
        "CI=true but {REDIS_URL_VAR} is not set: the Redis tests must run in CI"
    );
    eprintln!("note: {REDIS_URL_VAR} not set; Redis test not run here (scripts/test starts Redis)");
    None
}

/// A key prefix no other test uses.
pub fn unique_prefix() -> String {
    format!("aiprism-test:{}:", uuid::Uuid::now_v7().simple())
}

/// A connection under a prefix of its own; dropping it deletes every key under the prefix.
#[derive(Debug)]
pub struct TestRedis {
    /// The connection.
    pub redis: Redis,
    /// How it was made (the same prefix), for more connections or an app's settings.
    pub config: RedisConfig,
}

impl TestRedis {
    /// A connection under a fresh prefix, or `None` when Redis is not configured here.
    pub async fn new() -> Option<Self> {
        let url = test_url()?;
        let config = RedisConfig {
            url: SecretString::from(url),
            prefix: unique_prefix(),
            timeout: Duration::from_secs(2),
        };
        let redis = Self::connect(&config).await;
        Some(Self { redis, config })
    }

    /// Another connection to the same server and prefix, as a second process would have.
    pub async fn another_connection(&self) -> Redis {
        Self::connect(&self.config).await
    }

    async fn connect(config: &RedisConfig) -> Redis {
        match Redis::connect(config).await {
            Ok(redis) => redis,
            Err(e) => panic!("{REDIS_URL_VAR} is set but Redis does not answer: {e}"),
        }
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        // A plain blocking connection: drop cannot await, and the test's runtime may be gone.
        let pattern = format!("{}*", self.config.prefix);
        let Ok(client) = redis::Client::open(self.config.url.expose_secret()) else {
            return;
        };
        let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_secs(1)) else {
            return;
        };
        let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
        let mut cursor: u64 = 0;
        loop {
            let page: redis::RedisResult<(u64, Vec<String>)> = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query(&mut conn);
            let Ok((next, keys)) = page else { return };
            if !keys.is_empty() {
                let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(&keys).query(&mut conn);
            }
            if next == 0 {
                return;
            }
            cursor = next;
        }
    }
}
