//! Everything that can be wrong with a tape file, each naming the file and what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TapeError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: not a Kestrel tape (the first bytes are not 'KSTRTAPE'); make one with `kestrel tape import` or `kestrel tape synth`"
    )]
    BadMagic { path: PathBuf },
    #[error(
        "{path}: tape format version {found}, this build reads version {supported}; re-import the source data with this build"
    )]
    UnsupportedVersion { path: PathBuf, found: u32, supported: u32 },
    #[error(
        "{path}: the file is {len} bytes, too short for a tape header ({needed} bytes); it was cut off while being copied or written"
    )]
    TruncatedHeader { path: PathBuf, len: u64, needed: u64 },
    #[error(
        "{path}: the header is corrupt ({what}); the file was damaged after it was written, re-import or re-copy it"
    )]
    CorruptHeader { path: PathBuf, what: String },
    #[error(
        "{path}: the tape is truncated: the header promises {expected} records but the file holds {present} whole records{partial}; \
         record {present} onwards is missing. Re-copy the file, or re-import it"
    )]
    TruncatedTail { path: PathBuf, expected: u64, present: u64, partial: String },
    #[error(
        "{path}: {extra} unexpected bytes after the last of {expected} records; the file was appended to after it was written"
    )]
    TrailingBytes { path: PathBuf, expected: u64, extra: u64 },
    #[error(
        "{path}: record data fails its checksum (stored {stored:#010x}, computed {computed:#010x}); the file was damaged after it was written, re-import or re-copy it"
    )]
    DataChecksum { path: PathBuf, stored: u32, computed: u32 },
    #[error("{path}: record {index} is invalid: {reason}")]
    BadRecord { path: PathBuf, index: u64, reason: String },
    #[error("{path}: {what}")]
    Write { path: PathBuf, what: String },
}

impl TapeError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TapeError::Io { path: path.into(), source }
    }
}
