//! Shared XML plumbing: decoding a part's bytes, refusing DTDs, namespace classes and the small
//! attribute helpers every WordprocessingML reader needs.

use std::borrow::Cow;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::reader::Reader;

use crate::error::ReadError;

/// WordprocessingML main namespace, transitional (ECMA-376 / ISO 29500 transitional).
pub(crate) const W_TRANSITIONAL: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
/// WordprocessingML main namespace, ISO 29500 Strict.
pub(crate) const W_STRICT: &str = "http://purl.oclc.org/ooxml/wordprocessingml/main";
/// Markup Compatibility (mc:AlternateContent) namespace.
pub(crate) const MC: &str = "http://schemas.openxmlformats.org/markup-compatibility/2006";

/// Namespaces whose markup we understand well enough to read an `mc:Choice` that requires them.
/// Text boxes (wps), groups (wpg), canvases (wpc), Word 2010/2012 extensions (w14, w15, wp14,
/// a14) and VML are all read the same way as their fallbacks would be, so preferring the Choice
/// only avoids reading duplicates. Anything else (w16se emoji symbols, chartex, ink, 3D models)
/// makes us read the Fallback instead, as the Markup Compatibility rules prescribe.
const UNDERSTOOD_NS: &[&str] = &[
    W_TRANSITIONAL,
    W_STRICT,
    "http://schemas.microsoft.com/office/word/2010/wordprocessingShape",
    "http://schemas.microsoft.com/office/word/2010/wordprocessingGroup",
    "http://schemas.microsoft.com/office/word/2010/wordprocessingCanvas",
    "http://schemas.microsoft.com/office/word/2010/wordprocessingDrawing",
    "http://schemas.microsoft.com/office/word/2010/wordml",
    "http://schemas.microsoft.com/office/word/2012/wordml",
    "http://schemas.microsoft.com/office/drawing/2010/main",
    "http://schemas.openxmlformats.org/drawingml/2006/main",
    "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "http://schemas.openxmlformats.org/drawingml/2006/picture",
    "urn:schemas-microsoft-com:vml",
    "urn:schemas-microsoft-com:office:office",
    "urn:schemas-microsoft-com:office:word",
];

/// Most namespace declarations in scope at once (real parts have dozens); lookups are linear.
const MAX_BINDINGS: usize = 4096;

/// Which namespace an element or attribute belongs to, as far as the readers care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ns {
    /// WordprocessingML main (transitional or strict: they read the same).
    W,
    /// Markup compatibility.
    Mc,
    /// Anything else, or unbound.
    Other,
}

fn classify_uri(uri: &str) -> Ns {
    if uri == W_TRANSITIONAL || uri == W_STRICT {
        Ns::W
    } else if uri == MC {
        Ns::Mc
    } else {
        Ns::Other
    }
}

/// One in-scope namespace declaration.
struct Binding {
    /// `None` for the default namespace (`xmlns="..."`).
    prefix: Option<Box<str>>,
    ns: Ns,
    understood: bool,
    /// Depth of the element that declared it.
    depth: usize,
}

/// A streaming XML reader with its own namespace resolution. quick-xml's `NsReader` parses every
/// element's attributes to find declarations; WordprocessingML puts `rsid` attributes on nearly
/// every element and declares namespaces almost only on the root, so this reader looks at an
/// element's attributes only when its raw attribute text contains `xmlns`.
pub(crate) struct XmlReader<'a> {
    reader: Reader<&'a [u8]>,
    part: &'a str,
    bindings: Vec<Binding>,
    depth: usize,
    /// An `Empty` element was returned: its declarations go out of scope on the next read.
    pending_empty: bool,
    /// Index into `bindings` of the last successful prefix lookup.
    cache: Option<usize>,
    /// Length of the whole input, so [`XmlReader::offset`] can tell how far the parser is.
    len: usize,
}

