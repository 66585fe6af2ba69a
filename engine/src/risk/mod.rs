//! Pre-trade risk: the gate every order passes on its way to the venue.
//!
//! Only a [`RiskApproved`] reaches a venue, and only [`RiskGate::check`] makes one, so an order
//! that skipped the checks does not compile (STYLE.md, "Risk as a type"). A refusal is a
//! [`RiskReject`], a one-byte reason for the journal.
//!
//! - [`limits`]: what is enforced, per instrument and globally, validated at construction;
//! - [`context`]: what the caller tells the gate per check (position, working orders, touch, PnL, time);
//! - [`state`]: ACTIVE / REDUCING / HALTED, the daily loss latch and the kill switch;
//! - [`rate`]: the order-rate token bucket in tape time; [`day`]: trading-day boundaries;
//! - [`gate`]: the checks; [`approved`]: the approval type; [`reject`]: the reasons.
//!
//! # The checks, in order
//!
//! The first that fails names the reason; later checks do not run.
//!
//! 0. (Not a check.) The trading day advances to `ctx.now` (a loss latch from an earlier day
//!    lapses), and a loss past `daily_loss_limit` latches HALTED for the rest of the day.
//! 1. [`Killed`](RiskReject::Killed): the kill switch refuses everything, exits included.
//! 2. [`UnknownInstrument`](RiskReject::UnknownInstrument): no limits for the instrument.
//! 3. [`InvalidOrder`](RiskReject::InvalidOrder): quantity ≤ 0, or a limit price ≤ 0.
//! 4. The trading state. An order *reduces* when its quantity is at most
//!    [`RiskContext::reducible`]: it shrinks |position| without carrying it through zero even if
//!    every working order on its side fills. A flip through zero is refused, not clamped: the gate
//!    never changes an order, and the strategy can size an exit with `reducible`.
//!    - ACTIVE: nothing refused here;
//!    - REDUCING: an order that does not reduce → [`ReduceOnly`](RiskReject::ReduceOnly), whatever
//!      its purpose (an entry signal that reduces passes);
//!    - HALTED: an entry → [`DailyLossLimit`](RiskReject::DailyLossLimit) when the loss latch
//!      halted the engine, [`Halted`](RiskReject::Halted) otherwise; an exit that does not reduce →
//!      [`ReduceOnly`](RiskReject::ReduceOnly).
//! 5. [`NoMarket`](RiskReject::NoMarket): the book is one-sided, crossed or not positive.
//! 6. [`OrderQty`](RiskReject::OrderQty): quantity > `max_order_qty`.
//! 7. [`OrderNotional`](RiskReject::OrderNotional): price × quantity > `max_order_notional`, at the
//!    limit price, or for a market order at the touch it would take.
//! 8. [`PriceCollar`](RiskReject::PriceCollar): `|px − mid| > price_collar_bps × mid / 10,000`,
//!    with `px` the limit price, or the touch a market order would take.
//! 9. [`PositionLimit`](RiskReject::PositionLimit): `|position + working orders on the order's side
//!    + order| > max_position`.
//! 10. [`RateLimit`](RiskReject::RateLimit): no token in the bucket. Last, so that only an order
//!     that passed everything else uses up a token.
//!
//! Every limit is the largest value allowed (equal passes, one unit more is refused); the daily
//! loss limit is the largest loss allowed. Exits are held to checks 5 to 10 like any order: a
//! fat-fingered exit is as dangerous as an entry. Cancels never pass through the gate.
//!
//! # States
//!
//! See [`state`]: the kill switch beats the daily loss latch, which beats the manual state. The
//! loss latch lasts until the next day boundary (UTC midnight, or `day_start_offset_ns` after it)
//! and then lapses by itself; a manual HALTED and the kill switch last until a human changes them,
//! and resetting the kill switch leaves the engine HALTED.

pub mod approved;
pub mod context;
pub mod day;
pub mod gate;
pub mod limits;
pub mod rate;
pub mod reject;
pub mod state;

pub use approved::RiskApproved;
pub use context::RiskContext;
pub use day::DayBoundary;
pub use gate::{RiskCounters, RiskGate};
pub use limits::{GlobalLimits, NANOS_PER_DAY, RiskConfig, RiskConfigError, RiskLimits};
pub use rate::TokenBucket;
pub use reject::RiskReject;
pub use state::TradingState;
