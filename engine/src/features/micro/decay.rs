//! Exponentially time-decayed sums: the "recent flow" primitive of the microstructure features.
//!
//! A decayed sum with time constant τ is `S(t) = Σᵢ xᵢ · exp(−(t − tᵢ)/τ)` over every value `xᵢ`
//! added at time `tᵢ ≤ t`. It is kept recursively, `S(t) = S(t_prev) · exp(−(t − t_prev)/τ) + x`,
//! which is why it suits the hot path: O(1) work and 8 bytes per sum, whatever the event rate,
//! where a sliding window of "the last 10 s" would need a buffer sized for the busiest 10 s ever
//! seen and would jump when an old event leaves the window. Time is the event time (tape time in
//! paper mode), so a replay gives the same values as the live run did.
//!
//! Several sums with the same τ share one clock ([`Decayed<K>`] holds K of them), so an event costs
//! one `exp` per time constant rather than one per feature, and none at all for events stamped
//! at the same nanosecond as the previous one (the records of one depth message).

use crate::types::UnixNanos;

/// K decayed sums sharing one time constant and one clock: see the module doc.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decayed<const K: usize> {
    tau_ns: f64,
    /// `1/τ`: a product per event instead of a division.
    rate: f64,
    /// The time the sums are valued at.
    at: UnixNanos,
    sums: [f64; K],
}

impl<const K: usize> Decayed<K> {
    /// Sums of zero with time constant `tau_ns` (at least 1 ns).
    pub fn new(tau_ns: u64) -> Self {
        let tau_ns = tau_ns.max(1) as f64;
        Decayed { tau_ns, rate: 1.0 / tau_ns, at: UnixNanos(0), sums: [0.0; K] }
    }

    /// The time constant in seconds (to turn a decayed count into a rate).
    #[inline]
    pub fn tau_secs(&self) -> f64 {
        self.tau_ns / 1e9
    }

    /// Values every sum as of `ts`: multiplies each by `exp(−(ts − at)/τ)`. A `ts` at or before the
    /// current one changes nothing (strategy time never goes backwards; a stale stamp is not a
    /// reason to grow the sums).
    #[inline]
    pub fn advance(&mut self, ts: UnixNanos) {
        if ts <= self.at {
            return;
        }
        let factor = (-((ts.0 - self.at.0) as f64 * self.rate)).exp();
        for s in &mut self.sums {
            *s *= factor;
        }
        self.at = ts;
    }

    /// Adds `x` to sum `k` at the current time (call [`Decayed::advance`] first).
    #[inline]
    pub fn add(&mut self, k: usize, x: f64) {
        self.sums[k] += x;
    }

    /// Sum `k` as of the last [`Decayed::advance`].
    #[inline]
    pub fn get(&self, k: usize) -> f64 {
        self.sums[k]
    }

    /// `1 − exp(−dt/τ)`: the weight a time-decayed average gives to a value that stands for the last
    /// `dt` ns (the rest, `exp(−dt/τ)`, is what the older values keep). Computed with `exp_m1`,
    /// which keeps its relative precision when `dt ≪ τ` (`1 − exp(−1e−9)` loses 7 digits).
    #[inline]
    pub fn weight(&self, dt_ns: u64) -> f64 {
        -(-(dt_ns as f64 * self.rate)).exp_m1()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn the_recursion_is_the_direct_sum() {
        let mut d = Decayed::<2>::new(10 * S);
        let adds = [(S, 1.0, -2.0), (S, 0.5, 0.0), (3 * S + 7, 4.0, 1.0), (9 * S, -1.0, 3.0)];
        for &(t, x, y) in &adds {
            d.advance(UnixNanos(t));
            d.add(0, x);
            d.add(1, y);
        }
        let t = 25 * S;
        d.advance(UnixNanos(t));
        for (k, pick) in [(0, 0), (1, 1)] {
            let want: f64 =
                adds.iter().map(|&(ti, x, y)| [x, y][pick] * (-((t - ti) as f64) / (10 * S) as f64).exp()).sum();
            assert!((d.get(k) - want).abs() <= 1e-15 * want.abs().max(1.0), "sum {k}: {} vs {want}", d.get(k));
        }
    }

    #[test]
    fn time_never_runs_backwards_and_hours_decay_fully() {
        let mut d = Decayed::<1>::new(S);
        d.advance(UnixNanos(10 * S));
        d.add(0, 5.0);
        d.advance(UnixNanos(9 * S));
        assert_eq!(d.get(0), 5.0, "an earlier stamp leaves the sum alone");
        d.advance(UnixNanos(10 * S));
        assert_eq!(d.get(0), 5.0);
        d.advance(UnixNanos(10 * S + 3_600 * S));
        assert_eq!(d.get(0), 0.0, "an hour is 3600 time constants");
        assert_eq!(d.tau_secs(), 1.0);
    }

    #[test]
    fn weight_is_precise_for_tiny_intervals() {
        let d = Decayed::<1>::new(S);
        assert_eq!(d.weight(0), 0.0);
        let w = d.weight(1);
        let exact = 1e-9 - 0.5e-18; // 1 − exp(−x) = x − x²/2 + …
        assert!((w - exact).abs() < 1e-24, "{w}");
        assert!((w - (1.0 - (-1e-9f64).exp())).abs() > 1e-17, "the naive form is off in the 8th digit");
        assert!((d.weight(S) - (1.0 - (-1f64).exp())).abs() < 1e-16);
    }
}
