//! Opens a journal: checks the header, then finds where the records end by CRC.
//!
//! The header holds no record count (the writer never rewrites it), so the end of the data is the
//! first record that is not valid — one that fails its CRC or names no known kind. What follows it
//! decides what that record is:
//! - nothing but bytes that form no sealed record (the preallocated zeros, the half-copied record a
//!   crash left behind): a **torn tail**. Every record before it is kept; [`Journal::open`] truncates
//!   the file after the last valid record (nothing valid is lost) and reports it in
//!   [`Journal::recovered_tail`]; [`Journal::open_read_only`] reports it and leaves the file alone.
//! - a sealed record further on: damage in the middle, not a torn tail. Truncating would throw
//!   whole records away, so both opens fail with [`JournalError::Corrupt`] naming the first bad
//!   record and leave the file untouched.
//!
//! A record that passes its CRC but names an unknown kind, an instrument the table lacks, or a side
//! or reason byte its kind does not allow (for a Features record: a chunk number outside its run;
//! for a ModelSwap: an unknown role) was written whole, by a buggy or newer build: that is
//! [`JournalError::Corrupt`] too, never a tail to cut off.
//!
//! This is cold-side code: it reads the file with ordinary reads into owned records.

use super::error::JournalError;
use super::header::{self, JournalHeader, JournalMeta};
use super::record::{BlockReason, EntryKind, FeaturesRecord, JOURNAL_RECORD_SIZE, JournalRecord, RejectReason, Side};
use super::writer::{MAX_INSTRUMENTS, lock};
use crate::decide::model::ModelRole;
use crate::tape::header::InstrumentEntry;
use crate::types::InstrumentSpec;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use zerocopy::{FromBytes, IntoBytes};

/// What the end of a journal held besides whole, valid records: found on open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// Valid records before the tail (all of them are kept).
    pub valid_records: u64,
    /// Bytes after the last valid record: preallocated zeros and at most one partly written record.
    pub discarded_bytes: u64,
}

/// A journal read into memory.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    header: JournalHeader,
    instruments: Vec<InstrumentSpec>,
    records: Vec<JournalRecord>,
    tail: Option<TornTail>,
}

impl Journal {
    /// Opens the journal at `path` and, if it ends in a torn tail, truncates the file after the last
    /// valid record. Refuses ([`JournalError::InUse`]) a journal a running writer holds: truncating
    /// under its mapping would crash it. Use this to recover from a crashed run.
    pub fn open(path: impl AsRef<Path>) -> Result<Journal, JournalError> {
        Journal::load(path.as_ref(), true)
    }

    /// Opens the journal at `path` without modifying it: a torn tail is reported and skipped. Safe
    /// on the journal of a run still in progress (its records so far, then its preallocated zeros).
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Journal, JournalError> {
        Journal::load(path.as_ref(), false)
    }

    fn load(path: &Path, recover: bool) -> Result<Journal, JournalError> {
        let io = |e| JournalError::io(path, e);
        let file = if recover { OpenOptions::new().read(true).write(true).open(path) } else { File::open(path) };
        let mut file = file.map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(io(std::io::Error::other(
                "not a regular file (a directory?); give the path of a journal file",
            )));
        }
        if recover {
            // Held until `file` closes at the end of this function, across the truncation.
            lock(&file, path)?;
        }
        let len = meta.len();
        let (header, instruments) = read_header(&mut file, path, len)?;

        let data_len = len - header.data_offset;
        let whole = data_len / JOURNAL_RECORD_SIZE as u64;
        let mut records = vec![JournalRecord::default(); whole as usize];
        file.read_exact(records.as_mut_bytes()).map_err(io)?;

