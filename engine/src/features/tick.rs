//! What every feature calculator is handed for one event of its instrument.

use super::bars::Bar;
use crate::book::{Level, Touch};
use crate::tape::RawRecord;
use crate::types::{Aggressor, InstrumentSpec, UnixNanos};

/// An instrument's units as floats, resolved once: features are floats (DESIGN.md §2.4), prices
/// and sizes on the wire are fixed-point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Units {
    /// Price units per fixed-point step (10^-price_scale).
    pub price: f64,
    /// Base units per fixed-point step (10^-qty_scale).
    pub qty: f64,
    /// The tick, in price units.
    pub tick: f64,
}

impl Units {
    pub fn of(spec: &InstrumentSpec) -> Units {
        let price = 10f64.powi(-i32::from(spec.price_scale));
        Units { price, qty: 10f64.powi(-i32::from(spec.qty_scale)), tick: spec.tick.0.max(1) as f64 * price }
    }
}

/// A trade, in floats.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TradeTick {
    pub px: f64,
    pub qty: f64,
    pub aggressor: Aggressor,
}

impl TradeTick {
    /// `Some(true)` buyer-initiated, `Some(false)` seller-initiated, `None` unknown.
    pub fn buyer_initiated(&self) -> Option<bool> {
        match self.aggressor {
            Aggressor::Buy => Some(true),
            Aggressor::Sell => Some(false),
            Aggressor::Unknown => None,
        }
    }
}

/// One event as the calculators see it, after the book has been updated.
#[derive(Clone, Copy, Debug)]
pub struct Tick<'a> {
    pub ts: UnixNanos,
    pub record: &'a RawRecord,
    pub units: Units,
    /// The touch, when the market is two-sided, uncrossed and settled.
    pub touch: Option<Touch>,
    /// The mid in price units, with the touch.
    pub mid: Option<f64>,
    /// L2 levels, best first (empty on an L1-only tape).
    pub bids: &'a [Level],
    pub asks: &'a [Level],
    /// Set when this event is a trade.
    pub trade: Option<TradeTick>,
    /// The bar this event closed, if it is the first event of a later bar.
    pub closed_bar: Option<&'a Bar>,
    /// Start of the session this event belongs to.
    pub session_start: UnixNanos,
    /// This event is the first of a new session (the previous session, if any, just ended).
    pub new_session: bool,
}
