//! The life of one order, as a state machine driven by what we do and what the venue says.
//!
//! | from                                | event                  | to                                   |
//! |-------------------------------------|------------------------|--------------------------------------|
//! | New                                 | Sent                   | Sent                                 |
//! | New, Sent                           | Rejected               | Rejected                             |
//! | New (never sent)                    | Canceled               | Canceled                             |
//! | Sent                                | Ack                    | Acked                                |
//! | PartiallyFilled, CancelPending      | Ack (late, first one)  | unchanged, noted as acked            |
//! | Sent, Acked, PartiallyFilled        | Fill                   | PartiallyFilled, or Filled at leaves 0 |
//! | CancelPending                       | Fill                   | CancelPending, or Filled at leaves 0 |
//! | Sent, Acked, PartiallyFilled        | CancelRequested        | CancelPending                        |
//! | CancelPending                       | CancelRejected         | back to Sent, Acked or PartiallyFilled |
//! | Sent, Acked, PartiallyFilled, CancelPending | Canceled (asked for or not: an IOC's rest) | Canceled |
//! | Sent, Acked, PartiallyFilled, CancelPending | Expired        | Expired                              |
//! | CancelPending, never acked, unfilled | Rejected              | Rejected                             |
//!
//! A fill may beat the ack (an IOC filled on arrival): Sent goes straight to PartiallyFilled or Filled.
//! Filled, Canceled, Rejected and Expired are terminal: every event there is an error.
//!
//! An illegal event returns a [`TransitionError`] naming the state and the event, and leaves the
//! order unchanged; nothing panics. A fill must be positive, must not take the filled quantity past
//! the order's, and its `leaves` must equal what the order has left after it (a venue that disagrees
//! with us about what is left is a reconciliation fault, reported rather than absorbed).

use super::avg_price::AvgPrice;
use crate::orders::{Liquidity, OrderRequest};
use crate::types::{Price, Qty};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderState {
    /// Created, not yet handed to the venue.
    New,
    /// Handed to the venue, not yet acknowledged.
    Sent,
    /// Accepted by the venue, nothing filled.
    Acked,
    PartiallyFilled,
    Filled,
    /// We asked to cancel; the venue has not answered.
    CancelPending,
    Canceled,
    Rejected,
    Expired,
}

impl OrderState {
    pub fn is_terminal(self) -> bool {
        matches!(self, OrderState::Filled | OrderState::Canceled | OrderState::Rejected | OrderState::Expired)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::New => "New",
            OrderState::Sent => "Sent",
            OrderState::Acked => "Acked",
            OrderState::PartiallyFilled => "PartiallyFilled",
            OrderState::Filled => "Filled",
            OrderState::CancelPending => "CancelPending",
            OrderState::Canceled => "Canceled",
            OrderState::Rejected => "Rejected",
            OrderState::Expired => "Expired",
        }
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One execution report of a fill, as the venue gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FillReport {
    pub px: Price,
    /// This fill's quantity (positive).
    pub qty: Qty,
    /// What the venue says is left of the order after this fill.
    pub leaves: Qty,
    /// In quote units of `10^-(price_scale + qty_scale)`; negative for a rebate.
    pub fee: i128,
    pub liquidity: Liquidity,
}

/// What happened to an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderEvent {
    /// We handed it to the venue.
    Sent,
    /// The venue accepted it.
    Ack,
    Fill(FillReport),
    /// We asked the venue to cancel it.
    CancelRequested,
    /// The venue refused to cancel it (too late, unknown order): it is still working.
    CancelRejected,
    Canceled,
    Rejected,
    Expired,
}

/// An [`OrderEvent`] without its data, for errors and counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    Sent,
    Ack,
    Fill,
    CancelRequested,
    CancelRejected,
    Canceled,
    Rejected,
    Expired,
}

impl OrderEvent {
    pub fn kind(&self) -> EventKind {
        match self {
            OrderEvent::Sent => EventKind::Sent,
            OrderEvent::Ack => EventKind::Ack,
            OrderEvent::Fill(_) => EventKind::Fill,
            OrderEvent::CancelRequested => EventKind::CancelRequested,
            OrderEvent::CancelRejected => EventKind::CancelRejected,
            OrderEvent::Canceled => EventKind::Canceled,
            OrderEvent::Rejected => EventKind::Rejected,
            OrderEvent::Expired => EventKind::Expired,
        }
    }
}

/// Why an event was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The event cannot happen in this state.
    Illegal,
    /// A fill of zero or negative quantity.
    NonPositiveFill { qty: Qty },
    /// The fill would take the filled quantity past the order's.
    Overfill { filled: Qty, fill: Qty, order_qty: Qty },
    /// The venue's `leaves` disagrees with ours.
    LeavesMismatch { expected: Qty, reported: Qty },
}

