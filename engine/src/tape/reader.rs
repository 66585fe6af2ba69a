//! Opens a tape by memory-mapping it and reads its records in place.
//!
//! # The mmap contract
//! A tape is immutable once written: [`super::TapeWriter`] writes under a temporary name and renames
//! the finished file into place, and nothing in Kestrel writes to a tape afterwards. Mapping is sound
//! under that contract. If another program truncates or rewrites the file while it is mapped, reads
//! of the lost pages fault (SIGBUS) — the same trade-off ripgrep and every mmap reader make; copy a
//! tape you expect to change before replaying it.

use super::error::TapeError;
use super::header::{self, InstrumentEntry, TapeHeader};
use super::record::{RECORD_SIZE, RawRecord, Record, flags};
use super::writer::header_crc_range;
use crate::types::{Aggressor, BookSide, InstrumentSpec};
use memmap2::Mmap;
use std::fs::File;
use std::path::{Path, PathBuf};
use zerocopy::FromBytes;

/// An open, memory-mapped tape.
#[derive(Debug)]
pub struct Tape {
    path: PathBuf,
    map: Mmap,
    header: TapeHeader,
    instruments: Vec<InstrumentSpec>,
    entries: Vec<InstrumentEntry>,
}

impl Tape {
    /// Opens and maps `path`, checking the header, the instrument table and the file length. Record
    /// contents are checked by [`Tape::verify`].
    pub fn open(path: impl AsRef<Path>) -> Result<Tape, TapeError> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|e| TapeError::io(&path, e))?;
        let meta = file.metadata().map_err(|e| TapeError::io(&path, e))?;
        if !meta.is_file() {
            return Err(TapeError::io(
                &path,
                std::io::Error::other("not a regular file (a directory?); give the path of a .tape file"),
            ));
        }
        let len = meta.len();
        if len < header::HEADER_SIZE as u64 {
            if len >= 8 && !starts_with_magic(&file) {
                return Err(TapeError::BadMagic { path });
            }
            return Err(TapeError::TruncatedHeader { path, len, needed: header::HEADER_SIZE as u64 });
        }
        #[allow(unsafe_code)]
        // SAFETY: tapes are immutable once renamed into place (see the module docs); the mapping is
        // read-only and lives as long as `Tape`, which hands out only borrows of it.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| TapeError::io(&path, e))?;
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Sequential);

        let header =
            TapeHeader::read_from_bytes(&map[..header::HEADER_SIZE]).map_err(|_| corrupt(&path, "header size"))?;
        if header.magic != header::MAGIC {
            return Err(TapeError::BadMagic { path });
        }
        if header.version != header::VERSION {
            return Err(TapeError::UnsupportedVersion { path, found: header.version, supported: header::VERSION });
        }
        if header.record_size as usize != RECORD_SIZE {
            return Err(corrupt(&path, format!("record size {} instead of {RECORD_SIZE}", header.record_size)));
        }
        if header.instrument_count > header.instrument_capacity
            || header.data_offset != header::data_offset_for(header.instrument_capacity)
        {
            return Err(corrupt(&path, "instrument table size does not match the data offset"));
        }
        if len < header.data_offset {
            return Err(TapeError::TruncatedHeader { path, len, needed: header.data_offset });
        }
        let table = &map[..header.data_offset as usize];
        // The stored CRC was computed with its own four bytes zeroed.
        let crc_at = header_crc_range();
        let mut crc = crc32fast::Hasher::new();
        crc.update(&table[..crc_at.start]);
        crc.update(&[0; 4]);
        crc.update(&table[crc_at.end..]);
        if crc.finalize() != header.header_crc32 {
            return Err(corrupt(&path, "header checksum mismatch"));
        }

        let mut entries = Vec::with_capacity(header.instrument_count as usize);
        let mut instruments = Vec::with_capacity(header.instrument_count as usize);
        for i in 0..header.instrument_count as usize {
            let at = header::HEADER_SIZE + i * header::ENTRY_SIZE;
            let entry = InstrumentEntry::read_from_bytes(&table[at..at + header::ENTRY_SIZE])
                .map_err(|_| corrupt(&path, "instrument entry size"))?;
            let spec = entry.spec();
            spec.validate().map_err(|e| corrupt(&path, format!("instrument {i}: {e}")))?;
            entries.push(entry);
            instruments.push(spec);
        }

        let data_len = len - header.data_offset;
        let expected = header
            .record_count
            .checked_mul(RECORD_SIZE as u64)
            .ok_or_else(|| corrupt(&path, "record count overflows"))?;
        if data_len < expected {
            let present = data_len / RECORD_SIZE as u64;
            let rest = data_len % RECORD_SIZE as u64;
            let partial = if rest > 0 { format!(" and {rest} bytes of a partial one") } else { String::new() };
            return Err(TapeError::TruncatedTail { path, expected: header.record_count, present, partial });
        }
        if data_len > expected {
            return Err(TapeError::TrailingBytes { path, expected: header.record_count, extra: data_len - expected });
        }
        Ok(Tape { path, map, header, instruments, entries })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn header(&self) -> &TapeHeader {
        &self.header
    }

    /// Instruments in index order: `instruments()[id.index()]`.
    pub fn instruments(&self) -> &[InstrumentSpec] {
        &self.instruments
    }

    /// Per-instrument counts and time spans, as stored in the header.
    pub fn instrument_entries(&self) -> &[InstrumentEntry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.header.record_count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.header.record_count == 0
    }

    /// The raw bytes of the records, for checksums and benchmarks.
    pub fn record_bytes(&self) -> &[u8] {
        let start = self.header.data_offset as usize;
        &self.map[start..start + self.len() * RECORD_SIZE]
    }

    /// All records, read in place from the mapping.
    pub fn records(&self) -> &[RawRecord] {
        // The data offset is a multiple of 4096 inside a page-aligned mapping and the length is a
        // multiple of 64 (checked by `open`), so this cannot fail.
        <[RawRecord]>::ref_from_bytes(self.record_bytes()).unwrap_or(&[])
    }

    /// Typed views of the records; records of unknown kind (only in a tape that fails
    /// [`Tape::verify`]) are skipped.
    pub fn iter(&self) -> impl Iterator<Item = Record<'_>> + '_ {
        self.records().iter().filter_map(RawRecord::view)
    }

    /// Checks the data checksum and every record: known kind and instrument, valid side and flags,
    /// non-decreasing local time, positive prices and sizes where they must be. Reports the first
    /// bad record by index. Costs one pass over the file (several GB/s).
    pub fn verify(&self) -> Result<(), TapeError> {
        let computed = crc32fast::hash(self.record_bytes());
        if computed != self.header.data_crc32 {
            return Err(TapeError::DataChecksum { path: self.path.clone(), stored: self.header.data_crc32, computed });
        }
        let mut last_ts = 0u64;
        for (i, raw) in self.records().iter().enumerate() {
            if let Err(reason) = check_record(raw, self.instruments.len(), last_ts) {
                return Err(TapeError::BadRecord { path: self.path.clone(), index: i as u64, reason });
            }
            last_ts = raw.header.ts_local.0;
        }
        Ok(())
    }
}

