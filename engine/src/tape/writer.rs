//! Streams records into a new tape without holding them in memory.
//!
//! Records go to a hidden temporary file beside the output; only [`TapeWriter::finish`] writes the
//! final header and renames the file into place. An import that fails, panics or is killed therefore
//! never leaves a half-written tape under the output name (a killed one may leave the hidden
//! `.NAME.*.partial` file behind, which is harmless and safe to delete).

use super::error::TapeError;
use super::header::{self, InstrumentEntry, TapeHeader};
use super::record::{RECORD_SIZE, RawRecord, RecordKind};
use crate::types::{InstrumentId, InstrumentSpec, Price, Qty, UnixNanos};
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;
use zerocopy::IntoBytes;

/// Default room in the instrument table when the caller does not know how many will come.
pub const DEFAULT_INSTRUMENT_CAPACITY: u32 = 64;
/// Instrument ids are `u16`: a tape can name at most this many instruments.
pub const MAX_INSTRUMENTS: u32 = 1 << 16;

/// What was written, returned by [`TapeWriter::finish`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenTape {
    pub path: PathBuf,
    pub records: u64,
    pub bytes: u64,
}

#[derive(Debug)]
pub struct TapeWriter {
    out: PathBuf,
    file: BufWriter<NamedTempFile>,
    header: TapeHeader,
    entries: Vec<InstrumentEntry>,
    crc: crc32fast::Hasher,
}

