//! Ingest benchmark (driven by `bench/ingest/run.sh`; not a test).
//!
//! `ingest_bench --corpus DIR [--python FILE] [--reps N]` times, over the good .docx files of the
//! corpus held in memory: our full `read()` (zip validation, styles, main part, sections), a
//! floor (unzip every entry + a plain quick-xml event scan of the main part), and compares with
//! python-docx figures produced by `python_docx_bench.py` (FILE, tab-separated).
//!
//! `ingest_bench --one FILE` reads one file once and prints its wall time and peak RSS (VmHWM).

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aiprism_docx::{Limits, read};

const LARGE: &[&str] = &[
    "unstructured/handbook-872p.docx",
    "docling/docx_rich_tables_01.docx",
    "Open-XML-SDK/Complex01.docx",
    "Open-XML-SDK/Strict01.docx",
];

struct Doc {
    name: String,
    main_part: String,
    bytes: Vec<u8>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if let Some(file) = arg("--one") {
        one(Path::new(&file));
        return;
    }
    if let Some(file) = arg("--loop-floor") {
        // For profilers: the floor on one file N times.
        let bytes = std::fs::read(&file).expect("file readable");
        let n: usize = arg("--reps").and_then(|r| r.parse().ok()).unwrap_or(50);
        let main = arg("--main").unwrap_or_else(|| "word/document.xml".into());
        let doc = Doc {
            name: file.clone(),
            main_part: main,
            bytes,
        };
        let mut buf = Vec::new();
        for _ in 0..n {
            floor(&[&doc], &mut buf);
        }
        return;
    }
    if let Some(file) = arg("--loop") {
        // For profilers: read one file N times in-process.
        let bytes = std::fs::read(&file).expect("file readable");
        let n: usize = arg("--reps").and_then(|r| r.parse().ok()).unwrap_or(50);
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(read(&bytes, &file, &Limits::default()).ok());
        }
        println!(
            "loop\t{file}\t{:.2} ms per read",
            t.elapsed().as_secs_f64() * 1e3 / n as f64
        );
        return;
    }
    if let Some(dir) = arg("--profile-corpus").map(PathBuf::from) {
        // For profilers: every good corpus file once per repetition, ours or (--floor) the floor.
        let docs = load(&dir);
        let all: Vec<&Doc> = docs.iter().collect();
        let n: usize = arg("--reps").and_then(|r| r.parse().ok()).unwrap_or(1);
        let mut buf = Vec::new();
        for _ in 0..n {
            if args.iter().any(|a| a == "--floor") {
                floor(&all, &mut buf)
            } else {
                ours(&all)
            }
        }
        return;
    }
    let Some(dir) = arg("--corpus").map(PathBuf::from) else {
        eprintln!("usage: ingest_bench --corpus DIR [--python FILE] [--reps N] | --one FILE");
        std::process::exit(2);
    };
    let reps: usize = arg("--reps").and_then(|r| r.parse().ok()).unwrap_or(9);
    let python = arg("--python").map(|p| python_figures(Path::new(&p)));
    corpus(&dir, reps, python.as_ref());
}

fn one(path: &Path) {
    let bytes = std::fs::read(path).expect("file readable");
    let t = Instant::now();
    let d = read(&bytes, &path.to_string_lossy(), &Limits::default()).expect("reads");
    let ms = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "one\t{}\t{ms:.1} ms\t{} paragraphs\t{} sections\tVmHWM {} kB",
        path.display(),
        d.paragraphs.len(),
        d.sections.len(),
        vm_hwm_kb().map_or("?".to_string(), |k| k.to_string())
    );
}

fn vm_hwm_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

struct Python {
    total_bytes: u64,
    median_s: f64,
    ok: Vec<String>,
    failed: Vec<String>,
    large: HashMap<String, f64>,
}

