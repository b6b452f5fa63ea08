//! The comment writer: gives a reviewer back their original .docx with accepted findings as real
//! Word comments anchored on the exact quoted text (optionally with tracked replacements).
//!
//! The original package is patched, not rebuilt: only the main part, the comments part, the main
//! part's relationships and `[Content_Types].xml` may change; every other entry is copied raw.
//! Inside the main part every edit is a splice at a byte offset (see `plan`), so markup we do not
//! understand survives untouched.

mod ahead;
mod anchor;
mod build;
mod comments;
mod deflate;
mod huffman;
mod map;
mod opc;
mod out;
mod plan;
mod recode;
mod scan;
mod tokens;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::error::ReadError;
use crate::{Limits, package, styles, xml};

pub(crate) use build::build_docx;
pub(crate) use comments::read as read_comments;

/// Cores this process may use, asked once: the answer comes from cgroup files, and reading them
/// for every document cost more than some documents take to write.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// What a comment is anchored on, in the reader's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CommentAnchor {
    /// Characters `start..end` (Unicode scalar offsets) of [`crate::Paragraph::text`] of the
    /// paragraph with locator `paragraph`: a finding's quote.
    Range {
        /// Paragraph locator.
        paragraph: u32,
        /// First character (inclusive).
        start: u32,
        /// End character (exclusive).
        end: u32,
    },
    /// The whole paragraph (e.g. a section heading, for findings without a quote).
    Paragraph(u32),
}

/// One comment to write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentSpec {
    /// Where it goes.
    pub anchor: CommentAnchor,
    /// `w:author` ("aiprism" for model findings, the reviewer's name for theirs).
    pub author: String,
    /// `w:initials` (left out when empty).
    pub initials: String,
    /// `w:date`, RFC 3339 (e.g. `2026-11-22T10:00:00Z`); left out when it is not a valid
    /// `xsd:dateTime`.
    pub date: String,
    /// The comment text, one comment paragraph per line (a blank line is an empty paragraph; a
    /// line holding line breaks is split at them).
    pub lines: Vec<String>,
    /// A concrete replacement for the anchored text, written as a tracked change when
    /// [`WriteOptions::tracked_changes`] is set.
    pub replacement: Option<String>,
}

/// How to write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteOptions {
    /// Write each `replacement` as a tracked deletion of the anchored text followed by a tracked
    /// insertion (same author and date as the comment), instead of only commenting.
    pub tracked_changes: bool,
}

/// The written document and what happened to each spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteReport {
    /// The new .docx (the original bytes unchanged when nothing was written).
    pub bytes: Vec<u8>,
    /// Comments written.
    pub comments_written: usize,
    /// Replacements written as tracked changes.
    pub tracked_changes_written: usize,
    /// Specs not written, by index, with the reason (anchors out of range, empty ranges, ranges
    /// that cannot be mapped exactly). A spec is never anchored anywhere else.
    pub skipped: Vec<(usize, String)>,
    /// Specs written only in part (a replacement that could not be tracked), with the reason.
    pub warnings: Vec<(usize, String)>,
    /// The Word comment id given to each written spec, so callers can find it again.
    pub comment_ids: Vec<(usize, i64)>,
}

/// A comment a document already has, as [`crate::read_comments`] reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExistingComment {
    /// `w:id` as written.
    pub id: String,
    /// `w:author`.
    pub author: String,
    /// `w:initials`.
    pub initials: Option<String>,
    /// `w:date` as written.
    pub date: Option<String>,
    /// The comment's text, paragraphs joined by `\n`.
    pub text: String,
    /// The reading text between its `commentRangeStart` and `commentRangeEnd` (paragraphs joined
    /// by `\n`); `None` when it has no range.
    pub anchored_text: Option<String>,
    /// Locator of the paragraph its range (or, without a range, its reference) starts in.
    pub paragraph: Option<u32>,
}

/// Why a document could not be written.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteError {
    /// The original could not be read (not a .docx, damaged, unsafe, over the limits).
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A part we have to change is not what its relationship says it is.
    #[error("The document's {part} part cannot be changed ({detail}).")]
    BadPart {
        /// The part.
        part: String,
        /// What is wrong with it.
        detail: String,
    },
    /// Writing the new package failed.
    #[error("The reviewed document could not be written ({detail}).")]
    Zip {
        /// The zip writer's message.
        detail: String,
    },
    /// The planned edits were inconsistent (a bug): nothing is written rather than a bad file.
    #[error("The reviewed document could not be written (internal error: {detail}).")]
    Internal {
        /// What went wrong.
        detail: String,
    },
}

