//! The warning that Redis failed and a part carries on with in-process state, logged at most every
//! 30 s so that an outage does not flood the log with one line per request.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::RedisError;

const WARN_EVERY: Duration = Duration::from_secs(30);

/// Logs "Redis failed: {consequence}" now and then.
#[derive(Debug)]
pub(crate) struct Degraded {
    consequence: &'static str,
    last: Mutex<Option<Instant>>,
}

impl Degraded {
    /// A warning saying what failing over means for this part.
    pub(crate) fn new(consequence: &'static str) -> Self {
        Self {
            consequence,
            last: Mutex::new(None),
        }
    }

    /// Notes a failed call; logs unless it logged within the last 30 s.
    pub(crate) fn failed(&self, call: &str, error: &RedisError) {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if last.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
            *last = Some(Instant::now());
            tracing::warn!(%error, call, "Redis failed: {}", self.consequence);
        }
    }
}
