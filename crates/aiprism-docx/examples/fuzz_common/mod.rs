//! Shared by `fuzz_reader` and `fuzz_writer`: a deterministic RNG, generated packages, the corpus,
//! structure-aware mutations, and a runner with worker threads, panic capture and a per-input
//! watchdog that reports hangs.

#![allow(dead_code)]

use std::io::{Cursor, Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// xorshift64*.
#[derive(Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

/// Command-line options both fuzzers take.
pub struct Opts {
    pub iterations: u64,
    pub seconds: Option<u64>,
    pub threads: usize,
    pub seed: u64,
    pub corpus: Option<PathBuf>,
    pub out: PathBuf,
    pub timeout: Duration,
}

pub fn opts() -> Opts {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    Opts {
        iterations: arg("--iterations")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000),
        seconds: arg("--seconds").and_then(|v| v.parse().ok()),
        threads: arg("--threads").and_then(|v| v.parse().ok()).unwrap_or(2).max(1),
        seed: arg("--seed").and_then(|v| v.parse().ok()).unwrap_or(0x5eed),
        corpus: arg("--corpus")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("AIPRISM_CORPUS").map(PathBuf::from)),
        out: arg("--out")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("bench/fuzz/out")),
        timeout: Duration::from_secs(arg("--timeout").and_then(|v| v.parse().ok()).unwrap_or(10)),
    }
}

/// A package as its entries.
#[derive(Clone)]
pub struct Source {
    pub name: String,
    pub bytes: Vec<u8>,
    pub entries: Vec<(String, Vec<u8>)>,
}

pub fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let Ok(mut z) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for i in 0..z.len() {
        let Ok(mut f) = z.by_index(i) else { continue };
        let name = f.name().map(|n| n.to_string()).unwrap_or_default();
        let mut data = Vec::new();
        if f.read_to_end(&mut data).is_ok() {
            out.push((name, data));
        }
    }
    out
}

/// Zips entries, stored (cheap: mutations are re-zipped many times) or deflated.
pub fn zip(entries: &[(String, Vec<u8>)], deflate: bool) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let method = if deflate {
        CompressionMethod::Deflated
    } else {
        CompressionMethod::Stored
    };
    let opts = SimpleFileOptions::default()
        .compression_method(method)
        .large_file(false);
    for (name, data) in entries {
        if w.start_file(name.as_str(), opts).is_err() || w.write_all(data).is_err() {
            break;
        }
    }
    w.finish().map(Cursor::into_inner).unwrap_or_default()
}

/// Good corpus files no bigger than `max` bytes.
pub fn corpus(dir: &Path, max: usize) -> Vec<Source> {
    let Ok(text) = std::fs::read_to_string(dir.join("MANIFEST.tsv")) else {
        return Vec::new();
    };
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let col = |n: &str| header.iter().position(|h| *h == n);
    let (Some(rel), Some(kind), Some(bad)) = (col("rel_path"), col("kind"), col("malformed")) else {
        return Vec::new();
    };
    lines
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| matches!(f.get(kind).copied(), Some("docx" | "docm" | "dotx")))
        .filter(|f| f.get(bad).is_none_or(|m| m.trim().is_empty()))
        .filter_map(|f| {
            let name = f.get(rel)?.to_string();
            let bytes = std::fs::read(dir.join(&name)).ok()?;
            (bytes.len() <= max).then(|| Source {
                entries: unzip(&bytes),
                name,
                bytes,
            })
        })
        .collect()
}

const W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const W_STRICT: &str = "http://purl.oclc.org/ooxml/wordprocessingml/main";
const DECLS: &str = r#"xmlns:w="WNS" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml" xmlns:v="urn:schemas-microsoft-com:vml""#;

const TEXTS: &[&str] = &[
    "Root cause",
    "The disk filled up because nobody watched it.",
    "a &amp; b &lt;c&gt;",
    "השרת נפל בגלל דיסק מלא",
    "服务器因为磁盘已满而停止",
    "emoji 😀 here",
    " leading and trailing ",
    "x",
    "",
];

