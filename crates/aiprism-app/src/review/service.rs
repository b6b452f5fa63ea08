//! Starting, reading and cancelling reviews, and running one section as a queued job.
//!
//! `start_review` answers at once: it records the review and fans out one `review_section` job per
//! reviewable section. Workers (in `serve` or in `aiprism worker` processes) run the jobs; each writes its
//! section's findings, model calls and events in one transaction, and the last one finalises the review.
//! A job that runs twice (its worker died after writing) finds its section finished and does nothing.

use std::time::Duration;

use aiprism_core::rules::DocumentContext;
use aiprism_core::{
    ActivityAction, DocumentId, Review, ReviewEventKind, ReviewId, ReviewProgress, ReviewStatus, Scope,
    SectionId, Usage, User,
};
use aiprism_store::queue::runner::{JobContext, JobError};
use aiprism_store::queue::{JobPayload, NewJob, QueueName};
use aiprism_store::{SectionFinish, SectionStart, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::engine::{SectionJob, review_section};
use super::prompt::DocumentPrompt;
use crate::{App, AppError};

/// The notice a review carries when no model is configured.
pub const RULES_ONLY_NOTICE: &str =
    "No AI model is configured: only the built-in rule checks ran. Configure a model to get AI findings.";

/// The queued work of one section of one review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewSectionJob {
    /// The review.
    pub review_id: ReviewId,
    /// The section.
    pub section_id: SectionId,
}

impl JobPayload for ReviewSectionJob {
    const NAME: &'static str = "review_section";
    const QUEUE: QueueName = QueueName::Analysis;
}

/// What to review: all sections by default, or some; the document's framework unless another is named.
#[derive(Debug, Clone, Default)]
pub struct ReviewRequest {
    /// Only these sections (of the document).
    pub sections: Option<Vec<SectionId>>,
    /// Another framework than the document's.
    pub framework: Option<String>,
}