impl<'a> XmlReader<'a> {
    /// A reader over a part's decoded bytes; `part` names it in errors.
    pub(crate) fn new(part: &'a str, bytes: &'a [u8]) -> XmlReader<'a> {
        let mut reader = Reader::from_reader(bytes);
        let cfg = reader.config_mut();
        cfg.check_end_names = true;
        cfg.expand_empty_elements = false;
        cfg.trim_text(false);
        XmlReader {
            reader,
            part,
            bindings: Vec::new(),
            depth: 0,
            pending_empty: false,
            cache: None,
            len: bytes.len(),
        }
    }

    /// Byte offset in the input of the next event: before `next()` it is where the event will
    /// start, after it where the event ended. The comment writer splices the part at these offsets.
    pub(crate) fn offset(&self) -> usize {
        self.len.saturating_sub(self.reader.get_ref().len())
    }

    /// The next event. DTDs are refused here, for every part.
    pub(crate) fn next(&mut self) -> Result<Event<'a>, ReadError> {
        if self.pending_empty {
            self.pending_empty = false;
            self.pop_scope(self.depth + 1);
        }
        let ev = self.reader.read_event().map_err(|e| malformed(self.part, e))?;
        match &ev {
            Event::Start(e) => {
                self.depth += 1;
                self.no_lt_in_tag(e)?;
                self.declare(e, self.depth)?;
            }
            Event::Empty(e) => {
                self.pending_empty = true;
                self.no_lt_in_tag(e)?;
                self.declare(e, self.depth + 1)?;
            }
            Event::End(_) => {
                self.pop_scope(self.depth);
                self.depth = self.depth.saturating_sub(1);
            }
            Event::DocType(_) => return Err(dtd(self.part)),
            _ => {}
        }
        Ok(ev)
    }

    /// Skips the rest of the element whose `Start` was just returned.
    ///
    /// Fast path: the subtree is jumped over by scanning for `<` and the parser then reads the
    /// element's own end tag (so its end-name checking stays in step). Used only when the subtree
    /// holds no comment, CDATA, processing instruction or element of the same name; otherwise the
    /// parser walks the subtree. Skipped bytes are not tokenised: the subtrees skipped hold only
    /// formatting properties and field codes, never text we read.
    pub(crate) fn skip(&mut self, e: &BytesStart<'_>) -> Result<(), ReadError> {
        if self.skip_plain(e)? {
            return Ok(());
        }
        self.reader
            .read_to_end(e.name())
            .map_err(|er| malformed(self.part, er))?;
        self.pop_scope(self.depth);
        self.depth = self.depth.saturating_sub(1);
        Ok(())
    }

    /// Ends a jump: the parser resumes at `tail`, which starts with the end tag of the element
    /// whose `Start` was last returned, and reads it (so its end-name check stays in step).
    fn land_on_end_tag(&mut self, tail: &'a [u8]) -> Result<(), ReadError> {
        *self.reader.get_mut() = tail;
        match self.reader.read_event().map_err(|er| malformed(self.part, er))? {
            Event::End(_) => {}
            _ => return Err(malformed(self.part, "unexpected content while skipping")),
        }
        self.pop_scope(self.depth);
        self.depth = self.depth.saturating_sub(1);
        Ok(())
    }

    /// [`XmlReader::skip`]'s fast path alone: jumps over the rest of the element whose `Start` was
    /// just returned when its content is plain (see [`end_tag_offset`]); otherwise consumes
    /// nothing and returns `false`, and the caller walks the subtree.
    pub(crate) fn skip_plain(&mut self, e: &BytesStart<'_>) -> Result<bool, ReadError> {
        let rest: &'a [u8] = self.reader.get_ref();
        let Some(at) = end_tag_offset(rest, e.name().as_ref().as_bytes()) else {
            return Ok(false);
        };
        self.land_on_end_tag(rest.get(at..).unwrap_or_default())?;
        Ok(true)
    }

    /// Jumps to the end tag at byte `end` of the input, which [`plain_subtree_end`] found for the
    /// element whose `Start` was just returned, and reads it. Returns `false`, having consumed
    /// nothing, when `end` is not ahead.
    pub(crate) fn jump_to(&mut self, end: usize) -> Result<bool, ReadError> {
        let rest: &'a [u8] = self.reader.get_ref();
        let Some(at) = end.checked_sub(self.offset()) else {
            return Ok(false);
        };
        let Some(tail) = rest.get(at..) else {
            return Ok(false);
        };
        self.land_on_end_tag(tail)?;
        Ok(true)
    }

    /// Jumps over the rest of the element whose `Start` was just returned when a byte scan can
    /// vouch that its content is plain markup (see [`plain_subtree_end`]), then reads its end
    /// tag so the parser's end-name checking stays in step. Returns `false`, having consumed
    /// nothing, when the content must be walked event by event instead.
    pub(crate) fn jump_plain(&mut self, e: &BytesStart<'_>, avoid: &[&[u8]]) -> Result<bool, ReadError> {
        let rest: &'a [u8] = self.reader.get_ref();
        let Some(at) = plain_subtree_end(rest, e.name().as_ref().as_bytes(), avoid) else {
            return Ok(false);
        };
        self.land_on_end_tag(rest.get(at..).unwrap_or_default())?;
        Ok(true)
    }

    /// Refuses a `<` inside a tag (XML forbids it in attribute values; the parser lets it
    /// through), so every `<` in an accepted part starts markup, which the fast skips rely on.
    fn no_lt_in_tag(&self, e: &BytesStart<'_>) -> Result<(), ReadError> {
        if memchr::memchr(b'<', e.attributes_raw().as_bytes()).is_some() {
            return Err(malformed(self.part, "'<' inside a tag"));
        }
        Ok(())
    }

    fn declare(&mut self, e: &BytesStart<'_>, depth: usize) -> Result<(), ReadError> {
        let raw = e.attributes_raw();
        // `contains(char)` is a memchr; the substring search runs only when an 'x' is present.
        if !raw.contains('x') || !raw.contains("xmlns") {
            return Ok(());
        }
        for attr in e.attributes().with_checks(false).flatten() {
            let key = attr.key.as_ref();
            let prefix = if key == "xmlns" {
                None
            } else if let Some(p) = key.strip_prefix("xmlns:") {
                Some(Box::from(p))
            } else {
                continue;
            };
            let uri = attr.normalized_value(XmlVersion::Implicit1_0).unwrap_or_default();
            let uri = uri.trim();
            self.bindings.push(Binding {
                prefix,
                ns: classify_uri(uri),
                understood: UNDERSTOOD_NS.contains(&uri),
                depth,
            });
            self.cache = None;
            if self.bindings.len() > MAX_BINDINGS {
                return Err(malformed(self.part, "too many namespace declarations in scope"));
            }
        }
        Ok(())
    }

    fn pop_scope(&mut self, depth: usize) {
        while self.bindings.last().is_some_and(|b| b.depth >= depth) {
            self.bindings.pop();
            self.cache = None;
        }
    }

    fn lookup(&mut self, prefix: Option<&str>) -> Option<&Binding> {
        if let Some(i) = self.cache
            && let Some(b) = self.bindings.get(i)
            && b.prefix.as_deref() == prefix
        {
            return self.bindings.get(i);
        }
        let i = self
            .bindings
            .iter()
            .rposition(|b| b.prefix.as_deref() == prefix)?;
        self.cache = Some(i);
        self.bindings.get(i)
    }

    /// Namespace class and local name of an element.
    pub(crate) fn element<'n>(&mut self, e: &'n BytesStart<'_>) -> (Ns, &'n str) {
        let name = e.name();
        let (local, prefix) = name.decompose();
        let ns = self
            .lookup(prefix.map(|p| p.into_inner()))
            .map_or(Ns::Other, |b| b.ns);
        (ns, local.into_inner())
    }

    /// The value of the attribute whose local name is `local` in the WordprocessingML namespace
    /// (any prefix), or unprefixed (some producers write `val=`).
    pub(crate) fn w_attr<'e>(&mut self, e: &'e BytesStart<'_>, local: &str) -> Option<Cow<'e, str>> {
        for attr in e.attributes().with_checks(false).flatten() {
            let (l, prefix) = attr.key.decompose();
            if l.into_inner() != local {
                continue;
            }
            let ok = match prefix {
                None => true,
                Some(p) => self.lookup(Some(p.into_inner())).is_some_and(|b| b.ns == Ns::W),
            };
            if ok {
                return attr.normalized_value(XmlVersion::Implicit1_0).ok();
            }
        }
        None
    }

    /// Whether every prefix listed in an `mc:Choice/@Requires` value is bound to a namespace we
    /// understand (see [`UNDERSTOOD_NS`]). An empty list is not understood.
    pub(crate) fn requires_understood(&mut self, requires: &str) -> bool {
        let mut any = false;
        for prefix in requires.split_ascii_whitespace() {
            any = true;
            if !self.lookup(Some(prefix)).is_some_and(|b| b.understood) {
                return false;
            }
        }
        any
    }
}

