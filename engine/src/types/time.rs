//! Nanosecond timestamps.
//!
//! Every market event carries two: `ts_exchange`, stamped by the venue, and `ts_local`, stamped when
//! our recorder or gateway received it. The two clocks disagree (the bundled Binance captures run
//! about 1.27 s behind the exchange), so they are never mixed: a tape is ordered by `ts_local`.

use std::fmt;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Nanoseconds since the Unix epoch. `UnixNanos::UNKNOWN` (0) marks a time the source did not give
/// (Binance spot `bookTicker` has no exchange time).
#[repr(transparent)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct UnixNanos(pub u64);

impl UnixNanos {
    pub const UNKNOWN: UnixNanos = UnixNanos(0);

    pub fn is_known(self) -> bool {
        self.0 != 0
    }

    pub fn from_millis(ms: u64) -> Self {
        UnixNanos(ms.saturating_mul(1_000_000))
    }
}

impl fmt::Display for UnixNanos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
