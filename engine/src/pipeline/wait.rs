//! What a hot thread does when it has nothing to do (its input ring is empty, or its output ring is
//! full). The choice trades latency for CPU and is the runner's, never the stage's.
//!
//! Figures are from the 2-core development VM (DESIGN.md §10); on dedicated cores they are smaller.
//!
//! | strategy | wake-up latency | CPU when idle | use it when |
//! |---|---|---|---|
//! | [`WaitStrategy::BusySpin`] | one cache-line transfer (≈ 55–60 ns a hop) | a whole core, always | every hot thread has a core of its own |
//! | [`WaitStrategy::SpinYield`] | spin budget, then ≈ 0.5 µs per `yield` | a core while spinning, little after | more hot threads than free cores |
//! | [`WaitStrategy::Park`] | spin budget, then ≈ 23 µs (futex wake) | none while parked | feeds that pause for long stretches |
//!
//! Spin budgets are in nanoseconds, converted once to `spin_loop` iterations (≈ 25 ns each here)
//! by [`spins_per_micro`], because an iteration's cost differs between machines.

use std::sync::OnceLock;
use std::time::Duration;

/// How long a parked thread sleeps before checking again on its own, in case a wake-up was missed.
/// A producer always rings the doorbell of a parked consumer, so this is a safety net, not a poll.
pub const PARK_TIMEOUT: Duration = Duration::from_millis(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitStrategy {
    /// Spin on the ring forever: the lowest latency, a whole core burnt while idle.
    BusySpin,
    /// Spin for `spin_ns`, then give the core away with `yield_now` until work arrives.
    SpinYield { spin_ns: u32 },
    /// Spin for `spin_ns`, yield a few times, then park until the producer unparks the thread.
    Park { spin_ns: u32 },
}

impl WaitStrategy {
    pub fn name(self) -> &'static str {
        match self {
            WaitStrategy::BusySpin => "busy-spin",
            WaitStrategy::SpinYield { .. } => "spin-yield",
            WaitStrategy::Park { .. } => "park",
        }
    }

    /// True if the strategy keeps a core busy while idle (so no more of them than cores may run).
    pub fn spins_forever(self) -> bool {
        matches!(self, WaitStrategy::BusySpin)
    }
}

/// `spin_loop` iterations per microsecond on this machine, measured once per process.
pub fn spins_per_micro() -> u32 {
    static SPINS: OnceLock<u32> = OnceLock::new();
    *SPINS.get_or_init(|| {
        let sw = crate::clock::Stopwatch::new();
        const N: u32 = 20_000;
        let start = sw.stamp();
        for _ in 0..N {
            std::hint::spin_loop();
        }
        let ns = sw.since(start).max(1);
        ((u64::from(N) * 1000) / ns).clamp(1, 1_000_000) as u32
    })
}

/// Yields before a parking waiter parks.
const YIELDS_BEFORE_PARK: u32 = 16;

/// One thread's idle state: call [`Waiter::idle`] each time a poll finds nothing, [`Waiter::reset`]
/// once it finds work.
#[derive(Debug)]
pub struct Waiter {
    strategy: WaitStrategy,
    spin_budget: u32,
    spun: u32,
    yielded: u32,
}

/// What the caller should do after [`Waiter::idle`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idle {
    /// Poll again.
    Retry,
    /// Arm the doorbell, poll once more, then call [`Waiter::park`] if still idle.
    ShouldPark,
}

impl Waiter {
    pub fn new(strategy: WaitStrategy) -> Self {
        let spin_ns = match strategy {
            WaitStrategy::BusySpin => 0,
            WaitStrategy::SpinYield { spin_ns } | WaitStrategy::Park { spin_ns } => spin_ns,
        };
        let spin_budget = ((u64::from(spin_ns) * u64::from(spins_per_micro())) / 1000) as u32;
        Waiter { strategy, spin_budget, spun: 0, yielded: 0 }
    }

    pub fn strategy(&self) -> WaitStrategy {
        self.strategy
    }

    #[inline]
    pub fn reset(&mut self) {
        self.spun = 0;
        self.yielded = 0;
    }

    #[inline]
    pub fn idle(&mut self) -> Idle {
        if self.strategy == WaitStrategy::BusySpin || self.spun < self.spin_budget {
            self.spun = self.spun.saturating_add(1);
            std::hint::spin_loop();
            return Idle::Retry;
        }
        match self.strategy {
            WaitStrategy::Park { .. } if self.yielded >= YIELDS_BEFORE_PARK => Idle::ShouldPark,
            _ => {
                self.yielded = self.yielded.saturating_add(1);
                std::thread::yield_now();
                Idle::Retry
            }
        }
    }

    /// Parks the calling thread until unparked or [`PARK_TIMEOUT`].
    pub fn park(&mut self) {
        std::thread::park_timeout(PARK_TIMEOUT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_spin_never_asks_to_park_and_park_does_after_spinning_and_yielding() {
        let mut spin = Waiter::new(WaitStrategy::BusySpin);
        assert!((0..10_000).all(|_| spin.idle() == Idle::Retry));
        let mut park = Waiter::new(WaitStrategy::Park { spin_ns: 100 });
        let tries = (0..100_000).position(|_| park.idle() == Idle::ShouldPark);
        assert!(tries.is_some_and(|n| n >= YIELDS_BEFORE_PARK as usize), "parks only after its yields: {tries:?}");
        park.reset();
        assert_eq!(park.idle(), Idle::Retry, "reset starts the spin again");
    }
}
