//! The journal's file layout: a fixed 64-byte header, the run's instrument table, then records from
//! a page boundary on.
//!
//! ```text
//! offset 0             JournalHeader (64 B): magic, version, record size, data offset, instrument
//!                      count, the tape's data CRC and the config hash (provenance), header CRC
//! offset 64            InstrumentEntry × instrument_count (128 B each, the tape format's entry)
//! offset data_offset   JournalRecord × N (64 B each)   (data_offset: a multiple of 4096)
//! ```
//!
//! The header never changes after the writer creates the file, so the hot thread never rewrites it:
//! the record count is not stored. A reader finds the end of the data by CRC (see [`super::reader`]).
//! Records start page-aligned so that each 4 KiB page of the mapping holds exactly 64 records.

use super::record::JOURNAL_RECORD_SIZE;
use crate::tape::header::InstrumentEntry;
use crate::types::InstrumentSpec;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// First eight bytes of every journal.
pub const MAGIC: [u8; 8] = *b"KSTRJRNL";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;
pub const HEADER_SIZE: usize = 64;
/// One instrument table entry (the tape format's [`InstrumentEntry`]).
pub const ENTRY_SIZE: usize = crate::tape::header::ENTRY_SIZE;
/// Records start on a multiple of this many bytes.
pub const DATA_ALIGN: usize = crate::tape::header::DATA_ALIGN;

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct JournalHeader {
    pub magic: [u8; 8],
    pub version: u32,
    /// Size of one record; 64 in version 1.
    pub record_size: u32,
    /// Byte offset of the first record: [`data_offset_for`] the instrument count.
    pub data_offset: u64,
    pub instrument_count: u32,
    /// `data_crc32` of the tape the run replayed (0 for a live run): which input this journal is of.
    pub tape_data_crc32: u32,
    /// The caller's hash of the resolved config: which settings produced this journal.
    pub config_hash: u64,
    /// CRC-32 of bytes `0..data_offset` (header, instrument table, padding) with this field zeroed.
    pub header_crc32: u32,
    pub _pad: u32,
    pub _reserved: [u64; 2],
}

const _: () = assert!(size_of::<JournalHeader>() == HEADER_SIZE);
const _: () = assert!(JOURNAL_RECORD_SIZE == 64);

/// Where the records start for a table of `count` instruments.
pub fn data_offset_for(count: u32) -> u64 {
    let table_end = HEADER_SIZE + count as usize * ENTRY_SIZE;
    table_end.div_ceil(DATA_ALIGN) as u64 * DATA_ALIGN as u64
}

/// Byte range of `header_crc32` inside the header.
fn crc_range() -> std::ops::Range<usize> {
    let start = std::mem::offset_of!(JournalHeader, header_crc32);
    start..start + 4
}

/// The header CRC of `region` (bytes `0..data_offset`), computed as if its CRC field were zero.
pub fn header_crc(region: &[u8]) -> u32 {
    let at = crc_range();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&region[..at.start]);
    crc.update(&[0; 4]);
    crc.update(&region[at.end..]);
    crc.finalize()
}

/// The bytes `0..data_offset` of a new journal: header, instrument table, zero padding, with the
/// header CRC stamped. `header.data_offset` and `instrument_count` must match `instruments`.
pub fn encode(header: &JournalHeader, instruments: &[InstrumentSpec]) -> Vec<u8> {
    let mut region = Vec::with_capacity(header.data_offset as usize);
    region.extend_from_slice(header.as_bytes());
    for spec in instruments {
        region.extend_from_slice(InstrumentEntry::from_spec(spec).as_bytes());
    }
    region.resize(header.data_offset as usize, 0);
    let crc = header_crc(&region);
    region[crc_range()].copy_from_slice(&crc.to_le_bytes());
    region
}

/// Where a journal came from, stored in its header: the tape and the config that produced it, so
/// that a journal is never compared with a replay of different inputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct JournalMeta {
    /// `data_crc32` of the tape the run replayed (see [`crate::tape::header::TapeHeader`]); 0 live.
    pub tape_data_crc32: u32,
    /// The caller's hash of the resolved config.
    pub config_hash: u64,
}
