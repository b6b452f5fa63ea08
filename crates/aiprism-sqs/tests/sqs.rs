//! The SQS backend against moto's SQS (`AIPRISM_TEST_SQS_ENDPOINT`, started by `scripts/test`): the
//! shared queue conformance scenarios that apply to a broker without priorities, plus what only a broker
//! has: redelivery after the visibility timeout, heartbeats keeping a message hidden, the dead-letter
//! queue, and lost messages recovered by the sweeper. Each test has its own SQS queues (a unique
//! prefix) and its own SQLite database for job state. Without the variable the tests print a note and
//! pass locally; with `CI=true` they fail.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aiprism_sqs::{SqsConfig, SqsQueue, StaticCredentials};
use aiprism_store::queue::conformance::{self, ping};
use aiprism_store::queue::{JobQueue, JobStatus, QueueName, WorkerId};
use aiprism_store::testing::{self, TestDatabase};

const ENDPOINT_VAR: &str = "AIPRISM_TEST_SQS_ENDPOINT";

/// A queue on fresh SQS queues and a fresh database, or `None` (after a note) when moto is not
/// configured outside CI.
struct Harness {
    queue: Arc<SqsQueue>,
    _db: TestDatabase,
}

async fn harness(tune: impl FnOnce(&mut SqsConfig)) -> Option<Harness> {
    let Ok(endpoint) = std::env::var(ENDPOINT_VAR) else {
        assert!(
            !testing::is_ci(),
            "CI=true but {ENDPOINT_VAR} is not set: the SQS backend's tests must run in CI"
        );
        eprintln!("note: {ENDPOINT_VAR} not set; SQS test not run here (scripts/test starts moto)");
        return None;
    };
    let db = TestDatabase::sqlite();
    let store = Arc::new(db.store().await.expect("migrating"));
    let id = uuid::Uuid::now_v7().simple().to_string();
    let mut config = SqsConfig {
        prefix: format!("t{}-", &id[id.len() - 12..]),
        region: Some("us-east-1".into()),
        endpoint: Some(endpoint),
        visibility_timeout: Duration::from_secs(30),
        wait_time: Duration::from_secs(1),
        create_queues: true,
        max_receive_count: 20,
        stale_after: Duration::from_secs(1),
        credentials: Some(StaticCredentials {
            access_key_id: "testing".into(),
            secret_access_key: "testing".into(),
        }),
    };
    tune(&mut config);
    let queue = SqsQueue::connect(store, config)
        .await
        .expect("connecting to moto's SQS");
    Some(Harness {
        queue: Arc::new(queue),
        _db: db,
    })
}

/// One test per shared scenario.
macro_rules! shared {
    ($($scenario:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() {
                let Some(h) = harness(|_| {}).await else { return };
                conformance::$scenario(h.queue.as_ref()).await;
            }
        )+
    };
}

