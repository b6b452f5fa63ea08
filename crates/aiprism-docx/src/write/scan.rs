//! One streaming pass over the main part that maps the reading text of chosen paragraphs back to
//! the bytes that produced it, so the writer can split runs and place markers exactly.
//!
//! The pass reads text with the same rules as the reader (`body.rs`: the same skipped subtrees,
//! `mc:AlternateContent` branch choice, deletions, field codes and nesting), and for each target
//! paragraph records its runs ("outermost" runs: a run nested in another run counts as part of
//! it), the containers between the paragraph and its runs (hyperlinks, content controls, ...),
//! each run's direct children, and one [`Piece`] per stretch of read characters. Anchors are
//! checked against the text read here, so it must equal the reader's: both walk and skip exactly
//! the same elements (also in damaged XML), which a test checks on every corpus file and the
//! writer fuzzer on mutated ones.
//!
//! It also records every comment marker (`commentRangeStart`/`End`, `commentReference`) with the
//! paragraph and character offset it sits at, which is how [`crate::read_comments`] finds the
//! text a comment is anchored on.

use quick_xml::events::{BytesStart, Event};

use super::ahead::Prefetch;
use crate::error::ReadError;
use crate::xml::{self, Ns, XmlReader};

pub(crate) use super::map::*;

/// Field nesting tracked, as in the reader.
const MAX_FIELD_DEPTH: usize = 256;
/// Elements (local names) that keep an untargeted paragraph from being jumped over: field
/// characters and instructions change state that outlives the paragraph (a field can span
/// several, and its instruction decides how later targets treat it).
pub(super) const JUMP_AVOID: &[&[u8]] = &[b"fldChar", b"instrText", b"delInstrText"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum K {
    Other,
    P,
    R,
    T,
    Suppress,
    Ac,
    BranchOn,
    BranchOff,
    /// `w:pPr` of a paragraph / `w:rPr` of a run: walked with every child skipped, exactly as
    /// the reader does (so both skip the same subtrees even in damaged XML).
    PPr,
    RPr,
}

#[derive(Clone, Copy)]
struct Frame {
    kind: K,
    /// `(map, container)` this frame opened.
    cont: Option<(u32, u32)>,
    /// `(map, run)` for an outermost run of a mapped paragraph.
    run: Option<(u32, u32)>,
    /// `(map, run)` whose direct child this frame is.
    child_of: Option<(u32, u32)>,
    /// `(map, run, t)` for a direct-child `w:t`.
    t: Option<(u32, u32, u32)>,
}

impl Frame {
    fn new(kind: K) -> Frame {
        Frame {
            kind,
            cont: None,
            run: None,
            child_of: None,
            t: None,
        }
    }
}

struct Open {
    locator: u32,
    map: Option<u32>,
    chars: u32,
    skip_at_open: u32,
    /// The outermost open run of this paragraph (map index when mapped).
    outer: Option<Option<u32>>,
    cstack: Vec<u32>,
}

struct OpenRun {
    depth: usize,
}

struct State<'m> {
    mode: Mode<'m>,
    maps: Vec<PMap>,
    markers: Vec<Marker>,
    paras: Vec<(u32, bool)>,
    open: Vec<Open>,
    runs: Vec<OpenRun>,
    stack: Vec<Frame>,
    ac: Vec<bool>,
    skip: u32,
    suppress: u32,
    fields: Vec<bool>,
    field_overflow: u32,
    /// The open outermost field's span in a mapped paragraph.
    cur_field: Option<(u32, u32)>,
    /// The open outermost field's instruction (its start).
    cur_instr: String,
}

/// Scans the decoded main part.
pub(crate) fn scan(part: &str, bytes: &[u8], mode: Mode<'_>) -> Result<Scan, ReadError> {
    if mode.targets.is_none() || !Prefetch::worth_it(bytes) {
        return scan_with(part, bytes, mode, &mut Prefetch::none());
    }
    std::thread::scope(|s| scan_with(part, bytes, mode, &mut Prefetch::spawn(s, bytes)))
}

