//! The queue's SQL text. Each statement is written once for both databases where they agree; where they
//! must differ (PostgreSQL's `FOR UPDATE SKIP LOCKED` and asynchronous commit), a macro assembles the
//! two variants from the same parts, so they cannot drift apart.

/// Columns every job query selects, in `JobRow` order.
macro_rules! job_columns {
    () => {
        "id, queue, kind, payload, status, priority, run_after, attempts, max_attempts, dedup_key, group_key, \
         cancel_requested, worker_id, lease_token, lease_until, last_error, created_at, started_at, finished_at"
    };
}

pub(super) use job_columns;

pub(super) const INSERT_JOB: &str = concat!(
    "INSERT INTO jobs (id, queue, kind, payload, status, priority, run_after, attempts, max_attempts, \
       dedup_key, group_key, cancel_requested, created_at) \
     VALUES ($1, $2, $3, $4, 'queued', $5, $6, 0, $7, $8, $9, FALSE, $10) \
     ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL AND status IN ('queued', 'running') DO NOTHING \
     RETURNING ",
    job_columns!()
);

pub(super) const LIVE_BY_DEDUP_KEY: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM jobs WHERE dedup_key = $1 AND status IN ('queued', 'running')"
);

pub(super) const NOTIFY: &str = "SELECT pg_notify($1, $2)";

/// The best due job of the queue bound at `$n`: one equality on `queue`, so both databases walk the
/// claim index (queue, priority DESC, run_after, id) in order and stop at the first row, instead of
/// sorting the backlog (an `IN` list defeats the ordered scan). `$lock` is `FOR UPDATE SKIP LOCKED` on
/// PostgreSQL, so concurrent claimers pass over each other's rows instead of queueing on them.
macro_rules! best_of {
    ($columns:literal, $n:literal, $lock:literal) => {
        concat!(
            "SELECT ",
            $columns,
            " FROM jobs WHERE status = 'queued' AND queue = ",
            $n,
            " AND run_after <= $4 ORDER BY priority DESC, run_after, id LIMIT 1",
            $lock
        )
    };
}

/// Leases the job `$pick` selects to worker `$1` with token `$2` until `$3`; `$4` is now. `$from` is
/// `pg_relaxed_from!()` on PostgreSQL.
macro_rules! claim_sql {
    ($from:expr, $pick:expr) => {
        concat!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, worker_id = $1, lease_token = $2, \
               lease_until = $3, started_at = $4",
            $from,
            " WHERE id = (",
            $pick,
            ") RETURNING ",
            job_columns!()
        )
    };
}

/// Claims from several queues: the best of each queue's best, so priority still orders across them.
macro_rules! claim_many_sql {
    ($from:expr, $lock:literal) => {
        claim_sql!(
            $from,
            concat!(
                "SELECT id FROM (SELECT * FROM (",
                best_of!("id, priority, run_after", "$5", $lock),
                ") b5 UNION ALL SELECT * FROM (",
                best_of!("id, priority, run_after", "$6", $lock),
                ") b6 UNION ALL SELECT * FROM (",
                best_of!("id, priority, run_after", "$7", $lock),
                ") b7) c ORDER BY priority DESC, run_after, id LIMIT 1"
            )
        )
    };
}

/// Makes a single PostgreSQL statement commit asynchronously (see [`PG_BEGIN_RELAXED`] for why that is
/// safe for these statements): `set_config(..., true)` is transaction-local, and a lone statement is its
/// own transaction, so this costs one round trip where `BEGIN; SET LOCAL ...; COMMIT` would cost three.
macro_rules! pg_relaxed_from {
    () => {
        " FROM (SELECT set_config('synchronous_commit', 'off', true)) AS relaxed"
    };
}

pub(super) const CLAIM_ONE_SQLITE: &str = claim_sql!("", best_of!("id", "$5", ""));
pub(super) const CLAIM_ONE_PG: &str = claim_sql!(
    pg_relaxed_from!(),
    best_of!("id", "$5", " FOR UPDATE SKIP LOCKED")
);
pub(super) const CLAIM_MANY_SQLITE: &str = claim_many_sql!("", "");
pub(super) const CLAIM_MANY_PG: &str = claim_many_sql!(pg_relaxed_from!(), " FOR UPDATE SKIP LOCKED");

