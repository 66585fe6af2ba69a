//! Exact averages of fixed-point prices and the one rounding rule the account uses.
//!
//! An average price is a ratio of an `i128` notional (price × quantity, in units of
//! `10^-(price_scale + qty_scale)`) to a quantity. It is kept as that ratio, reduced, so that it is
//! exact; rounding to a [`Price`] happens only when a caller asks for one.

use crate::types::Price;
use std::cmp::Ordering;

/// An exact average price: `num / den` price units, `den > 0`, the fraction in lowest terms (so
/// that `==` is equality of values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AvgPrice {
    num: i128,
    den: i128,
}

impl AvgPrice {
    /// `num / den` in lowest terms; `None` when `den == 0`. Computes a gcd: call it when a value is
    /// wanted (reports, tests), not per event.
    pub fn new(num: i128, den: i128) -> Option<Self> {
        if den == 0 {
            return None;
        }
        let g = gcd(num.unsigned_abs(), den.unsigned_abs()).max(1);
        // g divides both, so each quotient fits back into i128 (|x| / g ≤ |x|, and i128::MIN is
        // only reachable with g = 1, where the negation below is what overflows: not realistic).
        let g = g as i128;
        let (mut num, mut den) = (num / g, den / g);
        if den < 0 {
            (num, den) = (-num, -den);
        }
        Some(AvgPrice { num, den })
    }

    /// The average as a whole number of price units.
    pub fn of(px: Price) -> Self {
        AvgPrice { num: i128::from(px.0), den: 1 }
    }

    pub fn numerator(self) -> i128 {
        self.num
    }

    /// Always positive.
    pub fn denominator(self) -> i128 {
        self.den
    }

    /// Rounded to the nearest price unit, halves away from zero.
    pub fn round(self) -> Price {
        Price(div_round(self.num, self.den) as i64)
    }

    /// Rounded toward negative infinity.
    pub fn floor(self) -> Price {
        Price(self.num.div_euclid(self.den) as i64)
    }

    /// For display and features only (DESIGN.md §2.4): the average in quote units at `price_scale`.
    pub fn to_f64(self, price_scale: u8) -> f64 {
        self.num as f64 / self.den as f64 / 10f64.powi(i32::from(price_scale))
    }

    /// Exact comparison with a price.
    pub fn cmp_price(self, px: Price) -> Ordering {
        self.num.cmp(&(i128::from(px.0) * self.den))
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `x / d` rounded to the nearest integer, halves away from zero; `d > 0`.
pub(crate) fn div_round(x: i128, d: i128) -> i128 {
    debug_assert!(d > 0);
    let (q, r) = (x / d, x % d);
    // |r| < d, so 2|r| cannot overflow for any d that is a quantity (≤ i64::MAX).
    if 2 * r.abs() >= d { q + x.signum() } else { q }
}

/// `a × b / d` rounded to the nearest integer (halves away from zero) without forming `a × b`,
/// which can pass `i128` at the finest scales (a cost of 1e27 times a quantity of 1e12).
/// `0 ≤ b ≤ d`, `d > 0`, `d` and `b` within `i64`.
pub(crate) fn mul_div_round(a: i128, b: i128, d: i128) -> i128 {
    debug_assert!(d > 0 && (0..=d).contains(&b));
    // a = q·d + r with |r| < d, so a·b/d = q·b + r·b/d and |r·b| < d·b ≤ i64::MAX² < i128::MAX.
    let (q, r) = (a / d, a % d);
    q * b + div_round(r * b, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_are_reduced_so_equal_values_compare_equal() {
        assert_eq!(AvgPrice::new(302, 3), AvgPrice::new(-604, -6));
        assert_eq!(AvgPrice::new(10, 0), None);
        let a = AvgPrice::new(302, 3).unwrap();
        assert_eq!((a.round(), a.floor()), (Price(101), Price(100)));
        assert_eq!(AvgPrice::new(-201, 2).unwrap().round(), Price(-101));
        assert_eq!(a.cmp_price(Price(100)), Ordering::Greater);
        assert_eq!(a.cmp_price(Price(101)), Ordering::Less);
    }

    #[test]
    fn mul_div_rounds_to_nearest_and_survives_fine_scales() {
        assert_eq!(mul_div_round(302, 1, 3), 101); // 100.67
        assert_eq!(mul_div_round(301, 1, 3), 100); // 100.33
        assert_eq!(mul_div_round(-302, 1, 3), -101);
        assert_eq!(mul_div_round(5, 1, 2), 3); // half away from zero
        let big = 10i128.pow(27);
        assert_eq!(mul_div_round(big, 10i128.pow(12) / 2, 10i128.pow(12)), big / 2);
    }
}
