//! The Kestrel engine.
//!
//! Modules in the order data flows through them (DESIGN.md §1):
//! - [`types`]: the vocabulary every stage speaks: fixed-point prices and quantities, nanosecond
//!   timestamps from two clocks kept apart, dense instrument indices.
//! - [`tape`]: the recorded-market-data file that paper mode replays, memory-mapped, zero-copy.
//! - [`clock`]: strategy time (tape time in paper, TSC live) and TSC latency stamps.
//! - The hot stages, each a plain processor with no knowledge of threads, and the messages between
//!   them ([`event`]): [`ingest`] → [`features`] (over [`book`]) → [`decide`] → [`execute`].
//! - [`pipeline`]: the runners that put the stages on threads (fused or threaded over `rtrb` links,
//!   with wait strategies and pinning).
//! - [`journal`]: the append-only audit trail execute writes; [`latency`]: the HDR histograms every
//!   stage records into.
//! - [`config`] and [`paper`]: the cold side of a paper run: checked settings in, a run directory out.
//! - Built and tested, to be wired in by the paper-exchange issue: [`orders`] (the order vocabulary),
//!   [`risk`] (the pre-trade gate: only a `RiskApproved` order can reach a venue), [`account`] (order
//!   states, positions with fees per strategy and instrument, bracket exits) and `execute::sim` (the
//!   simulated exchange: book walk, queue models, latency models, fees).
//!
//! Learning, healing and reporting on the cold side arrive with the issues that build them.
// Two unsafe blocks map files (tape/reader.rs reads a tape, journal/writer.rs writes a journal), each
// with its own allow and SAFETY note; everything else is safe code.
#![deny(unsafe_code)]

pub mod account;
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
pub mod orders;
pub mod paper;
pub mod pipeline;
pub mod risk;
pub mod tape;
pub mod types;
