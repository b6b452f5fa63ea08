//! A load generator for a running `aiprism serve` (used by `bench/load/run.sh` and `bench/faults/run.sh`).
//!
//! Each client is a task that signs in with an API token and, until the run's time is up, sends one
//! request after another, chosen at random with fixed weights: upload (a small Markdown write-up or a
//! real `.docx`, review on), list documents, the findings of a reviewed document, and accept/reject
//! decisions on its findings. Before the clock starts, every token's user uploads one `.docx` and waits
//! for its review, so findings and decisions have something to work on.
//!
//! It prints per-route counts, errors by status and p50/p95/p99/max latency plus total throughput, as a
//! table and as `RESULT` lines for scripts. `--events FILE` also writes every request (start time,
//! route, status, latency, error code) as CSV, which the fault script lines up against its outages.
//! With `--expect-no-errors` any error makes the exit status 1.
//!
//! Loopback only: it refuses a URL whose host is not a loopback address, and it stops by itself.
//!
//! ```text
//! loadgen --url http://127.0.0.1:8080 --tokens-file tokens.txt [--clients 200] [--duration 60]
//!         [--docx FILE] [--timeout 30] [--events FILE] [--expect-no-errors]
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(
    name = "loadgen",
    about = "Drives aiprism's API with concurrent clients and prints latencies"
)]
struct Args {
    /// The server's base URL (loopback only).
    #[arg(long)]
    url: String,
    /// A file with one API token per line; clients take them round-robin.
    #[arg(long)]
    tokens_file: PathBuf,
    /// Concurrent clients.
    #[arg(long, default_value_t = 200)]
    clients: usize,
    /// How long the measured run lasts, in seconds.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// The `.docx` to upload (a built-in write-up when absent).
    #[arg(long)]
    docx: Option<PathBuf>,
    /// Per-request timeout in seconds: a request that takes longer counts as a `timeout` error.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Weights of upload, list, findings and decision requests.
    #[arg(long, default_value = "1,3,3,3")]
    mix: String,
    /// Write every request as CSV (`start_unix_ms,route,status,latency_ms,code`).
    #[arg(long)]
    events: Option<PathBuf>,
    /// Exit with status 1 if any request failed.
    #[arg(long)]
    expect_no_errors: bool,
    /// A label for the `RESULT` lines.
    #[arg(long, default_value = "load")]
    label: String,
}

/// The routes the clients exercise, in the order they are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Route {
    Upload,
    List,
    Findings,
    Decision,
}

impl Route {
    const ALL: [Route; 4] = [Route::Upload, Route::List, Route::Findings, Route::Decision];

    fn name(self) -> &'static str {
        match self {
            Route::Upload => "upload",
            Route::List => "list",
            Route::Findings => "findings",
            Route::Decision => "decision",
        }
    }

    fn template(self) -> &'static str {
        match self {
            Route::Upload => "POST /api/v1/documents",
            Route::List => "GET /api/v1/documents",
            Route::Findings => "GET /api/v1/documents/{id}/findings",
            Route::Decision => "POST /api/v1/findings/{id}/decision",
        }
    }

    fn expected(self) -> u16 {
        match self {
            Route::Upload => 201,
            _ => 200,
        }
    }
}

/// What one request ended with.
#[derive(Debug, Clone)]
struct Outcome {
    route: Route,
    started_unix_ms: u128,
    latency: Duration,
    /// The HTTP status, or 0 when no response came (timeout, connection error).
    status: u16,
    /// The API error code for an error response, `not_json` when the body is not the error shape,
    /// `timeout` / `connect` / `transport` when no response came; empty on success.
    code: String,
}

/// One user's working set: a token and a reviewed document with its findings.
#[derive(Debug, Clone)]
struct Session {
    token: String,
    document_id: String,
    finding_ids: Vec<String>,
}

/// A small deterministic random source (splitmix64): enough to pick requests, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    check_loopback(&args.url)?;
    let base = args.url.trim_end_matches('/').to_string();
    let tokens: Vec<String> = std::fs::read_to_string(&args.tokens_file)
        .with_context(|| format!("reading {}", args.tokens_file.display()))?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if tokens.is_empty() {
        bail!("{} holds no token", args.tokens_file.display());
    }
    let weights = parse_mix(&args.mix)?;
    let docx = match &args.docx {
        Some(path) => std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        None => aiprism_testkit::fixtures::incident_writeup(),
    };
    let docx_name = args
        .docx
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "incident.docx".into());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout))
        .connect_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(args.clients.max(1))
        .build()
        .context("building the HTTP client")?;

    eprintln!(
        "loadgen: preparing {} user(s): one reviewed .docx each",
        tokens.len()
    );
    let mut sessions = Vec::new();
    for token in &tokens {
        sessions.push(prepare(&client, &base, token, &docx, &docx_name).await?);
    }
    let findings: usize = sessions.iter().map(|s| s.finding_ids.len()).sum();
    eprintln!(
        "loadgen: {findings} findings to decide on; {} clients for {} s",
        args.clients, args.duration
    );

    let shared = Arc::new(Shared {
        client,
        base,
        docx,
        docx_name,
        weights,
        outcomes: Mutex::new(Vec::new()),
    });
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..args.clients {
        let session = sessions[i % sessions.len()].clone();
        let shared = Arc::clone(&shared);
        tasks.spawn(client_loop(i, session, shared, deadline));
    }
    while let Some(joined) = tasks.join_next().await {
        joined.context("a client task failed")?;
    }
    let elapsed = started.elapsed();
    let outcomes = std::mem::take(&mut *shared.outcomes.lock().await);

    if let Some(path) = &args.events {
        write_events(path, &outcomes)?;
    }
    let errors = report(&args.label, args.clients, elapsed, &outcomes);
    if args.expect_no_errors && errors > 0 {
        eprintln!("loadgen: {errors} request(s) failed (--expect-no-errors)");
        std::process::exit(1);
    }
    Ok(())
}

