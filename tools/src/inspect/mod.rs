//! Tape → what a person reads: statistics (`kestrel tape info`) and CSV rows (`kestrel tape cat`).

mod cat;
mod stats;

pub use cat::{write_csv, CatOptions};
pub use stats::{BookStats, InstrumentStats, TapeStats, TradeStats};
