//! The OPC package: zip safety (limits enforced while streaming, every entry read to the end so
//! checksum errors surface), relationship parsing and locating the main document and styles
//! parts through relationships (the main part is not always `word/document.xml`).

use std::collections::HashMap;
use std::io::{Cursor, Read};

use quick_xml::events::Event;
use zip::ZipArchive;
use zip::result::ZipError;

use crate::Limits;
use crate::error::ReadError;
use crate::xml;

/// Decompression chunk: limits are checked after every chunk.
const CHUNK: usize = 64 * 1024;
const CHUNK_U64: u64 = 64 * 1024;
/// Most bytes reserved up front from an entry's declared size.
const MAX_RESERVE: u64 = 16 * 1024 * 1024;
/// Entries above this many decompressed bytes are subject to [`Limits::max_ratio`].
const RATIO_FLOOR: u64 = 1024 * 1024;
/// Largest kept entry inflated in one call into a buffer of its declared size; larger ones, and
/// any whose declared size turns out wrong, are inflated chunk by chunk.
const MAX_WHOLE: u64 = 256 * 1024 * 1024;
/// Largest entry read only to validate it that is inflated in one call (into a reused scratch
/// buffer): bigger ones stream through the 64 KiB chunk buffer, so memory stays bounded.
const MAX_WHOLE_SCRATCH: u64 = 4 * 1024 * 1024;

const REL_OFFICE_DOCUMENT: &[&str] = &[
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument",
    "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument",
];
/// Comments part relationship (transitional, Strict).
pub(crate) const REL_COMMENTS: &[&str] = &[
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments",
    "http://purl.oclc.org/ooxml/officeDocument/relationships/comments",
];
const REL_STYLES: &[&str] = &[
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles",
    "http://purl.oclc.org/ooxml/officeDocument/relationships/styles",
];

/// The parts of a validated package that the readers need.
pub(crate) struct Package {
    /// Name of the main document part (from the officeDocument relationship).
    pub(crate) main_name: String,
    /// Its bytes.
    pub(crate) main: Vec<u8>,
    /// The styles part, if the main part has one.
    pub(crate) styles: Option<(String, Vec<u8>)>,
    /// Notes about unusual but readable packages.
    pub(crate) warnings: Vec<String>,
}

/// Opens and fully validates a package: every entry is decompressed to its end (so a corrupt
/// entry anywhere rejects the file) under `limits`, and the parts we read are kept.
pub(crate) fn open(bytes: &[u8], limits: &Limits) -> Result<Package, ReadError> {
    open_with(bytes, limits, false).map(|(p, _)| p)
}

/// What the comment writer needs beyond what the reader needs: the parts it may change and every
/// number already used as an annotation id.
pub(crate) struct ForWrite {
    /// Name of the main part's relationships part (it may not exist yet).
    pub(crate) main_rels_name: String,
    /// Its bytes when it exists.
    pub(crate) main_rels: Option<Vec<u8>>,
    /// Its relationships.
    pub(crate) rels: Vec<Rel>,
    /// `[Content_Types].xml`, when present, with its entry name as stored.
    pub(crate) content_types: Option<(String, Vec<u8>)>,
    /// The comments part named by the main part's relationships: name, and bytes if it exists.
    pub(crate) comments: Option<(String, Option<Vec<u8>>)>,
    /// Every entry name (for choosing a new part name).
    pub(crate) names: Vec<String>,
    /// Numeric values of every `*:id` attribute in the main part's folder's XML parts.
    pub(crate) ids: Vec<i64>,
}

/// Like [`open`], also collecting what the comment writer needs (see [`ForWrite`]). Entries the
/// writer neither changes nor scans (images, other folders) are not decompressed: it copies them
/// raw.
pub(crate) fn open_for_write(bytes: &[u8], limits: &Limits) -> Result<(Package, ForWrite), ReadError> {
    let (pkg, extra) = open_with(bytes, limits, true)?;
    let extra = extra.ok_or(ReadError::NoMainPart)?;
    Ok((pkg, extra))
}

