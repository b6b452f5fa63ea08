//! Review runs: creating them, the per-section state machine, atomic section results, cancellation,
//! usage totals and progress events.

use aiprism_core::{
    DocumentId, ModelCall, Review, ReviewEvent, ReviewEventKind, ReviewId, ReviewProgress, ReviewStatus,
    Scope, SectionId, SectionRun, SectionRunStatus, Usage, UserId,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::documents::owner_filter;
use crate::findings::{INSERT_FINDING, bind_finding, encode_lists};
use crate::pool::{SqlStore, map_err, on_pool};
use crate::{ReviewStore, SectionFinish, SectionFinished, SectionStart, StoreError, StoreResult};

#[derive(sqlx::FromRow)]
struct ReviewRow {
    id: String,
    document_id: String,
    owner_id: String,
    framework: String,
    status: String,
    notice: Option<String>,
    error: Option<String>,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    sections_total: i64,
    sections_done: i64,
    input_tokens: i64,
    output_tokens: i64,
    cached_tokens: i64,
    cost_usd: f64,
}

const REVIEW_SELECT: &str = "SELECT r.id, r.document_id, r.owner_id, r.framework, r.status, r.notice, r.error, \
       r.created_at, r.finished_at, \
       (SELECT COUNT(*) FROM review_sections s WHERE s.review_id = r.id) AS sections_total, \
       (SELECT COUNT(*) FROM review_sections s WHERE s.review_id = r.id \
          AND s.status NOT IN ('queued', 'running')) AS sections_done, \
       CAST(COALESCE((SELECT SUM(m.input_tokens) FROM model_calls m WHERE m.review_id = r.id), 0) AS BIGINT) \
         AS input_tokens, \
       CAST(COALESCE((SELECT SUM(m.output_tokens) FROM model_calls m WHERE m.review_id = r.id), 0) AS BIGINT) \
         AS output_tokens, \
       CAST(COALESCE((SELECT SUM(m.cached_tokens) FROM model_calls m WHERE m.review_id = r.id), 0) AS BIGINT) \
         AS cached_tokens, \
       CAST(COALESCE((SELECT SUM(m.cost_usd) FROM model_calls m WHERE m.review_id = r.id), 0) \
         AS DOUBLE PRECISION) AS cost_usd \
     FROM reviews r WHERE r.id = $1 AND (CAST($2 AS TEXT) IS NULL OR r.owner_id = $2)";

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

fn tokens(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl ReviewRow {
    fn into_review(self, models_used: Vec<String>) -> StoreResult<Review> {
        Ok(Review {
            id: ReviewId::new(self.id),
            document_id: DocumentId::new(self.document_id),
            owner: UserId::new(self.owner_id),
            framework: self.framework,
            status: self
                .status
                .parse::<ReviewStatus>()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            progress: ReviewProgress {
                sections_done: count(self.sections_done),
                sections_total: count(self.sections_total),
            },
            models_used,
            usage: Usage {
                input_tokens: tokens(self.input_tokens),
                output_tokens: tokens(self.output_tokens),
                cached_tokens: tokens(self.cached_tokens),
                cost_usd: self.cost_usd,
            },
            error: self.error,
            notice: self.notice,
            created_at: self.created_at,
            finished_at: self.finished_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SectionRunRow {
    review_id: String,
    section_id: String,
    status: String,
    model: Option<String>,
    error: Option<String>,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    review_id: String,
    kind: String,
    data: String,
    created_at: DateTime<Utc>,
}

/// The final status of a review whose sections have all ended, and why it is not a full success.
fn final_status(statuses: &[(SectionRunStatus, Option<String>)]) -> (ReviewStatus, Option<String>) {
    let reviewed = statuses
        .iter()
        .filter(|(s, _)| matches!(s, SectionRunStatus::Done | SectionRunStatus::RulesOnly))
        .count();
    let degraded = statuses
        .iter()
        .filter(|(s, _)| matches!(s, SectionRunStatus::RulesOnly | SectionRunStatus::Failed))
        .count();
    let mut reasons: Vec<&str> = statuses
        .iter()
        .filter(|(s, _)| matches!(s, SectionRunStatus::RulesOnly | SectionRunStatus::Failed))
        .filter_map(|(_, e)| e.as_deref())
        .collect();
    reasons.sort_unstable();
    reasons.dedup();
    let reason = (!reasons.is_empty()).then(|| reasons.join("; "));
    let failed = statuses
        .iter()
        .filter(|(s, _)| *s == SectionRunStatus::Failed)
        .count();
    if reviewed == 0 && failed > 0 {
        (ReviewStatus::Failed, reason)
    } else if degraded > 0 {
        (ReviewStatus::Partial, reason)
    } else {
        (ReviewStatus::Succeeded, None)
    }
}

impl SqlStore {
    async fn models_used(&self, review: &str) -> StoreResult<Vec<String>> {
        let sql = "SELECT DISTINCT model FROM review_sections WHERE review_id = $1 AND model IS NOT NULL \
                   ORDER BY model";
        let r: Result<Vec<String>, sqlx::Error> = on_pool!(&self.pool, |p| sqlx::query_scalar(sql)
            .bind(review)
            .fetch_all(p)
            .await);
        r.map_err(map_err)
    }
}

#[async_trait]
impl ReviewStore for SqlStore {
    async fn create_review(
        &self,
        review: &Review,
        sections: &[SectionId],
        skipped: &[SectionId],
    ) -> StoreResult<()> {
        let review_sql = "INSERT INTO reviews (id, document_id, owner_id, framework, status, notice, error, \
                          created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        let section_sql = "INSERT INTO review_sections (review_id, section_id, position, status) \
                           VALUES ($1, $2, $3, $4)";
        let r: Result<(), sqlx::Error> = on_pool!(&self.pool, |p| async {
            let mut tx = p.begin().await?;
            sqlx::query(review_sql)
                .bind(review.id.as_str())
                .bind(review.document_id.as_str())
                .bind(review.owner.as_str())
                .bind(&review.framework)
                .bind(review.status.as_str())
                .bind(review.notice.as_deref())
                .bind(review.error.as_deref())
                .bind(review.created_at)
                .execute(&mut *tx)
                .await?;
            for (position, section) in sections.iter().enumerate() {
                let status = if skipped.contains(section) {
                    SectionRunStatus::Skipped
                } else {
                    SectionRunStatus::Queued
                };
                sqlx::query(section_sql)
                    .bind(review.id.as_str())
                    .bind(section.as_str())
                    .bind(i32::try_from(position).unwrap_or(i32::MAX))
                    .bind(status.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        }
        .await);
        r.map_err(map_err)
    }

    async fn review(&self, scope: &Scope, id: &ReviewId) -> StoreResult<Option<Review>> {
        let owner = owner_filter(scope);
        let row: Result<Option<ReviewRow>, sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query_as(REVIEW_SELECT)
                .bind(id.as_str())
                .bind(owner.as_deref())
                .fetch_optional(p)
                .await
        });
        let Some(row) = row.map_err(map_err)? else {
            return Ok(None);
        };
        let models = self.models_used(&row.id).await?;
        row.into_review(models).map(Some)
    }

    async fn latest_review(&self, scope: &Scope, document: &DocumentId) -> StoreResult<Option<Review>> {
        let sql = "SELECT r.id FROM reviews r WHERE r.document_id = $1 \
                   AND (CAST($2 AS TEXT) IS NULL OR r.owner_id = $2) ORDER BY r.created_at DESC, r.id DESC LIMIT 1";
        let owner = owner_filter(scope);
        let id: Result<Option<String>, sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query_scalar(sql)
                .bind(document.as_str())
                .bind(owner.as_deref())
                .fetch_optional(p)
                .await
        });
        match id.map_err(map_err)? {
            Some(id) => self.review(scope, &ReviewId::new(id)).await,
            None => Ok(None),
        }
    }

    async fn section_runs(&self, review: &ReviewId) -> StoreResult<Vec<SectionRun>> {
        let sql = "SELECT review_id, section_id, status, model, error FROM review_sections \
                   WHERE review_id = $1 ORDER BY position";
        let rows: Result<Vec<SectionRunRow>, sqlx::Error> = on_pool!(&self.pool, |p| sqlx::query_as(sql)
            .bind(review.as_str())
            .fetch_all(p)
            .await);
        rows.map_err(map_err)?
            .into_iter()
            .map(|r| {
                Ok(SectionRun {
                    review_id: ReviewId::new(r.review_id),
                    section_id: SectionId::new(r.section_id),
                    status: r
                        .status
                        .parse()
                        .map_err(|e| StoreError::Corrupt(format!("{e}")))?,
                    model: r.model,
                    error: r.error,
                })
            })
            .collect()
    }

    async fn start_section(&self, review: &ReviewId, section: &SectionId) -> StoreResult<SectionStart> {
        let now = Utc::now();
        let r: Result<SectionStart, sqlx::Error> = on_pool!(&self.pool, |p| async {
            let mut tx = p.begin().await?;
            // Touching the review row first serialises this with finish_section and cancel_review.
            let status: Option<String> =
                sqlx::query_scalar("UPDATE reviews SET status = status WHERE id = $1 RETURNING status")
                    .bind(review.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(status) = status else {
                return Ok(SectionStart::Missing);
            };
            if status == ReviewStatus::Cancelled.as_str() {
                return Ok(SectionStart::Cancelled);
            }
            let section_status: Option<String> = sqlx::query_scalar(
                "SELECT status FROM review_sections WHERE review_id = $1 AND section_id = $2",
            )
            .bind(review.as_str())
            .bind(section.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(section_status) = section_status else {
                return Ok(SectionStart::Missing);
            };
            match section_status.parse::<SectionRunStatus>() {
                Ok(SectionRunStatus::Cancelled) => return Ok(SectionStart::Cancelled),
                Ok(s) if s.is_terminal() => return Ok(SectionStart::AlreadyFinished),
                _ => {}
            }
            sqlx::query(
                "UPDATE review_sections SET status = 'running', started_at = $3 \
                 WHERE review_id = $1 AND section_id = $2",
            )
            .bind(review.as_str())
            .bind(section.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE reviews SET status = 'running', started_at = COALESCE(started_at, $2) \
                 WHERE id = $1 AND status = 'queued'",
            )
            .bind(review.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(SectionStart::Started)
        }
        .await);
        r.map_err(map_err)
    }

    async fn finish_section(&self, finish: SectionFinish) -> StoreResult<SectionFinished> {
        let now = Utc::now();
        let mut encoded = Vec::with_capacity(finish.findings.len());
        for f in &finish.findings {
            encoded.push(encode_lists(f)?);
        }
        let mut events: Vec<(ReviewEventKind, String)> = Vec::new();
        for (kind, data) in &finish.events {
            events.push((*kind, data.to_string()));
        }
        let finding_count = finish.findings.len();
        events.push((
            ReviewEventKind::SectionDone,
            json!({
                "section_id": finish.section_id.as_str(),
                "status": finish.status.as_str(),
                "findings": finding_count,
                "model": finish.model,
                "error": finish.error,
            })
            .to_string(),
        ));
        let review_id = finish.review_id.as_str();
        let section_id = finish.section_id.as_str();
        let r: Result<bool, sqlx::Error> = on_pool!(&self.pool, |p| {
            async {
            let mut tx = p.begin().await?;
            let status: Option<String> =
                sqlx::query_scalar("UPDATE reviews SET status = status WHERE id = $1 RETURNING status")
                    .bind(review_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(review_status) = status else {
                return Err(sqlx::Error::RowNotFound);
            };
            sqlx::query(
                "DELETE FROM findings WHERE review_id = $1 AND section_id = $2 AND source IN ('rule', 'model')",
            )
            .bind(review_id)
            .bind(section_id)
            .execute(&mut *tx)
            .await?;
            for (position, (f, lists)) in finish.findings.iter().zip(&encoded).enumerate() {
                let position = i32::try_from(position).unwrap_or(i32::MAX);
                bind_finding!(sqlx::query(INSERT_FINDING), f, position, (lists.0.as_str(), lists.1.as_str()))
                    .execute(&mut *tx)
                    .await?;
            }
            for call in &finish.calls {
                insert_call!(&mut *tx, call);
            }
            sqlx::query(
                "UPDATE review_sections SET status = $3, model = $4, error = $5, finished_at = $6 \
                 WHERE review_id = $1 AND section_id = $2",
            )
            .bind(review_id)
            .bind(section_id)
            .bind(finish.status.as_str())
            .bind(finish.model.as_deref())
            .bind(finish.error.as_deref())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            for (kind, data) in &events {
                sqlx::query("INSERT INTO review_events (review_id, kind, data, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(review_id)
                    .bind(kind.as_str())
                    .bind(data)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            let mut finished_now = false;
            let terminal = review_status.parse::<ReviewStatus>().map(ReviewStatus::is_terminal).unwrap_or(false);
            if !terminal {
                let rows: Vec<(String, Option<String>)> =
                    sqlx::query_as("SELECT status, error FROM review_sections WHERE review_id = $1")
                        .bind(review_id)
                        .fetch_all(&mut *tx)
                        .await?;
                let statuses: Vec<(SectionRunStatus, Option<String>)> = rows
                    .into_iter()
                    .filter_map(|(s, e)| s.parse::<SectionRunStatus>().ok().map(|s| (s, e)))
                    .collect();
                if statuses.iter().all(|(s, _)| s.is_terminal()) {
                    let (status, error) = final_status(&statuses);
                    sqlx::query("UPDATE reviews SET status = $2, error = $3, finished_at = $4 WHERE id = $1")
                        .bind(review_id)
                        .bind(status.as_str())
                        .bind(error.as_deref())
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    let data = json!({"status": status.as_str(), "error": error}).to_string();
                    sqlx::query(
                        "INSERT INTO review_events (review_id, kind, data, created_at) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(review_id)
                    .bind(ReviewEventKind::ReviewDone.as_str())
                    .bind(data)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    finished_now = true;
                }
            }
            tx.commit().await?;
            Ok(finished_now)
        }
        .await
        });
        let review_finished = match r {
            Ok(done) => done,
            Err(sqlx::Error::RowNotFound) => {
                return Err(StoreError::Conflict(format!(
                    "review {review_id} no longer exists"
                )));
            }
            Err(e) => return Err(map_err(e)),
        };
        let review = self
            .review(&Scope::All, &finish.review_id)
            .await?
            .ok_or_else(|| StoreError::Conflict(format!("review {review_id} no longer exists")))?;
        Ok(SectionFinished {
            review,
            review_finished,
        })
    }

    async fn cancel_review(&self, scope: &Scope, id: &ReviewId) -> StoreResult<Option<Review>> {
        let Some(review) = self.review(scope, id).await? else {
            return Ok(None);
        };
        if review.status.is_terminal() {
            return Ok(Some(review));
        }
        let now = Utc::now();
        let data = json!({"status": ReviewStatus::Cancelled.as_str(), "error": null}).to_string();
        let r: Result<(), sqlx::Error> = on_pool!(&self.pool, |p| async {
            let mut tx = p.begin().await?;
            let status: Option<String> =
                sqlx::query_scalar("UPDATE reviews SET status = status WHERE id = $1 RETURNING status")
                    .bind(id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            let still_open = status
                .and_then(|s| s.parse::<ReviewStatus>().ok())
                .is_some_and(|s| !s.is_terminal());
            if still_open {
                sqlx::query(
                    "UPDATE review_sections SET status = 'cancelled', finished_at = $2 \
                     WHERE review_id = $1 AND status = 'queued'",
                )
                .bind(id.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE reviews SET status = 'cancelled', finished_at = $2 WHERE id = $1")
                    .bind(id.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO review_events (review_id, kind, data, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(id.as_str())
                .bind(ReviewEventKind::ReviewDone.as_str())
                .bind(&data)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        }
        .await);
        r.map_err(map_err)?;
        self.review(scope, id).await
    }

    async fn record_model_calls(&self, calls: &[ModelCall]) -> StoreResult<()> {
        let r: Result<(), sqlx::Error> = on_pool!(&self.pool, |p| async {
            let mut tx = p.begin().await?;
            for call in calls {
                insert_call!(&mut *tx, call);
            }
            tx.commit().await
        }
        .await);
        r.map_err(map_err)
    }

    async fn document_usage(&self, scope: &Scope, document: &DocumentId) -> StoreResult<Usage> {
        let sql = "SELECT CAST(COALESCE(SUM(m.input_tokens), 0) AS BIGINT), \
                          CAST(COALESCE(SUM(m.output_tokens), 0) AS BIGINT), \
                          CAST(COALESCE(SUM(m.cached_tokens), 0) AS BIGINT), \
                          CAST(COALESCE(SUM(m.cost_usd), 0) AS DOUBLE PRECISION) \
                   FROM model_calls m JOIN documents d ON d.id = m.document_id \
                   WHERE m.document_id = $1 AND (CAST($2 AS TEXT) IS NULL OR d.owner_id = $2)";
        let owner = owner_filter(scope);
        let row: Result<(i64, i64, i64, f64), sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query_as(sql)
                .bind(document.as_str())
                .bind(owner.as_deref())
                .fetch_one(p)
                .await
        });
        let (input, output, cached, cost) = row.map_err(map_err)?;
        Ok(Usage {
            input_tokens: tokens(input),
            output_tokens: tokens(output),
            cached_tokens: tokens(cached),
            cost_usd: cost,
        })
    }

    async fn append_event(
        &self,
        review: &ReviewId,
        kind: ReviewEventKind,
        data: &serde_json::Value,
    ) -> StoreResult<i64> {
        let sql = "INSERT INTO review_events (review_id, kind, data, created_at) VALUES ($1, $2, $3, $4) RETURNING id";
        let data = data.to_string();
        // Readers follow a review's events by id ("after the last id I saw"), so its events must become
        // visible in id order. An id is drawn at insert time but seen at commit: without a lock, this
        // insert could draw an id above a `finish_section` still in flight and commit first, and a
        // reader would skip that section's events for good. Every writer of a review's events therefore
        // takes the review's row lock first (as `finish_section` and `cancel_review` do), so ids are
        // drawn and committed one transaction at a time per review.
        let r: Result<i64, sqlx::Error> = on_pool!(&self.pool, |p| async {
            let mut tx = p.begin().await?;
            sqlx::query("UPDATE reviews SET status = status WHERE id = $1")
                .bind(review.as_str())
                .execute(&mut *tx)
                .await?;
            let id = sqlx::query_scalar(sql)
                .bind(review.as_str())
                .bind(kind.as_str())
                .bind(&data)
                .bind(Utc::now())
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(id)
        }
        .await);
        r.map_err(map_err)
    }

    async fn events_after(&self, review: &ReviewId, after: i64, limit: u32) -> StoreResult<Vec<ReviewEvent>> {
        let sql = "SELECT id, review_id, kind, data, created_at FROM review_events \
                   WHERE review_id = $1 AND id > $2 ORDER BY id LIMIT $3";
        let rows: Result<Vec<EventRow>, sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query_as(sql)
                .bind(review.as_str())
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(p)
                .await
        });
        rows.map_err(map_err)?
            .into_iter()
            .map(|r| {
                Ok(ReviewEvent {
                    id: r.id,
                    review_id: ReviewId::new(r.review_id),
                    kind: r.kind.parse().map_err(|e| StoreError::Corrupt(format!("{e}")))?,
                    data: serde_json::from_str(&r.data).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    created_at: r.created_at,
                })
            })
            .collect()
    }
}

/// Inserts one model call inside a transaction (ignoring a repeat of the same call id).
macro_rules! insert_call {
    ($tx:expr, $call:expr) => {{
        let call: &ModelCall = $call;
        sqlx::query(
            "INSERT INTO model_calls (id, review_id, document_id, section_id, purpose, endpoint, model, \
             input_tokens, output_tokens, cached_tokens, cost_usd, latency_ms, outcome, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&call.id)
        .bind(call.review_id.as_ref().map(ReviewId::as_str))
        .bind(call.document_id.as_str())
        .bind(call.section_id.as_ref().map(SectionId::as_str))
        .bind(&call.purpose)
        .bind(&call.endpoint)
        .bind(&call.model)
        .bind(signed(call.usage.input_tokens))
        .bind(signed(call.usage.output_tokens))
        .bind(signed(call.usage.cached_tokens))
        .bind(call.usage.cost_usd)
        .bind(signed(call.latency_ms))
        .bind(&call.outcome)
        .bind(call.created_at)
        .execute($tx)
        .await?;
    }};
}
use insert_call;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_review_with_degraded_sections_is_partial_with_their_reasons() {
        let (status, error) = final_status(&[
            (SectionRunStatus::Done, None),
            (SectionRunStatus::RulesOnly, Some("all models throttled".into())),
            (SectionRunStatus::Skipped, None),
        ]);
        assert_eq!(status, ReviewStatus::Partial);
        assert_eq!(error.as_deref(), Some("all models throttled"));
    }

    #[test]
    fn a_review_where_nothing_could_be_reviewed_failed() {
        let (status, _) = final_status(&[(SectionRunStatus::Failed, Some("x".into()))]);
        assert_eq!(status, ReviewStatus::Failed);
        let (status, error) =
            final_status(&[(SectionRunStatus::Done, None), (SectionRunStatus::Skipped, None)]);
        assert_eq!((status, error), (ReviewStatus::Succeeded, None));
    }
}
