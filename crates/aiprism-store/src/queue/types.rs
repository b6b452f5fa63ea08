//! The queue's vocabulary: queue names, ids, jobs to add, jobs as stored, and what each call reports.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::QueueError;

aiprism_core::string_enum!(
    /// The queues work is divided into. Closed, so a typo cannot create a queue nobody consumes; each has
    /// its own concurrency in the runner, so a burst of section reviews cannot starve chat answers.
    pub enum QueueName as "queue" {
        /// Section reviews: long, many per document.
        Analysis = "analysis",
        /// Chat answers: short, someone is waiting.
        Chat = "chat",
        /// Periodic health probes of models, storage and queue depth.
        Monitoring = "monitoring",
    }
);

impl QueueName {
    /// A dense index (0..3) for per-queue tables such as wake-up channels and counters.
    pub fn index(self) -> usize {
        match self {
            QueueName::Analysis => 0,
            QueueName::Chat => 1,
            QueueName::Monitoring => 2,
        }
    }
}

aiprism_core::string_enum!(
    /// Where a job is in its life. `Done`, `Dead` and `Cancelled` are final.
    pub enum JobStatus as "job status" {
        /// Waiting to be claimed (possibly not before its `run_after`).
        Queued = "queued",
        /// Leased to a worker.
        Running = "running",
        /// Finished successfully.
        Done = "done",
        /// Failed permanently or ran out of attempts; listed as a dead letter.
        Dead = "dead",
        /// Cancelled before it finished.
        Cancelled = "cancelled",
    }
);

impl JobStatus {
    /// Whether the job will never run again (unless an operator retries a dead one).
    pub fn is_final(self) -> bool {
        matches!(self, JobStatus::Done | JobStatus::Dead | JobStatus::Cancelled)
    }
}

/// Identifies a job: `job_` + a UUID v7, so ids sort by creation time in logs and indexes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct JobId(String);

impl JobId {
    /// A new, time-ordered, unique id.
    pub fn generate() -> Self {
        Self(format!("job_{}", uuid::Uuid::now_v7().simple()))
    }

