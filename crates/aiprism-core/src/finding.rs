//! Findings: what a rule, a model or a reviewer says about a piece of a section, and the reviewer's
//! decision on it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{DocumentId, FindingId, ReviewId, SectionId};

crate::string_enum! {
    /// Who produced a finding.
    pub enum FindingSource as "finding source" {
        /// A deterministic rule of the framework.
        Rule = "rule",
        /// A language model.
        Model = "model",
        /// The reviewer (a comment or highlight of their own).
        Reviewer = "reviewer",
    }
}

crate::string_enum! {
    /// How a finding should be read.
    pub enum FindingType as "finding type" {
        /// Must be fixed before the write-up can go out.
        Critical = "critical",
        /// Should be fixed.
        Important = "important",
        /// Would make it better.
        Suggestion = "suggestion",
        /// Something done well.
        Positive = "positive",
    }
}

crate::string_enum! {
    /// The risk of leaving a finding unaddressed.
    pub enum Risk as "risk" {
        /// High risk.
        High = "high",
        /// Medium risk.
        Medium = "medium",
        /// Low risk.
        Low = "low",
    }
}

impl Risk {
    /// Orders risks so that `High` ranks first.
    pub fn rank(self) -> u8 {
        match self {
            Risk::High => 3,
            Risk::Medium => 2,
            Risk::Low => 1,
        }
    }
}

crate::string_enum! {
    /// The reviewer's decision. A finding has exactly one.
    pub enum FindingStatus as "finding status" {
        /// Not decided yet.
        Pending = "pending",
        /// Goes into the reviewed document.
        Accepted = "accepted",
        /// Dropped.
        Rejected = "rejected",
    }
}

/// Where a finding's quote sits in the original document: a paragraph locator and a character range
/// within that paragraph's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// Paragraph locator (position among all paragraphs of the main part).
    pub paragraph: u32,
    /// First character of the quote within the paragraph text.
    pub start: u32,
    /// One past the last character of the quote.
    pub end: u32,
}

/// One finding on one section.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Stable id.
    pub id: FindingId,
    /// The document it is about.
    pub document_id: DocumentId,
    /// The review that produced it (none for reviewer comments).
    pub review_id: Option<ReviewId>,
    /// The section it is about.
    pub section_id: SectionId,
    /// Who produced it.
    pub source: FindingSource,
    /// The rule that produced it, for rule findings.
    pub rule_id: Option<String>,
    /// The model that produced it, for model findings.
    pub model: Option<String>,
    /// How to read it.
    pub finding_type: FindingType,
    /// A short category ("Timeline", "Root cause", ...).
    pub category: String,
    /// What is wrong (or right).
    pub description: String,
    /// What to do about it.
    pub suggestion: String,
    /// An example of better wording, if any.
    pub example: String,
    /// Questions the author should answer.
    pub questions: Vec<String>,
    /// Framework checkpoint ids it relates to.
    pub checkpoints: Vec<String>,
    /// Risk of leaving it.
    pub risk: Risk,
    /// How sure the producer is, 0.0 to 1.0.
    pub confidence: f32,
    /// The exact text it is about (empty when it is about the section as a whole).
    pub quote: String,
    /// Where the quote is in the original document.
    pub anchor: Option<Anchor>,
    /// A concrete replacement for the quote, when the finding proposes one (can become a tracked change).
    pub replacement: Option<String>,
    /// A highlight colour, for reviewer comments on a highlighted span.
    pub highlight_color: Option<String>,
    /// The finding a reviewer comment replies to.
    pub parent_id: Option<FindingId>,
    /// The reviewer's decision.
    pub status: FindingStatus,
    /// The reviewer's note on the decision.
    pub note: Option<String>,
    /// Whether a reviewer edited its text.
    pub edited: bool,
    /// When it was produced.
    pub created_at: DateTime<Utc>,
    /// When it was last decided.
    pub decided_at: Option<DateTime<Utc>>,
}
