//! [`RedisSessionStore`]: browser sessions in Redis, so any process behind a load balancer knows every
//! session, and sessions outlive a database failover.
//!
//! Layout under the prefix:
//! - `session:{id_hash}`: a hash (`user_id`, `created_at`, `last_seen_at`, `expires_at`, times in
//!   microseconds since the epoch) with a Redis expiry at the session's absolute expiry;
//! - `user_sessions:{user_id}`: the set of a user's session ids (for signing out everywhere), living
//!   as long as the user's longest session;
//! - `sessions:by_expiry`, `sessions:by_last_seen`: sorted sets of ids by absolute expiry and by last
//!   activity, so pruning honours the idle cutoff too (Redis cannot know the idle limit).
//!
//! Every change touches several keys and runs as one Lua script.

use aiprism_core::UserId;
use aiprism_store::{SessionRecord, SessionStore, StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::Script;

use crate::{Redis, RedisError};

/// Ids pruned per index and script run (the script is called again while batches are full).
const PRUNE_BATCH: u32 = 500;

struct Scripts {
    insert: Script,
    touch: Script,
    delete: Script,
    delete_user: Script,
    prune: Script,
}

/// Sessions kept in Redis.
pub struct RedisSessionStore {
    redis: Redis,
    scripts: Scripts,
}

impl std::fmt::Debug for RedisSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSessionStore")
            .field("redis", &self.redis)
            .finish_non_exhaustive()
    }
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn time(field: &str, value: Option<&String>) -> Result<DateTime<Utc>, RedisError> {
    value
        .and_then(|v| v.parse::<i64>().ok())
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(|| RedisError::Protocol(format!("session field {field} is missing or not a time")))
}

impl RedisSessionStore {
    /// Sessions on this connection, under its prefix.
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            scripts: Scripts {
                insert: Script::new(include_str!("lua/sessions_insert.lua")),
                touch: Script::new(include_str!("lua/sessions_touch.lua")),
                delete: Script::new(include_str!("lua/sessions_delete.lua")),
                delete_user: Script::new(include_str!("lua/sessions_delete_user.lua")),
                prune: Script::new(include_str!("lua/sessions_prune.lua")),
            },
        }
    }

    fn session_key(&self, id_hash: &str) -> String {
        self.redis.key(&format!("session:{id_hash}"))
    }

    fn user_key(&self, user: &str) -> String {
        self.redis.key(&format!("user_sessions:{user}"))
    }

    fn by_expiry(&self) -> String {
        self.redis.key("sessions:by_expiry")
    }

    fn by_last_seen(&self) -> String {
        self.redis.key("sessions:by_last_seen")
    }
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn insert_session(&self, session: &SessionRecord) -> StoreResult<()> {
        let mut invocation = self.scripts.insert.key(self.session_key(&session.id_hash));
        invocation
            .key(self.user_key(session.user_id.as_str()))
            .key(self.by_expiry())
            .key(self.by_last_seen())
            .arg(&session.id_hash)
            .arg(session.user_id.as_str())
            .arg(micros(session.created_at))
            .arg(micros(session.last_seen_at))
            .arg(micros(session.expires_at))
            .arg(session.expires_at.timestamp_millis());
        match self.redis.invoke::<i64>(&invocation).await? {
            0 => Err(StoreError::Conflict("a session with this id exists".into())),
            _ => Ok(()),
        }
    }

    async fn session(&self, id_hash: &str) -> StoreResult<Option<SessionRecord>> {
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(self.session_key(id_hash))
            .arg("user_id")
            .arg("created_at")
            .arg("last_seen_at")
            .arg("expires_at");
        let fields: Vec<Option<String>> = self.redis.query(&cmd).await?;
        let [user_id, created_at, last_seen_at, expires_at] = fields.as_slice() else {
            return Err(RedisError::Protocol("HMGET answered the wrong number of fields".into()).into());
        };
        let Some(user_id) = user_id else {
            return Ok(None);
        };
        Ok(Some(SessionRecord {
            id_hash: id_hash.to_string(),
            user_id: UserId::new(user_id.clone()),
            created_at: time("created_at", created_at.as_ref())?,
            last_seen_at: time("last_seen_at", last_seen_at.as_ref())?,
            expires_at: time("expires_at", expires_at.as_ref())?,
        }))
    }

    async fn touch_session(&self, id_hash: &str, at: DateTime<Utc>) -> StoreResult<()> {
        let mut invocation = self.scripts.touch.key(self.session_key(id_hash));
        invocation.key(self.by_last_seen()).arg(id_hash).arg(micros(at));
        self.redis.invoke::<i64>(&invocation).await?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<bool> {
        let mut invocation = self.scripts.delete.key(self.session_key(id_hash));
        invocation
            .key(self.by_expiry())
            .key(self.by_last_seen())
            .arg(id_hash)
            .arg(self.redis.key("user_sessions:"));
        Ok(self.redis.invoke::<i64>(&invocation).await? > 0)
    }

    async fn delete_user_sessions(&self, user: &UserId) -> StoreResult<u64> {
        let mut invocation = self.scripts.delete_user.key(self.user_key(user.as_str()));
        invocation
            .key(self.by_expiry())
            .key(self.by_last_seen())
            .arg(self.redis.key("session:"));
        let ended: i64 = self.redis.invoke(&invocation).await?;
        Ok(u64::try_from(ended).unwrap_or(0))
    }

    async fn delete_expired_sessions(
        &self,
        now: DateTime<Utc>,
        idle_cutoff: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut total = 0u64;
        loop {
            let mut invocation = self.scripts.prune.key(self.by_expiry());
            invocation
                .key(self.by_last_seen())
                .arg(micros(now))
                .arg(micros(idle_cutoff))
                .arg(self.redis.key("session:"))
                .arg(self.redis.key("user_sessions:"))
                .arg(PRUNE_BATCH);
            let answer: (i64, i64) = self.redis.invoke(&invocation).await?;
            total += u64::try_from(answer.0).unwrap_or(0);
            if answer.1 == 0 {
                return Ok(total);
            }
        }
    }
}
