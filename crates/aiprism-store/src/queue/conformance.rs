//! The queue conformance scenarios, written against the [`JobQueue`] trait only, so every backend (the
//! database here, SQS in `aiprism-sqs`) is held to the same behaviour by the same code. Each scenario
//! expects an empty queue of its own and panics on a violation; the backends' test files call them.
//!
//! Timings are short (sub-second leases and delays) to keep the suites fast; brokers with whole-second
//! granularity (SQS visibility) still pass because every wait here is generous.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::{
    CancelOutcome, FailOutcome, Heartbeat, Job, JobPayload, JobQueue, JobStatus, NewJob, QueueName, WorkerId,
};

/// A payload for tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ping {
    /// Any number, to tell jobs apart.
    pub n: u32,
}

impl JobPayload for Ping {
    const NAME: &'static str = "test.ping";
    const QUEUE: QueueName = QueueName::Analysis;
}

/// A chat-queue payload for tests, to check queues stay apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pong {
    /// Any text.
    pub text: String,
}

impl JobPayload for Pong {
    const NAME: &'static str = "test.pong";
    const QUEUE: QueueName = QueueName::Chat;
}

/// A ping job.
pub fn ping(n: u32) -> NewJob {
    NewJob::from_payload(&Ping { n }).expect("encoding a ping")
}

const LEASE: Duration = Duration::from_secs(30);
const SHORT: Duration = Duration::from_millis(200);
/// Long enough for any backend to deliver a due job (SQS rounds delays up to whole seconds).
const PATIENCE: Duration = Duration::from_secs(5);

fn worker(name: &str) -> WorkerId {
    WorkerId::new(name)
}

async fn claim_now(queue: &dyn JobQueue, who: &str) -> Option<Job> {
    queue
        .claim(&[QueueName::Analysis], &worker(who), LEASE, Duration::ZERO)
        .await
        .expect("claiming")
}

async fn claim_within(queue: &dyn JobQueue, who: &str, lease: Duration, wait: Duration) -> Option<Job> {
    queue
        .claim(&[QueueName::Analysis], &worker(who), lease, wait)
        .await
        .expect("claiming")
}

async fn status(queue: &dyn JobQueue, job: &Job) -> JobStatus {
    queue
        .job(&job.id)
        .await
        .expect("reading a job")
        .expect("the job exists")
        .status
}

/// Enqueue, claim, complete; the job reads back done and is not claimed twice.
pub async fn enqueued_job_is_claimed_completed_and_read_back(queue: &dyn JobQueue) {
    let enqueued = queue.enqueue(ping(7).with_group("g1")).await.expect("enqueueing");
    assert!(enqueued.created);
    assert_eq!(enqueued.job.status, JobStatus::Queued);
    assert_eq!(enqueued.job.kind, Ping::NAME);
    let job = claim_within(queue, "w1", LEASE, PATIENCE)
        .await
        .expect("the job is claimed");
    assert_eq!(job.id, enqueued.job.id);
    assert_eq!(job.status, JobStatus::Running);
    assert_eq!(job.attempts, 1);
    assert_eq!(job.group.as_deref(), Some("g1"));
    assert_eq!(job.decode::<Ping>().expect("decoding"), Ping { n: 7 });
    assert!(
        job.decode::<Pong>().is_err(),
        "a job must not decode as another kind"
    );
    let lease = job.lease().expect("a claimed job has a lease");
    assert_eq!(lease.worker_id, worker("w1"));
    assert!(queue.complete(lease).await.expect("completing"));
    let done = queue.job(&job.id).await.expect("reading").expect("exists");
    assert_eq!(done.status, JobStatus::Done);
    assert!(done.finished_at.is_some());
    assert!(done.lease.is_none());
    assert!(
        !queue.complete(lease).await.expect("completing twice"),
        "a second completion changes nothing"
    );
    assert!(claim_now(queue, "w1").await.is_none());
    assert!(
        queue
            .job(&super::JobId::new("job_missing"))
            .await
            .expect("reading")
            .is_none()
    );
}

