//! Storage for aiprism: the [`Store`] trait the application is written against, and [`SqlStore`], which
//! implements it on SQLite (the embedded default) and on PostgreSQL, chosen at run time from the URL.
//!
//! SQL lives only in this crate. Both backends run the same query text (written to be valid on both) and
//! decode into the same row types; each backend owns its migrations folder because their DDL differs.
//! Where behaviour must differ (job claiming, notifications), the code matches on the backend explicitly.
//! This crate depends on `aiprism-core` only.

mod documents;
mod findings;
mod pool;
mod reviews;
pub mod testing;

use aiprism_core::{
    DocumentId, DocumentMeta, Finding, FindingId, FindingSource, FindingStatus, ModelCall, Review,
    ReviewEvent, ReviewEventKind, ReviewId, Scope, Section, SectionId, SectionRun, SectionRunStatus, Usage,
    User,
};
use async_trait::async_trait;

pub use pool::{Backend, SqlStore, redact_url};

/// Why a storage call failed, in terms a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or timed out: retry later (HTTP 503).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness or state rule was violated (HTTP 409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A stored value could not be read back into the domain (a bug or a manual edit).
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// The URL or options do not describe a usable database.
    #[error("invalid database configuration: {0}")]
    Config(String),
    /// Anything else the driver reported.
    #[error("database error: {0}")]
    Other(String),
}

/// Result of a storage call.
pub type StoreResult<T> = Result<T, StoreError>;

/// A document as listed: its metadata plus counts, without section bodies.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentSummary {
    /// The document's metadata.
    pub meta: DocumentMeta,
    /// How many sections it has.
    pub section_count: u32,
}

/// Everything the application persists, as one object: documents, reviews and findings. Every read and
/// write of user data takes a [`Scope`], so a query cannot forget whose data it may touch; a resource
/// outside the scope reads as absent.
pub trait Store: DocumentStore + ReviewStore + FindingStore {}

impl<T: DocumentStore + ReviewStore + FindingStore> Store for T {}

/// Users, documents and sections.
#[async_trait]
pub trait DocumentStore: Send + Sync + 'static {
    /// Which database this is (for `check` and logs).
    fn backend(&self) -> Backend;

    /// A cheap round trip proving the database answers.
    async fn ping(&self) -> StoreResult<()>;

    /// Creates the user, or updates their name and role.
    async fn upsert_user(&self, user: &User) -> StoreResult<()>;

    /// Stores a document and all its sections atomically: either both are visible or neither.
    async fn insert_document(&self, document: &DocumentMeta, sections: &[Section]) -> StoreResult<()>;

    /// One document, if it exists within the scope.
    async fn document(&self, scope: &Scope, id: &DocumentId) -> StoreResult<Option<DocumentMeta>>;

    /// The documents within the scope, newest first.
    async fn documents(&self, scope: &Scope) -> StoreResult<Vec<DocumentSummary>>;

    /// A document's sections in document order (empty when the document is outside the scope).
    async fn sections(&self, scope: &Scope, id: &DocumentId) -> StoreResult<Vec<Section>>;

    /// Deletes a document and everything that hangs off it; returns what was deleted so the caller can
    /// remove its objects, or `None` when nothing within the scope had that id.
    async fn delete_document(&self, scope: &Scope, id: &DocumentId) -> StoreResult<Option<DocumentMeta>>;
}

/// What a worker learns when it starts a section of a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionStart {
    /// The section is now running; do the work.
    Started,
    /// It already finished (a redelivered job): do nothing.
    AlreadyFinished,
    /// The review was cancelled: do nothing.
    Cancelled,
    /// No such review or section.
    Missing,
}

/// Everything a finished section writes, atomically: its findings replace any the same section wrote
/// before (so a redelivered job never duplicates them), its model calls and events are recorded, and the
/// review is finalised when this was its last section.
#[derive(Debug, Clone)]
pub struct SectionFinish {
    /// The review.
    pub review_id: ReviewId,
    /// The section.
    pub section_id: SectionId,
    /// How it ended.
    pub status: SectionRunStatus,
    /// The model that reviewed it.
    pub model: Option<String>,
    /// Why models failed for it.
    pub error: Option<String>,
    /// Its rule and model findings.
    pub findings: Vec<Finding>,
    /// Model calls made for it.
    pub calls: Vec<ModelCall>,
    /// Events to append (after the section's own `section_done`, which is added here).
    pub events: Vec<(ReviewEventKind, serde_json::Value)>,
}

/// The review after a section finished: its progress, and its final state when this section was the last.
#[derive(Debug, Clone, PartialEq)]
pub struct SectionFinished {
    /// The review as it now stands.
    pub review: Review,
    /// Whether this call moved the review to a terminal state.
    pub review_finished: bool,
}

/// Review runs, their sections, model calls and progress events.
#[async_trait]
pub trait ReviewStore: Send + Sync + 'static {
    /// Records a new review and the sections it covers (in order); sections listed in `skipped` are
    /// recorded as skipped at once.
    async fn create_review(
        &self,
        review: &Review,
        sections: &[SectionId],
        skipped: &[SectionId],
    ) -> StoreResult<()>;

    /// One review with its progress, models used and usage.
    async fn review(&self, scope: &Scope, id: &ReviewId) -> StoreResult<Option<Review>>;

    /// The newest review of a document.
    async fn latest_review(&self, scope: &Scope, document: &DocumentId) -> StoreResult<Option<Review>>;

    /// Each section's place in a review, in review order.
    async fn section_runs(&self, review: &ReviewId) -> StoreResult<Vec<SectionRun>>;

    /// Marks a section running (and the review running, if it was queued).
    async fn start_section(&self, review: &ReviewId, section: &SectionId) -> StoreResult<SectionStart>;

    /// Writes a finished section; see [`SectionFinish`].
    async fn finish_section(&self, finish: SectionFinish) -> StoreResult<SectionFinished>;

    /// Cancels a review that has not ended: queued sections become cancelled; returns the review.
    async fn cancel_review(&self, scope: &Scope, id: &ReviewId) -> StoreResult<Option<Review>>;

    /// Records model calls made outside a review section (chat).
    async fn record_model_calls(&self, calls: &[ModelCall]) -> StoreResult<()>;

    /// Total usage of every model call about a document.
    async fn document_usage(&self, scope: &Scope, document: &DocumentId) -> StoreResult<Usage>;

    /// Appends a progress event; returns its id.
    async fn append_event(
        &self,
        review: &ReviewId,
        kind: ReviewEventKind,
        data: &serde_json::Value,
    ) -> StoreResult<i64>;

    /// Events of a review after `after` (exclusive), oldest first, at most `limit`.
    async fn events_after(&self, review: &ReviewId, after: i64, limit: u32) -> StoreResult<Vec<ReviewEvent>>;
}

/// Which findings to list.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    /// Only this section's.
    pub section: Option<SectionId>,
    /// Only with this status.
    pub status: Option<FindingStatus>,
    /// Only with at least this confidence.
    pub min_confidence: Option<f32>,
    /// Only from this source.
    pub source: Option<FindingSource>,
}

/// Findings and the reviewer's decisions on them.
#[async_trait]
pub trait FindingStore: Send + Sync + 'static {
    /// A document's findings in section order, then review order.
    async fn findings(
        &self,
        scope: &Scope,
        document: &DocumentId,
        filter: &FindingFilter,
    ) -> StoreResult<Vec<Finding>>;

    /// One finding.
    async fn finding(&self, scope: &Scope, id: &FindingId) -> StoreResult<Option<Finding>>;
}
