//! Runs every built-in rule over the real incident write-ups of the shared corpus
//! (`$AIPRISM_CORPUS/writeups/*.md`), split naively at `#` headings, and checks that nothing panics and
//! every quote is an exact substring of its section with a span that points at it.
//!
//! Skipped (with a note) when `AIPRISM_CORPUS` is not set, so the crate's tests never depend on files
//! outside the repository. Set `AIPRISM_SHOW_FINDINGS=1` to print the findings for review.

use std::path::PathBuf;

use aiprism_core::{
    ContextSection, DocumentContext, SectionInput, builtin_frameworks, char_slice, find_quote, run_rules,
};

/// Splits Markdown at lines starting with `#`: the number of `#` is the level; text before the first
/// heading is a level-0 section.
fn split(markdown: &str) -> Vec<ContextSection> {
    let mut sections = vec![ContextSection {
        title: "Preamble".into(),
        level: 0,
        text: String::new(),
    }];
    for line in markdown.lines() {
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if hashes > 0 && line[hashes..].starts_with(' ') {
            sections.push(ContextSection {
                title: line[hashes..].trim().into(),
                level: hashes.min(6) as u8,
                text: String::new(),
            });
        } else if let Some(last) = sections.last_mut()
            && (!last.text.is_empty() || !line.trim().is_empty())
        {
            last.text.push_str(line);
            last.text.push('\n');
        }
    }
    for s in &mut sections {
        s.text = s.text.trim_end().to_string();
    }
    sections
}

#[test]
fn rules_on_real_writeups_quote_exact_text_and_never_panic() {
    let Some(root) = std::env::var_os("AIPRISM_CORPUS") else {
        eprintln!("note: AIPRISM_CORPUS is not set; skipping the corpus rule test");
        return;
    };
    let dir = PathBuf::from(root).join("writeups");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md" || x == "erb"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no write-ups in {}", dir.display());
    let show = std::env::var_os("AIPRISM_SHOW_FINDINGS").is_some();
    let frameworks = builtin_frameworks();
    let mut total = 0;
    for path in &files {
        let markdown = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let sections = split(&markdown);
        let doc = DocumentContext::new(sections.clone());
        for framework in &frameworks {
            for (index, s) in sections.iter().enumerate() {
                let input = SectionInput {
                    index,
                    title: &s.title,
                    level: s.level,
                    text: &s.text,
                };
                for f in run_rules(framework, &input, &doc) {
                    total += 1;
                    assert!(
                        s.text.contains(&f.quote),
                        "{}: quote {:?} not in section {:?}",
                        path.display(),
                        f.quote,
                        s.title
                    );
                    match f.span {
                        Some(span) => {
                            assert!(!f.quote.is_empty());
                            assert_eq!(char_slice(&s.text, span.start, span.end), Some(f.quote.as_str()));
                            assert!(find_quote(&s.text, &f.quote).is_some());
                        }
                        None => assert!(f.quote.is_empty(), "a finding without a span must not quote"),
                    }
                    assert!((0.0..=1.0).contains(&f.confidence));
                    assert!(f.quote.chars().count() <= 130, "quote too long: {:?}", f.quote);
                    if show {
                        let name = path
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        println!(
                            "{name} | {} | {} | {} | {:.2} | {:?} | {}",
                            framework.id, s.title, f.rule_id, f.confidence, f.quote, f.description
                        );
                    }
                }
            }
        }
    }
    eprintln!("{} write-ups, {total} findings, every quote exact", files.len());
}
