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
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Entry,
    TakeProfit,
    StopLoss,
    TimeExit,
    Flatten,
}

impl Purpose {
    pub const ALL: [Purpose; 5] =
        [Purpose::Entry, Purpose::TakeProfit, Purpose::StopLoss, Purpose::TimeExit, Purpose::Flatten];

    pub fn is_exit(self) -> bool {
        !matches!(self, Purpose::Entry)
    }

    /// The journal's byte (`aux` of Decision, Blocked and Order records), from 1.
    pub fn as_u8(self) -> u8 {
        self as u8 + 1
    }

    pub fn from_u8(v: u8) -> Option<Self> {
        Self::ALL.get(usize::from(v).checked_sub(1)?).copied()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Entry => "entry",
            Purpose::TakeProfit => "take_profit",
            Purpose::StopLoss => "stop_loss",
            Purpose::TimeExit => "time_exit",
            Purpose::Flatten => "flatten",
        }
    }
}

impl OrderKind {
    /// The journal's `order_type` byte: 1 market, 2 limit.
    pub fn as_u8(self) -> u8 {
        match self {
            OrderKind::Market => 1,
            OrderKind::Limit { .. } => 2,
        }
    }

    /// The limit price, or 0 for a market order (the journal's `px` on Order records).
    pub fn px(self) -> Price {
        match self {
            OrderKind::Market => Price(0),
            OrderKind::Limit { px } => px,
        }
    }
}

impl TimeInForce {
    /// The journal's `tif` byte: 1 GTC, 2 IOC, 3 post-only.
    pub fn as_u8(self) -> u8 {
        match self {
            TimeInForce::Gtc => 1,
            TimeInForce::Ioc => 2,
            TimeInForce::PostOnly => 3,
        }
    }

    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(TimeInForce::Gtc),
            2 => Some(TimeInForce::Ioc),
            3 => Some(TimeInForce::PostOnly),
            _ => None,
        }
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

impl Liquidity {
    /// The journal's byte (`aux` of Fill records): 1 maker, 2 taker.
    pub fn as_u8(self) -> u8 {
        match self {
            Liquidity::Maker => 1,
            Liquidity::Taker => 2,
        }
    }

    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Liquidity::Maker),
            2 => Some(Liquidity::Taker),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Liquidity::Maker => "maker",
            Liquidity::Taker => "taker",
        }
    }
}
