//! Pacing a replay to tape time: `--speed 1x` replays a 10-minute tape in 10 minutes, `10x` in one.

use crate::clock::Stopwatch;
use crate::pipeline::StopFlag;
use crate::types::UnixNanos;
use std::time::Duration;

/// How fast a tape is replayed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Speed {
    /// As fast as the engine goes.
    Max,
    /// Tape time × this factor per second of real time (1.0 = real time).
    Times(f64),
}

impl Speed {
    /// Parses `max`, `1x`, `10x`, `0.5x` (the `x` is optional).
    pub fn parse(text: &str) -> Result<Speed, String> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        let num = t.strip_suffix(['x', 'X']).unwrap_or(t);
        match num.parse::<f64>() {
            Ok(f) if f.is_finite() && f > 0.0 => Ok(Speed::Times(f)),
            _ => Err(format!("speed `{text}`: expected `max` or a positive factor such as `1x` or `10x`")),
        }
    }
}

impl std::fmt::Display for Speed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Speed::Max => f.write_str("max"),
            Speed::Times(x) => write!(f, "{x}x"),
        }
    }
}

/// Below this much time to wait, spin; above it, sleep most of it. A sleep is a syscall, but the
/// thread is idle anyway and wakes ≈ 50–100 µs late at worst, which the spin then absorbs.
const SPIN_BELOW: Duration = Duration::from_millis(2);
/// Long waits sleep in slices so that a stop request is seen promptly.
const SLEEP_SLICE: Duration = Duration::from_millis(50);

#[derive(Debug)]
pub(super) struct Pacer {
    speed: Speed,
    /// (tape time, TSC stamp) of the first event.
    anchor: Option<(UnixNanos, u64)>,
}

impl Pacer {
    pub(super) fn new(speed: Speed) -> Self {
        Pacer { speed, anchor: None }
    }

    /// Waits until the event at tape time `ts` is due. Returns `false` if `stop` was set meanwhile.
    #[inline]
    pub(super) fn wait_for(&mut self, ts: UnixNanos, sw: &Stopwatch, stop: &StopFlag) -> bool {
        let Speed::Times(factor) = self.speed else { return true };
        let (ts0, stamp0) = *self.anchor.get_or_insert((ts, sw.stamp()));
        let due_ns = (ts.0.saturating_sub(ts0.0) as f64 / factor) as u64;
        loop {
            let elapsed = sw.since(stamp0);
            if elapsed >= due_ns {
                return true;
            }
            if stop.is_set() {
                return false;
            }
            let left = Duration::from_nanos(due_ns - elapsed);
            if left > SPIN_BELOW {
                std::thread::sleep((left - SPIN_BELOW / 2).min(SLEEP_SLICE));
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_speeds_and_refuses_nonsense() {
        assert_eq!(Speed::parse("max"), Ok(Speed::Max));
        assert_eq!(Speed::parse("1x"), Ok(Speed::Times(1.0)));
        assert_eq!(Speed::parse("10X"), Ok(Speed::Times(10.0)));
        assert_eq!(Speed::parse("0.5"), Ok(Speed::Times(0.5)));
        for bad in ["0x", "-1x", "fast", "nanx", "infx", ""] {
            assert!(Speed::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_paced_replay_takes_at_least_the_tape_span_over_the_factor() {
        let sw = Stopwatch::new();
        let stop = crate::pipeline::RunControl::new().stop_flag();
        let mut p = Pacer::new(Speed::Times(100.0));
        let start = sw.stamp();
        assert!(p.wait_for(UnixNanos(1_000_000_000), &sw, &stop));
        assert!(p.wait_for(UnixNanos(1_500_000_000), &sw, &stop)); // 0.5 s of tape at 100x = 5 ms
        assert!(sw.since(start) >= 5_000_000, "waited {} ns", sw.since(start));
    }

    #[test]
    fn stop_interrupts_a_long_wait() {
        let sw = Stopwatch::new();
        let control = crate::pipeline::RunControl::new();
        control.request_stop();
        let stop = control.stop_flag();
        let mut p = Pacer::new(Speed::Times(1.0));
        assert!(p.wait_for(UnixNanos(0), &sw, &stop), "the first event is due at once");
        assert!(!p.wait_for(UnixNanos(3_600_000_000_000), &sw, &stop));
    }
}
