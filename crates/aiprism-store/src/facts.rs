//! Light rows about every finding in a scope, for statistics and learning (computed from stored data on
//! read, so they are right however many people work at once).

use aiprism_core::{DocumentId, Finding, FindingSource, FindingStatus, Risk, Scope};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::documents::owner_filter;
use crate::findings::{FindingRow, finding_columns};
use crate::pool::{SqlStore, map_err, on_pool};
use crate::{FactStore, FindingFact, StoreError, StoreResult};

#[derive(sqlx::FromRow)]
struct FactRow {
    document_id: String,
    framework: String,
    section_id: String,
    source: String,
    category: String,
    checkpoints: String,
    status: String,
    risk: String,
    created_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

#[async_trait]
impl FactStore for SqlStore {
    async fn finding_facts(&self, scope: &Scope) -> StoreResult<Vec<FindingFact>> {
        let sql = "SELECT f.document_id, d.framework, f.section_id, f.source, f.category, f.checkpoints, f.status, \
                   f.risk, f.created_at, f.decided_at FROM findings f JOIN documents d ON d.id = f.document_id \
                   WHERE CAST($1 AS TEXT) IS NULL OR d.owner_id = $1";
        let owner = owner_filter(scope);
        let rows: Result<Vec<FactRow>, sqlx::Error> = on_pool!(&self.pool, |p| sqlx::query_as(sql)
            .bind(owner.as_deref())
            .fetch_all(p)
            .await);
        rows.map_err(map_err)?
            .into_iter()
            .map(|r| {
                Ok(FindingFact {
                    document_id: DocumentId::new(r.document_id),
                    framework: r.framework,
                    section_id: aiprism_core::SectionId::new(r.section_id),
                    source: r.source.parse::<FindingSource>().map_err(corrupt)?,
                    category: r.category,
                    checkpoints: serde_json::from_str(&r.checkpoints).map_err(corrupt)?,
                    status: r.status.parse::<FindingStatus>().map_err(corrupt)?,
                    risk: r.risk.parse::<Risk>().map_err(corrupt)?,
                    created_at: r.created_at,
                    decided_at: r.decided_at,
                })
            })
            .collect()
    }

    async fn accepted_examples(
        &self,
        scope: &Scope,
        framework: &str,
        exclude: &DocumentId,
        limit: u32,
    ) -> StoreResult<Vec<Finding>> {
        let sql = concat!(
            "SELECT ",
            finding_columns!(),
            " FROM findings f JOIN documents d ON d.id = f.document_id \
             WHERE d.framework = $1 AND f.source = 'model' AND f.status = 'accepted' AND f.quote <> '' \
               AND f.document_id <> $4 \
               AND (CAST($2 AS TEXT) IS NULL OR d.owner_id = $2) \
             ORDER BY f.decided_at DESC, f.id DESC LIMIT $3"
        );
        let owner = owner_filter(scope);
        let rows: Result<Vec<FindingRow>, sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query_as(sql)
                .bind(framework)
                .bind(owner.as_deref())
                .bind(i64::from(limit))
                .bind(exclude.as_str())
                .fetch_all(p)
                .await
        });
        rows.map_err(map_err)?
            .into_iter()
            .map(FindingRow::into_finding)
            .collect()
    }
}
