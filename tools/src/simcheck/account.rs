//! Position, fees and PnL of the cross-check's fills, in exact fixed point.
//!
//! Money is in units of `10^-(price_scale + qty_scale)` of the quote currency (a price times a
//! quantity); anything marked at the mid, which may be half a tick, carries one more decimal.
//! Realized PnL matches closing fills against open ones first in, first out.

use std::collections::VecDeque;

use kestrel_engine::journal::Side;
use kestrel_engine::types::{Price, Qty};

#[derive(Clone, Debug, Default)]
pub struct Account {
    /// Signed position, in quantity units.
    pub position: i64,
    /// Fees paid (negative: rebates received), money units.
    pub fees: i128,
    /// Realized PnL before fees, money units.
    pub realized: i128,
    /// Fills still open, oldest first: (price, signed quantity), all of the position's sign.
    open: VecDeque<(i64, i64)>,
}

impl Account {
    pub fn fill(&mut self, side: Side, px: Price, qty: Qty, fee: i64) {
        self.fees += i128::from(fee);
        let signed = match side {
            Side::Buy => qty.0,
            Side::Sell => -qty.0,
        };
        self.position += signed;
        let mut left = signed;
        while left != 0 {
            match self.open.front_mut() {
                Some(lot) if lot.1.signum() != left.signum() => {
                    let m = lot.1.abs().min(left.abs());
                    // Closing a long with a sell earns px - lot; closing a short with a buy, lot - px.
                    let per_unit = if left < 0 { px.0 - lot.0 } else { lot.0 - px.0 };
                    self.realized += i128::from(per_unit) * i128::from(m);
                    lot.1 -= lot.1.signum() * m;
                    left -= left.signum() * m;
                    if lot.1 == 0 {
                        self.open.pop_front();
                    }
                }
                _ => {
                    self.open.push_back((px.0, left));
                    left = 0;
                }
            }
        }
    }

    /// Unrealized PnL of the open position marked at `mid2 / 2` (`mid2` = bid + ask, in price
    /// units), in money units with one extra decimal.
    pub fn unrealized_x10(&self, mid2: i64) -> i128 {
        // (mid - px) * q = (mid2 - 2 px) * q / 2, and /2 at one more decimal is * 5.
        self.open.iter().map(|&(px, q)| i128::from(mid2 - 2 * px) * i128::from(q) * 5).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_realizes_round_trips_and_marks_the_rest() {
        let mut a = Account::default();
        a.fill(Side::Buy, Price(100), Qty(2), 1);
        a.fill(Side::Buy, Price(110), Qty(1), 1);
        // Sells 2 against the first buy (+1 each), then 1 against the second (-9).
        a.fill(Side::Sell, Price(101), Qty(3), 1);
        assert_eq!((a.position, a.realized, a.fees), (0, 2 - 9, 3));
        // Flip short through zero: the sell opens -1 at 105.
        a.fill(Side::Sell, Price(105), Qty(1), 0);
        assert_eq!(a.position, -1);
        // Mark at 104.5 (mid2 = 209): short from 105 earns 0.5 → 5 at one more decimal.
        assert_eq!(a.unrealized_x10(209), 5);
    }
}
