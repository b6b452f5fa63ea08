//! What a scan of the main part records: mapped paragraphs with their runs, containers, fields
//! and read characters (byte offsets into the decoded part), and the comment markers.

/// Which paragraphs to map, and how much to record.
pub(crate) struct Mode<'a> {
    /// `targets[locator]` is true for paragraphs to map; `None` maps every paragraph.
    pub(crate) targets: Option<&'a [bool]>,
    /// Record runs, containers and pieces (the writer); otherwise only text (reading comments).
    pub(crate) detail: bool,
}

/// The result of a pass.
pub(crate) struct Scan {
    /// Mapped paragraphs in locator order.
    pub(crate) maps: Vec<PMap>,
    /// Every comment marker in document order.
    pub(crate) markers: Vec<Marker>,
    /// Namespace URI of the root element (transitional or Strict WordprocessingML).
    pub(crate) w_uri: String,
    /// `(chars, in_reading_text)` of every paragraph, by locator.
    pub(crate) paras: Vec<(u32, bool)>,
}

/// A mapped paragraph.
pub(crate) struct PMap {
    pub(crate) locator: u32,
    /// Qualified name as written (`w:p`), whose prefix is bound to WordprocessingML.
    pub(crate) qname: Vec<u8>,
    pub(crate) text: String,
    pub(crate) chars: u32,
    pub(crate) runs: Vec<RMap>,
    pub(crate) containers: Vec<CMap>,
    pub(crate) pieces: Vec<Piece>,
    /// Outermost complex fields (`fldChar` begin .. end) that touch this paragraph.
    pub(crate) fields: Vec<FSpan>,
}

/// The part of an outermost complex field inside one paragraph: field results are regenerated
/// (and LibreOffice makes some of them atomic), so markers only go around whole fields.
pub(crate) struct FSpan {
    /// The run holding `fldChar begin`, when it is in this paragraph.
    pub(crate) begin: Option<u32>,
    /// The run holding `fldChar end`, when it is in this paragraph.
    pub(crate) end: Option<u32>,
    /// A field whose result is the author's own text (`HYPERLINK`, `FORMTEXT`): Word keeps it on
    /// update and LibreOffice imports it as text, so markers may go inside.
    pub(crate) transparent: bool,
}

/// Whether a field instruction names a field whose result is the author's text.
pub(crate) fn transparent(instr: &str) -> bool {
    instr
        .split_whitespace()
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("HYPERLINK") || w.eq_ignore_ascii_case("FORMTEXT"))
}

/// Whether markers may be direct children of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CKind {
    /// Run-level content (`hyperlink`, `ins`, `sdtContent`, `smartTag`, ...): markers and
    /// `w:del` wrappers may go inside.
    Valid,
    /// Anything else (`sdt`, `mc:*`, foreign markup): markers must go outside it.
    Invalid,
    /// A deletion or move source: valid, but its runs are already deleted.
    Deleted,
    /// Content that is regenerated or atomic (a simple field's result, a data-bound content
    /// control): nothing may go anywhere inside it, markers only around it.
    Opaque,
    /// A smart tag or run-level custom XML element: LibreOffice drops markers inside it (Word
    /// strips the element and keeps its content), so it is split around markers.
    Split,
}

/// An element between a mapped paragraph and its runs.
pub(crate) struct CMap {
    pub(crate) kind: CKind,
    pub(crate) qname: Vec<u8>,
    pub(crate) start: usize,
    /// End of its start tag.
    pub(crate) tag_end: usize,
    /// Its properties child (`w:smartTagPr`, `w:customXmlPr`), copied when it is split.
    pub(crate) props: Option<(usize, usize)>,
    pub(crate) end: usize,
    pub(crate) parent: Option<u32>,
    pub(crate) first_run: Option<u32>,
    pub(crate) last_run: Option<u32>,
    pub(crate) char_start: u32,
    pub(crate) char_end: u32,
}

/// An outermost run of a mapped paragraph.
pub(crate) struct RMap {
    pub(crate) qname: Vec<u8>,
    /// `<w:r` .. end of its start tag.
    pub(crate) start: usize,
    pub(crate) tag_end: usize,
    /// After its end tag (== `tag_end` for `<w:r/>`).
    pub(crate) end: usize,
    /// Byte range of its direct `w:rPr`.
    pub(crate) rpr: Option<(usize, usize)>,
    pub(crate) parent: Option<u32>,
    pub(crate) char_start: u32,
    pub(crate) char_end: u32,
    /// Holds `fldChar` / `instrText` (never wrapped in a tracked deletion).
    pub(crate) has_field: bool,
    /// Holds a nested paragraph (a text box).
    pub(crate) has_nested_p: bool,
    /// Inside a deletion, a move source or an unread branch.
    pub(crate) dead: bool,
    /// Holds a `w:t` that is not its direct child (e.g. an emoji in `mc:Fallback`).
    pub(crate) nested_t: bool,
    /// The outermost complex field this run is part of (index into the paragraph's `fields`).
    pub(crate) field: Option<u32>,
    /// Direct children `(start, end)`.
    pub(crate) children: Vec<(usize, usize)>,
    /// Direct-child `w:t` elements.
    pub(crate) ts: Vec<TMap>,
    /// The direct child being read (while the scan is inside it).
    pub(crate) open_child: Option<u32>,
}

/// A direct-child `w:t` of a run.
pub(crate) struct TMap {
    pub(crate) qname: Vec<u8>,
    pub(crate) start: usize,
    /// `<` of its end tag (`None` for `<w:t/>`).
    pub(crate) close: Option<usize>,
    pub(crate) preserve: bool,
}

/// Characters `char_start..char_start + chars` of a paragraph came from here.
pub(crate) struct Piece {
    pub(crate) char_start: u32,
    pub(crate) chars: u32,
    pub(crate) run: u32,
    /// Index into the run's `children` of the direct child that holds these characters.
    pub(crate) child: u32,
    /// Set when the characters are text directly inside a direct-child `w:t`.
    pub(crate) seg: Option<Seg>,
}

/// Raw bytes of one text event inside a `w:t`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seg {
    pub(crate) t: u32,
    pub(crate) kind: SegKind,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// What kind of text event a segment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SegKind {
    Text,
    CData,
    Ref,
}

/// A comment marker in the main part.
pub(crate) struct Marker {
    pub(crate) kind: MarkerKind,
    pub(crate) id: String,
    /// The innermost open paragraph, if any.
    pub(crate) para: Option<u32>,
    /// Locator the next paragraph to open will get.
    pub(crate) next_para: u32,
    /// Characters read so far in `para`.
    pub(crate) offset: u32,
    /// In a branch of `mc:AlternateContent` that is not read.
    pub(crate) unread: bool,
}

/// Which marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MarkerKind {
    Start,
    End,
    Reference,
}
