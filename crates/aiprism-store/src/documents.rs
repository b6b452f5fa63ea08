//! Users, documents and sections.

use aiprism_core::{
    DocumentFormat, DocumentId, DocumentMeta, GuidelinesMeta, ParagraphSpan, Scope, Section, SectionId, User,
    UserId,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::pool::{Backend, SqlStore, map_err, on_pool};
use crate::{DocumentStore, DocumentSummary, StoreError, StoreResult};

#[derive(sqlx::FromRow)]
struct DocumentRow {
    id: String,
    owner_id: String,
    filename: String,
    format: String,
    size_bytes: i64,
    sha256: String,
    object_key: String,
    framework: String,
    document_type: Option<String>,
    guidelines_filename: Option<String>,
    guidelines_key: Option<String>,
    guidelines_text: Option<String>,
    created_at: DateTime<Utc>,
}

impl DocumentRow {
    fn into_meta(self) -> StoreResult<DocumentMeta> {
        let format: DocumentFormat = self
            .format
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("{e}")))?;
        let guidelines = match (self.guidelines_filename, self.guidelines_key) {
            (Some(filename), Some(object_key)) => Some(GuidelinesMeta {
                filename,
                object_key,
                text: self.guidelines_text.unwrap_or_default(),
            }),
            _ => None,
        };
        Ok(DocumentMeta {
            id: DocumentId::new(self.id),
            owner: UserId::new(self.owner_id),
            filename: self.filename,
            format,
            size_bytes: u64::try_from(self.size_bytes).unwrap_or(0),
            sha256: self.sha256,
            object_key: self.object_key,
            framework: self.framework,
            document_type: self.document_type,
            guidelines,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    #[sqlx(flatten)]
    document: DocumentRow,
    section_count: i64,
}

#[derive(sqlx::FromRow)]
struct SectionRow {
    id: String,
    document_id: String,
    idx: i32,
    title: String,
    level: i32,
    body: String,
    paragraph_start: i32,
    paragraph_end: i32,
    heading_paragraph: Option<i32>,
    excluded_reason: Option<String>,
    paragraphs: String,
}

impl SectionRow {
    fn into_section(self) -> StoreResult<Section> {
        let paragraphs: Vec<ParagraphSpan> = serde_json::from_str(&self.paragraphs)
            .map_err(|e| StoreError::Corrupt(format!("section {} paragraph map: {e}", self.id)))?;
        Ok(Section {
            id: SectionId::new(self.id),
            document_id: DocumentId::new(self.document_id),
            index: to_u32(self.idx),
            title: self.title,
            level: u8::try_from(self.level).unwrap_or(0),
            text: self.body,
            paragraph_start: to_u32(self.paragraph_start),
            paragraph_end: to_u32(self.paragraph_end),
            heading_paragraph: self.heading_paragraph.map(to_u32),
            excluded_reason: self.excluded_reason,
            paragraphs,
        })
    }
}

fn to_u32(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

fn to_i32(v: u32) -> StoreResult<i32> {
    i32::try_from(v).map_err(|_| StoreError::Conflict(format!("value {v} is out of range")))
}

/// The owner a scope is limited to, as a bind value (`NULL` = every owner).
pub(crate) fn owner_filter(scope: &Scope) -> Option<String> {
    scope.owner().map(|o| o.as_str().to_string())
}

/// The document columns every document query selects, as a literal so queries stay `&'static str`.
macro_rules! document_columns {
    () => {
        "d.id, d.owner_id, d.filename, d.format, d.size_bytes, d.sha256, d.object_key, d.framework, \
         d.document_type, d.guidelines_filename, d.guidelines_key, d.guidelines_text, d.created_at"
    };
}

#[async_trait]
impl DocumentStore for SqlStore {
    fn backend(&self) -> Backend {
        self.backend_kind()
    }

    async fn ping(&self) -> StoreResult<()> {
        let r: Result<i32, sqlx::Error> =
            on_pool!(&self.pool, |p| sqlx::query_scalar("SELECT 1").fetch_one(p).await);
        r.map(|_| ()).map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    async fn upsert_user(&self, user: &User) -> StoreResult<()> {
        let sql = "INSERT INTO users (id, name, role, created_at) VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role";
        let r = on_pool!(&self.pool, |p| sqlx::query(sql)
            .bind(user.id.as_str())
            .bind(&user.name)
            .bind(user.role.as_str())
            .bind(Utc::now())
            .execute(p)
            .await
            .map(|_| ()));
        r.map_err(map_err)
    }

    async fn insert_document(&self, document: &DocumentMeta, sections: &[Section]) -> StoreResult<()> {
        let doc_sql = "INSERT INTO documents (id, owner_id, filename, format, size_bytes, sha256, object_key, \
             framework, document_type, guidelines_filename, guidelines_key, guidelines_text, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
        let section_sql = "INSERT INTO sections (id, document_id, idx, title, level, body, paragraph_start, \
             paragraph_end, heading_paragraph, excluded_reason, paragraphs) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
        let size = i64::try_from(document.size_bytes)
            .map_err(|_| StoreError::Conflict("document size out of range".into()))?;
        let mut encoded = Vec::with_capacity(sections.len());
        for s in sections {
            let paragraphs = serde_json::to_string(&s.paragraphs)
                .map_err(|e| StoreError::Other(format!("encoding paragraph map: {e}")))?;
            encoded.push((
                s,
                paragraphs,
                to_i32(s.index)?,
                to_i32(s.paragraph_start)?,
                to_i32(s.paragraph_end)?,
                s.heading_paragraph.map(to_i32).transpose()?,
            ));
        }
        let guidelines = document.guidelines.as_ref();
        let r: Result<(), sqlx::Error> = on_pool!(&self.pool, |p| async {
            let mut tx = p.begin().await?;
            sqlx::query(doc_sql)
                .bind(document.id.as_str())
                .bind(document.owner.as_str())
                .bind(&document.filename)
                .bind(document.format.as_str())
                .bind(size)
                .bind(&document.sha256)
                .bind(&document.object_key)
                .bind(&document.framework)
                .bind(document.document_type.as_deref())
                .bind(guidelines.map(|g| g.filename.as_str()))
                .bind(guidelines.map(|g| g.object_key.as_str()))
                .bind(guidelines.map(|g| g.text.as_str()))
                .bind(document.created_at)
                .execute(&mut *tx)
                .await?;
            for (s, paragraphs, idx, start, end, heading) in &encoded {
                sqlx::query(section_sql)
                    .bind(s.id.as_str())
                    .bind(document.id.as_str())
                    .bind(*idx)
                    .bind(&s.title)
                    .bind(i32::from(s.level))
                    .bind(&s.text)
                    .bind(*start)
                    .bind(*end)
                    .bind(*heading)
                    .bind(s.excluded_reason.as_deref())
                    .bind(paragraphs)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        }
        .await);
        r.map_err(map_err)
    }

    async fn document(&self, scope: &Scope, id: &DocumentId) -> StoreResult<Option<DocumentMeta>> {
        let sql = concat!(
            "SELECT ",
            document_columns!(),
            " FROM documents d WHERE d.id = $1 AND (CAST($2 AS TEXT) IS NULL OR d.owner_id = $2)"
        );
        let owner = owner_filter(scope);
        let row: Result<Option<DocumentRow>, sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query_as(sql)
                .bind(id.as_str())
                .bind(owner.as_deref())
                .fetch_optional(p)
                .await
        });
        row.map_err(map_err)?.map(DocumentRow::into_meta).transpose()
    }

    async fn documents(&self, scope: &Scope) -> StoreResult<Vec<DocumentSummary>> {
        let sql = concat!(
            "SELECT ",
            document_columns!(),
            ", (SELECT COUNT(*) FROM sections s WHERE s.document_id = d.id) AS section_count \
             FROM documents d WHERE (CAST($1 AS TEXT) IS NULL OR d.owner_id = $1) \
             ORDER BY d.created_at DESC, d.id DESC"
        );
        let owner = owner_filter(scope);
        let rows: Result<Vec<SummaryRow>, sqlx::Error> = on_pool!(&self.pool, |p| sqlx::query_as(sql)
            .bind(owner.as_deref())
            .fetch_all(p)
            .await);
        rows.map_err(map_err)?
            .into_iter()
            .map(|r| {
                Ok(DocumentSummary {
                    meta: r.document.into_meta()?,
                    section_count: u32::try_from(r.section_count).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn sections(&self, scope: &Scope, id: &DocumentId) -> StoreResult<Vec<Section>> {
        let sql = "SELECT s.id, s.document_id, s.idx, s.title, s.level, s.body, s.paragraph_start, \
             s.paragraph_end, s.heading_paragraph, s.excluded_reason, s.paragraphs \
             FROM sections s JOIN documents d ON d.id = s.document_id \
             WHERE s.document_id = $1 AND (CAST($2 AS TEXT) IS NULL OR d.owner_id = $2) \
             ORDER BY s.idx";
        let owner = owner_filter(scope);
        let rows: Result<Vec<SectionRow>, sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query_as(sql)
                .bind(id.as_str())
                .bind(owner.as_deref())
                .fetch_all(p)
                .await
        });
        rows.map_err(map_err)?
            .into_iter()
            .map(SectionRow::into_section)
            .collect()
    }

    async fn delete_document(&self, scope: &Scope, id: &DocumentId) -> StoreResult<Option<DocumentMeta>> {
        let Some(meta) = self.document(scope, id).await? else {
            return Ok(None);
        };
        let sql = "DELETE FROM documents WHERE id = $1";
        // The delete cascades to sections, findings and jobs, which a review worker may be
        // writing at the same moment: a deadlock between the two is retried, not reported.
        let mut attempt = 0u64;
        let deleted = loop {
            let r = on_pool!(&self.pool, |p| sqlx::query(sql)
                .bind(id.as_str())
                .execute(p)
                .await
                .map(|done| done.rows_affected()));
            match r {
                Err(e) if attempt < 4 && crate::pool::lost_a_race(&e) => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(25 * attempt)).await;
                }
                r => break r.map_err(map_err)?,
            }
        };
        Ok((deleted > 0).then_some(meta))
    }
}