fn open_with(
    bytes: &[u8],
    limits: &Limits,
    for_write: bool,
) -> Result<(Package, Option<ForWrite>), ReadError> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(zip_error)?;
    let count = archive.len();
    if count > limits.max_entries {
        return Err(ReadError::TooManyEntries {
            count,
            limit: limits.max_entries,
        });
    }
    if archive.has_overlapping_entries().map_err(zip_error)? {
        return Err(ReadError::CorruptZip {
            detail: "entries overlap".into(),
        });
    }
    let names = NameIndex::new(&archive);
    let mut rd = EntryReader {
        limits,
        input: bytes,
        input_len: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
        total: 0,
        buf: vec![0; CHUNK],
        done: vec![false; count],
        whole: None,
        scratch: Vec::new(),
        in_scratch: None,
    };
    let mut warnings = Vec::new();

    let root_rels = match names.find("_rels/.rels") {
        Some(i) => parse_rels("_rels/.rels", &rd.read(&mut archive, i, true)?)?,
        None => Vec::new(),
    };
    let main_name = match find_rel(&root_rels, REL_OFFICE_DOCUMENT) {
        Some(target) => resolve_target("", target),
        None if names.find("word/document.xml").is_some() => {
            warnings.push("The package has no document relationship; read word/document.xml.".into());
            "word/document.xml".to_string()
        }
        None => return Err(ReadError::NoMainPart),
    };
    let main_idx = names.find(&main_name).ok_or(ReadError::NoMainPart)?;
    let main = rd.read(&mut archive, main_idx, true)?;

    let rels_name = rels_part_for(&main_name);
    let main_rels_bytes = match names.find(&rels_name) {
        Some(i) => Some(rd.read(&mut archive, i, true)?),
        None => None,
    };
    let main_rels = match &main_rels_bytes {
        Some(b) => parse_rels(&rels_name, b)?,
        None => Vec::new(),
    };
    let mut styles = None;
    if let Some(target) = find_rel(&main_rels, REL_STYLES) {
        let name = resolve_target(&main_name, target);
        match names.find(&name) {
            Some(i) => styles = Some((name, rd.read(&mut archive, i, true)?)),
            None => warnings.push(format!("The styles part {name} is missing.")),
        }
    }
    let mut extra = None;
    if for_write {
        let mut ids = Vec::new();
        scan_ids(&main, &mut ids);
        let comments = match find_rel(&main_rels, REL_COMMENTS) {
            Some(target) => {
                let name = resolve_target(&main_name, target);
                let data = match names.find(&name) {
                    Some(i) => Some(rd.read(&mut archive, i, true)?),
                    None => None,
                };
                Some((name, data))
            }
            None => None,
        };
        let content_types = match names.find("[Content_Types].xml") {
            Some(i) => {
                let stored = archive
                    .name_for_index(i)
                    .and_then(Result::ok)
                    .map(|n| n.into_owned())
                    .unwrap_or_else(|| "[Content_Types].xml".into());
                Some((stored, rd.read(&mut archive, i, true)?))
            }
            None => None,
        };
        if let Some((_, Some(c))) = &comments {
            scan_ids(c, &mut ids);
        }
        // Annotation ids are shared by every story of the document (notes, headers, comments):
        // scan the other XML parts of the main part's folder too.
        let dir = main_name.rsplit_once('/').map_or("", |(d, _)| d).to_lowercase();
        let no_stories: Vec<String> = main_rels
            .iter()
            .filter(|r| !r.external && holds_no_story(&r.kind))
            .map(|r| resolve_target(&main_name, &r.target).to_lowercase())
            .collect();
        let mut all_names = Vec::with_capacity(count);
        for i in 0..count {
            let name = archive
                .name_for_index(i)
                .and_then(Result::ok)
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_default();
            let lower = name.to_lowercase();
            let scan = lower.ends_with(".xml")
                && lower.starts_with(&dir)
                && i != main_idx
                && !no_stories.contains(&lower);
            if scan && !rd.done.get(i).copied().unwrap_or(true) {
                rd.inspect(&mut archive, i, |data| scan_ids(data, &mut ids))?;
            }
            all_names.push(name);
        }
        // The writer copies every other entry raw without decompressing it; it never reads
        // them, so they are not validated here (the reader validated the upload).
        rd.done.iter_mut().for_each(|d| *d = true);
        extra = Some(ForWrite {
            main_rels_name: rels_name,
            main_rels: main_rels_bytes,
            rels: main_rels,
            content_types,
            comments,
            names: all_names,
            ids,
        });
    }
    for i in 0..count {
        if !rd.done.get(i).copied().unwrap_or(true) {
            rd.read(&mut archive, i, false)?;
        }
    }
    let pkg = Package {
        main_name,
        main,
        styles,
        warnings,
    };
    Ok((pkg, extra))
}

