//! The worker runner against the database backend.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aiprism_store::queue::conformance::{Ping, Pong, ping};
use aiprism_store::queue::runner::{JobContext, JobError, JobHandler, Runner, RunnerConfig};
use aiprism_store::queue::{Backoff, Job, JobId, JobQueue, JobStatus, NewJob, QueueName, WorkerId};
use async_trait::async_trait;
use tokio::sync::oneshot;

use super::{Ctx, wait_for};

/// A runner configuration with short timings for tests.
pub fn fast_config(worker: &str) -> RunnerConfig {
    let mut config = RunnerConfig::new(WorkerId::new(worker))
        .with_concurrency([(QueueName::Analysis, 3), (QueueName::Chat, 1)]);
    config.lease = Duration::from_secs(2);
    config.heartbeat_every = Duration::from_millis(100);
    config.claim_wait = Duration::from_secs(1);
    config.grace = Duration::from_millis(300);
    config.backoff = Backoff {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
        jitter: 0.0,
    };
    config.error_pause = Duration::from_millis(50);
    config
}

/// Starts a runner in the background; sending on the returned channel (or dropping it) shuts it down,
/// and the join handle resolves when it has stopped.
fn start(
    ctx: &Ctx,
    handler: Arc<dyn JobHandler>,
    config: RunnerConfig,
) -> (
    oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
    Arc<aiprism_store::queue::runner::RunnerStats>,
) {
    let runner = Runner::new(ctx.queue(), handler, config);
    let stats = runner.stats();
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(runner.run(async move {
        let _ = rx.await;
    }));
    (tx, handle, stats)
}

async fn status_of(ctx: &Ctx, id: &JobId) -> JobStatus {
    ctx.store.job(id).await.expect("reading").expect("exists").status
}

async fn all_finished(ctx: &Ctx, ids: &[JobId]) -> bool {
    for id in ids {
        if !status_of(ctx, id).await.is_final() {
            return false;
        }
    }
    true
}

/// Records every job it sees after a short pause.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<JobId>>,
}

#[async_trait]
impl JobHandler for Recorder {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Result<(), JobError> {
        assert_eq!(ctx.worker_id().as_str(), "w-rec");
        tokio::time::sleep(Duration::from_millis(5)).await;
        self.seen.lock().expect("lock").push(job.id.clone());
        Ok(())
    }
}

pub async fn the_runner_completes_every_job_and_counts_it(ctx: Ctx) {
    let mut jobs: Vec<NewJob> = (0..30).map(ping).collect();
    jobs.extend((0..5).map(|i| {
        NewJob::from_payload(&Pong {
            text: format!("q{i}"),
        })
        .expect("pong")
    }));
    let ids: Vec<JobId> = ctx
        .store
        .enqueue_many(jobs)
        .await
        .expect("enqueueing")
        .into_iter()
        .map(|e| e.job.id)
        .collect();
    let handler = Arc::new(Recorder::default());
    let (stop, handle, stats) = start(&ctx, handler.clone(), fast_config("w-rec"));
    wait_for("every job to finish", Duration::from_secs(20), || {
        all_finished(&ctx, &ids)
    })
    .await;
    let _ = stop.send(());
    handle.await.expect("the runner");
    for id in &ids {
        assert_eq!(status_of(&ctx, id).await, JobStatus::Done);
    }
    let seen: HashSet<JobId> = handler.seen.lock().expect("lock").iter().cloned().collect();
    assert_eq!(seen.len(), 35);
    let analysis = stats.queue(QueueName::Analysis);
    let chat = stats.queue(QueueName::Chat);
    assert_eq!(
        (analysis.started, analysis.completed, analysis.failed()),
        (30, 30, 0)
    );
    assert_eq!((chat.started, chat.completed, chat.running), (5, 5, 0));
    assert!(analysis.busy >= Duration::from_millis(5 * 30) && analysis.longest >= Duration::from_millis(5));
}

/// Fails ping 1 with a retryable error and ping 2 permanently.
struct Failing;

#[async_trait]
impl JobHandler for Failing {
    async fn handle(&self, job: &Job, _ctx: &JobContext) -> Result<(), JobError> {
        match job
            .decode::<Ping>()
            .map_err(|e| JobError::Permanent(e.to_string()))?
            .n
        {
            1 => Err(JobError::Retry("flaky".into())),
            2 => Err(JobError::Permanent("bad input".into())),
            _ => Ok(()),
        }
    }
}

