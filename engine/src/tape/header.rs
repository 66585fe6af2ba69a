//! The tape header: a fixed 128-byte block, then a table of 128-byte instrument entries, padded to a
//! page boundary so that records start page-aligned in the mapping.
//!
//! ```text
//! offset 0                 TapeHeader (128 B): magic, version, sizes, counts, time span, CRCs
//! offset 128               InstrumentEntry × instrument_capacity (128 B each)
//! offset data_offset       RawRecord × record_count (64 B each)   (data_offset: multiple of 4096)
//! ```
//!
//! The writer reserves `instrument_capacity` entries up front so that instruments can be added while
//! streaming; it rewrites the whole header once the records are down.

use crate::types::{InstrumentSpec, Price, Qty};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// First eight bytes of every tape.
pub const MAGIC: [u8; 8] = *b"KSTRTAPE";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;
/// Records start on a multiple of this many bytes.
pub const DATA_ALIGN: usize = 4096;
pub const HEADER_SIZE: usize = 128;
pub const ENTRY_SIZE: usize = 128;

/// Instrument entry flag: the tick was inferred from the data (the GCD of all prices seen).
pub const TICK_INFERRED: u8 = 1;
/// Instrument entry flag: the lot was inferred from the data (the GCD of all sizes seen).
pub const LOT_INFERRED: u8 = 2;

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct TapeHeader {
    pub magic: [u8; 8],
    pub version: u32,
    /// Size of one record; 64 in version 1.
    pub record_size: u32,
    /// Byte offset of the first record.
    pub data_offset: u64,
    pub record_count: u64,
    pub instrument_count: u32,
    pub instrument_capacity: u32,
    /// Local-receive time of the first and last record (the tape's ordering timeline).
    pub first_ts_local: u64,
    pub last_ts_local: u64,
    /// Smallest and largest known exchange time (0 if no record has one).
    pub min_ts_exchange: u64,
    pub max_ts_exchange: u64,
    /// CRC-32 of the record bytes.
    pub data_crc32: u32,
    /// CRC-32 of the header and instrument table with this field set to zero.
    pub header_crc32: u32,
    pub _reserved: [u64; 6],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct InstrumentEntry {
    /// NUL-padded ASCII.
    pub symbol: [u8; 32],
    /// NUL-padded ASCII.
    pub venue: [u8; 16],
    pub tick: i64,
    pub lot: i64,
    pub price_scale: u8,
    pub qty_scale: u8,
    /// [`TICK_INFERRED`], [`LOT_INFERRED`].
    pub flags: u8,
    pub _pad: [u8; 5],
    pub quotes: u64,
    pub trades: u64,
    pub level_updates: u64,
    pub book_clears: u64,
    pub first_ts_local: u64,
    pub last_ts_local: u64,
    pub _reserved: u64,
}

const _: () = {
    assert!(size_of::<TapeHeader>() == HEADER_SIZE);
    assert!(size_of::<InstrumentEntry>() == ENTRY_SIZE);
};

/// Where the records start for a table of `capacity` instruments.
pub fn data_offset_for(capacity: u32) -> u64 {
    let table_end = HEADER_SIZE + capacity as usize * ENTRY_SIZE;
    table_end.div_ceil(DATA_ALIGN) as u64 * DATA_ALIGN as u64
}

fn pad<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    out[..s.len()].copy_from_slice(s.as_bytes());
    out
}

fn unpad(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

impl InstrumentEntry {
    /// A fresh entry for a spec that has passed [`InstrumentSpec::validate`].
    pub fn from_spec(spec: &InstrumentSpec) -> Self {
        InstrumentEntry {
            symbol: pad(&spec.symbol),
            venue: pad(&spec.venue),
            tick: spec.tick.0,
            lot: spec.lot.0,
            price_scale: spec.price_scale,
            qty_scale: spec.qty_scale,
            flags: 0,
            _pad: [0; 5],
            quotes: 0,
            trades: 0,
            level_updates: 0,
            book_clears: 0,
            first_ts_local: 0,
            last_ts_local: 0,
            _reserved: 0,
        }
    }

    pub fn spec(&self) -> InstrumentSpec {
        InstrumentSpec {
            symbol: unpad(&self.symbol),
            venue: unpad(&self.venue),
            price_scale: self.price_scale,
            qty_scale: self.qty_scale,
            tick: Price(self.tick),
            lot: Qty(self.lot),
        }
    }
}
