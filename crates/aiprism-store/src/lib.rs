//! Storage for aiprism: the [`Store`] trait the application is written against, and [`SqlStore`], which
//! implements it on SQLite (the embedded default) and on PostgreSQL, chosen at run time from the URL.
//!
//! SQL lives only in this crate. Both backends run the same query text (written to be valid on both) and
//! decode into the same row types; each backend owns its migrations folder because their DDL differs.
//! Where behaviour must differ (job claiming, notifications), the code matches on the backend explicitly.
//! This crate depends on `aiprism-core` only.

mod accounts;
mod activity;
mod chat;
mod decisions;
mod documents;
mod exports;
mod facts;
mod findings;
mod frameworks;
mod health;
mod pool;
pub mod queue;
mod reviews;
mod sessions;
pub mod testing;

use aiprism_core::{
    Activity, ActivityAction, DocumentId, DocumentMeta, Finding, FindingId, FindingSource, FindingStatus,
    FindingType, ModelCall, Review, ReviewEvent, ReviewEventKind, ReviewId, Risk, Scope, Section, SectionId,
    SectionRun, SectionRunStatus, Usage, User, UserId,
};
use async_trait::async_trait;

pub use pool::{Backend, PG_ACQUIRE_TIMEOUT, SqlStore, redact_url};

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
pub trait Store:
    DocumentStore
    + ReviewStore
    + FindingStore
    + DecisionStore
    + ActivityStore
    + ChatStore
    + FactStore
    + ExportStore
    + FrameworkStore
    + HealthStore
    + AccountStore
    + SessionStore
{
}

impl<T> Store for T where
    T: DocumentStore
        + ReviewStore
        + FindingStore
        + DecisionStore
        + ActivityStore
        + ChatStore
        + FactStore
        + ExportStore
        + FrameworkStore
        + HealthStore
        + AccountStore
        + SessionStore
{
}

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

/// A framework uploaded by a user, as its TOML source (parsed and validated by the application).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFramework {
    /// Its id (from the TOML).
    pub id: String,
    /// Its display name.
    pub name: String,
    /// The TOML as uploaded.
    pub source: String,
    /// Who uploaded it first.
    pub created_by: UserId,
    /// First upload.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last upload.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Frameworks uploaded by users. They are shared by every user of the installation (a team's checklist),
/// so they are not scoped by owner; who uploaded them is recorded.
#[async_trait]
pub trait FrameworkStore: Send + Sync + 'static {
    /// Creates or replaces a framework by id.
    async fn save_framework(&self, framework: &StoredFramework) -> StoreResult<()>;

    /// Every uploaded framework, by id.
    async fn stored_frameworks(&self) -> StoreResult<Vec<StoredFramework>>;

    /// One uploaded framework.
    async fn stored_framework(&self, id: &str) -> StoreResult<Option<StoredFramework>>;
}

/// The latest result of one periodic health probe.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheck {
    /// What was probed: `database`, `object_store`, `queue:analysis`, `model:<endpoint>`...
    pub name: String,
    /// Whether it is usable.
    pub ok: bool,
    /// A short description for people (never a secret).
    pub detail: String,
    /// How long the probe took.
    pub latency_ms: u64,
    /// When it ran.
    pub checked_at: chrono::DateTime<chrono::Utc>,
}

/// Results of the monitoring job's probes, shared by every process through the database.
#[async_trait]
pub trait HealthStore: Send + Sync + 'static {
    /// Replaces the stored results of these probes.
    async fn record_health(&self, checks: &[HealthCheck]) -> StoreResult<()>;

    /// Every probe's latest result.
    async fn health_checks(&self) -> StoreResult<Vec<HealthCheck>>;
}

/// Who did something, for the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    /// Their id.
    pub id: UserId,
    /// Their name at the time.
    pub name: String,
}

impl From<&User> for Actor {
    fn from(user: &User) -> Self {
        Actor {
            id: user.id.clone(),
            name: user.name.clone(),
        }
    }
}

/// A reviewer's change to a finding's text; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FindingEdit {
    /// New description.
    pub description: Option<String>,
    /// New suggestion.
    pub suggestion: Option<String>,
    /// New example.
    pub example: Option<String>,
    /// New category.
    pub category: Option<String>,
    /// New type.
    pub finding_type: Option<FindingType>,
    /// New risk.
    pub risk: Option<Risk>,
    /// New questions.
    pub questions: Option<Vec<String>>,
    /// New highlight colour (reviewer highlights).
    pub highlight_color: Option<String>,
}

