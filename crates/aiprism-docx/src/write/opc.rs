//! Package plumbing for the writer: where new markup goes in the comments part, the main part's
//! relationships and `[Content_Types].xml`, and re-assembling the zip with every untouched entry
//! copied raw (same compressed bytes, CRC, order and name).

use std::collections::HashMap;
use std::io::{Cursor, Write};

use quick_xml::events::Event;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::WriteError;
use super::out::escape_attr;
use crate::xml::{self, Ns, XmlReader};

/// Content type of a comments part (the same in Strict packages).
pub(crate) const CT_COMMENTS: &str =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml";
const CT_RELS: &str = "application/vnd.openxmlformats-package.relationships+xml";
const NS_RELS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
/// Comments relationship type, transitional.
pub(crate) const REL_COMMENTS_T: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments";
/// Comments relationship type, Strict.
pub(crate) const REL_COMMENTS_S: &str = "http://purl.oclc.org/ooxml/officeDocument/relationships/comments";
/// Compression level of rewritten parts: fast; the main part can be several megabytes.
const LEVEL: i64 = 1;
/// [`LEVEL`] as flate2 takes it.
const LEVEL_U32: u32 = 1;
/// Rewritten parts smaller than this are stored uncompressed: relationships and content types are
/// a few kilobytes, and setting up a deflate stream (its window and hash tables) costs more than
/// the bytes it would save. Word and every zip reader open stored entries.
const STORE_BELOW: usize = 4096;

/// The root element of a part: its qualified name, namespace class and local name, and where
/// content can be appended (`insert_at`), or `None` when it is self-closing (`<x/>`, whose `/>`
/// starts at `empty_at`).
pub(crate) struct Root {
    pub(crate) qname: Vec<u8>,
    pub(crate) ns: Ns,
    pub(crate) local: String,
    pub(crate) insert_at: Option<usize>,
    pub(crate) empty_at: usize,
}

/// Finds the root element of a decoded part and the offset of its end tag.
pub(crate) fn root(part: &str, bytes: &[u8]) -> Result<Root, WriteError> {
    let mut r = XmlReader::new(part, bytes);
    let mut found: Option<Root> = None;
    let mut empty_root: Option<Root> = None;
    let mut depth = 0usize;
    loop {
        let before = r.offset();
        let ev = r.next()?;
        let after = r.offset();
        match ev {
            Event::Start(_) | Event::Empty(_) if found.as_ref().is_some_and(|f| f.insert_at.is_some()) => {
                return Err(WriteError::BadPart {
                    part: part.to_string(),
                    detail: "a second root element".into(),
                });
            }
            Event::Start(e) => {
                if found.is_none() {
                    let (ns, local) = r.element(&e);
                    found = Some(Root {
                        qname: e.name().as_ref().as_bytes().to_vec(),
                        ns,
                        local: local.to_string(),
                        insert_at: None,
                        empty_at: after,
                    });
                }
                depth += 1;
            }
            Event::Empty(e) if found.is_none() => {
                let (ns, local) = r.element(&e);
                let slash = bytes
                    .get(before..after)
                    .and_then(|t| t.iter().rposition(|&c| c == b'/'))
                    .map_or(after, |p| before + p);
                empty_root = Some(Root {
                    qname: e.name().as_ref().as_bytes().to_vec(),
                    ns,
                    local: local.to_string(),
                    insert_at: None,
                    empty_at: slash,
                });
                break;
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 0
                    && let Some(f) = found.as_mut()
                    && f.insert_at.is_none()
                {
                    f.insert_at = Some(before);
                }
            }
            Event::Eof => break,
            // Anything after the root element (a second root, text) means a damaged part: it is
            // refused rather than patched.
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_)
                if found.as_ref().is_some_and(|f| f.insert_at.is_some()) =>
            {
                let stray =
                    matches!(&ev, Event::Text(t) if t.xml10_content().chars().all(char::is_whitespace));
                if !stray {
                    return Err(WriteError::BadPart {
                        part: part.to_string(),
                        detail: "content after the root element".into(),
                    });
                }
            }
            _ => {}
        }
    }
    if let Some(root) = empty_root {
        // Nothing but whitespace, comments or processing instructions may follow.
        loop {
            match r.next()? {
                Event::Eof => return Ok(root),
                Event::Text(t) if t.xml10_content().chars().all(char::is_whitespace) => {}
                Event::Comment(_) | Event::PI(_) => {}
                _ => {
                    return Err(WriteError::BadPart {
                        part: part.to_string(),
                        detail: "content after the root element".into(),
                    });
                }
            }
        }
    }
    match found {
        Some(f) if f.insert_at.is_some() => Ok(f),
        _ => Err(WriteError::BadPart {
            part: part.to_string(),
            detail: "no root element".into(),
        }),
    }
}