/// Offset in `rest` of the end tag `</name>` that closes an element just opened, when the content
/// before it is plain: no `<!` (comment, CDATA), no `<?`, no element of the same name. `None`
/// means "let the parser walk it".
fn end_tag_offset(rest: &[u8], name: &[u8]) -> Option<usize> {
    let delim = |b: Option<&u8>| matches!(b, Some(b'>' | b' ' | b'\t' | b'\r' | b'\n' | b'/'));
    for at in memchr::memchr_iter(b'<', rest) {
        let after = rest.get(at + 1..)?;
        match after.first()? {
            b'!' | b'?' => return None,
            b'/' => {
                let tail = after.get(1..)?;
                if tail.starts_with(name) && delim(tail.get(name.len())) {
                    return Some(at);
                }
            }
            _ => {
                if after.starts_with(name) && delim(after.get(name.len())) {
                    return None; // nested element of the same name
                }
            }
        }
    }
    None
}

/// Byte classes of a tag's name scan: 0 a name byte, 1 `:`, 2 a byte that ends a name
/// (whitespace, `/`, `>`), as the parser splits names.
const NAME_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b':' as usize] = 1;
    t[b' ' as usize] = 2;
    t[b'\t' as usize] = 2;
    t[b'\r' as usize] = 2;
    t[b'\n' as usize] = 2;
    t[b'/' as usize] = 2;
    t[b'>' as usize] = 2;
    t
};

