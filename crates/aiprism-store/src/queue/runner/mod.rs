//! The worker loop: claims jobs from any [`JobQueue`], runs them through a [`JobHandler`] with
//! heartbeats, and settles each one (complete, retry with backoff, dead, release).
//!
//! It is the same loop in `aiprism serve` (in-process workers) and `aiprism worker`. Each queue gets its
//! own claim loop and concurrency limit, so a burst of section reviews cannot starve chat. A handler runs
//! in a task of its own: a panic fails that job (to be retried) instead of taking the worker down, and a
//! heartbeat that finds the lease lost aborts it, since another worker now owns the job and this run's
//! result must not be recorded. Depends on tokio only.

mod stats;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::watch;
use tokio::task::JoinSet;

use stats::Ending;
pub use stats::{QueueStats, RunnerStats};

use super::{Backoff, FailOutcome, Heartbeat, Job, JobQueue, QueueName, WorkerId};

/// The counter of job runs ended, by `queue` and `outcome` (`completed`, `retried`, `dead`, `cancelled`,
/// `lost`, `released`), recorded through the `metrics` facade (a no-op until a recorder is installed).
pub const JOBS_METRIC: &str = "aiprism_jobs_total";
/// The histogram of job run times in seconds, by `queue` and `outcome`.
pub const JOB_DURATION_METRIC: &str = "aiprism_job_duration_seconds";

/// Why a handler did not finish its job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Worth another try later (a throttled model, a timeout): retried with backoff while attempts remain.
    #[error("{0}")]
    Retry(String),
    /// Retrying cannot help (the document is gone, the payload is invalid): the job is dead at once.
    #[error("{0}")]
    Permanent(String),
}

/// What a handler can learn about its run while it works.
#[derive(Debug, Clone)]
pub struct JobContext {
    worker_id: WorkerId,
    cancelled: watch::Receiver<bool>,
}

impl JobContext {
    /// Whether someone cancelled the job (learnt from the runner's heartbeats); a long handler checks
    /// this between steps and returns early.
    pub fn is_cancelled(&self) -> bool {
        *self.cancelled.borrow()
    }

    /// Resolves when the job is cancelled, for handlers that `select!` on it around a slow call.
    pub async fn cancelled(&self) {
        let mut rx = self.cancelled.clone();
        // An error means the runner dropped the sender: the run is over anyway, so never resolve.
        if rx.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// The worker running the job (for logs and progress events).
    pub fn worker_id(&self) -> &WorkerId {
        &self.worker_id
    }

    /// A context for calling a handler outside a runner (tests, one-shot CLI runs); the sender flips
    /// `is_cancelled`.
    pub fn detached(worker_id: WorkerId) -> (Self, watch::Sender<bool>) {
        let (tx, rx) = watch::channel(false);
        (
            Self {
                worker_id,
                cancelled: rx,
            },
            tx,
        )
    }
}

/// Runs jobs. One handler serves every kind; it dispatches on [`Job::kind`] (and decodes with
/// [`Job::decode`]). Handlers must be idempotent: a job can run more than once (a worker died after doing
/// the work but before completing it).
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// Does the job's work.
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Result<(), JobError>;
}

/// How a runner behaves. Build it with [`RunnerConfig::new`] and adjust the fields.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// This worker's name in leases.
    pub worker_id: WorkerId,
    /// How many jobs of each queue may run at once; queues absent (or 0) are not served.
    pub concurrency: BTreeMap<QueueName, usize>,
    /// How long a claim holds a job without a heartbeat; a dead worker's jobs come back after this.
    pub lease: Duration,
    /// How often a running job's lease is extended (well under `lease`).
    pub heartbeat_every: Duration,
    /// How long one claim call waits for work before the loop goes round again.
    pub claim_wait: Duration,
    /// How long shutdown waits for running jobs before releasing them.
    pub grace: Duration,
    /// Retry delays for failed jobs.
    pub backoff: Backoff,
    /// Pause after a queue error (database unreachable) before claiming again.
    pub error_pause: Duration,
}

impl RunnerConfig {
    /// Defaults: 4 analysis, 4 chat and 1 monitoring jobs at once, 60 s leases extended every 20 s,
    /// 30 s grace, [`Backoff::default`].
    pub fn new(worker_id: WorkerId) -> Self {
        Self {
            worker_id,
            concurrency: BTreeMap::from([
                (QueueName::Analysis, 4),
                (QueueName::Chat, 4),
                (QueueName::Monitoring, 1),
            ]),
            lease: Duration::from_secs(60),
            heartbeat_every: Duration::from_secs(20),
            claim_wait: Duration::from_secs(30),
            grace: Duration::from_secs(30),
            backoff: Backoff::default(),
            error_pause: Duration::from_secs(1),
        }
    }

