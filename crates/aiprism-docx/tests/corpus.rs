//! The real-world corpus (`AIPRISM_CORPUS`, e.g. `../shared/corpus`): every good file reads with
//! consistent paragraphs, runs and sections; every malformed file is refused with a classified
//! error (never a panic); heading counts match the manifest where its heading styles are standard;
//! the Markdown write-ups read with at least three sections.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use aiprism_docx::{ErrorClass, Limits, ParagraphRole, ParsedDocument, SectionOrigin, SourceFormat, read};

/// The corpus directory, or `None` (with a notice) when it is not configured outside CI.
pub fn corpus_dir() -> Option<PathBuf> {
    match std::env::var_os("AIPRISM_CORPUS") {
        Some(p) => Some(resolve(PathBuf::from(p))),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("AIPRISM_CORPUS is not set; CI must point it at the shared corpus (e.g. ../shared/corpus)")
        }
        None => {
            eprintln!("notice: AIPRISM_CORPUS not set; skipping the corpus test");
            None
        }
    }
}

/// Tests run in the crate directory; a relative path that does not exist there is taken from the
/// workspace root (where CI and people usually give it from).
pub fn resolve(p: PathBuf) -> PathBuf {
    if p.is_absolute() || p.exists() {
        return p;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(p)
}

/// MANIFEST.tsv rows as column-name -> value maps.
pub fn manifest(dir: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("MANIFEST.tsv readable");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            header
                .iter()
                .map(|h| h.to_string())
                .zip(l.split('\t').map(str::to_string))
                .collect()
        })
        .collect()
}

/// Heading style ids that are localised spellings of Title / Subtitle / TOC Heading. Global ones
/// (the same id means the same style in every file) plus per-file ones where the id is a
/// meaningless localised id (`a4`, `a8`) whose style *name* in that file is "Title".
fn is_title_like(file: &str, id: &str) -> bool {
    matches!(
        id,
        "Title" | "Subtitle" | "TOCHeading" | "Titre" | "Titel" | "Untertitel"
    ) || matches!(
        (file, id),
        ("docx4j/Docx4j_Russian.docx", "a4")
            | ("Open-XML-SDK/comment.docx", "a8")
            | ("markitdown/test.docx", "a3")
    )
}

/// Ids of the standard heading styles, in any of the spellings Word and LibreOffice use across
/// UI languages: `Heading1`, `berschrift1`, `Titre1`, and bare numeric ids ("1".."9" of
/// CJK/Russian Word and LibreOffice), all of whose style names are "heading N".
fn is_standard_heading_id(id: &str) -> bool {
    let digit_tail = |p: &str| {
        id.strip_prefix(p)
            .is_some_and(|n| n.len() == 1 && n.chars().all(|c| ('1'..='9').contains(&c)))
    };
    digit_tail("Heading") || digit_tail("berschrift") || digit_tail("Titre") || digit_tail("")
}

/// Where a file's heading sections legitimately differ from the manifest's count of
/// heading-styled paragraphs, and exactly by how much. `empty`: heading-styled paragraphs with no
/// visible text (a heading with nothing to say starts no section); `extra`: paragraphs that are
/// headings through their own direct `w:outlineLvl` without a heading style (the manifest counts
/// styles only); `not_headings`: paragraphs whose heading-looking style id does not exist in the
/// styles part, so Word (and we) render them as Normal.
#[derive(Default, Clone, Copy)]
struct Difference {
    empty: i64,
    extra: i64,
    not_headings: i64,
}

