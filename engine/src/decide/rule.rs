//! The first strategy: lean with the L1 imbalance. When the bid holds much more size than the ask
//! (imbalance ≥ threshold) buy at market; when the ask does, sell. Simple, configurable and enough to
//! drive the whole loop; models replace the signal in the models issue.

use crate::event::Features;
use crate::features::idx;
use crate::journal::Side;
use crate::types::{Price, Qty};

/// Per-instrument sizes and limits, resolved to the instrument's own units at start-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstrumentLimits {
    /// Whether the strategy trades this instrument at all.
    pub trade: bool,
    pub order_qty: Qty,
    /// Largest absolute position, counting orders still in flight.
    pub max_position: Qty,
    pub tick: Price,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RuleParams {
    /// |L1 imbalance| at or above which the rule wants to trade, in (0, 1].
    pub imbalance_threshold: f64,
    /// Least tape time between two candidates on one instrument.
    pub cooldown_ns: u64,
    /// Widest spread, in ticks, at which the rule still trades.
    pub max_spread_ticks: i64,
    /// Most orders awaiting the venue's answer at once.
    pub max_in_flight: u32,
    /// Indexed by instrument id.
    pub instruments: Vec<InstrumentLimits>,
}

impl RuleParams {
    /// The side the rule wants, if any.
    #[inline]
    pub fn signal(&self, f: &Features) -> Option<Side> {
        let imbalance = f.values.get(idx::IMBALANCE_L1);
        // NaN (no two-sided book yet) compares false both ways: no signal.
        if imbalance >= self.imbalance_threshold {
            Some(Side::Buy)
        } else if imbalance <= -self.imbalance_threshold {
            Some(Side::Sell)
        } else {
            None
        }
    }
}