    /// Serves only the given queues with the given concurrency.
    pub fn with_concurrency(mut self, concurrency: impl IntoIterator<Item = (QueueName, usize)>) -> Self {
        self.concurrency = concurrency.into_iter().collect();
        self
    }
}

/// A worker: claim loops for its queues, sharing one handler.
pub struct Runner {
    shared: Arc<Shared>,
}

struct Shared {
    queue: Arc<dyn JobQueue>,
    handler: Arc<dyn JobHandler>,
    config: RunnerConfig,
    stats: Arc<RunnerStats>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// A runner for `queue`'s jobs through `handler`.
    pub fn new(queue: Arc<dyn JobQueue>, handler: Arc<dyn JobHandler>, config: RunnerConfig) -> Self {
        let stats = Arc::new(RunnerStats::default());
        Self {
            shared: Arc::new(Shared {
                queue,
                handler,
                config,
                stats,
            }),
        }
    }

    /// Its counters (keep the `Arc` to read them while it runs and after).
    pub fn stats(&self) -> Arc<RunnerStats> {
        Arc::clone(&self.shared.stats)
    }

    /// Runs until `shutdown` resolves; then stops claiming, waits up to the grace period for running
    /// jobs, and releases those still running (without consuming their attempt) before returning.
    /// Dropping this future instead stops everything at once without releasing: those jobs come back
    /// when their leases expire.
    pub async fn run<F>(self, shutdown: F)
    where
        F: Future<Output = ()> + Send,
    {
        let (stop_tx, stop_rx) = watch::channel(false);
        let (abort_tx, abort_rx) = watch::channel(false);
        let mut loops = JoinSet::new();
        for (&queue, &slots) in &self.shared.config.concurrency {
            for _ in 0..slots {
                loops.spawn(slot_loop(
                    queue,
                    Arc::clone(&self.shared),
                    stop_rx.clone(),
                    abort_rx.clone(),
                ));
            }
        }
        tracing::info!(worker = %self.shared.config.worker_id, "job runner started");
        shutdown.await;
        stop_tx.send_replace(true);
        tracing::info!(worker = %self.shared.config.worker_id, "job runner stopping");
        let drained = tokio::time::timeout(self.shared.config.grace, async {
            while loops.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("grace period over: releasing jobs still running");
            abort_tx.send_replace(true);
            while loops.join_next().await.is_some() {}
        }
        tracing::info!(worker = %self.shared.config.worker_id, "job runner stopped");
    }
}

/// One slot of a queue: claims a job (waiting for one when idle), runs it, and goes round again until
/// told to stop; a job it is running when the stop comes is finished (or released at the end of the
/// grace period) before it returns. A queue with concurrency N has N slots, so claims happen in parallel
/// too, not only the jobs.
async fn slot_loop(
    queue: QueueName,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    abort: watch::Receiver<bool>,
) {
    let config = &shared.config;
    let queues = [queue];
    loop {
        // Dropping a claim that is waiting is safe; one dropped between its UPDATE and the reply leaves
        // a leased job nobody runs, which comes back when that lease expires (at least once).
        let claimed = tokio::select! {
            biased;
            _ = raised(&mut stop) => break,
            r = shared.queue.claim(&queues, &config.worker_id, config.lease, config.claim_wait) => r,
        };
        match claimed {
            Ok(Some(job)) => run_job(job, Arc::clone(&shared), abort.clone()).await,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(queue = %queue, error = %e, "claiming a job failed; pausing");
                tokio::select! {
                    _ = raised(&mut stop) => break,
                    () = tokio::time::sleep(config.error_pause) => {}
                }
            }
        }
    }
}

/// How a run's supervision ended.
enum Supervised {
    Finished(Result<Result<(), JobError>, tokio::task::JoinError>),
    Lost,
    Aborted,
}

