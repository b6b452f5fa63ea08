//! Helpers shared by the writer tests: the corpus, deterministic range picking, zip entry
//! comparison and the invariants every written document must satisfy.

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use aiprism_docx::{
    CommentAnchor, CommentSpec, Container, ExistingComment, Limits, ParsedDocument, WriteReport,
    read_comments, read_docx,
};

/// The corpus directory, or `None` (with a notice) outside CI when `AIPRISM_CORPUS` is unset.
pub fn corpus_dir() -> Option<PathBuf> {
    match std::env::var_os("AIPRISM_CORPUS") {
        Some(p) => {
            let p = PathBuf::from(p);
            Some(if p.is_absolute() || p.exists() {
                p
            } else {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(p)
            })
        }
        None if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("AIPRISM_CORPUS is not set; CI must point it at the shared corpus (e.g. ../shared/corpus)")
        }
        None => {
            eprintln!("notice: AIPRISM_CORPUS not set; skipping the writer corpus test");
            None
        }
    }
}

/// Good (not malformed) Word files of the corpus, by manifest order: `(rel_path, bytes)`.
pub fn good_corpus_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("MANIFEST.tsv readable");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect("manifest column");
    let (path, kind, malformed) = (col("rel_path"), col("kind"), col("malformed"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|c| {
            matches!(c.get(kind).copied(), Some("docx" | "docm" | "dotx"))
                && c.get(malformed).is_none_or(|m| m.trim().is_empty())
        })
        .filter_map(|c| {
            let rel = c.get(path)?.to_string();
            let bytes = std::fs::read(dir.join(&rel)).expect("corpus file readable");
            Some((rel, bytes))
        })
        .collect()
}

/// xorshift64*: deterministic choices.
pub struct Rng(pub u64);

