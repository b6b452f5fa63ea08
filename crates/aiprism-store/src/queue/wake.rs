//! Waking waiting claimers: the process's notification bus for each database.
//!
//! A claimer with nothing to do waits on a [`Hub`], one per database per process, found by the
//! database's identity (the SQLite file, or the PostgreSQL server + database). Why a registry rather
//! than a field of `SqlStore`: every `SqlStore` (and every pool) on the same database must share one bus,
//! exactly as every connection to a PostgreSQL database shares its NOTIFY channel, so a job enqueued
//! through one store wakes a worker waiting through another.
//!
//! - SQLite: an enqueue, release or retry bumps the hub directly after committing. Other processes
//!   cannot reach it, so waiters also poll, cheaply (a read, no write lock), every
//!   [`SQLITE_POLL`].
//! - PostgreSQL: one background task per hub LISTENs on [`CHANNEL`] and bumps the hub for each
//!   notification; writers `pg_notify` inside their transaction, so a wake-up never precedes the commit.
//!   A long safety poll covers a listener reconnect (which may lose notifications, and bumps every queue
//!   when it happens anyway).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::watch;

use super::QueueName;

/// The PostgreSQL notification channel; the payload is the queue name.
pub(crate) const CHANNEL: &str = "aiprism_jobs";

/// How often an SQLite waiter looks for jobs enqueued by other processes (within the 250 ms pickup
/// target with room for the claim itself).
pub(crate) const SQLITE_POLL: Duration = Duration::from_millis(100);

/// How often a PostgreSQL waiter looks even without a notification: only a safety net for
/// notifications lost while the listener reconnected.
pub(crate) const PG_SAFETY_POLL: Duration = Duration::from_secs(10);

/// How often a PostgreSQL waiter polls while its listener cannot connect.
pub(crate) const PG_DEGRADED_POLL: Duration = Duration::from_millis(250);

/// The state of a hub's PostgreSQL listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listener {
    /// Not started (SQLite hubs stay here).
    Idle,
    /// Connecting; waiters hold off their first check until it listens, or they could miss a wake-up.
    Starting,
    /// Listening: every commit that notifies will bump the hub.
    Listening,
    /// Its task ended (pool closed, database gone, runtime shut down); the next waiter restarts it.
    Dead,
}

/// One database's wake-up channel and shared bookkeeping.
#[derive(Debug)]
pub(crate) struct Hub {
    /// One counter per queue ([`QueueName::index`]); a change wakes every waiter, which then checks
    /// whether a queue it serves moved.
    wake: watch::Sender<[u64; 3]>,
    listener: watch::Sender<Listener>,
    /// When expired leases were last reaped (ms since the epoch), so claims do it at most every
    /// [`REAP_EVERY`] rather than on every call.
    last_reap_ms: AtomicI64,
}

/// How often claims reap expired leases in passing (waiters also reap when a lease they saw expires).
pub(crate) const REAP_EVERY: Duration = Duration::from_secs(1);

fn hubs() -> &'static Mutex<HashMap<String, Arc<Hub>>> {
    static HUBS: OnceLock<Mutex<HashMap<String, Arc<Hub>>>> = OnceLock::new();
    HUBS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The hub of the database named by `key`, created on first use.
pub(crate) fn hub(key: String) -> Arc<Hub> {
    let mut map = hubs().lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    map.entry(key)
        .or_insert_with(|| {
            Arc::new(Hub {
                wake: watch::Sender::new([0; 3]),
                listener: watch::Sender::new(Listener::Idle),
                last_reap_ms: AtomicI64::new(0),
            })
        })
        .clone()
}

impl Hub {
    /// Wakes the waiters of one queue.
    pub(crate) fn bump(&self, queue: QueueName) {
        self.wake
            .send_modify(|counters| counters[queue.index()] = counters[queue.index()].wrapping_add(1));
    }

    /// Wakes every waiter (after a listener reconnect, when notifications may have been lost).
    pub(crate) fn bump_all(&self) {
        self.wake.send_modify(|counters| {
            for c in counters.iter_mut() {
                *c = c.wrapping_add(1);
            }
        });
    }

