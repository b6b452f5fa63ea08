//! The JSON shapes of `API.md`, kept apart from the domain types so a refactor of the domain cannot change
//! the wire contract by accident. Public so the CLI's reports use exactly the API's shapes.

use aiprism_app::DocumentView;
use aiprism_core::{DocumentMeta, Section};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

/// RFC 3339 UTC with milliseconds, the API's one time format.
pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `Section` in API.md.
#[derive(Serialize)]
pub struct SectionDto {
    id: String,
    index: u32,
    title: String,
    level: u8,
    text: String,
    paragraph_start: u32,
    paragraph_end: u32,
    heading_paragraph: Option<u32>,
    /// Why the section is kept out of review (e.g. a quoted e-mail thread), or null.
    excluded_from_review: Option<String>,
}

impl From<Section> for SectionDto {
    fn from(s: Section) -> Self {
        Self {
            id: s.id.into_string(),
            index: s.index,
            title: s.title,
            level: s.level,
            text: s.text,
            paragraph_start: s.paragraph_start,
            paragraph_end: s.paragraph_end,
            heading_paragraph: s.heading_paragraph,
            excluded_from_review: s.excluded_reason,
        }
    }
}

/// The guidelines document uploaded with a document.
#[derive(Serialize)]
pub struct GuidelinesDto {
    filename: String,
    characters: usize,
}

/// `Document` in API.md.
#[derive(Serialize)]
pub struct DocumentDto {
    id: String,
    filename: String,
    format: &'static str,
    size_bytes: u64,
    sha256: String,
    created_at: String,
    framework: String,
    document_type: Option<String>,
    guidelines: Option<GuidelinesDto>,
    sections: Vec<SectionDto>,
    review: Option<ReviewDto>,
}

impl DocumentDto {
    /// The document with its latest review, if any.
    pub fn new(view: DocumentView, review: Option<aiprism_core::Review>) -> Self {
        let mut dto = Self::from(view);
        dto.review = review.map(ReviewDto::from);
        dto
    }
}

impl From<DocumentView> for DocumentDto {
    fn from(view: DocumentView) -> Self {
        let DocumentView { meta, sections } = view;
        Self {
            id: meta.id.into_string(),
            filename: meta.filename,
            format: meta.format.as_str(),
            size_bytes: meta.size_bytes,
            sha256: meta.sha256,
            created_at: time(meta.created_at),
            framework: meta.framework,
            document_type: meta.document_type,
            guidelines: meta.guidelines.map(|g| GuidelinesDto {
                filename: g.filename,
                characters: g.text.chars().count(),
            }),
            sections: sections.into_iter().map(SectionDto::from).collect(),
            review: None,
        }
    }
}

/// `DocumentSummary`: a document in the list, without section bodies.
#[derive(Serialize)]
pub struct DocumentSummaryDto {
    id: String,
    filename: String,
    format: &'static str,
    size_bytes: u64,
    created_at: String,
    framework: String,
    section_count: u32,
}

impl DocumentSummaryDto {
    /// A list entry for a document.
    pub fn new(meta: DocumentMeta, section_count: u32) -> Self {
        Self {
            id: meta.id.into_string(),
            filename: meta.filename,
            format: meta.format.as_str(),
            size_bytes: meta.size_bytes,
            created_at: time(meta.created_at),
            framework: meta.framework,
            section_count,
        }
    }
}

/// `Review` in API.md.
#[derive(Serialize)]
pub struct ReviewDto {
    id: String,
    document_id: String,
    framework: String,
    status: &'static str,
    progress: ProgressDto,
    models_used: Vec<String>,
    usage: UsageDto,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    notice: Option<String>,
    created_at: String,
    finished_at: Option<String>,
}

#[derive(Serialize)]
struct ProgressDto {
    sections_done: u32,
    sections_total: u32,
}

