//! Fuzzes the comment writer (`bench/fuzz/run.sh`): random valid and invalid comment specs
//! (out-of-range anchors, empty and reversed ranges, ranges across runs and containers, hostile
//! text, authors and dates, replacements with and without tracked changes) against corpus files
//! and generated packages, sometimes mutated. Never a panic or a hang; and whenever the input
//! reads and the writer writes, the round-trip invariants hold: the output reads, its text is
//! the input's (changed exactly by the tracked replacements), every written comment is on
//! exactly its quote (or its replacement), existing comments are kept, and entries the writer
//! may not change are byte-identical.
//!
//! `fuzz_writer [--iterations N] [--seconds S] [--threads T] [--seed N] [--corpus DIR] [--out DIR]
//! [--timeout SECS]`

#[path = "fuzz_common/mod.rs"]
mod fuzz;

use std::io::{Cursor, Read};
use std::sync::Arc;

use aiprism_docx::{
    CommentAnchor, CommentSpec, ExistingComment, Limits, ParsedDocument, WriteError, WriteOptions,
    read_comments, read_docx, write_comments,
};
use fuzz::{Rng, Source, generated, mutate, zip};

const WEIRD: &[&str] = &[
    "",
    "plain",
    "a & b < c > d \"e\" 'f'",
    "]]><![CDATA[",
    "</w:t></w:r></w:p>",
    "&amp;&#0;&bogus;",
    "\u{0}\u{1}\u{8}\u{B}\u{FFFE}\u{FFFF}ctl",
    "tab\there\nnew line\r\nand\rreturn",
    "😀👍🏽 emoji",
    "עברית مرحبا",
    "中文 日本語",
    "\u{202E}rtl override",
    " spaces  ",
];

struct Case {
    src: Arc<Prepared>,
    bytes: Vec<u8>,
    mutated: bool,
    specs: Vec<CommentSpec>,
    tracked: bool,
}

/// A source with what the invariants need from it, computed once.
struct Prepared {
    src: Source,
    doc: Option<ParsedDocument>,
    comments: Option<Vec<ExistingComment>>,
}

fn prepare(src: Source) -> Prepared {
    let limits = Limits::default();
    Prepared {
        doc: read_docx(&src.bytes, &limits).ok(),
        comments: read_comments(&src.bytes, &limits).ok(),
        src,
    }
}

fn text(rng: &mut Rng) -> String {
    let mut s = String::new();
    for _ in 0..rng.below(3) {
        let w: &str = rng.pick::<&str>(WEIRD);
        s.push_str(w);
    }
    if rng.chance(2) {
        s.push_str(&"long ".repeat(2000));
    }
    s
}

fn specs(rng: &mut Rng, d: Option<&ParsedDocument>) -> Vec<CommentSpec> {
    let paras = d.map_or(&[][..], |d| d.paragraphs.as_slice());
    (0..1 + rng.below(8))
        .map(|_| {
            let anchor = match (rng.below(10), paras.is_empty()) {
                (0..=5, false) => {
                    let p = &paras[rng.below(paras.len())];
                    let len = p.text.chars().count() as u32;
                    if p.runs.len() >= 2 && rng.chance(50) {
                        // Across runs.
                        let a = p.runs[rng.below(p.runs.len())];
                        let b = p.runs[rng.below(p.runs.len())];
                        let (a, b) = if a.start <= b.start { (a, b) } else { (b, a) };
                        let s = a.start + rng.below((a.end - a.start) as usize) as u32;
                        let e = b.start + 1 + rng.below((b.end - b.start) as usize) as u32;
                        CommentAnchor::Range {
                            paragraph: p.locator,
                            start: s.min(e - 1),
                            end: e,
                        }
                    } else {
                        let s = rng.below(len as usize + 1) as u32;
                        let e = s + rng.below((len - s) as usize + 1) as u32;
                        CommentAnchor::Range {
                            paragraph: p.locator,
                            start: s,
                            end: e,
                        }
                    }
                }
                (6, false) => CommentAnchor::Paragraph(rng.below(paras.len() + 2) as u32),
                _ => {
                    let big = [0, 1, 7, 1000, u32::MAX - 1, u32::MAX];
                    CommentAnchor::Range {
                        paragraph: *rng.pick(&big),
                        start: *rng.pick(&big),
                        end: *rng.pick(&big),
                    }
                }
            };
            CommentSpec {
                anchor,
                author: text(rng),
                initials: text(rng),
                date: rng
                    .pick(&[
                        "2026-11-22T10:00:00Z",
                        "",
                        "not a date",
                        "2026-11-22T10:00:00.5+01:00",
                        "\u{0}",
                    ])
                    .to_string(),
                lines: (0..rng.below(4)).map(|_| text(rng)).collect(),
                replacement: rng.chance(40).then(|| text(rng)),
            }
        })
        .collect()
}

