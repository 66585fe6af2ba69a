//! Decide: turns features into at most one candidate trade per event, runs the pre-trade checks on
//! it, and keeps the strategy's view of its positions from the venue's reports.
//!
//! - [`rule`]: the first strategy, a configurable L1-imbalance rule.
//! - [`book_keeping`]: positions and in-flight orders as the strategy knows them.
//!
//! Reports are applied by the runner through [`DecideStage::on_report`] before the event they are due
//! at, in every topology, which is what keeps the journal identical between fused and threaded runs.

pub mod book_keeping;
pub mod rule;

pub use rule::{InstrumentLimits, RuleParams};

use crate::event::{Candidate, Featured, Intent, Report, Verdict};
use crate::journal::BlockReason;
use crate::pipeline::Stage;
use book_keeping::BookKeeping;

#[derive(Clone, Debug)]
pub struct DecideStage {
    params: RuleParams,
    books: BookKeeping,
    /// Tape time of each instrument's last candidate, for the cooldown.
    last_candidate: Vec<Option<u64>>,
    next_order_id: u64,
}

impl DecideStage {
    pub fn new(params: RuleParams) -> Self {
        let n = params.instruments.len();
        let books = BookKeeping::new(n, params.max_in_flight as usize);
        DecideStage { params, books, last_candidate: vec![None; n], next_order_id: 1 }
    }

    /// A venue report reaching the strategy.
    #[inline]
    pub fn on_report(&mut self, report: &Report) {
        self.books.apply(report);
    }

    pub fn book_keeping(&self) -> &BookKeeping {
        &self.books
    }

    pub fn params(&self) -> &RuleParams {
        &self.params
    }

    /// The pre-trade checks, in order; the first that fails names the block.
    fn check(&self, c: &Candidate, f: &crate::event::Features) -> Option<BlockReason> {
        let limits = &self.params.instruments[c.instrument.index()];
        let spread = f.ask_px.0 - f.bid_px.0;
        if limits.tick.0 > 0 && spread > limits.tick.0.saturating_mul(self.params.max_spread_ticks) {
            return Some(BlockReason::SpreadTooWide);
        }
        if self.books.is_full() {
            return Some(BlockReason::InFlightLimit);
        }
        let exposure = self.books.exposure(c.instrument) + c.side.sign() * c.qty.0;
        if exposure.abs() > limits.max_position.0 {
            return Some(BlockReason::PositionLimit);
        }
        None
    }
}

impl Stage for DecideStage {
    type In = Featured;
    type Out = Intent;

    #[inline]
    fn on_event(&mut self, input: &Featured) -> Intent {
        let f = &input.features;
        let none = Intent { event: input.event, candidate: None };
        let Some(limits) = self.params.instruments.get(f.instrument.index()) else { return none };
        if !f.tradable || !limits.trade {
            return none;
        }
        let Some(side) = self.params.signal(f) else { return none };
        let last = &mut self.last_candidate[f.instrument.index()];
        let ts = input.event.ts.0;
        if last.is_some_and(|t| ts < t.saturating_add(self.params.cooldown_ns)) {
            return none;
        }
        *last = Some(ts);
        let px_seen = match side {
            crate::journal::Side::Buy => f.ask_px,
            crate::journal::Side::Sell => f.bid_px,
        };
        let mut candidate = Candidate {
            instrument: f.instrument,
            side,
            qty: limits.order_qty,
            px_seen,
            signal_micros: (f.values.get(crate::features::idx::IMBALANCE_L1) * 1e6).round() as i64,
            verdict: Verdict::Blocked(BlockReason::NoMarket),
        };
        candidate.verdict = match self.check(&candidate, f) {
            Some(reason) => Verdict::Blocked(reason),
            None => {
                let order_id = self.next_order_id;
                if self.books.open(order_id, &candidate) {
                    self.next_order_id += 1;
                    Verdict::Approved { order_id }
                } else {
                    Verdict::Blocked(BlockReason::InFlightLimit)
                }
            }
        };
        Intent { event: input.event, candidate: Some(candidate) }
    }
}