/// Tokens and money, as in `Review.usage`.
#[derive(Serialize)]
pub struct UsageDto {
    input_tokens: u64,
    output_tokens: u64,
    cached_tokens: u64,
    cost_usd: f64,
}

impl From<aiprism_core::Usage> for UsageDto {
    fn from(u: aiprism_core::Usage) -> Self {
        Self {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            cached_tokens: u.cached_tokens,
            cost_usd: (u.cost_usd * 1_000_000.0).round() / 1_000_000.0,
        }
    }
}

impl From<aiprism_core::Review> for ReviewDto {
    fn from(r: aiprism_core::Review) -> Self {
        Self {
            id: r.id.into_string(),
            document_id: r.document_id.into_string(),
            framework: r.framework,
            status: r.status.as_str(),
            progress: ProgressDto {
                sections_done: r.progress.sections_done,
                sections_total: r.progress.sections_total,
            },
            models_used: r.models_used,
            usage: r.usage.into(),
            error: r.error,
            notice: r.notice,
            created_at: time(r.created_at),
            finished_at: r.finished_at.map(time),
        }
    }
}

/// f32 → f64 without the binary noise (0.8 stays 0.8 in JSON).
fn round3(x: f32) -> f64 {
    (f64::from(x) * 1000.0).round() / 1000.0
}

impl FindingDto {
    /// A finding as the reviewer sees it, with learning's calibration.
    pub fn shown(shown: aiprism_app::learning::ShownFinding) -> Self {
        let calibration = shown.calibration;
        let mut dto = Self::from(shown.finding);
        dto.confidence = round3(calibration.confidence);
        dto.downranked = calibration.downranked;
        dto
    }
}

/// `Finding` in API.md.
#[derive(Serialize)]
pub struct FindingDto {
    id: String,
    document_id: String,
    section_id: String,
    review_id: Option<String>,
    source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<String>,
    #[serde(rename = "type")]
    finding_type: &'static str,
    category: String,
    description: String,
    suggestion: String,
    example: String,
    questions: Vec<String>,
    checkpoints: Vec<String>,
    risk: &'static str,
    /// The confidence shown: the producer's, calibrated by the reviewer's past decisions.
    confidence: f64,
    /// What the producer (rule or model) said.
    raw_confidence: f64,
    /// Whether the reviewer keeps rejecting findings of this category (the view lists them last).
    downranked: bool,
    quote: String,
    anchor: Option<AnchorDto>,
    replacement: Option<String>,
    highlight_color: Option<String>,
    parent_id: Option<String>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    edited: bool,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    decided_at: Option<String>,
}

#[derive(Serialize)]
struct AnchorDto {
    paragraph: u32,
    start: u32,
    end: u32,
}

impl From<aiprism_core::Finding> for FindingDto {
    fn from(f: aiprism_core::Finding) -> Self {
        Self {
            id: f.id.into_string(),
            document_id: f.document_id.into_string(),
            section_id: f.section_id.into_string(),
            review_id: f.review_id.map(aiprism_core::ReviewId::into_string),
            source: f.source.as_str(),
            rule_id: f.rule_id,
            model: f.model,
            finding_type: f.finding_type.as_str(),
            category: f.category,
            description: f.description,
            suggestion: f.suggestion,
            example: f.example,
            questions: f.questions,
            checkpoints: f.checkpoints,
            risk: f.risk.as_str(),
            confidence: round3(f.confidence),
            raw_confidence: round3(f.confidence),
            downranked: false,
            quote: f.quote,
            anchor: f.anchor.map(|a| AnchorDto {
                paragraph: a.paragraph,
                start: a.start,
                end: a.end,
            }),
            replacement: f.replacement,
            highlight_color: f.highlight_color,
            parent_id: f.parent_id.map(aiprism_core::FindingId::into_string),
            status: f.status.as_str(),
            note: f.note,
            edited: f.edited,
            created_at: time(f.created_at),
            decided_at: f.decided_at.map(time),
        }
    }
}
