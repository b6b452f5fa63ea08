//! Retry delays: exponential, capped, with jitter so jobs that failed together (a model outage fails a
//! whole review's sections at once) do not all come back in the same instant.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// The retry schedule for failed jobs: attempt `n` waits about `base * 2^(n-1)`, never more than `cap`,
/// scaled by a random factor in `[1 - jitter, 1]` ("equal jitter" when `jitter` is 0.5).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The first retry's delay.
    pub base: Duration,
    /// The longest delay.
    pub cap: Duration,
    /// The fraction of each delay that is random (0 = none, 1 = anywhere from 0 to the full delay).
    pub jitter: f64,
}

impl Default for Backoff {
    /// 5 s, 10 s, 20 s, ... up to 10 minutes, half of it random.
    fn default() -> Self {
        Self {
            base: Duration::from_secs(5),
            cap: Duration::from_secs(600),
            jitter: 0.5,
        }
    }
}

impl Backoff {
    /// The delay before the run that follows failed attempt number `attempt` (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let full = self.base.saturating_mul(1u32 << exponent).min(self.cap);
        let jitter = self.jitter.clamp(0.0, 1.0);
        full.mul_f64(1.0 - jitter * random_unit())
    }
}

/// A random number in `[0, 1)`. The standard library's hasher keys are seeded randomly per instance,
/// which is plenty for spreading retries and saves a dependency.
fn random_unit() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(u64::from(std::process::id()));
    // 53 random bits, the precision of an f64 mantissa.
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_jitter_only_shortens_them() {
        let backoff = Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(10),
            jitter: 0.5,
        };
        for _ in 0..100 {
            let first = backoff.delay(1);
            assert!(
                first >= Duration::from_millis(500) && first <= Duration::from_secs(1),
                "{first:?}"
            );
            let third = backoff.delay(3);
            assert!(
                third >= Duration::from_secs(2) && third <= Duration::from_secs(4),
                "{third:?}"
            );
            assert!(backoff.delay(40) <= Duration::from_secs(10));
        }
    }

    #[test]
    fn without_jitter_the_delay_is_exact() {
        let backoff = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
            jitter: 0.0,
        };
        assert_eq!(backoff.delay(1), Duration::from_millis(100));
        assert_eq!(backoff.delay(2), Duration::from_millis(200));
        assert_eq!(backoff.delay(5), Duration::from_secs(1));
    }
}
