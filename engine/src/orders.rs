//! The order vocabulary shared by the strategy, the risk gate, the venues and the position keeper.
//!
//! Fixed-size and `Copy`, so that orders travel through rings by value. Prices and quantities are
//! fixed-point in the instrument's units (DESIGN.md §2.4).

use crate::journal::Side;
use crate::types::{InstrumentId, Price, Qty, UnixNanos};

/// Which strategy an order belongs to (dense, resolved at start-up like instruments).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StrategyId(pub u16);

/// How an order may execute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderKind {
    /// Take whatever the book offers, walking levels until filled (or the book runs out).
    Market,
    /// Rest at `px` (or better): joins the queue behind the size already displayed there.
    Limit { px: Price },
}

/// How long an order may live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeInForce {
    /// Good till cancelled.
    Gtc,
    /// Immediate or cancel: fill what is possible on arrival, cancel the rest.
    Ioc,
    /// Post only: a limit order that would take liquidity on arrival is rejected instead.
    PostOnly,
}

/// Why an order exists: entries open risk, exits (take-profit, stop-loss, time exit, manual flatten)
/// reduce it. A HALTED engine refuses entries and still lets exits through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Entry,
    TakeProfit,
    StopLoss,
    TimeExit,
    Flatten,
}

impl Purpose {
    pub fn is_exit(self) -> bool {
        !matches!(self, Purpose::Entry)
    }
}

/// An order as the strategy asks for it, before the risk gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderRequest {
    pub order_id: u64,
    pub strategy: StrategyId,
    pub instrument: InstrumentId,
    pub side: Side,
    pub qty: Qty,
    pub kind: OrderKind,
    pub tif: TimeInForce,
    pub purpose: Purpose,
    /// Tape (or live) time the strategy decided it.
    pub created: UnixNanos,
}

/// Who provided liquidity in a fill: maker fills rest in the book, taker fills cross the spread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liquidity {
    Maker,
    Taker,
}
