//! Documents and their sections as the rest of the system sees them, independent of the file format
//! they were read from.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{DocumentId, SectionId, UserId};

crate::string_enum! {
    /// The format an upload was read as.
    pub enum DocumentFormat as "document format" {
        /// Office Open XML word-processing document (.docx, .docm, .dotx).
        Docx = "docx",
        /// Markdown.
        Markdown = "md",
        /// Plain text.
        Text = "txt",
        /// Portable Document Format.
        Pdf = "pdf",
    }
}

impl DocumentFormat {
    /// The media type used when serving the original back.
    pub fn media_type(self) -> &'static str {
        match self {
            DocumentFormat::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            DocumentFormat::Markdown => "text/markdown; charset=utf-8",
            DocumentFormat::Text => "text/plain; charset=utf-8",
            DocumentFormat::Pdf => "application/pdf",
        }
    }
}

/// An optional guidelines document uploaded with a document; its text is given to the model as context.
#[derive(Debug, Clone, PartialEq)]
pub struct GuidelinesMeta {
    /// The name it was uploaded under.
    pub filename: String,
    /// Where the original bytes live in the object store.
    pub object_key: String,
    /// The text read from it (what the model sees).
    pub text: String,
}

/// A stored document's metadata (its sections are stored beside it).
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentMeta {
    /// Stable id.
    pub id: DocumentId,
    /// Who uploaded it; every read is scoped by this.
    pub owner: UserId,
    /// The name it was uploaded under (display only, never used as a path).
    pub filename: String,
    /// The format it was read as.
    pub format: DocumentFormat,
    /// Size of the original upload.
    pub size_bytes: u64,
    /// Lower-case hex sha256 of the original upload.
    pub sha256: String,
    /// Where the unchanged original lives in the object store.
    pub object_key: String,
    /// The review framework chosen for it.
    pub framework: String,
    /// A free-form document type given at upload ("incident write-up", ...).
    pub document_type: Option<String>,
    /// The guidelines document uploaded with it, if any.
    pub guidelines: Option<GuidelinesMeta>,
    /// Upload time.
    pub created_at: DateTime<Utc>,
}

/// Where one paragraph's text sits inside its section's `text`, so a quote found in the section text
/// can be mapped back to a paragraph locator and a character range for anchoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParagraphSpan {
    /// The paragraph's locator (its position among all paragraphs of the main document part).
    pub paragraph: u32,
    /// Offset, in characters, of the paragraph's first character within the section text.
    pub start: u32,
    /// Offset, in characters, one past the paragraph's last character within the section text.
    pub end: u32,
}

/// One section of a document: a heading and the body that follows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Stable id.
    pub id: SectionId,
    /// The document it belongs to.
    pub document_id: DocumentId,
    /// Position in document order, from 0.
    pub index: u32,
    /// The heading text (a synthetic title for text before the first heading).
    pub title: String,
    /// Outline level: 1 for top-level headings, 0 for a section without a heading.
    pub level: u8,
    /// The body without its heading: paragraphs joined by a newline.
    pub text: String,
    /// The first paragraph locator the section covers (its heading when it has one).
    pub paragraph_start: u32,
    /// The last paragraph locator the section covers.
    pub paragraph_end: u32,
    /// The heading paragraph's locator, where comments without a quote are anchored.
    pub heading_paragraph: Option<u32>,
    /// Kept in the text but not reviewed (a quoted e-mail thread, for instance), with the reason.
    pub excluded_reason: Option<String>,
    /// Where each body paragraph sits in `text`.
    pub paragraphs: Vec<ParagraphSpan>,
}

impl Section {
    /// Whether the review engine should look at this section at all.
    pub fn is_reviewable(&self) -> bool {
        self.excluded_reason.is_none()
    }

    /// Maps a character range of `text` to the paragraph it lies in and the range within that
    /// paragraph. A range crossing a paragraph boundary is clipped to its first paragraph, because a Word
    /// comment anchored by this mapping must start and end inside real text.
    pub fn locate(&self, start: u32, end: u32) -> Option<crate::finding::Anchor> {
        let span = self
            .paragraphs
            .iter()
            .find(|p| start >= p.start && start < p.end)?;
        Some(crate::finding::Anchor {
            paragraph: span.paragraph,
            start: start - span.start,
            end: end.min(span.end) - span.start,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section() -> Section {
        Section {
            id: SectionId::new("sec_1"),
            document_id: DocumentId::new("doc_1"),
            index: 0,
            title: "Timeline".into(),
            level: 1,
            text: "first line\nsecond line".into(),
            paragraph_start: 3,
            paragraph_end: 5,
            heading_paragraph: Some(3),
            excluded_reason: None,
            paragraphs: vec![
                ParagraphSpan {
                    paragraph: 4,
                    start: 0,
                    end: 10,
                },
                ParagraphSpan {
                    paragraph: 5,
                    start: 11,
                    end: 22,
                },
            ],
        }
    }

    #[test]
    fn locate_maps_a_range_to_its_paragraph() {
        let anchor = section().locate(11, 17).unwrap();
        assert_eq!((anchor.paragraph, anchor.start, anchor.end), (5, 0, 6));
    }

    #[test]
    fn locate_clips_a_range_that_crosses_paragraphs() {
        let anchor = section().locate(6, 17).unwrap();
        assert_eq!((anchor.paragraph, anchor.start, anchor.end), (4, 6, 10));
    }

    #[test]
    fn locate_finds_nothing_in_the_separator() {
        assert!(section().locate(10, 11).is_none());
    }

    #[test]
    fn formats_parse_from_their_api_spelling() {
        assert_eq!("md".parse::<DocumentFormat>().unwrap(), DocumentFormat::Markdown);
        assert!("doc".parse::<DocumentFormat>().is_err());
    }
}
