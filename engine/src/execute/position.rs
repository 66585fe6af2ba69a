//! A position in one instrument with its realized PnL, in fixed point.
//!
//! Money is in units of `10^-(price_scale + qty_scale)` of the quote currency (a price times a
//! quantity), kept in `i128` so that no realistic book of trades overflows. The cost of a partly
//! closed position is reduced pro rata with integer division, so realized PnL is exact to one unit.

use crate::journal::Side;
use crate::types::{Price, Qty};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// Signed quantity: + long, − short.
    pub qty: i64,
    /// Sum of price × quantity of the open position (signed like `qty`).
    pub cost: i128,
    pub realized: i128,
}

/// What one fill did to a position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FillEffect {
    /// PnL locked in by the part of the fill that reduced the position.
    pub realized: i128,
    /// The fill reduced (or closed, or flipped) an open position.
    pub closed_some: bool,
}

impl Position {
    pub fn apply(&mut self, side: Side, px: Price, qty: Qty) -> FillEffect {
        let signed = side.sign() * qty.0;
        let mut effect = FillEffect::default();
        let mut opening = signed;
        if self.qty != 0 && self.qty.signum() != signed.signum() {
            let closing = signed.abs().min(self.qty.abs());
            // Cost of the closed part, pro rata; sign follows the position.
            // cost × closing / |qty| without forming cost × closing, which can pass i128 at the
            // finest scales; the remainder term keeps it exact to one unit.
            let (q, c) = (i128::from(self.qty.abs()), i128::from(closing));
            let closed_cost = self.cost / q * c + (self.cost % q) * c / q;
            let proceeds = i128::from(px.0) * i128::from(closing) * i128::from(self.qty.signum());
            effect = FillEffect { realized: proceeds - closed_cost, closed_some: true };
            self.realized += effect.realized;
            self.cost -= closed_cost;
            self.qty -= self.qty.signum() * closing;
            if self.qty == 0 {
                self.cost = 0; // no rounding residue left on a flat position
            }
            opening = signed - signed.signum() * closing;
        }
        if opening != 0 {
            self.cost += i128::from(px.0) * i128::from(opening);
            self.qty += opening;
        }
        effect
    }

    /// Unrealized PnL marked at `mark`.
    pub fn unrealized(&self, mark: Price) -> i128 {
        i128::from(mark.0) * i128::from(self.qty) - self.cost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_round_trip_realizes_the_difference() {
        let mut p = Position::default();
        p.apply(Side::Buy, Price(100), Qty(2));
        p.apply(Side::Buy, Price(110), Qty(2)); // average 105
        let e = p.apply(Side::Sell, Price(120), Qty(3));
        assert_eq!(e, FillEffect { realized: 45, closed_some: true });
        assert_eq!((p.qty, p.cost), (1, 105));
        assert_eq!(p.unrealized(Price(100)), -5);
    }

    #[test]
    fn a_flip_closes_then_opens_at_the_fill_price() {
        let mut p = Position::default();
        p.apply(Side::Sell, Price(50), Qty(1));
        let e = p.apply(Side::Buy, Price(40), Qty(3));
        assert_eq!(e.realized, 10, "short 1 from 50 covered at 40");
        assert_eq!((p.qty, p.cost), (2, 80), "long 2 at 40");
        assert_eq!(p.realized, 10);
    }

    #[test]
    fn fine_scales_do_not_overflow_on_a_partial_close() {
        // Price 1000 and size 1.0 at 12 decimals each: cost 1e27, cost × size would be 1e39 > i128::MAX.
        let (px, qty) = (Price(1_000 * 10i64.pow(12)), Qty(10i64.pow(12)));
        let mut p = Position::default();
        p.apply(Side::Buy, px, qty);
        let e = p.apply(Side::Sell, Price(px.0 + 10i64.pow(12)), Qty(qty.0 / 2));
        assert_eq!(e.realized, 10i128.pow(12) * 10i128.pow(12) / 2, "1.0 of profit on half of 1.0");
        assert_eq!(p.qty, qty.0 / 2);
    }

    #[test]
    fn opening_fills_realize_nothing() {
        let mut p = Position::default();
        let e = p.apply(Side::Buy, Price(7), Qty(5));
        assert_eq!(e, FillEffect::default());
        assert_eq!(p.unrealized(Price(7)), 0);
    }
}
