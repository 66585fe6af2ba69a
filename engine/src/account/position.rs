//! One strategy's position in one instrument: signed quantity, exact cost, realized PnL and fees.
//!
//! Money is an `i128` in quote units of `10^-(price_scale + qty_scale)` (a price times a quantity).
//!
//! - **Cost** is the signed sum of price × quantity of the open position, so the average entry is
//!   exactly `cost / qty` ([`AvgPrice`]). Adds are exact.
//! - **A reducing fill** removes `cost × closed / |qty|` from the cost, rounded to the nearest unit,
//!   and realizes `px × closed` against it. The sub-unit remainder stays in the open cost, so at every
//!   step `realized + unrealized(mark)` equals the trade cash flows plus `mark × qty` exactly: rounding
//!   only moves less than one unit per reducing fill between realized and unrealized, and a flat
//!   position keeps no residue. When `cost × closed` divides by `|qty|` (always so for a full close)
//!   the split is exact too.
//! - **A flip** closes the old position at the fill price and opens the rest of the fill at it.
//! - **Fees** accumulate separately from the price PnL: `realized` is gross, [`Position::net_pnl`]
//!   subtracts fees (a negative fee is a rebate and adds).

use super::avg_price::{AvgPrice, mul_div_round};
use crate::journal::Side;
use crate::types::{Price, Qty};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// Signed quantity: + long, − short.
    pub qty: i64,
    /// Sum of price × quantity of the open position, signed like `qty`.
    pub cost: i128,
    /// Gross price PnL locked in by reducing fills.
    pub realized: i128,
    /// Fees paid, net of rebates.
    pub fees: i128,
    /// Number of fills booked, partial ones included.
    pub fills: u64,
}

/// What one fill did to a position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FillEffect {
    /// PnL locked in by the part of the fill that reduced the position (gross of fees).
    pub realized: i128,
    /// Quantity of the old position the fill closed (≥ 0).
    pub closed: i64,
    /// Signed quantity the fill opened or added (a flip opens the rest of the fill).
    pub opened: i64,
    /// The fill took the position through zero to the other side.
    pub flipped: bool,
}

impl Position {
    /// Books one fill, partial or complete. `qty` must be positive; `fee` is in money units.
    pub fn apply(&mut self, side: Side, px: Price, qty: Qty, fee: i128) -> FillEffect {
        debug_assert!(qty.0 > 0, "fills have a positive quantity");
        let signed = side.sign() * qty.0;
        let mut effect = FillEffect::default();
        let mut opening = signed;
        if self.qty != 0 && self.qty.signum() != signed.signum() {
            let closing = signed.abs().min(self.qty.abs());
            let q = i128::from(self.qty.abs());
            let closed_cost =
                if i128::from(closing) == q { self.cost } else { mul_div_round(self.cost, i128::from(closing), q) };
            let proceeds = i128::from(px.0) * i128::from(closing) * i128::from(self.qty.signum());
            effect.realized = proceeds - closed_cost;
            effect.closed = closing;
            self.realized += effect.realized;
            self.cost -= closed_cost;
            self.qty -= self.qty.signum() * closing;
            opening = signed - signed.signum() * closing;
            effect.flipped = self.qty == 0 && opening != 0;
        }
        if opening != 0 {
            self.cost += i128::from(px.0) * i128::from(opening);
            self.qty += opening;
            effect.opened = opening;
        }
        self.fees += fee;
        self.fills += 1;
        effect
    }

    pub fn is_flat(&self) -> bool {
        self.qty == 0
    }

    /// The side a position is on; `None` when flat.
    pub fn side(&self) -> Option<Side> {
        match self.qty.signum() {
            1 => Some(Side::Buy),
            -1 => Some(Side::Sell),
            _ => None,
        }
    }

    /// Exact average entry price (`cost / qty`); `None` when flat.
    pub fn avg_entry(&self) -> Option<AvgPrice> {
        AvgPrice::new(self.cost, i128::from(self.qty))
    }

    /// Unrealized PnL marked at `mark` (gross of fees).
    pub fn unrealized(&self, mark: Price) -> i128 {
        i128::from(mark.0) * i128::from(self.qty) - self.cost
    }

    /// Realized PnL net of fees.
    pub fn realized_net(&self) -> i128 {
        self.realized - self.fees
    }

    /// Realized plus unrealized at `mark`, net of fees.
    pub fn net_pnl(&self, mark: Price) -> i128 {
        self.realized + self.unrealized(mark) - self.fees
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_average_exactly_and_a_partial_close_realizes_against_the_average() {
        let mut p = Position::default();
        p.apply(Side::Buy, Price(100), Qty(2), 0);
        p.apply(Side::Buy, Price(110), Qty(2), 0);
        assert_eq!(p.avg_entry(), AvgPrice::new(105, 1));
        let e = p.apply(Side::Sell, Price(120), Qty(3), 0);
        assert_eq!(e, FillEffect { realized: 45, closed: 3, opened: 0, flipped: false });
        assert_eq!((p.qty, p.cost, p.fills), (1, 105, 3));
    }

    #[test]
    fn a_flip_closes_then_opens_the_rest_at_the_fill_price() {
        let mut p = Position::default();
        p.apply(Side::Sell, Price(50), Qty(1), 0);
        let e = p.apply(Side::Buy, Price(40), Qty(3), 0);
        assert_eq!(e, FillEffect { realized: 10, closed: 1, opened: 2, flipped: true });
        assert_eq!((p.qty, p.cost, p.realized), (2, 80, 10));
    }

    #[test]
    fn rounding_stays_in_the_cost_and_a_flat_position_has_no_residue() {
        let mut p = Position::default();
        p.apply(Side::Buy, Price(100), Qty(1), 0);
        p.apply(Side::Buy, Price(101), Qty(2), 0); // cost 302, average 100.67
        let e = p.apply(Side::Sell, Price(102), Qty(1), 0);
        assert_eq!(e.realized, 1, "102 − 100.67 = 1.33, rounded");
        assert_eq!(p.cost, 201, "302 − 101: the 0.33 stays in the open cost");
        let e2 = p.apply(Side::Sell, Price(102), Qty(2), 0);
        assert_eq!(p.realized, e.realized + e2.realized);
        assert_eq!(p.realized, 4, "3 × 102 − 302 exactly, once flat");
        assert_eq!(p.cost, 0);
    }
}
