//! Why a document could not be read, in words a person who uploaded it understands.

use thiserror::Error;

/// How the caller should answer a failed read: the three kinds map onto HTTP statuses
/// (415, 422, 413) so the upload endpoint does not have to know every error variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ErrorClass {
    /// A kind of file we do not read (legacy .doc, PDF for now, unknown binary): HTTP 415.
    Unsupported,
    /// A file of a kind we read but that is broken, encrypted or unsafe: HTTP 422.
    Invalid,
    /// Over a size limit (upload size, zip-bomb limits): HTTP 413.
    TooLarge,
}

/// Everything that can stop a read. The `Display` text is meant for the person who uploaded the
/// file; the variant fields carry the technical detail for logs.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadError {
    /// The upload is bigger than [`crate::Limits::max_bytes`].
    #[error(
        "This file is too large ({size} bytes; the limit is {limit} bytes). Split it or remove large \
         pictures and upload it again."
    )]
    FileTooLarge {
        /// Size of the upload in bytes.
        size: u64,
        /// The configured limit in bytes.
        limit: u64,
    },
    /// The package has more entries than [`crate::Limits::max_entries`] (a zip-bomb sign).
    #[error(
        "This Word file contains too many internal parts ({count}; the limit is {limit}) and cannot be \
         read safely."
    )]
    TooManyEntries {
        /// Number of entries in the zip directory.
        count: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Decompressing the package produced more than [`crate::Limits::max_total_uncompressed`] bytes.
    #[error(
        "This Word file expands to more than {limit} bytes when opened and cannot be read safely \
         (it looks like a \"zip bomb\")."
    )]
    UncompressedTooLarge {
        /// The configured limit in bytes.
        limit: u64,
    },
    /// One entry decompresses far more than [`crate::Limits::max_ratio`] times its stored size.
    #[error(
        "This Word file contains a part that is compressed suspiciously well (more than {limit} to 1) \
         and cannot be read safely (it looks like a \"zip bomb\")."
    )]
    CompressionRatio {
        /// The entry's name inside the package.
        entry: String,
        /// The configured ratio limit.
        limit: u64,
    },
    /// More paragraphs than any real document has (see [`crate::MAX_PARAGRAPHS`]): the model
    /// would take far more memory than the upload suggests.
    #[error(
        "This document has too many paragraphs (more than {limit}) to be reviewed; split it into \
         smaller documents."
    )]
    TooManyParagraphs {
        /// The paragraph limit.
        limit: usize,
    },
    /// An OLE2 container holding an encrypted OOXML package, or a zip entry with zip encryption.
    #[error(
        "This file is a password-protected Word document; remove the password in Word and upload it \
         again."
    )]
    Encrypted,
    /// An OLE2 compound file that is not an encrypted package: Word 97-2003 binary format.
    #[error("This is a legacy Word 97-2003 .doc file; save it as .docx and upload it again.")]
    LegacyDoc,
    /// A PDF: not read yet.
    #[error("PDF files are not supported yet; upload the original Word (.docx), Markdown or text file.")]
    Pdf,
    /// Bytes that are neither a Word package, Markdown nor text.
    #[error(
        "This file type is not supported. Upload a Word document (.docx), a Markdown file (.md) or a \
         plain text file (.txt)."
    )]
    UnknownFormat,
    /// A .docx name but not a zip at all.
    #[error("This file is named like a Word document but is not one (it is damaged or of another type).")]
    NotAZip,
    /// The zip structure is damaged: truncated, bad checksums, overlapping entries, ...
    #[error(
        "This Word file is damaged and cannot be opened ({detail}). Open it in Word, save it again and \
         upload the new copy."
    )]
    CorruptZip {
        /// What the zip reader found wrong.
        detail: String,
    },
    /// The package has no main document part (no officeDocument relationship, or it is missing).
    #[error("This file does not contain a Word document body (it may be damaged or another Office file).")]
    NoMainPart,
    /// The officeDocument part exists but is not a WordprocessingML document (e.g. a theme or sheet).
    #[error("This file is an Office package but not a Word document; upload a .docx file.")]
    NotWordDocument {
        /// The part the package names as its main document.
        part: String,
    },
    /// An XML part declares a DTD / entities: refused (XXE and entity-expansion protection).
    #[error(
        "This Word file contains unsafe internal declarations (a DTD) and was refused. Save it again \
         from Word and upload the new copy."
    )]
    DtdForbidden {
        /// The part that declared a DTD.
        part: String,
    },
    /// An XML part we read is not well-formed.
    #[error(
        "This Word file is damaged: part of its content cannot be read ({part}). Open it in Word, save \
         it again and upload the new copy."
    )]
    MalformedXml {
        /// The part name.
        part: String,
        /// The XML parser's message.
        detail: String,
    },
}

impl ReadError {
    /// The HTTP-ish class of this error, so callers can pick 413/415/422 without matching variants.
    pub fn class(&self) -> ErrorClass {
        match self {
            ReadError::FileTooLarge { .. }
            | ReadError::TooManyEntries { .. }
            | ReadError::UncompressedTooLarge { .. }
            | ReadError::CompressionRatio { .. }
            | ReadError::TooManyParagraphs { .. } => ErrorClass::TooLarge,
            ReadError::LegacyDoc | ReadError::Pdf | ReadError::UnknownFormat => ErrorClass::Unsupported,
            ReadError::Encrypted
            | ReadError::NotAZip
            | ReadError::CorruptZip { .. }
            | ReadError::NoMainPart
            | ReadError::NotWordDocument { .. }
            | ReadError::DtdForbidden { .. }
            | ReadError::MalformedXml { .. } => ErrorClass::Invalid,
        }
    }

    /// Technical detail for logs (the `Display` text is for people and hides it).
    pub fn detail(&self) -> String {
        match self {
            ReadError::CorruptZip { detail } => format!("corrupt zip: {detail}"),
            ReadError::MalformedXml { part, detail } => format!("malformed XML in {part}: {detail}"),
            ReadError::DtdForbidden { part } => format!("DTD/entity declaration in {part}"),
            ReadError::NotWordDocument { part } => format!("main part {part} is not a w:document"),
            ReadError::CompressionRatio { entry, limit } => {
                format!("entry {entry} exceeds compression ratio {limit}")
            }
            other => format!("{other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_map_to_http_kinds() {
        assert_eq!(ReadError::LegacyDoc.class(), ErrorClass::Unsupported);
        assert_eq!(ReadError::Pdf.class(), ErrorClass::Unsupported);
        assert_eq!(ReadError::Encrypted.class(), ErrorClass::Invalid);
        assert_eq!(ReadError::NoMainPart.class(), ErrorClass::Invalid);
        assert_eq!(
            ReadError::UncompressedTooLarge { limit: 1 }.class(),
            ErrorClass::TooLarge
        );
        assert_eq!(
            ReadError::FileTooLarge { size: 2, limit: 1 }.class(),
            ErrorClass::TooLarge
        );
    }

    #[test]
    fn messages_speak_to_people() {
        let m = ReadError::Encrypted.to_string();
        assert!(m.contains("password"), "{m}");
        let m = ReadError::LegacyDoc.to_string();
        assert!(m.contains("97-2003") && m.contains(".docx"), "{m}");
        let m = ReadError::MalformedXml {
            part: "word/document.xml".into(),
            detail: "ill-formed at byte 4242".into(),
        };
        assert!(m.to_string().contains("word/document.xml"));
        assert!(
            !m.to_string().contains("4242"),
            "parser detail stays out of the message"
        );
        assert!(m.detail().contains("4242"), "but is kept for logs");
    }
}