fn known_difference(file: &str) -> Difference {
    let empty = |n| Difference {
        empty: n,
        ..Difference::default()
    };
    match file {
        "Open-XML-SDK/632399964516872542_1.docx" => empty(1),
        // 23 empty Heading 1/2/3/4/6 paragraphs used as vertical spacing.
        "Open-XML-SDK/BackgroundReport_-_THE_WORKING_GROUP_ON_INTERNET_GOVERNANCE.docx" => empty(23),
        // One heading 3 paragraph holds only a tab.
        "Open-XML-SDK/comment.docx" => empty(1),
        "poi/61787.docx" => empty(1),
        "poi/drawing.docx" => empty(1),
        // The empty one is in a table cell.
        "poi/form_footnotes.docx" => empty(1),
        // 14 empty heading paragraphs; "5.3.1. Der Archetyp des Todes" and "5.4. Sabina
        // Spielrein" are Normal paragraphs with a direct outline level.
        "poi/stress008.docx" => Difference {
            empty: 14,
            extra: 2,
            not_headings: 0,
        },
        // Four empty and two space-only heading paragraphs.
        "unstructured/handbook-872p.docx" => empty(6),
        // "Seventh level" uses pStyle Heading7, which styles.xml does not define (the document
        // itself says so): it is Normal text.
        "pandoc/docx__headers.docx" => Difference {
            not_headings: 1,
            ..Difference::default()
        },
        _ => Difference::default(),
    }
}

fn check_invariants(file: &str, d: &ParsedDocument, problems: &mut Vec<String>) {
    for (i, p) in d.paragraphs.iter().enumerate() {
        if p.locator as usize != i {
            problems.push(format!("{file}: paragraph {i} has locator {}", p.locator));
            return;
        }
        let len = p.text.chars().count() as u32;
        let mut prev = 0u32;
        for s in &p.runs {
            if s.start < prev || s.end <= s.start || s.end > len {
                problems.push(format!("{file}: paragraph {i} bad span {s:?} (len {len})"));
                return;
            }
            prev = s.end;
        }
        // Text is only ever taken from runs, so in a .docx the spans tile the whole text.
        if d.format != SourceFormat::Docx {
            continue;
        }
        let covered: u32 = p.runs.iter().map(|s| s.end - s.start).sum();
        if covered != len {
            problems.push(format!(
                "{file}: paragraph {i} spans cover {covered} of {len} chars"
            ));
            return;
        }
    }
    for s in &d.sections {
        let chars: Vec<char> = s.text.chars().collect();
        for sp in &s.spans {
            let got: String = chars
                .get(sp.start as usize..sp.end as usize)
                .unwrap_or(&[])
                .iter()
                .collect();
            let want = d.paragraphs.get(sp.paragraph as usize).map(|p| p.text.as_str());
            if Some(got.as_str()) != want {
                problems.push(format!(
                    "{file}: section '{}' span {sp:?} does not match its paragraph",
                    s.title
                ));
                return;
            }
        }
    }
}