/// The name at the start of a tag (after `<` or `</`): bytes up to whitespace, `/` or `>`;
/// with where its local part starts.
pub(crate) fn tag_name(tag: &[u8]) -> (&[u8], usize) {
    let mut local = 0;
    let mut n = tag.len();
    for (i, &b) in tag.iter().enumerate() {
        match NAME_CLASS[usize::from(b)] {
            0 => {}
            1 => local = i + 1,
            _ => {
                n = i;
                break;
            }
        }
    }
    (tag.get(..n).unwrap_or_default(), local.min(n))
}

/// Short byte strings compared inline (names are a few bytes; a library call costs more).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Where the tag at the start of `seg` (a tag and the text after it, up to the next `<`) ends,
/// and whether it closes itself. Most tags are followed by a tag: when `seg` ends in a `>` not
/// after a `/`, that `>` is taken as the end of an open tag. That can only mistake a
/// self-closing tag followed by text ending in `>` for an open one, and the caller's name
/// pairing then gives up. A `seg` ending in its only `>`, after a `/`, is a self-closing tag.
/// Anything else is read exactly: the first `>` outside quoted values.
/// `None` (the caller gives up) when there is none: a `<` inside the tag.
fn tag_end(seg: &[u8]) -> Option<(usize, bool)> {
    let last = seg.len().checked_sub(1)?;
    if seg.get(last) == Some(&b'>') {
        if last == 0 || seg.get(last - 1) != Some(&b'/') {
            return Some((last, false));
        }
        // `.../>` with no other `>` before it: a self-closing tag, nothing else.
        if !seg.get(..last).unwrap_or_default().contains(&b'>') {
            return Some((last, true));
        }
    }
    let mut quote = 0u8;
    for (i, &b) in seg.iter().enumerate() {
        if quote != 0 {
            if b == quote {
                quote = 0;
            }
            continue;
        }
        match b {
            b'"' | b'\'' => quote = b,
            b'>' => return Some((i, i > 0 && seg.get(i - 1) == Some(&b'/'))),
            _ => {}
        }
    }
    None
}

/// The local part of a qualified name.
fn local_of(qname: &[u8]) -> &[u8] {
    qname.rsplit(|&b| b == b':').next().unwrap_or(qname)
}

/// Offset in `rest` (what follows the start tag of an element named `qname`) of the end tag that
/// closes it, found by a byte scan that vouches only for well-formed content: every `<` starts a
/// tag that ends before the next `<` (so no `<` hides in an attribute value), and start and end
/// tags pair up by name. It gives up (`None`:
/// "walk it") at anything else, and at a comment, CDATA section or processing instruction, an
/// element with `qname`'s local name (so nesting cannot fool it) or one whose local name is in
/// `avoid`. On content it accepts, the parser and the readers' skips see exactly these tags, so
/// a jump lands where walking would; damaged or unusual markup is walked, as the reader walks it.
pub(crate) fn plain_subtree_end(rest: &[u8], qname: &[u8], avoid: &[&[u8]]) -> Option<usize> {
    let local = local_of(qname);
    let mut open: Vec<&[u8]> = Vec::with_capacity(16);
    let mut lts = memchr::memchr_iter(b'<', rest).peekable();
    while let Some(at) = lts.next() {
        let next = lts.peek().copied().unwrap_or(rest.len());
        // The tag with the text after it, up to the next tag.
        let seg = rest.get(at + 1..next)?;
        let (gt, self_closing) = tag_end(seg)?;
        let (close, (name, local_at)) = match seg.first()? {
            b'!' | b'?' => return None,
            b'/' => (true, tag_name(seg.get(1..gt)?)),
            _ => (false, tag_name(seg.get(..gt)?)),
        };
        if name.is_empty() {
            return None;
        }
        if close {
            match open.pop() {
                Some(o) if same(o, name) => {}
                Some(_) => return None,
                None if same(name, qname) => return Some(at),
                None => return None,
            }
        } else {
            let l = name.get(local_at..).unwrap_or_default();
            if same(l, local) || avoid.iter().any(|a| same(a, l)) {
                return None;
            }
            if !self_closing {
                open.push(name);
            }
        }
    }
    None
}

