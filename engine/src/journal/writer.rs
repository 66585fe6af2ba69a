//! Appends records to a new journal through a writable memory map: one 64-byte copy per record.
//!
//! [`JournalWriter::create`] writes the header and instrument table, extends the file with
//! `set_len` to room for `capacity_records` records (a sparse run of zeros: no disk is used until a
//! page is written) and maps it. [`JournalWriter::append`] then seals a record (its CRC) and copies
//! it into the mapping: no allocation, no syscall, no formatting, so it can run on a hot thread for
//! every record. The kernel writes dirty pages back on its own schedule; the first write to each
//! 4 KiB page (every 64 records) takes a minor page fault, not a syscall.
//!
//! When the mapping is full, `append` grows it: it doubles the capacity (start an async flush of the
//! old mapping, `set_len`, map again) and counts it in [`JournalSummary::grows`]. That is the only
//! path that makes syscalls, and it is rare by construction: size `capacity_records` for the run
//! (a record per decision, order, fill) and it never runs; when it does, doubling makes it run
//! `log2` times, not once per record.
//!
//! [`JournalWriter::finish`] flushes the records to disk and truncates the file to header + records.
//! A writer dropped without `finish` (a crash, a kill, a panic) leaves its records followed by the
//! zero tail, and possibly one half-copied record; [`super::Journal::open`] finds the last valid
//! record by CRC and truncates the rest.
//!
//! # The mmap contract
//! The journal file is ours alone while the run lasts: `create` makes it (it refuses an existing
//! file) and holds an advisory exclusive lock (`flock`) on it until the writer is dropped, and
//! nothing in Kestrel truncates or rewrites a locked journal ([`super::Journal::open`] takes the same
//! lock before it truncates a torn tail). Writing through the mapping is sound under that contract.
//! If another program truncates the file while the run maps it, the hot thread's next write to a
//! lost page faults (SIGBUS) — the trade-off every mmap writer makes. Readers may read the file at
//! any time ([`super::Journal::open_read_only`]): they see whole records, at worst a torn last one.

use super::error::JournalError;
use super::header::{self, JournalHeader, JournalMeta};
use super::reader::Journal;
use super::record::{JOURNAL_RECORD_SIZE, JournalRecord};
use crate::types::InstrumentSpec;
use memmap2::MmapMut;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use zerocopy::IntoBytes;

/// Instrument ids are `u16`: a journal names at most this many instruments.
pub const MAX_INSTRUMENTS: usize = 1 << 16;
/// The capacity a growth starts from when the writer was created with none.
const MIN_GROW_RECORDS: u64 = 1024;

/// What a finished journal holds, returned by [`JournalWriter::finish`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalSummary {
    pub records: u64,
    /// The file's final size: header, instrument table and records.
    pub bytes: u64,
    /// How many times the mapping had to grow (0 when `capacity_records` was enough).
    pub grows: u32,
}

/// The writing end of a journal, owned by the thread that appends.
#[derive(Debug)]
pub struct JournalWriter {
    path: PathBuf,
    /// Kept open for the lock and for `set_len` when growing or finishing.
    file: File,
    map: MmapMut,
    data_offset: usize,
    capacity: u64,
    len: u64,
    grows: u32,
    /// Resuming a crashed run: the first `verify_upto` appends must equal the records already in the
    /// file (see [`JournalWriter::resume`]); they are compared, not written.
    verify_upto: u64,
}

// The writer is built on a cold thread and handed to the hot thread that appends.
const _: fn() = || {
    fn assert_send<T: Send>() {}
    assert_send::<JournalWriter>();
};

