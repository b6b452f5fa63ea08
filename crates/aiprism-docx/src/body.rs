//! The main document part, in one streaming pass: paragraphs with their locators, text as it
//! reads (tracked changes accepted, field results without codes), the run map, style roles and
//! the formatting hints the fallback heading detection needs.
//!
//! What is read (see also the crate docs for the run contract):
//! - `w:t`, `w:tab`/`w:ptab` (`\t`), `w:br`/`w:cr` (`\n`), `w:noBreakHyphen` (`-`), `w:sym`
//!   (its `w:char` when that is a valid scalar); `w:softHyphen` gives nothing.
//! - Insertions and moves-to are read; `w:del`, `w:moveFrom` and the ruby annotation `w:rt` are
//!   not (their runs still count). `w:delText`/`w:instrText` never are.
//! - Complex fields: characters between `fldChar begin` and `separate` (the code) are dropped,
//!   the result is read; nesting is tracked. `w:fldSimple` is read through to its result runs.
//! - Content controls, smart tags, custom XML, hyperlinks, bidi containers: read through.
//! - Tables (nested too) and text boxes are read in document order; a text-box paragraph gets the
//!   next locator after its host paragraph and is its own paragraph.
//! - `mc:AlternateContent`: the first `mc:Choice` whose `Requires` prefixes we understand is read
//!   (text boxes, groups, canvases), else the `mc:Fallback` (e.g. the emoji character behind a
//!   `w16se:symEx`). Paragraphs in the branch not read are still counted (locators) but marked
//!   `in_reading_text = false`, and text of the unread branch never enters a paragraph read
//!   from outside it.
//! - Heading level: the paragraph's own `w:outlineLvl` (0..8 -> level 1..9, 9 -> body text)
//!   decides, except on table-cell paragraphs, where it is ignored (forms and converted HTML put
//!   outline levels on cells); else the style's role (see `styles`). Title, Subtitle and TOC
//!   Heading styles stay what they are whatever the outline level.
//! - DrawingML `a:p`/`a:t` (chart and SmartArt text) and Office Math are not WordprocessingML
//!   paragraphs and are not read.

use quick_xml::events::{BytesStart, Event};

use crate::error::ReadError;
use crate::sections::Hint;
use crate::styles::{StyleRole, Styles};
use crate::xml::{self, Ns, XmlReader};
use crate::{Container, MAX_PARAGRAPHS, Paragraph, ParagraphRole, RunSpan};

/// Field nesting we track; deeper `begin`s (hostile input) are ignored symmetrically.
const MAX_FIELD_DEPTH: usize = 256;

/// The main part as read.
pub(crate) struct BodyOut {
    pub(crate) paragraphs: Vec<Paragraph>,
    pub(crate) hints: Vec<Hint>,
    pub(crate) warnings: Vec<String>,
}

/// What an open element means to the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum K {
    Other,
    P,
    R,
    T,
    Cell,
    TextBox,
    Suppress,
    Ac,
    BranchOn,
    BranchOff,
    PPr,
    RPr,
}

struct Builder {
    idx: usize,
    text: String,
    chars: u32,
    spans: Vec<RunSpan>,
    run_count: u32,
    style_id: Option<String>,
    outline: Option<u8>,
    skip_at_open: u32,
    container: Container,
    all_bold: bool,
    visible: bool,
}

struct OpenRun {
    /// `builders.len()` when the run opened: the run belongs to `builders[depth - 1]`.
    depth: usize,
    run: u32,
    seg_start: u32,
    bold: Option<bool>,
    bold_cs: Option<bool>,
    complex: bool,
    style_bold: Option<bool>,
    visible: bool,
}

