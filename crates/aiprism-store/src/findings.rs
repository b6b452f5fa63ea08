//! Findings: rows ↔ domain values, and the reads the API needs.

use aiprism_core::{
    Anchor, DocumentId, Finding, FindingId, FindingSource, FindingStatus, FindingType, ReviewId, Risk, Scope,
    SectionId,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::documents::owner_filter;
use crate::pool::{SqlStore, map_err, on_pool};
use crate::{FindingFilter, FindingStore, StoreError, StoreResult};

/// The finding columns every finding query selects, as a literal so queries stay `&'static str`.
macro_rules! finding_columns {
    () => {
        "f.id, f.document_id, f.review_id, f.section_id, f.source, f.rule_id, f.model, f.finding_type, \
         f.category, f.description, f.suggestion, f.example, f.questions, f.checkpoints, f.risk, f.confidence, \
         f.quote, f.anchor_paragraph, f.anchor_start, f.anchor_end, f.replacement, f.highlight_color, \
         f.parent_id, f.status, f.note, f.edited, f.created_at, f.decided_at"
    };
}
pub(crate) use finding_columns;

/// The insert statement for one finding (used by the review writer too).
pub(crate) const INSERT_FINDING: &str = "INSERT INTO findings (id, document_id, review_id, section_id, source, \
     rule_id, model, finding_type, category, description, suggestion, example, questions, checkpoints, risk, \
     confidence, quote, anchor_paragraph, anchor_start, anchor_end, replacement, highlight_color, parent_id, \
     status, note, edited, position, created_at, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
     $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)";

