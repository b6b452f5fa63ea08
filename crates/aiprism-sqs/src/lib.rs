//! The SQS backend of aiprism's job queue, for AWS deployments (DESIGN.md sections 3 and 7).
//!
//! SQS carries wake-ups, not state: a message holds only a job id (and its queue), while the job's
//! status, attempts, payload, errors and results stay in the database, exactly as with the database
//! backend. So status pages, dead letters and progress never depend on the broker, and this crate is a
//! thin layer over [`SqlStore`]'s queue:
//!
//! - enqueue: insert the row(s) (atomically), then send one message per new job, delayed until its
//!   `run_after` (SQS allows up to 15 minutes; a later job's message is received early and put back).
//! - claim: long-poll (`SQS_WAIT_TIME_SECONDS`) with the message hidden for the lease, then take the lease
//!   on the row. A message whose job is finished, cancelled or missing is deleted; one whose job is not
//!   due yet, or is leased to another worker (a duplicate delivery), is hidden again until then.
//! - heartbeat: extend the row's lease and the message's visibility (`ChangeMessageVisibility`).
//! - complete / dead / cancelled: settle the row, then delete the message. Retry: settle the row and hide
//!   the message until the backoff ends. Release: settle the row and make the message visible at once.
//! - Lost messages: a send that failed after the row committed, a message SQS moved to the dead-letter
//!   queue (`{prefix}dead`, via `RedrivePolicy` `maxReceiveCount`), a lease that expired. None loses the
//!   job: [`SqsQueue::sweep`] (run it periodically with [`SqsQueue::run_sweeper`]) reaps expired leases
//!   and re-sends a message for every job that has been due for longer than `stale_after` without one.
//!   A duplicate message is harmless, since the row decides.
//!
//! SQS has no priorities: `priority` orders only the database backend's claims.
//!
//! This crate depends on `aiprism-store` and the AWS SDK; nothing depends on it but the binary.

mod config;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aiprism_store::SqlStore;
use aiprism_store::queue::{
    CancelOutcome, DirectClaim, Enqueued, FailOutcome, GroupCancelled, Heartbeat, Job, JobId, JobQueue,
    Lease, NewJob, QueueDepth, QueueError, QueueName, QueueResult, WorkerId,
};
use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::retry::RetryConfig;
use aws_sdk_sqs::config::timeout::TimeoutConfig;
use aws_sdk_sqs::config::{Credentials, Region, SharedCredentialsProvider};
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{Message, QueueAttributeName, SendMessageBatchRequestEntry};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use config::{SqsConfig, StaticCredentials};

/// Why setting up or using SQS failed.
#[derive(Debug, thiserror::Error)]
pub enum SqsError {
    /// The configuration is unusable or a queue is missing (and may not be created).
    #[error("SQS configuration: {0}")]
    Config(String),
    /// SQS answered with an error or could not be reached.
    #[error("SQS: {0}")]
    Broker(String),
}

impl From<SqsError> for QueueError {
    fn from(e: SqsError) -> Self {
        match e {
            SqsError::Config(m) => QueueError::Config(m),
            SqsError::Broker(m) => QueueError::Unavailable(m),
        }
    }
}

/// SQS's limit on a message delay.
const MAX_DELAY_SECS: i64 = 900;
/// SQS's limit on a message's visibility timeout.
const MAX_VISIBILITY_SECS: i64 = 43_200;
/// Pause between short polls when a claim has less than a second left to wait.
const SHORT_POLL_PAUSE: Duration = Duration::from_millis(200);

/// A message body: the job id and, for operators reading a queue, its queue.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    job: String,
    queue: String,
}

/// The SQS job queue (see the crate documentation for how SQS and the database share the work).
pub struct SqsQueue {
    db: Arc<SqlStore>,
    client: Client,
    urls: BTreeMap<QueueName, String>,
    dead_letter_url: String,
    config: SqsConfig,
}

impl std::fmt::Debug for SqsQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsQueue")
            .field("urls", &self.urls)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The HTTP client for the SDK: hyper + rustls with ring, the crypto provider the workspace already builds
/// (the SDK's default would add aws-lc). It also speaks plain HTTP, for moto in tests.
fn http_client() -> aws_sdk_sqs::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider as TlsProvider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(TlsProvider::Rustls(CryptoMode::Ring))
        .build_https()
}