impl App {
    /// Records a review and queues its sections; returns it queued (or already finished when there is
    /// nothing to review).
    pub async fn start_review(
        &self,
        user: &User,
        document: &DocumentId,
        request: ReviewRequest,
    ) -> Result<Review, AppError> {
        let scope = Scope::of(user);
        let meta = self
            .store
            .document(&scope, document)
            .await?
            .ok_or(AppError::NotFound { what: "document" })?;
        let framework_id = request.framework.unwrap_or_else(|| meta.framework.clone());
        self.require_framework(&framework_id).await?;
        let all = self.store.sections(&scope, document).await?;
        let chosen: Vec<_> = match &request.sections {
            Some(ids) => {
                if ids.is_empty() {
                    return Err(AppError::invalid(
                        "no_sections",
                        "Name at least one section to review.",
                    ));
                }
                for id in ids {
                    if !all.iter().any(|s| &s.id == id) {
                        return Err(AppError::invalid(
                            "unknown_section",
                            format!("Section {id} is not part of this document."),
                        ));
                    }
                }
                all.iter().filter(|s| ids.contains(&s.id)).collect()
            }
            None => all.iter().collect(),
        };
        let ids: Vec<SectionId> = chosen.iter().map(|s| s.id.clone()).collect();
        let skipped: Vec<SectionId> = chosen
            .iter()
            .filter(|s| !s.is_reviewable())
            .map(|s| s.id.clone())
            .collect();
        let reviewable: Vec<_> = chosen.iter().filter(|s| s.is_reviewable()).collect();

        let now = aiprism_core::now();
        let nothing_to_do = reviewable.is_empty();
        let review = Review {
            id: ReviewId::generate(),
            document_id: meta.id.clone(),
            owner: meta.owner.clone(),
            framework: framework_id,
            status: if nothing_to_do {
                ReviewStatus::Succeeded
            } else {
                ReviewStatus::Queued
            },
            progress: ReviewProgress::default(),
            models_used: Vec::new(),
            usage: Usage::default(),
            error: None,
            notice: if nothing_to_do {
                Some("Nothing to review: every section is excluded from review.".into())
            } else if self.router.is_none() {
                Some(RULES_ONLY_NOTICE.into())
            } else {
                None
            },
            created_at: now,
            finished_at: nothing_to_do.then_some(now),
        };
        self.store.create_review(&review, &ids, &skipped).await?;
        if nothing_to_do {
            self.store
                .append_event(
                    &review.id,
                    ReviewEventKind::ReviewDone,
                    &json!({"status": "succeeded", "error": null}),
                )
                .await?;
        } else {
            let mut jobs = Vec::with_capacity(reviewable.len());
            for section in &reviewable {
                let payload = ReviewSectionJob {
                    review_id: review.id.clone(),
                    section_id: section.id.clone(),
                };
                let job = NewJob::from_payload(&payload)
                    .map_err(|e| AppError::Internal(e.to_string()))?
                    .with_group(review.id.as_str())
                    .with_dedup_key(format!("{}:{}", review.id, section.id))
                    .with_priority(-i32::try_from(section.index).unwrap_or(i32::MAX));
                jobs.push(job);
            }
            if let Err(e) = self.queue.enqueue_many(jobs).await {
                tracing::error!(review = %review.id, error = %e, "could not queue the review's sections");
                let _ = self.store.cancel_review(&Scope::All, &review.id).await;
                return Err(AppError::Unavailable {
                    message: "The job queue is unavailable; try again shortly.".into(),
                });
            }
        }
        tracing::info!(review = %review.id, document = %meta.id, sections = reviewable.len(), "review queued");
        self.record(
            user,
            &meta.owner,
            Some(&meta.id),
            ActivityAction::ReviewStarted,
            json!({"review_id": review.id.as_str(), "framework": review.framework, "sections": reviewable.len()}),
        )
        .await;
        self.store
            .review(&scope, &review.id)
            .await?
            .ok_or(AppError::NotFound { what: "review" })
    }

    /// One review with its progress.
    pub async fn review(&self, user: &User, id: &ReviewId) -> Result<Review, AppError> {
        self.store
            .review(&Scope::of(user), id)
            .await?
            .ok_or(AppError::NotFound { what: "review" })
    }

    /// The newest review of a document, if any.
    pub async fn latest_review(
        &self,
        user: &User,
        document: &DocumentId,
    ) -> Result<Option<Review>, AppError> {
        Ok(self.store.latest_review(&Scope::of(user), document).await?)
    }

    /// Cancels a review: queued sections stop at once, running ones finish their current call.
    pub async fn cancel_review(&self, user: &User, id: &ReviewId) -> Result<Review, AppError> {
        let review = self
            .store
            .cancel_review(&Scope::of(user), id)
            .await?
            .ok_or(AppError::NotFound { what: "review" })?;
        if let Err(e) = self.queue.cancel_group(id.as_str()).await {
            // The review is cancelled in the database, so its jobs will do nothing when they run.
            tracing::warn!(review = %id, error = %e, "could not cancel queued jobs");
        }
        self.record(
            user,
            &review.owner,
            Some(&review.document_id),
            ActivityAction::ReviewCancelled,
            json!({"review_id": id.as_str()}),
        )
        .await;
        Ok(review)
    }