/// [`scan`], taking paragraph ends from `prefetch` where it has them.
pub(super) fn scan_with(
    part: &str,
    bytes: &[u8],
    mode: Mode<'_>,
    prefetch: &mut Prefetch<'_>,
) -> Result<Scan, ReadError> {
    let mut reader = XmlReader::new(part, bytes);
    let mut st = State {
        mode,
        maps: Vec::new(),
        markers: Vec::new(),
        paras: Vec::new(),
        open: Vec::new(),
        runs: Vec::new(),
        stack: Vec::with_capacity(64),
        ac: Vec::new(),
        skip: 0,
        suppress: 0,
        fields: Vec::new(),
        field_overflow: 0,
        cur_field: None,
        cur_instr: String::new(),
    };
    let mut w_uri = None;
    loop {
        let before = reader.offset();
        let ev = reader.next()?;
        let after = reader.offset();
        match ev {
            Event::Start(e) if w_uri.is_none() => {
                w_uri = Some(root_uri(&e));
                st.stack.push(Frame::new(K::Other));
            }
            Event::Empty(e) if w_uri.is_none() => w_uri = Some(root_uri(&e)),
            Event::Start(e) => {
                let child_of = st.enter_child(before);
                match st.element(&mut reader, &e, before, after, true)? {
                    Some(mut f) => {
                        f.child_of = child_of;
                        let props = matches!(f.kind, K::PPr | K::RPr);
                        let unmapped_p = f.kind == K::P
                            && st.mode.targets.is_some()
                            && st.open.last().is_some_and(|o| o.map.is_none());
                        st.stack.push(f);
                        let jumped = unmapped_p
                            && match prefetch.end_for(after).filter(|_| e.name().as_ref() == "w:p") {
                                Some(Some(end)) => reader.jump_to(end)?,
                                Some(None) => false,
                                None => reader.jump_plain(&e, JUMP_AVOID)?,
                            };
                        if jumped {
                            // Only the count of paragraphs matters outside the target ones:
                            // one with no nested paragraph and nothing that carries state past
                            // its end (fields) is jumped over, not tokenised.
                            let end = reader.offset();
                            st.end(end, end);
                        } else if props && reader.skip_plain(&e)? {
                            // Nothing inside paragraph or run properties is read or mapped (the
                            // reader reads formatting there, never text): jump over them instead
                            // of tokenising them, which is nearly half the tags of a typical part.
                            // When they are not plain (a revision holds an `rPr` of its own) they
                            // are walked with each child skipped, as the reader does, so both
                            // accept and refuse the same damaged markup.
                            let end = reader.offset();
                            st.end(end, end);
                        }
                    }
                    None => {
                        reader.skip(&e)?;
                        let end = reader.offset();
                        st.skipped(&mut reader, &e, before, end, bytes);
                        st.leave_child(child_of, end);
                    }
                }
            }
            Event::Empty(e) => {
                let child_of = st.enter_child(before);
                match st.element(&mut reader, &e, before, after, false)? {
                    Some(mut f) => {
                        f.child_of = child_of;
                        st.stack.push(f);
                        st.end(before, after);
                    }
                    None => {
                        st.skipped(&mut reader, &e, before, after, bytes);
                        st.leave_child(child_of, after);
                    }
                }
            }
            Event::End(_) => st.end(before, after),
            Event::Text(t) if st.top() == K::T => {
                let s = t.xml10_content();
                st.emit(&s, Some((SegKind::Text, before, after)));
            }
            Event::CData(t) if st.top() == K::T => {
                let s = t.xml10_content();
                st.emit(&s, Some((SegKind::CData, before, after)));
            }
            Event::GeneralRef(r) => {
                let c = xml::resolve_ref(part, &r)?;
                if st.top() == K::T {
                    let mut b = [0u8; 4];
                    st.emit(c.encode_utf8(&mut b), Some((SegKind::Ref, before, after)));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(Scan {
        maps: st.maps,
        markers: st.markers,
        w_uri: w_uri.unwrap_or_else(|| xml::W_TRANSITIONAL.to_string()),
        paras: st.paras,
    })
}

/// The WordprocessingML namespace the root element's prefix is bound to (declared on the root
/// itself; the last declaration wins, as in the reader): Strict or transitional.
fn root_uri(e: &BytesStart<'_>) -> String {
    let name = e.name();
    let want = match name.prefix() {
        Some(p) => format!("xmlns:{}", p.into_inner()),
        None => "xmlns".to_string(),
    };
    let last = e
        .attributes()
        .with_checks(false)
        .flatten()
        .filter(|a| a.key.as_ref() == want)
        .last()
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.trim().to_string())
        });
    match last.as_deref() {
        Some(xml::W_STRICT) => xml::W_STRICT.to_string(),
        _ => xml::W_TRANSITIONAL.to_string(),
    }
}

impl State<'_> {
    fn top(&self) -> K {
        self.stack.last().map_or(K::Other, |f| f.kind)
    }

    fn detail(&self) -> bool {
        self.mode.detail
    }

    /// If the element starting at `at` is a direct child of an outermost mapped run, records it.
    fn enter_child(&mut self, at: usize) -> Option<(u32, u32)> {
        let (m, r) = self.stack.last()?.run?;
        let run = self.run_mut(m, r)?;
        let idx = u32::try_from(run.children.len()).ok()?;
        run.children.push((at, at));
        run.open_child = Some(idx);
        Some((m, r))
    }

    fn leave_child(&mut self, child_of: Option<(u32, u32)>, end: usize) {
        let Some((m, r)) = child_of else { return };
        if let Some(run) = self.run_mut(m, r)
            && let Some(c) = run.open_child.take()
            && let Some(ch) = run.children.get_mut(c as usize)
        {
            ch.1 = end;
        }
    }

    fn run_mut(&mut self, m: u32, r: u32) -> Option<&mut RMap> {
        self.maps.get_mut(m as usize)?.runs.get_mut(r as usize)
    }

    /// The outermost mapped run of the innermost paragraph, when a run is open in it.
    fn outer_run(&self) -> Option<(u32, u32)> {
        let o = self.open.last()?;
        Some((o.map?, o.outer.flatten()?))
    }

    fn element(
        &mut self,
        reader: &mut XmlReader<'_>,
        e: &BytesStart<'_>,
        before: usize,
        after: usize,
        has_content: bool,
    ) -> Result<Option<Frame>, ReadError> {
        let (ns, local) = reader.element(e);
        if matches!(self.top(), K::PPr | K::RPr) {
            return Ok(None);
        }
        let kind = match ns {
            Ns::Mc => self.mc(reader, e, local),
            Ns::Other => K::Other,
            Ns::W => match local {
                "p" => {
                    self.open_paragraph(e);
                    return Ok(Some(Frame::new(K::P)));
                }
                "r" => return Ok(Some(self.open_run(e, before, after, !has_content))),
                "t" => {
                    let mut f = Frame::new(K::T);
                    let direct = self.stack.last().and_then(|p| p.run);
                    if direct.is_none()
                        && let Some((m, r)) = self.outer_run()
                        && let Some(run) = self.run_mut(m, r)
                    {
                        run.nested_t = true;
                    }
                    if let Some((m, r)) = direct
                        && self.detail()
                    {
                        let preserve = e
                            .attributes()
                            .with_checks(false)
                            .flatten()
                            .any(|a| a.key.as_ref() == "xml:space");
                        if let Some(run) = self.run_mut(m, r) {
                            let t = u32::try_from(run.ts.len()).unwrap_or(u32::MAX);
                            run.ts.push(TMap {
                                qname: e.name().as_ref().as_bytes().to_vec(),
                                start: before,
                                close: None,
                                preserve,
                            });
                            if has_content {
                                f.t = Some((m, r, t));
                            }
                        }
                    }
                    return Ok(Some(f));
                }
                "tab" | "ptab" => return Ok(self.atom("\t", has_content)),
                "br" | "cr" => return Ok(self.atom("\n", has_content)),
                "noBreakHyphen" => return Ok(self.atom("-", has_content)),
                "sym" => {
                    let c = reader
                        .w_attr(e, "char")
                        .and_then(|v| u32::from_str_radix(v.trim(), 16).ok())
                        .and_then(char::from_u32);
                    if let Some(c) = c {
                        let mut b = [0u8; 4];
                        self.emit(c.encode_utf8(&mut b), None);
                    }
                    return Ok(skip_or(has_content));
                }
                "fldChar" => {
                    let kind = reader.w_attr(e, "fldCharType");
                    self.field_char(kind.as_deref());
                    self.mark_field();
                    return Ok(skip_or(has_content));
                }
                "del" | "moveFrom" | "rt" => {
                    self.suppress = self.suppress.saturating_add(1);
                    K::Suppress
                }
                "commentRangeStart" | "commentRangeEnd" => {
                    let kind = if local == "commentRangeStart" {
                        MarkerKind::Start
                    } else {
                        MarkerKind::End
                    };
                    let id = reader
                        .w_attr(e, "id")
                        .map(|v| v.trim().to_string())
                        .unwrap_or_default();
                    self.marker(kind, id);
                    K::Other
                }
                "commentReference" => {
                    let id = reader
                        .w_attr(e, "id")
                        .map(|v| v.trim().to_string())
                        .unwrap_or_default();
                    self.marker(MarkerKind::Reference, id);
                    return Ok(None);
                }
                "instrText" | "delInstrText" => {
                    self.mark_field();
                    return Ok(None);
                }
                "pPr" if self.top() == K::P => return Ok(Some(Frame::new(K::PPr))),
                "rPr" if self.top() == K::R => return Ok(Some(Frame::new(K::RPr))),
                "pPr" | "rPr" | "delText" | "sdtPr" | "sdtEndPr" | "sectPr" | "tblPr" | "tblGrid"
                | "trPr" | "tcPr" | "tblPrEx" | "customXmlPr" | "smartTagPr" | "rubyPr"
                | "footnoteReference" | "endnoteReference" | "background" | "bookmarkStart"
                | "bookmarkEnd" | "proofErr" | "permStart" | "permEnd" => return Ok(None),
                _ => K::Other,
            },
        };
        let mut frame = Frame::new(kind);
        if has_content {
            frame.cont = self.open_container(ns, local, e, before, after);
        }
        Ok(Some(frame))
    }

    fn mc(&mut self, reader: &mut XmlReader<'_>, e: &BytesStart<'_>, local: &str) -> K {
        let parent_is_ac = self.top() == K::Ac;
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

    /// Records a container when the innermost paragraph is mapped and no run is open in it.
    fn open_container(
        &mut self,
        ns: Ns,
        local: &str,
        e: &BytesStart<'_>,
        before: usize,
        after: usize,
    ) -> Option<(u32, u32)> {
        if !self.detail() {
            return None;
        }
        let o = self.open.last()?;
        let m = o.map?;
        if o.outer.is_some() {
            return None;
        }
        let parent = o.cstack.last().copied();
        let chars = o.chars;
        let kind = match (ns, local) {
            (Ns::W, "hyperlink" | "ins" | "moveTo" | "sdtContent" | "dir" | "bdo") => CKind::Valid,
            (Ns::W, "smartTag" | "customXml") => CKind::Split,
            (Ns::W, "fldSimple") => CKind::Opaque,
            (Ns::W, "del" | "moveFrom") => CKind::Deleted,
            _ => CKind::Invalid,
        };
        let map = self.maps.get_mut(m as usize)?;
        let idx = u32::try_from(map.containers.len()).ok()?;
        map.containers.push(CMap {
            kind,
            qname: e.name().as_ref().as_bytes().to_vec(),
            start: before,
            tag_end: after,
            props: None,
            end: after,
            parent,
            first_run: None,
            last_run: None,
            char_start: chars,
            char_end: chars,
        });
        if let Some(o) = self.open.last_mut() {
            o.cstack.push(idx);
        }
        Some((m, idx))
    }

    fn atom(&mut self, s: &str, has_content: bool) -> Option<Frame> {
        self.emit(s, None);
        skip_or(has_content)
    }

    fn mark_field(&mut self) {
        if let Some((m, r)) = self.outer_run()
            && let Some(run) = self.run_mut(m, r)
        {
            run.has_field = true;
        }
    }

    fn marker(&mut self, kind: MarkerKind, id: String) {
        let next_para = u32::try_from(self.paras.len()).unwrap_or(u32::MAX);
        let (para, offset, unread) = match self.open.last() {
            Some(o) => (Some(o.locator), o.chars, self.skip > o.skip_at_open),
            None => (None, 0, self.skip > 0),
        };
        self.markers.push(Marker {
            kind,
            id,
            para,
            next_para,
            offset,
            unread,
        });
    }

    /// Called after a skipped subtree: records the properties of a container (a content control
    /// bound to data is opaque) and the instruction of a field.
    fn skipped(
        &mut self,
        reader: &mut XmlReader<'_>,
        e: &BytesStart<'_>,
        start: usize,
        end: usize,
        main: &[u8],
    ) {
        let Some(parent) = self.stack.last().copied() else {
            return;
        };
        let (ns, local) = reader.element(e);
        if ns != Ns::W {
            return;
        }
        if local == "instrText" {
            self.instruction(main.get(start..end).unwrap_or_default());
        }
        if let Some((m, c)) = parent.cont
            && let Some(cm) = self
                .maps
                .get_mut(m as usize)
                .and_then(|p| p.containers.get_mut(c as usize))
        {
            match local {
                "smartTagPr" | "customXmlPr" => cm.props = Some((start, end)),
                "sdtPr" => {
                    let props = main.get(start..end).unwrap_or_default();
                    if memchr::memmem::find(props, b"dataBinding").is_some() {
                        cm.kind = CKind::Opaque;
                    }
                }
                _ => {}
            }
        }
    }

    /// Collects the outermost field's instruction from a `w:instrText` element's raw bytes.
    fn instruction(&mut self, raw: &[u8]) {
        let read = self.suppress == 0 && self.open.last().is_none_or(|o| o.skip_at_open == self.skip);
        if !read || self.fields.as_slice() != [true] || self.cur_instr.len() > 64 {
            return;
        }
        let from = raw.iter().position(|&b| b == b'>').map_or(raw.len(), |i| i + 1);
        let to = memchr::memmem::rfind(raw, b"</").unwrap_or(from).max(from);
        self.cur_instr
            .push_str(&String::from_utf8_lossy(raw.get(from..to).unwrap_or_default()));
        if let Some((m, f)) = self.cur_field
            && let Some(span) = self
                .maps
                .get_mut(m as usize)
                .and_then(|p| p.fields.get_mut(f as usize))
        {
            span.transparent = transparent(&self.cur_instr);
        }
    }

    fn open_paragraph(&mut self, e: &BytesStart<'_>) {
        let locator = u32::try_from(self.paras.len()).unwrap_or(u32::MAX);
        let in_reading = self.skip == 0;
        self.paras.push((0, in_reading));
        // A paragraph opening inside a run of a mapped paragraph: that run holds a text box.
        if let Some((m, r)) = self.outer_run()
            && let Some(run) = self.run_mut(m, r)
        {
            run.has_nested_p = true;
        }
        let wanted = match self.mode.targets {
            None => true,
            Some(t) => t.get(locator as usize).copied().unwrap_or(false),
        };
        let map = if wanted {
            let idx = u32::try_from(self.maps.len()).ok();
            self.maps.push(PMap {
                locator,
                qname: e.name().as_ref().as_bytes().to_vec(),
                text: String::new(),
                chars: 0,
                runs: Vec::new(),
                containers: Vec::new(),
                pieces: Vec::new(),
                fields: Vec::new(),
            });
            idx
        } else {
            None
        };
        self.open.push(Open {
            locator,
            map,
            chars: 0,
            skip_at_open: self.skip,
            outer: None,
            cstack: Vec::new(),
        });
    }

    fn open_run(&mut self, e: &BytesStart<'_>, before: usize, after: usize, empty: bool) -> Frame {
        let depth = self.open.len();
        let mut frame = Frame::new(K::R);
        let dead = self.suppress > 0 || self.open.last().is_some_and(|o| o.skip_at_open != self.skip);
        let detail = self.detail();
        if let Some(o) = self.open.last_mut()
            && o.outer.is_none()
        {
            // An outermost run of this paragraph.
            let mut mapped = None;
            if let Some(m) = o.map
                && detail
                && let Some(map) = self.maps.get_mut(m as usize)
                && let Ok(ri) = u32::try_from(map.runs.len())
            {
                let parent = o.cstack.last().copied();
                map.runs.push(RMap {
                    qname: e.name().as_ref().as_bytes().to_vec(),
                    start: before,
                    tag_end: after,
                    end: after,
                    rpr: None,
                    parent,
                    char_start: o.chars,
                    char_end: o.chars,
                    has_field: false,
                    has_nested_p: false,
                    dead,
                    nested_t: false,
                    field: None,
                    children: Vec::new(),
                    ts: Vec::new(),
                    open_child: None,
                });
                for &c in &o.cstack {
                    if let Some(cm) = map.containers.get_mut(c as usize) {
                        cm.first_run.get_or_insert(ri);
                        cm.last_run = Some(ri);
                    }
                }
                mapped = Some(ri);
                frame.run = Some((m, ri));
                if !self.fields.is_empty() {
                    let f = match self.cur_field {
                        Some((fm, f)) if fm == m => Some(f),
                        _ => {
                            let f = u32::try_from(map.fields.len()).ok();
                            map.fields.push(FSpan {
                                begin: None,
                                end: None,
                                transparent: transparent(&self.cur_instr),
                            });
                            if let Some(f) = f {
                                self.cur_field = Some((m, f));
                            }
                            f
                        }
                    };
                    if let Some(run) = map.runs.last_mut() {
                        run.field = f;
                    }
                }
            }
            if !empty {
                o.outer = Some(mapped);
            }
        }
        self.runs.push(OpenRun { depth });
        frame
    }

    fn field_char(&mut self, kind: Option<&str>) {
        if self.suppress > 0 || self.open.last().is_some_and(|o| o.skip_at_open != self.skip) {
            return;
        }
        match kind.map(str::trim) {
            Some("begin") => {
                if self.fields.is_empty() && self.field_overflow == 0 {
                    self.cur_field = None;
                    self.cur_instr.clear();
                    if let Some((m, r)) = self.outer_run()
                        && let Some(map) = self.maps.get_mut(m as usize)
                        && let Ok(f) = u32::try_from(map.fields.len())
                    {
                        map.fields.push(FSpan {
                            begin: Some(r),
                            end: None,
                            transparent: false,
                        });
                        if let Some(run) = map.runs.get_mut(r as usize) {
                            run.field = Some(f);
                        }
                        self.cur_field = Some((m, f));
                    }
                }
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
                    if self.fields.is_empty() {
                        if let (Some((fm, f)), Some((m, r))) = (self.cur_field, self.outer_run())
                            && fm == m
                            && let Some(span) = self
                                .maps
                                .get_mut(m as usize)
                                .and_then(|p| p.fields.get_mut(f as usize))
                        {
                            span.end = Some(r);
                        }
                        self.cur_field = None;
                    }
                }
            }
            _ => {}
        }
    }

    /// Appends read text (same conditions as the reader) and records where it came from.
    fn emit(&mut self, s: &str, seg: Option<(SegKind, usize, usize)>) {
        if s.is_empty() || self.suppress > 0 || self.field_overflow > 0 || self.fields.contains(&true) {
            return;
        }
        let depth = self.open.len();
        let t_frame = self.stack.last().and_then(|f| f.t);
        let detail = self.detail();
        let Some(o) = self.open.last_mut() else { return };
        if o.skip_at_open != self.skip {
            return;
        }
        if self.runs.last().is_none_or(|r| r.depth != depth) {
            return;
        }
        let n = if s.is_ascii() { s.len() } else { s.chars().count() };
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        let start = o.chars;
        o.chars = o.chars.saturating_add(n);
        let chars_now = o.chars;
        let outer = o.outer.flatten();
        let Some(m) = o.map else { return };
        let Some(map) = self.maps.get_mut(m as usize) else {
            return;
        };
        map.text.push_str(s);
        map.chars = chars_now;
        if !detail {
            return;
        }
        let Some(ri) = outer else { return };
        let Some(run) = map.runs.get_mut(ri as usize) else {
            return;
        };
        run.char_end = chars_now;
        let child = run
            .open_child
            .unwrap_or_else(|| u32::try_from(run.children.len()).unwrap_or(u32::MAX));
        let seg = match (seg, t_frame) {
            (Some((kind, a, b)), Some((tm, tr, t))) if tm == m && tr == ri => Some(Seg {
                t,
                kind,
                start: a,
                end: b,
            }),
            _ => None,
        };
        map.pieces.push(Piece {
            char_start: start,
            chars: n,
            run: ri,
            child,
            seg,
        });
    }

    /// Handles the end of the innermost open element (`before..after` is its end tag).
    fn end(&mut self, before: usize, after: usize) {
        let Some(f) = self.stack.pop() else { return };
        if f.kind == K::RPr
            && let Some((m, r)) = f.child_of
            && let Some(run) = self.run_mut(m, r)
            && run.rpr.is_none()
            && let Some(start) = run
                .open_child
                .and_then(|c| run.children.get(c as usize))
                .map(|c| c.0)
        {
            run.rpr = Some((start, after));
        }
        self.leave_child(f.child_of, after);
        if let Some((m, c)) = f.cont {
            let chars = self.open.last().map_or(0, |o| o.chars);
            if let Some(cm) = self
                .maps
                .get_mut(m as usize)
                .and_then(|p| p.containers.get_mut(c as usize))
            {
                cm.end = after;
                cm.char_end = chars;
            }
            if let Some(o) = self.open.last_mut()
                && o.cstack.last() == Some(&c)
            {
                o.cstack.pop();
            }
        }
        if let Some((m, r, t)) = f.t
            && let Some(tm) = self.run_mut(m, r).and_then(|run| run.ts.get_mut(t as usize))
        {
            tm.close = Some(before);
        }
        match f.kind {
            K::P => self.close_paragraph(),
            K::R => {
                let depth = self.open.len();
                self.runs.pop();
                if let Some((m, r)) = f.run
                    && let Some(run) = self.run_mut(m, r)
                {
                    run.end = after;
                }
                // The outermost run of the innermost paragraph closes when no run of that
                // paragraph is left open.
                if self.runs.last().is_none_or(|r| r.depth != depth)
                    && let Some(o) = self.open.last_mut()
                {
                    o.outer = None;
                }
            }
            K::Suppress => self.suppress = self.suppress.saturating_sub(1),
            K::BranchOff => self.skip = self.skip.saturating_sub(1),
            K::Ac => {
                self.ac.pop();
            }
            K::Other | K::T | K::BranchOn | K::PPr | K::RPr => {}
        }
    }

    fn close_paragraph(&mut self) {
        let Some(o) = self.open.pop() else { return };
        while self.runs.last().is_some_and(|r| r.depth > self.open.len()) {
            self.runs.pop();
        }
        if let Some(p) = self.paras.get_mut(o.locator as usize) {
            p.0 = o.chars;
        }
    }
}

fn skip_or(has_content: bool) -> Option<Frame> {
    if has_content {
        None
    } else {
        Some(Frame::new(K::Other))
    }
}
