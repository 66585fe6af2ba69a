//! What the simulated exchange tells the engine.

use crate::journal::{RejectReason, Side};
use crate::orders::Liquidity;
use crate::types::{InstrumentId, Price, Qty, UnixNanos};

/// Why the simulated exchange refused a request; [`SimReject::journal_reason`] names it for the
/// journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimReject {
    /// The instrument index is outside the exchange's table.
    UnknownInstrument,
    /// Quantity not positive or not a multiple of the lot (for a modify: not above what is filled).
    InvalidQty,
    /// Limit price not positive or not on the tick.
    InvalidPrice,
    /// A post-only order (or a modify of one) would take liquidity.
    PostOnlyWouldCross,
    /// The instrument already has `max_orders` working orders, or too many requests are in flight.
    TooManyOrders,
    /// Nothing on the other side of the book for a market order.
    NoLiquidity,
    /// A new order reused the id of a working order.
    DuplicateOrderId,
    /// Cancel or modify of an order the exchange never had.
    UnknownOrder,
    /// Cancel or modify of an order that is already done (filled, cancelled or expired).
    TooLate,
}

impl SimReject {
    /// The journal's reason.
    pub fn journal_reason(self) -> RejectReason {
        match self {
            SimReject::UnknownInstrument => RejectReason::UnknownInstrument,
            SimReject::InvalidQty => RejectReason::InvalidQty,
            SimReject::InvalidPrice => RejectReason::InvalidPrice,
            SimReject::PostOnlyWouldCross => RejectReason::PostOnlyWouldCross,
            SimReject::TooManyOrders => RejectReason::TooManyOrders,
            SimReject::NoLiquidity => RejectReason::NoLiquidity,
            SimReject::DuplicateOrderId => RejectReason::DuplicateOrderId,
            SimReject::UnknownOrder => RejectReason::UnknownOrder,
            SimReject::TooLate => RejectReason::TooLate,
        }
    }
}

/// Which request a reject answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    New,
    Cancel,
    Modify,
}

/// One message from the exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExchEvent {
    pub order_id: u64,
    pub instrument: InstrumentId,
    pub side: Side,
    /// When it happened at the exchange (the exchange's timeline, see the module docs).
    pub ts_exchange: UnixNanos,
    /// When the engine hears of it: `ts_exchange` + response latency, never earlier than a
    /// previous event's (responses travel in order). The engine must not act on it before.
    pub ts_recv: UnixNanos,
    pub kind: ExchKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExchKind {
    /// The order was accepted (`px` is zero for a market order).
    Ack {
        px: Price,
        qty: Qty,
    },
    /// A fill. `fee` is in quote units of `10^-(price_scale + qty_scale)`; negative for a rebate.
    Fill {
        px: Price,
        qty: Qty,
        leaves: Qty,
        liquidity: Liquidity,
        fee: i64,
    },
    /// Cancelled at our request; `leaves` was still open.
    Canceled {
        leaves: Qty,
    },
    /// A modify took effect: the order is now `qty` in total at `px`, `leaves` open.
    Modified {
        px: Price,
        qty: Qty,
        leaves: Qty,
    },
    /// The unfilled rest of an IOC or market order (or of a limit whose book ran out).
    Expired {
        leaves: Qty,
    },
    Rejected {
        reason: SimReject,
        request: RequestKind,
    },
}