impl Rng {
    pub fn seeded(name: &str) -> Rng {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Rng(h | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

/// The comment text every test spec gets: markup characters, quotes, emoji, RTL/CJK, a blank
/// line; the first line names the spec so oracles can find it.
pub fn lines_for(i: usize) -> Vec<String> {
    vec![
        format!("[aiprism #{i}] Check A & B < C > D \"quoted\" 'single' 😀"),
        String::new(),
        "Suggestion: مرحبا 中文 — keep it.".to_string(),
        "Key questions:\n1. Why <now>?".to_string(),
    ]
}

pub fn spec(anchor: CommentAnchor, i: usize) -> CommentSpec {
    CommentSpec {
        anchor,
        author: "aiprism".into(),
        initials: "AI".into(),
        date: "2026-11-22T10:00:00Z".into(),
        lines: lines_for(i),
        replacement: None,
    }
}

/// Up to `max` ranges picked deterministically from a document: whole paragraphs, ranges spanning
/// runs, ranges in table cells and text boxes, and ranges of various lengths elsewhere.
pub fn pick_ranges(name: &str, d: &ParsedDocument, max: usize) -> Vec<CommentAnchor> {
    let mut rng = Rng::seeded(name);
    let cands: Vec<usize> = d
        .paragraphs
        .iter()
        .enumerate()
        .filter(|(_, p)| p.in_reading_text && !p.text.is_empty())
        .map(|(i, _)| i)
        .collect();
    if cands.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let len = |i: usize| d.paragraphs[i].text.chars().count() as u32;
    let pick_from = |rng: &mut Rng, v: &[usize]| v[rng.below(v.len() as u64) as usize];
    let range_in = |rng: &mut Rng, i: usize| {
        let n = len(i);
        let start = rng.below(u64::from(n)) as u32;
        let max_len = n - start;
        // Mostly short quotes, sometimes long ones.
        let l = match rng.below(4) {
            0 => 1,
            1 => 1 + rng.below(u64::from(max_len.min(12))) as u32,
            _ => 1 + rng.below(u64::from(max_len)) as u32,
        };
        CommentAnchor::Range {
            paragraph: i as u32,
            start,
            end: start + l.min(max_len).max(1),
        }
    };
    // Whole paragraphs.
    for _ in 0..3 {
        out.push(CommentAnchor::Paragraph(pick_from(&mut rng, &cands) as u32));
    }
    // Spanning several runs.
    let multi: Vec<usize> = cands
        .iter()
        .copied()
        .filter(|&i| d.paragraphs[i].runs.len() >= 2)
        .collect();
    for _ in 0..5.min(multi.len()) {
        let i = pick_from(&mut rng, &multi);
        let runs = &d.paragraphs[i].runs;
        let a = rng.below(runs.len() as u64 - 1) as usize;
        let b = a + 1 + rng.below((runs.len() - a - 1) as u64) as usize;
        let (ra, rb) = (runs[a], runs[b]);
        let start = ra.start + rng.below(u64::from(ra.end - ra.start)) as u32;
        let end = rb.start + 1 + rng.below(u64::from(rb.end - rb.start)) as u32;
        out.push(CommentAnchor::Range {
            paragraph: i as u32,
            start,
            end,
        });
    }
    for container in [Container::TableCell, Container::TextBox] {
        let inside: Vec<usize> = cands
            .iter()
            .copied()
            .filter(|&i| d.paragraphs[i].container == container)
            .collect();
        for _ in 0..3.min(inside.len()) {
            let i = pick_from(&mut rng, &inside);
            out.push(range_in(&mut rng, i));
        }
    }
    while out.len() < max {
        let i = pick_from(&mut rng, &cands);
        out.push(range_in(&mut rng, i));
    }
    out.truncate(max);
    out
}

/// The text a spec's anchor covers in the document as read.
pub fn quote(d: &ParsedDocument, a: &CommentAnchor) -> (u32, String) {
    match *a {
        CommentAnchor::Range {
            paragraph,
            start,
            end,
        } => (
            paragraph,
            d.paragraphs[paragraph as usize]
                .text
                .chars()
                .skip(start as usize)
                .take((end - start) as usize)
                .collect(),
        ),
        CommentAnchor::Paragraph(p) => (p, d.paragraphs[p as usize].text.clone()),
    }
}

/// Raw entries of a zip: name -> (compressed bytes, CRC, index).
pub fn raw_entries(zip: &[u8]) -> Vec<(String, Vec<u8>, u32)> {
    let mut z = zip::ZipArchive::new(Cursor::new(zip)).expect("zip opens");
    (0..z.len())
        .map(|i| {
            let f = z.by_index_raw(i).expect("entry");
            let name = f.name().expect("name").to_string();
            let crc = f.crc32();
            let mut raw = Vec::new();
            let mut rd = f;
            rd.read_to_end(&mut raw).expect("raw read");
            (name, raw, crc)
        })
        .collect()
}

/// Checks everything a written document must satisfy against its original; returns problems.
/// `quotes` are `(comment id, paragraph, expected anchored text)` of the comments written.
pub fn check_output(
    name: &str,
    original: &[u8],
    report: &WriteReport,
    quotes: &[(i64, u32, String)],
    text_changed: bool,
) -> Vec<String> {
    let limits = Limits::default();
    let mut problems = Vec::new();
    let before = read_docx(original, &limits).expect("original reads");
    let after = match read_docx(&report.bytes, &limits) {
        Ok(d) => d,
        Err(e) => return vec![format!("{name}: output does not read: {e}")],
    };
    if !text_changed {
        let a: Vec<&str> = before.paragraphs.iter().map(|p| p.text.as_str()).collect();
        let b: Vec<&str> = after.paragraphs.iter().map(|p| p.text.as_str()).collect();
        if a != b {
            let first = a.iter().zip(&b).position(|(x, y)| x != y);
            problems.push(format!(
                "{name}: paragraph texts changed ({} vs {} paragraphs; first difference at {first:?}: {:?} vs {:?})",
                a.len(),
                b.len(),
                first.and_then(|i| a.get(i)),
                first.and_then(|i| b.get(i))
            ));
        }
    }
    let old = read_comments(original, &limits).expect("original comments read");
    let new: Vec<ExistingComment> = match read_comments(&report.bytes, &limits) {
        Ok(c) => c,
        Err(e) => return vec![format!("{name}: output comments do not read: {e}")],
    };
    if new.len() != old.len() + report.comments_written {
        problems.push(format!(
            "{name}: {} comments, expected {} existing + {} written",
            new.len(),
            old.len(),
            report.comments_written
        ));
    }
    let by_id: HashMap<&str, &ExistingComment> = new.iter().map(|c| (c.id.as_str(), c)).collect();
    for o in &old {
        // With tracked replacements an existing comment's range may hold replaced text.
        let same = |n: &ExistingComment| {
            if text_changed {
                (&n.author, &n.text, &n.date, n.paragraph) == (&o.author, &o.text, &o.date, o.paragraph)
            } else {
                n == o
            }
        };
        match by_id.get(o.id.as_str()) {
            Some(n) if same(n) => {}
            Some(n) => problems.push(format!(
                "{name}: existing comment {} changed: {o:?} -> {n:?}",
                o.id
            )),
            None => problems.push(format!("{name}: existing comment {} lost", o.id)),
        }
    }
    for (id, para, want) in quotes {
        match by_id.get(id.to_string().as_str()) {
            Some(c) if c.anchored_text.as_deref() == Some(want.as_str()) && c.paragraph == Some(*para) => {}
            Some(c) => problems.push(format!(
                "{name}: comment {id} anchored on {:?} in p{:?}, expected {want:?} in p{para}",
                c.anchored_text, c.paragraph
            )),
            None => problems.push(format!("{name}: comment {id} missing")),
        }
    }
    // Untouched entries are byte-identical, in the same order.
    let allowed = changeable(&report.bytes);
    let a = raw_entries(original);
    let b = raw_entries(&report.bytes);
    if b.len() < a.len() {
        problems.push(format!("{name}: entries lost"));
    }
    for (x, y) in a.iter().zip(&b) {
        if x.0 != y.0 {
            problems.push(format!("{name}: entry order/name changed: {} vs {}", x.0, y.0));
            continue;
        }
        let may_change = allowed.iter().any(|n| n.eq_ignore_ascii_case(&x.0));
        if !may_change && (x.1 != y.1 || x.2 != y.2) {
            problems.push(format!("{name}: untouched entry {} changed", x.0));
        }
    }
    problems
}

/// Relationships of a `.rels` entry: `(type, target)`.
fn rels(pkg: &[u8], name: &str) -> Vec<(String, String)> {
    let mut z = zip::ZipArchive::new(Cursor::new(pkg)).expect("zip");
    let mut text = String::new();
    if let Ok(mut f) = z.by_name(name) {
        let _ = f.read_to_string(&mut text);
    }
    let mut r = quick_xml::Reader::from_str(&text);
    let mut out = Vec::new();
    while let Ok(ev) = r.read_event() {
        match ev {
            quick_xml::events::Event::Empty(e) | quick_xml::events::Event::Start(e)
                if e.local_name().as_ref() == "Relationship" =>
            {
                let attr = |k: &str| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == k)
                        .map(|a| a.value.to_string())
                        .unwrap_or_default()
                };
                out.push((attr("Type"), attr("Target")));
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// The entries the writer may change: the main part, its relationships, its comments part and
/// `[Content_Types].xml`.
pub fn changeable(pkg: &[u8]) -> Vec<String> {
    let main = rels(pkg, "_rels/.rels")
        .into_iter()
        .find(|(t, _)| t.ends_with("/officeDocument"))
        .map(|(_, target)| target.trim_start_matches('/').to_string())
        .unwrap_or_else(|| "word/document.xml".into());
    let (dir, file) = main.rsplit_once('/').unwrap_or(("", main.as_str()));
    let rels_name = if dir.is_empty() {
        format!("_rels/{file}.rels")
    } else {
        format!("{dir}/_rels/{file}.rels")
    };
    let mut out = vec!["[Content_Types].xml".to_string(), main.clone(), rels_name.clone()];
    for (t, target) in rels(pkg, &rels_name) {
        if t.ends_with("/comments") {
            out.push(match target.strip_prefix('/') {
                Some(abs) => abs.to_string(),
                None if dir.is_empty() => target,
                None => format!("{dir}/{target}"),
            });
        }
    }
    out
}
