//! Tape → what a person reads: statistics (`kestrel tape info`) and CSV rows (`kestrel tape cat`).

mod cat;
mod stats;

pub use cat::{CatOptions, write_csv};
pub use stats::{BookStats, InstrumentStats, TapeStats, TradeStats};
