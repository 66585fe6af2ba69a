//! Crosses of the POC by the mid, counted over sliding windows of tape time.

/// How many cross times are kept: the 30-minute count is exact up to this many crosses in the
/// window (one every 0.44 s for 30 minutes); beyond it every count saturates at this value.
pub const CROSS_CAPACITY: usize = 4096;

/// The sliding windows of POC_CROSSES_5M / 15M / 30M, in ns.
pub const CROSS_WINDOWS_NS: [u64; 3] = [300_000_000_000, 900_000_000_000, 1_800_000_000_000];

/// The session's POC crosses: a ring of their times and, per window, the oldest one still inside.
#[derive(Clone)]
pub(super) struct Crosses {
    /// Cross `k` of the session (from 0) is at `times[k % CROSS_CAPACITY]`.
    times: Box<[u64]>,
    /// Crosses this session.
    count: u64,
    /// Per window: index of the oldest cross not yet known to have left the window.
    first: [u64; 3],
    /// Sign of (mid − POC) at the last evaluation where it was not 0; 0 before any.
    last_side: i8,
}

impl Crosses {
    pub(super) fn new() -> Self {
        Crosses { times: vec![0; CROSS_CAPACITY].into_boxed_slice(), count: 0, first: [0; 3], last_side: 0 }
    }

    pub(super) fn reset(&mut self) {
        self.count = 0;
        self.first = [0; 3];
        self.last_side = 0;
    }

    /// The side of the mid against the POC at `ts`: a change from one non-zero side to the other
    /// is a cross; a 0 (mid exactly at the POC) neither counts nor forgets the side before it.
    #[inline]
    pub(super) fn observe(&mut self, ts: u64, side: i8) {
        if side == 0 {
            return;
        }
        if self.last_side != 0 && side != self.last_side {
            self.times[(self.count % CROSS_CAPACITY as u64) as usize] = ts;
            self.count += 1;
        }
        self.last_side = side;
    }

    /// Time of the session's last cross.
    #[inline]
    pub(super) fn last(&self) -> Option<u64> {
        self.count.checked_sub(1).map(|k| self.times[(k % CROSS_CAPACITY as u64) as usize])
    }

    /// Crosses in each window `(now − W, now]`, capped at [`CROSS_CAPACITY`]. Amortized O(1): each
    /// cross leaves each window once (tape time never goes backwards).
    #[inline]
    pub(super) fn counts(&mut self, now: u64) -> [u64; 3] {
        let floor = self.count.saturating_sub(CROSS_CAPACITY as u64);
        let mut out = [0; 3];
        for (w, window) in CROSS_WINDOWS_NS.iter().enumerate() {
            let cutoff = now.saturating_sub(*window);
            let mut k = self.first[w].max(floor);
            while k < self.count && self.times[(k % CROSS_CAPACITY as u64) as usize] <= cutoff {
                k += 1;
            }
            self.first[w] = k;
            out[w] = self.count - k;
        }
        out
    }
}

impl std::fmt::Debug for Crosses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crosses")
            .field("count", &self.count)
            .field("last", &self.last())
            .field("last_side", &self.last_side)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000_000_000;

    #[test]
    fn a_cross_needs_the_other_side_and_touches_do_not_reset() {
        let mut c = Crosses::new();
        c.observe(1, 1);
        c.observe(2, 0);
        c.observe(3, 1);
        assert_eq!(c.last(), None, "+1 → 0 → +1 is no cross");
        c.observe(4, 0);
        c.observe(5, -1);
        assert_eq!(c.last(), Some(5), "+1 → 0 → −1 crosses when it reaches the other side");
        c.observe(6, -1);
        c.observe(7, 1);
        assert_eq!(c.counts(7), [2, 2, 2]);
        c.reset();
        c.observe(8, -1);
        assert_eq!((c.last(), c.counts(8)), (None, [0, 0, 0]), "a new session forgets the side");
    }

    #[test]
    fn windows_slide_and_exclude_their_left_edge() {
        let mut c = Crosses::new();
        let mut side = 1;
        c.observe(0, side);
        for t in [MIN, 10 * MIN, 20 * MIN] {
            side = -side;
            c.observe(t, side);
        }
        assert_eq!(c.counts(20 * MIN), [1, 2, 3]);
        assert_eq!(c.counts(25 * MIN), [0, 1, 3], "the cross at 20 min left the 5-minute window at 25 min");
        assert_eq!(c.counts(31 * MIN), [0, 1, 2]);
        assert_eq!(c.counts(51 * MIN), [0, 0, 0]);
    }

    #[test]
    fn counts_saturate_at_the_capacity() {
        let mut c = Crosses::new();
        let mut side = 1;
        c.observe(0, side);
        let n = CROSS_CAPACITY as u64 + 100;
        for t in 1..=n {
            side = -side;
            c.observe(t, side);
        }
        assert_eq!(c.counts(n), [CROSS_CAPACITY as u64; 3]);
        assert_eq!(c.last(), Some(n));
        // Once the window holds fewer than the capacity, the count is exact again.
        assert_eq!(c.counts(n + CROSS_WINDOWS_NS[0] - 10), [10, CROSS_CAPACITY as u64, CROSS_CAPACITY as u64]);
    }
}
