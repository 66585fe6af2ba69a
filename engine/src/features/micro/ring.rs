//! A fixed window of the last N values: the per-bar primitive of the microstructure features.
//!
//! The window is an inline array (`[f64; N]`), so it is sized when the calculator is built and never
//! allocates. Statistics are recomputed over the window in chronological order when asked, instead of
//! being kept as running sums: the windows here are small (5, 14, 60 bars) and read once per closed
//! bar, so the O(N) pass costs a few dozen additions a minute, while a running sum drifts by the
//! rounding of every add/subtract pair and a running sum of squares cancels catastrophically when the
//! values vary little around a large level (ATR values do). Recomputing also makes the window's
//! statistics equal, to the last bit, to a plain computation over the same values in the same order.

/// The last N values pushed, oldest first; older ones are overwritten.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ring<const N: usize> {
    buf: [f64; N],
    /// Where the next value goes.
    head: usize,
    len: usize,
}

impl<const N: usize> Default for Ring<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Ring<N> {
    pub const fn new() -> Self {
        Ring { buf: [0.0; N], head: 0, len: 0 }
    }

    /// Appends `x`, dropping the oldest value when the window is full.
    #[inline]
    pub fn push(&mut self, x: f64) {
        if N == 0 {
            return;
        }
        self.buf[self.head] = x;
        self.head = (self.head + 1) % N;
        self.len = (self.len + 1).min(N);
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Holds N values: window statistics are defined.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len == N
    }

    /// The values, oldest first.
    #[inline]
    pub fn iter(&self) -> impl Iterator<Item = f64> + '_ {
        let start = (self.head + N - self.len) % N.max(1);
        (0..self.len).map(move |i| self.buf[(start + i) % N])
    }

    /// Sum of the values, added oldest first.
    #[inline]
    pub fn sum(&self) -> f64 {
        self.iter().fold(0.0, |acc, x| acc + x)
    }

    /// Mean of the values (NaN when empty).
    #[inline]
    pub fn mean(&self) -> f64 {
        self.sum() / self.len as f64
    }

    /// Sample standard deviation (divisor `len − 1`, as pandas' `rolling().std()`), two-pass around
    /// the mean; NaN with fewer than two values.
    #[inline]
    pub fn sample_std(&self) -> f64 {
        if self.len < 2 {
            return f64::NAN;
        }
        let m = self.mean();
        let ss = self.iter().fold(0.0, |acc, x| acc + (x - m) * (x - m));
        (ss / (self.len - 1) as f64).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_n_oldest_first() {
        let mut r = Ring::<3>::new();
        assert!(r.is_empty() && !r.is_full());
        assert!(r.mean().is_nan() && r.sample_std().is_nan());
        r.push(1.0);
        r.push(2.0);
        assert_eq!(r.iter().collect::<Vec<_>>(), [1.0, 2.0]);
        assert!(!r.is_full());
        for x in [3.0, 4.0, 5.0] {
            r.push(x);
        }
        assert!(r.is_full());
        assert_eq!(r.len(), 3);
        assert_eq!(r.iter().collect::<Vec<_>>(), [3.0, 4.0, 5.0]);
        assert_eq!(r.sum(), 12.0);
        assert_eq!(r.mean(), 4.0);
        assert_eq!(r.sample_std(), 1.0);
    }

    #[test]
    fn the_std_of_values_around_a_large_level_does_not_cancel() {
        let mut r = Ring::<4>::new();
        for x in [1e9 + 1.0, 1e9 + 2.0, 1e9 + 3.0, 1e9 + 4.0] {
            r.push(x);
        }
        let want = (5.0f64 / 3.0).sqrt();
        assert!((r.sample_std() - want).abs() < 1e-12, "{}", r.sample_std());
    }
}
