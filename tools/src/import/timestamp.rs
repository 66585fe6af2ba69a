//! Local receive timestamps in whatever unit the recorder used, normalised to nanoseconds.
//!
//! Current recorders write nanoseconds since the epoch (19 digits today); older ones wrote
//! microseconds (16 digits), some milliseconds (13). The unit is detected from the first timestamp
//! of each input file and every later one must agree, so a garbled number is caught rather than
//! silently rescaled.

use super::error::Issue;

/// The unit of the local timestamps of an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TsUnit {
    /// Detect from the first timestamp's magnitude.
    #[default]
    Auto,
    Nanos,
    Micros,
    Millis,
}

impl TsUnit {
    fn per_unit(self) -> u64 {
        match self {
            TsUnit::Auto | TsUnit::Nanos => 1,
            TsUnit::Micros => 1_000,
            TsUnit::Millis => 1_000_000,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TsUnit::Auto => "auto",
            TsUnit::Nanos => "ns",
            TsUnit::Micros => "us",
            TsUnit::Millis => "ms",
        }
    }

    /// The unit an epoch timestamp of this magnitude is in (years 1973 to 2286).
    fn of_magnitude(v: u64) -> Option<TsUnit> {
        match v {
            100_000_000_000_000_000.. => Some(TsUnit::Nanos),
            100_000_000_000_000.. => Some(TsUnit::Micros),
            100_000_000_000.. => Some(TsUnit::Millis),
            _ => None,
        }
    }
}

/// Converts one file's timestamps, fixing the unit at the first one when it is `Auto`.
#[derive(Clone, Copy, Debug)]
pub struct TsNormalizer {
    requested: TsUnit,
    detected: Option<TsUnit>,
}

impl TsNormalizer {
    pub fn new(requested: TsUnit) -> Self {
        TsNormalizer { requested, detected: None }
    }

    /// Starts a new input file: auto-detection begins again.
    pub fn reset(&mut self) {
        self.detected = None;
    }

    /// The unit in use for the current file, once known.
    pub fn unit(&self) -> Option<TsUnit> {
        if self.requested == TsUnit::Auto { self.detected } else { Some(self.requested) }
    }

    pub fn to_nanos(&mut self, text: &str) -> Result<u64, Issue> {
        let bad =
            |why: &str| Issue::InvalidValue { field: "local timestamp", value: text.to_owned(), why: why.to_owned() };
        let v: u64 = text.parse().map_err(|_| bad("not an integer"))?;
        let unit = match self.requested {
            TsUnit::Auto => {
                let seen = TsUnit::of_magnitude(v)
                    .ok_or_else(|| bad("too small for an epoch time in ms, us or ns; pass --ts-unit"))?;
                match self.detected {
                    None => {
                        self.detected = Some(seen);
                        seen
                    }
                    Some(d) if d == seen => d,
                    Some(d) => {
                        return Err(bad(&format!(
                            "looks like {} but this file's timestamps are in {}",
                            seen.as_str(),
                            d.as_str()
                        )));
                    }
                }
            }
            unit => unit,
        };
        v.checked_mul(unit.per_unit()).ok_or_else(|| bad("overflows u64 nanoseconds"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_micro_and_nano_recorders() {
        let mut n = TsNormalizer::new(TsUnit::Auto);
        assert_eq!(n.to_nanos("1723161254024619568"), Ok(1_723_161_254_024_619_568));
        assert_eq!(n.unit(), Some(TsUnit::Nanos));
        let mut u = TsNormalizer::new(TsUnit::Auto);
        assert_eq!(u.to_nanos("1723161254024619"), Ok(1_723_161_254_024_619_000));
        assert_eq!(u.unit(), Some(TsUnit::Micros));
        // A nanosecond value in a microsecond file is a garbled line, not a unit change.
        assert!(u.to_nanos("1723161254024619568").is_err());
        assert!(u.to_nanos("12x").is_err());
        assert!(TsNormalizer::new(TsUnit::Auto).to_nanos("1723161254").is_err());
        assert_eq!(TsNormalizer::new(TsUnit::Millis).to_nanos("1723161254024"), Ok(1_723_161_254_024_000_000));
    }
}