shared!(
    enqueued_job_is_claimed_completed_and_read_back,
    a_job_is_not_claimed_before_its_run_after,
    an_enqueue_with_a_live_dedup_key_returns_the_existing_job,
    a_failing_job_backs_off_and_is_dead_after_its_last_attempt,
    a_permanent_failure_is_dead_at_once,
    cancelling_a_queued_job_stops_it_at_once,
    cancelling_a_group_cancels_queued_jobs_and_flags_running_ones,
    a_running_job_learns_of_its_cancellation_on_its_next_heartbeat,
    a_job_whose_lease_expired_is_claimed_again_with_its_attempt_counted,
    releasing_a_job_gives_it_back_without_using_an_attempt,
    depth_is_counted_per_queue,
    enqueue_many_stores_all_or_nothing,
    a_waiting_claim_gives_up_after_its_wait,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_claim_wakes_when_a_job_is_enqueued() {
    let Some(h) = harness(|_| {}).await else { return };
    let queue: Arc<dyn JobQueue> = h.queue.clone();
    conformance::a_waiting_claim_wakes_when_a_job_is_enqueued(queue, h.queue.as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claimers_complete_every_job_exactly_once() {
    let Some(h) = harness(|_| {}).await else { return };
    conformance::concurrent_claimers_complete_every_job_exactly_once(h.queue.clone(), 100, 2).await;
}

/// Receives straight from SQS, bypassing the job queue, hiding what it gets for `visibility` seconds.
async fn raw_receive(queue: &SqsQueue, url: &str, visibility: i32) -> Vec<String> {
    let out = queue
        .client()
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .visibility_timeout(visibility)
        .wait_time_seconds(0)
        .send()
        .await
        .expect("receiving");
    out.messages()
        .iter()
        .filter_map(|m| m.body().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_visibility_timeout_passed_is_delivered_again() {
    let Some(h) = harness(|_| {}).await else { return };
    let queue = h.queue.as_ref();
    let id = queue.enqueue(ping(1)).await.expect("enqueueing").job.id;
    let w1 = WorkerId::new("w1");
    let first = queue
        .claim(
            &[QueueName::Analysis],
            &w1,
            Duration::from_secs(1),
            Duration::from_secs(3),
        )
        .await;
    let first = first.expect("claiming").expect("claimed");
    assert!(
        first.lease().expect("lease").receipt.is_some(),
        "an SQS lease carries its receipt handle"
    );
    let url = queue.queue_url(QueueName::Analysis).to_string();
    assert!(
        raw_receive(queue, &url, 0).await.is_empty(),
        "the message is hidden while leased"
    );
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let again = raw_receive(queue, &url, 0).await;
    assert_eq!(again.len(), 1, "redelivered after the visibility timeout");
    assert!(
        again[0].contains(id.as_str()),
        "the message carries the job id: {}",
        again[0]
    );
    assert!(
        !again[0].contains("\"n\""),
        "the message carries no payload: {}",
        again[0]
    );
    let second = queue
        .claim(
            &[QueueName::Analysis],
            &WorkerId::new("w2"),
            Duration::from_secs(30),
            Duration::from_secs(3),
        )
        .await
        .expect("claiming")
        .expect("reclaimed through the redelivered message");
    assert_eq!((second.id.clone(), second.attempts), (id, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_keep_the_message_hidden_and_completion_deletes_it() {
    let Some(h) = harness(|_| {}).await else { return };
    let queue = h.queue.as_ref();
    queue.enqueue(ping(1)).await.expect("enqueueing");
    let lease_len = Duration::from_secs(1);
    let job = queue
        .claim(
            &[QueueName::Analysis],
            &WorkerId::new("w1"),
            lease_len,
            Duration::from_secs(3),
        )
        .await
        .expect("claiming")
        .expect("claimed");
    let lease = job.lease().expect("lease").clone();
    let url = queue.queue_url(QueueName::Analysis).to_string();
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(2600) {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let beat = queue.heartbeat(&lease, lease_len).await.expect("heartbeat");
        assert!(
            matches!(beat, aiprism_store::queue::Heartbeat::Held { .. }),
            "{beat:?}"
        );
        assert!(
            raw_receive(queue, &url, 0).await.is_empty(),
            "the message reappeared while heartbeating"
        );
    }
    assert!(queue.complete(&lease).await.expect("completing"));
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(
        raw_receive(queue, &url, 0).await.is_empty(),
        "a completed job's message is deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_received_too_often_moves_to_the_dead_letter_queue_and_the_sweeper_recovers_its_job() {
    let Some(h) = harness(|c| c.max_receive_count = 2).await else {
        return;
    };
    let queue = h.queue.as_ref();
    let id = queue.enqueue(ping(1)).await.expect("enqueueing").job.id;
    let url = queue.queue_url(QueueName::Analysis).to_string();
    // Two receives that never settle the message (a poison message, or workers that keep dying early).
    for _ in 0..2 {
        let mut got = Vec::new();
        for _ in 0..20 {
            got = raw_receive(queue, &url, 1).await;
            if !got.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(got.len(), 1, "the message is delivered");
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(
        raw_receive(queue, &url, 0).await.is_empty(),
        "moved away after maxReceiveCount receives"
    );
    let dead = raw_receive(queue, queue.dead_letter_queue_url(), 0).await;
    assert_eq!(dead.len(), 1, "the message is in the dead-letter queue");
    assert!(dead[0].contains(id.as_str()));
    // The job itself is still queued in the database: the sweeper sends a new message for it.
    assert_eq!(
        queue.job(&id).await.expect("reading").expect("exists").status,
        JobStatus::Queued
    );
    assert!(queue.sweep().await.expect("sweeping") >= 1);
    let job = queue
        .claim(
            &[QueueName::Analysis],
            &WorkerId::new("w"),
            Duration::from_secs(30),
            Duration::from_secs(3),
        )
        .await
        .expect("claiming")
        .expect("recovered by the sweeper");
    assert_eq!(job.id, id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_message_is_sent_again_by_the_sweeper_and_a_fresh_job_is_not() {
    let Some(h) = harness(|c| c.stale_after = Duration::from_secs(2)).await else {
        return;
    };
    let queue = h.queue.as_ref();
    let id = queue.enqueue(ping(1)).await.expect("enqueueing").job.id;
    assert_eq!(
        queue.sweep().await.expect("sweeping"),
        0,
        "a fresh job's message is not presumed lost"
    );
    // Lose the message: receive and delete it behind the queue's back.
    let url = queue.queue_url(QueueName::Analysis).to_string();
    let out = queue
        .client()
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("receiving");
    let message = out.messages().first().expect("the message");
    let receipt = message.receipt_handle().expect("a receipt handle");
    queue
        .client()
        .delete_message()
        .queue_url(&url)
        .receipt_handle(receipt)
        .send()
        .await
        .expect("deleting");
    let wait = Duration::from_millis(500);
    assert!(
        queue
            .claim(&[QueueName::Analysis], &WorkerId::new("w"), wait, wait)
            .await
            .expect("claiming")
            .is_none()
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(queue.sweep().await.expect("sweeping"), 1);
    assert_eq!(
        queue.sweep().await.expect("sweeping again"),
        0,
        "one re-send per stale period"
    );
    let job = queue
        .claim(
            &[QueueName::Analysis],
            &WorkerId::new("w"),
            Duration::from_secs(30),
            Duration::from_secs(3),
        )
        .await
        .expect("claiming")
        .expect("claimable again");
    assert_eq!(job.id, id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_queue_is_an_error_unless_creation_is_allowed() {
    let Some(h) = harness(|_| {}).await else { return };
    let config = SqsConfig {
        prefix: "never-created-".into(),
        create_queues: false,
        endpoint: std::env::var(ENDPOINT_VAR).ok(),
        region: Some("us-east-1".into()),
        credentials: Some(StaticCredentials {
            access_key_id: "testing".into(),
            secret_access_key: "testing".into(),
        }),
        ..SqsConfig::default()
    };
    let err = SqsQueue::connect(h.queue.database().clone(), config)
        .await
        .expect_err("no such queues");
    assert!(err.to_string().contains("never-created-"), "{err}");
}