    /// Runs one section's job. Idempotent: a finished or cancelled section is left alone.
    pub async fn run_review_section(&self, job: &ReviewSectionJob, ctx: &JobContext) -> Result<(), JobError> {
        match self
            .store
            .start_section(&job.review_id, &job.section_id)
            .await
            .map_err(retry)?
        {
            SectionStart::Started => {}
            SectionStart::AlreadyFinished | SectionStart::Cancelled | SectionStart::Missing => return Ok(()),
        }
        let review = self
            .store
            .review(&Scope::All, &job.review_id)
            .await
            .map_err(retry)?
            .ok_or_else(|| JobError::Permanent("the review no longer exists".into()))?;
        let meta = self
            .store
            .document(&Scope::All, &review.document_id)
            .await
            .map_err(retry)?
            .ok_or_else(|| JobError::Permanent("the document no longer exists".into()))?;
        let sections = self
            .store
            .sections(&Scope::All, &review.document_id)
            .await
            .map_err(retry)?;
        let Some(section) = sections.iter().find(|s| s.id == job.section_id) else {
            return Err(JobError::Permanent("the section no longer exists".into()));
        };
        self.store
            .append_event(
                &review.id,
                ReviewEventKind::SectionStarted,
                &json!({"section_id": section.id.as_str(), "index": section.index, "title": section.title}),
            )
            .await
            .map_err(retry)?;

        let framework = match self.require_framework(&review.framework).await {
            Ok(f) => f,
            Err(AppError::Invalid { message, .. }) => return Err(JobError::Permanent(message)),
            Err(e) => return Err(JobError::Retry(e.to_string())),
        };
        let examples = self.few_shot_examples(&meta.owner, &framework.id, &meta.id).await;
        let prompt = DocumentPrompt::new(
            &framework,
            &meta.filename,
            meta.document_type.as_deref(),
            &sections,
            meta.guidelines.as_ref().map(|g| g.text.as_str()),
            &examples,
        );
        let context = DocumentContext::from_sections(&sections);
        let section_job = SectionJob {
            framework: &framework,
            document_id: &meta.id,
            review_id: &review.id,
            section,
            sections_total: sections.len(),
            prompt: &prompt,
            context: &context,
        };
        let router = self.router.as_deref();
        let deadline = Duration::from_secs(u64::from(self.settings.review.section_timeout_secs));
        let result = tokio::select! {
            result = review_section(&section_job, router, deadline) => result,
            () = ctx.cancelled() => {
                tracing::info!(review = %review.id, section = %section.id, "section abandoned: review cancelled");
                return Ok(());
            }
        };
        if result.unverified_quotes > 0 {
            tracing::info!(
                review = %review.id, section = %section.id, dropped = result.unverified_quotes,
                "model findings dropped: their quotes are not in the section"
            );
        }
        let events = result
            .findings
            .iter()
            .map(|f| {
                (
                    ReviewEventKind::Finding,
                    json!({
                        "id": f.id.as_str(), "section_id": f.section_id.as_str(), "source": f.source.as_str(),
                        "type": f.finding_type.as_str(), "risk": f.risk.as_str(), "confidence": f.confidence,
                        "category": f.category,
                    }),
                )
            })
            .collect();
        let finish = SectionFinish {
            review_id: review.id.clone(),
            section_id: section.id.clone(),
            status: result.status.unwrap_or(aiprism_core::SectionRunStatus::Done),
            model: result.model,
            error: result.error,
            findings: result.findings,
            calls: result.calls,
            events,
        };
        let tally = crate::metrics::FindingTally::of(&finish.findings);
        let finished = self.store.finish_section(finish).await.map_err(retry)?;
        tally.record();
        self.notify_progress();
        if finished.review_finished {
            let r = &finished.review;
            tracing::info!(review = %r.id, status = %r.status, "review finished");
            let system = aiprism_core::User {
                id: aiprism_core::UserId::new("system"),
                name: "aiprism".into(),
                role: aiprism_core::Role::Reviewer,
            };
            self.record(
                &system,
                &r.owner,
                Some(&r.document_id),
                ActivityAction::ReviewFinished,
                json!({
                    "review_id": r.id.as_str(), "status": r.status.as_str(), "error": r.error,
                    "models_used": r.models_used, "cost_usd": r.usage.cost_usd,
                }),
            )
            .await;
        }
        Ok(())
    }
}

fn retry(e: StoreError) -> JobError {
    JobError::Retry(e.to_string())
}