/// Higher priority first; within a priority, earlier `run_after` first. (Not for brokers without
/// priorities.)
pub async fn jobs_are_claimed_by_priority_then_run_after(queue: &dyn JobQueue) {
    let now = Utc::now();
    let secs = chrono::TimeDelta::seconds;
    let a = queue
        .enqueue(ping(1).with_run_after(now - secs(3)))
        .await
        .expect("a")
        .job
        .id;
    let b = queue
        .enqueue(ping(2).with_priority(5).with_run_after(now - secs(1)))
        .await
        .expect("b")
        .job
        .id;
    let c = queue
        .enqueue(ping(3).with_run_after(now - secs(2)))
        .await
        .expect("c")
        .job
        .id;
    let d = queue
        .enqueue(ping(4).with_priority(5).with_run_after(now - secs(2)))
        .await
        .expect("d")
        .job
        .id;
    let mut order = Vec::new();
    while let Some(job) = claim_now(queue, "w").await {
        order.push(job.id);
    }
    assert_eq!(order, vec![d, b, a, c]);
}

/// A job is not claimed before its `run_after`, and a waiting claim picks it up once it is due.
pub async fn a_job_is_not_claimed_before_its_run_after(queue: &dyn JobQueue) {
    let due = Utc::now() + chrono::TimeDelta::milliseconds(400);
    let job = queue
        .enqueue(ping(1).with_run_after(due))
        .await
        .expect("enqueueing")
        .job;
    assert!(
        claim_now(queue, "w").await.is_none(),
        "claimed before its run_after"
    );
    let depth = queue.depth(QueueName::Analysis).await.expect("depth");
    assert_eq!((depth.queued, depth.scheduled), (0, 1));
    let claimed = claim_within(queue, "w", LEASE, PATIENCE)
        .await
        .expect("claimed once due");
    assert_eq!(claimed.id, job.id);
    assert!(Utc::now() >= due, "claimed early");
}

/// A live dedup key returns the existing job; once that job finished, the key is free again.
pub async fn an_enqueue_with_a_live_dedup_key_returns_the_existing_job(queue: &dyn JobQueue) {
    let first = queue
        .enqueue(ping(1).with_dedup_key("review:r1:section:s1"))
        .await
        .expect("first");
    assert!(first.created);
    let again = queue
        .enqueue(ping(2).with_dedup_key("review:r1:section:s1"))
        .await
        .expect("again");
    assert!(!again.created);
    assert_eq!(again.job.id, first.job.id);
    assert_eq!(
        again.job.payload, first.job.payload,
        "the first job's payload is kept"
    );
    let claimed = claim_within(queue, "w", LEASE, PATIENCE).await.expect("claimed");
    let while_running = queue
        .enqueue(ping(3).with_dedup_key("review:r1:section:s1"))
        .await
        .expect("running");
    assert_eq!(while_running.job.id, first.job.id);
    assert!(!while_running.created);
    assert!(
        queue
            .complete(claimed.lease().expect("lease"))
            .await
            .expect("completing")
    );
    let after_done = queue
        .enqueue(ping(4).with_dedup_key("review:r1:section:s1"))
        .await
        .expect("after");
    assert!(after_done.created, "a finished job does not block its key");
    assert_ne!(after_done.job.id, first.job.id);
    let batch = queue
        .enqueue_many(vec![ping(5).with_dedup_key("k2"), ping(6).with_dedup_key("k2")])
        .await
        .expect("a batch with one key twice");
    assert!(batch[0].created && !batch[1].created);
    assert_eq!(batch[0].job.id, batch[1].job.id);
}

/// Retries back off; the last failed attempt makes the job dead, listed, and retryable by an operator.
pub async fn a_failing_job_backs_off_and_is_dead_after_its_last_attempt(queue: &dyn JobQueue) {
    let id = queue
        .enqueue(ping(1).with_max_attempts(3))
        .await
        .expect("enqueueing")
        .job
        .id;
    for attempt in 1..=3u32 {
        let job = claim_within(queue, "w", LEASE, PATIENCE)
            .await
            .expect("claimed for another attempt");
        assert_eq!(job.id, id);
        assert_eq!(job.attempts, attempt);
        let failed_at = Utc::now();
        let outcome = queue
            .fail(
                job.lease().expect("lease"),
                &format!("boom {attempt}"),
                Some(SHORT),
            )
            .await;
        match outcome.expect("failing") {
            FailOutcome::Retrying { at } if attempt < 3 => {
                assert!(
                    at >= failed_at + chrono::TimeDelta::milliseconds(150),
                    "no backoff: {at} vs {failed_at}"
                );
                assert!(
                    claim_now(queue, "w").await.is_none(),
                    "retried before its backoff"
                );
                assert_eq!(
                    queue.depth(QueueName::Analysis).await.expect("depth").scheduled,
                    1
                );
            }
            FailOutcome::Dead if attempt == 3 => {}
            other => panic!("attempt {attempt}: unexpected {other:?}"),
        }
    }
    let dead = queue
        .dead_jobs(QueueName::Analysis, 10)
        .await
        .expect("dead letters");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, id);
    assert_eq!(dead[0].last_error.as_deref(), Some("boom 3"));
    assert_eq!(dead[0].attempts, 3);
    assert!(
        queue
            .dead_jobs(QueueName::Chat, 10)
            .await
            .expect("other queue")
            .is_empty()
    );
    assert_eq!(queue.depth(QueueName::Analysis).await.expect("depth").dead, 1);
    assert!(
        claim_within(queue, "w", LEASE, SHORT).await.is_none(),
        "a dead job is not claimed"
    );
    assert!(queue.retry_dead(&id).await.expect("retrying a dead job"));
    let again = claim_within(queue, "w", LEASE, PATIENCE)
        .await
        .expect("claimable after an operator retry");
    assert_eq!((again.id.clone(), again.attempts), (id, 1));
    assert!(
        !queue.retry_dead(&again.id).await.expect("retrying a running job"),
        "only dead jobs are retried"
    );
}