pub async fn a_failing_handler_is_retried_with_backoff_then_dead(ctx: Ctx) {
    let flaky = ctx
        .store
        .enqueue(ping(1).with_max_attempts(3))
        .await
        .expect("flaky")
        .job
        .id;
    let bad = ctx
        .store
        .enqueue(ping(2).with_max_attempts(3))
        .await
        .expect("bad")
        .job
        .id;
    let (stop, handle, stats) = start(&ctx, Arc::new(Failing), fast_config("w"));
    let both = [flaky.clone(), bad.clone()];
    wait_for("both jobs to die", Duration::from_secs(20), || {
        all_finished(&ctx, &both)
    })
    .await;
    let _ = stop.send(());
    handle.await.expect("the runner");
    let flaky = ctx.store.job(&flaky).await.expect("reading").expect("exists");
    assert_eq!((flaky.status, flaky.attempts), (JobStatus::Dead, 3));
    assert_eq!(flaky.last_error.as_deref(), Some("flaky"));
    let bad = ctx.store.job(&bad).await.expect("reading").expect("exists");
    assert_eq!(
        (bad.status, bad.attempts),
        (JobStatus::Dead, 1),
        "a permanent failure is not retried"
    );
    let s = stats.queue(QueueName::Analysis);
    assert_eq!((s.retried, s.dead, s.completed), (2, 2, 0));
}

/// Panics on the first attempt of ping 1.
struct Panicky;

#[async_trait]
impl JobHandler for Panicky {
    async fn handle(&self, job: &Job, _ctx: &JobContext) -> Result<(), JobError> {
        if job
            .decode::<Ping>()
            .map_err(|e| JobError::Permanent(e.to_string()))?
            .n
            == 1
            && job.attempts == 1
        {
            panic!("handler bug");
        }
        Ok(())
    }
}

pub async fn a_panicking_handler_fails_its_job_and_the_worker_keeps_working(ctx: Ctx) {
    let ids: Vec<JobId> = ctx
        .store
        .enqueue_many((0..6).map(ping).collect())
        .await
        .expect("enqueueing")
        .into_iter()
        .map(|e| e.job.id)
        .collect();
    let (stop, handle, stats) = start(&ctx, Arc::new(Panicky), fast_config("w"));
    wait_for("every job to finish", Duration::from_secs(20), || {
        all_finished(&ctx, &ids)
    })
    .await;
    let _ = stop.send(());
    handle.await.expect("the runner survives a panicking handler");
    for id in &ids {
        assert_eq!(status_of(&ctx, id).await, JobStatus::Done);
    }
    let panicked = ctx.store.job(&ids[1]).await.expect("reading").expect("exists");
    assert_eq!(panicked.attempts, 2);
    assert!(
        panicked
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("handler bug")),
        "{:?}",
        panicked.last_error
    );
    let s = stats.queue(QueueName::Analysis);
    assert_eq!((s.panicked, s.retried, s.completed), (1, 1, 6));
}

/// Sleeps for its configured time (forever by default), counting runs that finished.
struct Sleeper {
    sleep: Duration,
    finished: AtomicU32,
}

