//! A real worker process killed with SIGKILL in the middle of its jobs: nothing is lost, and every job's
//! effect is applied exactly once (at-least-once runs + an idempotent handler).
//!
//! The parent re-executes this test binary (`std::env::current_exe()`) to run only
//! `child_worker_process`, with the database URL in [`CHILD_VAR`]; that test then becomes a worker
//! that runs until it is killed.

use std::collections::HashSet;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use aiprism_store::queue::conformance::ping;
use aiprism_store::queue::runner::{JobContext, JobError, JobHandler, Runner, RunnerConfig};
use aiprism_store::queue::{Job, JobId, JobQueue, JobStatus, QueueName, WorkerId};
use aiprism_store::{Backend, SqlStore};
use async_trait::async_trait;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

use super::runner::fast_config;
use super::{Ctx, wait_for};

/// Tells the re-executed test binary to act as the worker, and on which database.
const CHILD_VAR: &str = "AIPRISM_QUEUE_TEST_CHILD_DB";

/// A plain connection for the test's own bookkeeping table.
enum Raw {
    Sqlite(SqlitePool),
    Pg(PgPool),
}

impl Raw {
    async fn connect(url: &str) -> Self {
        match Backend::from_url(url).expect("a database URL") {
            Backend::Sqlite => Raw::Sqlite(SqlitePool::connect(url).await.expect("connecting")),
            Backend::Postgres => Raw::Pg(PgPool::connect(url).await.expect("connecting")),
        }
    }

    async fn create_table(&self) {
        let sql = "CREATE TABLE job_effects (job_id TEXT PRIMARY KEY, runs INTEGER NOT NULL)";
        match self {
            Raw::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
            Raw::Pg(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        }
        .expect("creating the effects table");
    }

    /// The handler's effect: idempotent, as every real handler must be.
    async fn apply(&self, job: &JobId) -> Result<(), sqlx::Error> {
        let sql = "INSERT INTO job_effects (job_id, runs) VALUES ($1, 1) \
                   ON CONFLICT (job_id) DO UPDATE SET runs = job_effects.runs + 1";
        match self {
            Raw::Sqlite(p) => sqlx::query(sql).bind(job.as_str()).execute(p).await.map(|_| ()),
            Raw::Pg(p) => sqlx::query(sql).bind(job.as_str()).execute(p).await.map(|_| ()),
        }
    }

    /// (job id, runs) for every job whose effect was applied.
    async fn effects(&self) -> Vec<(String, i32)> {
        let sql = "SELECT job_id, runs FROM job_effects";
        match self {
            Raw::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await,
            Raw::Pg(p) => sqlx::query_as(sql).fetch_all(p).await,
        }
        .expect("reading effects")
    }
}

struct Effecting {
    raw: Raw,
}

#[async_trait]
impl JobHandler for Effecting {
    async fn handle(&self, job: &Job, _ctx: &JobContext) -> Result<(), JobError> {
        tokio::time::sleep(Duration::from_millis(40)).await;
        self.raw
            .apply(&job.id)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        // Work after the effect, so a kill can land between the effect and the completion.
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(())
    }
}

fn worker_config(name: &str) -> RunnerConfig {
    let mut config = fast_config(name).with_concurrency([(QueueName::Analysis, 4)]);
    config.lease = Duration::from_secs(1);
    config.heartbeat_every = Duration::from_millis(200);
    config
}

/// The body of `child_worker_process`: a worker until killed; nothing when not started by the parent.
pub async fn child_worker_main() {
    let Ok(url) = std::env::var(CHILD_VAR) else {
        return;
    };
    let store = SqlStore::connect(&url).await.expect("the child connects");
    let handler = Arc::new(Effecting {
        raw: Raw::connect(&url).await,
    });
    let runner = Runner::new(Arc::new(store), handler, worker_config("child"));
    runner.run(std::future::pending()).await;
}

pub async fn a_worker_process_killed_mid_job_loses_no_job_and_runs_each_to_completion_once(ctx: Ctx) {
    let raw = Raw::connect(&ctx.url).await;
    raw.create_table().await;
    let ids: Vec<JobId> = ctx
        .store
        .enqueue_many((0..60).map(ping).collect())
        .await
        .expect("enqueueing")
        .into_iter()
        .map(|e| e.job.id)
        .collect();

    let exe = std::env::current_exe().expect("the test binary");
    let mut child = tokio::process::Command::new(exe)
        .args([
            "child_worker_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_VAR, &ctx.url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("starting the worker process");
    wait_for(
        "the worker process to get going",
        Duration::from_secs(30),
        || async {
            raw.effects().await.len() >= 10
                && ctx.store.depth(QueueName::Analysis).await.expect("depth").running >= 2
        },
    )
    .await;
    child.start_kill().expect("SIGKILL");
    let status = child.wait().await.expect("reaping the worker process");
    assert!(!status.success(), "the worker process was killed, not stopped");

    let mut in_flight = HashSet::new();
    let mut done_before = 0;
    for id in &ids {
        let job = ctx.store.job(id).await.expect("reading").expect("exists");
        done_before += usize::from(job.status == JobStatus::Done);
        if job.status == JobStatus::Running {
            assert_eq!(job.worker_id, Some(WorkerId::new("child")));
            in_flight.insert(id.as_str().to_string());
        }
    }
    assert!(!in_flight.is_empty(), "the kill should land mid-job");

    let handler = Arc::new(Effecting {
        raw: Raw::connect(&ctx.url).await,
    });
    let runner = Runner::new(ctx.queue(), handler, worker_config("survivor"));
    let stats = runner.stats();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(runner.run(async move {
        let _ = stopped.await;
    }));
    wait_for(
        "the survivor to finish everything",
        Duration::from_secs(30),
        || async {
            let depth = ctx.store.depth(QueueName::Analysis).await.expect("depth");
            depth.queued + depth.scheduled + depth.running == 0
        },
    )
    .await;
    let _ = stop.send(());
    running.await.expect("the survivor");

    for id in &ids {
        let job = ctx.store.job(id).await.expect("reading").expect("exists");
        assert_eq!(job.status, JobStatus::Done, "job {id} was lost");
        let expected_attempts = if in_flight.contains(id.as_str()) { 2 } else { 1 };
        assert_eq!(job.attempts, expected_attempts, "job {id}");
    }
    let effects = raw.effects().await;
    assert_eq!(effects.len(), ids.len(), "every job's effect is there");
    for (id, runs) in &effects {
        if *runs > 1 {
            assert!(
                in_flight.contains(id),
                "job {id} ran {runs} times but was not in flight at the kill"
            );
        }
    }
    let s = stats.queue(QueueName::Analysis);
    // The survivor completed every job the child had not: the queued ones and those it was running.
    assert_eq!(s.completed as usize, ids.len() - done_before);
    assert_eq!(s.failed(), 0);
}