/// Relationship types (by their last segment, transitional, Strict and Microsoft's) of parts
/// that hold no story, so no annotation (comment, bookmark, revision) and no annotation id:
/// settings, styles, numbering, fonts, themes, the comment people and extension lists.
const NO_STORY_KINDS: &[&str] = &[
    "settings",
    "webSettings",
    "styles",
    "stylesWithEffects",
    "numbering",
    "fontTable",
    "theme",
    "people",
    "commentsExtended",
    "commentsIds",
    "commentsExtensible",
];

/// Whether a part reached by a relationship of type `kind` holds no story (see
/// [`NO_STORY_KINDS`]); its ids need not be scanned.
fn holds_no_story(kind: &str) -> bool {
    let last = kind.trim().rsplit('/').next().unwrap_or_default();
    NO_STORY_KINDS.contains(&last)
}

/// Collects the numbers of `prefix:id="N"` attributes (any prefix, either quote). Cheap byte scan:
/// it may also see ids of other vocabularies, which only raises the floor for new ids.
pub(crate) fn scan_ids(bytes: &[u8], out: &mut Vec<i64>) {
    for at in memchr::memmem::find_iter(bytes, b":id=") {
        let rest = bytes.get(at + 4..).unwrap_or_default();
        let Some((&q, rest)) = rest.split_first() else {
            continue;
        };
        if q != b'"' && q != b'\'' {
            continue;
        }
        let digits = rest
            .iter()
            .take_while(|b| b.is_ascii_digit() || **b == b'-')
            .count();
        if rest.get(digits) != Some(&q) || digits == 0 || digits > 18 {
            continue;
        }
        if let Some(n) = std::str::from_utf8(rest.get(..digits).unwrap_or_default())
            .ok()
            .and_then(|t| t.parse::<i64>().ok())
        {
            out.push(n);
        }
    }
}

/// Decompresses entries with the limits applied to the bytes actually produced.
struct EntryReader<'l> {
    limits: &'l Limits,
    /// The whole package, so stored and deflated entries are read from their bytes in place.
    input: &'l [u8],
    input_len: u64,
    total: u64,
    buf: Vec<u8>,
    done: Vec<bool>,
    /// One-shot inflater for entries whose declared size fits the limits (created on first use,
    /// reused for every entry).
    whole: Option<libdeflater::Decompressor>,
    /// Output buffer of one-shot inflation for entries read only to validate or inspect them.
    scratch: Vec<u8>,
    /// Length of the entry last inflated into `scratch` by the current read, if it was.
    in_scratch: Option<usize>,
}

impl EntryReader<'_> {
    /// Reads entry `index` to its end like [`EntryReader::read`] and hands its bytes to `f`
    /// without keeping them: inflated into the reused scratch buffer when it fits there (no
    /// buffer allocated and zero-filled per part), else read as a kept entry.
    fn inspect(
        &mut self,
        archive: &mut ZipArchive<Cursor<&[u8]>>,
        index: usize,
        f: impl FnOnce(&[u8]),
    ) -> Result<(), ReadError> {
        let before = self.total;
        self.read(archive, index, false)?;
        if let Some(n) = self.in_scratch.take() {
            f(self.scratch.get(..n).unwrap_or_default());
            return Ok(());
        }
        // Read some other way (stored, or too large for the scratch buffer): once more, kept.
        self.total = before;
        let data = self.read(archive, index, true)?;
        f(&data);
        Ok(())
    }

    /// Reads entry `index` to its end (which makes the zip reader verify its CRC), keeping the
    /// bytes when `keep` is set.
    fn read(
        &mut self,
        archive: &mut ZipArchive<Cursor<&[u8]>>,
        index: usize,
        keep: bool,
    ) -> Result<Vec<u8>, ReadError> {
        if let Some(d) = self.done.get_mut(index) {
            *d = true;
        }
        self.in_scratch = None;
        if let Some(out) = self.read_in_place(archive, index, keep)? {
            return Ok(out);
        }
        let mut file = archive.by_index(index).map_err(zip_error)?;
        if file.encrypted() {
            return Err(ReadError::Encrypted);
        }
        let name = file.name().map(|n| n.into_owned()).unwrap_or_default();
        // The stored size cannot exceed the input, whatever the header claims.
        let compressed = file.compressed_size().min(self.input_len).max(1);
        let mut out = Vec::new();
        if keep {
            // The declared size is a hint only: never reserve more than a few chunks' worth of it.
            out.reserve(usize::try_from(file.size().min(MAX_RESERVE)).unwrap_or(0));
        }
        let mut produced: u64 = 0;
        loop {
            // Kept parts are read straight into their buffer (appended without zero-filling);
            // others into the scratch buffer.
            let n = if keep {
                (&mut file).take(CHUNK_U64).read_to_end(&mut out)
            } else {
                file.read(&mut self.buf)
            };
            let n = match n {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(ReadError::CorruptZip {
                        detail: format!("{name}: {e}"),
                    });
                }
            };
            self.count(&name, n, &mut produced, compressed)?;
        }
        Ok(out)
    }
}