impl FindingEdit {
    /// Whether the edit changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == FindingEdit::default()
    }
}

/// What deleting a reviewer comment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// It is gone.
    Deleted,
    /// No such finding within the scope.
    NotFound,
    /// It is a rule or model finding: those are rejected, not deleted.
    NotReviewers,
}

/// The reviewer's changes to findings. Every change is stored at once, in the same transaction as its
/// audit-trail entry.
#[async_trait]
pub trait DecisionStore: Send + Sync + 'static {
    /// Sets a finding's status (and note). Deciding what is already decided changes nothing and records
    /// nothing. Returns the finding as it now stands, or `None` outside the scope.
    async fn decide(
        &self,
        scope: &Scope,
        id: &FindingId,
        status: FindingStatus,
        note: Option<&str>,
        actor: &Actor,
    ) -> StoreResult<Option<Finding>>;

    /// Changes a finding's text and marks it edited.
    async fn edit_finding(
        &self,
        scope: &Scope,
        id: &FindingId,
        edit: &FindingEdit,
        actor: &Actor,
    ) -> StoreResult<Option<Finding>>;

    /// Stores a reviewer's own comment or highlight.
    async fn add_reviewer_finding(&self, finding: &Finding, actor: &Actor) -> StoreResult<()>;

    /// Deletes a reviewer's comment (rule and model findings cannot be deleted, only rejected).
    async fn delete_reviewer_finding(
        &self,
        scope: &Scope,
        id: &FindingId,
        actor: &Actor,
    ) -> StoreResult<DeleteOutcome>;

    /// Puts every rule and model finding of a document back to pending (reviewer comments are kept);
    /// returns how many changed, or `None` when the document is outside the scope.
    async fn reset_decisions(
        &self,
        scope: &Scope,
        document: &DocumentId,
        actor: &Actor,
    ) -> StoreResult<Option<u64>>;
}

/// An entry to append to the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct NewActivity {
    /// The document, if any.
    pub document_id: Option<DocumentId>,
    /// The document's owner.
    pub owner: UserId,
    /// Who did it.
    pub actor: Actor,
    /// What happened.
    pub action: ActivityAction,
    /// Details.
    pub details: serde_json::Value,
}

/// The append-only audit trail.
#[async_trait]
pub trait ActivityStore: Send + Sync + 'static {
    /// Appends an entry.
    async fn record_activity(&self, entry: &NewActivity) -> StoreResult<()>;

    /// A document's entries, oldest first (also after the document was deleted, for its owner).
    async fn activity(&self, scope: &Scope, document: &DocumentId) -> StoreResult<Vec<Activity>>;

    /// The newest `limit` entries across every document in scope, newest first (the dashboard's log).
    async fn recent_activity(&self, scope: &Scope, limit: u32) -> StoreResult<Vec<Activity>>;
}

/// The conversation about each document.
#[async_trait]
pub trait ChatStore: Send + Sync + 'static {
    /// Appends a message (its document must exist).
    async fn add_chat_message(&self, message: &aiprism_core::ChatMessage) -> StoreResult<()>;

    /// A document's conversation, oldest first (empty when the document is outside the scope).
    async fn chat_messages(
        &self,
        scope: &Scope,
        document: &DocumentId,
    ) -> StoreResult<Vec<aiprism_core::ChatMessage>>;
}

/// One finding, reduced to what statistics and learning count.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingFact {
    /// Its document.
    pub document_id: DocumentId,
    /// The document's framework.
    pub framework: String,
    /// Its section.
    pub section_id: SectionId,
    /// Who produced it.
    pub source: FindingSource,
    /// Its category.
    pub category: String,
    /// Checkpoint ids it relates to.
    pub checkpoints: Vec<String>,
    /// The decision on it.
    pub status: FindingStatus,
    /// Its risk.
    pub risk: Risk,
    /// When it was produced.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it was last decided.
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Reads for statistics and learning.
#[async_trait]
pub trait FactStore: Send + Sync + 'static {
    /// Every finding in the scope, reduced to its facts.
    async fn finding_facts(&self, scope: &Scope) -> StoreResult<Vec<FindingFact>>;

    /// The most recently accepted model findings of a framework in the scope, from documents other than
    /// `exclude` (few-shot examples for a review of `exclude`).
    async fn accepted_examples(
        &self,
        scope: &Scope,
        framework: &str,
        exclude: &DocumentId,
        limit: u32,
    ) -> StoreResult<Vec<Finding>>;
}

