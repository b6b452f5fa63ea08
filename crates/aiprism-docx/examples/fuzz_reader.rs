//! Fuzzes the reader (`bench/fuzz/run.sh`; cargo-fuzz needs nightly, so this is a plain release
//! binary): structure-aware mutations of corpus files and of generated packages (byte flips,
//! truncations, XML edits re-zipped, entries dropped or renamed, deep nesting, huge attributes).
//! Every input must give a document with consistent locators and run spans, or a classified
//! error; never a panic or a hang (per-input watchdog).
//!
//! `fuzz_reader [--iterations N] [--seconds S] [--threads T] [--seed N] [--corpus DIR] [--out DIR]
//! [--timeout SECS]`

#[path = "fuzz_common/mod.rs"]
mod fuzz;

use aiprism_docx::{ErrorClass, Limits, read, read_comments};
use fuzz::{Rng, Source, generated, mutate, unzip, zip};

fn main() {
    let opts = fuzz::opts();
    let mut sources: Vec<Source> = opts
        .corpus
        .as_deref()
        .map(|d| fuzz::corpus(d, 100_000))
        .unwrap_or_default();
    println!(
        "fuzz_reader: {} corpus files as seeds, plus generated packages",
        sources.len()
    );
    let mut seed_rng = Rng(opts.seed | 1);
    for i in 0..64 {
        let entries = generated(&mut seed_rng);
        sources.push(Source {
            name: format!("generated-{i}.docx"),
            bytes: zip(&entries, i % 2 == 0),
            entries,
        });
    }
    let sources = std::sync::Arc::new(sources);
    let input = {
        let sources = sources.clone();
        move |rng: &mut Rng| -> Vec<u8> {
            if rng.chance(25) {
                // A fresh generated package, mutated or not.
                let entries = generated(rng);
                let src = Source {
                    name: String::new(),
                    bytes: zip(&entries, false),
                    entries,
                };
                return if rng.chance(70) {
                    mutate(rng, &src)
                } else {
                    src.bytes
                };
            }
            let src = &sources[rng.below(sources.len())];
            mutate(rng, src)
        }
    };
    let limits = Limits::default();
    let tally = fuzz::run(
        "fuzz_reader",
        &opts,
        input,
        |b: &Vec<u8>| b.clone(),
        move |bytes: &Vec<u8>| {
            let r = read(bytes, "input.docx", &limits);
            // Comments are read from the same packages in the product.
            let _ = read_comments(bytes, &limits);
            match r {
                Err(e) => {
                    if !matches!(
                        e.class(),
                        ErrorClass::Invalid | ErrorClass::Unsupported | ErrorClass::TooLarge
                    ) || e.to_string().is_empty()
                    {
                        return Err(format!("unclassified error {e:?}"));
                    }
                    Ok(false)
                }
                Ok(d) => {
                    for (i, p) in d.paragraphs.iter().enumerate() {
                        if p.locator as usize != i {
                            return Err(format!("paragraph {i} has locator {}", p.locator));
                        }
                        let len = p.text.chars().count() as u32;
                        let mut prev = 0;
                        for s in &p.runs {
                            if s.start < prev || s.end <= s.start || s.end > len {
                                return Err(format!("bad span {s:?} in paragraph {i} ({len} chars)"));
                            }
                            prev = s.end;
                        }
                    }
                    // Unzipping what the reader accepted must work too.
                    let _ = unzip(bytes);
                    Ok(true)
                }
            }
        },
    );
    if tally.panics > 0 || tally.failures > 0 {
        std::process::exit(1);
    }
}
