//! Writes comments into a .docx from the command line, for trying the writer on real files:
//! `cargo run -p aiprism-docx --example comment -- IN.docx OUT.docx [--every N] [--tracked]`
//! comments every N-th non-empty paragraph on its middle third (a replacement of "XYZ" with
//! `--tracked`) and prints the report and the comments the output reads back with.

use aiprism_docx::{CommentAnchor, CommentSpec, Limits, WriteOptions, read, read_comments, write_comments};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(input), Some(output)) = (args.first(), args.get(1)) else {
        eprintln!("usage: comment IN.docx OUT.docx [--every N] [--tracked]");
        std::process::exit(2);
    };
    let every: usize = args
        .iter()
        .position(|a| a == "--every")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let tracked = args.iter().any(|a| a == "--tracked");
    let bytes = std::fs::read(input).unwrap_or_else(|e| {
        eprintln!("{input}: {e}");
        std::process::exit(1)
    });
    let limits = Limits::default();
    let doc = match read(&bytes, input, &limits) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{input}: {e}");
            std::process::exit(1)
        }
    };
    let specs: Vec<CommentSpec> = doc
        .paragraphs
        .iter()
        .filter(|p| p.in_reading_text && p.text.chars().count() >= 3)
        .step_by(every)
        .map(|p| {
            let n = p.text.chars().count() as u32;
            CommentSpec {
                anchor: CommentAnchor::Range {
                    paragraph: p.locator,
                    start: n / 3,
                    end: n - n / 3,
                },
                author: "aiprism".into(),
                initials: "AI".into(),
                date: "2026-11-22T10:00:00Z".into(),
                lines: vec![
                    "[Finding] Check this & <that>".into(),
                    String::new(),
                    "Suggestion: \"fix\" it 😀".into(),
                ],
                replacement: tracked.then(|| "XYZ".to_string()),
            }
        })
        .collect();
    let report = match write_comments(
        &bytes,
        &specs,
        &WriteOptions {
            tracked_changes: tracked,
        },
        &limits,
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("write failed: {e}");
            std::process::exit(1)
        }
    };
    println!(
        "{} specs: {} comments, {} tracked changes, {} skipped, {} warnings",
        specs.len(),
        report.comments_written,
        report.tracked_changes_written,
        report.skipped.len(),
        report.warnings.len()
    );
    for (i, why) in report.skipped.iter().chain(report.warnings.iter()) {
        println!("  spec {i}: {why}");
    }
    if let Err(e) = std::fs::write(output, &report.bytes) {
        eprintln!("{output}: {e}");
        std::process::exit(1);
    }
    match read_comments(&report.bytes, &limits) {
        Ok(cs) => {
            for c in cs {
                println!(
                    "  #{} {} on p{:?}: {:?}",
                    c.id, c.author, c.paragraph, c.anchored_text
                );
            }
        }
        Err(e) => println!("read_comments failed: {e}"),
    }
}