        let valid = find_end(&records, instruments.len()).map_err(|(record, what)| JournalError::Corrupt {
            path: path.to_path_buf(),
            record,
            what,
        })?;
        records.truncate(valid as usize);
        let kept = header.data_offset + valid * JOURNAL_RECORD_SIZE as u64;
        let tail = (kept < len).then_some(TornTail { valid_records: valid, discarded_bytes: len - kept });
        if recover && tail.is_some() {
            file.set_len(kept).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        Ok(Journal { path: path.to_path_buf(), header, instruments, records, tail })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn header(&self) -> &JournalHeader {
        &self.header
    }

    /// The tape and config the run was given.
    pub fn meta(&self) -> JournalMeta {
        JournalMeta { tape_data_crc32: self.header.tape_data_crc32, config_hash: self.header.config_hash }
    }

    /// Instruments in index order: `instruments()[record.instrument.index()]`.
    pub fn instruments(&self) -> &[InstrumentSpec] {
        &self.instruments
    }

    /// The valid records, in the order they were appended.
    pub fn records(&self) -> &[JournalRecord] {
        &self.records
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The torn tail found on open, if the file held more than its valid records: by
    /// [`Journal::open`] truncated away, by [`Journal::open_read_only`] only skipped.
    pub fn recovered_tail(&self) -> Option<TornTail> {
        self.tail
    }
}

/// Reads and checks the header and instrument table, leaving `file` at the first record.
fn read_header(file: &mut File, path: &Path, len: u64) -> Result<(JournalHeader, Vec<InstrumentSpec>), JournalError> {
    let corrupt = |what: String| JournalError::CorruptHeader { path: path.to_path_buf(), what };
    let mut head = [0u8; header::HEADER_SIZE];
    let got = read_up_to(file, &mut head).map_err(|e| JournalError::io(path, e))?;
    if got >= 8 && head[..8] != header::MAGIC {
        return Err(JournalError::BadMagic { path: path.to_path_buf() });
    }
    if got < header::HEADER_SIZE {
        return Err(corrupt(format!("the file is {len} bytes, shorter than the {}-byte header", header::HEADER_SIZE)));
    }
    let h = JournalHeader::read_from_bytes(&head).map_err(|_| corrupt("header size".into()))?;
    if h.version != header::VERSION {
        return Err(JournalError::Version { path: path.to_path_buf(), found: h.version, supported: header::VERSION });
    }
    if h.record_size as usize != JOURNAL_RECORD_SIZE {
        return Err(corrupt(format!("record size {} instead of {JOURNAL_RECORD_SIZE}", h.record_size)));
    }
    if h.instrument_count as usize > MAX_INSTRUMENTS || h.data_offset != header::data_offset_for(h.instrument_count) {
        return Err(corrupt(format!(
            "{} instruments do not match a data offset of {}",
            h.instrument_count, h.data_offset
        )));
    }
    if len < h.data_offset {
        return Err(corrupt(format!(
            "the file is {len} bytes, shorter than its {}-byte header and instrument table",
            h.data_offset
        )));
    }
    let mut region = head.to_vec();
    region.resize(h.data_offset as usize, 0);
    file.read_exact(&mut region[header::HEADER_SIZE..]).map_err(|e| JournalError::io(path, e))?;
    if header::header_crc(&region) != h.header_crc32 {
        return Err(corrupt("header checksum mismatch".into()));
    }
    let mut instruments = Vec::with_capacity(h.instrument_count as usize);
    for (i, bytes) in
        region[header::HEADER_SIZE..].chunks_exact(header::ENTRY_SIZE).take(h.instrument_count as usize).enumerate()
    {
        let entry = InstrumentEntry::read_from_bytes(bytes).map_err(|_| corrupt("instrument entry size".into()))?;
        let spec = entry.spec();
        spec.validate().map_err(|e| corrupt(format!("instrument {i}: {e}")))?;
        instruments.push(spec);
    }
    Ok((h, instruments))
}

/// Fills as much of `buf` as the file holds; returns how much.
fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// How many records are valid, or the first corrupt record and what is wrong with it.
fn find_end(records: &[JournalRecord], instruments: usize) -> Result<u64, (u64, String)> {
    let mut end = records.len();
    for (i, rec) in records.iter().enumerate() {
        if !rec.is_sealed() {
            end = i;
            break;
        }
        check_record(rec, instruments).map_err(|what| (i as u64, what))?;
    }
    // A torn tail holds no whole record: anything sealed after the first failure is real data.
    if let Some(later) = records[end..].iter().position(JournalRecord::is_sealed) {
        let what = format!(
            "it fails its checksum, yet record {} after it is whole, so this is damage in the middle, not a torn tail",
            end + later
        );
        return Err((end as u64, what));
    }
    Ok(end as u64)
}

/// The checks a sealed record must pass: it was written whole, so any failure is a writer's bug.
fn check_record(rec: &JournalRecord, instruments: usize) -> Result<(), String> {
    let Some(kind) = rec.kind() else {
        return Err(format!("it passes its checksum but has unknown kind {} (written by a newer build?)", rec.kind));
    };
    if kind == EntryKind::Features {
        // Its own layout: no instrument, side or reason (see `FeaturesRecord`).
        let f = FeaturesRecord::from_record(rec);
        if f.chunks == 0 || f.chunk >= f.chunks || f._pad != 0 {
            return Err(format!("a features record numbered {} of {}", f.chunk, f.chunks));
        }
        return Ok(());
    }
    if kind == EntryKind::ModelSwap && ModelRole::ALL.get(usize::from(rec.aux)).is_none() {
        return Err(format!("a model swap for role byte {}", rec.aux));
    }
    if rec.instrument.index() >= instruments {
        return Err(format!("it names instrument {} but the journal has {instruments}", rec.instrument.0));
    }
    if rec.side != 0 && Side::from_u8(rec.side).is_none() {
        return Err(format!("side byte {}", rec.side));
    }
    let reason_ok = match kind {
        EntryKind::Blocked => BlockReason::from_u8(rec.reason).is_some(),
        EntryKind::Reject | EntryKind::CancelReject => RejectReason::from_u8(rec.reason).is_some(),
        _ => rec.reason == 0,
    };
    if !reason_ok {
        return Err(format!("reason byte {} on a {} record", rec.reason, kind.as_str()));
    }
    // Positions are rebuilt by booking fills (export, restart): each must say what moved.
    if kind == EntryKind::Fill && (rec.side == 0 || rec.qty.0 <= 0) {
        return Err(format!("a fill with side byte {} and quantity {}", rec.side, rec.qty.0));
    }
    Ok(())
}