fn python_figures(path: &Path) -> Python {
    let text = std::fs::read_to_string(path).expect("python figures readable");
    let mut p = Python {
        total_bytes: 0,
        median_s: 0.0,
        ok: vec![],
        failed: vec![],
        large: HashMap::new(),
    };
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f.as_slice() {
            ["total_bytes", n] => p.total_bytes = n.parse().unwrap_or(0),
            ["median_s", s] => p.median_s = s.parse().unwrap_or(0.0),
            ["ok", name] => p.ok.push((*name).to_string()),
            ["failed", _name, ..] => p.failed.push(line.trim_start_matches("failed\t").to_string()),
            ["large", name, s] => {
                p.large.insert((*name).to_string(), s.parse().unwrap_or(0.0));
            }
            _ => {}
        }
    }
    p
}

fn load(dir: &Path) -> Vec<Doc> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("manifest");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect("column");
    let (rel, kind, malformed, main) = (col("rel_path"), col("kind"), col("malformed"), col("main_part"));
    lines
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| matches!(f.get(kind).copied(), Some("docx" | "docm" | "dotx")))
        .filter(|f| f.get(malformed).is_none_or(|m| m.trim().is_empty()))
        .map(|f| {
            let name = f.get(rel).copied().unwrap_or("").to_string();
            let bytes = std::fs::read(dir.join(&name)).expect("corpus file");
            Doc {
                name,
                main_part: f.get(main).copied().unwrap_or("word/document.xml").to_string(),
                bytes,
            }
        })
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

