//! The Kestrel engine.
//!
//! Data flows through the modules in this order (DESIGN.md §1):
//! - [`types`]: the vocabulary every stage speaks: fixed-point prices and quantities, nanosecond
//!   timestamps from two clocks kept apart, dense instrument indices.
//! - [`tape`]: the recorded-market-data file that paper mode replays and offline training reads,
//!   memory-mapped and read zero-copy.
//! - [`book`]: the L2 order book rebuilt from snapshots and level updates.
//!
//! Hot stages (ingest, features, decide, execute) and the cold side (learn, heal, report) arrive with
//! the issues that build them.
// The one unsafe block maps a tape file (tape/reader.rs); everything else is safe code.
#![deny(unsafe_code)]

pub mod book;
pub mod tape;
pub mod types;
