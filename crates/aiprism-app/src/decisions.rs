//! What the reviewer does all day: accept, reject or revert findings, edit them, add comments and
//! highlights of their own, reset everything. Every change is stored at once with its audit entry.

use aiprism_core::{
    Activity, ActivityAction, DocumentId, Finding, FindingId, FindingSource, FindingStatus, FindingType,
    Risk, Scope, SectionId, User, char_slice, find_quote,
};
use aiprism_store::{Actor, DeleteOutcome, FindingEdit, NewActivity};

use crate::{App, AppError};

/// Longest comment or edited text accepted.
const MAX_TEXT: usize = 10_000;

/// Colours a highlight may have (the UI offers these; anything else is refused rather than stored).
pub const HIGHLIGHT_COLORS: &[&str] = &["yellow", "green", "blue", "red", "gray", "purple", "orange"];

/// A reviewer's own comment: on a section, on a highlighted span (`quote`), or in reply to a finding.
#[derive(Debug, Clone)]
pub struct NewComment {
    /// The section it is about.
    pub section_id: SectionId,
    /// What the reviewer says.
    pub text: String,
    /// How it should be read (suggestion by default).
    pub finding_type: Option<FindingType>,
    /// Its category ("Reviewer comment" by default).
    pub category: Option<String>,
    /// The exact text it is about, if any.
    pub quote: Option<String>,
    /// Highlight colour for a highlighted span.
    pub highlight_color: Option<String>,
    /// The finding it replies to.
    pub parent_id: Option<FindingId>,
    /// Risk (low by default).
    pub risk: Option<Risk>,
}

fn check_text(field: &str, text: &str, allow_empty: bool) -> Result<(), AppError> {
    if !allow_empty && text.trim().is_empty() {
        return Err(AppError::invalid(
            "empty_text",
            format!("`{field}` cannot be empty."),
        ));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(AppError::invalid(
            "text_too_long",
            format!("`{field}` is longer than {MAX_TEXT} characters."),
        ));
    }
    Ok(())
}

fn check_color(color: &str) -> Result<(), AppError> {
    if HIGHLIGHT_COLORS.contains(&color) {
        Ok(())
    } else {
        Err(AppError::invalid(
            "invalid_highlight_color",
            format!(
                "The highlight colour must be one of: {}.",
                HIGHLIGHT_COLORS.join(", ")
            ),
        ))
    }
}

impl App {
    /// Accepts, rejects or reverts a finding (with an optional note).
    pub async fn decide(
        &self,
        user: &User,
        id: &FindingId,
        status: FindingStatus,
        note: Option<&str>,
    ) -> Result<Finding, AppError> {
        if let Some(note) = note {
            check_text("note", note, true)?;
        }
        self.store
            .decide(&Scope::of(user), id, status, note, &Actor::from(user))
            .await?
            .ok_or(AppError::NotFound { what: "finding" })
    }

    /// Changes a finding's text (any source), marking it edited.
    pub async fn edit_finding(
        &self,
        user: &User,
        id: &FindingId,
        edit: FindingEdit,
    ) -> Result<Finding, AppError> {
        for (field, value) in [
            ("description", &edit.description),
            ("suggestion", &edit.suggestion),
            ("example", &edit.example),
            ("category", &edit.category),
        ] {
            if let Some(v) = value {
                check_text(field, v, field != "description" && field != "category")?;
            }
        }
        if let Some(questions) = &edit.questions {
            for q in questions {
                check_text("questions", q, false)?;
            }
        }
        if let Some(color) = &edit.highlight_color {
            check_color(color)?;
        }
        self.store
            .edit_finding(&Scope::of(user), id, &edit, &Actor::from(user))
            .await?
            .ok_or(AppError::NotFound { what: "finding" })
    }

