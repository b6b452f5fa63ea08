//! Export records.

use aiprism_core::{DocumentId, Export, ExportId, Scope, UserId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::documents::owner_filter;
use crate::pool::{SqlStore, map_err, on_pool};
use crate::{ExportStore, StoreError, StoreResult};

#[derive(sqlx::FromRow)]
struct ExportRow {
    id: String,
    document_id: String,
    owner_id: String,
    kind: String,
    destination: String,
    status: String,
    filename: String,
    object_key: String,
    media_type: String,
    size_bytes: i64,
    sha256: String,
    location: Option<String>,
    comments_written: Option<i32>,
    include_pending: bool,
    error: Option<String>,
    created_at: DateTime<Utc>,
}

impl ExportRow {
    fn into_export(self) -> StoreResult<Export> {
        let corrupt = |e: aiprism_core::ParseEnumError| StoreError::Corrupt(e.to_string());
        Ok(Export {
            id: ExportId::new(self.id),
            document_id: DocumentId::new(self.document_id),
            owner: UserId::new(self.owner_id),
            kind: self.kind.parse().map_err(corrupt)?,
            destination: self.destination.parse().map_err(corrupt)?,
            status: self.status,
            filename: self.filename,
            object_key: self.object_key,
            media_type: self.media_type,
            size_bytes: u64::try_from(self.size_bytes).unwrap_or(0),
            sha256: self.sha256,
            location: self.location,
            comments_written: self.comments_written.and_then(|n| u32::try_from(n).ok()),
            include_pending: self.include_pending,
            error: self.error,
            created_at: self.created_at,
        })
    }
}

const COLUMNS: &str = "id, document_id, owner_id, kind, destination, status, filename, object_key, media_type, \
     size_bytes, sha256, location, comments_written, include_pending, error, created_at";

#[async_trait]
impl ExportStore for SqlStore {
    async fn insert_export(&self, e: &Export) -> StoreResult<()> {
        let sql = "INSERT INTO exports (id, document_id, owner_id, kind, destination, status, filename, object_key, \
                   media_type, size_bytes, sha256, location, comments_written, include_pending, error, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";
        let r = on_pool!(&self.pool, |p| sqlx::query(sql)
            .bind(e.id.as_str())
            .bind(e.document_id.as_str())
            .bind(e.owner.as_str())
            .bind(e.kind.as_str())
            .bind(e.destination.as_str())
            .bind(&e.status)
            .bind(&e.filename)
            .bind(&e.object_key)
            .bind(&e.media_type)
            .bind(i64::try_from(e.size_bytes).unwrap_or(i64::MAX))
            .bind(&e.sha256)
            .bind(e.location.as_deref())
            .bind(e.comments_written.map(|n| i32::try_from(n).unwrap_or(i32::MAX)))
            .bind(e.include_pending)
            .bind(e.error.as_deref())
            .bind(e.created_at)
            .execute(p)
            .await
            .map(|_| ()));
        r.map_err(map_err)
    }

    async fn export(&self, scope: &Scope, id: &ExportId) -> StoreResult<Option<Export>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM exports WHERE id = $1 AND (CAST($2 AS TEXT) IS NULL OR owner_id = $2)"
        );
        let owner = owner_filter(scope);
        let row: Result<Option<ExportRow>, sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id.as_str())
                .bind(owner.as_deref())
                .fetch_optional(p)
                .await
        });
        row.map_err(map_err)?.map(ExportRow::into_export).transpose()
    }

    async fn exports(&self, scope: &Scope, document: &DocumentId) -> StoreResult<Vec<Export>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM exports WHERE document_id = $1 AND (CAST($2 AS TEXT) IS NULL OR owner_id = $2) \
             ORDER BY created_at DESC, id DESC"
        );
        let owner = owner_filter(scope);
        let rows: Result<Vec<ExportRow>, sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(document.as_str())
                .bind(owner.as_deref())
                .fetch_all(p)
                .await
        });
        rows.map_err(map_err)?
            .into_iter()
            .map(ExportRow::into_export)
            .collect()
    }
}
