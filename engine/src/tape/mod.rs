//! Tape format v1: recorded market data in one file, read zero-copy through a memory map.
//!
//! A tape holds a header (magic `KSTRTAPE`, version, instrument table with symbol, venue, tick, lot,
//! scales and per-instrument record counts, the time span, and CRC-32s of header and data), then
//! fixed-size 64-byte records ordered by local receive time. See [`header`] for the byte layout and
//! [`record`] for the record kinds. [`TapeWriter`] streams records out; [`Tape`] maps a file and
//! validates it.

pub mod error;
pub mod header;
pub mod reader;
pub mod record;
pub mod writer;

pub use error::TapeError;
pub use reader::{MAX_FIXED, Tape};
pub use record::{
    BookClear, LevelUpdate, Quote, RECORD_SIZE, RawRecord, Record, RecordHeader, RecordKind, Trade, flags,
};
pub use writer::{DEFAULT_INSTRUMENT_CAPACITY, MAX_INSTRUMENTS, TapeWriter, WrittenTape};
