//! Pre-sized histograms, one per [`Metric`], that a hot thread records into.

use hdrhistogram::Histogram;

/// Largest value a histogram holds: 60 s in ns. Larger values are clamped to it (and show as the
/// max), which only a stalled machine produces.
pub const MAX_TRACKABLE_NS: u64 = 60_000_000_000;
/// Three significant digits: 0.1 % resolution at every magnitude.
const SIGFIGS: u8 = 3;

/// What is timed. Stage metrics are service time (from the stage taking an event to it handing the
/// result on); the end-to-end metrics run from ingest's stamp, so in the threaded topology they also
/// include ring hops and any queueing behind a busy stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    Ingest,
    Features,
    Decide,
    Execute,
    /// Ingest stamp → decide done, every event.
    TickToDecision,
    /// Ingest stamp → order handed to the venue, events that sent an order.
    TickToOrder,
}

impl Metric {
    pub const ALL: [Metric; 6] = [
        Metric::Ingest,
        Metric::Features,
        Metric::Decide,
        Metric::Execute,
        Metric::TickToDecision,
        Metric::TickToOrder,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Ingest => "ingest",
            Metric::Features => "features",
            Metric::Decide => "decide",
            Metric::Execute => "execute",
            Metric::TickToDecision => "tick_to_decision",
            Metric::TickToOrder => "tick_to_order",
        }
    }
}

/// One histogram per metric, allocated up front.
#[derive(Clone, Debug)]
pub struct LatencyRecorder {
    hists: [Histogram<u64>; Metric::ALL.len()],
}

impl Default for LatencyRecorder {
    fn default() -> Self {
        LatencyRecorder::new()
    }
}

impl LatencyRecorder {
    pub fn new() -> Self {
        let make = || {
            // Bounds are valid constants (1 ≤ low, high ≥ 2·low, sigfigs ≤ 5): this cannot fail.
            Histogram::new_with_bounds(1, MAX_TRACKABLE_NS, SIGFIGS).expect("valid histogram bounds")
        };
        LatencyRecorder { hists: std::array::from_fn(|_| make()) }
    }

    /// Records `nanos` (clamped into `1..=MAX_TRACKABLE_NS`, so a 0 ns reading counts as 1 ns). Never
    /// allocates: the histogram was sized for the whole range at construction.
    #[inline]
    pub fn record(&mut self, metric: Metric, nanos: u64) {
        self.hists[metric as usize].saturating_record(nanos.max(1));
    }

    pub fn histogram(&self, metric: Metric) -> &Histogram<u64> {
        &self.hists[metric as usize]
    }

    /// Adds `other`'s counts into this one (the cold side merging the hot threads' recorders).
    pub fn merge(&mut self, other: &LatencyRecorder) {
        for (mine, theirs) in self.hists.iter_mut().zip(&other.hists) {
            // Same bounds on both sides, so adding cannot go out of range.
            mine.add(theirs).expect("histograms with equal bounds");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_counts_and_extremes_are_clamped() {
        let mut a = LatencyRecorder::new();
        let mut b = LatencyRecorder::new();
        a.record(Metric::Decide, 100);
        b.record(Metric::Decide, 300);
        b.record(Metric::Decide, 0);
        b.record(Metric::TickToOrder, u64::MAX);
        a.merge(&b);
        let h = a.histogram(Metric::Decide);
        assert_eq!(h.len(), 3);
        assert_eq!(h.min(), 1);
        assert!(a.histogram(Metric::TickToOrder).max() >= MAX_TRACKABLE_NS);
        assert_eq!(a.histogram(Metric::Features).len(), 0);
    }
}
