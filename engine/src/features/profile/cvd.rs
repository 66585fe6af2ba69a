//! Cumulative volume delta of the session and its slopes over 5 and 15 minutes, from per-bar
//! snapshots.

/// The slope windows of CVD_SLOPE_5M / 15M, in ns.
pub const CVD_WINDOWS_NS: [u64; 2] = [300_000_000_000, 900_000_000_000];

/// Snapshots the ring holds: the newest snapshot at least 15 minutes old is never overwritten
/// while bars are at least 1 s long (the config's minimum): bars are distinct, so a 15-minute span
/// holds at most 901 bar closes, plus the session's first event. 16 KB.
pub const CVD_CAPACITY: usize = 1024;

/// The session's CVD (fixed-point quantity units, exact) and a ring of `(time, CVD)` snapshots.
#[derive(Clone)]
pub(super) struct Cvd {
    cvd: i64,
    snaps: Box<[(u64, i64)]>,
    /// Snapshots pushed this session; snapshot `k` is at `snaps[k % len]`.
    pushed: u64,
    /// Per window: the next snapshot not yet consumed, and the newest consumed one (the anchor:
    /// the newest snapshot at least the window old).
    next: [u64; 2],
    anchor: [Option<(u64, i64)>; 2],
}

impl Cvd {
    pub(super) fn new() -> Self {
        Self::with_capacity(CVD_CAPACITY)
    }

    fn with_capacity(capacity: usize) -> Self {
        Cvd {
            cvd: 0,
            snaps: vec![(0, 0); capacity.max(1)].into_boxed_slice(),
            pushed: 0,
            next: [0; 2],
            anchor: [None; 2],
        }
    }

    pub(super) fn reset(&mut self) {
        self.cvd = 0;
        self.pushed = 0;
        self.next = [0; 2];
        self.anchor = [None; 2];
    }

    /// Buyer-initiated `qty` counts +, seller-initiated −.
    #[inline]
    pub(super) fn add(&mut self, signed_qty: i64) {
        self.cvd = self.cvd.saturating_add(signed_qty);
    }

    #[inline]
    pub(super) fn value(&self) -> i64 {
        self.cvd
    }

    /// Records the CVD as it stands at `ts`.
    #[inline]
    pub(super) fn snapshot(&mut self, ts: u64) {
        let n = self.snaps.len() as u64;
        self.snaps[(self.pushed % n) as usize] = (ts, self.cvd);
        self.pushed += 1;
    }

    /// For each window W: (CVD now − CVD of the newest snapshot taken at or before `now − W`),
    /// divided by the minutes between that snapshot and `now`, in fixed-point quantity units per
    /// minute times `qty_unit`; NaN when there is no such snapshot this session (or, only with bars
    /// shorter than 1 s, when it may have been overwritten). Amortized O(1).
    #[inline]
    pub(super) fn slopes(&mut self, now: u64, qty_unit: f64) -> [f64; 2] {
        let n = self.snaps.len() as u64;
        let floor = self.pushed.saturating_sub(n);
        let mut out = [f64::NAN; 2];
        for (w, window) in CVD_WINDOWS_NS.iter().enumerate() {
            let Some(cutoff) = now.checked_sub(*window) else { continue };
            if self.next[w] < floor {
                // Snapshots this window had not reached were overwritten: the anchor may be stale.
                self.anchor[w] = None;
                self.next[w] = floor;
            }
            while self.next[w] < self.pushed {
                let snap = self.snaps[(self.next[w] % n) as usize];
                if snap.0 > cutoff {
                    break;
                }
                self.anchor[w] = Some(snap);
                self.next[w] += 1;
            }
            if let Some((ts, then)) = self.anchor[w] {
                let minutes = (now - ts) as f64 / 60e9;
                out[w] = (self.cvd - then) as f64 * qty_unit / minutes;
            }
        }
        out
    }
}

impl std::fmt::Debug for Cvd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cvd")
            .field("cvd", &self.cvd)
            .field("capacity", &self.snaps.len())
            .field("pushed", &self.pushed)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000_000_000;

    #[test]
    fn slopes_use_the_newest_snapshot_old_enough() {
        let mut c = Cvd::new();
        let t0 = 1_000 * MIN;
        c.snapshot(t0);
        assert!(c.slopes(t0 + 4 * MIN, 1.0).iter().all(|s| s.is_nan()));
        for m in 1..=20u64 {
            c.add(10);
            c.snapshot(t0 + m * MIN); // CVD 10·m at minute m
        }
        c.add(5); // 205 now
        let [s5, s15] = c.slopes(t0 + 20 * MIN + MIN / 2, 0.5);
        // 5 min: the snapshot at minute 15 (150), 5.5 minutes ago; 15 min: minute 5 (50).
        assert_eq!(s5, (205.0 - 150.0) * 0.5 / 5.5);
        assert_eq!(s15, (205.0 - 50.0) * 0.5 / 15.5);
        c.reset();
        assert!(c.slopes(t0 + 40 * MIN, 1.0).iter().all(|s| s.is_nan()));
    }

    #[test]
    fn a_ring_too_small_for_the_bars_gives_nan_not_a_wrong_slope() {
        let mut c = Cvd::with_capacity(5);
        let t0 = 1_000 * MIN;
        for m in 0..30u64 {
            c.add(1);
            c.snapshot(t0 + m * MIN);
        }
        // Snapshots of minutes 25..=29 are left: the 5-minute anchor (minute 25, CVD 26) is
        // among them, the 15-minute one (minute 15) is not.
        let [s5, s15] = c.slopes(t0 + 30 * MIN, 1.0);
        assert_eq!(s5, (30.0 - 26.0) / 5.0);
        assert!(s15.is_nan(), "{s15}");
    }
}