impl EntryReader<'_> {
    /// The fast path of [`EntryReader::read`] for the two methods .docx files use: the entry's
    /// bytes are taken from the package in place and inflated straight into the output's spare
    /// capacity (no intermediate buffers, no zero-filling), with the same limits and the CRC
    /// checked at the end. `None` sends anything else (other methods, entries whose data does not
    /// lie inside the package) to the zip crate's reader, which reports the problem.
    fn read_in_place(
        &mut self,
        archive: &mut ZipArchive<Cursor<&[u8]>>,
        index: usize,
        keep: bool,
    ) -> Result<Option<Vec<u8>>, ReadError> {
        let (name, method, crc, start, compressed, declared) = {
            let file = archive.by_index_raw(index).map_err(zip_error)?;
            if file.encrypted() {
                return Err(ReadError::Encrypted);
            }
            let name = file.name().map(|n| n.into_owned()).unwrap_or_default();
            (
                name,
                file.compression(),
                file.crc32(),
                file.data_start(),
                file.compressed_size(),
                file.size(),
            )
        };
        let data = start.and_then(|start| {
            let start = usize::try_from(start).ok()?;
            let end = start.checked_add(usize::try_from(compressed).ok()?)?;
            self.input.get(start..end)
        });
        let Some(data) = data else { return Ok(None) };
        let ratio_base = compressed.min(self.input_len).max(1);
        match method {
            zip::CompressionMethod::Stored => {
                let mut produced = 0;
                self.count(&name, data.len(), &mut produced, ratio_base)?;
                check_crc(&name, data, crc)?;
                Ok(Some(if keep { data.to_vec() } else { Vec::new() }))
            }
            zip::CompressionMethod::Deflated => {
                let entry = Deflated {
                    name: &name,
                    data,
                    crc,
                    declared,
                    ratio_base,
                };
                if let Some(out) = self.inflate_whole(&entry, keep)? {
                    return Ok(Some(out));
                }
                self.inflate_streaming(&entry, keep).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Inflates an entry in one call into a buffer of its declared size (libdeflate: several
    /// times faster than streaming inflation). Only when that size is within the limits, so
    /// nothing is allocated that the limits forbid; `None` when the declared size is wrong or the
    /// data does not inflate, which the streaming path then reports or handles.
    fn inflate_whole(&mut self, entry: &Deflated<'_>, keep: bool) -> Result<Option<Vec<u8>>, ReadError> {
        let cap = if keep { MAX_WHOLE } else { MAX_WHOLE_SCRATCH };
        let within = entry.declared <= cap
            && self.total.saturating_add(entry.declared) <= self.limits.max_total_uncompressed
            && (entry.declared <= RATIO_FLOOR || entry.declared / entry.ratio_base <= self.limits.max_ratio);
        let Ok(size) = usize::try_from(entry.declared) else {
            return Ok(None);
        };
        if !within {
            return Ok(None);
        }
        let mut owned = Vec::new();
        let out = if keep {
            owned = vec![0u8; size];
            &mut owned
        } else {
            if self.scratch.len() < size {
                self.scratch.resize(size, 0);
            }
            &mut self.scratch
        };
        let inflater = self.whole.get_or_insert_with(libdeflater::Decompressor::new);
        // A stream longer than declared fails for want of space, a shorter one returns fewer
        // bytes: either way the declared size was wrong and the streaming path takes over.
        let room = out.get_mut(..size).unwrap_or_default();
        match inflater.deflate_decompress(entry.data, room) {
            Ok(n) if n == size => {}
            _ => return Ok(None),
        }
        check_crc(entry.name, out.get(..size).unwrap_or_default(), entry.crc)?;
        let mut produced = 0;
        self.count(entry.name, size, &mut produced, entry.ratio_base)?;
        if !keep {
            self.in_scratch = Some(size);
        }
        Ok(Some(owned))
    }

    /// Inflates an entry chunk by chunk straight into the output's spare capacity (no
    /// intermediate buffers, no zero-filling), with the limits checked after every chunk.
    fn inflate_streaming(&mut self, entry: &Deflated<'_>, keep: bool) -> Result<Vec<u8>, ReadError> {
        let mut out = Vec::new();
        if keep {
            // The declared size is a hint only: never reserve more than a few chunks' worth of it.
            out.reserve(usize::try_from(entry.declared.min(MAX_RESERVE)).unwrap_or(0));
        }
        let mut hasher = crc32fast::Hasher::new();
        let mut produced: u64 = 0;
        let corrupt = |detail: &str| ReadError::CorruptZip {
            detail: format!("{}: {detail}", entry.name),
        };
        let mut inflater = flate2::Decompress::new(false);
        let mut input = entry.data;
        loop {
            let (in_before, out_before) = (inflater.total_in(), inflater.total_out());
            let status = if keep {
                if out.capacity() - out.len() < CHUNK {
                    out.reserve(CHUNK);
                }
                let from = out.len();
                let status = inflater
                    .decompress_vec(input, &mut out, flate2::FlushDecompress::None)
                    .map_err(|e| corrupt(&e.to_string()))?;
                hasher.update(out.get(from..).unwrap_or_default());
                status
            } else {
                let status = inflater
                    .decompress(input, &mut self.buf, flate2::FlushDecompress::None)
                    .map_err(|e| corrupt(&e.to_string()))?;
                let n = usize::try_from(inflater.total_out() - out_before).unwrap_or(0);
                hasher.update(self.buf.get(..n).unwrap_or_default());
                status
            };
            let consumed = usize::try_from(inflater.total_in() - in_before).unwrap_or(0);
            let made = usize::try_from(inflater.total_out() - out_before).unwrap_or(0);
            input = input.get(consumed..).unwrap_or_default();
            self.count(entry.name, made, &mut produced, entry.ratio_base)?;
            if status == flate2::Status::StreamEnd {
                break;
            }
            if consumed == 0 && made == 0 {
                return Err(corrupt("unexpected end of compressed data"));
            }
        }
        if hasher.finalize() != entry.crc {
            return Err(corrupt("invalid checksum"));
        }
        Ok(out)
    }

    /// Counts `n` bytes produced by an entry against the package's limits.
    fn count(&mut self, name: &str, n: usize, produced: &mut u64, compressed: u64) -> Result<(), ReadError> {
        let n64 = u64::try_from(n).unwrap_or(u64::MAX);
        *produced = produced.saturating_add(n64);
        self.total = self.total.saturating_add(n64);
        if self.total > self.limits.max_total_uncompressed {
            return Err(ReadError::UncompressedTooLarge {
                limit: self.limits.max_total_uncompressed,
            });
        }
        if *produced > RATIO_FLOOR && *produced / compressed > self.limits.max_ratio {
            return Err(ReadError::CompressionRatio {
                entry: name.to_string(),
                limit: self.limits.max_ratio,
            });
        }
        Ok(())
    }
}

/// A deflated entry whose compressed bytes lie in the package, as its header describes it.
struct Deflated<'a> {
    name: &'a str,
    data: &'a [u8],
    crc: u32,
    /// Uncompressed size the header declares (a hint until checked).
    declared: u64,
    /// Compressed size as far as the package can hold it, for the ratio limit.
    ratio_base: u64,
}

/// Rejects an entry whose bytes do not match the checksum its header declares.
fn check_crc(name: &str, bytes: &[u8], crc: u32) -> Result<(), ReadError> {
    if crc32fast::hash(bytes) == crc {
        Ok(())
    } else {
        Err(ReadError::CorruptZip {
            detail: format!("{name}: invalid checksum"),
        })
    }
}

fn zip_error(e: ZipError) -> ReadError {
    match e {
        ZipError::UnsupportedArchive(m) if m == ZipError::PASSWORD_REQUIRED => ReadError::Encrypted,
        ZipError::InvalidPassword => ReadError::Encrypted,
        other => ReadError::CorruptZip {
            detail: other.to_string(),
        },
    }
}

/// Part names are case-insensitive in OPC; zip names are not. Exact match first, then a
/// case-insensitive one.
struct NameIndex {
    exact: HashMap<String, usize>,
    folded: HashMap<String, usize>,
}

impl NameIndex {
    fn new(archive: &ZipArchive<Cursor<&[u8]>>) -> NameIndex {
        let mut exact = HashMap::new();
        let mut folded = HashMap::new();
        for i in 0..archive.len() {
            if let Some(Ok(name)) = archive.name_for_index(i) {
                let name = name.trim_start_matches('/').to_string();
                folded.entry(name.to_lowercase()).or_insert(i);
                exact.entry(name).or_insert(i);
            }
        }
        NameIndex { exact, folded }
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.exact
            .get(name)
            .or_else(|| self.folded.get(&name.to_lowercase()))
            .copied()
    }
}

/// One relationship of a `.rels` part.
pub(crate) struct Rel {
    /// `Id` (unique within the part).
    pub(crate) id: String,
    /// `Type` URI.
    pub(crate) kind: String,
    /// `Target` as written.
    pub(crate) target: String,
    /// `TargetMode="External"`.
    pub(crate) external: bool,
}

pub(crate) fn find_rel<'r>(rels: &'r [Rel], kinds: &[&str]) -> Option<&'r str> {
    rels.iter()
        .find(|r| !r.external && kinds.contains(&r.kind.as_str()))
        .map(|r| r.target.as_str())
}