#[allow(dead_code)]
fn time_reps(reps: usize, mut f: impl FnMut()) -> Duration {
    f(); // warm-up
    median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

/// Times `f` and `g` alternately (so background load hits both alike); medians of each.
fn time_pair(reps: usize, mut f: impl FnMut(), mut g: impl FnMut()) -> (Duration, Duration) {
    f();
    g();
    let (mut a, mut b) = (Vec::with_capacity(reps), Vec::with_capacity(reps));
    for _ in 0..reps {
        let t = Instant::now();
        f();
        a.push(t.elapsed());
        let t = Instant::now();
        g();
        b.push(t.elapsed());
    }
    (median(a), median(b))
}

fn ours(docs: &[&Doc]) {
    let limits = Limits::default();
    for d in docs {
        let r = read(&d.bytes, &d.name, &limits);
        assert!(r.is_ok(), "{} failed", d.name);
        std::hint::black_box(r.ok());
    }
}

/// Unzip every entry to its end, and scan the main part with a plain (non-namespace) reader.
fn floor(docs: &[&Doc], buf: &mut Vec<u8>) {
    for d in docs {
        let mut z = zip::ZipArchive::new(Cursor::new(d.bytes.as_slice())).expect("zip");
        let mut events = 0u64;
        for i in 0..z.len() {
            let mut f = z.by_index(i).expect("entry");
            buf.clear();
            f.read_to_end(buf).expect("inflate");
            if f.name().is_ok_and(|n| n == d.main_part) {
                let mut r = quick_xml::Reader::from_reader(buf.as_slice());
                loop {
                    match r.read_event() {
                        Ok(quick_xml::events::Event::Eof) | Err(_) => break,
                        Ok(_) => events += 1,
                    }
                }
            }
        }
        std::hint::black_box(events);
    }
}

fn args_has(flag: &str) -> bool {
    std::env::args().any(|a| a == flag)
}

fn mbps(bytes: u64, t: Duration) -> f64 {
    bytes as f64 / 1e6 / t.as_secs_f64().max(1e-9)
}

fn corpus(dir: &Path, reps: usize, py: Option<&Python>) {
    let docs = load(dir);
    let all: Vec<&Doc> = docs.iter().collect();
    let total: u64 = all.iter().map(|d| d.bytes.len() as u64).sum();
    let mut buf = Vec::with_capacity(8 << 20);
    let (t_ours, t_floor) = time_pair(reps, || ours(&all), || floor(&all, &mut buf));
    println!(
        "== aiprism-docx ingest benchmark ({} good .docx files, {:.2} MB, median of {reps})",
        all.len(),
        total as f64 / 1e6
    );
    println!(
        "{:<44} {:>10} {:>10} {:>10} {:>12} {:>12}",
        "set", "ours ms", "floor ms", "py ms", "ours/floor", "py/ours"
    );
    let row = |name: &str, bytes: u64, o: Duration, f: Duration, p: Option<f64>| {
        println!(
            "{:<44} {:>10.1} {:>10.1} {:>10} {:>11.2}x {:>12}   ours {:.1} MB/s, floor {:.1} MB/s{}",
            name,
            o.as_secs_f64() * 1e3,
            f.as_secs_f64() * 1e3,
            p.map_or("-".into(), |p| format!("{:.1}", p * 1e3)),
            o.as_secs_f64() / f.as_secs_f64().max(1e-9),
            p.map_or("-".into(), |p| format!("{:.1}x", p / o.as_secs_f64().max(1e-9))),
            mbps(bytes, o),
            mbps(bytes, f),
            p.map_or(String::new(), |p| format!(
                ", python-docx {:.2} MB/s",
                bytes as f64 / 1e6 / p.max(1e-9)
            ))
        );
    };
    row("all good files", total, t_ours, t_floor, None);
    let floor_ratio = t_ours.as_secs_f64() / t_floor.as_secs_f64().max(1e-9);
    let mut py_ratio: Option<f64> = None;
    if let Some(py) = py {
        let subset: Vec<&Doc> = docs.iter().filter(|d| py.ok.contains(&d.name)).collect();
        let sub_bytes: u64 = subset.iter().map(|d| d.bytes.len() as u64).sum();
        let (o, f) = time_pair(reps, || ours(&subset), || floor(&subset, &mut buf));
        row(
            &format!("files python-docx reads ({})", subset.len()),
            sub_bytes,
            o,
            f,
            Some(py.median_s),
        );
        py_ratio = Some(py.median_s / o.as_secs_f64().max(1e-9));
        if sub_bytes != py.total_bytes {
            println!(
                "  (warning: python-docx byte total {} differs from {sub_bytes})",
                py.total_bytes
            );
        }
    }
    let large_reps = reps.max(15);
    for name in LARGE {
        let Some(d) = docs.iter().find(|d| d.name == *name) else {
            continue;
        };
        let one = [d];
        let (o, f) = time_pair(large_reps, || ours(&one), || floor(&one, &mut buf));
        let p = py.and_then(|p| p.large.get(*name).copied());
        row(name, d.bytes.len() as u64, o, f, p);
    }
    if args_has("--per-file") {
        let mut rows: Vec<(f64, String, f64, f64)> = docs
            .iter()
            .map(|d| {
                let one = [d];
                let (o, f) = time_pair(reps, || ours(&one), || floor(&one, &mut buf));
                let (o, f) = (o.as_secs_f64() * 1e3, f.as_secs_f64() * 1e3);
                (o - f, d.name.clone(), o, f)
            })
            .collect();
        rows.sort_by(|a, b| b.0.total_cmp(&a.0));
        println!("largest gaps to the floor (ms over floor, ours ms, floor ms):");
        for (gap, name, o, f) in rows.iter().take(12) {
            println!("  {gap:>7.2} {o:>8.2} {f:>8.2}  {name}");
        }
    }
    if let Some(py) = py {
        println!(
            "python-docx could not read {} good files (skipped in its figures):",
            py.failed.len()
        );
        for f in &py.failed {
            println!("  {f}");
        }
    }
    let verdict = |ok: bool| if ok { "MET" } else { "MISSED" };
    match py_ratio {
        Some(r) => println!(
            "target: ours >= 30x python-docx ........ {r:.1}x  {}",
            verdict(r >= 30.0)
        ),
        None => println!("target: ours >= 30x python-docx ........ not measured (python-docx unavailable)"),
    }
    println!(
        "target: ours within 3x of the floor ..... {floor_ratio:.2}x  {}",
        verdict(floor_ratio <= 3.0)
    );
}
