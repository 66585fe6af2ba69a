//! The order-rate limiter: a token bucket in tape (or live) time, in integers.
//!
//! One token is worth [`UNITS_PER_TOKEN`] units; every nanosecond adds `rate` units, so the bucket
//! refills continuously at `rate` tokens per second with no rounding and no wall clock, and the
//! same sequence of times always gives the same answers. It holds at most `rate` tokens
//! (burst = rate) and starts full.

use crate::types::UnixNanos;

/// Units in one token: one second's worth of nanoseconds.
pub const UNITS_PER_TOKEN: u64 = 1_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenBucket {
    /// Units added per nanosecond (= tokens per second).
    rate: u64,
    /// Most units the bucket holds: `rate` tokens.
    capacity: u64,
    level: u64,
    /// Latest time seen; `None` until the first take.
    last: Option<u64>,
}

impl TokenBucket {
    /// A full bucket refilling at `per_second` tokens per second (at least 1).
    pub fn new(per_second: u32) -> Self {
        let rate = u64::from(per_second.max(1));
        // At most u32::MAX × 10^9 < 2^63: no overflow.
        let capacity = rate * UNITS_PER_TOKEN;
        TokenBucket { rate, capacity, level: capacity, last: None }
    }

    /// Refills up to `now`, then takes one token if there is one. A time earlier than one already
    /// seen refills nothing (time never runs backwards for the bucket).
    pub fn try_take(&mut self, now: UnixNanos) -> bool {
        self.refill(now.0);
        if self.level >= UNITS_PER_TOKEN {
            self.level -= UNITS_PER_TOKEN;
            true
        } else {
            false
        }
    }

    /// Whole tokens available at `now` (refills, takes nothing).
    pub fn available(&mut self, now: UnixNanos) -> u64 {
        self.refill(now.0);
        self.level / UNITS_PER_TOKEN
    }

    fn refill(&mut self, now: u64) {
        if let Some(last) = self.last {
            let elapsed = now.saturating_sub(last);
            self.level = self.level.saturating_add(elapsed.saturating_mul(self.rate)).min(self.capacity);
        }
        self.last = Some(self.last.map_or(now, |last| last.max(now)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_723_075_200_000_000_000;

    #[test]
    fn burst_then_one_token_per_period() {
        let mut b = TokenBucket::new(4); // one token per 250 ms
        for _ in 0..4 {
            assert!(b.try_take(UnixNanos(T0)));
        }
        assert!(!b.try_take(UnixNanos(T0)));
        assert!(!b.try_take(UnixNanos(T0 + 249_999_999)));
        assert!(b.try_take(UnixNanos(T0 + 250_000_000)));
        assert!(!b.try_take(UnixNanos(T0 + 250_000_000)));
    }

    #[test]
    fn refill_caps_at_the_burst() {
        let mut b = TokenBucket::new(3);
        assert!(b.try_take(UnixNanos(T0)));
        assert_eq!(b.available(UnixNanos(T0 + 3_600 * UNITS_PER_TOKEN)), 3);
        // A very long idle time saturates instead of overflowing.
        assert_eq!(b.available(UnixNanos(u64::MAX)), 3);
    }

    #[test]
    fn time_running_backwards_refills_nothing() {
        let mut b = TokenBucket::new(1);
        assert!(b.try_take(UnixNanos(T0)));
        assert!(!b.try_take(UnixNanos(T0 - UNITS_PER_TOKEN)));
        // Still measured from T0, not from the earlier time.
        assert!(!b.try_take(UnixNanos(T0 + UNITS_PER_TOKEN - 1)));
        assert!(b.try_take(UnixNanos(T0 + UNITS_PER_TOKEN)));
    }

    #[test]
    fn partial_refills_add_up_exactly() {
        let mut b = TokenBucket::new(3);
        for _ in 0..3 {
            assert!(b.try_take(UnixNanos(T0)));
        }
        // 1/3 s is not a whole number of ns: three steps of 111_111_111 ns leave it 1 unit short.
        let mut t = T0;
        for _ in 0..3 {
            t += 111_111_111;
            assert_eq!(b.available(UnixNanos(t)), 0);
        }
        assert!(!b.try_take(UnixNanos(t)));
        assert!(b.try_take(UnixNanos(t + 1)));
    }
}
