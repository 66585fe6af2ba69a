//! The first strategy: lean with the L1 imbalance. When the bid holds much more size than the ask
//! (imbalance ≥ threshold) buy; when the ask does, sell — at market, or by joining the queue at our
//! own touch for a while. Bracket exits close the position. Simple, configurable and enough to drive
//! the whole loop; models replace the signal in the models issue.

use crate::account::BracketSpec;
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
    /// The strategy's own largest absolute position, counting its working orders (the risk gate has
    /// its own, firm, limit).
    pub max_position: Qty,
    pub tick: Price,
}

/// How an entry goes to the market.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryStyle {
    /// A market order (IOC): pays the spread and the taker fee, fills at once if there is size.
    Market,
    /// A post-only limit order at our own touch (the bid for a buy): joins the queue behind the
    /// displayed size, earns the maker fee if it fills, and is cancelled after `ttl_ns` of tape time
    /// if it has not filled completely.
    Join { ttl_ns: u64 },
}

#[derive(Clone, Debug, PartialEq)]
pub struct RuleParams {
    /// |L1 imbalance| at or above which the rule wants to trade, in (0, 1].
    pub imbalance_threshold: f64,
    /// Least tape time between two candidates on one instrument.
    pub cooldown_ns: u64,
    /// Widest spread, in ticks, at which the rule still trades.
    pub max_spread_ticks: i64,
    /// Most entry orders working or on their way at once.
    pub max_in_flight: u32,
    /// Indexed by instrument id.
    pub instruments: Vec<InstrumentLimits>,
    pub entry: EntryStyle,
    /// Exits of every position the strategy opens; `None`: positions are only closed by opposite
    /// signals.
    pub brackets: Option<BracketSpec>,
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
