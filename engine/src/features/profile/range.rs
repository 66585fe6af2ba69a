//! Session ranges of previous sessions, per bar-length slot of elapsed session time, for the
//! session-range percentile.

/// Previous sessions the percentile compares against.
pub const RANGE_HISTORY: usize = 30;

/// Most slots per session: beyond `MAX_RANGE_SLOTS` bars per session, slots are widened to
/// `ceil(session / MAX_RANGE_SLOTS)` so that the table stays at most `31 × 2880 × 8` bytes ≈ 714 KB.
pub const MAX_RANGE_SLOTS: usize = 2880;

/// The slot length and slot count for a bar length and a session length.
pub fn range_slots(bar_ns: u64, session_ns: u64) -> (u64, usize) {
    let session_ns = session_ns.max(1);
    let mut slot_ns = bar_ns.max(1);
    if session_ns.div_ceil(slot_ns) > MAX_RANGE_SLOTS as u64 {
        slot_ns = session_ns.div_ceil(MAX_RANGE_SLOTS as u64);
    }
    (slot_ns, session_ns.div_ceil(slot_ns) as usize)
}

/// Row `r`, slot `j` holds the range (in half price units, the unit of bid + ask) of a session's
/// mid over every event whose elapsed time is below `(j + 1) · slot_ns`, or −1 while it had no mid.
/// Rows form a ring of `RANGE_HISTORY + 1`: the current session's row and up to `RANGE_HISTORY`
/// completed ones.
#[derive(Clone)]
pub(super) struct RangeTable {
    slot_ns: u64,
    slots: usize,
    rows: Box<[i64]>,
    /// Row being filled by the current session.
    current: usize,
    /// Completed sessions held (at most `RANGE_HISTORY`).
    completed: usize,
    /// Slots of the current row already final.
    filled: usize,
}

impl RangeTable {
    pub(super) fn new(bar_ns: u64, session_ns: u64) -> Self {
        let (slot_ns, slots) = range_slots(bar_ns, session_ns);
        RangeTable {
            slot_ns,
            slots,
            rows: vec![-1; (RANGE_HISTORY + 1) * slots].into_boxed_slice(),
            current: 0,
            completed: 0,
            filled: 0,
        }
    }

    /// The slot of an elapsed session time (the last slot for anything beyond the session length).
    #[inline]
    pub(super) fn slot_of(&self, elapsed_ns: u64) -> usize {
        let j = elapsed_ns / self.slot_ns;
        if j >= self.slots as u64 { self.slots - 1 } else { j as usize }
    }

    /// Before the first event of slot `slot`: every earlier slot not yet final ends with `range`
    /// (the range before this event). Work over a session is at most one write per slot.
    #[inline]
    pub(super) fn enter(&mut self, slot: usize, range: i64) {
        let base = self.current * self.slots;
        while self.filled < slot {
            self.rows[base + self.filled] = range;
            self.filled += 1;
        }
    }

    /// Closes the current session with its final `range` (every remaining slot) and starts a row for
    /// the next one, overwriting the oldest session when the history is full.
    pub(super) fn end_session(&mut self, range: i64) {
        let base = self.current * self.slots;
        self.rows[base + self.filled..base + self.slots].fill(range);
        self.current = (self.current + 1) % (RANGE_HISTORY + 1);
        self.completed = (self.completed + 1).min(RANGE_HISTORY);
        self.filled = 0;
    }

    /// Share of the completed sessions with a range at `slot` whose range there is smaller than
    /// `range`; NaN when `range` is undefined (< 0) or no completed session has a range at `slot`.
    #[inline]
    pub(super) fn percentile(&self, slot: usize, range: i64) -> f64 {
        if range < 0 {
            return f64::NAN;
        }
        let rows = RANGE_HISTORY + 1;
        let (mut below, mut known) = (0u32, 0u32);
        for back in 1..=self.completed {
            let row = (self.current + rows - back) % rows;
            let v = self.rows[row * self.slots + slot];
            if v >= 0 {
                known += 1;
                below += u32::from(v < range);
            }
        }
        if known == 0 { f64::NAN } else { f64::from(below) / f64::from(known) }
    }

    pub(super) fn slot_ns(&self) -> u64 {
        self.slot_ns
    }

    pub(super) fn slots(&self) -> usize {
        self.slots
    }
}

impl std::fmt::Debug for RangeTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RangeTable")
            .field("slot_ns", &self.slot_ns)
            .field("slots", &self.slots)
            .field("completed", &self.completed)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000_000_000;

    #[test]
    fn slots_are_bars_unless_there_are_too_many() {
        assert_eq!(range_slots(MIN, 24 * 60 * MIN), (MIN, 1440));
        assert_eq!(range_slots(MIN, 90 * 1_000_000_000), (MIN, 2), "a partial last bar is a slot");
        let week = 7 * 24 * 60 * MIN;
        let (slot, n) = range_slots(1_000_000_000, week);
        assert_eq!((slot, n), (week / MAX_RANGE_SLOTS as u64, MAX_RANGE_SLOTS));
    }

    #[test]
    fn percentile_compares_with_previous_sessions_at_the_same_slot() {
        let mut t = RangeTable::new(MIN, 10 * MIN);
        assert!(t.percentile(0, 5).is_nan(), "no previous session");
        // Session 1: no mid in slot 0, range 4 by the end of slot 1, 10 at the end.
        t.enter(1, -1);
        t.enter(2, 4);
        t.end_session(10);
        // Session 2: range 6 from slot 0.
        t.enter(3, 6);
        t.end_session(6);
        assert_eq!(t.percentile(0, 7), 1.0, "session 1 had no range in slot 0: only session 2 counts");
        assert_eq!(t.percentile(1, 5), 0.5, "4 < 5, 6 ≥ 5");
        assert_eq!(t.percentile(9, 8), 0.5, "10 ≥ 8 > 6");
        assert_eq!(t.percentile(9, 6), 0.0, "strictly smaller only");
        assert!(t.percentile(3, -1).is_nan());
    }

    #[test]
    fn only_the_last_sessions_are_kept() {
        let mut t = RangeTable::new(MIN, MIN);
        for s in 0..(RANGE_HISTORY as i64 + 5) {
            t.end_session(s);
        }
        // Ranges 5..=34 are held: 10 of them are below 15.
        assert_eq!(t.percentile(0, 15), 10.0 / RANGE_HISTORY as f64);
    }
}
