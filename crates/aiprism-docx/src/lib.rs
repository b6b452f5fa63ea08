//! Reads an uploaded document (.docx, Markdown or plain text) into a model the reviewer works on:
//! every paragraph with a stable locator and an exact map from characters to Word runs, and the
//! sections an AI reviews one at a time; and writes accepted findings back into the original
//! .docx as Word comments.
//!
//! The crate is pure: bytes in, [`ParsedDocument`] (or new package bytes) out. No I/O, no async, no other aiprism crate.
//! Hostile input must never panic or exhaust memory: zip packages are validated entry by entry
//! against [`Limits`] while streaming, DTDs are refused, and all parsing is iterative.
//!
//! # Locators and runs (the contract with the comment writer)
//!
//! For .docx, [`Paragraph::locator`] is the paragraph's position among *all* `w:p` elements of the
//! main document part in document (start-tag) order, counting paragraphs inside tables, text
//! boxes and both branches of `mc:AlternateContent`. A text-box paragraph nested in a host
//! paragraph therefore comes right after its host. For Markdown and text it is the block index.
//!
//! [`RunSpan::run`] is the index of a `w:r` element among all `w:r` elements that belong to the
//! paragraph, in document order: every `w:r` descendant of the `w:p` (through `w:hyperlink`,
//! `w:ins`, `w:del`, `w:moveTo`, `w:moveFrom`, `w:sdt`, `w:smartTag`, `w:customXml`,
//! `w:fldSimple`, `w:ruby`, either `mc:AlternateContent` branch, ...) except runs that belong to a
//! nested paragraph (text boxes). Runs whose text is not read (deleted runs, runs in the unread
//! AlternateContent branch, runs holding only field codes) are still counted. A `RunSpan` is
//! emitted only for runs that contributed characters; its `start..end` are Unicode scalar offsets
//! into [`Paragraph::text`] and the run's read text is exactly `text[start..end]`. Spans are in
//! increasing order and never overlap. The characters a run contributes are: `w:t` text, `\t`
//! for `w:tab`/`w:ptab`, `\n` for `w:br`/`w:cr`, `-` for `w:noBreakHyphen`, the `w:sym`
//! character, and nothing for field codes.
//!
//! # What is read from a .docx
//!
//! The main part is found through the package relationships (transitional or Strict), styles
//! through the main part's own relationships. Text reads as Word shows it with tracked changes
//! accepted: insertions and moves-to kept, deletions and moves-from dropped, field results kept
//! and field codes dropped; content controls, smart tags, custom XML and hyperlinks are read
//! through; tables (nested too) and text boxes in document order. In `mc:AlternateContent` the
//! first `mc:Choice` whose required namespaces we understand (text boxes, groups, canvases) is
//! read, else the `mc:Fallback` (e.g. the emoji behind `w16se:symEx`); paragraphs of the branch
//! not read keep their locators but have `in_reading_text == false`. Footnotes, comments, headers
//! and footers are other parts and not part of the text. DrawingML text (`a:p`, charts, SmartArt)
//! and equations are not read.
//!
//! Heading levels come from the paragraph's own outline level (not on table cells), else from
//! its style, resolved by style *names* along the `basedOn` chain (`outlineLvl` first, then
//! "heading N"); ids are localised and never used. Title, Subtitle and TOC Heading never start
//! sections.
//!
//! # Sections
//!
//! Each non-empty heading paragraph starts a section that runs to the next one (any level);
//! text before the first is a level-0 preamble (unless it is nothing but Title / Subtitle
//! paragraphs: a title alone is no section); a document without any is one level-0 section;
//! a document without text has no section. Quoted e-mail threads ("-----Original Message-----",
//! or "From:" followed by two of "Sent:"/"Date:", "To:", "Cc:", "Subject:") become their own
//! section up to the next heading, with `excluded_reason = Some("quoted e-mail thread")`. When a
//! document has no heading (or only a leading title heading), and inside any stretch without
//! headings longer than about 20,000 characters, body paragraphs (not table cells or text boxes)
//! that are numbered title lines ("3. Root Cause", "2.1 Scope"), short bold lines, or Markdown
//! bold lead-in labels ("**Impact**: ...") start [`SectionOrigin::Inferred`] sections; three or
//! more such lines in a row (a list, a hand-made contents page) do not, nor do bold lines when
//! most lines are bold. A section's `text` may be empty (a heading directly followed by a
//! sub-heading); callers skip those when reviewing.

//!
//! # Writing the reviewed document
//!
//! [`write_comments`] gives the reviewer their original package back with accepted findings as
//! Word comments on exactly the quoted characters (optionally with tracked replacements); see
//! its docs. It maps paragraphs and characters with a scan that reads text exactly as the reader
//! does, so [`Paragraph::locator`] and character offsets are the anchors. [`build_docx`] makes a
//! package for Markdown / text inputs with the same paragraphs, and [`read_comments`] reads the
//! comments a document has with the text each is anchored on.

