//! Uploaded frameworks, kept as their TOML source.

use aiprism_core::UserId;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::pool::{SqlStore, map_err, on_pool};
use crate::{FrameworkStore, StoreResult, StoredFramework};

#[derive(sqlx::FromRow)]
struct FrameworkRow {
    id: String,
    name: String,
    source: String,
    created_by: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<FrameworkRow> for StoredFramework {
    fn from(r: FrameworkRow) -> Self {
        StoredFramework {
            id: r.id,
            name: r.name,
            source: r.source,
            created_by: UserId::new(r.created_by),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[async_trait]
impl FrameworkStore for SqlStore {
    async fn save_framework(&self, framework: &StoredFramework) -> StoreResult<()> {
        let sql = "INSERT INTO frameworks (id, name, source, created_by, created_at, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6) \
                   ON CONFLICT (id) DO UPDATE SET name = excluded.name, source = excluded.source, \
                   updated_at = excluded.updated_at";
        let r = on_pool!(&self.pool, |p| sqlx::query(sql)
            .bind(&framework.id)
            .bind(&framework.name)
            .bind(&framework.source)
            .bind(framework.created_by.as_str())
            .bind(framework.created_at)
            .bind(framework.updated_at)
            .execute(p)
            .await
            .map(|_| ()));
        r.map_err(map_err)
    }

    async fn stored_frameworks(&self) -> StoreResult<Vec<StoredFramework>> {
        let sql = "SELECT id, name, source, created_by, created_at, updated_at FROM frameworks ORDER BY id";
        let rows: Result<Vec<FrameworkRow>, sqlx::Error> =
            on_pool!(&self.pool, |p| sqlx::query_as(sql).fetch_all(p).await);
        Ok(rows
            .map_err(map_err)?
            .into_iter()
            .map(StoredFramework::from)
            .collect())
    }

    async fn stored_framework(&self, id: &str) -> StoreResult<Option<StoredFramework>> {
        let sql = "SELECT id, name, source, created_by, created_at, updated_at FROM frameworks WHERE id = $1";
        let row: Result<Option<FrameworkRow>, sqlx::Error> = on_pool!(&self.pool, |p| sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(p)
            .await);
        Ok(row.map_err(map_err)?.map(StoredFramework::from))
    }
}