    /// Adds a reviewer comment, accepted from the start (it is the reviewer's own word). A quote must be
    /// text of the section; it is anchored exactly there.
    pub async fn add_comment(
        &self,
        user: &User,
        document: &DocumentId,
        comment: NewComment,
    ) -> Result<Finding, AppError> {
        check_text("text", &comment.text, false)?;
        if let Some(color) = &comment.highlight_color {
            check_color(color)?;
        }
        let view = self.document(user, document).await?;
        let section = view
            .sections
            .iter()
            .find(|s| s.id == comment.section_id)
            .ok_or_else(|| {
                AppError::invalid(
                    "unknown_section",
                    format!("Section {} is not part of this document.", comment.section_id),
                )
            })?;
        if let Some(parent) = &comment.parent_id {
            let parent = self.store.finding(&Scope::of(user), parent).await?;
            if parent.is_none_or(|p| p.document_id != view.meta.id) {
                return Err(AppError::invalid(
                    "unknown_parent",
                    "The finding replied to is not part of this document.",
                ));
            }
        }
        let (quote, anchor) = match comment.quote.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            Some(q) => {
                let found = find_quote(&section.text, q).ok_or_else(|| {
                    AppError::invalid("quote_not_found", "The highlighted text is not in this section.")
                })?;
                let exact = char_slice(&section.text, found.start, found.end)
                    .unwrap_or(q)
                    .to_string();
                (exact, section.locate(found.start, found.end))
            }
            None => (String::new(), None),
        };
        let now = aiprism_core::now();
        let finding = Finding {
            id: FindingId::generate(),
            document_id: view.meta.id.clone(),
            review_id: None,
            section_id: section.id.clone(),
            source: FindingSource::Reviewer,
            rule_id: None,
            model: None,
            finding_type: comment.finding_type.unwrap_or(FindingType::Suggestion),
            category: comment
                .category
                .filter(|c| !c.trim().is_empty())
                .unwrap_or_else(|| "Reviewer comment".into()),
            description: comment.text.trim().to_string(),
            suggestion: String::new(),
            example: String::new(),
            questions: Vec::new(),
            checkpoints: Vec::new(),
            risk: comment.risk.unwrap_or(Risk::Low),
            confidence: 1.0,
            quote,
            anchor,
            replacement: None,
            highlight_color: comment.highlight_color,
            parent_id: comment.parent_id,
            status: FindingStatus::Accepted,
            note: None,
            edited: false,
            created_at: now,
            decided_at: Some(now),
        };
        self.store
            .add_reviewer_finding(&finding, &Actor::from(user))
            .await?;
        Ok(finding)
    }

    /// Deletes a reviewer comment; rule and model findings are rejected instead (409).
    pub async fn delete_comment(&self, user: &User, id: &FindingId) -> Result<(), AppError> {
        match self
            .store
            .delete_reviewer_finding(&Scope::of(user), id, &Actor::from(user))
            .await?
        {
            DeleteOutcome::Deleted => Ok(()),
            DeleteOutcome::NotFound => Err(AppError::NotFound { what: "finding" }),
            DeleteOutcome::NotReviewers => Err(AppError::Conflict {
                message: "Only reviewer comments can be deleted; reject a rule or model finding instead."
                    .into(),
            }),
        }
    }

    /// Puts every rule and model finding of a document back to pending; reviewer comments survive.
    pub async fn reset_decisions(&self, user: &User, document: &DocumentId) -> Result<u64, AppError> {
        self.store
            .reset_decisions(&Scope::of(user), document, &Actor::from(user))
            .await?
            .ok_or(AppError::NotFound { what: "document" })
    }

    /// A document's audit trail (also after the document was deleted).
    pub async fn activity(&self, user: &User, document: &DocumentId) -> Result<Vec<Activity>, AppError> {
        let entries = self.store.activity(&Scope::of(user), document).await?;
        if entries.is_empty() && self.store.document(&Scope::of(user), document).await?.is_none() {
            return Err(AppError::NotFound { what: "document" });
        }
        Ok(entries)
    }

    /// The user's newest audit entries across all their documents (everyone's for admins), newest first;
    /// `limit` is clamped to 1..=1000.
    pub async fn recent_activity(&self, user: &User, limit: u32) -> Result<Vec<Activity>, AppError> {
        Ok(self
            .store
            .recent_activity(&Scope::of(user), limit.clamp(1, 1000))
            .await?)
    }

    /// Appends to the audit trail; a failure is logged, never shown (the action itself succeeded).
    pub(crate) async fn record(
        &self,
        user: &User,
        owner: &aiprism_core::UserId,
        document: Option<&DocumentId>,
        action: ActivityAction,
        details: serde_json::Value,
    ) {
        let entry = NewActivity {
            document_id: document.cloned(),
            owner: owner.clone(),
            actor: Actor::from(user),
            action,
            details,
        };
        if let Err(e) = self.store.record_activity(&entry).await {
            tracing::warn!(error = %e, action = action.as_str(), "could not record activity");
        }
    }
}
