//! `--every D`: a sampled matrix.
//!
//! Time is cut into intervals `((k−1)·D, k·D]`, aligned on multiples of `D` since the Unix epoch
//! (UTC). For each instrument and each interval that holds at least one of its events, the row kept is
//! its last event in the interval: the instrument's features as they stood at `k·D` ("the last row at
//! or before each multiple of D"). Intervals without an event of the instrument give no row (no
//! forward fill). Kept rows are unchanged rows of the full matrix (same `ts_ns`, `seq` and values), in
//! tape order, so `ts_ns` stays non-decreasing; the interval end of a row is `ceil(ts_ns / D) · D`.
//!
//! Streaming: a row is final once an event of a later interval arrives (tape time never goes
//! backwards), so at most one pending row per instrument is held.

use super::Row;

#[derive(Debug)]
pub struct Sampler {
    every_ns: u64,
    /// Interval index `k` of the rows pending.
    interval: u64,
    /// The last row of each instrument in the current interval.
    pending: Vec<Option<Row>>,
    order: Vec<(u64, usize)>,
}

impl Sampler {
    /// `every_ns` must be positive (the CLI checks it; 0 is taken as 1 ns).
    pub fn new(every_ns: u64, instruments: usize) -> Sampler {
        Sampler {
            every_ns: every_ns.max(1),
            interval: 0,
            pending: vec![None; instruments],
            order: Vec::with_capacity(instruments),
        }
    }

    /// The interval `k` with `(k−1)·D < ts ≤ k·D`.
    pub fn interval_of(&self, ts_ns: u64) -> u64 {
        ts_ns.div_ceil(self.every_ns)
    }

    /// Takes the next row of the full matrix; passes on to `emit` the rows that it makes final.
    pub fn push<E>(&mut self, row: &Row, emit: &mut impl FnMut(&Row) -> Result<(), E>) -> Result<(), E> {
        let k = self.interval_of(row.ts_ns);
        if k != self.interval {
            self.flush(emit)?;
            self.interval = k;
        }
        let i = usize::from(row.instrument);
        if i >= self.pending.len() {
            self.pending.resize(i + 1, None);
        }
        self.pending[i] = Some(*row);
        Ok(())
    }

    /// Passes on the rows still pending (at the end of the tape).
    pub fn finish<E>(&mut self, emit: &mut impl FnMut(&Row) -> Result<(), E>) -> Result<(), E> {
        self.flush(emit)
    }

    fn flush<E>(&mut self, emit: &mut impl FnMut(&Row) -> Result<(), E>) -> Result<(), E> {
        self.order.clear();
        self.order.extend(self.pending.iter().enumerate().filter_map(|(i, r)| r.as_ref().map(|r| (r.seq, i))));
        self.order.sort_unstable();
        for &(_, i) in &self.order {
            if let Some(row) = self.pending[i].take() {
                emit(&row)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kestrel_engine::features::FeatureVector;

    fn row(seq: u64, ts_ns: u64, instrument: u16) -> Row {
        Row { seq, ts_ns, instrument, values: FeatureVector::default() }
    }

    fn sample(every: u64, rows: &[Row]) -> Vec<u64> {
        let mut s = Sampler::new(every, 1);
        let mut out = Vec::new();
        let mut emit = |r: &Row| -> Result<(), ()> {
            out.push(r.seq);
            Ok(())
        };
        for r in rows {
            s.push(r, &mut emit).unwrap();
        }
        s.finish(&mut emit).unwrap();
        out
    }

    #[test]
    fn keeps_the_last_row_at_or_before_each_multiple() {
        // Intervals of 10: (0,10], (10,20], (20,30], ...
        let rows = [row(0, 1, 0), row(1, 10, 0), row(2, 11, 0), row(3, 19, 0), row(4, 35, 0), row(5, 40, 0)];
        assert_eq!(sample(10, &rows), vec![1, 3, 5]);
        assert_eq!(sample(1, &rows), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(sample(1000, &rows), vec![5]);
        assert!(sample(10, &[]).is_empty());
    }

    #[test]
    fn instruments_are_sampled_separately_and_rows_stay_in_tape_order() {
        let rows = [row(0, 1, 1), row(1, 2, 0), row(2, 3, 1), row(3, 12, 0), row(4, 13, 0), row(5, 25, 1)];
        let mut s = Sampler::new(10, 1); // grows to fit instrument 1
        let mut out = Vec::new();
        let mut emit = |r: &Row| -> Result<(), ()> {
            out.push((r.seq, r.instrument));
            Ok(())
        };
        for r in &rows {
            s.push(r, &mut emit).unwrap();
        }
        s.finish(&mut emit).unwrap();
        assert_eq!(out, vec![(1, 0), (2, 1), (4, 0), (5, 1)]);
    }
}
