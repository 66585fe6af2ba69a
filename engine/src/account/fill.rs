//! A fill as the account books it: one execution of one order, partial or complete.

use crate::journal::Side;
use crate::orders::{Liquidity, Purpose, StrategyId};
use crate::types::{InstrumentId, Price, Qty, UnixNanos};

/// One execution. Every fill, partial or not, is booked into the position (the pitfall this module
/// exists to avoid: partial fills that never reach the position).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    pub order_id: u64,
    pub strategy: StrategyId,
    pub instrument: InstrumentId,
    pub side: Side,
    pub px: Price,
    /// Positive.
    pub qty: Qty,
    /// Fee charged for this fill in quote units of `10^-(price_scale + qty_scale)` (the units of
    /// price × quantity); negative for a rebate.
    pub fee: i128,
    pub liquidity: Liquidity,
    /// The purpose of the order that filled.
    pub purpose: Purpose,
    /// Tape (or live) time the fill was heard.
    pub ts: UnixNanos,
}
