//! Latency models of the simulated exchange: how long an order takes to reach it (entry) and how
//! long its answers take to come back (response).
//!
//! Both are either a constant or sampled from a recorded distribution. Sampling is deterministic
//! for a seed: the engine carries no `rand` dependency, so a tiny SplitMix64 generator (Steele,
//! Lea and Flood, 2014) drives it. It is not cryptographic and needs not be; it is fast, has a
//! 64-bit state and passes BigCrush, which is all a latency sampler asks.

/// SplitMix64: one `u64` of state, one add and three xor-shift-multiplies per draw.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A latency distribution, in nanoseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LatencyModel {
    /// Always the same.
    Constant(u64),
    /// Sampled from a recorded distribution: `sorted` holds either raw samples or equally spaced
    /// quantiles (the first the minimum, the last the maximum), ascending. A draw picks a uniform
    /// point of the empirical CDF and interpolates linearly between the two neighbouring values
    /// (in integer arithmetic), so it never leaves `[min, max]`. Build it with
    /// [`LatencyModel::empirical`], which sorts.
    Empirical { sorted: Vec<u64> },
}

impl LatencyModel {
    /// An empirical model from samples or quantiles in any order; an empty slice means zero latency.
    pub fn empirical(samples: &[u64]) -> Self {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        if sorted.is_empty() {
            sorted.push(0);
        }
        LatencyModel::Empirical { sorted }
    }

    /// The least latency a draw can give.
    pub fn min(&self) -> u64 {
        match self {
            LatencyModel::Constant(ns) => *ns,
            LatencyModel::Empirical { sorted } => sorted.first().copied().unwrap_or(0),
        }
    }
}

/// A [`LatencyModel`] with its own generator: each direction draws from its own stream, so adding
/// cancels does not change the latencies that responses get.
#[derive(Clone, Debug)]
pub struct LatencySampler {
    model: LatencyModel,
    rng: SplitMix64,
}

impl LatencySampler {
    pub fn new(model: LatencyModel, seed: u64) -> Self {
        LatencySampler { model, rng: SplitMix64::new(seed) }
    }

    /// The next latency, in nanoseconds. Never allocates.
    #[inline]
    pub fn sample(&mut self) -> u64 {
        match &self.model {
            LatencyModel::Constant(ns) => *ns,
            LatencyModel::Empirical { sorted } => {
                let n = sorted.len();
                if n == 1 {
                    return sorted[0];
                }
                // A uniform position in [0, n-1) in 32.32 fixed point.
                let u = self.rng.next_u64() >> 32;
                let pos = u128::from(u) * (n as u128 - 1);
                let i = (pos >> 32) as usize;
                let frac = pos & 0xFFFF_FFFF;
                let (lo, hi) = (sorted[i], sorted[(i + 1).min(n - 1)]);
                lo + ((u128::from(hi - lo) * frac) >> 32) as u64
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empirical_draws_stay_within_the_recorded_range_and_repeat_for_a_seed() {
        let model = LatencyModel::empirical(&[900, 100, 500, 300]);
        let mut a = LatencySampler::new(model.clone(), 7);
        let mut b = LatencySampler::new(model, 7);
        for _ in 0..1000 {
            let x = a.sample();
            assert!((100..=900).contains(&x));
            assert_eq!(x, b.sample());
        }
    }

    #[test]
    fn empirical_median_is_near_the_recorded_median() {
        let samples: Vec<u64> = (0..=100).map(|i| i * 10).collect();
        let mut s = LatencySampler::new(LatencyModel::empirical(&samples), 1);
        let mut draws: Vec<u64> = (0..10_001).map(|_| s.sample()).collect();
        draws.sort_unstable();
        let median = draws[5000];
        assert!((450..=550).contains(&median), "median {median}");
    }
}
