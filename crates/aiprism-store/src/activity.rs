//! The append-only audit trail.

use aiprism_core::{Activity, DocumentId, Scope, UserId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::documents::owner_filter;
use crate::pool::{SqlStore, map_err, on_pool};
use crate::{ActivityStore, NewActivity, StoreError, StoreResult};

/// The insert every writer of the trail uses (also inside other transactions).
pub(crate) const INSERT_ACTIVITY: &str = "INSERT INTO activity (document_id, owner_id, actor_id, actor_name, \
     action, details, at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// Binds a [`NewActivity`] to [`INSERT_ACTIVITY`].
macro_rules! bind_activity {
    ($entry:expr) => {{
        let entry: &$crate::NewActivity = $entry;
        sqlx::query($crate::activity::INSERT_ACTIVITY)
            .bind(entry.document_id.as_ref().map(|d| d.as_str()))
            .bind(entry.owner.as_str())
            .bind(entry.actor.id.as_str())
            .bind(&entry.actor.name)
            .bind(entry.action.as_str())
            .bind(entry.details.to_string())
            .bind(aiprism_core::now())
    }};
}
pub(crate) use bind_activity;

#[derive(sqlx::FromRow)]
struct ActivityRow {
    id: i64,
    document_id: Option<String>,
    owner_id: String,
    actor_id: String,
    actor_name: String,
    action: String,
    details: String,
    at: DateTime<Utc>,
}

#[async_trait]
impl ActivityStore for SqlStore {
    async fn record_activity(&self, entry: &NewActivity) -> StoreResult<()> {
        let r = on_pool!(&self.pool, |p| bind_activity!(entry).execute(p).await.map(|_| ()));
        r.map_err(map_err)
    }

    async fn activity(&self, scope: &Scope, document: &DocumentId) -> StoreResult<Vec<Activity>> {
        let sql = "SELECT id, document_id, owner_id, actor_id, actor_name, action, details, at FROM activity \
                   WHERE document_id = $1 AND (CAST($2 AS TEXT) IS NULL OR owner_id = $2) ORDER BY id";
        let owner = owner_filter(scope);
        let rows: Result<Vec<ActivityRow>, sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query_as(sql)
                .bind(document.as_str())
                .bind(owner.as_deref())
                .fetch_all(p)
                .await
        });
        into_activities(rows.map_err(map_err)?)
    }

    async fn recent_activity(&self, scope: &Scope, limit: u32) -> StoreResult<Vec<Activity>> {
        let sql = "SELECT id, document_id, owner_id, actor_id, actor_name, action, details, at FROM activity \
                   WHERE (CAST($1 AS TEXT) IS NULL OR owner_id = $1) ORDER BY id DESC LIMIT $2";
        let owner = owner_filter(scope);
        let rows: Result<Vec<ActivityRow>, sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query_as(sql)
                .bind(owner.as_deref())
                .bind(i64::from(limit))
                .fetch_all(p)
                .await
        });
        into_activities(rows.map_err(map_err)?)
    }
}

fn into_activities(rows: Vec<ActivityRow>) -> StoreResult<Vec<Activity>> {
    rows.into_iter()
        .map(|r| {
            Ok(Activity {
                id: r.id,
                document_id: r.document_id.map(DocumentId::new),
                owner: UserId::new(r.owner_id),
                actor_id: UserId::new(r.actor_id),
                actor_name: r.actor_name,
                action: r
                    .action
                    .parse()
                    .map_err(|e| StoreError::Corrupt(format!("{e}")))?,
                details: serde_json::from_str(&r.details).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                at: r.at,
            })
        })
        .collect()
}
