//! The session's traded-volume histogram by price tick: its point of control kept in O(1) per trade,
//! its value area grown on demand.

/// Volume traded at each price tick of a fixed window centred on the session's first trade.
///
/// Bucket `b` holds the volume (in fixed-point quantity units, exact integers) of the trades whose
/// price rounds to tick `origin + b − width / 2`, where `origin` is the tick of the session's first
/// counted trade. Trades outside the window are not counted (see [`Histogram::dropped_trades`]).
#[derive(Clone)]
pub(super) struct Histogram {
    vol: Box<[u64]>,
    /// `width / 2`: the bucket of the first trade.
    half: usize,
    /// Tick of bucket `half`; meaningful once `started`.
    origin: i64,
    started: bool,
    /// Volume counted in the window this session.
    total: u64,
    /// The point of control: lowest bucket among those with the most volume.
    poc: usize,
    poc_vol: u64,
    /// Lowest and highest bucket with volume this session (valid when `total > 0`).
    lo_used: usize,
    hi_used: usize,
    dropped_trades: u64,
    dropped_qty: u64,
}

impl Histogram {
    pub(super) fn new(width: usize) -> Self {
        let width = width.max(1);
        Histogram {
            vol: vec![0; width].into_boxed_slice(),
            half: width / 2,
            origin: 0,
            started: false,
            total: 0,
            poc: 0,
            poc_vol: 0,
            lo_used: 0,
            hi_used: 0,
            dropped_trades: 0,
            dropped_qty: 0,
        }
    }

    /// Empties the histogram for a new session: zeroes only the buckets that were used (bounded by
    /// the width). The dropped-trade counters are kept (they count since construction).
    pub(super) fn reset(&mut self) {
        if self.total > 0 {
            self.vol[self.lo_used..=self.hi_used].fill(0);
        }
        self.started = false;
        self.total = 0;
        self.poc = 0;
        self.poc_vol = 0;
        self.lo_used = 0;
        self.hi_used = 0;
    }

    /// True once the session has had a trade (the window is placed).
    pub(super) fn started(&self) -> bool {
        self.started
    }

    /// Counts `qty` (> 0) traded at `tick`. The first call of a session places the window on `tick`.
    /// Returns false (and counts the trade as dropped) when `tick` falls outside the window.
    /// O(1): volumes only grow within a session, so the POC can only move to the bucket just added.
    #[inline]
    pub(super) fn add(&mut self, tick: i64, qty: u64) -> bool {
        if !self.started {
            self.started = true;
            self.origin = tick;
        }
        let offset = tick.checked_sub(self.origin).and_then(|d| d.checked_add(self.half as i64));
        let b = match offset {
            Some(o) if o >= 0 && (o as u64) < self.vol.len() as u64 => o as usize,
            _ => {
                self.dropped_trades += 1;
                self.dropped_qty = self.dropped_qty.saturating_add(qty);
                return false;
            }
        };
        if self.total == 0 {
            self.lo_used = b;
            self.hi_used = b;
        } else {
            self.lo_used = self.lo_used.min(b);
            self.hi_used = self.hi_used.max(b);
        }
        let v = self.vol[b].saturating_add(qty);
        self.vol[b] = v;
        self.total = self.total.saturating_add(qty);
        // Invariant: `poc` is the lowest bucket holding the maximum. Only `b` grew, so the new
        // maximum is `b` if it beats the POC, or ties it from below.
        if v > self.poc_vol || (v == self.poc_vol && b < self.poc) {
            self.poc = b;
        }
        if b == self.poc {
            self.poc_vol = v;
        }
        true
    }

    /// Tick of bucket `b`.
    #[inline]
    fn tick_of(&self, b: usize) -> i64 {
        self.origin + (b as i64 - self.half as i64)
    }

    /// The point of control's tick, once the session has counted volume.
    #[inline]
    pub(super) fn poc_tick(&self) -> Option<i64> {
        (self.total > 0).then(|| self.tick_of(self.poc))
    }

    /// The value area as (low tick, high tick), inclusive: starting from the POC's bucket, the
    /// range grows one bucket at a time toward the larger of the next bucket below and the next
    /// bucket above (the one below on a tie, empty buckets included; a side that reached the
    /// lowest / highest bucket with volume stops growing), until it holds at least 70 % of the
    /// counted volume (`covered · 10 ≥ total · 7`, in exact integers).
    ///
    /// Work: at most one step per bucket between the lowest and highest traded buckets of the
    /// session, so bounded by the histogram width.
    pub(super) fn value_area(&self) -> Option<(i64, i64)> {
        if self.total == 0 {
            return None;
        }
        let target = u128::from(self.total) * 7;
        let (mut lo, mut hi) = (self.poc, self.poc);
        let mut covered = u128::from(self.vol[self.poc]);
        while covered * 10 < target {
            let below = (lo > self.lo_used).then(|| self.vol[lo - 1]);
            let above = (hi < self.hi_used).then(|| self.vol[hi + 1]);
            match (below, above) {
                (Some(b), Some(a)) if b >= a => {
                    lo -= 1;
                    covered += u128::from(b);
                }
                (Some(b), None) => {
                    lo -= 1;
                    covered += u128::from(b);
                }
                (_, Some(a)) => {
                    hi += 1;
                    covered += u128::from(a);
                }
                // Unreachable while covered < total (the rest of the volume lies in
                // [lo_used, hi_used]); stop rather than loop if volumes ever saturated.
                (None, None) => break,
            }
        }
        Some((self.tick_of(lo), self.tick_of(hi)))
    }

