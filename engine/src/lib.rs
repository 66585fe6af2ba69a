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
// Two unsafe blocks map files (tape/reader.rs reads a tape, journal/writer.rs writes a journal), each
// with its own allow and SAFETY note; everything else is safe code.
#![deny(unsafe_code)]

pub mod book;
pub mod clock;
pub mod config;
pub mod decide;
pub mod event;
pub mod execute;
pub mod features;
pub mod ingest;
pub mod journal;
pub mod latency;
pub mod paper;
pub mod pipeline;
pub mod tape;
pub mod types;