/// A permanent failure skips the remaining attempts.
pub async fn a_permanent_failure_is_dead_at_once(queue: &dyn JobQueue) {
    queue
        .enqueue(ping(1).with_max_attempts(5))
        .await
        .expect("enqueueing");
    let job = claim_within(queue, "w", LEASE, PATIENCE).await.expect("claimed");
    let outcome = queue
        .fail(job.lease().expect("lease"), "invalid payload", None)
        .await
        .expect("failing");
    assert_eq!(outcome, FailOutcome::Dead);
    assert_eq!(status(queue, &job).await, JobStatus::Dead);
}

/// Cancelling a queued job stops it at once.
pub async fn cancelling_a_queued_job_stops_it_at_once(queue: &dyn JobQueue) {
    let job = queue.enqueue(ping(1)).await.expect("enqueueing").job;
    assert_eq!(
        queue.cancel(&job.id).await.expect("cancelling"),
        CancelOutcome::Cancelled
    );
    assert_eq!(status(queue, &job).await, JobStatus::Cancelled);
    assert!(
        claim_within(queue, "w", LEASE, SHORT).await.is_none(),
        "a cancelled job was claimed"
    );
    assert_eq!(
        queue.cancel(&job.id).await.expect("again"),
        CancelOutcome::AlreadyFinished
    );
    let missing = super::JobId::new("job_nope");
    assert_eq!(
        queue.cancel(&missing).await.expect("unknown"),
        CancelOutcome::NotFound
    );
}

/// A group cancel cancels its queued jobs, flags its running ones, and leaves other groups alone.
pub async fn cancelling_a_group_cancels_queued_jobs_and_flags_running_ones(queue: &dyn JobQueue) {
    let jobs = queue
        .enqueue_many(vec![
            ping(1).with_group("rev_a").with_priority(9),
            ping(2).with_group("rev_a"),
        ])
        .await
        .expect("enqueueing");
    let running = claim_within(queue, "w", LEASE, PATIENCE).await.expect("claimed");
    assert_eq!(running.group.as_deref(), Some("rev_a"));
    queue.enqueue(ping(3).with_group("rev_a")).await.expect("third");
    let other = queue
        .enqueue(ping(4).with_group("rev_b"))
        .await
        .expect("other group")
        .job;
    let cancelled = queue.cancel_group("rev_a").await.expect("cancelling the group");
    assert_eq!((cancelled.cancelled, cancelled.requested), (2, 1));
    let beat = queue
        .heartbeat(running.lease().expect("lease"), LEASE)
        .await
        .expect("heartbeat");
    assert!(
        matches!(
            beat,
            Heartbeat::Held {
                cancel_requested: true,
                ..
            }
        ),
        "{beat:?}"
    );
    let next = claim_within(queue, "w", LEASE, PATIENCE)
        .await
        .expect("the other group still runs");
    assert_eq!(next.id, other.id);
    let outcome = queue
        .fail(running.lease().expect("lease"), "stopped", Some(SHORT))
        .await
        .expect("failing");
    assert_eq!(outcome, FailOutcome::Cancelled, "a cancelled job is not retried");
    for e in &jobs {
        assert_eq!(status(queue, &e.job).await, JobStatus::Cancelled);
    }
}

