//! What the gate cannot know by itself: the position and working orders of the order's instrument,
//! the touch, today's PnL and the time. The caller (the decide stage, from its book keeping and the
//! book) fills one per check; it is `Copy` and holds no references.

use crate::journal::Side;
use crate::types::{Price, Qty, UnixNanos};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RiskContext {
    /// Tape (or live) time of the check: drives the rate limiter and the trading day.
    pub now: UnixNanos,
    /// Filled position in the order's instrument, signed: + long, − short.
    pub position: Qty,
    /// Quantity of the working buy orders in the instrument (not yet filled or cancelled), ≥ 0.
    pub open_buy: Qty,
    /// Quantity of the working sell orders in the instrument, ≥ 0.
    pub open_sell: Qty,
    /// Best bid of the instrument; the book must be two-sided, uncrossed and positive.
    pub bid: Price,
    /// Best ask of the instrument.
    pub ask: Price,
    /// Realized plus unrealized PnL of the whole engine over the current trading day (see
    /// [`DayBoundary`](super::DayBoundary)), in the units of
    /// [`GlobalLimits::daily_loss_limit`](super::GlobalLimits::daily_loss_limit).
    pub pnl_today: i128,
}

impl RiskContext {
    /// Whether the book can price an order: both sides positive and not crossed (locked is fine).
    pub fn has_market(&self) -> bool {
        self.bid.0 > 0 && self.ask.0 >= self.bid.0
    }

    /// Twice the mid (`bid + ask`), exact in integers.
    pub fn mid_x2(&self) -> i128 {
        i128::from(self.bid.0) + i128::from(self.ask.0)
    }

    /// The touch an order on `side` would take: the ask for a buy, the bid for a sell.
    pub fn touch(&self, side: Side) -> Price {
        match side {
            Side::Buy => self.ask,
            Side::Sell => self.bid,
        }
    }

    /// The most an order on `side` may be for and still reduce the exposure without carrying it
    /// through zero, counting the working orders on that side as filled: `position − open_sell`
    /// for a sell when long, `−position − open_buy` for a buy when short, 0 otherwise. Working
    /// orders on the other side are not counted: they may never fill.
    pub fn reducible(&self, side: Side) -> i128 {
        let (position, open_buy, open_sell) =
            (i128::from(self.position.0), i128::from(self.open_buy.0), i128::from(self.open_sell.0));
        match side {
            Side::Sell => (position - open_sell).max(0),
            Side::Buy => (-position - open_buy).max(0),
        }
    }

    /// The position if the working orders on `side` and `qty` more all filled (the worst case the
    /// position limit looks at).
    pub fn worst_case_after(&self, side: Side, qty: Qty) -> i128 {
        let position = i128::from(self.position.0);
        match side {
            Side::Buy => position + i128::from(self.open_buy.0) + i128::from(qty.0),
            Side::Sell => position - i128::from(self.open_sell.0) - i128::from(qty.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(position: i64, open_buy: i64, open_sell: i64) -> RiskContext {
        RiskContext {
            position: Qty(position),
            open_buy: Qty(open_buy),
            open_sell: Qty(open_sell),
            ..RiskContext::default()
        }
    }

    #[test]
    fn reducible_counts_working_orders_on_the_same_side_only() {
        assert_eq!(ctx(10, 0, 0).reducible(Side::Sell), 10);
        assert_eq!(ctx(10, 0, 4).reducible(Side::Sell), 6);
        assert_eq!(ctx(10, 50, 4).reducible(Side::Sell), 6);
        assert_eq!(ctx(10, 0, 12).reducible(Side::Sell), 0);
        assert_eq!(ctx(10, 0, 0).reducible(Side::Buy), 0);
        assert_eq!(ctx(-10, 3, 0).reducible(Side::Buy), 7);
        assert_eq!(ctx(0, 0, 0).reducible(Side::Buy), 0);
        assert_eq!(ctx(0, 0, 0).reducible(Side::Sell), 0);
    }

    #[test]
    fn worst_case_adds_the_same_side() {
        assert_eq!(ctx(5, 2, 9).worst_case_after(Side::Buy, Qty(1)), 8);
        assert_eq!(ctx(5, 2, 9).worst_case_after(Side::Sell, Qty(1)), -5);
    }

    #[test]
    fn market_needs_two_positive_uncrossed_sides() {
        let m = |bid, ask| RiskContext { bid: Price(bid), ask: Price(ask), ..RiskContext::default() };
        assert!(m(100, 101).has_market());
        assert!(m(100, 100).has_market());
        assert!(!m(101, 100).has_market());
        assert!(!m(0, 100).has_market());
        assert!(!m(-5, 100).has_market());
    }
}