fn check_record(raw: &RawRecord, instruments: usize, last_ts: u64) -> Result<(), String> {
    let h = &raw.header;
    if h.instrument.index() >= instruments {
        return Err(format!("instrument index {} but the tape has {instruments}", h.instrument.0));
    }
    if h.ts_local.0 < last_ts {
        return Err(format!("local time {} goes back from {last_ts}", h.ts_local.0));
    }
    if h.flags & !flags::ALL != 0 {
        return Err(format!("unknown flag bits {:#04x}", h.flags));
    }
    match raw.view() {
        None => Err(format!("unknown kind {}", h.kind)),
        Some(Record::Quote(q)) => {
            if q.bid_px.0 <= 0 || q.ask_px.0 <= 0 || q.bid_qty.0 < 0 || q.ask_qty.0 < 0 {
                Err("quote with a non-positive price or a negative size".into())
            } else if [q.bid_px.0, q.ask_px.0, q.bid_qty.0, q.ask_qty.0].iter().any(|&v| v > MAX_FIXED) {
                Err(too_large())
            } else if q.bid_px >= q.ask_px {
                Err(format!("crossed quote: bid {} >= ask {}", q.bid_px.0, q.ask_px.0))
            } else {
                Ok(())
            }
        }
        Some(Record::Trade(t)) => {
            if Aggressor::from_u8(h.side).is_none() {
                Err(format!("trade with aggressor byte {}", h.side))
            } else if t.px.0 <= 0 || t.qty.0 <= 0 {
                Err("trade with a non-positive price or size".into())
            } else if t.px.0 > MAX_FIXED || t.qty.0 > MAX_FIXED {
                Err(too_large())
            } else {
                Ok(())
            }
        }
        Some(Record::Level(l)) => {
            if BookSide::from_u8(h.side).is_none() {
                Err(format!("level update with side byte {}", h.side))
            } else if l.px.0 <= 0 || l.qty.0 < 0 {
                Err("level update with a non-positive price or a negative size".into())
            } else if l.px.0 > MAX_FIXED || l.qty.0 > MAX_FIXED {
                Err(too_large())
            } else {
                Ok(())
            }
        }
        Some(Record::Clear(_)) => Ok(()),
    }
}

fn starts_with_magic(file: &File) -> bool {
    use std::io::Read;
    let mut buf = [0u8; 8];
    let mut f = file;
    f.read_exact(&mut buf).is_ok() && buf == header::MAGIC
}

/// Largest price or size a record may carry: 2^61 steps (2.3e18). Sums of two prices and small
/// multiples (mids, half ticks) must not overflow an i64 anywhere downstream; a real instrument is
/// far below it (a $1M price at 8 decimals is 1e14 steps).
pub const MAX_FIXED: i64 = 1 << 61;

fn too_large() -> String {
    format!("a price or size beyond {MAX_FIXED} steps (2^61): not a real market, and sums of two would overflow")
}

fn corrupt(path: &Path, what: impl Into<String>) -> TapeError {
    TapeError::CorruptHeader { path: path.to_path_buf(), what: what.into() }
}
