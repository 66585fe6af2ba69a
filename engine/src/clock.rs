//! Time. Two different things are called "time" in an engine and they are kept apart:
//!
//! - **Strategy time** ([`Clock`]): what the strategy believes the time is. In paper mode it is the
//!   tape's time ([`TapeClock`]), so a replay decides exactly as it did the first time; live, it is the
//!   TSC clock ([`LiveClock`]). Nothing else in the engine reads the wall clock (clippy.toml bans it).
//! - **Latency stamps** ([`Stopwatch`]): raw TSC ticks read with `quanta` (≈ 10 ns a read, DESIGN.md
//!   §10), turned into nanoseconds only as differences. They measure the engine, never decide anything,
//!   and never enter the journal.

use crate::types::UnixNanos;

/// Strategy time, read by the ingest stage once per event and carried on the event from there.
pub trait Clock {
    /// The time of the event being taken in. `source_ts` is the time the record itself carries (tape
    /// time in paper mode); a live clock ignores it.
    fn stamp_event(&mut self, source_ts: UnixNanos) -> UnixNanos;
}

/// Tape time that never goes backwards: a record stamped earlier than its predecessor is taken at
/// the predecessor's time, so every stage sees a monotonic clock whatever the tape holds.
#[derive(Clone, Copy, Debug, Default)]
pub struct TapeClock {
    now: UnixNanos,
}

impl Clock for TapeClock {
    #[inline]
    fn stamp_event(&mut self, source_ts: UnixNanos) -> UnixNanos {
        if source_ts > self.now {
            self.now = source_ts;
        }
        self.now
    }
}

/// Live strategy time: the TSC clock, anchored to Unix time once at start-up.
#[derive(Clone, Debug)]
pub struct LiveClock {
    clock: quanta::Clock,
    anchor_raw: u64,
    anchor_unix: UnixNanos,
}

impl LiveClock {
    /// `unix_now` is read once by the caller at start-up (the CLI may read the wall clock; the engine
    /// does not).
    pub fn new(unix_now: UnixNanos) -> Self {
        let clock = quanta::Clock::new();
        let anchor_raw = clock.raw();
        LiveClock { clock, anchor_raw, anchor_unix: unix_now }
    }
}

impl Clock for LiveClock {
    #[inline]
    fn stamp_event(&mut self, _source_ts: UnixNanos) -> UnixNanos {
        let elapsed = self.clock.delta_as_nanos(self.anchor_raw, self.clock.raw());
        UnixNanos(self.anchor_unix.0 + elapsed)
    }
}

/// TSC stamps for latency measurement. Cloning is cheap; give each hot thread its own.
#[derive(Clone, Debug)]
pub struct Stopwatch {
    clock: quanta::Clock,
}

impl Default for Stopwatch {
    fn default() -> Self {
        Stopwatch::new()
    }
}

impl Stopwatch {
    /// Calibrates the TSC against the OS clock the first time it is called in a process (a few ms);
    /// call it before the hot loop starts.
    pub fn new() -> Self {
        Stopwatch { clock: quanta::Clock::new() }
    }

    /// Raw ticks, now.
    #[inline]
    pub fn stamp(&self) -> u64 {
        self.clock.raw()
    }

    /// Nanoseconds from `start` to `end` (0 if `end` is earlier, as can happen between two cores whose
    /// TSCs differ by a few ticks).
    #[inline]
    pub fn nanos(&self, start: u64, end: u64) -> u64 {
        if end <= start { 0 } else { self.clock.delta_as_nanos(start, end) }
    }

    /// Nanoseconds since `start`.
    #[inline]
    pub fn since(&self, start: u64) -> u64 {
        self.nanos(start, self.stamp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tape_clock_never_goes_backwards() {
        let mut c = TapeClock::default();
        assert_eq!(c.stamp_event(UnixNanos(10)), UnixNanos(10));
        assert_eq!(c.stamp_event(UnixNanos(7)), UnixNanos(10));
        assert_eq!(c.stamp_event(UnixNanos(12)), UnixNanos(12));
    }

    #[test]
    fn stopwatch_differences_are_never_negative() {
        let s = Stopwatch::new();
        let a = s.stamp();
        assert_eq!(s.nanos(a + 1000, a), 0);
    }
}
