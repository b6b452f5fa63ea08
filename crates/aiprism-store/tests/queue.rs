//! The job queue's database backend: the shared conformance scenarios, the database-only ones, the
//! runner, and a real worker process killed with SIGKILL mid-job. Every scenario runs on SQLite and, when
//! `AIPRISM_TEST_PG_URL` is set (always in CI), on PostgreSQL, each in a database of its own.

#[path = "queue/kill.rs"]
mod kill;
#[path = "queue/runner.rs"]
mod runner;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aiprism_store::SqlStore;
use aiprism_store::queue::conformance::{self, ping};
use aiprism_store::queue::{JobQueue, JobStatus, QueueName, WorkerId};
use aiprism_store::testing::{self, TestDatabase};
use kill::a_worker_process_killed_mid_job_loses_no_job_and_runs_each_to_completion_once;
use runner::{
    a_failing_handler_is_retried_with_backoff_then_dead, a_handler_sees_its_cancellation_through_its_context,
    a_handler_whose_lease_was_lost_has_its_result_discarded,
    a_panicking_handler_fails_its_job_and_the_worker_keeps_working,
    graceful_shutdown_lets_jobs_that_finish_in_time_complete,
    graceful_shutdown_releases_jobs_still_running_after_the_grace_period,
    the_runner_completes_every_job_and_counts_it,
};

/// One test per scenario and backend, so a run shows `postgres::...` tests by name.
macro_rules! per_backend {
    ($($scenario:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let db = aiprism_store::testing::TestDatabase::sqlite();
                    super::$scenario(super::Ctx::open(&db).await).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    if !super::postgres_configured() {
                        return;
                    }
                    let db = aiprism_store::testing::TestDatabase::postgres().await;
                    super::$scenario(super::Ctx::open(&db).await).await;
                }
            )+
        }
    };
}

/// Wraps shared conformance scenarios so [`per_backend`] can run them.
macro_rules! shared_scenarios {
    ($($scenario:ident),+ $(,)?) => {
        $(
            async fn $scenario(ctx: Ctx) {
                conformance::$scenario(ctx.store.as_ref()).await;
            }
        )+
    };
}

shared_scenarios!(
    enqueued_job_is_claimed_completed_and_read_back,
    jobs_are_claimed_by_priority_then_run_after,
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

per_backend!(
    enqueued_job_is_claimed_completed_and_read_back,
    jobs_are_claimed_by_priority_then_run_after,
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
    a_waiting_claim_wakes_for_a_job_enqueued_through_another_connection,
    a_lease_that_expires_on_the_last_attempt_leaves_the_job_dead,
    two_concurrent_claimers_complete_a_thousand_jobs_exactly_once,
    the_queue_tables_sit_beside_the_store_tables,
    the_runner_completes_every_job_and_counts_it,
    a_failing_handler_is_retried_with_backoff_then_dead,
    a_panicking_handler_fails_its_job_and_the_worker_keeps_working,
    graceful_shutdown_releases_jobs_still_running_after_the_grace_period,
    graceful_shutdown_lets_jobs_that_finish_in_time_complete,
    a_handler_sees_its_cancellation_through_its_context,
    a_handler_whose_lease_was_lost_has_its_result_discarded,
    a_worker_process_killed_mid_job_loses_no_job_and_runs_each_to_completion_once,
);

/// What every scenario gets: a migrated store on its own database, and that database's URL for
/// scenarios that open more connections or processes.
pub struct Ctx {
    /// The store (it is also the queue).
    pub store: Arc<SqlStore>,
    /// Its URL.
    pub url: String,
}

impl Ctx {
    async fn open(db: &TestDatabase) -> Self {
        let store = db.store().await.expect("migrating a fresh test database");
        Self {
            store: Arc::new(store),
            url: db.url.clone(),
        }
    }

    /// The store as the trait object the application uses.
    pub fn queue(&self) -> Arc<dyn JobQueue> {
        Arc::clone(&self.store) as Arc<dyn JobQueue>
    }
}

fn postgres_configured() -> bool {
    if std::env::var(testing::PG_URL_VAR).is_ok() {
        return true;
    }
    assert!(
        !testing::is_ci(),
        "CI=true but {} is not set: the PostgreSQL queue suite must run in CI",
        testing::PG_URL_VAR
    );
    eprintln!(
        "note: {} not set; PostgreSQL scenario not run here",
        testing::PG_URL_VAR
    );
    false
}

/// Polls `check` until it holds, failing the test with `what` after `timeout`.
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_waiting_claim_wakes_for_a_job_enqueued_through_another_connection(ctx: Ctx) {
    // A second store on the same database: on PostgreSQL the wake-up must come through NOTIFY.
    let other = SqlStore::connect(&ctx.url).await.expect("a second connection");
    conformance::a_waiting_claim_wakes_when_a_job_is_enqueued(ctx.queue(), &other).await;
    conformance::a_waiting_claim_wakes_when_a_job_is_enqueued(ctx.queue(), ctx.store.as_ref()).await;
}

async fn a_lease_that_expires_on_the_last_attempt_leaves_the_job_dead(ctx: Ctx) {
    let queue = ctx.store.as_ref();
    let id = queue
        .enqueue(ping(1).with_max_attempts(1))
        .await
        .expect("enqueueing")
        .job
        .id;
    let job = queue
        .claim(
            &[QueueName::Analysis],
            &WorkerId::new("doomed"),
            Duration::from_millis(100),
            Duration::ZERO,
        )
        .await
        .expect("claiming")
        .expect("claimed");
    assert_eq!(job.id, id);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(ctx.store.reap_expired_leases().await.expect("reaping"), 1);
    let dead = queue.job(&id).await.expect("reading").expect("exists");
    assert_eq!(dead.status, JobStatus::Dead);
    assert!(
        dead.last_error
            .as_deref()
            .is_some_and(|e| e.contains("lease expired")),
        "{:?}",
        dead.last_error
    );
    assert_eq!(
        queue
            .dead_jobs(QueueName::Analysis, 5)
            .await
            .expect("dead letters")
            .len(),
        1
    );
}

async fn two_concurrent_claimers_complete_a_thousand_jobs_exactly_once(ctx: Ctx) {
    conformance::concurrent_claimers_complete_every_job_exactly_once(ctx.queue(), 1000, 2).await;
}

async fn the_queue_tables_sit_beside_the_store_tables(ctx: Ctx) {
    // Migrating again applies nothing, and the queue answers on a freshly migrated database.
    assert_eq!(ctx.store.migrate().await.expect("migrating again"), 0);
    for q in QueueName::ALL {
        let depth = ctx.store.depth(*q).await.expect("depth");
        assert_eq!(
            (depth.queued, depth.scheduled, depth.running, depth.dead),
            (0, 0, 0, 0)
        );
    }
}

/// Not a test of its own: the worker process the kill test starts (see `kill.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_worker_process() {
    kill::child_worker_main().await;
}