/// A running job learns of its cancellation on its next heartbeat, and completing it records the
/// cancellation.
pub async fn a_running_job_learns_of_its_cancellation_on_its_next_heartbeat(queue: &dyn JobQueue) {
    queue.enqueue(ping(1)).await.expect("enqueueing");
    let job = claim_within(queue, "w", LEASE, PATIENCE).await.expect("claimed");
    let lease = job.lease().expect("lease");
    let beat = queue.heartbeat(lease, LEASE).await.expect("heartbeat");
    assert!(
        matches!(
            beat,
            Heartbeat::Held {
                cancel_requested: false,
                ..
            }
        ),
        "{beat:?}"
    );
    assert_eq!(
        queue.cancel(&job.id).await.expect("cancelling"),
        CancelOutcome::Requested
    );
    assert_eq!(
        status(queue, &job).await,
        JobStatus::Running,
        "a running job is not stopped behind its back"
    );
    let beat = queue.heartbeat(lease, LEASE).await.expect("heartbeat");
    assert!(
        matches!(
            beat,
            Heartbeat::Held {
                cancel_requested: true,
                ..
            }
        ),
        "{beat:?}"
    );
    assert!(queue.complete(lease).await.expect("completing"));
    assert_eq!(status(queue, &job).await, JobStatus::Cancelled);
}

/// A job whose lease expired is claimed again with its attempt counted; the first worker's lease is dead.
pub async fn a_job_whose_lease_expired_is_claimed_again_with_its_attempt_counted(queue: &dyn JobQueue) {
    queue.enqueue(ping(1)).await.expect("enqueueing");
    let first = claim_within(queue, "w1", SHORT, PATIENCE)
        .await
        .expect("claimed by w1");
    assert!(claim_now(queue, "w2").await.is_none(), "claimed while leased");
    let second = claim_within(queue, "w2", LEASE, PATIENCE)
        .await
        .expect("reclaimed after the lease expired");
    assert_eq!(second.id, first.id);
    assert_eq!(second.attempts, 2, "the lost run counts as an attempt");
    assert_eq!(second.lease().expect("lease").worker_id, worker("w2"));
    let old = first.lease().expect("lease");
    assert_eq!(
        queue.heartbeat(old, LEASE).await.expect("stale heartbeat"),
        Heartbeat::Lost
    );
    assert!(
        !queue.complete(old).await.expect("stale completion"),
        "a stale lease completed the job"
    );
    assert_eq!(
        queue.fail(old, "late", None).await.expect("stale failure"),
        FailOutcome::LeaseLost
    );
    assert!(
        queue
            .complete(second.lease().expect("lease"))
            .await
            .expect("completing")
    );
    assert_eq!(status(queue, &second).await, JobStatus::Done);
}

/// Releasing (graceful shutdown) gives the job back at once without using an attempt.
pub async fn releasing_a_job_gives_it_back_without_using_an_attempt(queue: &dyn JobQueue) {
    queue
        .enqueue(ping(1).with_max_attempts(1))
        .await
        .expect("enqueueing");
    let job = claim_within(queue, "w1", LEASE, PATIENCE).await.expect("claimed");
    assert!(
        queue
            .release(job.lease().expect("lease"))
            .await
            .expect("releasing")
    );
    let stored = queue.job(&job.id).await.expect("reading").expect("exists");
    assert_eq!((stored.status, stored.attempts), (JobStatus::Queued, 0));
    let again = claim_within(queue, "w2", LEASE, PATIENCE)
        .await
        .expect("claimable again at once");
    assert_eq!((again.id.clone(), again.attempts), (job.id.clone(), 1));
    assert!(
        !queue
            .release(job.lease().expect("lease"))
            .await
            .expect("stale release")
    );
}

/// Depth counts due, scheduled, running and dead jobs per queue.
pub async fn depth_is_counted_per_queue(queue: &dyn JobQueue) {
    let later = Utc::now() + chrono::TimeDelta::hours(1);
    queue
        .enqueue(ping(4).with_max_attempts(1))
        .await
        .expect("enqueueing");
    let doomed = claim_within(queue, "w", LEASE, PATIENCE).await.expect("claimed");
    queue
        .fail(doomed.lease().expect("lease"), "x", Some(SHORT))
        .await
        .expect("failing");
    queue
        .enqueue_many(vec![
            ping(1),
            ping(2),
            ping(3).with_run_after(later),
            NewJob::from_payload(&Pong { text: "hi".into() }).expect("pong"),
        ])
        .await
        .expect("enqueueing");
    let _running = claim_within(queue, "w", LEASE, PATIENCE).await.expect("claimed");
    let analysis = queue.depth(QueueName::Analysis).await.expect("depth");
    assert_eq!(
        (
            analysis.queued,
            analysis.scheduled,
            analysis.running,
            analysis.dead
        ),
        (1, 1, 1, 1),
        "{analysis:?}"
    );
    let chat = queue.depth(QueueName::Chat).await.expect("depth");
    assert_eq!(
        (chat.queued, chat.scheduled, chat.running, chat.dead),
        (1, 0, 0, 0)
    );
    let monitoring = queue.depth(QueueName::Monitoring).await.expect("depth");
    assert_eq!(monitoring.queued + monitoring.running, 0);
}