/// Hands out annotation ids above every id the package uses; past `i32::MAX` (which Word cannot
/// read) the smallest unused ones instead.
struct Ids {
    next: i64,
    used: Vec<i64>,
    low: Option<(std::collections::HashSet<i64>, i64)>,
}

impl Ids {
    fn new(used: Vec<i64>) -> Ids {
        let next = used
            .iter()
            .copied()
            .max()
            .map_or(0, |m| m.saturating_add(1))
            .max(0);
        Ids {
            next,
            used,
            low: None,
        }
    }

    fn alloc(&mut self) -> i64 {
        if self.next <= i64::from(i32::MAX) {
            let v = self.next;
            self.next += 1;
            return v;
        }
        let (set, cursor) = self
            .low
            .get_or_insert_with(|| (self.used.iter().copied().collect(), 0));
        while set.contains(cursor) {
            *cursor += 1;
        }
        let v = *cursor;
        set.insert(v);
        *cursor += 1;
        v
    }
}

/// A spec checked against the paragraphs as read.
struct Valid {
    spec: usize,
    locator: u32,
    start: u32,
    end: u32,
}

/// See [`crate::write_comments`].
pub(crate) fn write(
    original: &[u8],
    specs: &[CommentSpec],
    options: &WriteOptions,
    limits: &Limits,
) -> Result<WriteReport, WriteError> {
    crate::check_package(original, limits)?;
    let (pkg, fw) = package::open_for_write(original, limits)?;
    let (ref_style, text_style) = match &pkg.styles {
        Some((name, data)) => styles::comment_styles(name, data)?,
        None => (None, None),
    };
    // Which paragraphs to map. Locators beyond any possible paragraph are rejected later.
    let wanted = |s: &CommentSpec| match s.anchor {
        CommentAnchor::Range { paragraph, .. } | CommentAnchor::Paragraph(paragraph) => paragraph,
    };
    let cap = u32::try_from(crate::MAX_PARAGRAPHS).unwrap_or(u32::MAX);
    let top = specs.iter().map(wanted).filter(|&l| l < cap).max();
    let mut targets = vec![false; top.map_or(0, |t| t as usize + 1)];
    for s in specs {
        if let Some(t) = targets.get_mut(wanted(s) as usize) {
            *t = true;
        }
    }
    let decoded = xml::decode_part(&pkg.main_name, &pkg.main)?;
    // One pass reads the text exactly as the reader does and maps it to the markup; anchors are
    // checked against that text.
    let sc = scan::scan(
        &pkg.main_name,
        &decoded,
        scan::Mode {
            targets: Some(&targets),
            detail: true,
        },
    )?;
    let mut skipped: Vec<(usize, String)> = Vec::new();
    let mut valid = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let loc = wanted(s);
        let Some(&(len, in_reading)) = sc.paras.get(loc as usize) else {
            skipped.push((
                i,
                format!("paragraph {loc} does not exist ({} paragraphs)", sc.paras.len()),
            ));
            continue;
        };
        if !in_reading {
            skipped.push((
                i,
                format!("paragraph {loc} is a hidden copy (unread alternate content)"),
            ));
            continue;
        }
        let (start, end) = match s.anchor {
            CommentAnchor::Range { start, end, .. } => (start, end),
            CommentAnchor::Paragraph(_) => (0, len),
        };
        if len == 0 {
            skipped.push((i, format!("paragraph {loc} has no text")));
        } else if start >= end {
            skipped.push((i, format!("empty range {start}..{end}")));
        } else if end > len {
            skipped.push((
                i,
                format!("range {start}..{end} is beyond paragraph {loc} ({len} characters)"),
            ));
        } else {
            valid.push(Valid {
                spec: i,
                locator: loc,
                start,
                end,
            });
        }
    }
    let unchanged = |skipped: Vec<(usize, String)>| WriteReport {
        bytes: original.to_vec(),
        comments_written: 0,
        tracked_changes_written: 0,
        skipped,
        warnings: Vec::new(),
        comment_ids: Vec::new(),
    };
    if valid.is_empty() {
        skipped.sort_by_key(|s| s.0);
        return Ok(unchanged(skipped));
    }
    let map_of = |loc: u32| sc.maps.binary_search_by_key(&loc, |m| m.locator).ok();
    let mut ids = Ids::new(fw.ids.clone());
    let mut planner = plan::Planner::new(&decoded, &sc.maps, &sc.w_uri, ref_style.as_deref());
    let mut written: Vec<(usize, i64)> = Vec::new();
    let mut warnings = Vec::new();
    let mut tracked = 0usize;
    for v in &valid {
        let Some(spec) = specs.get(v.spec) else { continue };
        let Some(mi) = map_of(v.locator) else {
            skipped.push((v.spec, "paragraph not found in the document markup".into()));
            continue;
        };
        let date = out::valid_date(&spec.date).then_some(spec.date.as_str());
        let id = ids.alloc();
        let req = plan::Request {
            map: mi,
            start: v.start,
            end: v.end,
            id,
            author: &spec.author,
            date,
            replacement: spec.replacement.as_deref().filter(|_| options.tracked_changes),
        };
        match planner.comment(&req, &mut || ids.alloc()) {
            Ok(p) => {
                written.push((v.spec, id));
                tracked += usize::from(p.tracked);
                if let Some(w) = p.warning {
                    warnings.push((v.spec, w.to_string()));
                }
            }
            Err(reason) => skipped.push((v.spec, reason.to_string())),
        }
    }
    skipped.sort_by_key(|s| s.0);
    if written.is_empty() {
        return Ok(unchanged(skipped));
    }
    let edits = planner.finish(&mut || ids.alloc());
    if !plan::consistent(&decoded, &edits) {
        return Err(WriteError::Internal {
            detail: "overlapping edits".into(),
        });
    }
    let new_main = if pkg.main.starts_with(b"\xFF\xFE") || pkg.main.starts_with(b"\xFE\xFF") {
        let mut utf8 = Vec::with_capacity(decoded.len() + edits.len() * 64);
        plan::apply_to(&decoded, &edits, &mut utf8).map_err(|e| WriteError::Internal {
            detail: e.to_string(),
        })?;
        opc::Content::Bytes(opc::reencode(&pkg.main, utf8))
    } else {
        let prefix: &'static [u8] = if pkg.main.starts_with(b"\xEF\xBB\xBF") {
            b"\xEF\xBB\xBF"
        } else {
            b""
        };
        opc::Content::Spliced {
            base: &decoded,
            edits: &edits,
            prefix,
        }
    };

    // The comments part.
    let strict = sc.w_uri == xml::W_STRICT;
    let mut xml_out = String::new();
    let mut changed: HashMap<usize, opc::Content<'_>> = HashMap::new();
    let mut added: Vec<(String, Vec<u8>)> = Vec::new();
    let main_idx = opc::find_index(&fw.names, &pkg.main_name).ok_or(ReadError::NoMainPart)?;
    changed.insert(main_idx, new_main);
    let (comments_name, existing) = match &fw.comments {
        Some((name, bytes)) => (name.clone(), bytes.as_deref()),
        None => (opc::new_comments_name(&pkg.main_name, &fw.names), None),
    };
    let (root_qname, decoded_comments, root) = match existing {
        Some(bytes) => {
            // A damaged comments part is refused, not patched: the result must read.
            comments::parse_comments(&comments_name, bytes)?;
            let d = xml::decode_part(&comments_name, bytes)?;
            let r = opc::root(&comments_name, &d)?;
            if r.ns != xml::Ns::W || r.local != "comments" {
                return Err(WriteError::BadPart {
                    part: comments_name,
                    detail: "its root element is not w:comments".into(),
                });
            }
            (r.qname.clone(), Some(d), Some(r))
        }
        None => (b"w:comments".to_vec(), None, None),
    };
    let names = out::Names::near(&root_qname, &sc.w_uri);
    for &(si, id) in &written {
        let Some(s) = specs.get(si) else { continue };
        let c = comments::NewComment {
            id,
            author: &s.author,
            initials: &s.initials,
            date: out::valid_date(&s.date).then_some(s.date.as_str()),
            lines: &s.lines,
        };
        comments::comment_xml(
            &names,
            &c,
            text_style.as_deref(),
            ref_style.as_deref(),
            &mut xml_out,
        );
    }
    match (existing, decoded_comments, root) {
        (Some(bytes), Some(d), Some(r)) => {
            let idx = opc::find_index(&fw.names, &comments_name).ok_or_else(|| WriteError::Internal {
                detail: "comments part vanished".into(),
            })?;
            changed.insert(
                idx,
                opc::Content::Bytes(opc::reencode(
                    bytes,
                    opc::append_to_root(&d, &r, xml_out.as_bytes()),
                )),
            );
        }
        _ => {
            let mut uri = String::new();
            out::escape_attr(&sc.w_uri, &mut uri);
            let part = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:comments xmlns:w=\"{uri}\">{xml_out}</w:comments>"
            );
            added.push((comments_name.clone(), part.into_bytes()));
            let creating_rels = fw.main_rels.is_none();
            if fw.comments.is_none() {
                let ids: Vec<String> = fw.rels.iter().map(|r| r.id.clone()).collect();
                let rels = opc::add_comments_rel(
                    &fw.main_rels_name,
                    fw.main_rels.as_deref(),
                    &ids,
                    &pkg.main_name,
                    &comments_name,
                    strict,
                )?;
                match opc::find_index(&fw.names, &fw.main_rels_name) {
                    Some(i) if fw.main_rels.is_some() => {
                        changed.insert(i, opc::Content::Bytes(rels));
                    }
                    _ => added.push((fw.main_rels_name.clone(), rels)),
                }
            }
            if let Some((ct_name, ct)) = &fw.content_types
                && let Some(new_ct) = opc::add_content_types(ct, &comments_name, creating_rels)?
                && let Some(i) = opc::find_index(&fw.names, ct_name)
            {
                changed.insert(i, opc::Content::Bytes(new_ct));
            }
        }
    }
    let bytes = opc::assemble(original, &changed, &added)?;
    Ok(WriteReport {
        bytes,
        comments_written: written.len(),
        tracked_changes_written: tracked,
        skipped,
        warnings,
        comment_ids: written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The writer trusts its scan to read text exactly as the reader does; on every corpus file
    /// (when `AIPRISM_CORPUS` is set) and on hostile markup they must agree paragraph by
    /// paragraph, including where damaged XML makes both skip the same stretches.
    #[test]
    fn the_scan_reads_every_paragraph_like_the_reader() {
        let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
        if let Some(dir) = std::env::var_os("AIPRISM_CORPUS").map(std::path::PathBuf::from) {
            let dir = if dir.is_absolute() || dir.exists() {
                dir
            } else {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../..")
                    .join(dir)
            };
            let mut stack = vec![dir];
            while let Some(d) = stack.pop() {
                for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if p
                        .extension()
                        .is_some_and(|x| x == "docx" || x == "dotx" || x == "docm")
                    {
                        inputs.push((p.display().to_string(), std::fs::read(&p).unwrap_or_default()));
                    }
                }
            }
        }
        let limits = Limits::default();
        let mut compared = 0;
        for (name, bytes) in &inputs {
            let Ok((pkg, _)) = package::open_for_write(bytes, &limits) else {
                continue;
            };
            let Ok(body) = crate::body::read_main(&pkg.main_name, &pkg.main, &styles::Styles::default())
            else {
                continue;
            };
            let Ok(decoded) = xml::decode_part(&pkg.main_name, &pkg.main) else {
                continue;
            };
            let sc = scan::scan(
                &pkg.main_name,
                &decoded,
                scan::Mode {
                    targets: None,
                    detail: false,
                },
            )
            .expect("scan");
            assert_eq!(body.paragraphs.len(), sc.paras.len(), "{name}: paragraph count");
            for (p, (m, info)) in body.paragraphs.iter().zip(sc.maps.iter().zip(&sc.paras)) {
                assert_eq!(p.text, m.text, "{name}: paragraph {}", p.locator);
                assert_eq!(p.in_reading_text, info.1, "{name}: paragraph {}", p.locator);
            }
            compared += 1;
        }
        assert!(
            inputs.is_empty() || compared > 50,
            "only {compared} corpus files compared"
        );
    }

    #[test]
    fn ids_go_above_the_highest_and_fall_back_below_i32_max() {
        let mut ids = Ids::new(vec![3, 70, -5]);
        assert_eq!((ids.alloc(), ids.alloc()), (71, 72));
        let mut ids = Ids::new(vec![]);
        assert_eq!(ids.alloc(), 0);
        let mut ids = Ids::new(vec![0, 1, 3, i64::from(i32::MAX)]);
        assert_eq!(
            (ids.alloc(), ids.alloc(), ids.alloc()),
            (2, 4, 5),
            "unused ids when nothing above fits"
        );
    }
}