/// Characters the writer can put into a document (the rest are dropped).
fn xml_chars(s: &str) -> String {
    s.chars()
        .filter(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..))
        .collect()
}

/// Reading text of `chars[s..e]` after the tracked replacements `tcs` (start, end, text): deleted
/// characters go, each insertion appears where its deletion ends.
fn after(chars: &[char], tcs: &[(u32, u32, String)], s: u32, e: u32) -> String {
    let mut out = String::new();
    for i in s..=e {
        for (_, te, r) in tcs {
            if *te == i && s < i {
                out.push_str(r);
            }
        }
        if i < e
            && !tcs.iter().any(|(ts, te, _)| *ts <= i && i < *te)
            && let Some(c) = chars.get(i as usize)
        {
            out.push(*c);
        }
    }
    out
}

fn raw(zip_bytes: &[u8]) -> Vec<(String, Vec<u8>, u32)> {
    let Ok(mut z) = zip::ZipArchive::new(Cursor::new(zip_bytes)) else {
        return Vec::new();
    };
    (0..z.len())
        .filter_map(|i| {
            let f = z.by_index_raw(i).ok()?;
            let name = f.name().ok()?.to_string();
            let crc = f.crc32();
            let mut v = Vec::new();
            let mut f = f;
            f.read_to_end(&mut v).ok()?;
            Some((name, v, crc))
        })
        .collect()
}

fn check(case: &Case) -> Result<bool, String> {
    let limits = Limits::default();
    let opts = WriteOptions {
        tracked_changes: case.tracked,
    };
    let result = write_comments(&case.bytes, &case.specs, &opts, &limits);
    let (doc, old_comments) = if case.mutated {
        (
            read_docx(&case.bytes, &limits).ok(),
            read_comments(&case.bytes, &limits).ok(),
        )
    } else {
        (case.src.doc.clone(), case.src.comments.clone())
    };
    let rep = match (result, &doc) {
        (Err(WriteError::Internal { detail }), _) => return Err(format!("internal error: {detail}")),
        (Err(_), _) => return Ok(false),
        (Ok(_), None) => return Ok(false),
        (Ok(r), Some(_)) => r,
    };
    let Some(d) = doc else { return Ok(false) };
    if rep.comments_written == 0 {
        return if rep.bytes == case.bytes {
            Ok(false)
        } else {
            Err("nothing written but bytes changed".into())
        };
    }
    let after_doc = read_docx(&rep.bytes, &limits).map_err(|e| format!("output does not read: {e}"))?;
    // Expected text: tracked replacements applied.
    let warned: Vec<usize> = rep.warnings.iter().map(|w| w.0).collect();
    let mut tcs: std::collections::HashMap<u32, Vec<(u32, u32, String)>> = std::collections::HashMap::new();
    let span = |a: &CommentAnchor| match *a {
        CommentAnchor::Range {
            paragraph,
            start,
            end,
        } => (paragraph, start, end),
        CommentAnchor::Paragraph(p) => (
            p,
            0,
            d.paragraphs
                .get(p as usize)
                .map_or(0, |x| x.text.chars().count() as u32),
        ),
    };
    for &(si, _) in &rep.comment_ids {
        let s = &case.specs[si];
        if let (true, Some(r), false) = (case.tracked, &s.replacement, warned.contains(&si)) {
            let (p, a, b) = span(&s.anchor);
            tcs.entry(p).or_default().push((a, b, xml_chars(r)));
        }
    }
    if tcs.values().map(Vec::len).sum::<usize>() != rep.tracked_changes_written {
        return Err("tracked change count mismatch".into());
    }
    if after_doc.paragraphs.len() != d.paragraphs.len() {
        return Err("paragraph count changed".into());
    }
    let none = Vec::new();
    for (i, (a, b)) in d.paragraphs.iter().zip(&after_doc.paragraphs).enumerate() {
        let chars: Vec<char> = a.text.chars().collect();
        let t = tcs.get(&(i as u32)).unwrap_or(&none);
        let want = after(&chars, t, 0, chars.len() as u32);
        if b.text != want {
            return Err(format!("paragraph {i}: {:?}, expected {want:?}", b.text));
        }
    }
    let new_comments = read_comments(&rep.bytes, &limits).map_err(|e| format!("output comments: {e}"))?;
    if let Some(old) = &old_comments
        && new_comments.len() != old.len() + rep.comments_written
    {
        return Err(format!(
            "{} comments, expected {} + {}",
            new_comments.len(),
            old.len(),
            rep.comments_written
        ));
    }
    for &(si, id) in &rep.comment_ids {
        let (p, a, b) = span(&case.specs[si].anchor);
        let chars: Vec<char> = d.paragraphs[p as usize].text.chars().collect();
        let want = after(&chars, tcs.get(&p).unwrap_or(&none), a, b);
        let got = new_comments.iter().find(|c| c.id == id.to_string());
        match got {
            Some(c) if c.anchored_text.as_deref() == Some(want.as_str()) && c.paragraph == Some(p) => {}
            other => {
                return Err(format!(
                    "comment {id} on {:?}, expected {want:?} in p{p}",
                    other.map(|c| &c.anchored_text)
                ));
            }
        }
    }
    // Entries the writer may not change are byte-identical and in order (checked on every
    // tenth case: it costs as much as the rest).
    if case.specs.len() % 10 != 3 && !case.mutated {
        return Ok(true);
    }
    let (x, y) = (raw(&case.bytes), raw(&rep.bytes));
    for (a, b) in x.iter().zip(&y) {
        if a.0 != b.0 {
            return Err(format!("entry order changed: {} vs {}", a.0, b.0));
        }
        let lower = a.0.to_ascii_lowercase();
        let changeable = lower == "[content_types].xml"
            || lower.ends_with(".rels")
            || lower.ends_with(".xml") && (lower.contains("document") || lower.contains("comments"));
        if !changeable && (a.1 != b.1 || a.2 != b.2) {
            return Err(format!("untouched entry {} changed", a.0));
        }
    }
    Ok(true)
}