#![forbid(unsafe_code)]

mod body;
mod email;
mod error;
mod markdown;
mod package;
mod sections;
mod styles;
mod text;
mod write;
mod xml;

pub use error::{ErrorClass, ReadError};
pub use write::{CommentAnchor, CommentSpec, ExistingComment, WriteError, WriteOptions, WriteReport};

use serde::{Deserialize, Serialize};

/// Which reader produced a document, so callers know whether a .docx can be written back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SourceFormat {
    /// An OOXML WordprocessingML package (.docx, .docm, .dotx, .dotm).
    Docx,
    /// CommonMark / GitHub-flavoured Markdown.
    Markdown,
    /// Plain text.
    Text,
}

/// Safety limits for untrusted uploads. Every limit is enforced while decompressing, on the bytes
/// actually produced, never on sizes the archive declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest upload accepted, in bytes.
    pub max_bytes: u64,
    /// Most zip entries accepted in one package.
    pub max_entries: usize,
    /// Most bytes all entries together may decompress to.
    pub max_total_uncompressed: u64,
    /// Largest decompressed/compressed ratio of one entry; only applied to entries that have
    /// produced more than 1 MiB, since small, highly repetitive XML parts legitimately compress
    /// very well.
    pub max_ratio: u64,
}

impl Default for Limits {
    /// 16 MiB uploads, 5,000 entries, 512 MiB decompressed, ratio 200.
    fn default() -> Self {
        Limits {
            max_bytes: 16 * 1024 * 1024,
            max_entries: 5_000,
            max_total_uncompressed: 512 * 1024 * 1024,
            max_ratio: 200,
        }
    }
}

/// A document as read: all paragraphs (for anchoring) and the sections (for review).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedDocument {
    /// Which reader produced it.
    pub format: SourceFormat,
    /// Every paragraph, indexed by locator (`paragraphs[i].locator == i`).
    pub paragraphs: Vec<Paragraph>,
    /// Review sections in document order; empty only for a document without text.
    pub sections: Vec<ParsedSection>,
    /// The document's title when it names one (Title style, front matter, leading H1).
    pub title: Option<String>,
    /// Things a person might want to know about how the file was read (not errors).
    pub warnings: Vec<String>,
}

/// Where a paragraph lives, because table cells and text boxes do not make headings in the bold
/// fallback and a reviewer may want to tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Container {
    /// The main text flow.
    Body,
    /// A table cell (innermost container wins).
    TableCell,
    /// A text box / shape text.
    TextBox,
}

/// What a paragraph is by its style (or Markdown/text syntax). Fallback headings (bold lines,
/// numbered title lines) are *not* marked here; see [`SectionOrigin::Inferred`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ParagraphRole {
    /// Ordinary text.
    Body,
    /// A heading; [`Paragraph::heading_level`] has its level.
    Heading,
    /// The document title (Title style): never a section of its own.
    Title,
    /// A subtitle: never a section of its own.
    Subtitle,
    /// The heading of a table of contents: never a section of its own.
    TocHeading,
}

/// One paragraph (a `w:p`, or a Markdown/text block).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paragraph {
    /// Stable position; see the crate docs for the exact definition.
    pub locator: u32,
    /// The text as it reads (tracked changes accepted, field results, no field codes).
    pub text: String,
    /// The `w:pStyle` id as written (localised, for display and debugging only).
    pub style_id: Option<String>,
    /// Heading level 1..=9 when [`Paragraph::role`] is `Heading`.
    pub heading_level: Option<u8>,
    /// What the paragraph is by its style.
    pub role: ParagraphRole,
    /// Body, table cell or text box.
    pub container: Container,
    /// False for paragraphs whose text duplicates other text (the unread branch of
    /// `mc:AlternateContent`, e.g. the VML copy of a text box); they are not in section text.
    pub in_reading_text: bool,
    /// Which run produced which characters of `text` (docx only; empty for Markdown/text).
    pub runs: Vec<RunSpan>,
}

/// Characters `start..end` (Unicode scalar offsets) of a paragraph's text came from run `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RunSpan {
    /// First character (inclusive).
    pub start: u32,
    /// End character (exclusive).
    pub end: u32,
    /// Index of the `w:r` among the paragraph's runs; see the crate docs.
    pub run: u32,
}

/// Why a section exists, so callers can tell style headings from guesses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SectionOrigin {
    /// Text before the first heading.
    Preamble,
    /// Starts at a heading paragraph (heading style or Markdown/text heading syntax).
    Heading,
    /// Starts at a bold line, numbered title line or bold lead-in label (no real headings).
    Inferred,
    /// A quoted e-mail thread, split off and excluded from review.
    QuotedEmail,
    /// The whole document: it has no headings at all.
    WholeDocument,
}

