//! Prints how a document was read: paragraphs (with roles) and sections. For debugging the reader
//! on real files: `cargo run -p aiprism-docx --example inspect -- FILE [--paras]`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: inspect FILE [--paras]");
        std::process::exit(2);
    };
    let bytes = std::fs::read(path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(1)
    });
    match aiprism_docx::read(&bytes, path, &aiprism_docx::Limits::default()) {
        Err(e) => println!("error ({:?}): {e}\n  detail: {}", e.class(), e.detail()),
        Ok(d) => {
            println!(
                "format {:?}, title {:?}, {} paragraphs, warnings {:?}",
                d.format,
                d.title,
                d.paragraphs.len(),
                d.warnings
            );
            if args.iter().any(|a| a == "--paras") {
                for p in &d.paragraphs {
                    let t: String = p.text.chars().take(70).collect();
                    println!(
                        "  p{} {:?}{} {:?} {:?} {:?} runs={} style={:?}",
                        p.locator,
                        p.role,
                        p.heading_level.map(|l| format!("({l})")).unwrap_or_default(),
                        p.container,
                        if p.in_reading_text { "" } else { "NOT-READ" },
                        t,
                        p.runs.len(),
                        p.style_id
                    );
                }
            }
            for s in &d.sections {
                let t: String = s.text.chars().take(60).collect();
                println!(
                    "S L{} {:?} {:?} [{}..{}) {} chars{} :: {:?}",
                    s.level,
                    s.origin,
                    s.title,
                    s.paragraph_start,
                    s.paragraph_end,
                    s.text.chars().count(),
                    s.excluded_reason
                        .as_ref()
                        .map(|r| format!(" EXCLUDED({r})"))
                        .unwrap_or_default(),
                    t
                );
            }
        }
    }
}