fn broker<E, R>(what: &str, e: SdkError<E, R>) -> SqsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let missing = e
        .as_service_error()
        .and_then(ProvideErrorMetadata::code)
        .is_some_and(|c| c.contains("NonExistentQueue") || c.contains("QueueDoesNotExist"));
    let message = format!("{what}: {}", DisplayErrorContext(&e));
    if missing {
        SqsError::Config(message)
    } else {
        SqsError::Broker(message)
    }
}

/// Whole seconds, rounded up and clamped to `0..=max`, as SQS wants its delays and timeouts.
fn seconds(d: Duration, max: i64) -> i32 {
    let secs = i64::try_from(d.as_millis().div_ceil(1000)).unwrap_or(max);
    i32::try_from(secs.clamp(0, max)).unwrap_or(0)
}

/// Seconds from now until `at` (0 when past).
fn seconds_until(at: DateTime<Utc>, max: i64) -> i32 {
    seconds((at - Utc::now()).to_std().unwrap_or(Duration::ZERO), max)
}

impl SqsQueue {
    /// Builds the client, finds (or, when allowed, creates) the three queues and the dead-letter queue.
    pub async fn connect(db: Arc<SqlStore>, config: SqsConfig) -> Result<Self, SqsError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client());
        if let Some(region) = &config.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(keys) = &config.credentials {
            let creds = Credentials::new(
                &keys.access_key_id,
                &keys.secret_access_key,
                None,
                None,
                "aiprism-static",
            );
            loader = loader.credentials_provider(SharedCredentialsProvider::new(creds));
        }
        let sdk = loader.load().await;
        // A few quick SDK retries for transient network errors and throttling; the job queue's own
        // redelivery covers anything longer. The attempt timeout leaves room for a full long poll.
        let mut builder = aws_sdk_sqs::config::Builder::from(&sdk)
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(config.wait_time + Duration::from_secs(10))
                    .build(),
            );
        if sdk.region().is_none() {
            builder = builder.region(Region::new("us-east-1"));
        }
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint.trim_end_matches('/'));
        }
        let client = Client::from_conf(builder.build());
        let dead_letter_url = queue_url(&client, &config, &config.dead_letter_queue_name(), None).await?;
        let redrive = if config.create_queues {
            let arn = queue_arn(&client, &dead_letter_url).await?;
            Some(format!(
                r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"{}"}}"#,
                config.max_receive_count
            ))
        } else {
            None
        };
        let mut urls = BTreeMap::new();
        for queue in QueueName::ALL {
            let url = queue_url(&client, &config, &config.queue_name(*queue), redrive.as_deref()).await?;
            urls.insert(*queue, url);
        }
        Ok(Self {
            db,
            client,
            urls,
            dead_letter_url,
            config,
        })
    }

    /// The SDK client (for diagnostics and tests).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The URL of a job queue's SQS queue.
    pub fn queue_url(&self, queue: QueueName) -> &str {
        self.urls.get(&queue).map_or("", String::as_str)
    }

    /// The dead-letter queue's URL.
    pub fn dead_letter_queue_url(&self) -> &str {
        &self.dead_letter_url
    }

    /// The database holding the jobs' state.
    pub fn database(&self) -> &Arc<SqlStore> {
        &self.db
    }

    /// Sends one message per job, delayed until each is due; batches of ten per queue.
    async fn send(&self, jobs: &[(JobId, QueueName, DateTime<Utc>)]) -> Result<(), SqsError> {
        for queue in QueueName::ALL {
            let mine: Vec<_> = jobs.iter().filter(|(_, q, _)| q == queue).collect();
            for chunk in mine.chunks(10) {
                let mut entries = Vec::with_capacity(chunk.len());
                for (i, (id, q, run_after)) in chunk.iter().enumerate() {
                    let body = serde_json::to_string(&Envelope {
                        job: id.as_str().into(),
                        queue: q.as_str().into(),
                    })
                    .map_err(|e| SqsError::Broker(format!("encoding a message: {e}")))?;
                    let entry = SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .delay_seconds(seconds_until(*run_after, MAX_DELAY_SECS))
                        .build()
                        .map_err(|e| SqsError::Broker(format!("building a message: {e}")))?;
                    entries.push(entry);
                }
                let out = self
                    .client
                    .send_message_batch()
                    .queue_url(self.queue_url(*queue))
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| broker("sending messages", e))?;
                if let Some(failed) = out.failed().first() {
                    return Err(SqsError::Broker(format!(
                        "{} of {} messages were not sent ({}: {})",
                        out.failed().len(),
                        chunk.len(),
                        failed.code(),
                        failed.message().unwrap_or("no message")
                    )));
                }
            }
        }
        Ok(())
    }

    /// Sends messages for freshly stored jobs. A failure is logged, not returned: the jobs are stored,
    /// and [`SqsQueue::sweep`] sends them once they have waited `stale_after`.
    async fn dispatch(&self, jobs: &[(JobId, QueueName, DateTime<Utc>)]) {
        if jobs.is_empty() {
            return;
        }
        if let Err(e) = self.send(jobs).await {
            tracing::warn!(error = %e, jobs = jobs.len(), "job queue: messages not sent; the sweeper will resend them");
        }
    }

    /// Hides a message for `secs` seconds (0 = visible now). Failures only delay the message's return,
    /// which the row's state and the sweeper make safe, so they are logged.
    async fn hide(&self, queue: QueueName, receipt: &str, secs: i32) {
        let r = self
            .client
            .change_message_visibility()
            .queue_url(self.queue_url(queue))
            .receipt_handle(receipt)
            .visibility_timeout(secs)
            .send()
            .await;
        if let Err(e) = r {
            tracing::debug!(error = %DisplayErrorContext(&e), "job queue: changing a message's visibility failed");
        }
    }

    /// Deletes a spent message; a failure only means it comes back and is recognised as spent.
    async fn delete(&self, queue: QueueName, receipt: &str) {
        let r = self
            .client
            .delete_message()
            .queue_url(self.queue_url(queue))
            .receipt_handle(receipt)
            .send()
            .await;
        if let Err(e) = r {
            tracing::debug!(error = %DisplayErrorContext(&e), "job queue: deleting a message failed");
        }
    }

    /// Turns a delivered message into a claimed job, or deals with the message and returns `None`.
    async fn take(
        &self,
        queue: QueueName,
        message: &Message,
        worker: &WorkerId,
        lease: Duration,
    ) -> QueueResult<Option<Job>> {
        let Some(receipt) = message.receipt_handle() else {
            return Ok(None);
        };
        let envelope: Option<Envelope> = message.body().and_then(|b| serde_json::from_str(b).ok());
        let Some(envelope) = envelope else {
            tracing::warn!(queue = %queue, "job queue: dropping a message that is not ours");
            self.delete(queue, receipt).await;
            return Ok(None);
        };
        match self
            .db
            .claim_job(&JobId::new(envelope.job), worker, lease)
            .await?
        {
            DirectClaim::Claimed(mut job) => {
                if let Some(lease) = job.lease.as_mut() {
                    lease.receipt = Some(receipt.to_string());
                }
                Ok(Some(*job))
            }
            DirectClaim::NotDue(at) => {
                self.hide(queue, receipt, seconds_until(at, MAX_VISIBILITY_SECS))
                    .await;
                Ok(None)
            }
            // Come back just after the other worker's lease would expire, to take over if it died.
            DirectClaim::Leased(until) => {
                self.hide(
                    queue,
                    receipt,
                    seconds_until(until, MAX_VISIBILITY_SECS).saturating_add(1),
                )
                .await;
                Ok(None)
            }
            DirectClaim::Finished | DirectClaim::Missing => {
                self.delete(queue, receipt).await;
                Ok(None)
            }
        }
    }

    /// Recovers jobs whose message may be lost: reaps expired leases, then re-sends a message for every
    /// job due for longer than `stale_after` without a dispatch. Returns how many messages were sent.
    pub async fn sweep(&self) -> QueueResult<u64> {
        self.db.reap_expired_leases().await?;
        let mut sent = 0;
        loop {
            let batch = self.db.take_undispatched(self.config.stale_after, 500).await?;
            if batch.is_empty() {
                return Ok(sent);
            }
            let jobs: Vec<_> = batch.into_iter().map(|d| (d.id, d.queue, d.run_after)).collect();
            self.send(&jobs).await?;
            sent += jobs.len() as u64;
        }
    }

    /// Runs [`SqsQueue::sweep`] every `every` until `shutdown` resolves. Every worker process may run
    /// one: concurrent sweepers skip each other's rows, and duplicate messages are harmless.
    pub async fn run_sweeper<F>(&self, every: Duration, shutdown: F)
    where
        F: std::future::Future<Output = ()> + Send,
    {
        tokio::pin!(shutdown);
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                _ = tick.tick() => match self.sweep().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(messages = n, "job queue: re-sent messages for stale jobs"),
                    Err(e) => tracing::warn!(error = %e, "job queue: sweeping failed"),
                },
            }
        }
    }
}