/// Requeues (or buries, when out of attempts) running jobs whose lease expired: their worker died or
/// stalled. The attempt they used counts.
macro_rules! reap_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE jobs SET \
               status = CASE WHEN cancel_requested THEN 'cancelled' \
                             WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
               finished_at = CASE WHEN cancel_requested OR attempts >= max_attempts THEN $1 ELSE NULL END, \
               last_error = 'lease expired: worker ' || COALESCE(worker_id, '?') || ' stopped heartbeating', \
               lease_token = NULL, lease_until = NULL, run_after = $1 \
             WHERE id IN (SELECT id FROM jobs WHERE status = 'running' AND lease_until < $1",
            $lock,
            ") RETURNING queue"
        )
    };
}
/// How PostgreSQL transactions that only move a job between workers begin: with asynchronous commit, so
/// they do not each wait for a WAL flush (a commit then costs a round trip, not a disk sync; under disk
/// contention that is the difference between hundreds and thousands of jobs a second). What a database
/// crash can lose is the last fraction of a second of claims, completions, failures and releases, and each
/// loss only makes a job run again (a lost claim or completion) or sooner (a lost failure): at-least-once
/// holds, and handlers are idempotent. Enqueues, cancellations and heartbeats keep synchronous commits,
/// since losing those would lose a job or a decision. (SQLite in WAL mode with `synchronous = NORMAL`
/// already commits without a sync.)
pub(super) const PG_BEGIN_RELAXED: &str = "BEGIN; SET LOCAL synchronous_commit = off";

pub(super) const REAP_SQLITE: &str = reap_sql!("");
pub(super) const REAP_PG: &str = reap_sql!(" FOR UPDATE SKIP LOCKED");

/// Marks a leased job done, or cancelled when a cancellation was requested while it ran (its handler
/// most likely stopped early). `$from` is `pg_relaxed_from!()` on PostgreSQL.
macro_rules! complete_sql {
    ($from:expr) => {
        concat!(
            "UPDATE jobs SET status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'done' END, \
               finished_at = $1, lease_token = NULL, lease_until = NULL",
            $from,
            " WHERE id = $2 AND lease_token = $3 AND status = 'running'"
        )
    };
}
pub(super) const COMPLETE_SQLITE: &str = complete_sql!("");
pub(super) const COMPLETE_PG: &str = complete_sql!(pg_relaxed_from!());

/// Records a failure: queued again at `$5` when `$4` (retry) and attempts remain, cancelled when a
/// cancellation was requested, dead otherwise.
pub(super) const FAIL: &str = "UPDATE jobs SET \
       status = CASE WHEN cancel_requested THEN 'cancelled' \
                     WHEN $4 AND attempts < max_attempts THEN 'queued' ELSE 'dead' END, \
       run_after = CASE WHEN NOT cancel_requested AND $4 AND attempts < max_attempts THEN $5 ELSE run_after END, \
       finished_at = CASE WHEN NOT cancel_requested AND $4 AND attempts < max_attempts THEN NULL ELSE $1 END, \
       last_error = $6, lease_token = NULL, lease_until = NULL \
     WHERE id = $2 AND lease_token = $3 AND status = 'running' \
     RETURNING status, run_after, queue";

/// Gives a job back without using an attempt; claimable at once (`run_after` = now).
pub(super) const RELEASE: &str = "UPDATE jobs SET \
       status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'queued' END, \
       attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, \
       finished_at = CASE WHEN cancel_requested THEN $1 ELSE NULL END, \
       run_after = $1, lease_token = NULL, lease_until = NULL \
     WHERE id = $2 AND lease_token = $3 AND status = 'running' \
     RETURNING status, run_after, queue";

/// Cancels queued jobs and flags running ones; the `WHERE` is appended per use.
macro_rules! cancel_sql {
    ($filter:literal) => {
        concat!(
            "UPDATE jobs SET \
               status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END, \
               cancel_requested = CASE WHEN status = 'running' THEN TRUE ELSE cancel_requested END, \
               finished_at = CASE WHEN status = 'queued' THEN $1 ELSE finished_at END \
             WHERE ",
            $filter,
            " AND status IN ('queued', 'running') RETURNING status"
        )
    };
}
pub(super) use cancel_sql;
