//! Router benchmark: 500 section reviews arriving in bursts over 7 model endpoints of 200 requests/min
//! each, which throttle at random. Our router and the original tool's approach (primary model only, fixed
//! exponential backoff, give up after a few attempts) run in the same process against identical seeded
//! worlds, on tokio's paused clock: time is simulated, so minutes of traffic take milliseconds.
//!
//! Usage: `aiprism-router-bench [--seed N] [--provider-burst SECONDS]` (see bench/router/run.sh). The
//! provider burst is how many seconds of quota the simulated providers let through at once (10 by default,
//! as much as the router spends at once); smaller values show what a stricter provider costs.

mod cache;
mod world;

use std::sync::Arc;
use std::time::Duration;

use aiprism_llm::{
    ChatMessage, Endpoint, EndpointConfig, ModelRequest, Provider, ProviderError, ProviderKind, Router,
    RouterSettings, SystemBlock,
};
use tokio::time::Instant;
use world::{Backlog, Rng, SimEndpoint, WorldSettings};

/// Documents per wave, waves, sections per document, seconds between waves.
const DOCS_PER_WAVE: usize = 5;
const WAVES: usize = 5;
const SECTIONS: usize = 20;
const WAVE_GAP_SECS: f64 = 2.0;
/// How long a review job may wait for the models.
const JOB_DEADLINE: Duration = Duration::from_secs(15 * 60);
/// The simulated horizon over which throttle episodes are drawn.
const HORIZON_SECS: f64 = 3600.0;

/// One finished review.
struct Outcome {
    arrived: f64,
    finished: f64,
    ok: bool,
}

/// What one run measured.
struct Run {
    outcomes: Vec<Outcome>,
    admitted: u64,
    throttled: u64,
    quota_share: f64,
    makespan: f64,
}

fn arrivals() -> Vec<f64> {
    let mut times = Vec::new();
    for wave in 0..WAVES {
        for _ in 0..DOCS_PER_WAVE * SECTIONS {
            times.push(wave as f64 * WAVE_GAP_SECS);
        }
    }
    times
}

fn request(index: usize) -> ModelRequest {
    ModelRequest {
        system: vec![
            SystemBlock::cached("framework and outline"),
            SystemBlock::plain("review the section"),
        ],
        messages: vec![ChatMessage::user(format!(
            "<section>Section {index}. Text.</section>"
        ))],
        ..ModelRequest::default()
    }
}

fn world(settings: &WorldSettings, start: Instant, backlog: &Arc<Backlog>) -> Vec<Arc<SimEndpoint>> {
    (0..settings.endpoints)
        .map(|i| {
            Arc::new(SimEndpoint::new(
                settings,
                i,
                start,
                HORIZON_SECS,
                backlog.clone(),
            ))
        })
        .collect()
}

/// Refills every endpoint's bucket every 50 ms of simulated time, so quota that expires while reviews
/// wait is booked as waste when it expires.
fn ticker(endpoints: &[Arc<SimEndpoint>]) -> tokio::task::JoinHandle<()> {
    let endpoints = endpoints.to_vec();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = Instant::now();
            for endpoint in &endpoints {
                endpoint.tick(now);
            }
        }
    })
}

/// Quota used = admitted / (admitted + quota that expired unused while reviews were waiting).
fn measure(endpoints: &[Arc<SimEndpoint>], outcomes: Vec<Outcome>) -> Run {
    let (mut admitted, mut throttled, mut wasted) = (0, 0, 0.0);
    for endpoint in endpoints {
        let (a, t, w) = endpoint.counts();
        admitted += a;
        throttled += t;
        wasted += w;
    }
    let makespan = outcomes.iter().map(|o| o.finished).fold(0.0, f64::max);
    Run {
        outcomes,
        admitted,
        throttled,
        quota_share: admitted as f64 / (admitted as f64 + wasted),
        makespan,
    }
}

/// Our router over the seven endpoints.
async fn run_router(settings: &WorldSettings) -> Run {
    let start = Instant::now();
    let backlog = Arc::new(Backlog::default());
    let endpoints = world(settings, start, &backlog);
    let ticker = ticker(&endpoints);
    let chain: Vec<Endpoint> = endpoints
        .iter()
        .map(|sim| {
            let mut config = EndpointConfig::new(ProviderKind::Bedrock, sim.model());
            config.requests_per_minute = settings.requests_per_minute;
            config.tokens_per_minute = 0;
            config.max_concurrency = 64;
            config.price_input_per_mtok = 3.0;
            config.price_output_per_mtok = 15.0;
            Endpoint::new(config, sim.clone() as Arc<dyn Provider>)
        })
        .collect();
    let router = match Router::builder(chain).settings(RouterSettings::default()).build() {
        Ok(router) => router,
        Err(error) => {
            eprintln!("cannot build the router: {error}");
            std::process::exit(2);
        }
    };
    let tasks: Vec<_> = arrivals()
        .into_iter()
        .enumerate()
        .map(|(index, arrived)| {
            let router = router.clone();
            let backlog = backlog.clone();
            tokio::spawn(async move {
                tokio::time::sleep_until(start + Duration::from_secs_f64(arrived)).await;
                backlog.arrive();
                let deadline = Instant::now() + JOB_DEADLINE;
                let ok = router
                    .call(&request(index), deadline, |r| r.json_output())
                    .await
                    .is_ok();
                if !ok {
                    backlog.leave();
                }
                Outcome {
                    arrived,
                    finished: start.elapsed().as_secs_f64(),
                    ok,
                }
            })
        })
        .collect();
    let outcomes = join(tasks).await;
    ticker.abort();
    measure(&endpoints, outcomes)
}