/// Inserts `content` as the last children of the root element.
pub(crate) fn append_to_root(bytes: &[u8], root: &Root, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + content.len() + 16);
    match root.insert_at {
        Some(at) => {
            out.extend_from_slice(bytes.get(..at).unwrap_or_default());
            out.extend_from_slice(content);
            out.extend_from_slice(bytes.get(at..).unwrap_or_default());
        }
        None => {
            // `<x .../>` -> `<x ...>content</x>`
            out.extend_from_slice(bytes.get(..root.empty_at).unwrap_or_default());
            out.push(b'>');
            out.extend_from_slice(content);
            out.extend_from_slice(b"</");
            out.extend_from_slice(&root.qname);
            out.push(b'>');
            let rest = bytes.get(root.empty_at..).unwrap_or_default();
            let skip = rest.iter().position(|&c| c == b'>').map_or(rest.len(), |p| p + 1);
            out.extend_from_slice(rest.get(skip..).unwrap_or_default());
        }
    }
    out
}

/// Prefix (with colon) of a qualified name, `""` when unprefixed.
fn prefix_of(qname: &[u8]) -> String {
    match qname.iter().position(|&b| b == b':') {
        Some(i) => format!("{}:", String::from_utf8_lossy(qname.get(..i).unwrap_or_default())),
        None => String::new(),
    }
}

/// Encodes rewritten text the way the original part was encoded (UTF-8 with or without BOM, or
/// UTF-16 with its BOM), so the XML declaration stays true.
pub(crate) fn reencode(original: &[u8], text: Vec<u8>) -> Vec<u8> {
    let utf16 = |le: bool| {
        let s = String::from_utf8_lossy(&text);
        let mut out = if le { vec![0xFF, 0xFE] } else { vec![0xFE, 0xFF] };
        for u in s.encode_utf16() {
            out.extend_from_slice(&if le { u.to_le_bytes() } else { u.to_be_bytes() });
        }
        out
    };
    if original.starts_with(b"\xFF\xFE") {
        utf16(true)
    } else if original.starts_with(b"\xFE\xFF") {
        utf16(false)
    } else if original.starts_with(b"\xEF\xBB\xBF") {
        let mut out = b"\xEF\xBB\xBF".to_vec();
        out.extend_from_slice(&text);
        out
    } else {
        text
    }
}

/// A new, unused part name for the comments part next to the main part.
pub(crate) fn new_comments_name(main: &str, names: &[String]) -> String {
    let dir = main
        .rsplit_once('/')
        .map_or(String::new(), |(d, _)| format!("{d}/"));
    let taken = |n: &str| names.iter().any(|x| x.eq_ignore_ascii_case(n));
    let mut name = format!("{dir}comments.xml");
    let mut i = 1u32;
    while taken(&name) {
        name = format!("{dir}comments{i}.xml");
        i = i.saturating_add(1);
    }
    name
}

/// The main part's relationships with a comments relationship added (or a new rels part).
pub(crate) fn add_comments_rel(
    rels_name: &str,
    existing: Option<&[u8]>,
    ids: &[String],
    main: &str,
    comments: &str,
    strict: bool,
) -> Result<Vec<u8>, WriteError> {
    let mut n = ids.len() + 1;
    let mut id = format!("rId{n}");
    while ids.iter().any(|x| x == &id) {
        n += 1;
        id = format!("rId{n}");
    }
    let dir = main.rsplit_once('/').map_or("", |(d, _)| d);
    let target = comments
        .strip_prefix(dir)
        .and_then(|t| t.strip_prefix('/'))
        .map_or_else(|| format!("/{comments}"), str::to_string);
    let kind = if strict { REL_COMMENTS_S } else { REL_COMMENTS_T };
    let mut target_esc = String::new();
    escape_attr(&target, &mut target_esc);
    match existing {
        Some(bytes) => {
            let decoded = xml::decode_part(rels_name, bytes)?;
            let root = root(rels_name, &decoded)?;
            let p = prefix_of(&root.qname);
            let rel = format!("<{p}Relationship Id=\"{id}\" Type=\"{kind}\" Target=\"{target_esc}\"/>");
            Ok(reencode(bytes, append_to_root(&decoded, &root, rel.as_bytes())))
        }
        None => Ok(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships xmlns=\"{NS_RELS}\"><Relationship Id=\"{id}\" Type=\"{kind}\" Target=\"{target_esc}\"/></Relationships>"
        )
        .into_bytes()),
    }
}

