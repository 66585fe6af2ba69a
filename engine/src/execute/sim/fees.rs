//! Maker and taker fees, per instrument, in fixed point.

use crate::types::{Price, Qty};

/// Fee rates of one instrument, in thousandths of a basis point (1 bp = 1000; 0.25 bp = 250) so
/// that fractional-bp schedules stay exact integers. A negative rate is a rebate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeeSchedule {
    pub maker_millibps: i64,
    pub taker_millibps: i64,
}

impl FeeSchedule {
    /// Rates in whole basis points.
    pub const fn bps(maker: i64, taker: i64) -> Self {
        FeeSchedule { maker_millibps: maker * 1000, taker_millibps: taker * 1000 }
    }
}

/// `notional × rate`, where notional = `px × qty` in units of `10^-(price_scale + qty_scale)` of
/// the quote currency, and the result is in the same units.
///
/// Rounding favours the venue, as venues do: a charge is rounded up (towards +∞) and a rebate is
/// rounded towards zero, so a simulated account never earns a fraction of a unit it would not get.
/// The arithmetic is done in `i128`; the result saturates at the bounds of `i64`.
pub fn fee(px: Price, qty: Qty, millibps: i64) -> i64 {
    const DENOM: i128 = 10_000 * 1000;
    let num = i128::from(px.0) * i128::from(qty.0) * i128::from(millibps);
    let q = num / DENOM;
    let r = num % DENOM;
    // Integer division truncates towards zero: right for a rebate, one short for a charge.
    let fee = if r > 0 { q + 1 } else { q };
    fee.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_round_up_and_rebates_round_towards_zero() {
        // 100.00 × 0.003 at 2 + 3 decimals = 30000 units; 5 bp = 15 units exactly.
        assert_eq!(fee(Price(10_000), Qty(3), 5_000), 15);
        // 1 unit × 1 bp = 0.0001 units: a charge of 1, a rebate of 0.
        assert_eq!(fee(Price(1), Qty(1), 1_000), 1);
        assert_eq!(fee(Price(1), Qty(1), -1_000), 0);
        assert_eq!(fee(Price(30_001), Qty(1), -1_000), -3);
    }
}
