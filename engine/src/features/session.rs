//! Time and session features, and the session clock the volume profile resets on.
//!
//! Sessions are fixed windows of `session_ns` starting `offset_ns` after UTC midnight (24 h from
//! midnight by default: crypto trades around the clock, so the UTC day is the usual session). When the
//! session length does not divide a day, sessions are counted from the Unix epoch (plus the offset,
//! taken modulo the length), so they drift across days: 8 h or 1 h sessions stay on the clock, 36 h
//! ones do not.

use super::schema::{FeatureVector, idx};
use super::tick::Tick;
use crate::types::UnixNanos;

const DAY_NS: u64 = 86_400 * 1_000_000_000;

/// Which session a time belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionClock {
    session_ns: u64,
    offset_ns: u64,
}

impl SessionClock {
    pub fn new(session_ns: u64, offset_ns: u64) -> Self {
        let session_ns = session_ns.max(1);
        SessionClock { session_ns, offset_ns: offset_ns % session_ns }
    }

    /// The start of the session holding `ts`.
    #[inline]
    pub fn start_of(&self, ts: UnixNanos) -> UnixNanos {
        let shifted = ts.0.saturating_sub(self.offset_ns);
        UnixNanos(shifted - shifted % self.session_ns + self.offset_ns)
    }
}

/// Writes the time and session features.
#[derive(Clone, Copy, Debug, Default)]
pub struct SessionFeatures;

impl SessionFeatures {
    #[inline]
    pub fn update(&mut self, t: &Tick<'_>, out: &mut FeatureVector) {
        let tod_ns = t.ts.0 % DAY_NS;
        let tod = tod_ns as f64 / 1e9;
        let angle = std::f64::consts::TAU * tod_ns as f64 / DAY_NS as f64;
        out.set(idx::TIME_OF_DAY_S, tod);
        out.set(idx::TIME_OF_DAY_SIN, angle.sin());
        out.set(idx::TIME_OF_DAY_COS, angle.cos());
        out.set(idx::SESSION_ELAPSED_S, t.ts.0.saturating_sub(t.session_start.0) as f64 / 1e9);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 3_600_000_000_000;

    #[test]
    fn sessions_start_at_the_offset_after_midnight() {
        let day = SessionClock::new(24 * H, 0);
        let t = UnixNanos(19_000 * 24 * H + 5 * H);
        assert_eq!(day.start_of(t), UnixNanos(19_000 * 24 * H));
        let from_8am = SessionClock::new(24 * H, 8 * H);
        assert_eq!(
            from_8am.start_of(t),
            UnixNanos(18_999 * 24 * H + 8 * H),
            "5 am belongs to yesterday's 8 am session"
        );
        let hourly = SessionClock::new(H, 0);
        assert_eq!(hourly.start_of(UnixNanos(3 * H + 59)), UnixNanos(3 * H));
    }
}
