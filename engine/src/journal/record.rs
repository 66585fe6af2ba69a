//! One journal record: 64 bytes, fixed layout, with its own CRC.
//!
//! The journal is the audit trail of a run: every decision the strategy took, every candidate it
//! was refused (and why), every order sent to the venue, every fill and every venue reject. Records
//! are fixed-size so that the hot thread writes one with a single copy into the mapping, and so that
//! a crashed run's torn tail is found by checking CRCs record by record.
//!
//! Only tape time goes in a record, never a latency stamp: a journal is byte-identical across
//! topologies (DESIGN.md §2.6), and the latency histograms carry the timing instead.

use crate::types::{InstrumentId, Price, Qty, UnixNanos};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub const JOURNAL_RECORD_SIZE: usize = 64;

/// What a record says happened.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// The strategy wants to trade and the pre-trade checks let it: an order follows.
    Decision = 1,
    /// The strategy wanted to trade and was refused; `reason` is a [`BlockReason`].
    Blocked = 2,
    /// An order sent to the venue; `order_id` names it from here on.
    Order = 3,
    /// (Part of) an order filled at `px` for `qty`.
    Fill = 4,
    /// The venue refused an order; `reason` is a [`RejectReason`].
    Reject = 5,
}

impl EntryKind {
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => EntryKind::Decision,
            2 => EntryKind::Blocked,
            3 => EntryKind::Order,
            4 => EntryKind::Fill,
            5 => EntryKind::Reject,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Decision => "decision",
            EntryKind::Blocked => "blocked",
            EntryKind::Order => "order",
            EntryKind::Fill => "fill",
            EntryKind::Reject => "reject",
        }
    }
}

/// The side of an order or fill: buy or sell. (A book side is a different thing: see `BookSide`.)
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    Buy = 1,
    Sell = 2,
}

impl Side {
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Side::Buy),
            2 => Some(Side::Sell),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }

    /// +1 for a buy, -1 for a sell: the sign a fill's quantity has on the position.
    pub fn sign(self) -> i64 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }
}

/// Why a candidate trade was refused before it became an order.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockReason {
    /// The order would take the position past `max_position`.
    PositionLimit = 1,
    /// There is no two-sided, uncrossed book to price the order against.
    NoMarket = 2,
    /// The spread is wider than the strategy accepts.
    SpreadTooWide = 3,
    /// `max_in_flight` orders already await the venue's answer.
    InFlightLimit = 4,
}

impl BlockReason {
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => BlockReason::PositionLimit,
            2 => BlockReason::NoMarket,
            3 => BlockReason::SpreadTooWide,
            4 => BlockReason::InFlightLimit,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BlockReason::PositionLimit => "position_limit",
            BlockReason::NoMarket => "no_market",
            BlockReason::SpreadTooWide => "spread_too_wide",
            BlockReason::InFlightLimit => "in_flight_limit",
        }
    }
}

/// Why the venue refused an order.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// Nothing on the opposite side of the book to fill a market order against.
    NoLiquidity = 1,
    /// The venue holds as many working orders for us as it accepts.
    TooManyOrders = 2,
}

impl RejectReason {
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(RejectReason::NoLiquidity),
            2 => Some(RejectReason::TooManyOrders),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::NoLiquidity => "no_liquidity",
            RejectReason::TooManyOrders => "too_many_orders",
        }
    }
}

/// The record as it lies in the file.
///
/// `value` depends on `kind`: for Decision and Blocked it is the strategy's signal in millionths
/// (an imbalance of 0.734 is 734000); for Fill it is the realized PnL the fill locked in, in units of
/// `10^-(price_scale + qty_scale)` of the quote currency, as the execute stage's position saw it; for
/// Order and Reject it is 0.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct JournalRecord {
    /// CRC-32 (crc32fast) of bytes 4..64 of this record; set by the writer.
    pub crc: u32,
    /// An [`EntryKind`] as a byte.
    pub kind: u8,
    /// A [`Side`] as a byte; 0 where it does not apply.
    pub side: u8,
    /// A [`BlockReason`] for Blocked, a [`RejectReason`] for Reject, 0 otherwise.
    pub reason: u8,
    pub _pad0: u8,
    /// Index (from 0) of the tape record, within this run, whose processing wrote this record.
    pub event_seq: u64,
    /// Tape time (`ts_local` of that tape record).
    pub ts: UnixNanos,
    /// The order this record is about; 0 for Decision and Blocked.
    pub order_id: u64,
    pub px: Price,
    pub qty: Qty,
    pub instrument: InstrumentId,
    pub _pad1: [u8; 6],
    pub value: i64,
}

const _: () = assert!(size_of::<JournalRecord>() == JOURNAL_RECORD_SIZE);

impl JournalRecord {
    pub fn kind(&self) -> Option<EntryKind> {
        EntryKind::from_u8(self.kind)
    }

    pub fn side(&self) -> Option<Side> {
        Side::from_u8(self.side)
    }

    /// The CRC this record should carry: over everything after the CRC field.
    pub fn compute_crc(&self) -> u32 {
        crc32fast::hash(&self.as_bytes()[4..])
    }

    /// Stamps the CRC; the writer calls this just before copying the record into the file.
    pub fn seal(&mut self) {
        self.crc = self.compute_crc();
    }

    pub fn is_sealed(&self) -> bool {
        self.crc == self.compute_crc()
    }

    /// The name of the reason on a Blocked or Reject record; `None` on other kinds or an unknown byte.
    pub fn reason_str(&self) -> Option<&'static str> {
        match self.kind()? {
            EntryKind::Blocked => BlockReason::from_u8(self.reason).map(BlockReason::as_str),
            EntryKind::Reject => RejectReason::from_u8(self.reason).map(RejectReason::as_str),
            EntryKind::Decision | EntryKind::Order | EntryKind::Fill => None,
        }
    }
}