/// Turns a part's bytes into UTF-8 text for the parser: strips a UTF-8 byte-order mark (some
/// producers write one) and transcodes UTF-16 parts (allowed by OPC, rare). UTF-8 validity itself
/// is checked by the parser as it goes.
pub(crate) fn decode_part<'a>(part: &str, bytes: &'a [u8]) -> Result<Cow<'a, [u8]>, ReadError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return Ok(Cow::Borrowed(rest));
    }
    let utf16 = |le: bool, body: &[u8]| -> Result<Cow<'a, [u8]>, ReadError> {
        let units = body.chunks_exact(2).map(|c| {
            let pair = [c.first().copied().unwrap_or(0), c.get(1).copied().unwrap_or(0)];
            if le {
                u16::from_le_bytes(pair)
            } else {
                u16::from_be_bytes(pair)
            }
        });
        let s: String = char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map_err(|_| ReadError::MalformedXml {
                part: part.to_string(),
                detail: "invalid UTF-16".into(),
            })?;
        // The declaration still says UTF-16; the parser does not act on it without its
        // `encoding` feature, so the transcoded text parses as UTF-8.
        Ok(Cow::Owned(s.into_bytes()))
    };
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(true, rest);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(false, rest);
    }
    Ok(Cow::Borrowed(bytes))
}

/// Maps a parser error to the user-facing error for `part`.
pub(crate) fn malformed(part: &str, e: impl std::fmt::Display) -> ReadError {
    ReadError::MalformedXml {
        part: part.to_string(),
        detail: e.to_string(),
    }
}

/// The error for a DOCTYPE found in `part`: we never process DTDs or entity declarations.
pub(crate) fn dtd(part: &str) -> ReadError {
    ReadError::DtdForbidden {
        part: part.to_string(),
    }
}

/// Resolves an entity reference found in text. Only the five predefined entities and character
/// references exist without a DTD (and DTDs are refused), so anything else is malformed.
pub(crate) fn resolve_ref(part: &str, r: &BytesRef<'_>) -> Result<char, ReadError> {
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) => Ok(c),
            Ok(None) | Err(_) => Err(malformed(part, format!("bad character reference &{};", &**r))),
        };
    }
    match &**r {
        "amp" => Ok('&'),
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "quot" => Ok('"'),
        "apos" => Ok('\''),
        other => Err(malformed(part, format!("undefined entity &{other};"))),
    }
}

/// The value of an unqualified attribute (e.g. relationship `Target`, `mc:Choice/@Requires`).
pub(crate) fn plain_attr(e: &BytesStart<'_>, local: &str) -> Option<String> {
    for attr in e.attributes().with_checks(false).flatten() {
        if attr.key.as_ref() == local {
            return attr
                .normalized_value(XmlVersion::Implicit1_0)
                .ok()
                .map(Cow::into_owned);
        }
    }
    None
}