    /// Whether it is time to reap expired leases again; claims the turn when it is.
    pub(crate) fn reap_due(&self, now_ms: i64) -> bool {
        let last = self.last_reap_ms.load(Ordering::Relaxed);
        let every = i64::try_from(REAP_EVERY.as_millis()).unwrap_or(1000);
        now_ms - last >= every
            && self
                .last_reap_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Starts waiting for the given queues: wake-ups from now on are seen, so a check made after this
    /// call and a wait after that check cannot miss a job enqueued in between.
    pub(crate) fn subscribe(&self, queues: &[QueueName]) -> Waiter {
        let mut rx = self.wake.subscribe();
        let seen = *rx.borrow_and_update();
        Waiter {
            rx,
            seen,
            mask: queues.iter().fold([false; 3], |mut m, q| {
                m[q.index()] = true;
                m
            }),
        }
    }

    /// Makes sure this hub's PostgreSQL listener runs and waits (briefly) until it listens. Returns how
    /// often the caller must poll: rarely when the listener works, often when it cannot connect.
    pub(crate) async fn ensure_listening(self: &Arc<Self>, pool: &PgPool) -> Duration {
        let start = {
            let mut start = false;
            self.listener.send_if_modified(|state| {
                if matches!(state, Listener::Idle | Listener::Dead) {
                    *state = Listener::Starting;
                    start = true;
                    true
                } else {
                    false
                }
            });
            start
        };
        if start {
            tokio::spawn(listen(Arc::clone(self), pool.clone()));
        }
        let mut rx = self.listener.subscribe();
        let ready = tokio::time::timeout(
            Duration::from_secs(5),
            rx.wait_for(|s| !matches!(s, Listener::Starting)),
        )
        .await;
        match ready {
            Ok(Ok(state)) if *state == Listener::Listening => PG_SAFETY_POLL,
            _ => PG_DEGRADED_POLL,
        }
    }
}

/// A claimer's subscription to its hub.
#[derive(Debug)]
pub(crate) struct Waiter {
    rx: watch::Receiver<[u64; 3]>,
    seen: [u64; 3],
    mask: [bool; 3],
}

impl Waiter {
    /// Waits until one of the subscribed queues is bumped or `timeout` passes; returns whether it was
    /// bumped.
    pub(crate) async fn wait(&mut self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = tokio::time::timeout_at(deadline, self.rx.changed()).await;
            match changed {
                Ok(Ok(())) => {
                    let now = *self.rx.borrow_and_update();
                    let relevant = (0..3).any(|i| self.mask[i] && now[i] != self.seen[i]);
                    self.seen = now;
                    if relevant {
                        return true;
                    }
                }
                // The hub never drops its sender while registered; treat it as a timeout if it does.
                Ok(Err(_)) => {
                    tokio::time::sleep_until(deadline).await;
                    return false;
                }
                Err(_) => return false,
            }
        }
    }
}

/// Marks the listener dead when its task ends for any reason (error, pool closed, runtime shut down),
/// and wakes every waiter so none sleeps on a listener that no longer exists.
struct DeadOnDrop(Arc<Hub>);

impl Drop for DeadOnDrop {
    fn drop(&mut self) {
        self.0.listener.send_replace(Listener::Dead);
        self.0.bump_all();
    }
}

async fn listen(hub: Arc<Hub>, pool: PgPool) {
    let guard = DeadOnDrop(hub);
    let hub = &guard.0;
    let mut listener = match PgListener::connect_with(&pool).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "job queue: cannot open the LISTEN connection; polling instead");
            return;
        }
    };
    if let Err(e) = listener.listen(CHANNEL).await {
        tracing::warn!(error = %e, "job queue: LISTEN failed; polling instead");
        return;
    }
    hub.listener.send_replace(Listener::Listening);
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => match notification.payload().parse::<QueueName>() {
                Ok(queue) => hub.bump(queue),
                Err(_) => hub.bump_all(),
            },
            // The connection dropped and was re-established: notifications may have been lost.
            Ok(None) => hub.bump_all(),
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => {
                tracing::debug!(error = %e, "job queue: LISTEN connection ended");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_waiter_wakes_for_its_queue_and_not_for_others() {
        let hub = hub(format!("test:{}", uuid::Uuid::now_v7()));
        let mut waiter = hub.subscribe(&[QueueName::Chat]);
        hub.bump(QueueName::Analysis);
        assert!(!waiter.wait(Duration::from_millis(20)).await);
        hub.bump(QueueName::Chat);
        assert!(waiter.wait(Duration::from_secs(5)).await);
    }

    #[tokio::test]
    async fn a_bump_between_subscribing_and_waiting_is_not_lost() {
        let hub = hub(format!("test:{}", uuid::Uuid::now_v7()));
        let mut waiter = hub.subscribe(&[QueueName::Analysis, QueueName::Monitoring]);
        hub.bump(QueueName::Monitoring);
        assert!(waiter.wait(Duration::from_millis(1)).await);
    }
}
