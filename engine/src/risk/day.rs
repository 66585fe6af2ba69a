//! Trading days in tape (or live) time: where the daily loss limit starts counting again.
//!
//! A day starts at UTC midnight plus a configured offset (a session start); day `n` covers
//! `[n × 1 day + offset, (n + 1) × 1 day + offset)` in nanoseconds since the Unix epoch. Whoever
//! computes [`RiskContext::pnl_today`](super::RiskContext::pnl_today) must use the same boundary:
//! [`RiskGate::day_boundary`](super::RiskGate::day_boundary) hands it out.

use super::limits::NANOS_PER_DAY;
use crate::types::UnixNanos;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DayBoundary {
    /// Nanoseconds after UTC midnight at which a day starts, below one day.
    offset_ns: u64,
}

impl DayBoundary {
    /// A boundary `offset_ns` after UTC midnight (taken modulo one day).
    pub fn new(offset_ns: u64) -> Self {
        DayBoundary { offset_ns: offset_ns % NANOS_PER_DAY }
    }

    /// The number of the trading day `now` falls in (times before the first boundary are day 0).
    pub fn day_of(self, now: UnixNanos) -> u64 {
        now.0.saturating_sub(self.offset_ns) / NANOS_PER_DAY
    }

    /// When trading day `day` starts.
    pub fn start_of(self, day: u64) -> UnixNanos {
        UnixNanos(day.saturating_mul(NANOS_PER_DAY).saturating_add(self.offset_ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-08-08 00:00:00 UTC.
    const MIDNIGHT: u64 = 1_723_075_200_000_000_000;
    const HOUR: u64 = 3_600_000_000_000;

    #[test]
    fn utc_midnight_is_the_default_boundary() {
        let d = DayBoundary::default();
        let day = d.day_of(UnixNanos(MIDNIGHT));
        assert_eq!(d.start_of(day), UnixNanos(MIDNIGHT));
        assert_eq!(d.day_of(UnixNanos(MIDNIGHT - 1)), day - 1);
        assert_eq!(d.day_of(UnixNanos(MIDNIGHT + NANOS_PER_DAY - 1)), day);
        assert_eq!(d.day_of(UnixNanos(MIDNIGHT + NANOS_PER_DAY)), day + 1);
    }

    #[test]
    fn a_session_start_moves_the_boundary() {
        let d = DayBoundary::new(22 * HOUR); // 22:00 UTC
        let day = d.day_of(UnixNanos(MIDNIGHT));
        // Midnight belongs to the day that started at 22:00 the evening before.
        assert_eq!(d.start_of(day), UnixNanos(MIDNIGHT - 2 * HOUR));
        assert_eq!(d.day_of(UnixNanos(MIDNIGHT + 22 * HOUR - 1)), day);
        assert_eq!(d.day_of(UnixNanos(MIDNIGHT + 22 * HOUR)), day + 1);
    }

    #[test]
    fn times_before_the_first_boundary_are_day_zero() {
        let d = DayBoundary::new(HOUR);
        assert_eq!(d.day_of(UnixNanos::UNKNOWN), 0);
        assert_eq!(d.day_of(UnixNanos(HOUR + NANOS_PER_DAY - 1)), 0);
    }
}