/// Runs one job with heartbeats and settles it.
async fn run_job(job: Job, shared: Arc<Shared>, mut abort: watch::Receiver<bool>) {
    let config = &shared.config;
    let Some(lease) = job.lease.clone() else {
        tracing::error!(job = %job.id, "claimed job has no lease; skipping it");
        return;
    };
    let queue = job.queue;
    shared.stats.started(queue);
    let started = Instant::now();
    let mut cancelled = job.cancel_requested;
    let (cancel_tx, cancel_rx) = watch::channel(cancelled);
    let ctx = JobContext {
        worker_id: config.worker_id.clone(),
        cancelled: cancel_rx,
    };
    let job = Arc::new(job);
    // Its own task, so a panic is caught at the join and heartbeats go on even if the handler hogs its
    // thread; aborted on drop, so a runner that is itself dropped leaves no handler running unsupervised.
    let mut task = AbortOnDrop({
        let handler = Arc::clone(&shared.handler);
        let job = Arc::clone(&job);
        tokio::spawn(async move { handler.handle(&job, &ctx).await })
    });
    let first_beat = tokio::time::Instant::now() + config.heartbeat_every;
    let mut beat = tokio::time::interval_at(first_beat, config.heartbeat_every);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let supervised = loop {
        tokio::select! {
            result = &mut task.0 => break Supervised::Finished(result),
            _ = beat.tick() => match shared.queue.heartbeat(&lease, config.lease).await {
                Ok(Heartbeat::Held { cancel_requested, .. }) => {
                    if cancel_requested && !cancelled {
                        tracing::info!(job = %job.id, "job cancelled; telling its handler");
                        cancelled = true;
                        cancel_tx.send_replace(true);
                    }
                }
                Ok(Heartbeat::Lost) => {
                    task.0.abort();
                    break Supervised::Lost;
                }
                Err(e) => tracing::warn!(job = %job.id, error = %e, "heartbeat failed; will retry"),
            },
            _ = raised(&mut abort) => {
                task.0.abort();
                break Supervised::Aborted;
            }
        }
    };
    let mut ending = settle(&shared, &job, &lease, supervised).await;
    if ending == Ending::Completed && cancelled {
        ending = Ending::Cancelled;
    }
    let took = started.elapsed();
    shared.stats.ended(queue, ending, took);
    let labels = [("queue", queue.as_str()), ("outcome", ending.as_str())];
    metrics::counter!(JOBS_METRIC, &labels).increment(1);
    metrics::histogram!(JOB_DURATION_METRIC, &labels).record(took.as_secs_f64());
}

/// Aborts a task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Records a run's outcome in the queue and says how to count it.
async fn settle(shared: &Shared, job: &Job, lease: &super::Lease, supervised: Supervised) -> Ending {
    let config = &shared.config;
    let queue = &shared.queue;
    let retry_in = config.backoff.delay(job.attempts);
    let failure = match supervised {
        Supervised::Lost => {
            tracing::warn!(job = %job.id, "lease lost while running; discarding this run's result");
            return Ending::Lost;
        }
        Supervised::Aborted => {
            return match queue.release(lease).await {
                Ok(_) => Ending::Released,
                Err(e) => {
                    tracing::warn!(job = %job.id, error = %e, "releasing failed; the lease will expire");
                    Ending::Released
                }
            };
        }
        Supervised::Finished(Ok(Ok(()))) => {
            return match queue.complete(lease).await {
                Ok(true) => Ending::Completed,
                Ok(false) => Ending::Lost,
                Err(e) => {
                    // The work is done; the job will run again after its lease expires (idempotent).
                    tracing::error!(job = %job.id, error = %e, "completing failed");
                    Ending::Lost
                }
            };
        }
        Supervised::Finished(Ok(Err(JobError::Retry(message)))) => (message, Some(retry_in)),
        Supervised::Finished(Ok(Err(JobError::Permanent(message)))) => (message, None),
        Supervised::Finished(Err(join_error)) => {
            let message = if join_error.is_panic() {
                shared.stats.panicked(job.queue);
                format!("handler panicked: {}", panic_message(join_error.into_panic()))
            } else {
                "handler task was cancelled".to_string()
            };
            (message, Some(retry_in))
        }
    };
    let (message, retry) = failure;
    tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %message, "job failed");
    match queue.fail(lease, &message, retry).await {
        Ok(FailOutcome::Retrying { .. }) => Ending::Retried,
        Ok(FailOutcome::Dead) => Ending::Dead,
        Ok(FailOutcome::Cancelled) => Ending::Cancelled,
        Ok(FailOutcome::LeaseLost) => Ending::Lost,
        Err(e) => {
            tracing::error!(job = %job.id, error = %e, "recording the failure failed; the lease will expire");
            Ending::Lost
        }
    }
}

/// Resolves once a shutdown flag is raised (or its sender is gone, which also means "stop"). Returns
/// nothing, so no borrow of the flag outlives the wait.
async fn raised(flag: &mut watch::Receiver<bool>) {
    let _ = flag.wait_for(|raised| *raised).await;
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(s) => (*s).to_string(),
            Err(_) => "(no message)".to_string(),
        },
    }
}