impl JournalWriter {
    /// Creates the journal at `path` (which must not exist) for a run over `instruments` (in
    /// [`crate::types::InstrumentId`] order), with room for `capacity_records` records before the
    /// first growth.
    pub fn create(
        path: impl AsRef<Path>,
        instruments: &[InstrumentSpec],
        meta: JournalMeta,
        capacity_records: u64,
    ) -> Result<JournalWriter, JournalError> {
        let path = path.as_ref();
        let invalid = |what: String| JournalError::Invalid { path: path.to_path_buf(), what };
        check_instruments(instruments).map_err(invalid)?;
        let count = instruments.len() as u32;
        let data_offset = header::data_offset_for(count);
        let bytes = file_size(data_offset, capacity_records)
            .ok_or_else(|| invalid(format!("room for {capacity_records} records does not fit in a file")))?;

        let file = match OpenOptions::new().read(true).write(true).create_new(true).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(JournalError::Exists { path: path.to_path_buf() });
            }
            Err(e) => return Err(JournalError::io(path, e)),
        };
        let head = JournalHeader {
            magic: header::MAGIC,
            version: header::VERSION,
            record_size: JOURNAL_RECORD_SIZE as u32,
            data_offset,
            instrument_count: count,
            tape_data_crc32: meta.tape_data_crc32,
            config_hash: meta.config_hash,
            header_crc32: 0,
            _pad: 0,
            _reserved: [0; 2],
        };
        let prepared = lock(&file, path)
            .and_then(|()| {
                (&file).write_all(&header::encode(&head, instruments)).map_err(|e| JournalError::io(path, e))
            })
            .and_then(|()| file.set_len(bytes).map_err(|e| JournalError::io(path, e)))
            .and_then(|()| map(&file, path));
        match prepared {
            Ok(map) => Ok(JournalWriter {
                path: path.to_path_buf(),
                file,
                map,
                data_offset: data_offset as usize,
                capacity: capacity_records,
                len: 0,
                grows: 0,
                verify_upto: 0,
            }),
            Err(e) => {
                // A half-made file holds no record; removing it lets the caller retry at the same path.
                drop(file);
                let _ = std::fs::remove_file(path);
                Err(e)
            }
        }
    }

    /// Reopens the journal of a crashed (or stopped) run to continue it. The torn tail, if any, is
    /// cut off (as [`Journal::open`] does); the valid records stay, and the writer expects the run to
    /// be replayed from its first event: each of its first appends must equal the record already at
    /// that place, and is compared rather than written, until the end of the old records; then
    /// appends write as usual. A record that differs stops the replay with
    /// [`JournalError::Diverged`], leaving the file as it was. Returns the writer and the journal as
    /// it was read (to recover positions and orders from).
    pub fn resume(path: impl AsRef<Path>, capacity_records: u64) -> Result<(JournalWriter, Journal), JournalError> {
        let path = path.as_ref();
        let journal = Journal::open(path)?;
        let valid = journal.len() as u64;
        let data_offset = journal.header().data_offset;
        let file = OpenOptions::new().read(true).write(true).open(path).map_err(|e| JournalError::io(path, e))?;
        lock(&file, path)?;
        let capacity = capacity_records.max(valid.saturating_mul(2)).max(MIN_GROW_RECORDS);
        let bytes = file_size(data_offset, capacity).ok_or_else(|| JournalError::Invalid {
            path: path.to_path_buf(),
            what: format!("room for {capacity} records does not fit in a file"),
        })?;
        file.set_len(bytes).map_err(|e| JournalError::io(path, e))?;
        let map = map(&file, path)?;
        let writer = JournalWriter {
            path: path.to_path_buf(),
            file,
            map,
            data_offset: data_offset as usize,
            capacity,
            len: 0,
            grows: 0,
            verify_upto: valid,
        };
        Ok((writer, journal))
    }

    /// Whether the writer is still comparing a replay with the records of the run it resumes.
    pub fn verifying(&self) -> bool {
        self.len < self.verify_upto
    }

    /// Seals `rec` (stamps its CRC) and appends it. Costs one 64-byte copy into the mapping, except
    /// when the mapping is full and has to grow (see the module docs); only a failed growth (the
    /// disk is full, the address space is exhausted) returns an error, and then nothing was written.
    #[inline]
    pub fn append(&mut self, mut rec: JournalRecord) -> Result<(), JournalError> {
        if self.len == self.capacity {
            self.grow()?;
        }
        rec.seal();
        let at = self.data_offset + self.len as usize * JOURNAL_RECORD_SIZE;
        if self.len < self.verify_upto {
            return self.verify(at, &rec);
        }
        self.map[at..at + JOURNAL_RECORD_SIZE].copy_from_slice(rec.as_bytes());
        self.len += 1;
        Ok(())
    }

    /// The resuming path of `append`: the replayed record must be the one already there.
    #[cold]
    fn verify(&mut self, at: usize, rec: &JournalRecord) -> Result<(), JournalError> {
        let old = &self.map[at..at + JOURNAL_RECORD_SIZE];
        if old != rec.as_bytes() {
            return Err(JournalError::Diverged { path: self.path.clone(), record: self.len });
        }
        self.len += 1;
        Ok(())
    }

    /// Doubles the capacity: the rare, syscall-making path of `append`.
    #[cold]
    #[inline(never)]
    fn grow(&mut self) -> Result<(), JournalError> {
        let capacity = self.capacity.saturating_mul(2).max(MIN_GROW_RECORDS);
        let bytes = file_size(self.data_offset as u64, capacity).ok_or_else(|| JournalError::Invalid {
            path: self.path.clone(),
            what: format!("the journal cannot grow past {} records", self.len),
        })?;
        // Not needed for correctness (unmapping keeps dirty pages in the page cache); it starts the
        // writeback of the full mapping now rather than leaving it all to the kernel's timer.
        self.map.flush_async().map_err(|e| JournalError::io(&self.path, e))?;
        self.file.set_len(bytes).map_err(|e| JournalError::io(&self.path, e))?;
        // On failure the old mapping stays in place: the writer is still usable, just full.
        self.map = map(&self.file, &self.path)?;
        self.capacity = capacity;
        self.grows += 1;
        Ok(())
    }

    /// Records appended so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Records the mapping holds before the next growth.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Growths so far.
    pub fn grows(&self) -> u32 {
        self.grows
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Asks the kernel to start writing the records appended so far to disk, without waiting
    /// (`msync(MS_ASYNC)`). A syscall: call it between runs of events, or from the owning thread at
    /// a quiet moment, never per record. Not needed for crash safety against a process crash (the
    /// page cache survives it), only to shorten what a machine crash can lose.
    pub fn flush_async(&self) -> Result<(), JournalError> {
        self.map.flush_async_range(0, self.used()).map_err(|e| JournalError::io(&self.path, e))
    }

    /// Flushes the records to disk, truncates the file to header + records and closes it. A writer
    /// stopped while still verifying a resumed journal keeps every old record.
    pub fn finish(mut self) -> Result<JournalSummary, JournalError> {
        self.len = self.len.max(self.verify_upto);
        let used = self.used();
        let JournalWriter { path, file, map, len, grows, .. } = self;
        let io = |e| JournalError::io(&path, e);
        map.flush_range(0, used).map_err(io)?;
        // Unmap before truncating: no mapping may outlive the bytes it covers.
        drop(map);
        file.set_len(used as u64).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(JournalSummary { records: len, bytes: used as u64, grows })
    }

    /// Bytes of the file in use: header, table and the records appended.
    fn used(&self) -> usize {
        self.data_offset + self.len as usize * JOURNAL_RECORD_SIZE
    }
}

