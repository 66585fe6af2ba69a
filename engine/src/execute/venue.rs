//! The venue an order goes to. Paper mode simulates one from the tape; live, the gateway will stand
//! behind the same trait.
//!
//! [`TouchVenue`] is the minimal paper venue of the pipeline issue: a market order reaches it after
//! the order latency and fills whole at the touch it finds then; with no two-sided market it is
//! rejected. It ignores size beyond the touch, queues and fees: the realistic exchange replaces it
//! behind this trait.

use crate::book::MarketView;
use crate::event::MarketEvent;
use crate::journal::{RejectReason, Side};
use crate::types::{InstrumentId, Price, Qty, UnixNanos};

/// A market order as the venue receives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Order {
    pub order_id: u64,
    pub instrument: InstrumentId,
    pub side: Side,
    pub qty: Qty,
    /// Tape time it left the engine.
    pub sent: UnixNanos,
}

/// What the venue did with an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VenueEvent {
    Fill { order: Order, px: Price, qty: Qty, ts: UnixNanos },
    Reject { order: Order, reason: RejectReason, ts: UnixNanos },
}

pub trait Venue: Send {
    /// The market moved; called for every event before orders are matched.
    fn on_market(&mut self, event: &MarketEvent);
    /// An order leaves the engine at `order.sent`.
    fn submit(&mut self, order: Order, out: &mut impl FnMut(VenueEvent));
    /// Matches every order that has reached the venue by `now`.
    fn match_due(&mut self, now: UnixNanos, out: &mut impl FnMut(VenueEvent));
    /// Tape time from the venue acting to the engine hearing of it. Every venue event's `ts` must be
    /// at or after the time of the event being processed (a venue never reports in the past): the
    /// threaded runner relies on it to keep decide in step (execute also enforces it).
    fn response_latency_ns(&self) -> u64;
    /// The venue's view of the market (to mark positions at the end of a run).
    fn market(&self) -> &MarketView;
}

/// The minimal paper venue (see the module docs).
#[derive(Clone, Debug)]
pub struct TouchVenue {
    market: MarketView,
    /// Orders on their way to the venue, in the order they were sent. Fixed capacity.
    inbound: Vec<Order>,
    /// Working orders the venue accepts at once (an explicit limit, not the Vec's capacity).
    max_orders: usize,
    order_latency_ns: u64,
    response_latency_ns: u64,
}

impl TouchVenue {
    pub fn new(
        instruments: usize,
        max_levels: usize,
        max_orders: usize,
        order_latency_ns: u64,
        response_latency_ns: u64,
    ) -> Self {
        TouchVenue {
            market: MarketView::new(instruments, max_levels),
            inbound: Vec::with_capacity(max_orders.max(1)),
            max_orders: max_orders.max(1),
            order_latency_ns,
            response_latency_ns,
        }
    }

    fn fill_or_reject(&self, order: Order, now: UnixNanos) -> VenueEvent {
        match self.market.touch(order.instrument) {
            Some(t) => {
                let px = match order.side {
                    Side::Buy => t.ask.px,
                    Side::Sell => t.bid.px,
                };
                VenueEvent::Fill { order, px, qty: order.qty, ts: now }
            }
            None => VenueEvent::Reject { order, reason: RejectReason::NoLiquidity, ts: now },
        }
    }
}

impl Venue for TouchVenue {
    #[inline]
    fn on_market(&mut self, event: &MarketEvent) {
        self.market.apply(&event.record);
    }

    #[inline]
    fn submit(&mut self, order: Order, out: &mut impl FnMut(VenueEvent)) {
        if self.inbound.len() >= self.max_orders {
            out(VenueEvent::Reject { order, reason: RejectReason::TooManyOrders, ts: order.sent });
        } else {
            self.inbound.push(order);
        }
    }

    #[inline]
    fn match_due(&mut self, now: UnixNanos, out: &mut impl FnMut(VenueEvent)) {
        // Constant latency keeps `inbound` in arrival order: the due orders are a prefix.
        let due = self.inbound.iter().take_while(|o| o.sent.0.saturating_add(self.order_latency_ns) <= now.0).count();
        for i in 0..due {
            out(self.fill_or_reject(self.inbound[i], now));
        }
        self.inbound.drain(..due);
    }

    fn response_latency_ns(&self) -> u64 {
        self.response_latency_ns
    }

    fn market(&self) -> &MarketView {
        &self.market
    }
}