    /// Wraps an id read back from storage, a request or a broker message; any string is accepted and a
    /// foreign one simply finds nothing.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Names a worker in leases and logs, so an operator can tell which process holds a job.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WorkerId(String);

impl WorkerId {
    /// Wraps a chosen name (for example `host:pid`).
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// A name unique to this process: host name (when known), process id and a random suffix, so two
    /// workers started on one machine never share one.
    pub fn generate() -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into());
        let suffix = uuid::Uuid::now_v7().simple().to_string();
        let tail = suffix.get(suffix.len() - 6..).unwrap_or(&suffix);
        Self(format!("{host}:{}:{tail}", std::process::id()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for WorkerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A typed job payload, the way crates.io's background jobs are written: the struct is the job's
/// arguments, `NAME` is the stable kind stored with it (never rename it while jobs of the old name may
/// still be queued), and `QUEUE` is where it runs.
pub trait JobPayload: Serialize + DeserializeOwned {
    /// The kind stored in the job row and used to route it to its handler.
    const NAME: &'static str;
    /// The queue jobs of this kind go to.
    const QUEUE: QueueName;
}

/// Default number of runs before a failing job is dead: enough to ride out a model outage with
/// backoff, few enough that a poison job surfaces quickly.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// A job to add. Build it from a typed payload with [`NewJob::from_payload`] and adjust it with the
/// `with_*` methods.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// Its id, chosen before storing so the caller can record it alongside (for example on a review).
    pub id: JobId,
    /// The queue it goes to.
    pub queue: QueueName,
    /// Its kind ([`JobPayload::NAME`]).
    pub kind: String,
    /// Its arguments as JSON.
    pub payload: serde_json::Value,
    /// Higher runs first among due jobs of a queue.
    pub priority: i32,
    /// Not claimed before this time (`None`: now).
    pub run_after: Option<DateTime<Utc>>,
    /// While a queued or running job has this key, enqueueing another with it returns the existing job.
    pub dedup_key: Option<String>,
    /// A group to cancel together (for example the review a section job belongs to).
    pub group: Option<String>,
    /// Runs allowed before the job is dead (at least 1).
    pub max_attempts: u32,
}

impl NewJob {
    /// A job carrying `payload`, on the payload type's queue, with default priority 0, no delay, no dedup
    /// key or group, and [`DEFAULT_MAX_ATTEMPTS`].
    pub fn from_payload<P: JobPayload>(payload: &P) -> Result<Self, QueueError> {
        let payload = serde_json::to_value(payload)
            .map_err(|e| QueueError::Payload(format!("encoding a {} payload: {e}", P::NAME)))?;
        Ok(Self::new(P::QUEUE, P::NAME, payload))
    }

    /// An untyped job (for tools and tests; application code uses [`NewJob::from_payload`]).
    pub fn new(queue: QueueName, kind: impl Into<String>, payload: serde_json::Value) -> Self {
        Self {
            id: JobId::generate(),
            queue,
            kind: kind.into(),
            payload,
            priority: 0,
            run_after: None,
            dedup_key: None,
            group: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// Sets the priority (higher first).
    pub fn with_priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// Delays the job until `at`.
    pub fn with_run_after(mut self, at: DateTime<Utc>) -> Self {
        self.run_after = Some(at);
        self
    }

    /// Sets the dedup key.
    pub fn with_dedup_key(mut self, key: impl Into<String>) -> Self {
        self.dedup_key = Some(key.into());
        self
    }

    /// Puts the job in a group.
    pub fn with_group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// Sets how many runs are allowed (0 is treated as 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }
}

/// A worker's hold on a claimed job. Every call about a running job passes it back, so a worker whose
/// lease expired (and whose job another worker now runs) cannot complete or extend the new run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The job.
    pub job_id: JobId,
    /// Its queue (brokers address messages per queue).
    pub queue: QueueName,
    /// The worker holding it.
    pub worker_id: WorkerId,
    /// Unique to this claim of this job.
    pub token: String,
    /// When the lease runs out unless extended.
    pub until: DateTime<Utc>,
    /// The broker's handle for this delivery (the SQS receipt handle); `None` on the database backend.
    pub receipt: Option<String>,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Its id.
    pub id: JobId,
    /// Its queue.
    pub queue: QueueName,
    /// Its kind ([`JobPayload::NAME`]).
    pub kind: String,
    /// Its arguments.
    pub payload: serde_json::Value,
    /// Where it is in its life.
    pub status: JobStatus,
    /// Higher runs first.
    pub priority: i32,
    /// Not claimed before this time (the next retry time after a failure).
    pub run_after: DateTime<Utc>,
    /// Runs started so far (a claim counts one; a release gives it back).
    pub attempts: u32,
    /// Runs allowed.
    pub max_attempts: u32,
    /// Its dedup key.
    pub dedup_key: Option<String>,
    /// Its group.
    pub group: Option<String>,
    /// Whether someone asked to cancel it while it ran.
    pub cancel_requested: bool,
    /// The lease, while running.
    pub lease: Option<Lease>,
    /// The worker that ran it last.
    pub worker_id: Option<WorkerId>,
    /// Why the last run failed.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When its last run started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a final status.
    pub finished_at: Option<DateTime<Utc>>,
}

impl Job {
    /// Decodes the payload into its typed form; fails when the job is of another kind, so a handler
    /// cannot misread a job routed to it by mistake.
    pub fn decode<P: JobPayload>(&self) -> Result<P, QueueError> {
        if self.kind != P::NAME {
            return Err(QueueError::Payload(format!(
                "job {} is a {}, not a {}",
                self.id,
                self.kind,
                P::NAME
            )));
        }
        serde_json::from_value(self.payload.clone())
            .map_err(|e| QueueError::Payload(format!("decoding job {} as {}: {e}", self.id, P::NAME)))
    }

    /// The lease of a claimed job; an error when the job is not running (a caller bug).
    pub fn lease(&self) -> Result<&Lease, QueueError> {
        self.lease
            .as_ref()
            .ok_or_else(|| QueueError::Conflict(format!("job {} is not leased", self.id)))
    }
}

/// What an enqueue did.
#[derive(Debug, Clone, PartialEq)]
pub struct Enqueued {
    /// The stored job: the new one, or the live job with the same dedup key.
    pub job: Job,
    /// `false` when an existing job was returned because of its dedup key.
    pub created: bool,
}

/// What a heartbeat learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    /// The lease is extended.
    Held {
        /// Until when.
        until: DateTime<Utc>,
        /// Whether the job was cancelled meanwhile: the handler should stop.
        cancel_requested: bool,
    },
    /// The job is no longer this worker's (its lease expired and it was reclaimed, or it finished): the
    /// handler's result must be discarded.
    Lost,
}

/// What a failure led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Queued again, to run at the given time.
    Retrying {
        /// The next run's earliest start.
        at: DateTime<Utc>,
    },
    /// Out of attempts or failed permanently: a dead letter.
    Dead,
    /// Its cancellation was requested, so it is cancelled rather than retried.
    Cancelled,
    /// The lease was already lost; nothing changed.
    LeaseLost,
}

/// What cancelling one job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// It was queued and is now cancelled.
    Cancelled,
    /// It is running; its worker learns it on the next heartbeat.
    Requested,
    /// It had already finished; nothing changed.
    AlreadyFinished,
    /// No such job.
    NotFound,
}

/// What cancelling a group did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupCancelled {
    /// Queued jobs now cancelled.
    pub cancelled: u64,
    /// Running jobs flagged; they stop after their next heartbeat.
    pub requested: u64,
}

/// How much work a queue holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueDepth {
    /// The queue.
    pub queue: QueueName,
    /// Queued and due now.
    pub queued: u64,
    /// Queued for later (delayed or waiting for a retry).
    pub scheduled: u64,
    /// Leased to workers.
    pub running: u64,
    /// Dead letters.
    pub dead: u64,
}
