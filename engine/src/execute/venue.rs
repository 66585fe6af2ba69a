//! The venue an order goes to. Paper mode simulates one from the tape ([`SimVenue`], the
//! [simulated exchange](super::sim)); live, the gateway will stand behind the same trait.
//!
//! A venue takes only a [`RiskApproved`] order: an order that skipped the risk gate does not compile.

use super::sim::{ExchEvent, SimConfig, SimExchange};
use crate::book::Touch;
use crate::event::MarketEvent;
use crate::risk::RiskApproved;
use crate::types::{InstrumentId, InstrumentSpec, UnixNanos};

pub trait Venue: Send {
    /// The market moved; called for every event, before the event's orders are sent. Answers that
    /// the event causes (fills of resting orders, requests that arrived meanwhile) go to `out`.
    fn on_market(&mut self, event: &MarketEvent, out: &mut impl FnMut(ExchEvent));
    /// An order leaves the engine at `sent`.
    fn submit(&mut self, order: RiskApproved, sent: UnixNanos, out: &mut impl FnMut(ExchEvent));
    /// A cancel leaves the engine at `sent`.
    fn cancel(&mut self, order_id: u64, sent: UnixNanos, out: &mut impl FnMut(ExchEvent));
    /// The least tape time between the market event during which the venue acts and the engine
    /// hearing of it. Execute never lets a report arrive sooner; the threaded runner lets decide
    /// run this far ahead of execute without changing what decide sees.
    fn min_report_delay_ns(&self) -> u64;
    /// The venue's touch (to mark positions at the end of a run).
    fn touch(&self, instrument: InstrumentId) -> Option<Touch>;
}

/// The simulated exchange as a venue (see [`super::sim`] for what it models).
#[derive(Clone, Debug)]
pub struct SimVenue {
    exchange: SimExchange,
    min_report_delay_ns: u64,
}

impl SimVenue {
    pub fn new(instruments: &[InstrumentSpec], config: &SimConfig) -> Self {
        // A report can come as early as the fastest response after the exchange acted, and the
        // exchange acts on a market event up to the largest feed latency before we receive it.
        let feed_max = if config.feed.use_tape {
            config.feed.max_tape_ns.max(config.feed.fallback_ns)
        } else {
            config.feed.fallback_ns
        };
        let min_report_delay_ns = config.response_latency.min().saturating_sub(feed_max);
        SimVenue { exchange: SimExchange::new(instruments, config), min_report_delay_ns }
    }

    pub fn exchange(&self) -> &SimExchange {
        &self.exchange
    }
}

impl Venue for SimVenue {
    #[inline]
    fn on_market(&mut self, event: &MarketEvent, out: &mut impl FnMut(ExchEvent)) {
        self.exchange.on_market(event, out);
    }

    #[inline]
    fn submit(&mut self, order: RiskApproved, sent: UnixNanos, out: &mut impl FnMut(ExchEvent)) {
        self.exchange.submit(order.request(), sent, out);
    }

    #[inline]
    fn cancel(&mut self, order_id: u64, sent: UnixNanos, out: &mut impl FnMut(ExchEvent)) {
        self.exchange.cancel(order_id, sent, out);
    }

    fn min_report_delay_ns(&self) -> u64 {
        self.min_report_delay_ns
    }

    fn touch(&self, instrument: InstrumentId) -> Option<Touch> {
        self.exchange.touch(instrument)
    }
}