/// A unit of review: a heading and the body paragraphs up to the next heading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedSection {
    /// The heading text (whitespace collapsed), or a made-up title for preambles / e-mails.
    pub title: String,
    /// 0 for preamble / whole document, else the heading level 1..=9.
    pub level: u8,
    /// Locator of the heading paragraph, if the section starts at one.
    pub heading_paragraph: Option<u32>,
    /// First locator covered (the heading's, when there is one).
    pub paragraph_start: u32,
    /// One past the last locator covered.
    pub paragraph_end: u32,
    /// Non-empty reading-text body paragraphs of the range joined by `'\n'`. The heading
    /// paragraph is not included, except for an inferred bold lead-in label ("**Impact**: ..."),
    /// whose paragraph carries content and so is included.
    pub text: String,
    /// Where each paragraph sits in `text` (char offsets, `end - start` == paragraph length).
    pub spans: Vec<Span>,
    /// `Some(reason)` when the section must not be reviewed (e.g. "quoted e-mail thread").
    pub excluded_reason: Option<String>,
    /// Why the section exists.
    pub origin: SectionOrigin,
}

/// Paragraph `paragraph` occupies chars `start..end` of its section's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Span {
    /// The paragraph's locator.
    pub paragraph: u32,
    /// First char in the section text.
    pub start: u32,
    /// End char (exclusive) in the section text.
    pub end: u32,
}

/// Most paragraphs one document may have (an 872-page manual has about 8,000). A paragraph costs
/// around 150 bytes of model for as little as 6 bytes of XML, so hostile input is cut off here.
pub const MAX_PARAGRAPHS: usize = 1_000_000;

/// Warning the Markdown / text readers leave when they stop at [`MAX_PARAGRAPHS`].
pub(crate) const TRUNCATED_WARNING: &str = "The document has too many paragraphs; the rest was not read.";

const OLE2_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Reads any supported upload, deciding the format from its bytes first and its name second:
/// a zip is a Word package; an OLE2 compound file is an encrypted package or a legacy .doc
/// (both refused); `%PDF` and RTF are refused for now; `.md`/`.markdown` names (also
/// `.html.md.erb`-style names) are Markdown; other text is plain text (UTF-8, UTF-16 with BOM, or
/// Windows-1252 with a warning); anything else is an unsupported binary.
pub fn read(bytes: &[u8], filename: &str, limits: &Limits) -> Result<ParsedDocument, ReadError> {
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if size > limits.max_bytes {
        return Err(ReadError::FileTooLarge {
            size,
            limit: limits.max_bytes,
        });
    }
    if is_zip(bytes) {
        return read_docx(bytes, limits);
    }
    if bytes.starts_with(OLE2_MAGIC) {
        return Err(ole2_error(bytes));
    }
    if bytes.starts_with(b"%PDF") {
        return Err(ReadError::Pdf);
    }
    // RTF is text, but reading its markup as prose would be wrong.
    if bytes.starts_with(b"{\\rtf") {
        return Err(ReadError::UnknownFormat);
    }
    let lower = filename.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    if matches!(ext, "docx" | "docm" | "dotx" | "dotm") {
        return Err(ReadError::NotAZip);
    }
    if ext == "doc" || ext == "pdf" {
        return Err(if ext == "doc" {
            ReadError::LegacyDoc
        } else {
            ReadError::Pdf
        });
    }
    let (text, decode_warning) = text::decode(bytes).ok_or(ReadError::UnknownFormat)?;
    let markdown = matches!(ext, "md" | "markdown" | "mdown" | "mkd" | "mkdn")
        || lower.contains(".md.")
        || lower.contains(".markdown.");
    let mut doc = if markdown {
        read_markdown(&text)
    } else {
        read_text(&text)
    };
    if doc.warnings.iter().any(|w| w == TRUNCATED_WARNING) {
        return Err(ReadError::TooManyParagraphs {
            limit: MAX_PARAGRAPHS,
        });
    }
    if let Some(w) = decode_warning {
        doc.warnings.push(w);
    }
    Ok(doc)
}

