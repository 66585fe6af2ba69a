//! The scripted quoting strategy of the cross-check: small enough to be written again, line for
//! line, in hftbacktest (`tools/crosscheck/hftbacktest_check.py`, `Quoter` there).
//!
//! At every step boundary `now` (local time), after the market data and order responses the
//! strategy has received by `now`:
//!
//! 1. each side with a live order (sent, and not yet known filled, cancelled, expired or rejected)
//!    whose age `now - sent` has reached `max_age_ns` gets one cancel;
//! 2. each side without a live order gets a new GTC limit order of `order_qty` at the touch (a buy at
//!    the best bid, a sell at the best ask), provided the book is two-sided and not crossed and the
//!    fill would keep `|position| <= max_position`. The buy goes first.
//!
//! An order stays live until its response says it is done, so a cancelled side is quoted again
//! only once the cancel's confirmation (or the fill that beat it) has come back.

use kestrel_engine::journal::Side;
use kestrel_engine::types::{Price, Qty};

/// What the strategy asks for at a boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// A new GTC limit order.
    Post {
        order_id: u64,
        side: Side,
        px: Price,
        qty: Qty,
    },
    Cancel {
        order_id: u64,
        side: Side,
    },
}

/// The strategy's knobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuoterParams {
    /// Quantity of every order (instrument units; a whole number of lots).
    pub order_qty: Qty,
    /// Largest absolute position (instrument units) a fill may lead to.
    pub max_position: Qty,
    /// An order this old (local time since it was sent) is cancelled.
    pub max_age_ns: u64,
}

/// One side's live order, as the strategy knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveOrder {
    pub order_id: u64,
    pub px: Price,
    /// Local time it was sent.
    pub sent: u64,
    pub cancel_sent: bool,
}

/// The strategy's state: at most one live order per side.
#[derive(Clone, Debug)]
pub struct Quoter {
    params: QuoterParams,
    buy: Option<LiveOrder>,
    sell: Option<LiveOrder>,
    next_id: u64,
}

impl Quoter {
    pub fn new(params: QuoterParams) -> Self {
        Quoter { params, buy: None, sell: None, next_id: 1 }
    }

    pub fn live(&self, side: Side) -> Option<&LiveOrder> {
        match side {
            Side::Buy => self.buy.as_ref(),
            Side::Sell => self.sell.as_ref(),
        }
    }

    fn slot(&mut self, side: Side) -> &mut Option<LiveOrder> {
        match side {
            Side::Buy => &mut self.buy,
            Side::Sell => &mut self.sell,
        }
    }

    /// The order `order_id` is done (filled in whole, cancelled, expired or rejected): its side may
    /// be quoted again. Unknown ids are ignored.
    pub fn on_done(&mut self, order_id: u64) {
        for slot in [&mut self.buy, &mut self.sell] {
            if slot.is_some_and(|o| o.order_id == order_id) {
                *slot = None;
            }
        }
    }

    /// The side of a live order, if `order_id` is one.
    pub fn side_of(&self, order_id: u64) -> Option<Side> {
        if self.buy.is_some_and(|o| o.order_id == order_id) {
            Some(Side::Buy)
        } else if self.sell.is_some_and(|o| o.order_id == order_id) {
            Some(Side::Sell)
        } else {
            None
        }
    }