/// The URL of a queue, created (with the redrive policy, when given) if missing and allowed.
async fn queue_url(
    client: &Client,
    config: &SqsConfig,
    name: &str,
    redrive: Option<&str>,
) -> Result<String, SqsError> {
    match client.get_queue_url().queue_name(name).send().await {
        Ok(out) => {
            return out
                .queue_url()
                .map(str::to_string)
                .ok_or_else(|| SqsError::Broker(format!("no URL for {name}")));
        }
        Err(e) => {
            let err = broker(&format!("looking up queue {name}"), e);
            if !config.create_queues || !matches!(err, SqsError::Config(_)) {
                return Err(err);
            }
        }
    }
    let mut create = client
        .create_queue()
        .queue_name(name)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            config.visibility_timeout.as_secs().to_string(),
        )
        .attributes(
            QueueAttributeName::ReceiveMessageWaitTimeSeconds,
            config.wait_time.as_secs().to_string(),
        );
    if let Some(policy) = redrive {
        create = create.attributes(QueueAttributeName::RedrivePolicy, policy);
    }
    let out = create
        .send()
        .await
        .map_err(|e| broker(&format!("creating queue {name}"), e))?;
    tracing::info!(queue = name, "job queue: created SQS queue");
    out.queue_url()
        .map(str::to_string)
        .ok_or_else(|| SqsError::Broker(format!("no URL for new queue {name}")))
}

