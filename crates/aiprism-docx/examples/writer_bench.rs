//! Comment-writer benchmark (driven by `bench/writer/run.sh`; not a test).
//!
//! `writer_bench --corpus DIR [--python FILE] [--reps N]` times `write_comments` (bytes in,
//! bytes out) with 500 comments on the corpus's largest document and with 20 comments on every
//! good corpus document, and sets the figures beside python-docx's for the same work (from
//! `python_docx_bench.py`, FILE, tab-separated).
//!
//! `writer_bench --one FILE [--comments N] [--reps N]` times one file (for profilers).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aiprism_docx::{CommentAnchor, CommentSpec, Limits, WriteOptions, read_docx, write_comments};

const HANDBOOK: &str = "unstructured/handbook-872p.docx";

struct Doc {
    name: String,
    bytes: Vec<u8>,
    specs: Vec<CommentSpec>,
}

/// `n` comments on `n` reading paragraphs spread evenly over the document, each on the middle
/// half of its paragraph (most quotes span several runs in real documents).
fn specs_for(bytes: &[u8], n: usize) -> Vec<CommentSpec> {
    let Ok(d) = read_docx(bytes, &Limits::default()) else {
        return Vec::new();
    };
    let cands: Vec<(u32, u32)> = d
        .paragraphs
        .iter()
        .filter(|p| p.in_reading_text)
        .map(|p| (p.locator, p.text.chars().count() as u32))
        .filter(|&(_, len)| len >= 2)
        .collect();
    if cands.is_empty() {
        return Vec::new();
    }
    (0..n)
        .map(|i| {
            let (loc, len) = cands[i * cands.len() / n];
            CommentSpec {
                anchor: CommentAnchor::Range {
                    paragraph: loc,
                    start: len / 4,
                    end: (len - len / 4).max(len / 4 + 1),
                },
                author: "aiprism".into(),
                initials: "AI".into(),
                date: "2026-11-22T10:00:00Z".into(),
                lines: vec![
                    format!("[MAJOR - High Risk] Finding {i}"),
                    "The quoted statement has no evidence.".into(),
                    String::new(),
                    "Suggestion: add the monitoring data.".into(),
                ],
                replacement: None,
            }
        })
        .collect()
}

fn load(dir: &Path, per_file: usize) -> Vec<Doc> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("manifest");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect("column");
    let (rel, kind, malformed) = (col("rel_path"), col("kind"), col("malformed"));
    lines
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| matches!(f.get(kind).copied(), Some("docx" | "docm" | "dotx")))
        .filter(|f| f.get(malformed).is_none_or(|m| m.trim().is_empty()))
        .map(|f| {
            let name = f.get(rel).copied().unwrap_or_default().to_string();
            let bytes = std::fs::read(dir.join(&name)).expect("corpus file");
            let specs = specs_for(&bytes, per_file);
            Doc { name, bytes, specs }
        })
        .collect()
}

fn write_all(docs: &[&Doc]) -> usize {
    let limits = Limits::default();
    let opts = WriteOptions::default();
    let mut written = 0;
    for d in docs {
        let r = write_comments(&d.bytes, &d.specs, &opts, &limits).expect("writes");
        written += r.comments_written;
        std::hint::black_box(r.bytes);
    }
    written
}

/// CPU time this process has used so far, on every thread (the writer deflates a large part on
/// several cores): unlike wall time, it does not grow when other processes share the cores, so
/// ratios computed from it hold on a busy machine too.
fn cpu_now() -> Duration {
    cpu_time::ProcessTime::try_now().map_or(Duration::ZERO, |t| t.as_duration())
}

/// Median wall time and median CPU time of `reps` runs.
#[derive(Clone, Copy)]
struct Timing {
    wall: Duration,
    cpu: Duration,
}

fn median(reps: usize, mut f: impl FnMut()) -> Timing {
    let (mut walls, mut cpus): (Vec<Duration>, Vec<Duration>) = (0..reps.max(1))
        .map(|_| {
            let (t, c) = (Instant::now(), cpu_now());
            f();
            (t.elapsed(), cpu_now().saturating_sub(c))
        })
        .unzip();
    walls.sort();
    cpus.sort();
    Timing {
        wall: walls[walls.len() / 2],
        cpu: cpus[cpus.len() / 2],
    }
}

fn verdict(ratio: f64) -> &'static str {
    if ratio >= 30.0 { "MET" } else { "MISSED" }
}

struct Python {
    handbook_s: Option<f64>,
    corpus_s: Option<f64>,
    handbook_cpu_s: Option<f64>,
    corpus_cpu_s: Option<f64>,
    ok: Vec<String>,
    failed: Vec<String>,
    version: String,
}