/// Local file header, empty archive, or spanned-archive marker.
fn is_zip(bytes: &[u8]) -> bool {
    [b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"]
        .iter()
        .any(|m| bytes.starts_with(*m))
}

/// An OLE2 compound file is either an encrypted OOXML package (it then has an "EncryptionInfo"
/// stream, whose directory name is stored in UTF-16LE) or a legacy binary Word file.
fn ole2_error(bytes: &[u8]) -> ReadError {
    let needle: Vec<u8> = "EncryptionInfo"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    if bytes.windows(needle.len()).any(|w| w == needle.as_slice()) {
        ReadError::Encrypted
    } else {
        ReadError::LegacyDoc
    }
}

/// The checks every package goes through before it is opened: size, OLE2 containers
/// (encrypted packages, legacy .doc), zip signature.
pub(crate) fn check_package(bytes: &[u8], limits: &Limits) -> Result<(), ReadError> {
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if size > limits.max_bytes {
        return Err(ReadError::FileTooLarge {
            size,
            limit: limits.max_bytes,
        });
    }
    if bytes.starts_with(OLE2_MAGIC) {
        return Err(ole2_error(bytes));
    }
    if !is_zip(bytes) {
        return Err(ReadError::NotAZip);
    }
    Ok(())
}

/// Reads a .docx (or .docm/.dotx) package; see the crate docs for what is read and how.
pub fn read_docx(bytes: &[u8], limits: &Limits) -> Result<ParsedDocument, ReadError> {
    check_package(bytes, limits)?;
    let pkg = package::open(bytes, limits)?;
    let mut warnings = pkg.warnings;
    let styles = match &pkg.styles {
        Some((name, data)) => styles::Styles::parse(name, data)?,
        None => {
            warnings.push("The document has no styles; headings were guessed from formatting.".into());
            styles::Styles::default()
        }
    };
    let body = body::read_main(&pkg.main_name, &pkg.main, &styles)?;
    warnings.extend(body.warnings);
    let title = body
        .paragraphs
        .iter()
        .find(|p| p.role == ParagraphRole::Title && p.in_reading_text && !p.text.trim().is_empty())
        .map(|p| sections::collapse_ws(&p.text));
    let sections = sections::build(&body.paragraphs, &body.hints, title.as_deref());
    Ok(ParsedDocument {
        format: SourceFormat::Docx,
        paragraphs: body.paragraphs,
        sections,
        title,
        warnings,
    })
}

/// Reads Markdown: one paragraph per block (paragraph, list item, table row, code block, ...),
/// ATX/setext headings, front matter skipped (its `title` becomes the document title).
/// Stops with a warning after [`MAX_PARAGRAPHS`] blocks.
pub fn read_markdown(text: &str) -> ParsedDocument {
    markdown::read(text)
}

/// Reads plain text: blank-line separated blocks; ALL-CAPS lines, numbered title lines and
/// underlined lines are headings. Stops with a warning after [`MAX_PARAGRAPHS`] blocks.
pub fn read_text(text: &str) -> ParsedDocument {
    text::read(text)
}

/// Writes `specs` as Word comments into the original package `original` (which must read with
/// [`read_docx`]; anchors are in its reader's terms) and returns the new package.
///
/// Each comment is anchored on exactly its character range: runs are split at the range ends
/// (both halves keep the run's formatting), `commentRangeStart` goes before the first character
/// and `commentRangeEnd` after the last, followed by the `commentReference` run. Ranges may span
/// runs, hyperlinks, content controls, tracked insertions and the like; several comments may
/// share or overlap a paragraph. Comments are added to the existing comments part (found through
/// the main part's relationships) with ids above every id the package uses; existing comments
/// and their threads are untouched; the part, its relationship and content type are created when
/// missing (Strict packages get Strict names). Only the main part, the comments part, the main
/// part's relationships and `[Content_Types].xml` may change; every other entry is copied raw.
///
/// A spec whose anchor does not exist, is empty, or cannot be mapped exactly onto the markup is
/// reported in [`WriteReport::skipped`] and never anchored elsewhere. Reading the result gives
/// the same paragraph text as the original, except that with
/// [`WriteOptions::tracked_changes`] each tracked replacement changes its range's text to the
/// replacement.
pub fn write_comments(
    original: &[u8],
    specs: &[CommentSpec],
    options: &WriteOptions,
    limits: &Limits,
) -> Result<WriteReport, WriteError> {
    write::write(original, specs, options, limits)
}

/// Builds a clean .docx from a document read from Markdown or text: its paragraphs exactly, in
/// locator order, headings in `Heading N` styles (Title, Subtitle and TOC Heading likewise), so
/// locators and character offsets carry over and [`write_comments`] can be applied to the
/// result. Characters XML cannot hold become U+FFFD (one for one, keeping offsets).
pub fn build_docx(document: &ParsedDocument) -> Vec<u8> {
    write::build_docx(document)
}

/// Reads the comments a .docx already has (for showing them, and for checking written output):
/// id, author, initials, date, text, and the reading text each one is anchored on.
pub fn read_comments(docx: &[u8], limits: &Limits) -> Result<Vec<ExistingComment>, ReadError> {
    write::read_comments(docx, limits)
}