/// `[Content_Types].xml` with an override for the comments part (and a `rels` default when a
/// relationships part is being created and none exists). `None` when nothing needs to change.
pub(crate) fn add_content_types(
    bytes: &[u8],
    comments: &str,
    need_rels: bool,
) -> Result<Option<Vec<u8>>, WriteError> {
    let part = "[Content_Types].xml";
    let decoded = xml::decode_part(part, bytes)?;
    let want = format!("/{comments}");
    let mut has_override = false;
    let mut has_rels = false;
    let mut r = XmlReader::new(part, &decoded);
    loop {
        match r.next()? {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                "Override"
                    if xml::plain_attr(&e, "PartName").is_some_and(|p| p.eq_ignore_ascii_case(&want)) =>
                {
                    has_override = true;
                }
                "Default"
                    if xml::plain_attr(&e, "Extension").is_some_and(|x| x.eq_ignore_ascii_case("rels")) =>
                {
                    has_rels = true;
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if has_override && (has_rels || !need_rels) {
        return Ok(None);
    }
    let root = root(part, &decoded)?;
    let p = prefix_of(&root.qname);
    let mut add = String::new();
    if need_rels && !has_rels {
        add.push_str(&format!(
            "<{p}Default Extension=\"rels\" ContentType=\"{CT_RELS}\"/>"
        ));
    }
    if !has_override {
        let mut name = String::new();
        escape_attr(&want, &mut name);
        add.push_str(&format!(
            "<{p}Override PartName=\"{name}\" ContentType=\"{CT_COMMENTS}\"/>"
        ));
    }
    Ok(Some(reencode(
        bytes,
        append_to_root(&decoded, &root, add.as_bytes()),
    )))
}

/// Index of an entry by part name: exact, else case-insensitive (OPC names are).
pub(crate) fn find_index(names: &[String], name: &str) -> Option<usize> {
    names
        .iter()
        .position(|n| n == name)
        .or_else(|| names.iter().position(|n| n.eq_ignore_ascii_case(name)))
}

/// New content of a rewritten entry.
pub(crate) enum Content<'a> {
    /// These bytes.
    Bytes(Vec<u8>),
    /// `base` with `edits` applied, streamed into the compressor (the main part can be large).
    Spliced {
        /// The part's bytes (UTF-8).
        base: &'a [u8],
        /// Sorted, consistent edits.
        edits: &'a [super::plan::Edit],
        /// Written first (a UTF-8 byte-order mark the original had).
        prefix: &'static [u8],
    },
}

impl Content<'_> {
    fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        match self {
            Content::Bytes(b) => w.write_all(b),
            Content::Spliced { base, edits, prefix } => {
                w.write_all(prefix)?;
                super::plan::apply_to(base, edits, w)
            }
        }
    }

    /// The content as consecutive slices (no copy of a spliced part).
    fn segments(&self) -> Vec<&[u8]> {
        match self {
            Content::Bytes(b) => vec![b.as_slice()],
            Content::Spliced { base, edits, prefix } => {
                let mut out = Vec::with_capacity(edits.len() * 2 + 2);
                out.push(*prefix);
                let mut cursor = 0usize;
                for e in edits.iter() {
                    out.push(base.get(cursor..e.at).unwrap_or_default());
                    out.push(e.bytes.as_slice());
                    cursor = e.at + e.del;
                }
                out.push(base.get(cursor..).unwrap_or_default());
                out
            }
        }
    }

    fn len_hint(&self) -> usize {
        match self {
            Content::Bytes(b) => b.len(),
            Content::Spliced { base, .. } => base.len(),
        }
    }
}