fn python_figures(path: &Path) -> Python {
    let text = std::fs::read_to_string(path).expect("python figures readable");
    let mut p = Python {
        handbook_s: None,
        corpus_s: None,
        handbook_cpu_s: None,
        corpus_cpu_s: None,
        ok: Vec::new(),
        failed: Vec::new(),
        version: String::new(),
    };
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f.as_slice() {
            ["handbook_s", s] => p.handbook_s = s.parse().ok(),
            ["corpus_s", s] => p.corpus_s = s.parse().ok(),
            ["handbook_cpu_s", s] => p.handbook_cpu_s = s.parse().ok(),
            ["corpus_cpu_s", s] => p.corpus_cpu_s = s.parse().ok(),
            ["ok", name] => p.ok.push((*name).to_string()),
            ["failed", ..] => p.failed.push(line.trim_start_matches("failed\t").to_string()),
            ["version", v] => p.version = (*v).to_string(),
            _ => {}
        }
    }
    p
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let reps: usize = arg("--reps").and_then(|r| r.parse().ok()).unwrap_or(9);
    if let Some(file) = arg("--one") {
        let n: usize = arg("--comments").and_then(|r| r.parse().ok()).unwrap_or(500);
        let bytes = std::fs::read(&file).expect("file readable");
        let doc = Doc {
            name: file.clone(),
            specs: specs_for(&bytes, n),
            bytes,
        };
        let t = median(reps, || {
            write_all(&[&doc]);
        });
        println!(
            "one\t{file}\t{n} comments\t{:.2} ms wall\t{:.2} ms cpu",
            t.wall.as_secs_f64() * 1e3,
            t.cpu.as_secs_f64() * 1e3
        );
        return;
    }
    let Some(dir) = arg("--corpus").map(PathBuf::from) else {
        eprintln!("usage: writer_bench --corpus DIR [--python FILE] [--reps N] | --one FILE [--comments N]");
        std::process::exit(2);
    };
    let python = arg("--python").map(|p| python_figures(Path::new(&p)));
    let hb_bytes = std::fs::read(dir.join(HANDBOOK)).expect("handbook");
    let handbook = Doc {
        name: HANDBOOK.into(),
        specs: specs_for(&hb_bytes, 500),
        bytes: hb_bytes,
    };
    let docs = load(&dir, 20);
    let all: Vec<&Doc> = docs.iter().collect();
    let total: usize = all.iter().map(|d| d.bytes.len()).sum();

    let mut written = 0;
    let t_hb = median(reps, || written = write_all(&[&handbook]));
    println!(
        "aiprism  handbook-872p.docx, 500 comments: {:8.1} ms  {:7.1} MB/s  cpu {:8.1} ms  ({written} written, {} KB in)",
        t_hb.wall.as_secs_f64() * 1e3,
        mb(handbook.bytes.len()) / t_hb.wall.as_secs_f64(),
        t_hb.cpu.as_secs_f64() * 1e3,
        handbook.bytes.len() / 1024
    );
    let t_all = median(reps, || written = write_all(&all));
    println!(
        "aiprism  corpus, {} files x 20 comments: {:8.1} ms  {:7.1} MB/s  cpu {:8.1} ms  ({written} written, {:.1} MB in)",
        all.len(),
        t_all.wall.as_secs_f64() * 1e3,
        mb(total) / t_all.wall.as_secs_f64(),
        t_all.cpu.as_secs_f64() * 1e3,
        mb(total)
    );
    let mut ratios = [f64::NAN; 4];
    let Some(py) = python else {
        println!("(no python-docx figures: ratios not computed)");
        return;
    };
    println!("python-docx {}:", py.version);
    let by_name: HashMap<&str, &Doc> = all.iter().map(|d| (d.name.as_str(), *d)).collect();
    if let Some(s) = py.handbook_s {
        let cpu = py.handbook_cpu_s.unwrap_or(f64::NAN);
        println!(
            "python   handbook-872p.docx, 500 comments: {:8.1} ms  {:7.1} MB/s  cpu {:8.1} ms",
            s * 1e3,
            mb(handbook.bytes.len()) / s,
            cpu * 1e3
        );
        let ratio = s / t_hb.wall.as_secs_f64();
        let cpu_ratio = cpu / t_hb.cpu.as_secs_f64();
        ratios[0] = ratio;
        ratios[1] = cpu_ratio;
        println!(
            "ratio    handbook: {ratio:.0}x python-docx wall time (target >= 30x: {}), {cpu_ratio:.0}x in CPU time ({})",
            verdict(ratio),
            verdict(cpu_ratio)
        );
    }
    if let Some(s) = py.corpus_s {
        // Same files on both sides: the ones python-docx could open and comment.
        let common: Vec<&Doc> = py
            .ok
            .iter()
            .filter_map(|n| by_name.get(n.as_str()).copied())
            .collect();
        let common_bytes: usize = common.iter().map(|d| d.bytes.len()).sum();
        let t_common = median(reps, || {
            write_all(&common);
        });
        println!(
            "python   corpus, {} files x 20 comments: {:8.1} ms  {:7.1} MB/s  cpu {:8.1} ms  ({} files python-docx cannot handle, skipped on both sides)",
            py.ok.len(),
            s * 1e3,
            mb(common_bytes) / s,
            py.corpus_cpu_s.unwrap_or(f64::NAN) * 1e3,
            py.failed.len()
        );
        for f in &py.failed {
            println!("         skipped: {f}");
        }
        println!(
            "aiprism  same {} files:                  {:8.1} ms  {:7.1} MB/s  cpu {:8.1} ms",
            common.len(),
            t_common.wall.as_secs_f64() * 1e3,
            mb(common_bytes) / t_common.wall.as_secs_f64(),
            t_common.cpu.as_secs_f64() * 1e3
        );
        let ratio = s / t_common.wall.as_secs_f64();
        let cpu_ratio = py.corpus_cpu_s.unwrap_or(f64::NAN) / t_common.cpu.as_secs_f64();
        ratios[2] = ratio;
        ratios[3] = cpu_ratio;
        println!(
            "ratio    corpus: {ratio:.0}x python-docx wall time (target >= 30x: {}), {cpu_ratio:.0}x in CPU time ({})",
            verdict(ratio),
            verdict(cpu_ratio)
        );
    }
    // For bench/writer/run.sh, which takes the median over rounds.
    println!(
        "ratios\t{:.2}\t{:.2}\t{:.2}\t{:.2}",
        ratios[0], ratios[1], ratios[2], ratios[3]
    );
}
