//! How a simulated exchange behaves: capacities, queue model, latencies, fees.

use super::fees::FeeSchedule;
use super::latency::LatencyModel;
use super::queue::QueueModel;
use crate::types::InstrumentId;

/// How the exchange time of a market event is found.
///
/// The tape gives `ts_local` (our receipt) and often `ts_exchange`. Feed latency is
/// `ts_local - ts_exchange` when the tape has both and the difference is within `[0, max_tape_ns]`
/// (clocks in sync); otherwise (no exchange time, or a clock offset such as the bundled Binance
/// captures' ≈1.27 s) it is `fallback_ns`. The exchange applies the event at `ts_local - latency`,
/// so its timeline is our local clock shifted back, and orders (sent in local time) are comparable
/// with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeedLatency {
    pub use_tape: bool,
    pub max_tape_ns: u64,
    pub fallback_ns: u64,
}

impl Default for FeedLatency {
    fn default() -> Self {
        FeedLatency { use_tape: true, max_tape_ns: 1_000_000_000, fallback_ns: 0 }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Working (resting) orders the exchange accepts per instrument.
    pub max_orders: usize,
    /// Requests (new, cancel, modify) that may be on their way to the exchange at once.
    pub max_inflight: usize,
    /// Levels per side kept of each L2 book.
    pub max_levels: usize,
    pub queue: QueueModel,
    pub feed: FeedLatency,
    /// Engine → exchange, for new orders, cancels and modifies.
    pub entry_latency: LatencyModel,
    /// Exchange → engine, for every [`super::ExchEvent`].
    pub response_latency: LatencyModel,
    /// Seeds the empirical latency samplers.
    pub seed: u64,
    /// Fees per instrument; instruments not listed pay `default_fees`.
    pub fees: Vec<(InstrumentId, FeeSchedule)>,
    pub default_fees: FeeSchedule,
    /// L1-only instruments: virtual levels beyond the touch (see [`super::book::SimBook::walk`]).
    pub l1_extra_levels: u32,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            max_orders: 64,
            max_inflight: 256,
            max_levels: 64,
            queue: QueueModel::RiskAverse,
            feed: FeedLatency::default(),
            entry_latency: LatencyModel::Constant(0),
            response_latency: LatencyModel::Constant(0),
            seed: 0,
            fees: Vec::new(),
            default_fees: FeeSchedule::default(),
            l1_extra_levels: 0,
        }
    }
}