/// Parses a relationships part (namespace-agnostic: only `Relationship` elements matter).
pub(crate) fn parse_rels(part: &str, bytes: &[u8]) -> Result<Vec<Rel>, ReadError> {
    let decoded = xml::decode_part(part, bytes)?;
    let mut reader = xml::XmlReader::new(part, &decoded);
    let mut rels = Vec::new();
    loop {
        match reader.next()? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "Relationship" => {
                let (Some(kind), Some(target)) = (xml::plain_attr(&e, "Type"), xml::plain_attr(&e, "Target"))
                else {
                    continue;
                };
                let external =
                    xml::plain_attr(&e, "TargetMode").is_some_and(|m| m.eq_ignore_ascii_case("External"));
                rels.push(Rel {
                    id: xml::plain_attr(&e, "Id").unwrap_or_default(),
                    kind: kind.trim().to_string(),
                    target,
                    external,
                });
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(rels)
}

/// `word/document.xml` -> `word/_rels/document.xml.rels`.
pub(crate) fn rels_part_for(part: &str) -> String {
    match part.rsplit_once('/') {
        Some((dir, file)) => format!("{dir}/_rels/{file}.rels"),
        None => format!("_rels/{part}.rels"),
    }
}

/// Resolves a relationship target against the source part (`""` for the package root):
/// absolute targets start at the root, relative ones at the source's folder; `.`/`..` segments
/// are normalised, `%XX` escapes decoded, fragments dropped.
pub(crate) fn resolve_target(source: &str, target: &str) -> String {
    let target = target.split('#').next().unwrap_or("").replace('\\', "/");
    let target = percent_decode(&target);
    let mut segs: Vec<&str> = Vec::new();
    if !target.starts_with('/')
        && let Some((dir, _)) = source.rsplit_once('/')
    {
        segs.extend(dir.split('/').filter(|s| !s.is_empty()));
    }
    for s in target.split('/') {
        match s {
            "" | "." => {}
            ".." => {
                segs.pop();
            }
            s => segs.push(s),
        }
    }
    segs.join("/")
}

fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%'
            && let (Some(h), Some(l)) = (b.get(i + 1).and_then(hex), b.get(i + 2).and_then(hex))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

fn hex(c: &u8) -> Option<u8> {
    (*c as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_resolve_relative_to_their_source() {
        assert_eq!(resolve_target("", "word/document22.xml"), "word/document22.xml");
        assert_eq!(resolve_target("", "/word/document.xml"), "word/document.xml");
        assert_eq!(
            resolve_target("word/document.xml", "styles.xml"),
            "word/styles.xml"
        );
        assert_eq!(
            resolve_target("word/document.xml", "../customXml/item1.xml"),
            "customXml/item1.xml"
        );
        assert_eq!(
            resolve_target("word/document.xml", "/word/st%20yles.xml"),
            "word/st yles.xml"
        );
        assert_eq!(resolve_target("a/b.xml", "../../../x.xml"), "x.xml");
        assert_eq!(
            rels_part_for("word/document2.xml"),
            "word/_rels/document2.xml.rels"
        );
        assert_eq!(rels_part_for("document.xml"), "_rels/document.xml.rels");
    }
}