/// The file size for `records` records, if it fits in both a file and the address space.
fn file_size(data_offset: u64, records: u64) -> Option<u64> {
    let bytes = records.checked_mul(JOURNAL_RECORD_SIZE as u64)?.checked_add(data_offset)?;
    (bytes <= isize::MAX as u64).then_some(bytes)
}

fn check_instruments(instruments: &[InstrumentSpec]) -> Result<(), String> {
    if instruments.len() > MAX_INSTRUMENTS {
        return Err(format!("{} instruments, a journal names at most {MAX_INSTRUMENTS}", instruments.len()));
    }
    for (i, spec) in instruments.iter().enumerate() {
        spec.validate().map_err(|e| format!("instrument {i}: {e}"))?;
        if instruments[..i].iter().any(|s| s.symbol == spec.symbol && s.venue == spec.venue) {
            return Err(format!("instrument {}@{} given twice", spec.symbol, spec.venue));
        }
    }
    Ok(())
}

/// Takes the advisory exclusive lock that marks the journal as in use (see the mmap contract). A
/// file system without locks is not an error: the lock is a guard, not what makes the writer sound.
pub(crate) fn lock(file: &File, path: &Path) -> Result<(), JournalError> {
    match file.try_lock() {
        Ok(()) | Err(TryLockError::Error(_)) => Ok(()),
        Err(TryLockError::WouldBlock) => Err(JournalError::InUse { path: path.to_path_buf() }),
    }
}

/// Maps the whole file for writing, pre-faulted for writing: otherwise the first record written to each
/// 4 KiB page (every 64 records) would take a page fault, a kernel trap, on the hot thread. (After the
/// kernel writes dirty pages back, a page may fault once more; rare.)
fn map(file: &File, path: &Path) -> Result<MmapMut, JournalError> {
    #[allow(unsafe_code)]
    // SAFETY: the file is ours alone while the run lasts (created here, locked, never truncated by
    // Kestrel while locked: see the module docs); the mapping is owned by the writer, which only
    // writes inside the file's current length and unmaps before it truncates.
    let mut map =
        unsafe { memmap2::MmapOptions::new().populate().map_mut(file) }.map_err(|e| JournalError::io(path, e))?;
    // Populating maps shared file pages read-only (the kernel tracks dirtiness by the first write), so
    // write one byte per page as well: rewriting a zero is harmless and leaves every page writable.
    for i in (0..map.len()).step_by(4096) {
        map[i] = std::hint::black_box(map[i]);
    }
    Ok(map)
}