    /// Trades not counted because their price fell outside the window, since construction.
    pub(super) fn dropped_trades(&self) -> u64 {
        self.dropped_trades
    }

    /// Their quantity, in fixed-point units (saturating).
    pub(super) fn dropped_qty(&self) -> u64 {
        self.dropped_qty
    }

    pub(super) fn width(&self) -> usize {
        self.vol.len()
    }

    /// Volume counted this session (fixed-point units).
    pub(super) fn total(&self) -> u64 {
        self.total
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("width", &self.vol.len())
            .field("origin", &self.origin)
            .field("started", &self.started)
            .field("total", &self.total)
            .field("poc_tick", &self.poc_tick())
            .field("dropped_trades", &self.dropped_trades)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poc_is_the_lowest_of_the_fullest_buckets() {
        let mut h = Histogram::new(11);
        assert_eq!(h.poc_tick(), None);
        assert!(h.add(100, 3));
        assert_eq!(h.poc_tick(), Some(100));
        assert!(h.add(102, 3));
        assert_eq!(h.poc_tick(), Some(100), "a tie above keeps the lower price");
        assert!(h.add(98, 3));
        assert_eq!(h.poc_tick(), Some(98), "a tie below takes the lower price");
        assert!(h.add(102, 1));
        assert_eq!(h.poc_tick(), Some(102));
        assert!(h.add(98, 1));
        assert_eq!(h.poc_tick(), Some(98));
        assert!(h.add(98, 1));
        assert_eq!(h.poc_tick(), Some(98), "adding to the POC keeps it");
    }

    #[test]
    fn trades_outside_the_window_are_dropped_and_counted() {
        let mut h = Histogram::new(5); // ticks 98..=102 around the first trade at 100
        assert!(h.add(100, 1));
        assert!(h.add(98, 1));
        assert!(h.add(102, 1));
        assert!(!h.add(97, 5));
        assert!(!h.add(103, 5));
        assert!(!h.add(i64::MIN, 5));
        assert_eq!((h.dropped_trades(), h.dropped_qty(), h.total()), (3, 15, 3));
        h.reset();
        assert!(h.add(i64::MAX, 1), "a new session re-centres the window");
        assert_eq!(h.poc_tick(), Some(i64::MAX));
        assert_eq!(h.dropped_trades(), 3);
    }

    #[test]
    fn value_area_grows_toward_the_larger_neighbour_lower_on_ties() {
        let mut h = Histogram::new(21);
        // ticks:   96 97 98 99 100 101 102 103
        // volume:   1  0  2  5  10   5   2   1   total 26, 70 % = 18.2
        for (t, v) in [(100, 10), (96, 1), (98, 2), (99, 5), (101, 5), (102, 2), (103, 1)] {
            h.add(t, v);
        }
        // 10 → +5 below (tie, lower) 15 → +5 above 20 ≥ 18.2.
        assert_eq!(h.value_area(), Some((99, 101)));
        // Empty buckets are stepped through: a lone far trade.
        let mut h = Histogram::new(21);
        h.add(100, 10);
        h.add(105, 9);
        assert_eq!(h.value_area(), Some((100, 105)), "below is exhausted, so it grows up through empty buckets");
        h.reset();
        h.add(100, 10);
        assert_eq!(h.value_area(), Some((100, 100)));
        h.add(99, 1);
        h.add(101, 1);
        h.add(90, 2); // 14 total, 70 % = 9.8: the POC alone holds it
        assert_eq!(h.value_area(), Some((100, 100)));
        h.add(90, 6); // 20 total, 70 % = 14: 10, +1 below (tie) 11, then 0 below vs 1 above → 12, then
        // the ties on empty buckets go down to 90: 12 + 8 = 20.
        assert_eq!(h.value_area(), Some((90, 101)));
    }

    #[test]
    fn exactly_seventy_percent_is_enough() {
        let mut h = Histogram::new(11);
        h.add(100, 7);
        h.add(101, 3);
        assert_eq!(h.value_area(), Some((100, 100)));
    }
}
