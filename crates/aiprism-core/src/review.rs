//! A review run: its status, progress and what it cost.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{DocumentId, ReviewId, SectionId, UserId};

crate::string_enum! {
    /// Where a review run is.
    pub enum ReviewStatus as "review status" {
        /// Waiting for a worker.
        Queued = "queued",
        /// Sections are being reviewed.
        Running = "running",
        /// Every section got its rule and model review.
        Succeeded = "succeeded",
        /// Some sections got only rule findings because every model failed for them.
        Partial = "partial",
        /// Nothing could be reviewed.
        Failed = "failed",
        /// Stopped by the user.
        Cancelled = "cancelled",
    }
}

impl ReviewStatus {
    /// Whether the run has ended (no more progress will come).
    pub fn is_terminal(self) -> bool {
        !matches!(self, ReviewStatus::Queued | ReviewStatus::Running)
    }
}

/// Tokens and money spent by model calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens billed at the full rate.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens read from the provider's prompt cache.
    pub cached_tokens: u64,
    /// Total price in US dollars.
    pub cost_usd: f64,
}

impl Usage {
    /// Adds another call's usage to this total.
    pub fn add(&mut self, other: &Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cached_tokens += other.cached_tokens;
        self.cost_usd += other.cost_usd;
    }
}

/// How far a review has got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewProgress {
    /// Sections finished (successfully or not).
    pub sections_done: u32,
    /// Sections to review in this run.
    pub sections_total: u32,
}

/// One review run over a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// Stable id.
    pub id: ReviewId,
    /// The document reviewed.
    pub document_id: DocumentId,
    /// The document's owner (reviews are scoped like documents).
    pub owner: UserId,
    /// The framework applied.
    pub framework: String,
    /// Where the run is.
    pub status: ReviewStatus,
    /// How far it has got.
    pub progress: ReviewProgress,
    /// Model ids that produced findings.
    pub models_used: Vec<String>,
    /// What it cost.
    pub usage: Usage,
    /// Why it is partial or failed, for a person.
    pub error: Option<String>,
    /// Something the reviewer should know that is not an error (e.g. "no model configured: rule checks
    /// only").
    pub notice: Option<String>,
    /// When it was requested.
    pub created_at: DateTime<Utc>,
    /// When it reached a terminal state.
    pub finished_at: Option<DateTime<Utc>>,
}

crate::string_enum! {
    /// Where one section of a review run is.
    pub enum SectionRunStatus as "section run status" {
        /// Waiting for a worker.
        Queued = "queued",
        /// A worker is on it.
        Running = "running",
        /// Rules and the model reviewed it.
        Done = "done",
        /// Only rules ran: every model failed for it (the reason is kept), or none is configured.
        RulesOnly = "rules_only",
        /// Not reviewed on purpose (excluded from review, e.g. a quoted e-mail thread).
        Skipped = "skipped",
        /// Nothing could be done for it.
        Failed = "failed",
        /// The review was cancelled before it ran.
        Cancelled = "cancelled",
    }
}

impl SectionRunStatus {
    /// Whether the section's work has ended.
    pub fn is_terminal(self) -> bool {
        !matches!(self, SectionRunStatus::Queued | SectionRunStatus::Running)
    }
}

/// One section's place in a review run.
#[derive(Debug, Clone, PartialEq)]
pub struct SectionRun {
    /// The review.
    pub review_id: ReviewId,
    /// The section.
    pub section_id: SectionId,
    /// Where it is.
    pub status: SectionRunStatus,
    /// The model that reviewed it, if any.
    pub model: Option<String>,
    /// Why models failed for it, if they did.
    pub error: Option<String>,
}

crate::string_enum! {
    /// The kinds of progress event a review emits (the SSE event names).
    pub enum ReviewEventKind as "review event kind" {
        /// A worker started a section.
        SectionStarted = "section_started",
        /// A section finished (with its status and finding count).
        SectionDone = "section_done",
        /// A finding was stored.
        Finding = "finding",
        /// The review reached a terminal state.
        ReviewDone = "review_done",
        /// Something went wrong that the reviewer should see.
        Error = "error",
    }
}

/// A stored progress event; `id` orders events within a review and is the SSE event id.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewEvent {
    /// Monotonic id (SSE `id:`, resumed from with `Last-Event-ID`).
    pub id: i64,
    /// The review it belongs to.
    pub review_id: ReviewId,
    /// What happened.
    pub kind: ReviewEventKind,
    /// Details, as JSON.
    pub data: serde_json::Value,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// One model call, recorded for cost accounting.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelCall {
    /// Stable id.
    pub id: String,
    /// The review it served, if any (chat calls have none).
    pub review_id: Option<ReviewId>,
    /// The document it was about.
    pub document_id: DocumentId,
    /// The section, if one.
    pub section_id: Option<SectionId>,
    /// What it was for: "review", "chat".
    pub purpose: String,
    /// The router endpoint name.
    pub endpoint: String,
    /// The model id.
    pub model: String,
    /// Tokens and price.
    pub usage: Usage,
    /// Wall time of the call.
    pub latency_ms: u64,
    /// "ok" or a short error class.
    pub outcome: String,
    /// When it finished.
    pub created_at: DateTime<Utc>,
}

crate::string_enum! {
    /// Who wrote a chat message.
    pub enum ChatRole as "chat role" {
        /// The reviewer.
        User = "user",
        /// The model (or the notice that no model is configured).
        Assistant = "assistant",
    }
}

/// One message of the conversation about a document.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    /// Stable id.
    pub id: String,
    /// The document talked about.
    pub document_id: DocumentId,
    /// Who wrote it.
    pub role: ChatRole,
    /// What was said.
    pub content: String,
    /// The section in view when it was written.
    pub section_id: Option<SectionId>,
    /// The model that wrote an assistant message.
    pub model: Option<String>,
    /// Sections the reply relies on.
    pub citations: Vec<SectionId>,
    /// When.
    pub created_at: DateTime<Utc>,
}
