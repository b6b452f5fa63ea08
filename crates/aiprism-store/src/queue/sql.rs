//! The database backend of [`JobQueue`], on [`SqlStore`] itself, so the application hands one
//! `Arc<SqlStore>` out as both its `Store` and its `JobQueue`.
//!
//! Both backends run the same statements except where they must differ: PostgreSQL claims and reaps with
//! `FOR UPDATE SKIP LOCKED` (concurrent claimers skip each other's rows instead of queueing on them) and
//! notifies waiters with `pg_notify` inside the writing transaction; SQLite takes the write lock up front
//! (`BEGIN IMMEDIATE`, one writer at a time, so no skipping is needed) and wakes waiters in-process.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use super::statements::*;
use super::wake::{self, Hub, SQLITE_POLL};
use super::{
    CancelOutcome, Enqueued, FailOutcome, GroupCancelled, Heartbeat, Job, JobId, JobQueue, JobStatus, Lease,
    NewJob, QueueDepth, QueueError, QueueName, QueueResult, WorkerId,
};
use crate::pool::{Backend, Pool, SqlStore, map_err, on_pool};

/// A stored point in time.
type Timestamp = DateTime<Utc>;

#[derive(sqlx::FromRow)]
pub(super) struct JobRow {
    id: String,
    queue: String,
    kind: String,
    payload: String,
    status: String,
    priority: i32,
    run_after: DateTime<Utc>,
    attempts: i32,
    max_attempts: i32,
    dedup_key: Option<String>,
    group_key: Option<String>,
    cancel_requested: bool,
    worker_id: Option<String>,
    lease_token: Option<String>,
    lease_until: Option<DateTime<Utc>>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

impl JobRow {
    pub(super) fn into_job(self) -> QueueResult<Job> {
        let corrupt = |what: &str, e: &dyn std::fmt::Display| {
            QueueError::Corrupt(format!("job {}: {what}: {e}", self.id))
        };
        let queue: QueueName = self.queue.parse().map_err(|e| corrupt("queue", &e))?;
        let status: JobStatus = self.status.parse().map_err(|e| corrupt("status", &e))?;
        let payload = serde_json::from_str(&self.payload).map_err(|e| corrupt("payload", &e))?;
        let worker_id = self.worker_id.map(WorkerId::new);
        let lease = match (status, &worker_id, self.lease_token, self.lease_until) {
            (JobStatus::Running, Some(worker), Some(token), Some(until)) => Some(Lease {
                job_id: JobId::new(self.id.clone()),
                queue,
                worker_id: worker.clone(),
                token,
                until,
                receipt: None,
            }),
            _ => None,
        };
        Ok(Job {
            id: JobId::new(self.id),
            queue,
            kind: self.kind,
            payload,
            status,
            priority: self.priority,
            run_after: self.run_after,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            max_attempts: u32::try_from(self.max_attempts).unwrap_or(1),
            dedup_key: self.dedup_key,
            group: self.group_key,
            cancel_requested: self.cancel_requested,
            lease,
            worker_id,
            last_error: self.last_error,
            created_at: self.created_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
        })
    }
}

/// `now + d`, saturating instead of overflowing for absurd durations.
pub(super) fn after(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    let delta = TimeDelta::from_std(d).unwrap_or(TimeDelta::days(36_500));
    now.checked_add_signed(delta).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The queue list of a claim as three bind values (`queue IN ($a, $b, $c)` works on both backends where
/// arrays do not); shorter lists repeat their first queue.
pub(super) fn queue_binds(queues: &[QueueName]) -> QueueResult<[&'static str; 3]> {
    let first = queues
        .first()
        .ok_or_else(|| QueueError::Conflict("a claim needs at least one queue".into()))?;
    let mut binds = [first.as_str(); 3];
    let mut distinct: Vec<QueueName> = queues.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    for (slot, q) in binds.iter_mut().zip(distinct) {
        *slot = q.as_str();
    }
    Ok(binds)
}

/// The earliest `run_after` of the queued jobs and the earliest lease expiry of the running jobs of
/// some queues: when a waiting claimer should look again.
struct NextDue {
    queued: Option<Timestamp>,
    leased: Option<Timestamp>,
}

impl NextDue {
    fn earliest(&self) -> Option<Timestamp> {
        match (self.queued, self.leased) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl SqlStore {
    /// This database's wake-up hub (shared by every store on the same database in this process).
    pub(super) fn hub(&self) -> std::sync::Arc<Hub> {
        let key = match &self.pool {
            Pool::Sqlite(p) => format!("sqlite:{}", p.connect_options().get_filename().display()),
            Pool::Postgres(p) => {
                let o = p.connect_options();
                format!(
                    "pg:{}@{}:{}/{}",
                    o.get_username(),
                    o.get_host(),
                    o.get_port(),
                    o.get_database().unwrap_or_default()
                )
            }
        };
        wake::hub(key)
    }

    /// Wakes this process's SQLite waiters after a commit (PostgreSQL waiters hear `pg_notify`).
    pub(super) fn wake_local(&self, queues: impl IntoIterator<Item = QueueName>) {
        if let Pool::Sqlite(_) = self.pool {
            let hub = self.hub();
            for q in queues {
                hub.bump(q);
            }
        }
    }

    /// Requeues running jobs whose lease expired (or marks them dead when out of attempts); returns how
    /// many. Claims do this in passing; broker backends call it from their sweeper.
    pub async fn reap_expired_leases(&self) -> QueueResult<u64> {
        let now = Utc::now();
        let queues: Result<Vec<String>, sqlx::Error> = match &self.pool {
            Pool::Sqlite(p) => sqlx::query_scalar(REAP_SQLITE).bind(now).fetch_all(p).await,
            Pool::Postgres(p) => sqlx::query_scalar(REAP_PG).bind(now).fetch_all(p).await,
        };
        let queues = queues.map_err(map_err)?;
        let parsed: Vec<QueueName> = queues.iter().filter_map(|q| q.parse().ok()).collect();
        self.wake_local(parsed);
        Ok(queues.len() as u64)
    }

    /// One claim attempt, without waiting.
    async fn try_claim(
        &self,
        queues: &[QueueName],
        worker: &WorkerId,
        lease: Duration,
    ) -> QueueResult<Option<Job>> {
        let binds = queue_binds(queues)?;
        let single = binds.iter().all(|q| *q == binds[0]);
        let now = Utc::now();
        let until = after(now, lease);
        let token = uuid::Uuid::now_v7().simple().to_string();
        let reap = self.hub().reap_due(now.timestamp_millis());
        let row: Result<Option<JobRow>, sqlx::Error> = match &self.pool {
            Pool::Sqlite(p) => {
                async {
                    let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                    if reap {
                        sqlx::query(REAP_SQLITE).bind(now).execute(&mut *tx).await?;
                    }
                    let sql = if single {
                        CLAIM_ONE_SQLITE
                    } else {
                        CLAIM_MANY_SQLITE
                    };
                    let mut query = sqlx::query_as(sql)
                        .bind(worker.as_str())
                        .bind(&token)
                        .bind(until)
                        .bind(now)
                        .bind(binds[0]);
                    if !single {
                        query = query.bind(binds[1]).bind(binds[2]);
                    }
                    let row = query.fetch_optional(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(row)
                }
                .await
            }
            Pool::Postgres(p) => {
                async {
                    if reap {
                        sqlx::query(REAP_PG).bind(now).execute(p).await?;
                    }
                    let sql = if single { CLAIM_ONE_PG } else { CLAIM_MANY_PG };
                    let mut query = sqlx::query_as(sql)
                        .bind(worker.as_str())
                        .bind(&token)
                        .bind(until)
                        .bind(now)
                        .bind(binds[0]);
                    if !single {
                        query = query.bind(binds[1]).bind(binds[2]);
                    }
                    query.fetch_optional(p).await
                }
                .await
            }
        };
        row.map_err(map_err)?.map(JobRow::into_job).transpose()
    }

    /// When something may next become claimable in these queues.
    async fn next_due(&self, queues: &[QueueName]) -> QueueResult<NextDue> {
        let binds = queue_binds(queues)?;
        // Per-queue minimums (an equality on queue each, which the claim index serves).
        let queued = "SELECT MIN(t) FROM ( \
             SELECT (SELECT MIN(run_after) FROM jobs WHERE status = 'queued' AND queue = $1) AS t \
             UNION ALL SELECT (SELECT MIN(run_after) FROM jobs WHERE status = 'queued' AND queue = $2) \
             UNION ALL SELECT (SELECT MIN(run_after) FROM jobs WHERE status = 'queued' AND queue = $3)) m";
        let leased = "SELECT MIN(lease_until) FROM jobs WHERE status = 'running' AND queue IN ($1, $2, $3)";
        let r: Result<(Option<Timestamp>, Option<Timestamp>), sqlx::Error> = on_pool!(&self.pool, |p| {
            async {
                let a = sqlx::query_scalar(queued)
                    .bind(binds[0])
                    .bind(binds[1])
                    .bind(binds[2])
                    .fetch_one(p)
                    .await?;
                let b = sqlx::query_scalar(leased)
                    .bind(binds[0])
                    .bind(binds[1])
                    .bind(binds[2])
                    .fetch_one(p)
                    .await?;
                Ok((a, b))
            }
            .await
        });
        let (queued, leased) = r.map_err(map_err)?;
        Ok(NextDue { queued, leased })
    }

    /// Inserts jobs in one transaction (dedup handled per job) and wakes waiters after the commit.
    async fn insert_jobs(&self, jobs: Vec<NewJob>) -> QueueResult<Vec<Enqueued>> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let now = Utc::now();
        let mut encoded = Vec::with_capacity(jobs.len());
        for job in &jobs {
            let payload = serde_json::to_string(&job.payload)
                .map_err(|e| QueueError::Payload(format!("encoding job {}: {e}", job.id)))?;
            let max_attempts = i32::try_from(job.max_attempts.max(1)).unwrap_or(i32::MAX);
            encoded.push((job, payload, job.run_after.unwrap_or(now), max_attempts));
        }
        let pg = self.backend_kind() == Backend::Postgres;
        let begin = if pg { "BEGIN" } else { "BEGIN IMMEDIATE" };
        let mut queues: Vec<QueueName> = jobs.iter().map(|j| j.queue).collect();
        queues.sort_unstable();
        queues.dedup();
        let rows: Result<Vec<(JobRow, bool)>, sqlx::Error> = on_pool!(&self.pool, |p| {
            async {
                let mut tx = p.begin_with(begin).await?;
                let mut out = Vec::with_capacity(encoded.len());
                for (job, payload, run_after, max_attempts) in &encoded {
                    // Between a dedup hit and reading the live job, that job may finish; then insert again.
                    let mut found = None;
                    for _ in 0..3 {
                        let inserted: Option<JobRow> = sqlx::query_as(INSERT_JOB)
                            .bind(job.id.as_str())
                            .bind(job.queue.as_str())
                            .bind(&job.kind)
                            .bind(payload)
                            .bind(job.priority)
                            .bind(*run_after)
                            .bind(*max_attempts)
                            .bind(job.dedup_key.as_deref())
                            .bind(job.group.as_deref())
                            .bind(now)
                            .fetch_optional(&mut *tx)
                            .await?;
                        if let Some(row) = inserted {
                            found = Some((row, true));
                            break;
                        }
                        let existing: Option<JobRow> = sqlx::query_as(LIVE_BY_DEDUP_KEY)
                            .bind(job.dedup_key.as_deref())
                            .fetch_optional(&mut *tx)
                            .await?;
                        if let Some(row) = existing {
                            found = Some((row, false));
                            break;
                        }
                    }
                    match found {
                        Some(f) => out.push(f),
                        None => return Err(sqlx::Error::RowNotFound),
                    }
                }
                if pg {
                    for q in &queues {
                        sqlx::query(NOTIFY)
                            .bind(wake::CHANNEL)
                            .bind(q.as_str())
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
                Ok(out)
            }
            .await
        });
        let rows = rows.map_err(|e| match e {
            sqlx::Error::RowNotFound => {
                QueueError::Conflict("a dedup key kept changing hands; try again".into())
            }
            e => map_err(e).into(),
        })?;
        self.wake_local(queues);
        rows.into_iter()
            .map(|(row, created)| {
                Ok(Enqueued {
                    job: row.into_job()?,
                    created,
                })
            })
            .collect()
    }

    /// Runs a statement that moves one leased job (`$1` now, `$2` id, `$3` lease token, and for a
    /// failure `$4` retry?, `$5` retry time, `$6` error) and returns its new status, `run_after` and
    /// queue, or `None` when the lease no longer matches. Wakes waiters when the job is queued again.
    async fn leased_update(
        &self,
        sql: &'static str,
        lease: &Lease,
        failure: Option<(bool, DateTime<Utc>, &str)>,
    ) -> QueueResult<Option<(JobStatus, DateTime<Utc>)>> {
        let pg = self.backend_kind() == Backend::Postgres;
        let begin = if pg { PG_BEGIN_RELAXED } else { "BEGIN IMMEDIATE" };
        let now = Utc::now();
        let row: Result<Option<(String, DateTime<Utc>, String)>, sqlx::Error> = on_pool!(&self.pool, |p| {
            async {
                let mut tx = p.begin_with(begin).await?;
                let mut query = sqlx::query_as(sql)
                    .bind(now)
                    .bind(lease.job_id.as_str())
                    .bind(&lease.token);
                if let Some((retry, at, error)) = failure {
                    query = query.bind(retry).bind(at).bind(error);
                }
                let row: Option<(String, DateTime<Utc>, String)> = query.fetch_optional(&mut *tx).await?;
                if pg
                    && let Some((status, _, queue)) = &row
                    && status == JobStatus::Queued.as_str()
                {
                    sqlx::query(NOTIFY)
                        .bind(wake::CHANNEL)
                        .bind(queue)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(row)
            }
            .await
        });
        let Some((status, run_after, queue)) = row.map_err(map_err)? else {
            return Ok(None);
        };
        let status: JobStatus = status.parse().map_err(|e| QueueError::Corrupt(format!("{e}")))?;
        if status == JobStatus::Queued
            && let Ok(queue) = queue.parse()
        {
            self.wake_local([queue]);
        }
        Ok(Some((status, run_after)))
    }
}

#[async_trait]
impl JobQueue for SqlStore {
    async fn enqueue(&self, job: NewJob) -> QueueResult<Enqueued> {
        let mut out = self.insert_jobs(vec![job]).await?;
        out.pop()
            .ok_or_else(|| QueueError::Other("enqueue stored nothing".into()))
    }

    async fn enqueue_many(&self, jobs: Vec<NewJob>) -> QueueResult<Vec<Enqueued>> {
        self.insert_jobs(jobs).await
    }

    async fn claim(
        &self,
        queues: &[QueueName],
        worker: &WorkerId,
        lease: Duration,
        wait: Duration,
    ) -> QueueResult<Option<Job>> {
        // Fast path: under load there is work, and no need to set up waiting.
        if let Some(job) = self.try_claim(queues, worker, lease).await? {
            return Ok(Some(job));
        }
        if wait.is_zero() {
            return Ok(None);
        }
        let deadline = tokio::time::Instant::now() + wait;
        let hub = self.hub();
        let poll = match &self.pool {
            Pool::Sqlite(_) => SQLITE_POLL,
            Pool::Postgres(p) => hub.ensure_listening(p).await,
        };
        // Subscribe before looking, so a job enqueued between the look and the wait still wakes us.
        let mut waiter = hub.subscribe(queues);
        loop {
            let now = Utc::now();
            let next = self.next_due(queues).await?;
            let mut nap = deadline.saturating_duration_since(tokio::time::Instant::now());
            if let Some(at) = next.earliest() {
                if at <= now {
                    // A lease we saw expire: take it back now rather than at the next periodic reap.
                    if next.leased.is_some_and(|l| l < now) {
                        self.reap_expired_leases().await?;
                    }
                    if let Some(job) = self.try_claim(queues, worker, lease).await? {
                        return Ok(Some(job));
                    }
                    // Due but taken by someone else (or a lease just expired and awaits reaping): look
                    // again shortly rather than spin.
                    nap = nap.min(Duration::from_millis(20));
                } else {
                    nap = nap.min((at - now).to_std().unwrap_or(Duration::ZERO) + Duration::from_millis(1));
                }
            }
            if nap.is_zero() {
                return Ok(None);
            }
            waiter.wait(nap.min(poll)).await;
            if tokio::time::Instant::now() >= deadline {
                // One last look, so a job that arrived exactly at the deadline is not left waiting.
                return self.try_claim(queues, worker, lease).await;
            }
        }
    }

    async fn heartbeat(&self, lease: &Lease, extend: Duration) -> QueueResult<Heartbeat> {
        let until = after(Utc::now(), extend);
        let sql = "UPDATE jobs SET lease_until = $1 \
                   WHERE id = $2 AND lease_token = $3 AND status = 'running' RETURNING cancel_requested";
        let r: Result<Option<bool>, sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query_scalar(sql)
                .bind(until)
                .bind(lease.job_id.as_str())
                .bind(&lease.token)
                .fetch_optional(p)
                .await
        });
        Ok(match r.map_err(map_err)? {
            Some(cancel_requested) => Heartbeat::Held {
                until,
                cancel_requested,
            },
            None => Heartbeat::Lost,
        })
    }

    async fn complete(&self, lease: &Lease) -> QueueResult<bool> {
        // One statement, no wake-up to send: the hot path of every job.
        let sql = match self.pool {
            Pool::Sqlite(_) => COMPLETE_SQLITE,
            Pool::Postgres(_) => COMPLETE_PG,
        };
        let r = on_pool!(&self.pool, |p| sqlx::query(sql)
            .bind(Utc::now())
            .bind(lease.job_id.as_str())
            .bind(&lease.token)
            .execute(p)
            .await
            .map(|done| done.rows_affected()));
        Ok(r.map_err(map_err)? == 1)
    }

    async fn fail(&self, lease: &Lease, error: &str, retry_in: Option<Duration>) -> QueueResult<FailOutcome> {
        let retry_at = after(Utc::now(), retry_in.unwrap_or_default());
        let failure = Some((retry_in.is_some(), retry_at, error));
        Ok(match self.leased_update(FAIL, lease, failure).await? {
            None => FailOutcome::LeaseLost,
            Some((JobStatus::Queued, at)) => FailOutcome::Retrying { at },
            Some((JobStatus::Cancelled, _)) => FailOutcome::Cancelled,
            Some(_) => FailOutcome::Dead,
        })
    }

    async fn release(&self, lease: &Lease) -> QueueResult<bool> {
        Ok(self.leased_update(RELEASE, lease, None).await?.is_some())
    }

    async fn cancel(&self, id: &JobId) -> QueueResult<CancelOutcome> {
        let sql = cancel_sql!("id = $2");
        let r: Result<Option<String>, sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query_scalar(sql)
                .bind(Utc::now())
                .bind(id.as_str())
                .fetch_optional(p)
                .await
        });
        match r.map_err(map_err)?.as_deref() {
            Some("cancelled") => Ok(CancelOutcome::Cancelled),
            Some(_) => Ok(CancelOutcome::Requested),
            None => Ok(match self.job(id).await? {
                Some(_) => CancelOutcome::AlreadyFinished,
                None => CancelOutcome::NotFound,
            }),
        }
    }

    async fn cancel_group(&self, group: &str) -> QueueResult<GroupCancelled> {
        let sql = cancel_sql!("group_key = $2");
        let r: Result<Vec<String>, sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query_scalar(sql)
                .bind(Utc::now())
                .bind(group)
                .fetch_all(p)
                .await
        });
        let statuses = r.map_err(map_err)?;
        let cancelled = statuses.iter().filter(|s| *s == "cancelled").count() as u64;
        Ok(GroupCancelled {
            cancelled,
            requested: statuses.len() as u64 - cancelled,
        })
    }

    async fn retry_dead(&self, id: &JobId) -> QueueResult<bool> {
        let pg = self.backend_kind() == Backend::Postgres;
        let sql = "UPDATE jobs SET status = 'queued', attempts = 0, run_after = $1, finished_at = NULL, \
                     cancel_requested = FALSE, worker_id = NULL, dispatched_at = NULL \
                   WHERE id = $2 AND status = 'dead' RETURNING queue";
        let r: Result<Option<String>, sqlx::Error> = on_pool!(&self.pool, |p| {
            async {
                let mut tx = p.begin().await?;
                let queue: Option<String> = sqlx::query_scalar(sql)
                    .bind(Utc::now())
                    .bind(id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                if pg && let Some(q) = &queue {
                    sqlx::query(NOTIFY)
                        .bind(wake::CHANNEL)
                        .bind(q)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(queue)
            }
            .await
        });
        let Some(queue) = r.map_err(map_err)? else {
            return Ok(false);
        };
        if let Ok(q) = queue.parse() {
            self.wake_local([q]);
        }
        Ok(true)
    }

    async fn dead_jobs(&self, queue: QueueName, limit: u32) -> QueueResult<Vec<Job>> {
        let sql = concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs WHERE queue = $1 AND status = 'dead' ORDER BY finished_at DESC, id DESC LIMIT $2"
        );
        let rows: Result<Vec<JobRow>, sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query_as(sql)
                .bind(queue.as_str())
                .bind(i64::from(limit))
                .fetch_all(p)
                .await
        });
        rows.map_err(map_err)?.into_iter().map(JobRow::into_job).collect()
    }

    async fn depth(&self, queue: QueueName) -> QueueResult<QueueDepth> {
        // One count per partial index (claimable, leased, dead), so counting never scans finished jobs.
        let sql = "SELECT \
             (SELECT COUNT(*) FROM jobs WHERE status = 'queued' AND queue = $1 AND run_after <= $2), \
             (SELECT COUNT(*) FROM jobs WHERE status = 'queued' AND queue = $1 AND run_after > $2), \
             (SELECT COUNT(*) FROM jobs WHERE status = 'running' AND queue = $1), \
             (SELECT COUNT(*) FROM jobs WHERE status = 'dead' AND queue = $1)";
        let r: Result<(i64, i64, i64, i64), sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query_as(sql)
                .bind(queue.as_str())
                .bind(Utc::now())
                .fetch_one(p)
                .await
        });
        let (queued, scheduled, running, dead) = r.map_err(map_err)?;
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(QueueDepth {
            queue,
            queued: n(queued),
            scheduled: n(scheduled),
            running: n(running),
            dead: n(dead),
        })
    }

    async fn job(&self, id: &JobId) -> QueueResult<Option<Job>> {
        let sql = concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = $1");
        let row: Result<Option<JobRow>, sqlx::Error> = on_pool!(&self.pool, |p| sqlx::query_as(sql)
            .bind(id.as_str())
            .fetch_optional(p)
            .await);
        row.map_err(map_err)?.map(JobRow::into_job).transpose()
    }
}
