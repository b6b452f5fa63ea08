//! Turning an upload's bytes into the domain's document model: read with `aiprism-docx`, then give every
//! section an id. Pure apart from the CPU time, which callers move off the async runtime.

use aiprism_core::{DocumentFormat, DocumentId, ParagraphSpan, Section, SectionId};
use aiprism_docx::{ErrorClass, Limits, ParsedDocument, ReadError, SourceFormat};

use crate::AppError;

/// The parts of a read document the application keeps.
pub(crate) struct Ingested {
    pub format: DocumentFormat,
    pub sections: Vec<Section>,
    pub text: String,
}

/// Reads an upload and turns its sections into domain sections of `document`.
pub(crate) fn ingest(
    bytes: &[u8],
    filename: &str,
    max_bytes: u64,
    document: &DocumentId,
) -> Result<Ingested, AppError> {
    let limits = Limits {
        max_bytes,
        ..Limits::default()
    };
    let parsed = aiprism_docx::read(bytes, filename, &limits).map_err(read_error)?;
    Ok(to_domain(&parsed, document))
}

fn to_domain(parsed: &ParsedDocument, document: &DocumentId) -> Ingested {
    let format = match parsed.format {
        SourceFormat::Docx => DocumentFormat::Docx,
        SourceFormat::Markdown => DocumentFormat::Markdown,
        SourceFormat::Text => DocumentFormat::Text,
    };
    let sections: Vec<Section> = parsed
        .sections
        .iter()
        .enumerate()
        .map(|(index, s)| Section {
            id: SectionId::generate(),
            document_id: document.clone(),
            index: u32::try_from(index).unwrap_or(u32::MAX),
            title: s.title.clone(),
            level: s.level,
            text: s.text.clone(),
            paragraph_start: s.paragraph_start,
            // The reader's range is half-open; the API's is inclusive.
            paragraph_end: s.paragraph_end.saturating_sub(1).max(s.paragraph_start),
            heading_paragraph: s.heading_paragraph,
            excluded_reason: s.excluded_reason.clone(),
            paragraphs: s
                .spans
                .iter()
                .map(|p| ParagraphSpan {
                    paragraph: p.paragraph,
                    start: p.start,
                    end: p.end,
                })
                .collect(),
        })
        .collect();
    let text = parsed
        .sections
        .iter()
        .flat_map(|s| [s.title.as_str(), s.text.as_str()])
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    Ingested {
        format,
        sections,
        text,
    }
}

/// Maps a reader error to the HTTP-facing error, keeping the reader's message (written for people).
pub(crate) fn read_error(e: ReadError) -> AppError {
    tracing::info!(detail = %e.detail(), "upload refused");
    let message = e.to_string();
    match e.class() {
        ErrorClass::TooLarge => AppError::TooLarge { message },
        ErrorClass::Unsupported => AppError::Unsupported { message },
        ErrorClass::Invalid => AppError::invalid("unreadable_document", message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_sections_get_ids_and_inclusive_paragraph_ranges() {
        let doc = DocumentId::new("doc_t");
        let ingested = ingest(
            b"# Summary\n\nIt broke.\n\n# Timeline\n\n10:00 alert\n\n10:05 fix\n",
            "x.md",
            1 << 20,
            &doc,
        )
        .unwrap();
        assert_eq!(ingested.format, DocumentFormat::Markdown);
        let titles: Vec<_> = ingested.sections.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(titles, ["Summary", "Timeline"]);
        let timeline = &ingested.sections[1];
        assert_eq!(timeline.index, 1);
        assert!(timeline.paragraph_start <= timeline.paragraph_end);
        assert_eq!(timeline.text, "10:00 alert\n10:05 fix");
        let anchor = timeline.locate(12, 17).unwrap();
        assert_eq!(anchor.start, 0);
        assert_eq!(anchor.end, 5);
    }

    #[test]
    fn a_legacy_doc_is_unsupported_media() {
        let mut bytes = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        bytes.extend(std::iter::repeat_n(0u8, 600));
        let err = ingest(&bytes, "old.doc", 1 << 20, &DocumentId::new("d"))
            .err()
            .unwrap();
        assert!(
            matches!(err, AppError::Unsupported { .. } | AppError::Invalid { .. }),
            "{err:?}"
        );
    }
}
