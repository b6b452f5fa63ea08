//! Browser sessions in the database, keyed by a hash of the session id.

use aiprism_core::UserId;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::pool::{SqlStore, map_err, on_pool};
use crate::{SessionRecord, SessionStore, StoreResult};

#[derive(sqlx::FromRow)]
struct SessionRow {
    id_hash: String,
    user_id: String,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl From<SessionRow> for SessionRecord {
    fn from(r: SessionRow) -> Self {
        SessionRecord {
            id_hash: r.id_hash,
            user_id: UserId::new(r.user_id),
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            expires_at: r.expires_at,
        }
    }
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn insert_session(&self, session: &SessionRecord) -> StoreResult<()> {
        let sql = "INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at) \
                   VALUES ($1, $2, $3, $4, $5)";
        let r = on_pool!(&self.pool, |p| sqlx::query(sql)
            .bind(&session.id_hash)
            .bind(session.user_id.as_str())
            .bind(session.created_at)
            .bind(session.last_seen_at)
            .bind(session.expires_at)
            .execute(p)
            .await
            .map(|_| ()));
        r.map_err(map_err)
    }

    async fn session(&self, id_hash: &str) -> StoreResult<Option<SessionRecord>> {
        let sql = "SELECT id_hash, user_id, created_at, last_seen_at, expires_at FROM sessions \
                   WHERE id_hash = $1";
        let row: Result<Option<SessionRow>, sqlx::Error> = on_pool!(&self.pool, |p| sqlx::query_as(sql)
            .bind(id_hash)
            .fetch_optional(p)
            .await);
        Ok(row.map_err(map_err)?.map(SessionRecord::from))
    }

    async fn touch_session(&self, id_hash: &str, at: DateTime<Utc>) -> StoreResult<()> {
        let sql = "UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1";
        let r = on_pool!(&self.pool, |p| sqlx::query(sql)
            .bind(id_hash)
            .bind(at)
            .execute(p)
            .await
            .map(|_| ()));
        r.map_err(map_err)
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM sessions WHERE id_hash = $1";
        let r = on_pool!(&self.pool, |p| sqlx::query(sql)
            .bind(id_hash)
            .execute(p)
            .await
            .map(|r| r.rows_affected()));
        Ok(r.map_err(map_err)? > 0)
    }

    async fn delete_user_sessions(&self, user: &UserId) -> StoreResult<u64> {
        let sql = "DELETE FROM sessions WHERE user_id = $1";
        let r = on_pool!(&self.pool, |p| sqlx::query(sql)
            .bind(user.as_str())
            .execute(p)
            .await
            .map(|r| r.rows_affected()));
        r.map_err(map_err)
    }

    async fn delete_expired_sessions(
        &self,
        now: DateTime<Utc>,
        idle_cutoff: DateTime<Utc>,
    ) -> StoreResult<u64> {
        // Times are UTC on both backends (RFC 3339 text on SQLite compares in time order).
        let sql = "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2";
        let r = on_pool!(&self.pool, |p| sqlx::query(sql)
            .bind(now)
            .bind(idle_cutoff)
            .execute(p)
            .await
            .map(|r| r.rows_affected()));
        r.map_err(map_err)
    }
}