/// Reads an ST_OnOff value: absent value means on; "0", "false", "off" mean off.
pub(crate) fn on_off(val: Option<&str>) -> bool {
    !matches!(
        val.map(str::trim),
        Some("0" | "false" | "off" | "False" | "FALSE" | "Off")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_off_values() {
        assert!(on_off(None));
        assert!(on_off(Some("1")));
        assert!(on_off(Some("true")));
        assert!(on_off(Some("on")));
        assert!(!on_off(Some("0")));
        assert!(!on_off(Some("false")));
        assert!(!on_off(Some("off")));
    }

    #[test]
    fn prefixes_resolve_by_scope_not_by_spelling() {
        let xml = r#"<x:document xmlns:x="http://purl.oclc.org/ooxml/wordprocessingml/main"><x:p xmlns:x="urn:other"/><x:p/><p xmlns="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/><w:p/></x:document>"#;
        let mut r = XmlReader::new("t", xml.as_bytes());
        let mut seen = Vec::new();
        loop {
            match r.next().expect("well-formed") {
                Event::Start(e) | Event::Empty(e) => {
                    let (ns, local) = r.element(&e);
                    seen.push((ns, local.to_string()));
                }
                Event::Eof => break,
                _ => {}
            }
        }
        let names = |n: &str| n.to_string();
        assert_eq!(
            seen,
            vec![
                (Ns::W, names("document")),
                (Ns::Other, names("p")),
                (Ns::W, names("p")),
                (Ns::W, names("p")),
                (Ns::Other, names("p"))
            ]
        );
    }

    #[test]
    fn fast_skip_finds_the_right_end_tag_or_declines() {
        assert_eq!(
            end_tag_offset(b"<w:b/><w:rPrChange/></w:rPr>x", b"w:rPr"),
            Some(20)
        );
        assert_eq!(end_tag_offset(b"<w:b/></w:rPr >", b"w:rPr"), Some(6));
        assert_eq!(
            end_tag_offset(b"<w:rPr><w:b/></w:rPr></w:rPr>", b"w:rPr"),
            None,
            "nesting"
        );
        assert_eq!(
            end_tag_offset(b"<!-- </w:rPr> --></w:rPr>", b"w:rPr"),
            None,
            "comment"
        );
        assert_eq!(
            end_tag_offset(b"<![CDATA[</w:rPr>]]></w:rPr>", b"w:rPr"),
            None,
            "cdata"
        );
        assert_eq!(end_tag_offset(b"<w:b/>", b"w:rPr"), None, "unclosed");
        // Skipping keeps the parser in step: what follows the skipped element still parses.
        let xml = "<r><w:rPr><w:b/><w:i w:val='1'/></w:rPr><w:t>after</w:t></r>";
        let mut r = XmlReader::new("t", xml.as_bytes());
        let mut texts = Vec::new();
        loop {
            match r.next().expect("well-formed") {
                Event::Start(e) if e.name().as_ref() == "w:rPr" => r.skip(&e).expect("skips"),
                Event::Text(t) => texts.push(t.xml10_content().into_owned()),
                Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(texts, vec!["after".to_string()]);
        // A mismatched end after a fast skip is still an error.
        let bad = "<r><w:rPr><w:b/></w:rPr></x></r>";
        let mut r = XmlReader::new("t", bad.as_bytes());
        let mut failed = false;
        for _ in 0..10 {
            match r.next() {
                Ok(Event::Start(e)) if e.name().as_ref() == "w:rPr" => r.skip(&e).expect("skips"),
                Ok(Event::Eof) => break,
                Err(_) => {
                    failed = true;
                    break;
                }
                _ => {}
            }
        }
        assert!(failed, "end-name checking survives the fast skip");
    }

    #[test]
    fn plain_subtrees_are_jumped_only_when_the_scan_can_vouch_for_them() {
        let end = |rest: &str| plain_subtree_end(rest.as_bytes(), b"w:p", &[b"fldChar"]);
        let plain = r#"<w:pPr><w:jc w:val="left"/></w:pPr><w:r w:rsidR='00A1'><w:t xml:space="preserve">a &amp; b</w:t><w:br /></w:r></w:p><w:p/>"#;
        assert_eq!(end(plain), plain.find("</w:p>"));
        let spaced = "<w:r><w:t>x</w:t></w:r></w:p >";
        assert_eq!(end(spaced), spaced.find("</w:p"), "space before '>'");
        assert_eq!(end("</w:p>"), Some(0), "empty paragraph");
        let gts = r#"<w:r a="x>y"><w:t>a > b</w:t></w:r></w:p>"#;
        assert_eq!(
            end(gts),
            gts.find("</w:p>"),
            "'>' in an open tag's value and in text"
        );
        let gts = r#"<w:r><w:b a=">"/></w:r></w:p>"#;
        assert_eq!(end(gts), gts.find("</w:p>"), "'>' in a self-closing tag's value");
        let gts = r#"<w:r><w:t a='>"'>x/></w:t><w:b/></w:r></w:p>"#;
        assert_eq!(
            end(gts),
            gts.find("</w:p>"),
            "quotes of both kinds, text ending in '/>'"
        );
        for (bad, why) in [
            (
                r#"<w:r><w:b a=">"<w:x/></w:r></w:p>"#,
                "'>' and '<' inside a value",
            ),
            (
                r#"<w:bookmarkStart w:x='"' w:y="/>">t</w:p></w:bookmarkStart></w:p>"#,
                "'/>' in a value among mixed quotes",
            ),
            (
                "<w:bookmarkStart>t/></w:p></w:bookmarkStart></w:p>",
                "text ending in '/>' inside an element",
            ),
            (r#"<w:r a="</w:p>"/></w:p>"#, "'<' inside a value"),
            ("<w:r><w:color w<w:cols/></w:r></w:p>", "'<' inside a tag"),
            ("<w:pPr><w:sectPr></w:rPr></w:pPr></w:p>", "mismatched end tag"),
            ("<w:r></w:p>", "unclosed child"),
            ("</w:r></w:p>", "end tag with nothing open"),
            ("<!-- </w:p> --></w:p>", "comment"),
            ("<w:t><![CDATA[</w:p>]]></w:t></w:p>", "CDATA"),
            ("<?pi x?></w:p>", "processing instruction"),
            (
                "<w:txbxContent><w:p></w:p></w:txbxContent></w:p>",
                "nested paragraph",
            ),
            ("<a:p></a:p></w:p>", "same local name, other prefix"),
            (
                "<w:r><w:fldChar w:fldCharType='begin'/></w:r></w:p>",
                "avoided element",
            ),
            ("<w:r><w:t>never closed", "no end tag"),
            ("< w:r></w:p>", "empty name"),
        ] {
            assert_eq!(end(bad), None, "{why}");
        }
        // After a jump the parser is in step: what follows still parses, and a mismatched end is
        // still an error.
        let xml = "<b><w:p><w:r><w:t>skipped</w:t></w:r></w:p><w:t>after</w:t></b>";
        let mut r = XmlReader::new("t", xml.as_bytes());
        let mut texts = Vec::new();
        loop {
            match r.next().expect("well-formed") {
                Event::Start(e) if e.name().as_ref() == "w:p" => {
                    assert!(r.jump_plain(&e, &[]).expect("jumps"))
                }
                Event::Text(t) => texts.push(t.xml10_content().into_owned()),
                Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(texts, vec!["after".to_string()]);
        let bad = "<b><w:p><w:r/></w:p></x></b>";
        let mut r = XmlReader::new("t", bad.as_bytes());
        let mut failed = false;
        for _ in 0..10 {
            match r.next() {
                Ok(Event::Start(e)) if e.name().as_ref() == "w:p" => {
                    assert!(r.jump_plain(&e, &[]).expect("jumps"))
                }
                Ok(Event::Eof) => break,
                Err(_) => {
                    failed = true;
                    break;
                }
                _ => {}
            }
        }
        assert!(failed, "end-name checking survives the jump");
    }

    #[test]
    fn a_less_than_sign_inside_a_tag_is_malformed() {
        for bad in ["<a b=\"x<y\"><c/></a>", "<a><c d='</a>'/></a>"] {
            let mut r = XmlReader::new("t", bad.as_bytes());
            let err = loop {
                match r.next() {
                    Ok(Event::Eof) => break None,
                    Ok(_) => {}
                    Err(e) => break Some(e),
                }
            };
            assert!(matches!(err, Some(ReadError::MalformedXml { .. })), "{bad}");
        }
    }

    #[test]
    fn namespace_declarations_are_capped() {
        let decls: String = (0..5000).map(|i| format!(" xmlns:p{i}=\"urn:x{i}\"")).collect();
        let xml = format!("<r{decls}><p1:a/></r>");
        let mut r = XmlReader::new("t", xml.as_bytes());
        assert!(matches!(r.next(), Err(ReadError::MalformedXml { .. })));
    }

    #[test]
    fn decode_strips_bom_and_transcodes_utf16() {
        let d = decode_part("p", b"\xEF\xBB\xBF<a/>").expect("utf8");
        assert_eq!(&*d, b"<a/>");
        let mut le = vec![0xFF, 0xFE];
        for u in "<a>é</a>".encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        let d = decode_part("p", &le).expect("utf16");
        assert_eq!(std::str::from_utf8(&d).expect("utf8 out"), "<a>é</a>");
    }
}
