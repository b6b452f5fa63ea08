//! The conversation about a document.

use aiprism_core::{ChatMessage, DocumentId, Scope, SectionId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::documents::owner_filter;
use crate::pool::{SqlStore, map_err, on_pool};
use crate::{ChatStore, StoreError, StoreResult};

#[derive(sqlx::FromRow)]
struct ChatRow {
    id: String,
    document_id: String,
    role: String,
    content: String,
    section_id: Option<String>,
    model: Option<String>,
    citations: String,
    created_at: DateTime<Utc>,
}

#[async_trait]
impl ChatStore for SqlStore {
    async fn add_chat_message(&self, m: &ChatMessage) -> StoreResult<()> {
        let citations: Vec<&str> = m.citations.iter().map(SectionId::as_str).collect();
        let citations = serde_json::to_string(&citations).map_err(|e| StoreError::Other(e.to_string()))?;
        let sql = "INSERT INTO chat_messages (id, document_id, role, content, section_id, model, citations, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        let r = on_pool!(&self.pool, |p| sqlx::query(sql)
            .bind(&m.id)
            .bind(m.document_id.as_str())
            .bind(m.role.as_str())
            .bind(&m.content)
            .bind(m.section_id.as_ref().map(SectionId::as_str))
            .bind(m.model.as_deref())
            .bind(&citations)
            .bind(m.created_at)
            .execute(p)
            .await
            .map(|_| ()));
        r.map_err(map_err)
    }

    async fn chat_messages(&self, scope: &Scope, document: &DocumentId) -> StoreResult<Vec<ChatMessage>> {
        let sql = "SELECT c.id, c.document_id, c.role, c.content, c.section_id, c.model, c.citations, c.created_at \
                   FROM chat_messages c JOIN documents d ON d.id = c.document_id \
                   WHERE c.document_id = $1 AND (CAST($2 AS TEXT) IS NULL OR d.owner_id = $2) \
                   ORDER BY c.created_at, c.id";
        let owner = owner_filter(scope);
        let rows: Result<Vec<ChatRow>, sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query_as(sql)
                .bind(document.as_str())
                .bind(owner.as_deref())
                .fetch_all(p)
                .await
        });
        rows.map_err(map_err)?
            .into_iter()
            .map(|r| {
                let citations: Vec<String> =
                    serde_json::from_str(&r.citations).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok(ChatMessage {
                    id: r.id,
                    document_id: DocumentId::new(r.document_id),
                    role: r.role.parse().map_err(|e| StoreError::Corrupt(format!("{e}")))?,
                    content: r.content,
                    section_id: r.section_id.map(SectionId::new),
                    model: r.model,
                    citations: citations.into_iter().map(SectionId::new).collect(),
                    created_at: r.created_at,
                })
            })
            .collect()
    }
}
