//! The JSON shapes of `API.md`, kept apart from the domain types so a refactor of the domain cannot change
//! the wire contract by accident.

use aiprism_app::DocumentView;
use aiprism_core::{DocumentMeta, Section};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

/// RFC 3339 UTC with milliseconds, the API's one time format.
pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `Section` in API.md.
#[derive(Serialize)]
pub(crate) struct SectionDto {
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
pub(crate) struct GuidelinesDto {
    filename: String,
    characters: usize,
}

/// `Document` in API.md.
#[derive(Serialize)]
pub(crate) struct DocumentDto {
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
    review: Option<serde_json::Value>,
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
pub(crate) struct DocumentSummaryDto {
    id: String,
    filename: String,
    format: &'static str,
    size_bytes: u64,
    created_at: String,
    framework: String,
    section_count: u32,
}

impl DocumentSummaryDto {
    pub(crate) fn new(meta: DocumentMeta, section_count: u32) -> Self {
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