#[async_trait]
impl JobHandler for Sleeper {
    async fn handle(&self, _job: &Job, _ctx: &JobContext) -> Result<(), JobError> {
        tokio::time::sleep(self.sleep).await;
        self.finished.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

pub async fn graceful_shutdown_releases_jobs_still_running_after_the_grace_period(ctx: Ctx) {
    let ids: Vec<JobId> = ctx
        .store
        .enqueue_many((0..2).map(ping).collect())
        .await
        .expect("enqueueing")
        .into_iter()
        .map(|e| e.job.id)
        .collect();
    let handler = Arc::new(Sleeper {
        sleep: Duration::from_secs(3600),
        finished: AtomicU32::new(0),
    });
    let (stop, handle, stats) = start(&ctx, handler, fast_config("w"));
    wait_for("both jobs to run", Duration::from_secs(10), || async {
        ctx.store.depth(QueueName::Analysis).await.expect("depth").running == 2
    })
    .await;
    let stopping = std::time::Instant::now();
    let _ = stop.send(());
    handle.await.expect("the runner");
    assert!(
        stopping.elapsed() < Duration::from_secs(3),
        "shutdown took {:?}",
        stopping.elapsed()
    );
    for id in &ids {
        let job = ctx.store.job(id).await.expect("reading").expect("exists");
        assert_eq!(
            (job.status, job.attempts),
            (JobStatus::Queued, 0),
            "released without using an attempt"
        );
    }
    assert_eq!(stats.queue(QueueName::Analysis).released, 2);
}

pub async fn graceful_shutdown_lets_jobs_that_finish_in_time_complete(ctx: Ctx) {
    let id = ctx.store.enqueue(ping(1)).await.expect("enqueueing").job.id;
    let handler = Arc::new(Sleeper {
        sleep: Duration::from_millis(400),
        finished: AtomicU32::new(0),
    });
    let mut config = fast_config("w");
    config.grace = Duration::from_secs(10);
    let (stop, handle, stats) = start(&ctx, handler.clone(), config);
    wait_for("the job to run", Duration::from_secs(10), || async {
        status_of(&ctx, &id).await == JobStatus::Running
    })
    .await;
    let _ = stop.send(());
    handle.await.expect("the runner");
    assert_eq!(status_of(&ctx, &id).await, JobStatus::Done);
    assert_eq!(handler.finished.load(Ordering::SeqCst), 1);
    assert_eq!(stats.queue(QueueName::Analysis).completed, 1);
}

/// Works until told it is cancelled.
struct Cancellable;

#[async_trait]
impl JobHandler for Cancellable {
    async fn handle(&self, _job: &Job, ctx: &JobContext) -> Result<(), JobError> {
        tokio::time::timeout(Duration::from_secs(30), ctx.cancelled())
            .await
            .map_err(|_| JobError::Retry("never cancelled".into()))?;
        assert!(ctx.is_cancelled());
        Err(JobError::Retry("stopped: cancelled".into()))
    }
}

pub async fn a_handler_sees_its_cancellation_through_its_context(ctx: Ctx) {
    let id = ctx.store.enqueue(ping(1)).await.expect("enqueueing").job.id;
    let (stop, handle, stats) = start(&ctx, Arc::new(Cancellable), fast_config("w"));
    wait_for("the job to run", Duration::from_secs(10), || async {
        status_of(&ctx, &id).await == JobStatus::Running
    })
    .await;
    ctx.store.cancel(&id).await.expect("cancelling");
    wait_for("the job to end cancelled", Duration::from_secs(10), || async {
        status_of(&ctx, &id).await == JobStatus::Cancelled
    })
    .await;
    let _ = stop.send(());
    handle.await.expect("the runner");
    let s = stats.queue(QueueName::Analysis);
    assert_eq!((s.cancelled, s.retried), (1, 0));
}

pub async fn a_handler_whose_lease_was_lost_has_its_result_discarded(ctx: Ctx) {
    let id = ctx.store.enqueue(ping(1)).await.expect("enqueueing").job.id;
    let handler = Arc::new(Sleeper {
        sleep: Duration::from_millis(1500),
        finished: AtomicU32::new(0),
    });
    let mut config = fast_config("slow").with_concurrency([(QueueName::Analysis, 1)]);
    // Heartbeats come too late to keep the lease: another worker takes the job over.
    config.lease = Duration::from_millis(300);
    config.heartbeat_every = Duration::from_millis(900);
    let (stop, handle, stats) = start(&ctx, handler.clone(), config);
    wait_for("the job to run", Duration::from_secs(10), || async {
        status_of(&ctx, &id).await == JobStatus::Running
    })
    .await;
    let queue: &dyn JobQueue = ctx.store.as_ref();
    let taken = queue
        .claim(
            &[QueueName::Analysis],
            &WorkerId::new("rescuer"),
            Duration::from_secs(30),
            Duration::from_secs(5),
        )
        .await
        .expect("claiming")
        .expect("taken over after the lease expired");
    assert_eq!((taken.id.clone(), taken.attempts), (id.clone(), 2));
    wait_for("the slow worker to notice", Duration::from_secs(5), || async {
        stats.queue(QueueName::Analysis).lost == 1
    })
    .await;
    assert_eq!(
        handler.finished.load(Ordering::SeqCst),
        0,
        "the lost run's handler was not stopped"
    );
    assert!(
        queue
            .complete(taken.lease().expect("lease"))
            .await
            .expect("completing")
    );
    let _ = stop.send(());
    handle.await.expect("the runner");
    let job = ctx.store.job(&id).await.expect("reading").expect("exists");
    assert_eq!(
        (job.status, job.worker_id.map(|w| w.as_str().to_string())),
        (JobStatus::Done, Some("rescuer".into()))
    );
    assert_eq!(stats.queue(QueueName::Analysis).completed, 0);
}