async fn queue_arn(client: &Client, url: &str) -> Result<String, SqsError> {
    let out = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| broker("reading the dead-letter queue's ARN", e))?;
    out.attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| SqsError::Broker("the dead-letter queue has no ARN".into()))
}

/// The delivery a lease came with: its queue and receipt handle (none for a lease read from the database).
fn delivery(lease: &Lease) -> Option<(QueueName, &str)> {
    lease.receipt.as_deref().map(|r| (lease.queue, r))
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn enqueue(&self, job: NewJob) -> QueueResult<Enqueued> {
        let mut out = self.enqueue_many(vec![job]).await?;
        out.pop()
            .ok_or_else(|| QueueError::Other("enqueue stored nothing".into()))
    }

    async fn enqueue_many(&self, jobs: Vec<NewJob>) -> QueueResult<Vec<Enqueued>> {
        let stored = self.db.enqueue_many(jobs).await?;
        let fresh: Vec<_> = stored
            .iter()
            .filter(|e| e.created)
            .map(|e| (e.job.id.clone(), e.job.queue, e.job.run_after))
            .collect();
        self.dispatch(&fresh).await;
        Ok(stored)
    }

    async fn claim(
        &self,
        queues: &[QueueName],
        worker: &WorkerId,
        lease: Duration,
        wait: Duration,
    ) -> QueueResult<Option<Job>> {
        if queues.is_empty() {
            return Err(QueueError::Conflict("a claim needs at least one queue".into()));
        }
        let deadline = tokio::time::Instant::now() + wait;
        let visibility = seconds(lease, MAX_VISIBILITY_SECS).max(1);
        let mut round = 0usize;
        loop {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            // Long-poll each queue in turn for its share of the wait (whole seconds, as SQS counts).
            let share = (remaining / u32::try_from(queues.len()).unwrap_or(1)).min(self.config.wait_time);
            let wait_secs = i32::try_from(share.as_secs()).unwrap_or(0);
            for i in 0..queues.len() {
                let queue = queues[(round + i) % queues.len()];
                let out = self
                    .client
                    .receive_message()
                    .queue_url(self.queue_url(queue))
                    .max_number_of_messages(1)
                    .wait_time_seconds(wait_secs)
                    .visibility_timeout(visibility)
                    .send()
                    .await
                    .map_err(|e| QueueError::from(broker("receiving messages", e)))?;
                for message in out.messages() {
                    if let Some(job) = self.take(queue, message, worker, lease).await? {
                        return Ok(Some(job));
                    }
                }
            }
            round = round.wrapping_add(1);
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            if wait_secs == 0 {
                tokio::time::sleep(left.min(SHORT_POLL_PAUSE)).await;
            }
        }
    }

    async fn heartbeat(&self, lease: &Lease, extend: Duration) -> QueueResult<Heartbeat> {
        let beat = self.db.heartbeat(lease, extend).await?;
        if let (Heartbeat::Held { .. }, Some((queue, receipt))) = (beat, delivery(lease)) {
            self.hide(queue, receipt, seconds(extend, MAX_VISIBILITY_SECS).max(1))
                .await;
        }
        Ok(beat)
    }

    async fn complete(&self, lease: &Lease) -> QueueResult<bool> {
        let done = self.db.complete(lease).await?;
        if done && let Some((queue, receipt)) = delivery(lease) {
            self.delete(queue, receipt).await;
        }
        Ok(done)
    }

    async fn fail(&self, lease: &Lease, error: &str, retry_in: Option<Duration>) -> QueueResult<FailOutcome> {
        let outcome = self.db.fail(lease, error, retry_in).await?;
        if let Some((queue, receipt)) = delivery(lease) {
            match outcome {
                // Keep the same message, hidden until the backoff ends; beyond SQS's limit, drop it and
                // let the sweeper send a new one when the job is due.
                FailOutcome::Retrying { at } => {
                    if (at - Utc::now()).num_seconds() < MAX_VISIBILITY_SECS {
                        self.hide(queue, receipt, seconds_until(at, MAX_VISIBILITY_SECS))
                            .await;
                    } else {
                        self.delete(queue, receipt).await;
                    }
                }
                FailOutcome::Dead | FailOutcome::Cancelled => self.delete(queue, receipt).await,
                FailOutcome::LeaseLost => {}
            }
        }
        Ok(outcome)
    }

    async fn release(&self, lease: &Lease) -> QueueResult<bool> {
        let released = self.db.release(lease).await?;
        if released && let Some((queue, receipt)) = delivery(lease) {
            self.hide(queue, receipt, 0).await;
        }
        Ok(released)
    }

    async fn cancel(&self, id: &JobId) -> QueueResult<CancelOutcome> {
        // A cancelled job's message is deleted when it is next received.
        self.db.cancel(id).await
    }

    async fn cancel_group(&self, group: &str) -> QueueResult<GroupCancelled> {
        self.db.cancel_group(group).await
    }

    async fn retry_dead(&self, id: &JobId) -> QueueResult<bool> {
        if !self.db.retry_dead(id).await? {
            return Ok(false);
        }
        if let Some(job) = self.db.job(id).await? {
            self.dispatch(&[(job.id, job.queue, job.run_after)]).await;
        }
        Ok(true)
    }

    async fn dead_jobs(&self, queue: QueueName, limit: u32) -> QueueResult<Vec<Job>> {
        self.db.dead_jobs(queue, limit).await
    }

    async fn depth(&self, queue: QueueName) -> QueueResult<QueueDepth> {
        self.db.depth(queue).await
    }

    async fn job(&self, id: &JobId) -> QueueResult<Option<Job>> {
        self.db.job(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_durations_up_to_whole_seconds_within_limits() {
        assert_eq!(seconds(Duration::from_millis(200), MAX_DELAY_SECS), 1);
        assert_eq!(seconds(Duration::from_secs(2), MAX_DELAY_SECS), 2);
        assert_eq!(seconds(Duration::ZERO, MAX_DELAY_SECS), 0);
        assert_eq!(seconds(Duration::from_secs(3600), MAX_DELAY_SECS), 900);
        assert_eq!(
            seconds_until(Utc::now() - chrono::TimeDelta::seconds(5), MAX_DELAY_SECS),
            0
        );
    }

    #[test]
    fn a_message_carries_only_the_job_id_and_queue() {
        let body = serde_json::to_string(&Envelope {
            job: "job_1".into(),
            queue: "chat".into(),
        })
        .expect("encoding");
        assert_eq!(body, r#"{"job":"job_1","queue":"chat"}"#);
    }
}
