//! Fuzz-ish robustness: mutated packages and mutated document XML must never panic; every result
//! is either a document or a classified error. Deterministic (fixed seeds) and bounded in time.
//!
//! Raw byte mutations of a zip mostly die at the CRC check, so the XML is also mutated directly
//! and re-packaged, which exercises the XML and WordprocessingML readers.

mod support;

use std::io::{Cursor, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aiprism_docx::{ErrorClass, Limits, read};

/// xorshift64*: small, deterministic, good enough to pick positions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const SNIPPETS: &[&str] = &[
    "<w:p>",
    "</w:p>",
    "<w:r>",
    "</w:r>",
    "<w:t>",
    "</w:t>",
    "<w:r><w:fldChar w:fldCharType=\"begin\"/></w:r>",
    "<w:r><w:fldChar w:fldCharType=\"end\"/></w:r>",
    "<mc:AlternateContent><mc:Choice Requires=\"wps\">",
    "</mc:Choice><mc:Fallback>",
    "</mc:Fallback></mc:AlternateContent>",
    "<w:txbxContent><w:p><w:r><w:t>x</w:t></w:r>",
    "<w:del><w:r><w:t>d</w:t></w:r></w:del>",
    "&amp;",
    "&#0;",
    "&#xD800;",
    "&nope;",
    "<w:sym w:char=\"FFFFFFFF\"/>",
    "<w:pStyle w:val=\"\"/>",
    "<w:outlineLvl w:val=\"255\"/>",
    "<![CDATA[x]]>",
    "<!DOCTYPE x>",
    "\u{0}",
    "\u{FEFF}",
];

fn check(bytes: &[u8], name: &str, what: &str) {
    let limits = Limits::default();
    let r = catch_unwind(AssertUnwindSafe(|| read(bytes, name, &limits)));
    match r {
        Err(_) => panic!("panic while reading {what}"),
        Ok(Err(e)) => {
            assert!(matches!(
                e.class(),
                ErrorClass::Invalid | ErrorClass::Unsupported | ErrorClass::TooLarge
            ));
            assert!(!e.to_string().is_empty());
        }
        Ok(Ok(d)) => {
            for (i, p) in d.paragraphs.iter().enumerate() {
                assert_eq!(p.locator as usize, i, "{what}: locators are indices");
                let len = p.text.chars().count() as u32;
                assert!(
                    p.runs.iter().all(|s| s.start < s.end && s.end <= len),
                    "{what}: spans in range"
                );
            }
        }
    }
}

/// Sources: small corpus files when `AIPRISM_CORPUS` is set, plus hand-built packages always.
fn sources() -> Vec<(String, Vec<u8>)> {
    let mut out = vec![
        (
            "built/basic.docx".to_string(),
            support::docx(&[
                support::para("berschrift1", "Heading"),
                support::para("", "Body text"),
                support::bold_para("Bold"),
                "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>cell</w:t></w:r></w:p></w:tc></w:tr></w:tbl>".to_string(),
                "<w:p><w:r><mc:AlternateContent><mc:Choice Requires=\"wps\"><w:drawing><w:txbxContent><w:p><w:r><w:t>box</w:t></w:r></w:p></w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict><w:txbxContent><w:p><w:r><w:t>box</w:t></w:r></w:p></w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>".to_string(),
                "<w:p><w:r><w:fldChar w:fldCharType=\"begin\"/></w:r><w:r><w:instrText>PAGE</w:instrText></w:r><w:r><w:fldChar w:fldCharType=\"separate\"/></w:r><w:r><w:t>1</w:t></w:r><w:r><w:fldChar w:fldCharType=\"end\"/></w:r></w:p>".to_string(),
            ]
            .concat()),
        ),
    ];
    if let Some(dir) = std::env::var_os("AIPRISM_CORPUS").map(PathBuf::from) {
        let dir = if dir.is_absolute() || dir.exists() {
            dir
        } else {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../..")
                .join(dir)
        };
        let mut files: Vec<(String, Vec<u8>)> = [
            "pandoc/track_changes_move.docx",
            "mammoth.js/text-box.docx",
            "node-word-extractor/bad-xml.docx",
            "Open-Xml-PowerTools/HC003-Hebrew-02.docx",
            "pandoc/nested_sdt.docx",
            "poi/delins.docx",
            "tika/testWORD_sdtInTextBox.docx",
            "Open-XML-SDK/CommentRangeStart.docx",
        ]
        .iter()
        .filter_map(|f| std::fs::read(dir.join(f)).ok().map(|b| (f.to_string(), b)))
        .collect();
        out.append(&mut files);
    }
    out
}