/// Export records (the files themselves live in the object store).
#[async_trait]
pub trait ExportStore: Send + Sync + 'static {
    /// Records an export.
    async fn insert_export(&self, export: &aiprism_core::Export) -> StoreResult<()>;

    /// One export.
    async fn export(
        &self,
        scope: &Scope,
        id: &aiprism_core::ExportId,
    ) -> StoreResult<Option<aiprism_core::Export>>;

    /// A document's exports, newest first.
    async fn exports(&self, scope: &Scope, document: &DocumentId) -> StoreResult<Vec<aiprism_core::Export>>;
}

/// A user who can sign in: their user row plus a login name and (optionally) a password hash.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// The user (id, display name, role).
    pub user: User,
    /// The unique login name (normalised by the application).
    pub login: String,
    /// The argon2id PHC string; `None` for an account that signs in only by token or SSO.
    pub password_hash: Option<String>,
}

/// An API token as stored: only the sha256 of the token itself is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiTokenRecord {
    /// Stable id (for listing and revoking).
    pub id: String,
    /// Whose token it is.
    pub user_id: UserId,
    /// What the token is for, chosen by its owner.
    pub label: String,
    /// Hex sha256 of the token.
    pub token_hash: String,
    /// When it was made.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A one-time sign-in link (e.g. to create the first admin), stored by the hash of its token.
#[derive(Debug, Clone, PartialEq)]
pub struct SigninLink {
    /// Hex sha256 of the link's token.
    pub token_hash: String,
    /// What redeeming it does (`first_admin`).
    pub purpose: String,
    /// When it was made.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// After this it no longer works.
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// When it was used; a used link never works again.
    pub used_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Accounts, API tokens and sign-in links. Not scoped by owner: these are what decide the owner.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Creates an account; [`StoreError::Conflict`] when the login or id is taken.
    async fn create_account(&self, account: &Account) -> StoreResult<()>;

    /// The account with this login, if any.
    async fn account_by_login(&self, login: &str) -> StoreResult<Option<Account>>;

    /// Every account that can sign in, by login.
    async fn accounts(&self) -> StoreResult<Vec<Account>>;

    /// How many accounts can sign in (the built-in local user has no login and does not count).
    async fn account_count(&self) -> StoreResult<u64>;

    /// Replaces an account's password hash; `false` when there is no such account.
    async fn set_password_hash(&self, id: &UserId, hash: &str) -> StoreResult<bool>;

    /// A user by id.
    async fn user(&self, id: &UserId) -> StoreResult<Option<User>>;

    /// Stores a new API token.
    async fn insert_api_token(&self, token: &ApiTokenRecord) -> StoreResult<()>;

    /// The user owning the token with this hash.
    async fn user_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<User>>;

    /// Stores a new sign-in link.
    async fn insert_signin_link(&self, link: &SigninLink) -> StoreResult<()>;

    /// A sign-in link by the hash of its token (used or not).
    async fn signin_link(&self, token_hash: &str) -> StoreResult<Option<SigninLink>>;

    /// Marks the link used and creates the account in one transaction; `false` (and nothing changed)
    /// when the link is unknown, used or expired at `now`.
    async fn redeem_signin_link(
        &self,
        token_hash: &str,
        now: chrono::DateTime<chrono::Utc>,
        account: &Account,
    ) -> StoreResult<bool>;
}

/// A browser session as stored: only a hash of the session id (the cookie value) is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// Hex sha256 of the session id.
    pub id_hash: String,
    /// Who is signed in.
    pub user_id: UserId,
    /// Sign-in time.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last request seen (for idle expiry).
    pub last_seen_at: chrono::DateTime<chrono::Utc>,
    /// Absolute expiry, whatever the activity.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Where browser sessions live. A trait of its own so sessions can move to a shared cache without
/// touching accounts.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Stores a new session.
    async fn insert_session(&self, session: &SessionRecord) -> StoreResult<()>;

    /// A session by the hash of its id (expired or not: the caller decides).
    async fn session(&self, id_hash: &str) -> StoreResult<Option<SessionRecord>>;

    /// Records activity on a session.
    async fn touch_session(&self, id_hash: &str, at: chrono::DateTime<chrono::Utc>) -> StoreResult<()>;

    /// Ends a session; `false` when there was none.
    async fn delete_session(&self, id_hash: &str) -> StoreResult<bool>;

    /// Ends every session of a user (after a password change); returns how many.
    async fn delete_user_sessions(&self, user: &UserId) -> StoreResult<u64>;

    /// Removes sessions past their absolute expiry (`expires_at <= now`) or idle since `idle_cutoff`.
    async fn delete_expired_sessions(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        idle_cutoff: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<u64>;
}
