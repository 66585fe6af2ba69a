//! Everything that can go wrong with a journal file, each message naming the file (and the record)
//! and saying what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: not a Kestrel journal (the first bytes are not 'KSTRJRNL'); give the journal.kj of a run directory"
    )]
    BadMagic { path: PathBuf },
    #[error(
        "{path}: journal format version {found}, this build reads version {supported}; \
         read it with the build that wrote it"
    )]
    Version { path: PathBuf, found: u32, supported: u32 },
    #[error(
        "{path}: the journal header is corrupt ({what}); the file was damaged or cut off, and no record can be trusted"
    )]
    CorruptHeader { path: PathBuf, what: String },
    #[error(
        "{path}: record {record} is corrupt: {what}. The file was left untouched: keep it for inspection, and do not \
         resume a run from it"
    )]
    Corrupt { path: PathBuf, record: u64, what: String },
    #[error("{path}: already exists; a journal is never overwritten: give the run a new directory or move the old one")]
    Exists { path: PathBuf },
    #[error(
        "{path}: the journal is open for writing by a running process; wait for the run to end, or read it with \
         `kestrel journal export`, which never modifies it"
    )]
    InUse { path: PathBuf },
    #[error(
        "{path}: resuming diverged at record {record}: replaying the tape did not reproduce the journal. The tape, \
         the config or the build differ from the run's; the journal was left as it was"
    )]
    Diverged { path: PathBuf, record: u64 },
    #[error("{path}: cannot create the journal: {what}")]
    Invalid { path: PathBuf, what: String },
}

impl JournalError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        JournalError::Io { path: path.into(), source }
    }
}