fn main_part(pkg: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let mut z = zip::ZipArchive::new(Cursor::new(pkg)).ok()?;
    let mut entries = Vec::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).ok()?;
        let mut data = Vec::new();
        f.read_to_end(&mut data).ok()?;
        entries.push((f.name().ok()?.to_string(), data));
    }
    Some(entries)
}

fn mutate_xml(rng: &mut Rng, xml: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(xml.len() + 1);
        match rng.below(5) {
            0 => {
                if let Some(b) = xml.get_mut(at) {
                    *b ^= 1 << rng.below(8);
                }
            }
            1 => {
                let end = (at + rng.below(64)).min(xml.len());
                xml.drain(at..end);
            }
            2 | 3 => {
                let s = SNIPPETS[rng.below(SNIPPETS.len())].as_bytes();
                xml.splice(at..at, s.iter().copied());
            }
            _ => {
                let end = (at + rng.below(256)).min(xml.len());
                let copy: Vec<u8> = xml.get(at..end).unwrap_or(&[]).to_vec();
                let to = rng.below(xml.len() + 1);
                xml.splice(to..to, copy);
            }
        }
    }
}

#[test]
fn mutated_packages_and_xml_never_panic() {
    let budget = Duration::from_secs(12);
    let started = Instant::now();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut runs = 0usize;
    let srcs = sources();
    let per_source = 400usize;
    'outer: for (name, bytes) in &srcs {
        check(bytes, name, name);
        let entries = main_part(bytes).expect("source package unzips");
        for i in 0..per_source {
            if started.elapsed() > budget {
                break 'outer;
            }
            runs += 1;
            if i % 2 == 0 {
                // Raw package mutation: flips, truncation, or both.
                let mut m = bytes.clone();
                if rng.below(3) > 0 {
                    for _ in 0..1 + rng.below(8) {
                        let at = rng.below(m.len());
                        if let Some(b) = m.get_mut(at) {
                            *b ^= 1 << rng.below(8);
                        }
                    }
                }
                if rng.below(3) == 0 {
                    m.truncate(rng.below(m.len()));
                }
                check(&m, name, &format!("{name} raw mutation {i}"));
            } else {
                // XML mutation of one part (usually the main part), re-packaged intact.
                let mut e = entries.clone();
                let pick = e
                    .iter()
                    .position(|(n, _)| n.contains("document") && n.ends_with(".xml"))
                    .filter(|_| rng.below(4) > 0)
                    .unwrap_or_else(|| rng.below(e.len()));
                if let Some((_, data)) = e.get_mut(pick) {
                    mutate_xml(&mut rng, data);
                }
                let files: Vec<(&str, &[u8])> = e.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
                let pkg = support::zip_of(&files);
                check(&pkg, name, &format!("{name} xml mutation {i}"));
            }
        }
    }
    println!(
        "{runs} mutations over {} sources in {:?}",
        srcs.len(),
        started.elapsed()
    );
    assert!(runs >= 200, "the budget allowed only {runs} mutations");
}

#[test]
fn hostile_nesting_does_not_overflow_the_stack() {
    let nested = |depth: usize| {
        let open = "<w:sdt><w:sdtContent>".repeat(depth);
        let close = "</w:sdtContent></w:sdt>".repeat(depth);
        support::docx(&format!("{open}<w:p><w:r><w:t>deep</w:t></w:r></w:p>{close}"))
    };
    // Every stack the reader keeps is on the heap and no code recurses on nesting.
    let d = aiprism_docx::read_docx(&nested(100_000), &Limits::default()).expect("deep nesting reads");
    assert_eq!(d.paragraphs.len(), 1);
    assert_eq!(d.paragraphs[0].text, "deep");

    // Text boxes in text boxes, each in its own run and AlternateContent.
    let open = "<w:p><w:r><mc:AlternateContent><mc:Choice Requires=\"wps\"><w:txbxContent>".repeat(5_000);
    let close = "</w:txbxContent></mc:Choice></mc:AlternateContent></w:r></w:p>".repeat(5_000);
    let d = aiprism_docx::read_docx(&support::docx(&format!("{open}{close}")), &Limits::default())
        .expect("nested boxes read");
    assert_eq!(d.paragraphs.len(), 5_000);
    assert!(
        d.paragraphs
            .iter()
            .enumerate()
            .all(|(i, p)| p.locator as usize == i)
    );

    // Unbalanced field begins never end: text after them is field code and is dropped, but the
    // reader stays bounded.
    let begins = "<w:r><w:fldChar w:fldCharType=\"begin\"/></w:r>".repeat(10_000);
    let d = aiprism_docx::read_docx(
        &support::docx(&format!("<w:p>{begins}<w:r><w:t>code</w:t></w:r></w:p>")),
        &Limits::default(),
    )
    .expect("reads");
    assert_eq!(d.paragraphs[0].text, "");
}
