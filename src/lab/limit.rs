//! Request-rate limit per connection: a token bucket that each client connection carries, so
//! one runaway client cannot keep the lab busy for everyone else. A request over the limit is
//! answered `429 TooManyRequests` with `Retry-After`, which client-go honours by waiting and
//! retrying, as it does for a real server's priority-and-fairness limits.
//!
//! To change the limits, change [`BURST`] and [`PER_SECOND`].

use std::sync::Mutex;
use std::time::Instant;

/// Requests a fresh connection may send at once.
pub const BURST: f64 = 1_000.0;
/// Requests per second a connection may keep up.
pub const PER_SECOND: f64 = 500.0;

/// One connection's bucket.
#[derive(Debug)]
pub struct Bucket {
    state: Mutex<(f64, Instant)>,
}

impl Default for Bucket {
    fn default() -> Self {
        Self {
            state: Mutex::new((BURST, Instant::now())),
        }
    }
}

impl Bucket {
    /// Take one request from the bucket; false when it is empty.
    pub fn allow(&self) -> bool {
        self.allow_at(Instant::now())
    }

    fn allow_at(&self, now: Instant) -> bool {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (tokens, at) = *state;
        let refill = now.saturating_duration_since(at).as_secs_f64() * PER_SECOND;
        let tokens = (tokens + refill).min(BURST);
        let (left, ok) = if tokens >= 1.0 {
            (tokens - 1.0, true)
        } else {
            (tokens, false)
        };
        *state = (left, now.max(at));
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_steady_rate() {
        let bucket = Bucket::default();
        let t0 = Instant::now();
        let allowed = (0..1_500).filter(|_| bucket.allow_at(t0)).count();
        assert_eq!(allowed, 1_000);
        // A tenth of a second later, fifty more.
        let later = t0 + Duration::from_millis(100);
        let allowed = (0..100).filter(|_| bucket.allow_at(later)).count();
        assert_eq!(allowed, 50);
    }
}