struct State<'s> {
    part: &'s str,
    styles: &'s Styles,
    paragraphs: Vec<Paragraph>,
    hints: Vec<Hint>,
    builders: Vec<Builder>,
    runs: Vec<OpenRun>,
    stack: Vec<K>,
    containers: Vec<Container>,
    /// One entry per open `mc:AlternateContent`: whether a branch has been chosen.
    ac: Vec<bool>,
    /// Open unread AlternateContent branches.
    skip: u32,
    /// Open deleted / moved-from / ruby-annotation regions.
    suppress: u32,
    /// Open complex fields: `true` while in the field code.
    fields: Vec<bool>,
    field_overflow: u32,
    next_locator: u32,
    tracked_changes: bool,
}

/// Reads the main document part `part`.
pub(crate) fn read_main(part: &str, bytes: &[u8], styles: &Styles) -> Result<BodyOut, ReadError> {
    let decoded = xml::decode_part(part, bytes)?;
    let mut reader = XmlReader::new(part, &decoded);
    let mut st = State {
        part,
        styles,
        paragraphs: Vec::new(),
        hints: Vec::new(),
        builders: Vec::new(),
        runs: Vec::new(),
        stack: Vec::with_capacity(64),
        containers: Vec::new(),
        ac: Vec::new(),
        skip: 0,
        suppress: 0,
        fields: Vec::new(),
        field_overflow: 0,
        next_locator: 0,
        tracked_changes: false,
    };
    let mut root_seen = false;
    loop {
        let ev = reader.next()?;
        match ev {
            Event::Start(e) => {
                if !root_seen {
                    check_root(&mut reader, &e, part)?;
                    root_seen = true;
                    st.stack.push(K::Other);
                    continue;
                }
                if let Some(k) = st.element(&mut reader, &e, true)? {
                    st.stack.push(k);
                } else {
                    reader.skip(&e)?;
                }
            }
            Event::Empty(e) => {
                if !root_seen {
                    check_root(&mut reader, &e, part)?;
                    root_seen = true;
                    continue;
                }
                if let Some(k) = st.element(&mut reader, &e, false)? {
                    // An empty element opens and closes at once.
                    st.stack.push(k);
                    st.end()?;
                }
            }
            Event::End(_) => st.end()?,
            Event::Text(t) if st.stack.last() == Some(&K::T) => st.emit(&t.xml10_content())?,
            Event::CData(t) if st.stack.last() == Some(&K::T) => st.emit(&t.xml10_content())?,
            Event::GeneralRef(r) => {
                let c = xml::resolve_ref(part, &r)?;
                if st.stack.last() == Some(&K::T) {
                    let mut b = [0u8; 4];
                    st.emit(c.encode_utf8(&mut b))?;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !root_seen {
        return Err(ReadError::NotWordDocument {
            part: part.to_string(),
        });
    }
    let mut warnings = Vec::new();
    if st.tracked_changes {
        warnings.push("The document has tracked changes; it was read with all changes accepted.".into());
    }
    Ok(BodyOut {
        paragraphs: st.paragraphs,
        hints: st.hints,
        warnings,
    })
}

fn check_root(reader: &mut XmlReader<'_>, e: &BytesStart<'_>, part: &str) -> Result<(), ReadError> {
    let (ns, local) = reader.element(e);
    if ns == Ns::W && local == "document" {
        Ok(())
    } else {
        Err(ReadError::NotWordDocument {
            part: part.to_string(),
        })
    }
}

impl State<'_> {
    /// Handles the start of an element. Returns the kind to push, or `None` when the whole
    /// subtree is to be skipped (only for subtrees that hold no `w:p` or `w:r`).
    fn element(
        &mut self,
        reader: &mut XmlReader<'_>,
        e: &BytesStart<'_>,
        has_content: bool,
    ) -> Result<Option<K>, ReadError> {
        let (ns, local) = reader.element(e);
        let parent = self.stack.last().copied().unwrap_or(K::Other);
        if parent == K::PPr || parent == K::RPr {
            if ns == Ns::W {
                self.property(reader, e, parent, local);
            }
            return Ok(None);
        }
        match ns {
            Ns::W => {}
            Ns::Mc => return Ok(Some(self.mc(reader, e, local))),
            Ns::Other => return Ok(Some(K::Other)),
        }
        let kind = match local {
            "p" => {
                self.open_paragraph()?;
                K::P
            }
            "r" => {
                self.open_run();
                K::R
            }
            "t" => K::T,
            "pPr" if parent == K::P => K::PPr,
            "rPr" if parent == K::R => K::RPr,
            "tab" | "ptab" => {
                self.emit("\t")?;
                return Ok(skip_or(has_content));
            }
            "br" | "cr" => {
                self.emit("\n")?;
                return Ok(skip_or(has_content));
            }
            "noBreakHyphen" => {
                self.emit("-")?;
                return Ok(skip_or(has_content));
            }
            "sym" => {
                let c = reader
                    .w_attr(e, "char")
                    .and_then(|v| u32::from_str_radix(v.trim(), 16).ok())
                    .and_then(char::from_u32);
                if let Some(c) = c {
                    let mut b = [0u8; 4];
                    self.emit(c.encode_utf8(&mut b))?;
                }
                return Ok(skip_or(has_content));
            }
            "fldChar" => {
                let kind = reader.w_attr(e, "fldCharType");
                self.field_char(kind.as_deref());
                return Ok(skip_or(has_content));
            }
            "del" | "moveFrom" => {
                self.tracked_changes = true;
                self.suppress = self.suppress.saturating_add(1);
                K::Suppress
            }
            "ins" | "moveTo" => {
                self.tracked_changes = true;
                K::Other
            }
            "rt" => {
                self.suppress = self.suppress.saturating_add(1);
                K::Suppress
            }
            "tc" => {
                self.containers.push(Container::TableCell);
                K::Cell
            }
            "txbxContent" => {
                self.containers.push(Container::TextBox);
                K::TextBox
            }
            // Subtrees without paragraphs or runs that hold nothing we read.
            "pPr" | "rPr" | "delText" | "instrText" | "delInstrText" | "sdtPr" | "sdtEndPr" | "sectPr"
            | "tblPr" | "tblGrid" | "trPr" | "tcPr" | "tblPrEx" | "customXmlPr" | "smartTagPr" | "rubyPr"
            | "footnoteReference" | "endnoteReference" | "commentReference" | "background"
            | "bookmarkStart" | "bookmarkEnd" | "proofErr" | "permStart" | "permEnd" => {
                return Ok(None);
            }
            _ => K::Other,
        };
        Ok(Some(kind))
    }

    fn mc(&mut self, reader: &mut XmlReader<'_>, e: &BytesStart<'_>, local: &str) -> K {
        let parent_is_ac = self.stack.last() == Some(&K::Ac);
        match local {
            "AlternateContent" => {
                self.ac.push(false);
                K::Ac
            }
            "Choice" | "Fallback" if parent_is_ac => {
                let chosen = self.ac.last().copied().unwrap_or(true);
                let take = !chosen
                    && (local == "Fallback"
                        || xml::plain_attr(e, "Requires").is_some_and(|r| reader.requires_understood(&r)));
                if take {
                    if let Some(c) = self.ac.last_mut() {
                        *c = true;
                    }
                    K::BranchOn
                } else {
                    self.skip = self.skip.saturating_add(1);
                    K::BranchOff
                }
            }
            _ => K::Other,
        }
    }

    /// A child of a paragraph's or run's properties.
    fn property(&mut self, reader: &mut XmlReader<'_>, e: &BytesStart<'_>, parent: K, local: &str) {
        let mut val = || reader.w_attr(e, "val");
        if parent == K::PPr {
            let Some(b) = self.builders.last_mut() else { return };
            match local {
                "pStyle" => b.style_id = val().map(|v| v.trim().to_string()),
                "outlineLvl" => b.outline = val().and_then(|v| v.trim().parse::<u8>().ok()),
                _ => {}
            }
            return;
        }
        let styles = self.styles;
        let Some(r) = self.runs.last_mut() else { return };
        match local {
            "b" => r.bold = Some(xml::on_off(val().as_deref())),
            "bCs" => r.bold_cs = Some(xml::on_off(val().as_deref())),
            "rtl" | "cs" => r.complex |= xml::on_off(val().as_deref()),
            "rStyle" => r.style_bold = val().and_then(|v| styles.character_bold(v.trim())),
            _ => {}
        }
    }

    fn open_paragraph(&mut self) -> Result<(), ReadError> {
        if self.paragraphs.len() >= MAX_PARAGRAPHS {
            return Err(ReadError::TooManyParagraphs {
                limit: MAX_PARAGRAPHS,
            });
        }
        let locator = self.next_locator;
        self.next_locator = locator.checked_add(1).ok_or(ReadError::TooManyParagraphs {
            limit: MAX_PARAGRAPHS,
        })?;
        let container = self.containers.last().copied().unwrap_or(Container::Body);
        let idx = self.paragraphs.len();
        self.paragraphs.push(Paragraph {
            locator,
            text: String::new(),
            style_id: None,
            heading_level: None,
            role: ParagraphRole::Body,
            container,
            in_reading_text: self.skip == 0,
            runs: Vec::new(),
        });
        self.hints.push(Hint::default());
        self.builders.push(Builder {
            idx,
            text: String::new(),
            chars: 0,
            spans: Vec::new(),
            run_count: 0,
            style_id: None,
            outline: None,
            skip_at_open: self.skip,
            container,
            all_bold: true,
            visible: false,
        });
        Ok(())
    }

    fn open_run(&mut self) {
        let depth = self.builders.len();
        let Some(b) = self.builders.last_mut() else {
            // A run outside any paragraph (invalid): nothing to attach it to.
            self.runs.push(OpenRun::orphan());
            return;
        };
        let run = b.run_count;
        b.run_count = b.run_count.saturating_add(1);
        // A run nested directly in an open run of the same paragraph (hostile input) ends the
        // outer run's current segment; the outer run resumes with a new one afterwards.
        if let Some(outer) = self.runs.last()
            && outer.depth == depth
        {
            push_span(b, outer.run, outer.seg_start);
        }
        self.runs.push(OpenRun {
            depth,
            run,
            seg_start: b.chars,
            bold: None,
            bold_cs: None,
            complex: false,
            style_bold: None,
            visible: false,
        });
    }

    fn field_char(&mut self, kind: Option<&str>) {
        // Field characters that are deleted or in the unread branch do not exist when reading.
        if self.suppress > 0 || self.builders.last().is_some_and(|b| b.skip_at_open != self.skip) {
            return;
        }
        match kind.map(str::trim) {
            Some("begin") => {
                if self.fields.len() < MAX_FIELD_DEPTH {
                    self.fields.push(true);
                } else {
                    self.field_overflow = self.field_overflow.saturating_add(1);
                }
            }
            Some("separate") => {
                if self.field_overflow == 0
                    && let Some(f) = self.fields.last_mut()
                {
                    *f = false;
                }
            }
            Some("end") => {
                if self.field_overflow > 0 {
                    self.field_overflow -= 1;
                } else {
                    self.fields.pop();
                }
            }
            _ => {}
        }
    }

    /// Appends read text to the paragraph being read, if the text is read at all.
    fn emit(&mut self, s: &str) -> Result<(), ReadError> {
        if s.is_empty() || self.suppress > 0 || self.field_overflow > 0 || self.fields.contains(&true) {
            return Ok(());
        }
        let depth = self.builders.len();
        let Some(b) = self.builders.last_mut() else {
            return Ok(());
        };
        if b.skip_at_open != self.skip {
            return Ok(());
        }
        let Some(r) = self.runs.last_mut() else {
            return Ok(());
        };
        if r.depth != depth {
            return Ok(()); // text outside any run of this paragraph
        }
        let n = if s.is_ascii() { s.len() } else { s.chars().count() };
        let n = u32::try_from(n).ok();
        b.chars = n
            .and_then(|n| b.chars.checked_add(n))
            .ok_or_else(|| xml::malformed(self.part, "paragraph too long"))?;
        b.text.push_str(s);
        if !r.visible && s.chars().any(|c| !c.is_whitespace()) {
            r.visible = true;
        }
        Ok(())
    }

    /// Handles the end of the innermost open element.
    fn end(&mut self) -> Result<(), ReadError> {
        let Some(kind) = self.stack.pop() else {
            return Ok(());
        };
        match kind {
            K::P => self.close_paragraph(),
            K::R => self.close_run(),
            K::Cell | K::TextBox => {
                self.containers.pop();
            }
            K::Suppress => self.suppress = self.suppress.saturating_sub(1),
            K::BranchOff => self.skip = self.skip.saturating_sub(1),
            K::Ac => {
                self.ac.pop();
            }
            K::Other | K::T | K::BranchOn | K::PPr | K::RPr => {}
        }
        Ok(())
    }

    fn close_run(&mut self) {
        let Some(r) = self.runs.pop() else { return };
        if r.depth == 0 || r.depth != self.builders.len() {
            return;
        }
        let styles = self.styles;
        let Some(b) = self.builders.last_mut() else { return };
        push_span(b, r.run, r.seg_start);
        if r.visible {
            let para_bold = styles.paragraph(b.style_id.as_deref()).and_then(|s| s.bold);
            let direct = if r.complex { r.bold_cs.or(r.bold) } else { r.bold };
            let bold = direct
                .or(r.style_bold)
                .or(para_bold)
                .or(styles.default_bold)
                .unwrap_or(false);
            b.all_bold &= bold;
            b.visible = true;
        }
        if let Some(outer) = self.runs.last_mut()
            && outer.depth == r.depth
        {
            outer.seg_start = b.chars;
        }
    }

    fn close_paragraph(&mut self) {
        let Some(b) = self.builders.pop() else { return };
        // Runs left open inside the paragraph cannot happen with well-formed XML (end names are
        // checked), but drop them defensively so they never attach to the outer paragraph.
        while self.runs.last().is_some_and(|r| r.depth > self.builders.len()) {
            self.runs.pop();
        }
        let style = self.styles.paragraph(b.style_id.as_deref());
        let style_role = style.map_or(StyleRole::Body, |s| s.role);
        // A direct outline level decides over the style, except on table cells: forms and
        // converted HTML tables put outline levels on cells, and a cell is no section start.
        let direct = if b.container == Container::TableCell {
            None
        } else {
            b.outline
        };
        let role = match (style_role, direct) {
            (StyleRole::Title | StyleRole::Subtitle | StyleRole::TocHeading, _) => style_role,
            (_, Some(o)) if o <= 8 => StyleRole::Heading(o + 1),
            (_, Some(_)) => StyleRole::Body,
            (r, None) => r,
        };
        let (role, heading_level) = role.paragraph_role();
        if let (Some(p), Some(h)) = (self.paragraphs.get_mut(b.idx), self.hints.get_mut(b.idx)) {
            p.text = b.text;
            p.style_id = b.style_id;
            p.heading_level = heading_level;
            p.role = role;
            p.runs = b.spans;
            h.bold_line = b.visible && b.all_bold;
            h.fallback_ok = b.container == Container::Body;
        }
    }
}

impl OpenRun {
    fn orphan() -> OpenRun {
        OpenRun {
            depth: 0,
            run: 0,
            seg_start: 0,
            bold: None,
            bold_cs: None,
            complex: false,
            style_bold: None,
            visible: false,
        }
    }
}

fn skip_or(has_content: bool) -> Option<K> {
    if has_content { None } else { Some(K::Other) }
}

/// Records the run segment `start..b.chars`, merging with a directly preceding span of the same
/// run.
fn push_span(b: &mut Builder, run: u32, start: u32) {
    if b.chars <= start {
        return;
    }
    if let Some(last) = b.spans.last_mut()
        && last.run == run
        && last.end == start
    {
        last.end = b.chars;
        return;
    }
    b.spans.push(RunSpan {
        start,
        end: b.chars,
        run,
    });
}