/// An event the order's state machine refused; the order is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("order {order_id}: {event:?} in state {state} refused ({why:?})")]
pub struct TransitionError {
    pub order_id: u64,
    pub state: OrderState,
    pub event: EventKind,
    pub why: Refusal,
}

/// An order and everything heard about it so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Order {
    pub request: OrderRequest,
    state: OrderState,
    filled: Qty,
    /// Sum of price × quantity of the fills.
    notional: i128,
    fees: i128,
    fills: u32,
    acked: bool,
}

impl Order {
    pub fn new(request: OrderRequest) -> Self {
        Order { request, state: OrderState::New, filled: Qty(0), notional: 0, fees: 0, fills: 0, acked: false }
    }

    pub fn id(&self) -> u64 {
        self.request.order_id
    }

    pub fn state(&self) -> OrderState {
        self.state
    }

    pub fn filled(&self) -> Qty {
        self.filled
    }

    /// What is left to fill; zero once the order is terminal.
    pub fn leaves(&self) -> Qty {
        if self.state.is_terminal() { Qty(0) } else { Qty(self.request.qty.0 - self.filled.0) }
    }

    /// Exact average fill price; `None` before the first fill.
    pub fn avg_fill_px(&self) -> Option<AvgPrice> {
        AvgPrice::new(self.notional, i128::from(self.filled.0))
    }

    /// Fees of all fills so far, net of rebates.
    pub fn fees(&self) -> i128 {
        self.fees
    }

    pub fn fill_count(&self) -> u32 {
        self.fills
    }

    /// The venue has acknowledged the order (possibly after a first fill).
    pub fn acked(&self) -> bool {
        self.acked
    }

    /// Applies one event; returns the new state, or refuses and leaves the order as it was.
    pub fn apply(&mut self, event: &OrderEvent) -> Result<OrderState, TransitionError> {
        use OrderState as S;
        let (order_id, state, kind) = (self.id(), self.state, event.kind());
        let refuse = |why| TransitionError { order_id, state, event: kind, why };
        let next = match (self.state, event) {
            (S::New, OrderEvent::Sent) => S::Sent,
            (S::New | S::Sent, OrderEvent::Rejected) => S::Rejected,
            (S::CancelPending, OrderEvent::Rejected) if !self.acked && self.filled.0 == 0 => S::Rejected,
            (S::New, OrderEvent::Canceled) => S::Canceled,

            (S::Sent, OrderEvent::Ack) => {
                self.acked = true;
                S::Acked
            }
            // A late ack after a fill (or after we asked to cancel) is noted; the state stays.
            (S::PartiallyFilled | S::CancelPending, OrderEvent::Ack) if !self.acked => {
                self.acked = true;
                self.state
            }

            (S::Sent | S::Acked | S::PartiallyFilled | S::CancelPending, OrderEvent::Fill(f)) => {
                self.check_fill(f).map_err(refuse)?;
                self.filled.0 += f.qty.0;
                self.notional += i128::from(f.px.0) * i128::from(f.qty.0);
                self.fees += f.fee;
                self.fills += 1;
                match (self.state, f.leaves.0) {
                    (_, 0) => S::Filled,
                    (S::CancelPending, _) => S::CancelPending,
                    _ => S::PartiallyFilled,
                }
            }

            (S::Sent | S::Acked | S::PartiallyFilled, OrderEvent::CancelRequested) => S::CancelPending,
            (S::CancelPending, OrderEvent::CancelRejected) => self.working_state(),
            (S::Sent | S::Acked | S::PartiallyFilled | S::CancelPending, OrderEvent::Canceled) => S::Canceled,
            (S::Sent | S::Acked | S::PartiallyFilled | S::CancelPending, OrderEvent::Expired) => S::Expired,

            _ => return Err(refuse(Refusal::Illegal)),
        };
        self.state = next;
        Ok(next)
    }

    fn check_fill(&self, f: &FillReport) -> Result<(), Refusal> {
        if f.qty.0 <= 0 {
            return Err(Refusal::NonPositiveFill { qty: f.qty });
        }
        let left = self.request.qty.0 - self.filled.0;
        if f.qty.0 > left {
            return Err(Refusal::Overfill { filled: self.filled, fill: f.qty, order_qty: self.request.qty });
        }
        let expected = Qty(left - f.qty.0);
        if f.leaves != expected {
            return Err(Refusal::LeavesMismatch { expected, reported: f.leaves });
        }
        Ok(())
    }

    /// Where a refused cancel returns to.
    fn working_state(&self) -> OrderState {
        if self.filled.0 > 0 {
            OrderState::PartiallyFilled
        } else if self.acked {
            OrderState::Acked
        } else {
            OrderState::Sent
        }
    }
}