/// A run with random formatting and text pieces (tabs, breaks, symbols, CDATA).
fn gen_run(rng: &mut Rng) -> String {
    let rpr = *rng.pick(&["", "<w:rPr><w:b/></w:rPr>", "<w:rPr><w:i/><w:rtl/></w:rPr>", "<w:rPr><w:rStyle w:val=\"Strong\"/><w:rPrChange w:id=\"7\" w:author=\"a\"><w:rPr/></w:rPrChange></w:rPr>"]);
    let mut inner = String::new();
    for _ in 0..1 + rng.below(3) {
        inner.push_str(match rng.below(8) {
            0 => "<w:tab/>",
            1 => "<w:br/>",
            2 => "<w:sym w:font=\"Symbol\" w:char=\"F0B7\"/>",
            3 => "<w:t><![CDATA[cd<a>ta]]></w:t>",
            4 => "<w:noBreakHyphen/>",
            _ => "",
        });
        inner.push_str(&format!("<w:t xml:space=\"preserve\">{}</w:t>", rng.pick(TEXTS)));
    }
    format!("<w:r>{rpr}{inner}</w:r>")
}

/// Paragraph content: runs inside the containers the writer must handle.
fn content(rng: &mut Rng, depth: usize) -> String {
    let mut s = String::new();
    for _ in 0..1 + rng.below(4) {
        let r = gen_run(rng);
        s.push_str(&match (rng.below(14), depth < 3) {
            (0, true) => format!("<w:hyperlink r:id=\"rId9\">{}{}</w:hyperlink>", r, content(rng, depth + 1)),
            (1, true) => format!("<w:sdt><w:sdtPr><w:alias w:val=\"a\"/></w:sdtPr><w:sdtContent>{}</w:sdtContent></w:sdt>", content(rng, depth + 1)),
            (2, true) => format!("<w:smartTag w:uri=\"u\" w:element=\"e\"><w:smartTagPr/>{}</w:smartTag>", content(rng, depth + 1)),
            (3, true) => format!("<w:ins w:id=\"3\" w:author=\"x\">{}</w:ins>", content(rng, depth + 1)),
            (4, _) => format!("<w:del w:id=\"4\" w:author=\"x\"><w:r><w:delText>gone</w:delText></w:r></w:del>{r}"),
            (5, _) => format!("<w:fldSimple w:instr=\" PAGE \">{r}</w:fldSimple>"),
            (6, _) => format!("<w:r><w:fldChar w:fldCharType=\"begin\"/></w:r><w:r><w:instrText> {} </w:instrText></w:r><w:r><w:fldChar w:fldCharType=\"separate\"/></w:r>{r}<w:r><w:fldChar w:fldCharType=\"end\"/></w:r>", rng.pick(&["REF _Ref1 \\h", "HYPERLINK \"http://x\"", "PAGE"])),
            (7, true) => format!("<w:customXml w:element=\"c\">{}</w:customXml>", content(rng, depth + 1)),
            (8, _) => format!("<w:commentRangeStart w:id=\"1\"/>{r}<w:commentRangeEnd w:id=\"1\"/><w:r><w:commentReference w:id=\"1\"/></w:r>"),
            (9, true) => format!("<w:r><mc:AlternateContent><mc:Choice Requires=\"wps\"><w:drawing><wps:txbx><w:txbxContent><w:p>{}</w:p></w:txbxContent></wps:txbx></w:drawing></mc:Choice><mc:Fallback><w:pict><v:textbox><w:txbxContent><w:p>{}</w:p></w:txbxContent></v:textbox></w:pict></mc:Fallback></mc:AlternateContent></w:r>", gen_run(rng), gen_run(rng)),
            (10, _) => format!("<w:bookmarkStart w:id=\"9\" w:name=\"b\"/>{r}<w:bookmarkEnd w:id=\"9\"/>"),
            _ => r,
        });
    }
    s
}

