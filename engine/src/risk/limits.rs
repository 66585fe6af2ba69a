//! What the gate enforces: limits per instrument and for the whole engine, checked once at
//! construction so that the hot path never meets a nonsensical limit.
//!
//! Every limit is the largest value allowed: an order exactly at a limit passes, one unit past it
//! is refused. That holds for the daily loss too: a loss of exactly `daily_loss_limit` is allowed,
//! one unit more halts.

use crate::types::Qty;

/// One day in nanoseconds.
pub const NANOS_PER_DAY: u64 = 86_400 * 1_000_000_000;

/// Basis points in 100 %.
pub const BPS: u32 = 10_000;

/// Limits for one instrument, fixed point in the instrument's units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RiskLimits {
    /// Largest |position| allowed, counting the working orders on the new order's side as filled
    /// (the worst case if they all fill), in `10^-qty_scale` units.
    pub max_position: Qty,
    /// Largest quantity of one order.
    pub max_order_qty: Qty,
    /// Largest price × quantity of one order, in `10^-(price_scale + qty_scale)` of the quote
    /// currency (the unit of `Price.0 × Qty.0`). A market order is valued at the touch it would
    /// take, which understates an order that walks the book: keep `max_order_qty` tight as well.
    pub max_order_notional: i128,
    /// Half-width of the band around the mid, in basis points of the mid. A limit price outside
    /// the band is refused on either side (far below the mid for a buy is as likely a scale bug as
    /// far above); a market order is refused when the touch it would take lies outside the band.
    /// From 1 to 10,000.
    pub price_collar_bps: u32,
}

/// Limits for the whole engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GlobalLimits {
    /// Orders per second across every instrument: a token bucket in tape (or live) time that
    /// refills continuously at this rate and holds at most this many tokens (burst = rate).
    pub max_orders_per_second: u32,
    /// Largest loss allowed over one trading day (realized + unrealized), positive, in the units of
    /// [`RiskContext::pnl_today`](super::RiskContext::pnl_today).
    pub daily_loss_limit: i128,
    /// Where a trading day starts, in nanoseconds after UTC midnight (0: UTC midnight). Below
    /// [`NANOS_PER_DAY`].
    pub day_start_offset_ns: u64,
}

/// Everything a [`RiskGate`](super::RiskGate) is built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RiskConfig {
    /// Indexed by `InstrumentId`.
    pub instruments: Vec<RiskLimits>,
    pub global: GlobalLimits,
}

/// Why a risk configuration is unusable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RiskConfigError {
    #[error("risk limits name no instrument: every order would be refused; give one entry per instrument")]
    NoInstruments,
    #[error("risk limits of instrument {instrument}: {field} must be positive, got {value}")]
    NotPositive { instrument: usize, field: &'static str, value: i128 },
    #[error("risk limits of instrument {instrument}: price_collar_bps must be from 1 to {BPS}, got {value}")]
    Collar { instrument: usize, value: u32 },
    #[error("global risk limits: {field} must be positive, got {value}")]
    GlobalNotPositive { field: &'static str, value: i128 },
    #[error("global risk limits: day_start_offset_ns must be below one day ({NANOS_PER_DAY} ns), got {value}")]
    DayStart { value: u64 },
}

impl RiskLimits {
    pub fn validate(&self, instrument: usize) -> Result<(), RiskConfigError> {
        for (field, value) in [
            ("max_position", i128::from(self.max_position.0)),
            ("max_order_qty", i128::from(self.max_order_qty.0)),
            ("max_order_notional", self.max_order_notional),
        ] {
            if value <= 0 {
                return Err(RiskConfigError::NotPositive { instrument, field, value });
            }
        }
        if !(1..=BPS).contains(&self.price_collar_bps) {
            return Err(RiskConfigError::Collar { instrument, value: self.price_collar_bps });
        }
        Ok(())
    }
}

impl GlobalLimits {
    pub fn validate(&self) -> Result<(), RiskConfigError> {
        if self.max_orders_per_second == 0 {
            return Err(RiskConfigError::GlobalNotPositive { field: "max_orders_per_second", value: 0 });
        }
        if self.daily_loss_limit <= 0 {
            return Err(RiskConfigError::GlobalNotPositive { field: "daily_loss_limit", value: self.daily_loss_limit });
        }
        if self.day_start_offset_ns >= NANOS_PER_DAY {
            return Err(RiskConfigError::DayStart { value: self.day_start_offset_ns });
        }
        Ok(())
    }
}

impl RiskConfig {
    pub fn validate(&self) -> Result<(), RiskConfigError> {
        if self.instruments.is_empty() {
            return Err(RiskConfigError::NoInstruments);
        }
        for (i, limits) in self.instruments.iter().enumerate() {
            limits.validate(i)?;
        }
        self.global.validate()
    }
}
