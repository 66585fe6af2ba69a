//! Instruments: names resolved once into dense indices, with the tick, lot and scales that give
//! fixed-point prices and quantities their meaning.

use super::{Price, Qty};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Dense index of an instrument in a tape's (or a run's) instrument table: 0, 1, 2, …
#[repr(transparent)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct InstrumentId(pub u16);

impl InstrumentId {
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// The largest number of decimal places a price or quantity may carry (keeps `10^scale` and
/// realistic values inside `i64`).
pub const MAX_SCALE: u8 = 12;
/// Longest symbol, in bytes, the tape format stores.
pub const MAX_SYMBOL_LEN: usize = 31;
/// Longest venue name, in bytes, the tape format stores.
pub const MAX_VENUE_LEN: usize = 15;

/// What an instrument is and how its numbers scale.
///
/// `price_scale` and `qty_scale` are the number of decimals of the integer units (the precision at
/// which the source quotes); `tick` and `lot` are the smallest price and size increments, in those
/// units. For Binance USDⓈ-M BTCUSDT: `price_scale = 2`, `tick = 10` (0.10), `qty_scale = 3`, `lot = 1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstrumentSpec {
    pub symbol: String,
    pub venue: String,
    pub price_scale: u8,
    pub qty_scale: u8,
    pub tick: Price,
    pub lot: Qty,
}

/// Why an instrument specification is unusable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("symbol '{0}' must be 1 to {MAX_SYMBOL_LEN} printable ASCII characters without spaces or commas")]
    Symbol(String),
    #[error("venue '{0}' must be 1 to {MAX_VENUE_LEN} printable ASCII characters without spaces or commas")]
    Venue(String),
    #[error("{field} scale {value} is above the maximum of {MAX_SCALE} decimals")]
    Scale { field: &'static str, value: u8 },
    #[error("{field} must be a positive number of units, got {value}")]
    Increment { field: &'static str, value: i64 },
}

fn valid_name(name: &str, max: usize) -> bool {
    !name.is_empty() && name.len() <= max && name.bytes().all(|b| b.is_ascii_graphic() && b != b',')
}

impl InstrumentSpec {
    /// Checks that the spec can be stored on a tape and used for arithmetic.
    pub fn validate(&self) -> Result<(), SpecError> {
        if !valid_name(&self.symbol, MAX_SYMBOL_LEN) {
            return Err(SpecError::Symbol(self.symbol.clone()));
        }
        if !valid_name(&self.venue, MAX_VENUE_LEN) {
            return Err(SpecError::Venue(self.venue.clone()));
        }
        for (field, value) in [("price", self.price_scale), ("quantity", self.qty_scale)] {
            if value > MAX_SCALE {
                return Err(SpecError::Scale { field, value });
            }
        }
        if self.tick.0 <= 0 {
            return Err(SpecError::Increment { field: "tick", value: self.tick.0 });
        }
        if self.lot.0 <= 0 {
            return Err(SpecError::Increment { field: "lot", value: self.lot.0 });
        }
        Ok(())
    }
}