struct Shared {
    client: reqwest::Client,
    base: String,
    docx: Vec<u8>,
    docx_name: String,
    weights: [u64; 4],
    outcomes: Mutex<Vec<Outcome>>,
}

fn check_loopback(url: &str) -> anyhow::Result<()> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("parsing {url}"))?;
    let host = parsed.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        bail!("{url} is not a loopback address: this tool only loads servers on this machine");
    }
    Ok(())
}

fn parse_mix(mix: &str) -> anyhow::Result<[u64; 4]> {
    let parts: Vec<u64> = mix
        .split(',')
        .map(|p| p.trim().parse::<u64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--mix {mix:?}: expected four whole numbers"))?;
    match parts.as_slice() {
        [a, b, c, d] if a + b + c + d > 0 => Ok([*a, *b, *c, *d]),
        _ => bail!("--mix {mix:?}: expected four weights (upload,list,findings,decision), not all zero"),
    }
}

/// Uploads the `.docx` for one user, waits for its review and collects the findings.
async fn prepare(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    docx: &[u8],
    docx_name: &str,
) -> anyhow::Result<Session> {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(docx.to_vec()).file_name(docx_name.to_string()),
    );
    let response = client
        .post(format!("{base}/api/v1/documents"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .context("uploading the seed document")?;
    let status = response.status();
    let doc: Value = response.json().await.context("reading the upload's answer")?;
    if status.as_u16() != 201 {
        bail!("seed upload answered {status}: {doc}");
    }
    let document_id = doc["id"].as_str().context("upload without id")?.to_string();
    let review_id = doc["review"]["id"]
        .as_str()
        .context("upload without review")?
        .to_string();
    let until = Instant::now() + Duration::from_secs(120);
    loop {
        let review: Value = client
            .get(format!("{base}/api/v1/reviews/{review_id}"))
            .bearer_auth(token)
            .send()
            .await?
            .json()
            .await?;
        match review["status"].as_str() {
            Some("queued" | "running") if Instant::now() < until => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Some("queued" | "running") => bail!("the seed review did not finish in 120 s: {review}"),
            _ => break,
        }
    }
    let findings: Value = client
        .get(format!(
            "{base}/api/v1/documents/{document_id}/findings?min_confidence=0"
        ))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    let finding_ids: Vec<String> = findings["findings"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter(|f| f["source"] != "reviewer")
                .filter_map(|f| f["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if finding_ids.is_empty() {
        bail!("the seed document's review found nothing to decide on: {findings}");
    }
    Ok(Session {
        token: token.to_string(),
        document_id,
        finding_ids,
    })
}

/// One client: requests back to back until the deadline.
async fn client_loop(index: usize, session: Session, shared: Arc<Shared>, deadline: Instant) {
    let mut rng = Rng(0x5EED_0000 + index as u64);
    let total: u64 = shared.weights.iter().sum();
    let mut local = Vec::new();
    let mut sequence = 0u64;
    while Instant::now() < deadline {
        let mut pick = rng.below(total);
        let mut route = Route::Decision;
        for (r, w) in Route::ALL.iter().zip(shared.weights) {
            if pick < w {
                route = *r;
                break;
            }
            pick -= w;
        }
        sequence += 1;
        let request = build(&shared, &session, route, &mut rng, index, sequence);
        let started_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let started = Instant::now();
        let (status, code) = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.bytes().await {
                    Ok(_) if status == route.expected() => (status, String::new()),
                    Ok(body) => (status, error_code(&body)),
                    Err(e) => (0, transport_code(&e)),
                }
            }
            Err(e) => (0, transport_code(&e)),
        };
        let latency = started.elapsed();
        local.push(Outcome {
            route,
            started_unix_ms,
            latency,
            status,
            code,
        });
        if status == 0 {
            // No answer at all: pause briefly so a dead server is not hammered in a tight loop.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    shared.outcomes.lock().await.extend(local);
}

fn build(
    shared: &Shared,
    session: &Session,
    route: Route,
    rng: &mut Rng,
    client: usize,
    sequence: u64,
) -> reqwest::RequestBuilder {
    let c = &shared.client;
    let base = &shared.base;
    let request = match route {
        Route::Upload => {
            let part = if rng.below(2) == 0 {
                reqwest::multipart::Part::bytes(markdown(client, sequence).into_bytes())
                    .file_name(format!("load-{client}-{sequence}.md"))
            } else {
                reqwest::multipart::Part::bytes(shared.docx.clone()).file_name(shared.docx_name.clone())
            };
            c.post(format!("{base}/api/v1/documents"))
                .multipart(reqwest::multipart::Form::new().part("file", part))
        }
        Route::List => c.get(format!("{base}/api/v1/documents")),
        Route::Findings => c.get(format!(
            "{base}/api/v1/documents/{}/findings",
            session.document_id
        )),
        Route::Decision => {
            let i = usize::try_from(rng.below(session.finding_ids.len() as u64)).unwrap_or(0);
            let status = if rng.below(2) == 0 { "accepted" } else { "rejected" };
            c.post(format!(
                "{base}/api/v1/findings/{}/decision",
                session.finding_ids[i]
            ))
            .json(&json!({"status": status}))
        }
    };
    request.bearer_auth(&session.token)
}

/// A small write-up, different for every upload, with something for the rules to find.
fn markdown(client: usize, sequence: u64) -> String {
    format!(
        "# Summary\n\nLoad test write-up {client}-{sequence}. The payment service failed for 42 minutes; \
         some customers were affected.\n\n# Timeline\n\n- 09:02 Alert fired.\n- 09:44 Service restored.\n\n\
         # Root cause\n\nA certificate expired because renewal was manual.\n\n# Actions\n\n\
         - Add an alert on certificate expiry. Owner: TBD.\n"
    )
}

fn error_code(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
        .unwrap_or_else(|| "not_json".to_string())
}

/// A short name for a request that got no complete answer; the full error goes to stderr, so a dropped
/// connection can be told from a timeout and traced in the server's log.
fn transport_code(e: &reqwest::Error) -> String {
    let code = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() {
        "body"
    } else {
        "transport"
    };
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    eprintln!("loadgen: {code} error: {detail}");
    code.to_string()
}

fn write_events(path: &std::path::Path, outcomes: &[Outcome]) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    writeln!(out, "start_unix_ms,route,status,latency_ms,code")?;
    let mut sorted: Vec<&Outcome> = outcomes.iter().collect();
    sorted.sort_by_key(|o| o.started_unix_ms);
    for o in sorted {
        writeln!(
            out,
            "{},{},{},{:.3},{}",
            o.started_unix_ms,
            o.route.name(),
            o.status,
            o.latency.as_secs_f64() * 1000.0,
            o.code
        )?;
    }
    out.flush()?;
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // Nearest rank: the smallest value with at least p% of the samples at or below it.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

/// Prints the table and the `RESULT` lines; returns how many requests failed.
fn report(label: &str, clients: usize, elapsed: Duration, outcomes: &[Outcome]) -> usize {
    let mut by_route: BTreeMap<Route, Vec<&Outcome>> = BTreeMap::new();
    for o in outcomes {
        by_route.entry(o.route).or_default().push(o);
    }
    let secs = elapsed.as_secs_f64().max(0.001);
    println!();
    println!(
        "{label}: {clients} clients, {:.1} s, {} requests, {:.0} requests/s",
        secs,
        outcomes.len(),
        outcomes.len() as f64 / secs
    );
    println!(
        "{:<38} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8}  errors by status",
        "route", "count", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    let mut total_errors = 0;
    let mut results = Vec::new();
    for route in Route::ALL {
        let list = by_route.get(&route).map(Vec::as_slice).unwrap_or(&[]);
        let mut latencies: Vec<Duration> = list.iter().map(|o| o.latency).collect();
        latencies.sort();
        let mut errors: BTreeMap<String, usize> = BTreeMap::new();
        for o in list.iter().filter(|o| o.status != route.expected()) {
            let key = if o.status == 0 {
                o.code.clone()
            } else {
                format!("{} {}", o.status, o.code)
            };
            *errors.entry(key).or_default() += 1;
        }
        let error_count: usize = errors.values().sum();
        total_errors += error_count;
        let errors_text = if errors.is_empty() {
            "-".to_string()
        } else {
            errors
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (p50, p95, p99, max) = (
            percentile(&latencies, 50.0),
            percentile(&latencies, 95.0),
            percentile(&latencies, 99.0),
            latencies.last().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0),
        );
        println!(
            "{:<38} {:>7} {:>7} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1}  {}",
            route.template(),
            list.len(),
            error_count,
            list.len() as f64 / secs,
            p50,
            p95,
            p99,
            max,
            errors_text
        );
        results.push(format!(
            "RESULT kind=route label={label} route={} count={} errors={error_count} per_s={:.1} p50_ms={p50:.2} \
             p95_ms={p95:.2} p99_ms={p99:.2} max_ms={max:.2}",
            route.name(),
            list.len(),
            list.len() as f64 / secs
        ));
    }
    println!();
    for line in results {
        println!("{line}");
    }
    println!(
        "RESULT kind=total label={label} clients={clients} seconds={secs:.1} requests={} errors={total_errors} \
         per_s={:.1}",
        outcomes.len(),
        outcomes.len() as f64 / secs
    );
    total_errors
}