/// Between the JSON head (specs, tracked) and the package in a saved case.
const SEPARATOR: &[u8] = b"\n--- docx follows ---\n";

/// `fuzz_writer --replay FILE`: runs the checks on a saved case again and prints the outcome.
fn replay(path: &str) {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let at = data
        .windows(SEPARATOR.len())
        .position(|w| w == SEPARATOR)
        .expect("a saved case");
    let head: serde_json::Value = serde_json::from_slice(&data[..at]).expect("JSON head");
    let specs: Vec<CommentSpec> = serde_json::from_value(head["specs"].clone()).expect("specs");
    let bytes = data[at + SEPARATOR.len()..].to_vec();
    let src = Source {
        name: path.to_string(),
        bytes: bytes.clone(),
        entries: Vec::new(),
    };
    let case = Case {
        src: Arc::new(prepare(src)),
        bytes,
        mutated: true,
        specs,
        tracked: head["tracked"].as_bool().unwrap_or(false),
    };
    println!("{:?}", check(&case));
    let opts = WriteOptions {
        tracked_changes: case.tracked,
    };
    if let Ok(r) = write_comments(&case.bytes, &case.specs, &opts, &Limits::default()) {
        let out = format!("{path}.out.docx");
        let _ = std::fs::write(&out, &r.bytes);
        println!(
            "output written to {out}: {} comments, skipped {:?}",
            r.comments_written, r.skipped
        );
    }
}

fn main() {
    if let Some(i) = std::env::args().position(|a| a == "--replay") {
        replay(&std::env::args().nth(i + 1).expect("--replay FILE"));
        return;
    }
    let opts = fuzz::opts();
    let mut sources: Vec<Arc<Prepared>> = opts
        .corpus
        .as_deref()
        .map(|d| fuzz::corpus(d, 60_000))
        .unwrap_or_default()
        .into_iter()
        .map(|s| Arc::new(prepare(s)))
        .collect();
    println!(
        "fuzz_writer: {} corpus files as seeds, plus generated packages",
        sources.len()
    );
    let mut seed_rng = Rng(opts.seed | 1);
    for i in 0..64 {
        let entries = generated(&mut seed_rng);
        let src = Source {
            name: format!("generated-{i}.docx"),
            bytes: zip(&entries, true),
            entries,
        };
        sources.push(Arc::new(prepare(src)));
    }
    let sources = Arc::new(sources);
    let input = move |rng: &mut Rng| -> Case {
        let src = if rng.chance(20) {
            let entries = generated(rng);
            let s = Source {
                name: String::new(),
                bytes: zip(&entries, false),
                entries,
            };
            Arc::new(prepare(s))
        } else {
            sources[rng.below(sources.len())].clone()
        };
        let mutated = rng.chance(20);
        let bytes = if mutated {
            mutate(rng, &src.src)
        } else {
            src.src.bytes.clone()
        };
        let doc = if mutated {
            read_docx(&bytes, &Limits::default()).ok()
        } else {
            None
        };
        let specs = specs(rng, if mutated { doc.as_ref() } else { src.doc.as_ref() });
        Case {
            src,
            bytes,
            mutated,
            specs,
            tracked: rng.chance(50),
        }
    };
    let save = |c: &Case| {
        let head = serde_json::json!({ "specs": c.specs, "tracked": c.tracked });
        let mut out = head.to_string().into_bytes();
        out.extend_from_slice(SEPARATOR);
        out.extend_from_slice(&c.bytes);
        out
    };
    let tally = fuzz::run("fuzz_writer", &opts, input, save, check);
    if tally.panics > 0 || tally.failures > 0 {
        std::process::exit(1);
    }
}