#[test]
fn corpus_reads_as_the_manifest_says() {
    let Some(dir) = corpus_dir() else { return };
    let rows = manifest(&dir);
    let limits = Limits::default();
    let (mut files, mut sections_total, mut rejected, mut heading_checked) = (0usize, 0usize, 0usize, 0usize);
    let mut problems = Vec::new();
    for row in &rows {
        let file = row["rel_path"].as_str();
        if !matches!(row["kind"].as_str(), "docx" | "docm" | "dotx") {
            continue;
        }
        files += 1;
        let bytes = std::fs::read(dir.join(file)).expect("corpus file readable");
        let result = catch_unwind(AssertUnwindSafe(|| read(&bytes, file, &limits)));
        let Ok(result) = result else {
            problems.push(format!("{file}: PANIC"));
            continue;
        };
        let malformed = !row["malformed"].trim().is_empty();
        let d = match (malformed, result) {
            (true, Err(e)) => {
                rejected += 1;
                assert!(matches!(
                    e.class(),
                    ErrorClass::Invalid | ErrorClass::Unsupported | ErrorClass::TooLarge
                ));
                println!("rejected {file}: {:?} / {}", e.class(), e.detail());
                continue;
            }
            (true, Ok(_)) => {
                problems.push(format!("{file}: malformed ({}) but read", row["malformed"]));
                continue;
            }
            (false, Err(e)) => {
                problems.push(format!("{file}: should read but failed: {}", e.detail()));
                continue;
            }
            (false, Ok(d)) => d,
        };
        sections_total += d.sections.len();
        check_invariants(file, &d, &mut problems);
        // A title (and subtitle) before the first heading is the document's title, not a section.
        for s in d.sections.iter().filter(|s| s.origin == SectionOrigin::Preamble) {
            let only_titles = s.spans.iter().all(|sp| {
                d.paragraphs
                    .get(sp.paragraph as usize)
                    .is_some_and(|p| matches!(p.role, ParagraphRole::Title | ParagraphRole::Subtitle))
            });
            if only_titles {
                problems.push(format!(
                    "{file}: preamble section '{}' holds only the title",
                    s.title
                ));
            }
        }
        if file == "tara4/test_sample.docx" {
            let titles: Vec<(&str, u8)> = d.sections.iter().map(|s| (s.title.as_str(), s.level)).collect();
            if titles.first() != Some(&("Executive Summary", 1))
                || d.title.as_deref() != Some("Test Investigation Report")
            {
                problems.push(format!("{file}: sections {titles:?}, title {:?}", d.title));
            }
        }
        let text_chars: usize = row["text_chars"].parse().unwrap_or(0);
        // A document whose manifest counts no text may legitimately have no section.
        if text_chars > 0 && d.sections.is_empty() {
            problems.push(format!("{file}: has {text_chars} chars of text but no section"));
        }
        let manifest_paras: usize = row["paragraphs"].parse().unwrap_or(usize::MAX);
        if manifest_paras != d.paragraphs.len() {
            println!(
                "note {file}: {} paragraphs, manifest {manifest_paras}",
                d.paragraphs.len()
            );
        }

        // Heading rule. The manifest counts paragraphs per heading-like style id. Where every such
        // id is a standard heading style or a Title/Subtitle/TOC Heading spelling, the sections
        // that start at heading paragraphs must number exactly the heading paragraphs minus the
        // Title/Subtitle/TOC Heading ones (which never start sections), up to documented per-file
        // differences.
        let styles: Vec<(&str, i64)> = row["heading_styles"]
            .split(';')
            .filter(|s| !s.is_empty())
            .filter_map(|s| s.rsplit_once(':'))
            .map(|(id, n)| (id, n.parse().unwrap_or(0)))
            .collect();
        let standard = styles
            .iter()
            .all(|(id, _)| is_standard_heading_id(id) || is_title_like(file, id));
        let from_headings = d
            .sections
            .iter()
            .filter(|s| s.origin == SectionOrigin::Heading)
            .count() as i64;
        let empty_headings = d
            .paragraphs
            .iter()
            .filter(|p| p.role == ParagraphRole::Heading && p.text.trim().is_empty())
            .count() as i64;
        if standard {
            heading_checked += 1;
            let diff = known_difference(file);
            let manifest_headings: i64 = row["heading_paras"].parse().unwrap_or(0);
            let title_like: i64 = styles
                .iter()
                .filter(|(id, _)| is_title_like(file, id))
                .map(|(_, n)| n)
                .sum();
            let expected = manifest_headings - title_like - diff.empty - diff.not_headings + diff.extra;
            if from_headings != expected || empty_headings != diff.empty {
                problems.push(format!(
                    "{file}: {from_headings} heading sections, expected {expected} (manifest {manifest_headings}, \
                     title-like {title_like}); {empty_headings} empty heading paragraphs, expected {}",
                    diff.empty
                ));
            }
        } else {
            println!(
                "unchecked headings {file}: {from_headings} heading sections ({})",
                row["heading_styles"]
            );
        }
    }

    // The Markdown write-ups.
    let mut writeups = 0usize;
    let wdir = dir.join("writeups");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&wdir)
        .expect("writeups dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains(".md"))
        })
        .collect();
    names.sort();
    for path in names {
        writeups += 1;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        let bytes = std::fs::read(&path).expect("write-up readable");
        match read(&bytes, &name, &limits) {
            Ok(d) if d.sections.len() >= 3 => {
                sections_total += d.sections.len();
                check_invariants(&name, &d, &mut problems);
            }
            Ok(d) => problems.push(format!("writeups/{name}: only {} sections", d.sections.len())),
            Err(e) => problems.push(format!("writeups/{name}: {e}")),
        }
    }

    println!(
        "corpus: {files} docx files ({rejected} rejected as malformed), {writeups} write-ups, \
         {sections_total} sections, {heading_checked} heading counts checked, {} failures",
        problems.len()
    );
    for p in &problems {
        println!("FAIL {p}");
    }
    assert!(
        problems.is_empty(),
        "{} corpus failures (see output)",
        problems.len()
    );
}
