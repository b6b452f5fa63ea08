//! The durable job queue (DESIGN.md section 7): a review fans out into one job per section, and any
//! number of workers, in the server process or in `aiprism worker` processes, run them.
//!
//! [`JobQueue`] is the one seam: the database backend implemented here on [`SqlStore`] (SQLite inside
//! `BEGIN IMMEDIATE`, PostgreSQL with `FOR UPDATE SKIP LOCKED` + `LISTEN/NOTIFY`) and the SQS backend in
//! `aiprism-sqs` both implement it, and [`runner::Runner`] drives either. Delivery is at least once with a
//! lease: a claimed job belongs to its worker until its lease runs out, the worker extends the lease with
//! heartbeats, and a job whose lease expired is claimed again. Handlers must therefore be idempotent.
//!
//! Job state (status, attempts, payload, errors) always lives in the database, whatever carries the
//! wake-ups, so status and dead letters can be read without asking a broker.
//!
//! [`SqlStore`]: crate::SqlStore

mod backoff;
mod broker;
pub mod conformance;
pub mod runner;
mod sql;
mod statements;
mod types;
mod wake;

use std::time::Duration;

use async_trait::async_trait;

pub use backoff::Backoff;
pub use broker::{DirectClaim, Dispatch};
pub use types::{
    CancelOutcome, DEFAULT_MAX_ATTEMPTS, Enqueued, FailOutcome, GroupCancelled, Heartbeat, Job, JobId,
    JobPayload, JobStatus, Lease, NewJob, QueueDepth, QueueName, WorkerId,
};

use crate::StoreError;

/// Why a queue call failed, in terms a caller (usually the runner) can act on.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The database or broker cannot be reached: back off and try again.
    #[error("the queue is unavailable: {0}")]
    Unavailable(String),
    /// A request the queue rejects (an id used twice, a bad option).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A payload could not be encoded, or decoded into the type asked for.
    #[error("job payload: {0}")]
    Payload(String),
    /// Stored job data could not be read back (a bug or a manual edit).
    #[error("stored job data is inconsistent: {0}")]
    Corrupt(String),
    /// The queue is misconfigured (missing broker queue, bad URL).
    #[error("invalid queue configuration: {0}")]
    Config(String),
    /// Anything else the database or broker reported.
    #[error("queue error: {0}")]
    Other(String),
}

impl From<StoreError> for QueueError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => QueueError::Unavailable(m),
            StoreError::Conflict(m) => QueueError::Conflict(m),
            StoreError::Corrupt(m) => QueueError::Corrupt(m),
            StoreError::Config(m) => QueueError::Config(m),
            StoreError::Other(m) => QueueError::Other(m),
        }
    }
}

/// Result of a queue call.
pub type QueueResult<T> = Result<T, QueueError>;

/// A durable, leased job queue. Object safe: the application holds an `Arc<dyn JobQueue>` and does not
/// know which backend it has.
///
/// Every call that acts on a claimed job takes its [`Lease`], not just its id: after a lease expired and
/// another worker claimed the job, the first worker's late `complete` or `heartbeat` must not touch the
/// second worker's run, and the lease token is what tells them apart.
#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// Adds a job. When its dedup key matches a queued or running job, that job is returned instead and
    /// nothing is added (so a double click or a retried request does not run the work twice).
    async fn enqueue(&self, job: NewJob) -> QueueResult<Enqueued>;

    /// Adds several jobs atomically: either all are stored or none is (a review's fan-out must not be
    /// left half-queued). Results are in input order; dedup applies to each job as in [`Self::enqueue`].
    async fn enqueue_many(&self, jobs: Vec<NewJob>) -> QueueResult<Vec<Enqueued>>;

    /// Takes the best due job of the given queues (highest priority, then earliest `run_after`) and leases
    /// it to `worker` for `lease`, counting an attempt. When none is due, waits up to `wait` for one to be
    /// enqueued, released or become due, without busy polling where the backend can be told; returns
    /// `None` when the wait ran out.
    async fn claim(
        &self,
        queues: &[QueueName],
        worker: &WorkerId,
        lease: Duration,
        wait: Duration,
    ) -> QueueResult<Option<Job>>;

    /// Extends a lease to `extend` from now and reports whether the job is still this worker's and
    /// whether someone asked to cancel it; this is how a running job learns of a cancellation.
    async fn heartbeat(&self, lease: &Lease, extend: Duration) -> QueueResult<Heartbeat>;

    /// Marks the job done. Returns `false` when the lease was lost (the job was reclaimed or finished
    /// elsewhere), in which case nothing changed.
    async fn complete(&self, lease: &Lease) -> QueueResult<bool>;

    /// Records a failure. With `retry_in` the job is queued again after that delay while attempts remain;
    /// without it, or when attempts are used up, it is dead. A job whose cancellation was requested
    /// becomes cancelled instead of being retried.
    async fn fail(&self, lease: &Lease, error: &str, retry_in: Option<Duration>) -> QueueResult<FailOutcome>;

    /// Gives a running job back without consuming an attempt (graceful shutdown): it is claimable at once.
    /// Returns `false` when the lease was already lost.
    async fn release(&self, lease: &Lease) -> QueueResult<bool>;

    /// Cancels one job: a queued job is cancelled at once, a running one is flagged and learns it on its
    /// next heartbeat.
    async fn cancel(&self, id: &JobId) -> QueueResult<CancelOutcome>;

    /// Cancels every unfinished job of a group (for example every section of a review).
    async fn cancel_group(&self, group: &str) -> QueueResult<GroupCancelled>;

    /// Puts a dead job back in its queue with its attempts reset (an operator's "retry" button).
    /// Returns `false` when the job is not dead.
    async fn retry_dead(&self, id: &JobId) -> QueueResult<bool>;

    /// Dead jobs of a queue, most recently failed first, so they stay visible rather than vanish.
    async fn dead_jobs(&self, queue: QueueName, limit: u32) -> QueueResult<Vec<Job>>;

    /// How many jobs of a queue are due, scheduled for later, running and dead (for metrics and the
    /// `monitoring` probes).
    async fn depth(&self, queue: QueueName) -> QueueResult<QueueDepth>;

    /// One job, whatever its state.
    async fn job(&self, id: &JobId) -> QueueResult<Option<Job>>;
}
