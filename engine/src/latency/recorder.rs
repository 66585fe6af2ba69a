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
    /// One call of the p(win) model (gathering its inputs excluded), every call.
    ModelPWin,
    /// One call of the slippage model, every call.
    ModelSlippage,
    /// The decide stage's service time (as [`Metric::Decide`]) of the events it handled while the
    /// cold side had a model swap under way (`ModelControl::swap_window`: load, shadow scoring,
    /// handover, freeing the old model): compare with `decide` to see what a swap costs the hot path.
    DecideInSwap,
}

impl Metric {
    pub const ALL: [Metric; 9] = [
        Metric::Ingest,
        Metric::Features,
        Metric::Decide,
        Metric::Execute,
        Metric::TickToDecision,
        Metric::TickToOrder,
        Metric::ModelPWin,
        Metric::ModelSlippage,
        Metric::DecideInSwap,
    ];

    /// The model metrics are only reported (summary, `latency.json`, `latency.hlog`) when recorded:
    /// a run without models, or without a swap, has none of them.
    pub fn is_optional(self) -> bool {
        matches!(self, Metric::ModelPWin | Metric::ModelSlippage | Metric::DecideInSwap)
    }

    pub fn name(self) -> &'static str {
        match self {
            Metric::Ingest => "ingest",
            Metric::Features => "features",
            Metric::Decide => "decide",
            Metric::Execute => "execute",
            Metric::TickToDecision => "tick_to_decision",
            Metric::TickToOrder => "tick_to_order",
            Metric::ModelPWin => "model_pwin",
            Metric::ModelSlippage => "model_slippage",
            Metric::DecideInSwap => "decide_in_swap",
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
        LatencyRecorder { hists: std::array::from_fn(|_| new_histogram()) }
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

    /// Adds one histogram recorded elsewhere (a stage's own, see [`new_histogram`]) into `metric`'s.
    pub fn merge_histogram(&mut self, metric: Metric, other: &Histogram<u64>) {
        // `new_histogram` has this recorder's bounds; a wider one saturates rather than failing.
        if self.hists[metric as usize].add(other).is_err() {
            for v in other.iter_recorded() {
                self.hists[metric as usize].saturating_record_n(v.value_iterated_to(), v.count_at_value());
            }
        }
    }

    /// Whether the run reports `metric` (see [`Metric::is_optional`]).
    pub fn reports(&self, metric: Metric) -> bool {
        !metric.is_optional() || !self.histogram(metric).is_empty()
    }
}

/// A histogram with the recorder's bounds, for a stage that times something of its own on the hot
/// thread (no allocation per record) and hands it over at the end ([`LatencyRecorder::merge_histogram`]).
pub fn new_histogram() -> Histogram<u64> {
    // Bounds are valid constants (1 ≤ low, high ≥ 2·low, sigfigs ≤ 5): this cannot fail.
    Histogram::new_with_bounds(1, MAX_TRACKABLE_NS, SIGFIGS).expect("valid histogram bounds")
}

/// Records `nanos` into a histogram from [`new_histogram`] as [`LatencyRecorder::record`] does.
#[inline]
pub fn record_into(h: &mut Histogram<u64>, nanos: u64) {
    h.saturating_record(nanos.max(1));
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