fn paragraph(rng: &mut Rng) -> String {
    let ppr = *rng.pick(&[
        "",
        "<w:pPr><w:pStyle w:val=\"Heading1\"/></w:pPr>",
        "<w:pPr><w:bidi/><w:rPr><w:ins w:id=\"5\" w:author=\"y\"/></w:rPr></w:pPr>",
        "<w:pPr><w:pStyle w:val=\"Title\"/></w:pPr>",
    ]);
    format!("<w:p>{ppr}{}</w:p>", content(rng, 0))
}

/// A random valid package built from the constructs above (tables, block content controls,
/// existing comments, Strict or default namespace now and then).
pub fn generated(rng: &mut Rng) -> Vec<(String, Vec<u8>)> {
    let mut body = String::new();
    for _ in 0..1 + rng.below(8) {
        body.push_str(&match rng.below(6) {
            0 => format!(
                "<w:tbl><w:tr><w:tc>{}{}</w:tc></w:tr></w:tbl>",
                paragraph(rng),
                paragraph(rng)
            ),
            1 => format!(
                "<w:sdt><w:sdtPr/><w:sdtContent>{}</w:sdtContent></w:sdt>",
                paragraph(rng)
            ),
            _ => paragraph(rng),
        });
    }
    let ns = if rng.chance(10) { W_STRICT } else { W };
    let decls = DECLS.replace("WNS", ns);
    let doc = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><w:document {decls}><w:body>{body}<w:sectPr/></w:body></w:document>"#
    );
    let styles = format!(
        r#"<?xml version="1.0"?><w:styles xmlns:w="{ns}"><w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/></w:style><w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/></w:style><w:style w:type="character" w:styleId="CommentReference"><w:name w:val="annotation reference"/></w:style></w:styles>"#
    );
    let rel = if ns == W_STRICT {
        "http://purl.oclc.org/ooxml/officeDocument/relationships"
    } else {
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    };
    let with_comments = rng.chance(50);
    let mut doc_rels = format!(
        r#"<Relationship Id="rId1" Type="{rel}/styles" Target="styles.xml"/><Relationship Id="rId9" Type="{rel}/hyperlink" Target="http://x" TargetMode="External"/>"#
    );
    let mut overrides = String::new();
    if with_comments {
        doc_rels.push_str(&format!(
            r#"<Relationship Id="rId2" Type="{rel}/comments" Target="comments.xml"/>"#
        ));
        overrides.push_str(r#"<Override PartName="/word/comments.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml"/>"#);
    }
    let mut entries = vec![
        ("[Content_Types].xml".to_string(), format!(r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>{overrides}</Types>"#).into_bytes()),
        ("_rels/.rels".to_string(), format!(r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="word/document.xml"/></Relationships>"#).into_bytes()),
        ("word/document.xml".to_string(), doc.into_bytes()),
        ("word/_rels/document.xml.rels".to_string(), format!(r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{doc_rels}</Relationships>"#).into_bytes()),
        ("word/styles.xml".to_string(), styles.into_bytes()),
    ];
    if with_comments {
        entries.push(("word/comments.xml".to_string(), format!(r#"<?xml version="1.0"?><w:comments xmlns:w="{ns}"><w:comment w:id="1" w:author="Ann"><w:p><w:r><w:t>old</w:t></w:r></w:p></w:comment></w:comments>"#).into_bytes()));
    }
    entries
}

const SNIPPETS: &[&str] = &[
    "<w:p>",
    "</w:p>",
    "<w:r>",
    "</w:r>",
    "<w:t>",
    "</w:t>",
    "<w:p/>",
    "<w:r/>",
    "<w:t/>",
    "<w:r><w:fldChar w:fldCharType=\"begin\"/></w:r>",
    "<w:r><w:fldChar w:fldCharType=\"end\"/></w:r>",
    "<w:r><w:fldChar w:fldCharType=\"separate\"/></w:r>",
    "<mc:AlternateContent><mc:Choice Requires=\"wps\">",
    "</mc:Choice><mc:Fallback>",
    "</mc:Fallback></mc:AlternateContent>",
    "<w:txbxContent><w:p><w:r><w:t>x</w:t></w:r>",
    "<w:del><w:r><w:t>d</w:t></w:r></w:del>",
    "<w:ins w:id=\"2147483647\">",
    "</w:ins>",
    "&amp;",
    "&#0;",
    "&#xD800;",
    "&nope;",
    "<w:sym w:char=\"FFFFFFFF\"/>",
    "<w:commentRangeStart w:id=\"-1\"/>",
    "<w:commentRangeEnd w:id=\"99999999999999999999\"/>",
    "<w:commentReference w:id=\"x\"/>",
    "<![CDATA[x]]>",
    "<!DOCTYPE x>",
    "<!-- c -->",
    "<?pi x?>",
    "\u{0}",
    "\u{FEFF}",
    "<w:sdt><w:sdtPr><w:dataBinding w:xpath=\"/a\"/></w:sdtPr><w:sdtContent>",
    "</w:sdtContent></w:sdt>",
    "<w:smartTag w:element=\"x\">",
    "</w:smartTag>",
    "<w:hyperlink>",
    "</w:hyperlink>",
    "<w:fldSimple w:instr=\"PAGE\">",
    "</w:fldSimple>",
    "<w:ruby><w:rt><w:r><w:t>r</w:t></w:r></w:rt><w:rubyBase><w:r><w:t>b</w:t></w:r></w:rubyBase></w:ruby>",
    "xmlns:w=\"urn:other\"",
    "<w:instrText>HYPERLINK</w:instrText>",
    "\r\n",
    "\r",
];

/// One random edit of an XML part: insert a snippet, delete or duplicate a slice, swap slices,
/// flip a byte, blow up an attribute value, nest deeply.
pub fn mutate_xml(rng: &mut Rng, xml: &mut Vec<u8>) {
    let len = xml.len();
    let at = |rng: &mut Rng| {
        // Mostly at tag boundaries.
        let p = rng.below(len + 1);
        if rng.chance(70) {
            xml.get(p..)
                .and_then(|t| t.iter().position(|&b| b == b'<'))
                .map_or(p, |i| p + i)
        } else {
            p
        }
    };
    match rng.below(10) {
        0..=3 => {
            let p = at(rng);
            let s = rng.pick(SNIPPETS).as_bytes().to_vec();
            xml.splice(p..p, s);
        }
        4 => {
            let a = at(rng);
            let b = (a + 1 + rng.below(200)).min(len);
            if a < b {
                xml.drain(a..b);
            }
        }
        5 => {
            let a = at(rng);
            let b = (a + 1 + rng.below(400)).min(len);
            let piece = xml.get(a..b).unwrap_or_default().to_vec();
            let p = at(rng);
            xml.splice(p..p, piece);
        }
        6 => {
            if let Some(b) = xml.get_mut(rng.below(len.max(1))) {
                *b ^= 1 << rng.below(8);
            }
        }
        7 if rng.chance(20) => {
            // A huge attribute value.
            let p = at(rng);
            let v = format!(
                "<w:r w:rsidR=\"{}\"><w:t>big</w:t></w:r>",
                "A".repeat(1 << (10 + rng.below(10)))
            );
            xml.splice(p..p, v.into_bytes());
        }
        8 if rng.chance(20) => {
            // Deep nesting.
            let n = 1 + rng.below(20_000);
            let (open, close) = *rng.pick(&[
                ("<w:p>", "</w:p>"),
                ("<w:r>", "</w:r>"),
                ("<w:sdt><w:sdtContent>", "</w:sdtContent></w:sdt>"),
                ("<w:hyperlink>", "</w:hyperlink>"),
                ("<x:a>", "</x:a>"),
            ]);
            let p = at(rng);
            let mut s = open.repeat(n);
            if rng.chance(70) {
                s.push_str(&close.repeat(n));
            }
            xml.splice(p..p, s.into_bytes());
        }
        7 | 8 => {
            let p = at(rng);
            xml.splice(p..p, b"<w:r><w:t>z</w:t></w:r>".iter().copied());
        }
        _ => {
            let a = at(rng);
            let b = at(rng);
            let (a, b) = (a.min(b), a.max(b));
            let c = (b + rng.below(100)).min(len);
            if a < b && b < c {
                let mut mid = xml[a..c].to_vec();
                mid.rotate_left(b - a);
                xml.splice(a..c, mid);
            }
        }
    }
}

/// A mutated package: byte flips / truncation of the zip, or XML edits of one part re-zipped,
/// or entries dropped, renamed or duplicated.
pub fn mutate(rng: &mut Rng, src: &Source) -> Vec<u8> {
    match rng.below(20) {
        0 | 1 => {
            let mut b = src.bytes.clone();
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(b.len().max(1));
                if let Some(x) = b.get_mut(i) {
                    *x = rng.next() as u8;
                }
            }
            b
        }
        2 => src
            .bytes
            .get(..rng.below(src.bytes.len() + 1))
            .unwrap_or_default()
            .to_vec(),
        3 => {
            let mut e = src.entries.clone();
            match rng.below(3) {
                0 if !e.is_empty() => {
                    e.remove(rng.below(e.len()));
                }
                1 if !e.is_empty() => {
                    let i = rng.below(e.len());
                    e[i].0 = format!("{}X", e[i].0);
                }
                _ => {
                    if let Some(x) = e.first().cloned() {
                        e.push(x);
                    }
                }
            }
            zip(&e, false)
        }
        _ => {
            let mut e = src.entries.clone();
            let xml_parts: Vec<usize> = e
                .iter()
                .enumerate()
                .filter(|(_, (n, _))| n.ends_with(".xml") || n.ends_with(".rels"))
                .map(|(i, _)| i)
                .collect();
            if xml_parts.is_empty() {
                return src.bytes.clone();
            }
            // The main part most of the time.
            let main = e.iter().position(|(n, _)| n.ends_with("document.xml"));
            let i = match main {
                Some(m) if rng.chance(75) => m,
                _ => *rng.pick(&xml_parts),
            };
            for _ in 0..1 + rng.below(6) {
                mutate_xml(rng, &mut e[i].1);
            }
            // Deflated now and then: the writer rebuilds a large main part from its
            // compressed stream, which a stored entry never exercises.
            zip(&e, rng.chance(25))
        }
    }
}

/// Counters a worker reports.
#[derive(Default, Clone, Copy)]
pub struct Tally {
    pub execs: u64,
    pub panics: u64,
    pub failures: u64,
    pub ok: u64,
}

/// Runs `one` on inputs from `input` in worker threads until the iteration or time budget is
/// spent; a watchdog reports (and saves) any input that runs longer than the timeout, then
/// stops the run. Returns the summed tally.
pub fn run<I: Send + 'static>(
    name: &str,
    opts: &Opts,
    input: impl Fn(&mut Rng) -> I + Send + Sync + 'static,
    save: impl Fn(&I) -> Vec<u8> + Send + Sync + 'static,
    one: impl Fn(&I) -> Result<bool, String> + Send + Sync + 'static,
) -> Tally {
    let _ = std::fs::create_dir_all(&opts.out);
    // Silence the default panic printer: panics are counted and their inputs saved.
    std::panic::set_hook(Box::new(|_| {}));
    let input = Arc::new(input);
    let save = Arc::new(save);
    let one = Arc::new(one);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let per_thread = opts.iterations.div_ceil(opts.threads as u64);
    // Per worker: start time (ms since `started`, 0 = idle) of the input being processed.
    let clocks: Vec<Arc<AtomicU64>> = (0..opts.threads).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let current: Vec<Arc<std::sync::Mutex<Vec<u8>>>> = (0..opts.threads)
        .map(|_| Arc::new(std::sync::Mutex::new(Vec::new())))
        .collect();
    let mut handles = Vec::new();
    for t in 0..opts.threads {
        let (input, save, one, stop, done) = (
            input.clone(),
            save.clone(),
            one.clone(),
            stop.clone(),
            done.clone(),
        );
        let (clock, cur) = (clocks[t].clone(), current[t].clone());
        let out = opts.out.clone();
        let seed = opts.seed ^ ((t as u64 + 1) * 0x9E37_79B9_7F4A_7C15);
        let deadline = opts.seconds.map(|s| started + Duration::from_secs(s));
        let name = name.to_string();
        handles.push(std::thread::spawn(move || {
            let mut rng = Rng(seed | 1);
            let mut tally = Tally::default();
            while tally.execs < per_thread && !stop.load(Ordering::Relaxed) {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let case = input(&mut rng);
                clock.store(started.elapsed().as_millis() as u64 + 1, Ordering::Relaxed);
                let bytes_for_hang = save(&case);
                if let Ok(mut c) = cur.lock() {
                    *c = bytes_for_hang;
                }
                let r = catch_unwind(AssertUnwindSafe(|| one(&case)));
                clock.store(0, Ordering::Relaxed);
                tally.execs += 1;
                done.fetch_add(1, Ordering::Relaxed);
                match r {
                    Ok(Ok(true)) => tally.ok += 1,
                    Ok(Ok(false)) => {}
                    Ok(Err(why)) => {
                        tally.failures += 1;
                        let p = out.join(format!("{name}-failure-{t}-{}.bin", tally.failures));
                        let _ = std::fs::write(&p, save(&case));
                        eprintln!("FAILURE ({}): {why}", p.display());
                    }
                    Err(_) => {
                        tally.panics += 1;
                        let p = out.join(format!("{name}-panic-{t}-{}.bin", tally.panics));
                        let _ = std::fs::write(&p, save(&case));
                        eprintln!("PANIC: input saved to {}", p.display());
                    }
                }
            }
            tally
        }));
    }
    // Watchdog and progress.
    let timeout_ms = opts.timeout.as_millis() as u64;
    let mut last = Instant::now();
    let mut hung = false;
    while !handles.iter().all(|h| h.is_finished()) {
        std::thread::sleep(Duration::from_millis(50));
        let now = started.elapsed().as_millis() as u64;
        for (t, c) in clocks.iter().enumerate() {
            let s = c.load(Ordering::Relaxed);
            if s != 0 && now.saturating_sub(s) > timeout_ms {
                let p = opts.out.join(format!("{name}-hang-{t}.bin"));
                if let Ok(cur) = current[t].lock() {
                    let _ = std::fs::write(&p, &*cur);
                }
                eprintln!(
                    "HANG: an input ran over {:?}; saved to {}",
                    opts.timeout,
                    p.display()
                );
                hung = true;
            }
        }
        if hung {
            let n = done.load(Ordering::Relaxed);
            println!("{name}: {n} executions, STOPPED on a hang (1 hang)");
            std::process::exit(3);
        }
        if last.elapsed() > Duration::from_secs(10) {
            last = Instant::now();
            let n = done.load(Ordering::Relaxed);
            eprintln!(
                "{name}: {n} executions, {:.0} exec/s",
                n as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    let mut total = Tally::default();
    for h in handles {
        if let Ok(t) = h.join() {
            total.execs += t.execs;
            total.panics += t.panics;
            total.failures += t.failures;
            total.ok += t.ok;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{name}: {} executions in {secs:.1} s ({:.0} exec/s, {} threads), {} accepted, {} panics, 0 hangs, {} invariant failures",
        total.execs,
        total.execs as f64 / secs,
        opts.threads,
        total.ok,
        total.panics,
        total.failures
    );
    total
}
