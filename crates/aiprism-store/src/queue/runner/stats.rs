//! Counters a runner keeps per queue, for metrics and `aiprism check`: plain atomics, so reading them
//! never slows a job down and no metrics library is needed here.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::queue::QueueName;

#[derive(Debug, Default)]
struct Counters {
    started: AtomicU64,
    completed: AtomicU64,
    retried: AtomicU64,
    dead: AtomicU64,
    cancelled: AtomicU64,
    lost: AtomicU64,
    released: AtomicU64,
    panicked: AtomicU64,
    running: AtomicU64,
    busy_micros: AtomicU64,
    max_micros: AtomicU64,
}

/// A runner's live counters; share it (it is behind an `Arc`) with whatever exports metrics.
#[derive(Debug, Default)]
pub struct RunnerStats {
    queues: [Counters; 3],
}

/// One queue's counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueStats {
    /// The queue.
    pub queue: QueueName,
    /// Jobs claimed and started.
    pub started: u64,
    /// Jobs that succeeded.
    pub completed: u64,
    /// Failures that will be retried.
    pub retried: u64,
    /// Failures that made the job dead.
    pub dead: u64,
    /// Jobs that ended cancelled.
    pub cancelled: u64,
    /// Jobs whose lease was lost while they ran (their result was discarded).
    pub lost: u64,
    /// Jobs given back at shutdown.
    pub released: u64,
    /// Handler panics (each also counts as retried or dead).
    pub panicked: u64,
    /// Jobs running now.
    pub running: u64,
    /// Time spent in handlers, all jobs together.
    pub busy: Duration,
    /// The longest single run.
    pub longest: Duration,
}

impl QueueStats {
    /// Failures of any kind (retried + dead).
    pub fn failed(&self) -> u64 {
        self.retried + self.dead
    }
}

/// How a run ended, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    Completed,
    Retried,
    Dead,
    Cancelled,
    Lost,
    Released,
}

impl Ending {
    /// Its label in metrics.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Ending::Completed => "completed",
            Ending::Retried => "retried",
            Ending::Dead => "dead",
            Ending::Cancelled => "cancelled",
            Ending::Lost => "lost",
            Ending::Released => "released",
        }
    }
}

impl RunnerStats {
    pub(crate) fn started(&self, queue: QueueName) {
        let c = &self.queues[queue.index()];
        c.started.fetch_add(1, Ordering::Relaxed);
        c.running.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn panicked(&self, queue: QueueName) {
        self.queues[queue.index()]
            .panicked
            .fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn ended(&self, queue: QueueName, ending: Ending, took: Duration) {
        let c = &self.queues[queue.index()];
        let counter = match ending {
            Ending::Completed => &c.completed,
            Ending::Retried => &c.retried,
            Ending::Dead => &c.dead,
            Ending::Cancelled => &c.cancelled,
            Ending::Lost => &c.lost,
            Ending::Released => &c.released,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        c.running.fetch_sub(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        c.busy_micros.fetch_add(micros, Ordering::Relaxed);
        c.max_micros.fetch_max(micros, Ordering::Relaxed);
    }

    /// One queue's counters now.
    pub fn queue(&self, queue: QueueName) -> QueueStats {
        let c = &self.queues[queue.index()];
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        QueueStats {
            queue,
            started: get(&c.started),
            completed: get(&c.completed),
            retried: get(&c.retried),
            dead: get(&c.dead),
            cancelled: get(&c.cancelled),
            lost: get(&c.lost),
            released: get(&c.released),
            panicked: get(&c.panicked),
            running: get(&c.running),
            busy: Duration::from_micros(get(&c.busy_micros)),
            longest: Duration::from_micros(get(&c.max_micros)),
        }
    }

    /// Every queue's counters now.
    pub fn snapshot(&self) -> Vec<QueueStats> {
        QueueName::ALL.iter().map(|q| self.queue(*q)).collect()
    }
}
