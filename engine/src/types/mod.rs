//! Vocabulary types shared by every stage.
//!
//! Prices and sizes are fixed-point integers whose scale belongs to the instrument (DESIGN.md §2.4):
//! a [`Price`] of `6165970` on an instrument with `price_scale = 2` is `61659.70`. Floats appear only
//! in features and model outputs.

mod decimal;
mod instrument;
mod side;
mod time;

pub use decimal::{DecimalError, Fixed, format_wide, parse_fixed};
pub use instrument::{InstrumentId, InstrumentSpec, MAX_SCALE, SpecError};
pub use side::{Aggressor, BookSide};
pub use time::UnixNanos;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// A price in units of `10^-price_scale` of its instrument's quote currency.
#[repr(transparent)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct Price(pub i64);

/// A quantity in units of `10^-qty_scale` of its instrument's base asset.
#[repr(transparent)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct Qty(pub i64);

impl Price {
    /// The price as an exact decimal at `scale` digits, for display.
    pub fn at(self, scale: u8) -> Fixed {
        Fixed::new(self.0, scale)
    }
}

impl Qty {
    /// The quantity as an exact decimal at `scale` digits, for display.
    pub fn at(self, scale: u8) -> Fixed {
        Fixed::new(self.0, scale)
    }

    pub const ZERO: Qty = Qty(0);
}
