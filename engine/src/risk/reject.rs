//! Why the gate refused an order: one small `Copy` enum, no allocation, named for the journal.

/// The first check an order failed (the order of the checks is in the [module docs](super)).
///
/// `#[repr(u8)]` with stable discriminants so that a journal byte can carry it; see
/// [`RiskReject::as_str`] for the names reports and exports use.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RiskReject {
    /// The kill switch is engaged: nothing passes, exits included, until a human resets it.
    Killed = 1,
    /// The order names an instrument the gate has no limits for.
    UnknownInstrument = 2,
    /// A quantity of zero or less, or a limit price of zero or less.
    InvalidOrder = 3,
    /// The engine is HALTED (set by hand, or left so by the kill switch) and the order is an entry.
    Halted = 4,
    /// Today's loss passed the daily loss limit, which halts the engine for the rest of the trading
    /// day, and the order is an entry.
    DailyLossLimit = 5,
    /// The state allows only orders that reduce the exposure (REDUCING: any order; HALTED: exits),
    /// and this one would grow it, open it from flat, or carry it through zero.
    ReduceOnly = 6,
    /// No two-sided, uncrossed book with positive prices to check the order against.
    NoMarket = 7,
    /// The order's quantity is above `max_order_qty`.
    OrderQty = 8,
    /// The order's price × quantity is above `max_order_notional`.
    OrderNotional = 9,
    /// The limit price (or, for a market order, the touch it would take) lies outside the collar
    /// around the mid.
    PriceCollar = 10,
    /// Filled position plus the working orders on the order's side plus the order would pass
    /// `max_position`.
    PositionLimit = 11,
    /// The order-rate token bucket is empty.
    RateLimit = 12,
}

impl RiskReject {
    /// Every reason, in discriminant order.
    pub const ALL: [RiskReject; 12] = [
        RiskReject::Killed,
        RiskReject::UnknownInstrument,
        RiskReject::InvalidOrder,
        RiskReject::Halted,
        RiskReject::DailyLossLimit,
        RiskReject::ReduceOnly,
        RiskReject::NoMarket,
        RiskReject::OrderQty,
        RiskReject::OrderNotional,
        RiskReject::PriceCollar,
        RiskReject::PositionLimit,
        RiskReject::RateLimit,
    ];

    pub fn from_u8(v: u8) -> Option<Self> {
        Self::ALL.get(usize::from(v).checked_sub(1)?).copied()
    }

    /// Dense index from 0, for per-reason counters.
    pub fn index(self) -> usize {
        self as usize - 1
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RiskReject::Killed => "killed",
            RiskReject::UnknownInstrument => "unknown_instrument",
            RiskReject::InvalidOrder => "invalid_order",
            RiskReject::Halted => "halted",
            RiskReject::DailyLossLimit => "daily_loss_limit",
            RiskReject::ReduceOnly => "reduce_only",
            RiskReject::NoMarket => "no_market",
            RiskReject::OrderQty => "max_order_qty",
            RiskReject::OrderNotional => "max_order_notional",
            RiskReject::PriceCollar => "price_collar",
            RiskReject::PositionLimit => "position_limit",
            RiskReject::RateLimit => "rate_limit",
        }
    }
}

impl From<RiskReject> for crate::journal::BlockReason {
    fn from(r: RiskReject) -> Self {
        use crate::journal::BlockReason as B;
        match r {
            RiskReject::Killed => B::Killed,
            RiskReject::UnknownInstrument => B::UnknownInstrument,
            RiskReject::InvalidOrder => B::InvalidOrder,
            RiskReject::Halted => B::Halted,
            RiskReject::DailyLossLimit => B::DailyLossLimit,
            RiskReject::ReduceOnly => B::ReduceOnly,
            RiskReject::NoMarket => B::NoMarket,
            RiskReject::OrderQty => B::OrderQty,
            RiskReject::OrderNotional => B::OrderNotional,
            RiskReject::PriceCollar => B::PriceCollar,
            RiskReject::PositionLimit => B::PositionLimit,
            RiskReject::RateLimit => B::RateLimit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_and_indices_round_trip() {
        for (i, r) in RiskReject::ALL.into_iter().enumerate() {
            assert_eq!(r.index(), i);
            assert_eq!(RiskReject::from_u8(r as u8), Some(r));
        }
        assert_eq!(RiskReject::from_u8(0), None);
        assert_eq!(RiskReject::from_u8(13), None);
    }

    #[test]
    fn every_reason_has_a_journal_name_of_its_own() {
        let mut names: Vec<&str> =
            RiskReject::ALL.iter().map(|&r| crate::journal::BlockReason::from(r).as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), RiskReject::ALL.len());
    }

    #[test]
    fn names_are_distinct() {
        for a in RiskReject::ALL {
            for b in RiskReject::ALL {
                assert_eq!(a == b, a.as_str() == b.as_str());
            }
        }
    }
}
