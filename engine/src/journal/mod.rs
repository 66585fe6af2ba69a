//! The run journal: the append-only audit trail of a run, memory-mapped for the hot thread.
//!
//! Every decision, blocked trade, order, fill and venue reject is one fixed-size 64-byte
//! [`JournalRecord`] with its own CRC (see [`record`]); so is what the models saw for a candidate
//! ([`FeaturesRecord`], same size and CRC, its own layout) and every change of live model. A run directory holds it as
//! [`FILE_NAME`] (DESIGN.md §6).
//!
//! - [`header`]: the file layout: a 64-byte header (magic `KSTRJRNL`, version, provenance: the
//!   tape's data CRC and the config hash), the instrument table, records from a page boundary.
//! - [`writer`]: [`JournalWriter`] appends through a writable mapping — one copy per record, no
//!   allocation or syscall — and grows the mapping (rarely) when it is full.
//! - [`reader`]: [`Journal`] reads a journal back, finds its end by CRC, and truncates a crashed
//!   run's torn tail ([`Journal::open`]) or only reports it ([`Journal::open_read_only`]).
//! - [`export`]: CSV for pandas and polars: the journal, and the model-consulted candidates with
//!   their features (the counterfactual dataset for learning).
//!
//! A run's journal is byte-identical across topologies (DESIGN.md §2.6): records carry tape time,
//! never a latency stamp, and the header carries only what the caller gives it.

pub mod candidates;
pub mod error;
pub mod export;
pub mod header;
pub mod reader;
pub mod record;
pub mod recover;
pub mod writer;

pub use candidates::{JournaledCandidate, Seen, entry_candidates};
pub use error::JournalError;
pub use export::{CSV_COLUMNS, FEATURES_CSV_LEAD, write_csv, write_features_csv};
pub use header::JournalMeta;
pub use reader::{Journal, TornTail};
pub use record::{
    BlockReason, EntryKind, FEATURES_PER_RECORD, FeaturesRecord, JOURNAL_RECORD_SIZE, JournalRecord, RejectReason,
    Side, features_chunks, features_values,
};
pub use recover::{Recovered, WorkingOrder};
pub use writer::{JournalSummary, JournalWriter};

/// The journal's file name inside a run directory.
pub const FILE_NAME: &str = "journal.kj";