/// Writes the package: entries in `changed` (by index) rewritten, every other entry copied raw,
/// `added` appended at the end.
pub(crate) fn assemble(
    original: &[u8],
    changed: &HashMap<usize, Content<'_>>,
    added: &[(String, Vec<u8>)],
) -> Result<Vec<u8>, WriteError> {
    let zerr = |e: zip::result::ZipError| WriteError::Zip {
        detail: e.to_string(),
    };
    let mut archive = ZipArchive::new(Cursor::new(original)).map_err(zerr)?;
    let extra: usize = changed.values().map(Content::len_hint).sum::<usize>() / 4;
    let mut w = ZipWriter::new(Cursor::new(Vec::with_capacity(original.len() + extra)));
    let fresh = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(LEVEL));
    let options_for = |len: usize| {
        if len < STORE_BELOW {
            SimpleFileOptions::default().compression_method(CompressionMethod::Stored)
        } else {
            fresh
        }
    };
    for i in 0..archive.len() {
        let file = archive.by_index_raw(i).map_err(zerr)?;
        match changed.get(&i) {
            Some(bytes) => {
                let name = file.name().map_err(zerr)?.into_owned();
                let modified = file.last_modified();
                let mut opts = options_for(bytes.len_hint());
                if let Some(t) = modified {
                    opts = opts.last_modified_time(t);
                }
                // The original's compressed bytes, for a spliced part to be made from.
                let raw = match (file.compression(), file.data_start()) {
                    (CompressionMethod::Deflated, Some(at)) => usize::try_from(at)
                        .ok()
                        .zip(usize::try_from(file.compressed_size()).ok())
                        .and_then(|(at, n)| original.get(at..at.checked_add(n)?)),
                    _ => None,
                };
                drop(file);
                if let (Some(raw), Content::Spliced { base, edits, prefix }) = (raw, bytes)
                    && let Some(z) = super::recode::rewrite(raw, prefix, base, edits)
                {
                    let segments = bytes.segments();
                    let mut crc = crc32fast::Hasher::new();
                    segments.iter().for_each(|s| crc.update(s));
                    let size = segments.iter().map(|s| s.len()).sum();
                    if let Some(r) =
                        super::deflate::write_precompressed(&mut w, &name, &z, size, crc.finalize(), modified)
                    {
                        r.map_err(zerr)?;
                        continue;
                    }
                }
                if bytes.len_hint() >= STORE_BELOW {
                    // Deflated here rather than by the zip writer: a large part (the main one)
                    // on several cores, any part straight from its spliced pieces.
                    let chunks = super::deflate::chunks_for(bytes.len_hint());
                    let segments = bytes.segments();
                    let size = segments.iter().map(|s| s.len()).sum();
                    let (z, crc) = super::deflate::deflate(&segments, LEVEL_U32, chunks).map_err(|e| {
                        WriteError::Zip {
                            detail: e.to_string(),
                        }
                    })?;
                    if let Some(r) =
                        super::deflate::write_precompressed(&mut w, &name, &z, size, crc, modified)
                    {
                        r.map_err(zerr)?;
                        continue;
                    }
                }
                w.start_file(name, opts).map_err(zerr)?;
                bytes.write_to(&mut w).map_err(|e| WriteError::Zip {
                    detail: e.to_string(),
                })?;
            }
            None => w.raw_copy_file(file).map_err(zerr)?,
        }
    }
    for (name, bytes) in added {
        if bytes.len() >= STORE_BELOW {
            let (z, crc) =
                super::deflate::deflate(&[bytes.as_slice()], LEVEL_U32, 1).map_err(|e| WriteError::Zip {
                    detail: e.to_string(),
                })?;
            if let Some(r) = super::deflate::write_precompressed(&mut w, name, &z, bytes.len(), crc, None) {
                r.map_err(zerr)?;
                continue;
            }
        }
        w.start_file(name.as_str(), options_for(bytes.len()))
            .map_err(zerr)?;
        w.write_all(bytes).map_err(|e| WriteError::Zip {
            detail: e.to_string(),
        })?;
    }
    Ok(w.finish().map_err(zerr)?.into_inner())
}