impl TapeWriter {
    /// Starts a tape that will appear at `out` when finished, with room for `instrument_capacity`
    /// instruments.
    pub fn create(out: &Path, instrument_capacity: u32) -> Result<Self, TapeError> {
        let dir = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.is_empty() {
            return Err(TapeError::Write { path: out.into(), what: "the output path names no file".into() });
        }
        if instrument_capacity > MAX_INSTRUMENTS {
            return Err(TapeError::Write {
                path: out.into(),
                what: format!(
                    "room for {instrument_capacity} instruments asked, a tape holds at most {MAX_INSTRUMENTS}"
                ),
            });
        }
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".partial");
        // A tape is an ordinary output file: 0666 less the umask, not the 0600 of a private tempfile.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let tmp = builder.tempfile_in(dir).map_err(|e| TapeError::io(out, e))?;
        let capacity = instrument_capacity.max(1);
        let data_offset = header::data_offset_for(capacity);
        let mut file = BufWriter::with_capacity(1 << 20, tmp);
        // Reserve the header region; it is rewritten by `finish`.
        file.write_all(&vec![0u8; data_offset as usize]).map_err(|e| TapeError::io(out, e))?;
        let header = TapeHeader {
            magic: header::MAGIC,
            version: header::VERSION,
            record_size: RECORD_SIZE as u32,
            data_offset,
            record_count: 0,
            instrument_count: 0,
            instrument_capacity: capacity,
            first_ts_local: 0,
            last_ts_local: 0,
            min_ts_exchange: 0,
            max_ts_exchange: 0,
            data_crc32: 0,
            header_crc32: 0,
            _reserved: [0; 6],
        };
        Ok(TapeWriter { out: out.into(), file, header, entries: Vec::new(), crc: crc32fast::Hasher::new() })
    }

    fn err(&self, what: impl Into<String>) -> TapeError {
        TapeError::Write { path: self.out.clone(), what: what.into() }
    }

    /// Adds an instrument and returns its dense index.
    pub fn add_instrument(&mut self, spec: &InstrumentSpec) -> Result<InstrumentId, TapeError> {
        spec.validate().map_err(|e| self.err(e.to_string()))?;
        if self.entries.len() >= self.header.instrument_capacity as usize {
            return Err(self.err(format!(
                "more than {} instruments; raise the instrument capacity",
                self.header.instrument_capacity
            )));
        }
        let new = InstrumentEntry::from_spec(spec);
        if self.entries.iter().any(|e| e.symbol == new.symbol && e.venue == new.venue) {
            return Err(self.err(format!("instrument {}@{} added twice", spec.symbol, spec.venue)));
        }
        self.entries.push(new);
        Ok(InstrumentId((self.entries.len() - 1) as u16))
    }

    /// The spec of an instrument added earlier.
    pub fn instrument(&self, id: InstrumentId) -> Option<InstrumentSpec> {
        self.entries.get(id.index()).map(InstrumentEntry::spec)
    }

    /// Replaces an instrument's tick and lot before the tape is finished (importers infer them from
    /// the data they stream). `inferred` records in the header that they were inferred, not given.
    pub fn set_increments(
        &mut self,
        id: InstrumentId,
        tick: Price,
        lot: Qty,
        tick_inferred: bool,
        lot_inferred: bool,
    ) -> Result<(), TapeError> {
        if tick.0 <= 0 || lot.0 <= 0 {
            return Err(self.err(format!("tick {} and lot {} must be positive", tick.0, lot.0)));
        }
        let entry = self.entry_mut(id)?;
        entry.tick = tick.0;
        entry.lot = lot.0;
        entry.flags = (if tick_inferred { header::TICK_INFERRED } else { 0 })
            | (if lot_inferred { header::LOT_INFERRED } else { 0 });
        Ok(())
    }

    fn entry_mut(&mut self, id: InstrumentId) -> Result<&mut InstrumentEntry, TapeError> {
        let path = &self.out;
        self.entries
            .get_mut(id.index())
            .ok_or_else(|| TapeError::Write { path: path.clone(), what: format!("no instrument {}", id.0) })
    }

    /// Sets an instrument's decimals. Only allowed while none of its records carries a price or a
    /// size (a book-clear record does not), since those would change meaning.
    pub fn set_scales(&mut self, id: InstrumentId, price_scale: u8, qty_scale: u8) -> Result<(), TapeError> {
        let out = self.out.clone();
        let entry = self.entry_mut(id)?;
        if entry.quotes + entry.trades + entry.level_updates > 0 {
            return Err(TapeError::Write { path: out, what: "decimals changed after prices were written".into() });
        }
        let mut spec = entry.spec();
        (spec.price_scale, spec.qty_scale) = (price_scale, qty_scale);
        spec.validate().map_err(|e| TapeError::Write { path: out, what: e.to_string() })?;
        (entry.price_scale, entry.qty_scale) = (price_scale, qty_scale);
        Ok(())
    }

    /// Local time of the last record written, if any: records must not go back in local time.
    pub fn last_ts_local(&self) -> Option<UnixNanos> {
        (self.header.record_count > 0).then_some(UnixNanos(self.header.last_ts_local))
    }

    pub fn records_written(&self) -> u64 {
        self.header.record_count
    }

    /// Appends one record. Records must be in non-decreasing local time and name an instrument
    /// already added.
    pub fn write(&mut self, record: impl Into<RawRecord>) -> Result<(), TapeError> {
        let record: RawRecord = record.into();
        let h = record.header;
        let kind = h.kind().ok_or_else(|| self.err(format!("record kind {} is not a known kind", h.kind)))?;
        let Some(entry) = self.entries.get_mut(h.instrument.index()) else {
            return Err(self.err(format!(
                "record names instrument {} but only {} were added",
                h.instrument.0,
                self.entries.len()
            )));
        };
        let ts = h.ts_local.0;
        if self.header.record_count > 0 && ts < self.header.last_ts_local {
            return Err(TapeError::Write {
                path: self.out.clone(),
                what: format!(
                    "record {} goes back in local time ({} < {}); tapes are ordered by local receive time",
                    self.header.record_count, ts, self.header.last_ts_local
                ),
            });
        }
        match kind {
            RecordKind::Quote => entry.quotes += 1,
            RecordKind::Trade => entry.trades += 1,
            RecordKind::LevelUpdate => entry.level_updates += 1,
            RecordKind::BookClear => entry.book_clears += 1,
        }
        if entry.quotes + entry.trades + entry.level_updates + entry.book_clears == 1 {
            entry.first_ts_local = ts;
        }
        entry.last_ts_local = ts;
        if self.header.record_count == 0 {
            self.header.first_ts_local = ts;
        }
        self.header.last_ts_local = ts;
        if h.ts_exchange.is_known() {
            let x = h.ts_exchange.0;
            if self.header.min_ts_exchange == 0 || x < self.header.min_ts_exchange {
                self.header.min_ts_exchange = x;
            }
            self.header.max_ts_exchange = self.header.max_ts_exchange.max(x);
        }
        self.header.record_count += 1;
        let bytes = record.as_bytes();
        self.crc.update(bytes);
        self.file.write_all(bytes).map_err(|e| TapeError::io(&self.out, e))
    }

    /// Writes the header, flushes to disk and moves the tape to its output name.
    pub fn finish(mut self) -> Result<WrittenTape, TapeError> {
        let out = self.out.clone();
        let io = |e: std::io::Error| TapeError::io(&out, e);
        self.header.instrument_count = self.entries.len() as u32;
        self.header.data_crc32 = self.crc.clone().finalize();
        let mut table = Vec::with_capacity(self.header.data_offset as usize);
        table.extend_from_slice(self.header.as_bytes());
        for e in &self.entries {
            table.extend_from_slice(e.as_bytes());
        }
        table.resize(self.header.data_offset as usize, 0);
        let crc = crc32fast::hash(&table);
        table[header_crc_range()].copy_from_slice(&crc.to_le_bytes());

        let tmp = self.file.into_inner().map_err(|e| io(e.into_error()))?;
        let mut f: &File = tmp.as_file();
        f.seek(SeekFrom::Start(0)).map_err(io)?;
        f.write_all(&table).map_err(io)?;
        f.sync_all().map_err(io)?;
        let bytes = self.header.data_offset + self.header.record_count * RECORD_SIZE as u64;
        tmp.persist(&out).map_err(|e| io(e.error))?;
        Ok(WrittenTape { path: out, records: self.header.record_count, bytes })
    }
}

/// Byte range of `header_crc32` inside the header.
pub(crate) fn header_crc_range() -> std::ops::Range<usize> {
    let start = std::mem::offset_of!(TapeHeader, header_crc32);
    start..start + 4
}
