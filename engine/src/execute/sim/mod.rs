//! A simulated exchange driven by the tape, for paper runs and backtests that should not fill every
//! limit order or ignore latency.
//!
//! Standalone for now: it will replace [`super::TouchVenue`] behind the [`super::Venue`] trait.
//!
//! # Time
//! The exchange lives on its own timeline, the local clock shifted back by the feed latency: a
//! market event applies at `ts_local - feed latency`, where the feed latency comes from the tape
//! (`ts_local - ts_exchange`) when it has both and they are plausible, else from a constant
//! ([`FeedLatency`]). A request sent at local time `sent` arrives at `sent + entry latency`; every
//! answer ([`ExchEvent`]) carries the exchange time it happened and the time the engine receives it
//! (`+ response latency`). Requests and responses each keep their order (one ordered connection),
//! even when latencies are sampled. Exchange time never goes back.
//!
//! # Matching
//! - Market orders walk the visible opposite side level by level (L2; L1-only instruments see the
//!   touch and [`SimConfig::l1_extra_levels`] virtual levels, see [`book::SimBook::walk`]), paying
//!   taker fees. The remainder expires; with nothing on the other side the order is rejected. The
//!   replayed book is not consumed (no market impact, hftbacktest's assumption).
//! - Limit orders: a marketable one takes like a market order up to its price (a post-only one is
//!   rejected instead), then the rest rests (or expires if IOC). Resting orders queue behind the
//!   displayed size and advance per the [`QueueModel`] (see [`queue`]); they fill (maker) with
//!   what trades at their price have beyond the queue, in whole on a trade through their price, and
//!   in whole when the opposite best moves onto or through their price.
//! - Cancel and modify act on arrival; a cancel or modify of an order already done is rejected
//!   `TooLate` (the fill stands).
//!
//! # Fees
//! Maker and taker rates per instrument, in thousandths of a bp ([`FeeSchedule`]); see
//! [`fees::fee`] for units and rounding.

pub mod book;
pub mod config;
pub mod event;
pub mod exchange;
pub mod fees;
pub mod latency;
pub mod queue;

pub use config::{FeedLatency, SimConfig};
pub use event::{ExchEvent, ExchKind, RequestKind, SimReject};
pub use exchange::{SimExchange, WorkingView};
pub use fees::FeeSchedule;
pub use latency::{LatencyModel, LatencySampler, SplitMix64};
pub use queue::{QueueModel, QueuePos};
