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
    /// The instrument's lot: model-sized entries are a whole number of lots.
    pub lot: Qty,
    /// The venue's fees for the instrument, in thousandths of a bp (as the simulated exchange's
    /// [`FeeSchedule`](crate::execute::sim::FeeSchedule)): the models' expected value pays them.
    pub maker_fee_millibps: i64,
    pub taker_fee_millibps: i64,
    /// With a p(win) model: the most an entry may lose at its CVaR, in units of
    /// `10^-(price_scale + qty_scale)` of the quote currency; 0: entries are `order_qty`.
    pub cvar_budget: i128,
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
    /// Market or join, per candidate, whichever the models give the larger expected value (see
    /// [`crate::decide::model::policy`]); joined entries are cancelled after `ttl_ns`. Needs a p(win)
    /// model.
    Auto { ttl_ns: u64 },
}

impl EntryStyle {
    /// How long a joined entry rests, for the styles that join.
    pub fn join_ttl_ns(self) -> Option<u64> {
        match self {
            EntryStyle::Market => None,
            EntryStyle::Join { ttl_ns } | EntryStyle::Auto { ttl_ns } => Some(ttl_ns),
        }
    }
}

/// How the models' answers become a decision (used only when a p(win) model is live).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DecisionParams {
    /// Least p(win) to trade.
    pub min_pwin: f64,
    /// Least expected value, net of costs, in bps of the mid.
    pub min_ev_bps: f64,
    /// Chance that a joined entry fills, in (0, 1].
    pub join_fill_probability: f64,
    /// Longest a model call may take, in ns, before it fails safe as an overrun; 0: no deadline.
    pub deadline_ns: u64,
}

impl Default for DecisionParams {
    fn default() -> Self {
        DecisionParams { min_pwin: 0.55, min_ev_bps: 0.0, join_fill_probability: 0.35, deadline_ns: 0 }
    }
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
    /// Gates, expected value and size from the models.
    pub decision: DecisionParams,
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