/// The original tool: the primary model only; on throttling wait ≈1 s, 2 s, 4 s (plus sub-second jitter)
/// and give up after the fourth attempt; any other error gives up at once.
async fn run_original(settings: &WorldSettings) -> Run {
    let start = Instant::now();
    let backlog = Arc::new(Backlog::default());
    let endpoints = world(settings, start, &backlog);
    let ticker = ticker(&endpoints);
    let primary = endpoints[0].clone();
    let tasks: Vec<_> = arrivals()
        .into_iter()
        .enumerate()
        .map(|(index, arrived)| {
            let primary = primary.clone();
            let backlog = backlog.clone();
            tokio::spawn(async move {
                tokio::time::sleep_until(start + Duration::from_secs_f64(arrived)).await;
                backlog.arrive();
                let mut jitter = Rng::new(settings_seed(index));
                let mut ok = false;
                for attempt in 0..4 {
                    match primary.complete(&request(index)).await {
                        Ok(_) => {
                            ok = true;
                            break;
                        }
                        Err(ProviderError::Throttled { .. }) if attempt < 3 => {
                            let wait = 2f64.powi(attempt) + jitter.unit();
                            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
                        }
                        Err(_) => break,
                    }
                }
                if !ok {
                    backlog.leave();
                }
                Outcome {
                    arrived,
                    finished: start.elapsed().as_secs_f64(),
                    ok,
                }
            })
        })
        .collect();
    let outcomes = join(tasks).await;
    ticker.abort();
    measure(&endpoints, outcomes)
}

fn settings_seed(index: usize) -> u64 {
    0xA5A5_0000 + index as u64
}

async fn join(tasks: Vec<tokio::task::JoinHandle<Outcome>>) -> Vec<Outcome> {
    let mut outcomes = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok(outcome) => outcomes.push(outcome),
            Err(error) => eprintln!("a simulated review panicked: {error}"),
        }
    }
    outcomes
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn row(name: &str, run: &Run) -> (f64, usize) {
    let completed: Vec<&Outcome> = run.outcomes.iter().filter(|o| o.ok).collect();
    let failures = run.outcomes.len() - completed.len();
    let mut times: Vec<f64> = completed.iter().map(|o| o.finished - o.arrived).collect();
    times.sort_by(f64::total_cmp);
    println!(
        "  {:<28} {:>9} {:>9} {:>10.1}% {:>8.1} s {:>8.1} s {:>9} {:>9} {:>8.0} s",
        name,
        completed.len(),
        failures,
        run.quota_share * 100.0,
        percentile(&times, 50.0),
        percentile(&times, 95.0),
        run.admitted,
        run.throttled,
        run.makespan,
    );
    (run.quota_share, failures)
}

fn main() {
    let mut settings = WorldSettings::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().and_then(|v| v.parse::<f64>().ok())) {
            ("--seed", Some(seed)) if seed >= 0.0 => settings.seed = seed as u64,
            ("--provider-burst", Some(secs)) if secs > 0.0 => settings.provider_burst_secs = secs,
            _ => {
                eprintln!("usage: aiprism-router-bench [--seed N] [--provider-burst SECONDS]");
                std::process::exit(2);
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            std::process::exit(2);
        }
    };
    let wall = std::time::Instant::now();
    let (ours, original) =
        runtime.block_on(async { (run_router(&settings).await, run_original(&settings).await) });
    let simulated_ms = wall.elapsed().as_millis();

    println!(
        "Router benchmark (simulated time: tokio paused clock, in-process fake providers; wall time {simulated_ms} ms)"
    );
    println!(
        "World: {} endpoints x {} requests/min (enforced as a token bucket holding {:.0} s of quota), seed {};",
        settings.endpoints, settings.requests_per_minute, settings.provider_burst_secs, settings.seed
    );
    println!(
        "       each endpoint throttles everything for {:.0}-{:.0} s about every {:.0} s, and {:.0}% of requests at random;",
        settings.episode_secs.0,
        settings.episode_secs.1,
        settings.episode_every_secs,
        settings.stray_throttle * 100.0
    );
    println!(
        "       model latency {:.0}-{:.0} s. Workload: {} section reviews in {WAVES} bursts of {} every {WAVE_GAP_SECS:.0} s.",
        settings.latency_secs.0,
        settings.latency_secs.1,
        WAVES * DOCS_PER_WAVE * SECTIONS,
        DOCS_PER_WAVE * SECTIONS
    );
    println!(
        "Quota used = requests admitted / (requests admitted + quota that expired unused while reviews were"
    );
    println!(
        "waiting and the endpoint was not in a throttle episode): 100% = no client could have done better."
    );
    println!();
    println!(
        "  {:<28} {:>9} {:>9} {:>11} {:>10} {:>10} {:>9} {:>9} {:>10}",
        "", "completed", "failures", "quota used", "p50", "p95", "admitted", "throttled", "makespan"
    );
    let (share, failures) = row("aiprism router", &ours);
    row("original (primary, backoff)", &original);
    println!();
    println!(
        "Targets: quota used >= 95% -> {}; 0 failures -> {}",
        if share >= 0.95 { "met" } else { "NOT met" },
        if failures == 0 { "met" } else { "NOT met" }
    );
    println!();
    if let Err(error) = runtime.block_on(cache::report(settings.seed)) {
        eprintln!("cache figure failed: {error}");
        std::process::exit(1);
    }
}