    /// The boundary `now`: `touch` is the best (bid, ask) the strategy sees, if the book has both
    /// sides; `position` is the signed position known from fills received so far. Appends what to
    /// send, cancels before posts, buy before sell.
    pub fn on_boundary(&mut self, now: u64, touch: Option<(Price, Price)>, position: Qty, actions: &mut Vec<Action>) {
        let p = self.params;
        for side in [Side::Buy, Side::Sell] {
            if let Some(o) = self.slot(side)
                && !o.cancel_sent
                && now.saturating_sub(o.sent) >= p.max_age_ns
            {
                o.cancel_sent = true;
                actions.push(Action::Cancel { order_id: o.order_id, side });
            }
        }
        let Some((bid, ask)) = touch.filter(|(b, a)| b < a) else {
            return;
        };
        for side in [Side::Buy, Side::Sell] {
            if self.slot(side).is_some() {
                continue;
            }
            let (px, after) = match side {
                Side::Buy => (bid, position.0 + p.order_qty.0),
                Side::Sell => (ask, position.0 - p.order_qty.0),
            };
            if after.abs() > p.max_position.0 {
                continue;
            }
            let order_id = self.next_id;
            self.next_id += 1;
            *self.slot(side) = Some(LiveOrder { order_id, px, sent: now, cancel_sent: false });
            actions.push(Action::Post { order_id, side, px, qty: p.order_qty });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoter() -> Quoter {
        Quoter::new(QuoterParams { order_qty: Qty(1), max_position: Qty(2), max_age_ns: 1_000 })
    }

    #[test]
    fn posts_at_the_touch_buy_first_and_not_on_a_one_sided_or_crossed_book() {
        let mut q = quoter();
        let mut acts = Vec::new();
        q.on_boundary(0, None, Qty(0), &mut acts);
        q.on_boundary(0, Some((Price(101), Price(100))), Qty(0), &mut acts);
        assert!(acts.is_empty(), "{acts:?}");
        q.on_boundary(10, Some((Price(100), Price(101))), Qty(0), &mut acts);
        assert_eq!(
            acts,
            [
                Action::Post { order_id: 1, side: Side::Buy, px: Price(100), qty: Qty(1) },
                Action::Post { order_id: 2, side: Side::Sell, px: Price(101), qty: Qty(1) },
            ]
        );
        // Live orders on both sides: nothing new, however the touch moves, until they are old.
        acts.clear();
        q.on_boundary(1_009, Some((Price(90), Price(95))), Qty(0), &mut acts);
        assert!(acts.is_empty(), "{acts:?}");
    }

    #[test]
    fn cancels_once_at_max_age_and_requotes_only_after_the_order_is_done() {
        let mut q = quoter();
        let mut acts = Vec::new();
        let touch = Some((Price(100), Price(101)));
        q.on_boundary(0, touch, Qty(0), &mut acts);
        acts.clear();
        q.on_boundary(1_000, touch, Qty(0), &mut acts);
        assert_eq!(
            acts,
            [Action::Cancel { order_id: 1, side: Side::Buy }, Action::Cancel { order_id: 2, side: Side::Sell }]
        );
        // The cancels are in flight: no second cancel and no new order.
        acts.clear();
        q.on_boundary(2_000, touch, Qty(0), &mut acts);
        assert!(acts.is_empty(), "{acts:?}");
        // The buy's cancel is confirmed: the buy side is quoted at the new touch.
        q.on_done(1);
        q.on_boundary(2_100, Some((Price(99), Price(101))), Qty(0), &mut acts);
        assert_eq!(acts, [Action::Post { order_id: 3, side: Side::Buy, px: Price(99), qty: Qty(1) }]);
        assert_eq!(q.side_of(3), Some(Side::Buy));
        assert_eq!(q.side_of(2), Some(Side::Sell));
        assert_eq!(q.side_of(1), None);
    }

    #[test]
    fn position_limit_stops_the_side_that_would_exceed_it() {
        let mut q = quoter();
        let mut acts = Vec::new();
        q.on_boundary(0, Some((Price(100), Price(101))), Qty(2), &mut acts);
        assert_eq!(acts, [Action::Post { order_id: 1, side: Side::Sell, px: Price(101), qty: Qty(1) }]);
        acts.clear();
        let mut q = quoter();
        q.on_boundary(0, Some((Price(100), Price(101))), Qty(-2), &mut acts);
        assert_eq!(acts, [Action::Post { order_id: 1, side: Side::Buy, px: Price(100), qty: Qty(1) }]);
    }
}
