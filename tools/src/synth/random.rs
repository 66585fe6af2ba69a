//! The distributions the generator draws from, built on uniform draws from one ChaCha8 stream.
//!
//! They are written here rather than taken from `rand_distr` so that the byte stream behind a tape
//! depends only on `rand_chacha` (whose output for a seed is part of its stability promise) and on
//! this file: a dependency upgrade can never silently change the tape a seed produces. The
//! transcendental functions (`ln`, `exp`, `cos`) come from the platform's libm, so byte-identical
//! output is promised on one platform; share the tape, not the seed, across platforms.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// A seeded random source with the handful of distributions a market needs.
#[derive(Clone, Debug)]
pub(crate) struct Random {
    rng: ChaCha8Rng,
    /// Box-Muller yields normals in pairs; the second is kept for the next call.
    spare_normal: Option<f64>,
}

impl Random {
    /// A generator on ChaCha8 stream `stream` of `seed`. Independent streams let one part of the
    /// model (the regime chain) keep its path for a seed when another part (the book) changes how
    /// many numbers it draws.
    pub(crate) fn new(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Random { rng, spare_normal: None }
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `(0, 1]`: safe to take the logarithm of.
    fn uniform_open0(&mut self) -> f64 {
        1.0 - self.uniform()
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Uniform integer in `0..n` (`n > 0`), by Lemire's multiply-shift: unbiased enough for a
    /// simulator (bias below 2^-32 for the small `n` used here) and one draw per call.
    pub(crate) fn below(&mut self, n: u32) -> u32 {
        ((u64::from(self.rng.next_u32()) * u64::from(n)) >> 32) as u32
    }

    /// Exponential with the given mean: waiting times of a Poisson process.
    pub(crate) fn exponential(&mut self, mean: f64) -> f64 {
        -self.uniform_open0().ln() * mean
    }

    /// Standard normal by Box-Muller.
    pub(crate) fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        let r = (-2.0 * self.uniform_open0().ln()).sqrt();
        let theta = std::f64::consts::TAU * self.uniform();
        self.spare_normal = Some(r * theta.sin());
        r * theta.cos()
    }

    /// Lognormal: `median · exp(sigma · Z)`. Sizes and latencies are positive and right-skewed.
    pub(crate) fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Pareto with scale `min` and tail index `alpha`: most draws near `min`, a few far larger,
    /// like real trade sizes.
    pub(crate) fn pareto(&mut self, min: f64, alpha: f64) -> f64 {
        min * self.uniform_open0().powf(-1.0 / alpha)
    }

    /// Geometric on `0, 1, 2, …` with success probability `p`: picks book levels, mostly near the
    /// touch where real venues see most of their updates.
    pub(crate) fn geometric(&mut self, p: f64) -> u32 {
        let k = (self.uniform_open0().ln() / (1.0 - p).ln()).floor();
        if k.is_finite() && k < f64::from(u32::MAX) { k as u32 } else { u32::MAX }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_var(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let m = xs.iter().sum::<f64>() / n;
        (m, xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n)
    }

    #[test]
    fn same_seed_and_stream_repeat_other_streams_differ() {
        let draw = |seed, stream| {
            let mut r = Random::new(seed, stream);
            (0..8).map(|_| r.uniform().to_bits()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7, 0), draw(7, 0));
        assert_ne!(draw(7, 0), draw(7, 1));
        assert_ne!(draw(7, 0), draw(8, 0));
    }

    #[test]
    fn moments_match_the_distributions() {
        let mut r = Random::new(1, 0);
        let n = 200_000;
        let (m, v) = mean_var(&(0..n).map(|_| r.normal()).collect::<Vec<_>>());
        assert!(m.abs() < 0.01 && (v - 1.0).abs() < 0.02, "normal {m} {v}");
        let (m, _) = mean_var(&(0..n).map(|_| r.exponential(3.0)).collect::<Vec<_>>());
        assert!((m - 3.0).abs() < 0.05, "exponential {m}");
        let mut ln: Vec<f64> = (0..n).map(|_| r.lognormal(5.0, 0.5)).collect();
        ln.sort_by(f64::total_cmp);
        assert!((ln[n / 2] - 5.0).abs() < 0.1, "lognormal median {}", ln[n / 2]);
        assert!((0..n).map(|_| r.pareto(2.0, 1.5)).all(|x| x >= 2.0));
        let (m, _) = mean_var(&(0..n).map(|_| f64::from(r.geometric(0.25))).collect::<Vec<_>>());
        assert!((m - 3.0).abs() < 0.05, "geometric {m}");
        assert!((0..1000).all(|_| r.below(7) < 7));
    }
}
