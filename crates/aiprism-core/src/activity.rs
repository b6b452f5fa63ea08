//! The audit trail: who did what to which document, and when.

use chrono::{DateTime, Utc};

use crate::ids::{DocumentId, UserId};

crate::string_enum! {
    /// What happened. One spelling for the database, the API and the CSV export.
    pub enum ActivityAction as "activity action" {
        /// A document was uploaded.
        DocumentUploaded = "document_uploaded",
        /// A document and its data were deleted.
        DocumentDeleted = "document_deleted",
        /// A review was started.
        ReviewStarted = "review_started",
        /// A review reached a terminal state.
        ReviewFinished = "review_finished",
        /// A review was cancelled.
        ReviewCancelled = "review_cancelled",
        /// A finding was accepted.
        FindingAccepted = "finding_accepted",
        /// A finding was rejected.
        FindingRejected = "finding_rejected",
        /// A finding went back to pending.
        FindingReverted = "finding_reverted",
        /// A finding's text was edited.
        FindingEdited = "finding_edited",
        /// A reviewer comment or highlight was added.
        CommentAdded = "comment_added",
        /// A reviewer comment was deleted.
        CommentDeleted = "comment_deleted",
        /// Every decision of the document was reset.
        DecisionsReset = "decisions_reset",
        /// A chat message was sent (and answered).
        ChatMessage = "chat_message",
        /// An export was produced.
        ExportCreated = "export_created",
    }
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    /// Monotonic id (order of entry).
    pub id: i64,
    /// The document it concerns, if any.
    pub document_id: Option<DocumentId>,
    /// The document's owner (entries are scoped like documents).
    pub owner: UserId,
    /// Who did it.
    pub actor_id: UserId,
    /// Their name at the time.
    pub actor_name: String,
    /// What happened.
    pub action: ActivityAction,
    /// Details (ids, previews, counts), as JSON.
    pub details: serde_json::Value,
    /// When.
    pub at: DateTime<Utc>,
}