#[derive(sqlx::FromRow)]
pub(crate) struct FindingRow {
    id: String,
    document_id: String,
    review_id: Option<String>,
    section_id: String,
    source: String,
    rule_id: Option<String>,
    model: Option<String>,
    finding_type: String,
    category: String,
    description: String,
    suggestion: String,
    example: String,
    questions: String,
    checkpoints: String,
    risk: String,
    confidence: f64,
    quote: String,
    anchor_paragraph: Option<i32>,
    anchor_start: Option<i32>,
    anchor_end: Option<i32>,
    replacement: Option<String>,
    highlight_color: Option<String>,
    parent_id: Option<String>,
    status: String,
    note: Option<String>,
    edited: bool,
    created_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl FindingRow {
    pub(crate) fn into_finding(self) -> StoreResult<Finding> {
        let anchor = match (self.anchor_paragraph, self.anchor_start, self.anchor_end) {
            (Some(p), Some(s), Some(e)) => Some(Anchor {
                paragraph: u32::try_from(p).map_err(corrupt)?,
                start: u32::try_from(s).map_err(corrupt)?,
                end: u32::try_from(e).map_err(corrupt)?,
            }),
            _ => None,
        };
        Ok(Finding {
            id: FindingId::new(self.id),
            document_id: DocumentId::new(self.document_id),
            review_id: self.review_id.map(ReviewId::new),
            section_id: SectionId::new(self.section_id),
            source: self.source.parse::<FindingSource>().map_err(corrupt)?,
            rule_id: self.rule_id,
            model: self.model,
            finding_type: self.finding_type.parse::<FindingType>().map_err(corrupt)?,
            category: self.category,
            description: self.description,
            suggestion: self.suggestion,
            example: self.example,
            questions: serde_json::from_str(&self.questions).map_err(corrupt)?,
            checkpoints: serde_json::from_str(&self.checkpoints).map_err(corrupt)?,
            risk: self.risk.parse::<Risk>().map_err(corrupt)?,
            #[allow(clippy::cast_possible_truncation)]
            confidence: self.confidence as f32,
            quote: self.quote,
            anchor,
            replacement: self.replacement,
            highlight_color: self.highlight_color,
            parent_id: self.parent_id.map(FindingId::new),
            status: self.status.parse::<FindingStatus>().map_err(corrupt)?,
            note: self.note,
            edited: self.edited,
            created_at: self.created_at,
            decided_at: self.decided_at,
        })
    }
}

/// Binds a finding to [`INSERT_FINDING`] on whichever backend `$query` belongs to.
macro_rules! bind_finding {
    ($query:expr, $f:expr, $position:expr, $encoded:expr) => {{
        let f = $f;
        let (questions, checkpoints) = $encoded;
        $query
            .bind(f.id.as_str())
            .bind(f.document_id.as_str())
            .bind(f.review_id.as_ref().map(|r| r.as_str()))
            .bind(f.section_id.as_str())
            .bind(f.source.as_str())
            .bind(f.rule_id.as_deref())
            .bind(f.model.as_deref())
            .bind(f.finding_type.as_str())
            .bind(&f.category)
            .bind(&f.description)
            .bind(&f.suggestion)
            .bind(&f.example)
            .bind(questions)
            .bind(checkpoints)
            .bind(f.risk.as_str())
            .bind(f64::from(f.confidence))
            .bind(&f.quote)
            .bind(f.anchor.map(|a| i64::from(a.paragraph)))
            .bind(f.anchor.map(|a| i64::from(a.start)))
            .bind(f.anchor.map(|a| i64::from(a.end)))
            .bind(f.replacement.as_deref())
            .bind(f.highlight_color.as_deref())
            .bind(f.parent_id.as_ref().map(|p| p.as_str()))
            .bind(f.status.as_str())
            .bind(f.note.as_deref())
            .bind(f.edited)
            .bind($position)
            .bind(f.created_at)
            .bind(f.decided_at)
    }};
}
pub(crate) use bind_finding;

/// The JSON columns of a finding, encoded once before binding.
pub(crate) fn encode_lists(f: &Finding) -> StoreResult<(String, String)> {
    let questions = serde_json::to_string(&f.questions).map_err(|e| StoreError::Other(e.to_string()))?;
    let checkpoints = serde_json::to_string(&f.checkpoints).map_err(|e| StoreError::Other(e.to_string()))?;
    Ok((questions, checkpoints))
}

#[async_trait]
impl FindingStore for SqlStore {
    async fn findings(
        &self,
        scope: &Scope,
        document: &DocumentId,
        filter: &FindingFilter,
    ) -> StoreResult<Vec<Finding>> {
        let sql = concat!(
            "SELECT ",
            finding_columns!(),
            " FROM findings f JOIN documents d ON d.id = f.document_id \
              JOIN sections s ON s.id = f.section_id \
             WHERE f.document_id = $1 AND (CAST($2 AS TEXT) IS NULL OR d.owner_id = $2) \
               AND (CAST($3 AS TEXT) IS NULL OR f.section_id = $3) \
               AND (CAST($4 AS TEXT) IS NULL OR f.status = $4) \
               AND (CAST($5 AS DOUBLE PRECISION) IS NULL OR f.confidence >= $5) \
               AND (CAST($6 AS TEXT) IS NULL OR f.source = $6) \
             ORDER BY s.idx, f.created_at, f.position, f.id"
        );
        let owner = owner_filter(scope);
        let rows: Result<Vec<FindingRow>, sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query_as(sql)
                .bind(document.as_str())
                .bind(owner.as_deref())
                .bind(filter.section.as_ref().map(SectionId::as_str))
                .bind(filter.status.map(FindingStatus::as_str))
                // Compare in f32 precision, as stored values came from f32: 0.8 must match 0.8.
                .bind(filter.min_confidence.map(|c| f64::from(c) - 1e-6))
                .bind(filter.source.map(FindingSource::as_str))
                .fetch_all(p)
                .await
        });
        rows.map_err(map_err)?
            .into_iter()
            .map(FindingRow::into_finding)
            .collect()
    }

    async fn finding(&self, scope: &Scope, id: &FindingId) -> StoreResult<Option<Finding>> {
        let sql = concat!(
            "SELECT ",
            finding_columns!(),
            " FROM findings f JOIN documents d ON d.id = f.document_id \
             WHERE f.id = $1 AND (CAST($2 AS TEXT) IS NULL OR d.owner_id = $2)"
        );
        let owner = owner_filter(scope);
        let row: Result<Option<FindingRow>, sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query_as(sql)
                .bind(id.as_str())
                .bind(owner.as_deref())
                .fetch_optional(p)
                .await
        });
        row.map_err(map_err)?.map(FindingRow::into_finding).transpose()
    }
}
