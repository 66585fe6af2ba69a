//! Exact conversion between decimal strings and fixed-point integers.
//!
//! Market data arrives as decimal strings ("61659.70"); binary floats would lose the exact value, so
//! strings are parsed straight into an integer count of `10^-scale` units and printed back the same way.

use std::fmt;

/// Why a decimal string could not become a fixed-point integer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("empty number")]
    Empty,
    #[error("'{0}' is not a decimal number")]
    NotANumber(String),
    #[error("'{text}' has {found} decimal places but the instrument's scale allows {scale}")]
    TooPrecise { text: String, found: usize, scale: u8 },
    #[error("'{0}' does not fit in a 64-bit fixed-point integer")]
    Overflow(String),
}

/// An exact decimal of `v × 10^-scale`, for money in `i128` at any scale up to 38 (price + quantity
/// decimals reach 24, past what [`Fixed`] can show).
pub fn format_wide(v: i128, scale: u8) -> String {
    let (sign, m) = (if v < 0 { "-" } else { "" }, v.unsigned_abs());
    if scale == 0 {
        return format!("{sign}{m}");
    }
    let unit = 10u128.pow(u32::from(scale.min(38)));
    format!("{sign}{}.{:0w$}", m / unit, m % unit, w = usize::from(scale))
}

/// Parses `text` (an optional `-`, digits, an optional `.` and digits) into units of `10^-scale`.
///
/// Trailing zeros beyond the scale are accepted ("1.500" at scale 2 is 150); any other digit beyond
/// the scale is an error, never a silent rounding.
pub fn parse_fixed(text: &str, scale: u8) -> Result<i64, DecimalError> {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Err(DecimalError::Empty);
    }
    let (negative, digits) = match bytes[0] {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    let not_a_number = || DecimalError::NotANumber(text.to_owned());
    let overflow = || DecimalError::Overflow(text.to_owned());
    let (int_part, frac_part) = match digits.iter().position(|&b| b == b'.') {
        Some(dot) => (&digits[..dot], &digits[dot + 1..]),
        None => (digits, &digits[digits.len()..]),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(not_a_number());
    }
    let mut value: i64 = 0;
    for &b in int_part {
        if !b.is_ascii_digit() {
            return Err(not_a_number());
        }
        value = value.checked_mul(10).and_then(|v| v.checked_add(i64::from(b - b'0'))).ok_or_else(overflow)?;
    }
    let significant = frac_part.iter().rposition(|&b| b != b'0').map_or(0, |p| p + 1);
    for &b in frac_part {
        if !b.is_ascii_digit() {
            return Err(not_a_number());
        }
    }
    if significant > usize::from(scale) {
        return Err(DecimalError::TooPrecise { text: text.to_owned(), found: significant, scale });
    }
    for i in 0..usize::from(scale) {
        let digit = frac_part.get(i).map_or(0, |&b| i64::from(b - b'0'));
        value = value.checked_mul(10).and_then(|v| v.checked_add(digit)).ok_or_else(overflow)?;
    }
    Ok(if negative { -value } else { value })
}

/// An exact decimal: `value × 10^-scale`. Displays without allocating, with exactly `scale` decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fixed {
    pub value: i64,
    pub scale: u8,
}

impl Fixed {
    pub fn new(value: i64, scale: u8) -> Self {
        Fixed { value, scale }
    }
}

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // u128: money carries price + quantity decimals (up to 24), past what a u64 power of ten holds.
        let unit = 10u128.pow(u32::from(self.scale));
        let magnitude = u128::from(self.value.unsigned_abs());
        let sign = if self.value < 0 { "-" } else { "" };
        if self.scale == 0 {
            write!(f, "{sign}{magnitude}")
        } else {
            let width = usize::from(self.scale);
            write!(f, "{sign}{}.{:0width$}", magnitude / unit, magnitude % unit)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn displays_scales_past_nineteen_digits() {
        assert_eq!(Fixed::new(-12, 24).to_string(), "-0.000000000000000000000012");
        assert_eq!(Fixed::new(i64::MIN, 0).to_string(), "-9223372036854775808");
    }

    #[test]
    fn parses_exchange_strings_exactly() {
        assert_eq!(parse_fixed("61659.70", 2), Ok(6_165_970));
        assert_eq!(parse_fixed("0.001", 3), Ok(1));
        assert_eq!(parse_fixed("2683.80000000", 2), Ok(268_380));
        assert_eq!(parse_fixed("2683.80000000", 8), Ok(268_380_000_000));
        assert_eq!(parse_fixed("5", 2), Ok(500));
        assert_eq!(parse_fixed("-1.5", 1), Ok(-15));
        assert_eq!(parse_fixed(".5", 1), Ok(5));
    }

    #[test]
    fn refuses_silent_rounding_and_garbage() {
        assert!(matches!(parse_fixed("1.005", 2), Err(DecimalError::TooPrecise { found: 3, .. })));
        assert!(matches!(parse_fixed("1e5", 2), Err(DecimalError::NotANumber(_))));
        assert!(matches!(parse_fixed("", 2), Err(DecimalError::Empty)));
        assert!(matches!(parse_fixed(".", 2), Err(DecimalError::NotANumber(_))));
        assert!(matches!(parse_fixed("1.2.3", 2), Err(DecimalError::NotANumber(_))));
        assert!(matches!(parse_fixed("99999999999999999999", 0), Err(DecimalError::Overflow(_))));
    }

    #[test]
    fn displays_at_scale() {
        assert_eq!(Fixed::new(6_165_970, 2).to_string(), "61659.70");
        assert_eq!(Fixed::new(-5, 3).to_string(), "-0.005");
        assert_eq!(Fixed::new(42, 0).to_string(), "42");
        assert_eq!(Fixed::new(i64::MIN, 8).to_string(), "-92233720368.54775808");
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(value in any::<i64>(), scale in 0u8..=12) {
            let text = Fixed::new(value, scale).to_string();
            prop_assert_eq!(parse_fixed(&text, scale), Ok(value));
        }
    }
}
