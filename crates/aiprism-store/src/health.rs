//! The latest health probe results, one row per probe.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::pool::{SqlStore, map_err, on_pool};
use crate::{HealthCheck, HealthStore, StoreResult};

#[derive(sqlx::FromRow)]
struct HealthRow {
    name: String,
    ok: bool,
    detail: String,
    latency_ms: i64,
    checked_at: DateTime<Utc>,
}

#[async_trait]
impl HealthStore for SqlStore {
    async fn record_health(&self, checks: &[HealthCheck]) -> StoreResult<()> {
        let sql = "INSERT INTO health_checks (name, ok, detail, latency_ms, checked_at) VALUES ($1, $2, $3, $4, $5) \
                   ON CONFLICT (name) DO UPDATE SET ok = excluded.ok, detail = excluded.detail, \
                   latency_ms = excluded.latency_ms, checked_at = excluded.checked_at";
        let r: Result<(), sqlx::Error> = on_pool!(&self.pool, |p| async {
            let mut tx = p.begin().await?;
            for c in checks {
                sqlx::query(sql)
                    .bind(&c.name)
                    .bind(c.ok)
                    .bind(&c.detail)
                    .bind(i64::try_from(c.latency_ms).unwrap_or(i64::MAX))
                    .bind(c.checked_at)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        }
        .await);
        r.map_err(map_err)
    }

    async fn health_checks(&self) -> StoreResult<Vec<HealthCheck>> {
        let sql = "SELECT name, ok, detail, latency_ms, checked_at FROM health_checks ORDER BY name";
        let rows: Result<Vec<HealthRow>, sqlx::Error> =
            on_pool!(&self.pool, |p| sqlx::query_as(sql).fetch_all(p).await);
        Ok(rows
            .map_err(map_err)?
            .into_iter()
            .map(|r| HealthCheck {
                name: r.name,
                ok: r.ok,
                detail: r.detail,
                latency_ms: u64::try_from(r.latency_ms).unwrap_or(0),
                checked_at: r.checked_at,
            })
            .collect())
    }
}
