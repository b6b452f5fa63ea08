//! Job queue benchmark (bench/queue/run.sh builds and runs it in release mode).
//!
//! For one database URL it measures:
//! - throughput: N no-op jobs enqueued (batches of 500), then claimed and completed by 1 and by 4
//!   workers, once as plain claim/complete loops on the queue and once through the `Runner`; jobs/s for
//!   each phase and for the whole;
//! - idle pickup latency: a waiting worker, jobs enqueued one at a time with pauses, time from enqueue
//!   to the handler starting; once from the same process and once from a separate enqueuer process
//!   (this binary re-executed with `--enqueue-only`), which on SQLite exercises the poll path and on
//!   PostgreSQL the NOTIFY path across processes.
//!
//! Output: one `RESULT key=value ...` line per measurement, read by run.sh into a table.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aiprism_store::SqlStore;
use aiprism_store::queue::runner::{JobContext, JobError, JobHandler, Runner, RunnerConfig};
use aiprism_store::queue::{Job, JobPayload, JobQueue, NewJob, QueueName, WorkerId};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, Notify};

#[derive(Serialize, Deserialize)]
struct Noop {
    /// Wall-clock enqueue time (µs since the epoch), for latency runs.
    at: u64,
}

impl JobPayload for Noop {
    const NAME: &'static str = "bench.noop";
    const QUEUE: QueueName = QueueName::Analysis;
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Counts finished jobs and records when each started.
struct Counter {
    done: AtomicU64,
    target: u64,
    all_done: Notify,
    /// (job id, enqueue time, start time), µs since the epoch.
    starts: Mutex<Vec<(String, u64, u64)>>,
    record_latency: bool,
}

#[async_trait]
impl JobHandler for Counter {
    async fn handle(&self, job: &Job, _ctx: &JobContext) -> Result<(), JobError> {
        if self.record_latency {
            let started = now_micros();
            let noop: Noop = job.decode().map_err(|e| JobError::Permanent(e.to_string()))?;
            self.starts
                .lock()
                .await
                .push((job.id.as_str().to_string(), noop.at, started));
        }
        if self.done.fetch_add(1, Ordering::SeqCst) + 1 >= self.target {
            self.all_done.notify_one();
        }
        Ok(())
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[tokio::main]
async fn main() -> BenchResult<()> {
    let args: Vec<String> = std::env::args().collect();
    let url = arg(&args, "--url").ok_or("--url is required")?;
    let label = arg(&args, "--label").unwrap_or_else(|| "db".into());
    let jobs: u64 = arg(&args, "--jobs").map_or(Ok(50_000), |v| v.parse())?;
    let samples: u64 = arg(&args, "--samples").map_or(Ok(200), |v| v.parse())?;
    let store = Arc::new(SqlStore::connect_and_migrate(&url).await?);
    if args.iter().any(|a| a == "--enqueue-only") {
        // The other-process enqueuer: report when each enqueue returned (its commit) to the parent.
        for (id, returned) in enqueue_slowly(store.as_ref(), samples).await? {
            println!("ENQ {id} {returned}");
        }
        return Ok(());
    }
    let modes = arg(&args, "--modes").unwrap_or_else(|| "queue,runner".into());
    for mode in modes.split(',') {
        for workers in [1usize, 4] {
            throughput(&store, &label, jobs, workers, mode).await?;
        }
    }
    latency(&store, &label, samples, &url, false).await?;
    latency(&store, &label, samples, &url, true).await?;
    Ok(())
}

fn runner(store: &Arc<SqlStore>, handler: Arc<Counter>, workers: usize) -> Runner {
    let mut config =
        RunnerConfig::new(WorkerId::new("bench")).with_concurrency([(QueueName::Analysis, workers)]);
    config.claim_wait = Duration::from_secs(30);
    Runner::new(Arc::clone(store) as Arc<dyn JobQueue>, handler, config)
}

/// `mode` "queue": `workers` plain claim/complete loops on the queue; "runner": a `Runner` with that
/// concurrency (what `aiprism worker` runs: heartbeats, a task per job, panic isolation).
async fn throughput(
    store: &Arc<SqlStore>,
    label: &str,
    jobs: u64,
    workers: usize,
    mode: &str,
) -> BenchResult<()> {
    store
        .prune_finished_jobs(chrono::Utc::now() + chrono::TimeDelta::days(1))
        .await?;
    let started = Instant::now();
    let mut left = jobs;
    while left > 0 {
        let n = left.min(500);
        let batch: Vec<NewJob> = (0..n)
            .map(|_| NewJob::from_payload(&Noop { at: 0 }))
            .collect::<Result<_, _>>()?;
        store.enqueue_many(batch).await?;
        left -= n;
    }
    let enqueued = started.elapsed();
    let handler = Arc::new(Counter {
        done: AtomicU64::new(0),
        target: jobs,
        all_done: Notify::new(),
        starts: Mutex::new(Vec::new()),
        record_latency: false,
    });
    let processing = Instant::now();
    if mode == "queue" {
        let mut tasks = Vec::new();
        for w in 0..workers {
            let store = Arc::clone(store);
            tasks.push(tokio::spawn(async move {
                let me = WorkerId::new(format!("raw{w}"));
                let lease = Duration::from_secs(60);
                while let Some(job) = store
                    .claim(&[QueueName::Analysis], &me, lease, Duration::ZERO)
                    .await?
                {
                    store.complete(job.lease()?).await?;
                }
                Ok::<(), aiprism_store::queue::QueueError>(())
            }));
        }
        for t in tasks {
            t.await??;
        }
    } else {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let run = tokio::spawn(runner(store, Arc::clone(&handler), workers).run(async move {
            let _ = stopped.await;
        }));
        tokio::time::timeout(Duration::from_secs(600), handler.all_done.notified()).await?;
        let _ = stop.send(());
        run.await?;
    }
    let processed = processing.elapsed();
    let depth = store.depth(QueueName::Analysis).await?;
    if depth.queued + depth.running + depth.dead != 0 {
        return Err(format!("jobs left over: {depth:?}").into());
    }
    let rate = |d: Duration| jobs as f64 / d.as_secs_f64();
    println!(
        "RESULT kind=throughput db={label} mode={mode} workers={workers} jobs={jobs} enqueue_per_s={:.0} process_per_s={:.0} total_per_s={:.0}",
        rate(enqueued),
        rate(processed),
        rate(enqueued + processed)
    );
    Ok(())
}

/// Enqueues `samples` jobs one at a time with pauses of 20..60 ms (the enqueuer side of a latency run);
/// returns each job's id and when its enqueue returned (committed), µs since the epoch.
async fn enqueue_slowly(queue: &dyn JobQueue, samples: u64) -> BenchResult<Vec<(String, u64)>> {
    let mut out = Vec::new();
    for i in 0..samples {
        let job = queue
            .enqueue(NewJob::from_payload(&Noop { at: now_micros() })?)
            .await?
            .job;
        out.push((job.id.as_str().to_string(), now_micros()));
        tokio::time::sleep(Duration::from_millis(20 + (i * 37) % 41)).await;
    }
    Ok(out)
}

/// The p50, p99 and max of some durations, in ms.
fn percentiles(mut v: Vec<u64>) -> (f64, f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    v.sort_unstable();
    let pick = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize] as f64 / 1000.0;
    (pick(0.5), pick(0.99), pick(1.0))
}

async fn latency(
    store: &Arc<SqlStore>,
    label: &str,
    samples: u64,
    url: &str,
    other_process: bool,
) -> BenchResult<()> {
    store
        .prune_finished_jobs(chrono::Utc::now() + chrono::TimeDelta::days(1))
        .await?;
    let handler = Arc::new(Counter {
        done: AtomicU64::new(0),
        target: samples,
        all_done: Notify::new(),
        starts: Mutex::new(Vec::new()),
        record_latency: true,
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(runner(store, Arc::clone(&handler), 1).run(async move {
        let _ = stopped.await;
    }));
    // Let the worker settle into waiting before the first job.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let committed: Vec<(String, u64)> = if other_process {
        let exe = std::env::current_exe()?;
        let output = tokio::process::Command::new(exe)
            .args(["--url", url, "--enqueue-only", "--samples", &samples.to_string()])
            .output()
            .await?;
        if !output.status.success() {
            return Err("the enqueuer process failed".into());
        }
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|l| {
                let mut parts = l.strip_prefix("ENQ ")?.split(' ');
                Some((parts.next()?.to_string(), parts.next()?.parse().ok()?))
            })
            .collect()
    } else {
        // A second connection pool, as a web process would have.
        let enqueuer = SqlStore::connect(url).await?;
        enqueue_slowly(&enqueuer, samples).await?
    };
    tokio::time::timeout(Duration::from_secs(60), handler.all_done.notified()).await?;
    let _ = stop.send(());
    run.await?;
    let starts = handler.starts.lock().await.clone();
    let committed: std::collections::HashMap<String, u64> = committed.into_iter().collect();
    let (p50, p99, max) = percentiles(
        starts
            .iter()
            .map(|(_, at, start)| start.saturating_sub(*at))
            .collect(),
    );
    // From the enqueue's commit (when the call returned; a start can even precede it) to the start: the
    // wake-up path alone, without the database's commit time.
    let after_commit: Vec<u64> = starts
        .iter()
        .filter_map(|(id, _, start)| committed.get(id).map(|c| start.saturating_sub(*c)))
        .collect();
    let (c50, c99, _) = percentiles(after_commit);
    let (e50, e99, _) = percentiles(
        starts
            .iter()
            .filter_map(|(id, at, _)| committed.get(id).map(|c| c.saturating_sub(*at)))
            .collect(),
    );
    println!(
        "RESULT kind=latency db={label} enqueuer={} samples={} p50_ms={p50:.1} p99_ms={p99:.1} max_ms={max:.1} \
         commit_p50_ms={c50:.1} commit_p99_ms={c99:.1} enqueue_call_p50_ms={e50:.1} enqueue_call_p99_ms={e99:.1}",
        if other_process {
            "other-process"
        } else {
            "same-process"
        },
        starts.len(),
    );
    Ok(())
}
