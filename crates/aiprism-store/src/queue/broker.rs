//! What a broker-backed queue (SQS) needs from the database that keeps its jobs' state: claiming the
//! one job a message names, and finding jobs whose message may have been lost, so they can be sent
//! again. The message only ever carries a job id; the row decides whether it runs.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::sql::{JobRow, after};
use super::{Job, JobId, JobQueue, JobStatus, QueueError, QueueName, QueueResult, WorkerId};
use crate::pool::{Pool, SqlStore, map_err, on_pool};

/// What happened when a delivered message tried to claim its job.
#[derive(Debug, Clone, PartialEq)]
pub enum DirectClaim {
    /// The job is now leased to the caller.
    Claimed(Box<Job>),
    /// Queued but not due before this time (a retry's backoff): make the message reappear then.
    NotDue(DateTime<Utc>),
    /// Another worker holds its lease until this time (a duplicate delivery): make the message reappear
    /// then, so it can take over if that worker dies.
    Leased(DateTime<Utc>),
    /// Done, dead or cancelled: the message is spent.
    Finished,
    /// No such job (pruned, or a foreign message): the message is spent.
    Missing,
}

/// A job a broker should be told about (again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatch {
    /// The job.
    pub id: JobId,
    /// Its queue.
    pub queue: QueueName,
    /// When it becomes due.
    pub run_after: DateTime<Utc>,
}

const CLAIM_ONE: &str = concat!(
    "UPDATE jobs SET status = 'running', attempts = attempts + 1, worker_id = $1, lease_token = $2, \
       lease_until = $3, started_at = $4, \
       last_error = CASE WHEN status = 'running' \
         THEN 'lease expired: worker ' || COALESCE(worker_id, '?') || ' stopped heartbeating' \
         ELSE last_error END \
     WHERE id = $5 AND ((status = 'queued' AND run_after <= $4) \
       OR (status = 'running' AND lease_until < $4 AND attempts < max_attempts AND NOT cancel_requested)) \
     RETURNING ",
    super::statements::job_columns!()
);

macro_rules! take_undispatched_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE jobs SET dispatched_at = $1 WHERE id IN (SELECT id FROM jobs \
               WHERE status = 'queued' AND run_after <= $2 AND (dispatched_at IS NULL OR dispatched_at <= $2) \
               ORDER BY run_after LIMIT $3",
            $lock,
            ") RETURNING id, queue, run_after"
        )
    };
}

impl SqlStore {
    /// Claims the job a broker message names, if it may run now; otherwise says when the message should
    /// come back, or that it is spent. A running job whose lease expired is taken over (its attempt
    /// counts), or buried when it has no attempts left.
    pub async fn claim_job(
        &self,
        id: &JobId,
        worker: &WorkerId,
        lease: Duration,
    ) -> QueueResult<DirectClaim> {
        let now = Utc::now();
        let token = uuid::Uuid::now_v7().simple().to_string();
        let row: Result<Option<JobRow>, sqlx::Error> = on_pool!(&self.pool, |p| {
            sqlx::query_as(CLAIM_ONE)
                .bind(worker.as_str())
                .bind(&token)
                .bind(after(now, lease))
                .bind(now)
                .bind(id.as_str())
                .fetch_optional(p)
                .await
        });
        if let Some(row) = row.map_err(map_err)? {
            return Ok(DirectClaim::Claimed(Box::new(row.into_job()?)));
        }
        let Some(job) = self.job(id).await? else {
            return Ok(DirectClaim::Missing);
        };
        Ok(match job.status {
            JobStatus::Queued => DirectClaim::NotDue(job.run_after),
            JobStatus::Running => match job.lease {
                Some(lease) if lease.until >= now => DirectClaim::Leased(lease.until),
                // Expired with no attempts left (or cancelled): settle it now.
                _ => {
                    self.reap_expired_leases().await?;
                    DirectClaim::Finished
                }
            },
            JobStatus::Done | JobStatus::Dead | JobStatus::Cancelled => DirectClaim::Finished,
        })
    }

    /// Queued jobs that have been due for at least `stale_after` without being (re)dispatched in that
    /// time, marked as dispatched now: the broker's copy of them may be lost (a send that failed after
    /// the row was committed, a message moved to the dead-letter queue, a lease reaped). Sending them
    /// again is safe: a duplicate message finds its job running or finished and is dropped.
    pub async fn take_undispatched(&self, stale_after: Duration, limit: u32) -> QueueResult<Vec<Dispatch>> {
        let now = Utc::now();
        let cutoff = now - chrono::TimeDelta::from_std(stale_after).unwrap_or(chrono::TimeDelta::zero());
        let rows: Result<Vec<(String, String, DateTime<Utc>)>, sqlx::Error> = match &self.pool {
            Pool::Sqlite(p) => {
                sqlx::query_as(take_undispatched_sql!(""))
                    .bind(now)
                    .bind(cutoff)
                    .bind(i64::from(limit))
                    .fetch_all(p)
                    .await
            }
            Pool::Postgres(p) => {
                sqlx::query_as(take_undispatched_sql!(" FOR UPDATE SKIP LOCKED"))
                    .bind(now)
                    .bind(cutoff)
                    .bind(i64::from(limit))
                    .fetch_all(p)
                    .await
            }
        };
        rows.map_err(map_err)?
            .into_iter()
            .map(|(id, queue, run_after)| {
                let queue = queue
                    .parse()
                    .map_err(|e| QueueError::Corrupt(format!("job {id}: {e}")))?;
                Ok(Dispatch {
                    id: JobId::new(id),
                    queue,
                    run_after,
                })
            })
            .collect()
    }

    /// Deletes finished (done or cancelled) jobs that ended before `before`; dead jobs stay until an
    /// operator deals with them. Returns how many were deleted.
    pub async fn prune_finished_jobs(&self, before: DateTime<Utc>) -> QueueResult<u64> {
        let sql = "DELETE FROM jobs WHERE status IN ('done', 'cancelled') AND finished_at < $1";
        let r = on_pool!(&self.pool, |p| sqlx::query(sql)
            .bind(before)
            .execute(p)
            .await
            .map(|d| d.rows_affected()));
        Ok(r.map_err(map_err)?)
    }
}
