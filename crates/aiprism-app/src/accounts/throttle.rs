//! Failed sign-ins per login name, in this process: after too many failures in a window, further
//! attempts for that name are refused until the window passes, whether or not the name exists.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Failures allowed per name within [`WINDOW`].
pub(crate) const MAX_FAILURES: u32 = 10;
/// How long failures are remembered.
pub(crate) const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Names remembered at most (the oldest entries are dropped beyond this).
const MAX_NAMES: usize = 10_000;

/// Counts failed sign-ins by login name.
#[derive(Clone, Default)]
pub(crate) struct Throttle {
    failures: Arc<Mutex<HashMap<String, (u32, Instant)>>>,
}

impl Throttle {
    /// Whether another attempt for this name may be checked now.
    pub(crate) fn allows(&self, login: &str) -> bool {
        let Ok(mut map) = self.failures.lock() else {
            return true;
        };
        match map.get(login) {
            Some((_, since)) if since.elapsed() >= WINDOW => {
                map.remove(login);
                true
            }
            Some((count, _)) => *count < MAX_FAILURES,
            None => true,
        }
    }

    /// Records a failed attempt.
    pub(crate) fn failed(&self, login: &str) {
        let Ok(mut map) = self.failures.lock() else {
            return;
        };
        if map.len() >= MAX_NAMES {
            map.retain(|_, (_, since)| since.elapsed() < WINDOW);
            if map.len() >= MAX_NAMES {
                map.clear();
            }
        }
        let entry = map.entry(login.to_string()).or_insert((0, Instant::now()));
        entry.0 = entry.0.saturating_add(1);
    }

    /// Forgets the failures of a name after a successful sign-in.
    pub(crate) fn succeeded(&self, login: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(login);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_failures_block_the_name_and_success_resets_it() {
        let t = Throttle::default();
        for _ in 0..MAX_FAILURES {
            assert!(t.allows("alice"));
            t.failed("alice");
        }
        assert!(!t.allows("alice"));
        assert!(t.allows("bob"), "other names are not affected");
        t.succeeded("alice");
        assert!(t.allows("alice"));
    }
}
