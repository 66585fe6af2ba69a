//! What the risk gate is told about an instrument before an order: the strategy's position and
//! working orders (from its account), the last tradable touch, and today's PnL.
//!
//! Fixed memory: one touch and one mark per instrument, sized at construction.

use crate::account::Account;
use crate::book::Touch;
use crate::journal::Side;
use crate::risk::{DayBoundary, RiskContext};
use crate::types::{InstrumentId, Price, Qty, UnixNanos};

#[derive(Clone, Debug)]
pub struct Exposure {
    /// The last touch of each instrument, `None` while its book is not tradable.
    touches: Vec<Option<Touch>>,
    /// The last mid of each instrument (kept while the book is briefly untradable), for marking.
    marks: Vec<Option<Price>>,
    /// The trading day of the last mark, and the engine's total PnL when that day began.
    day: Option<u64>,
    day_start_pnl: i128,
    pnl_today: i128,
}

impl Exposure {
    pub fn new(instruments: usize) -> Self {
        Exposure {
            touches: vec![None; instruments],
            marks: vec![None; instruments],
            day: None,
            day_start_pnl: 0,
            pnl_today: 0,
        }
    }

    pub fn touches(&self) -> &[Option<Touch>] {
        &self.touches
    }

    pub fn set_touch(&mut self, instrument: InstrumentId, touch: Option<Touch>) {
        if let Some(slot) = self.touches.get_mut(instrument.index()) {
            *slot = touch;
            if let Some(t) = &touch {
                self.marks[instrument.index()] = Some(super::mid(t));
            }
        }
    }

    /// Marks the account at the last mids and returns the PnL since the current trading day began
    /// (realized − fees + unrealized, in the portfolio's money scale).
    pub fn mark(&mut self, account: &Account, days: DayBoundary, now: UnixNanos) -> i128 {
        let portfolio = account.portfolio();
        let total = portfolio.total().net() + portfolio.total_unrealized(&self.marks).unrealized;
        let day = days.day_of(now);
        if self.day != Some(day) {
            self.day = Some(day);
            self.day_start_pnl = total;
        }
        self.pnl_today = total - self.day_start_pnl;
        self.pnl_today
    }

    /// The gate's view of `instrument` at `now`.
    pub fn context(&self, account: &Account, instrument: InstrumentId, now: UnixNanos) -> RiskContext {
        let position = account.portfolio().position(super::STRATEGY, instrument).map_or(0, |p| p.qty);
        let (mut open_buy, mut open_sell) = (0i64, 0i64);
        for o in account.orders().iter().filter(|o| o.request.instrument == instrument) {
            match o.request.side {
                Side::Buy => open_buy += o.leaves().0,
                Side::Sell => open_sell += o.leaves().0,
            }
        }
        let touch = self.touches.get(instrument.index()).copied().flatten();
        RiskContext {
            now,
            position: Qty(position),
            open_buy: Qty(open_buy),
            open_sell: Qty(open_sell),
            bid: touch.map_or(Price(0), |t| t.bid.px),
            ask: touch.map_or(Price(0), |t| t.ask.px),
            pnl_today: self.pnl_today,
        }
    }
}