/// A batch is stored whole or not at all.
pub async fn enqueue_many_stores_all_or_nothing(queue: &dyn JobQueue) {
    let first = ping(1);
    let mut clash = ping(3);
    clash.id = first.id.clone();
    let result = queue.enqueue_many(vec![first.clone(), ping(2), clash]).await;
    assert!(result.is_err(), "a batch with a duplicate id must fail");
    assert!(
        queue.job(&first.id).await.expect("reading").is_none(),
        "part of a failed batch was stored"
    );
    assert_eq!(queue.depth(QueueName::Analysis).await.expect("depth").queued, 0);
    assert!(claim_within(queue, "w", LEASE, SHORT).await.is_none());
    let batch = queue
        .enqueue_many((10..15).map(ping).collect())
        .await
        .expect("a good batch");
    assert_eq!(batch.len(), 5);
    let ns: Vec<u32> = batch
        .iter()
        .map(|e| e.job.decode::<Ping>().expect("decoding").n)
        .collect();
    assert_eq!(ns, vec![10, 11, 12, 13, 14], "results are in input order");
    assert_eq!(queue.depth(QueueName::Analysis).await.expect("depth").queued, 5);
}

/// A claim with nothing to do waits about as long as asked, then returns nothing.
pub async fn a_waiting_claim_gives_up_after_its_wait(queue: &dyn JobQueue) {
    let started = Instant::now();
    assert!(
        claim_within(queue, "w", LEASE, Duration::from_millis(300))
            .await
            .is_none()
    );
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(250), "returned after {waited:?}");
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
}

/// A waiting claim wakes for a job enqueued (through `enqueuer`, which may be another handle on the same
/// backend) while it waits, well before its wait runs out.
pub async fn a_waiting_claim_wakes_when_a_job_is_enqueued(
    waiter: Arc<dyn JobQueue>,
    enqueuer: &dyn JobQueue,
) {
    let claim = tokio::spawn(async move {
        let job = waiter
            .claim(
                &[QueueName::Chat, QueueName::Analysis],
                &worker("w"),
                LEASE,
                Duration::from_secs(20),
            )
            .await;
        (job, Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let enqueued_at = Instant::now();
    let id = enqueuer.enqueue(ping(1)).await.expect("enqueueing").job.id;
    let (job, claimed_at) = claim.await.expect("the claim task");
    let job = job.expect("claiming").expect("woken with the job");
    assert_eq!(job.id, id);
    let pickup = claimed_at.saturating_duration_since(enqueued_at);
    assert!(pickup < Duration::from_secs(3), "picked up after {pickup:?}");
}

/// Concurrent claimers never get the same job, and every job is completed exactly once.
pub async fn concurrent_claimers_complete_every_job_exactly_once(
    queue: Arc<dyn JobQueue>,
    jobs: u32,
    claimers: usize,
) {
    for chunk in (0..jobs).collect::<Vec<_>>().chunks(250) {
        queue
            .enqueue_many(chunk.iter().map(|n| ping(*n)).collect())
            .await
            .expect("enqueueing");
    }
    let mut tasks = Vec::new();
    for c in 0..claimers {
        let queue = Arc::clone(&queue);
        tasks.push(tokio::spawn(async move {
            let me = worker(&format!("claimer-{c}"));
            let mut done = Vec::new();
            while let Some(job) = queue
                .claim(&[QueueName::Analysis], &me, LEASE, Duration::from_millis(500))
                .await
                .expect("claiming")
            {
                assert!(
                    queue
                        .complete(job.lease().expect("lease"))
                        .await
                        .expect("completing")
                );
                done.push(job.id);
            }
            done
        }));
    }
    let mut seen = HashSet::new();
    let mut per_claimer = Vec::new();
    for t in tasks {
        let done = t.await.expect("a claimer task");
        per_claimer.push(done.len());
        for id in done {
            assert!(seen.insert(id.clone()), "job {id} was claimed twice");
        }
    }
    assert_eq!(seen.len(), jobs as usize, "every job ran ({per_claimer:?})");
    let depth = queue.depth(QueueName::Analysis).await.expect("depth");
    assert_eq!(depth.queued + depth.running + depth.scheduled + depth.dead, 0);
}
