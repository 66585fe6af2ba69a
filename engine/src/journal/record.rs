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
    /// The strategy wants to trade and every check let it: an order follows. `aux` is the
    /// [`Purpose`](crate::orders::Purpose) (entry or which exit).
    Decision = 1,
    /// The strategy wanted to trade and was refused; `reason` is a [`BlockReason`], `aux` the purpose.
    Blocked = 2,
    /// An order sent to the venue; `order_id` names it from here on. `px` is the limit price (0 for
    /// a market order), `aux` the purpose, `order_type` and `tif` its kind and time in force.
    Order = 3,
    /// (Part of) an order filled at `px` for `qty`; `value` is the fee (negative: a rebate), `aux`
    /// the [`Liquidity`](crate::orders::Liquidity) (1 maker, 2 taker).
    Fill = 4,
    /// The venue refused an order; `reason` is a [`RejectReason`].
    Reject = 5,
    /// The venue accepted an order.
    Ack = 6,
    /// The strategy asked the venue to cancel an order.
    CancelRequest = 7,
    /// The venue cancelled an order at our request; `qty` is what was still open.
    Canceled = 8,
    /// The unfilled rest (`qty`) of an IOC or market order ended without a fill.
    Expired = 9,
    /// The venue refused a cancel (the order had already ended); `reason` is a [`RejectReason`].
    CancelReject = 10,
    /// What the models saw for the entry candidate just before it (a Decision or Blocked record of
    /// the same event): a [`FeaturesRecord`], one of `chunks` records in a row. Only candidates that
    /// consulted a model have them.
    Features = 11,
    /// Decide changed the live model of a role between two events (and, on the first event of a
    /// run, which models it started with): `aux` is the [`ModelRole`](crate::decide::model::ModelRole),
    /// `order_id` the new model's version (0: removed), `value` the old one's (as `i64` bits; 0: none).
    ModelSwap = 12,
}

impl EntryKind {
    pub const ALL: [EntryKind; 12] = [
        EntryKind::Decision,
        EntryKind::Blocked,
        EntryKind::Order,
        EntryKind::Fill,
        EntryKind::Reject,
        EntryKind::Ack,
        EntryKind::CancelRequest,
        EntryKind::Canceled,
        EntryKind::Expired,
        EntryKind::CancelReject,
        EntryKind::Features,
        EntryKind::ModelSwap,
    ];

    pub fn from_u8(v: u8) -> Option<Self> {
        Self::ALL.get(usize::from(v).checked_sub(1)?).copied()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Decision => "decision",
            EntryKind::Blocked => "blocked",
            EntryKind::Order => "order",
            EntryKind::Fill => "fill",
            EntryKind::Reject => "reject",
            EntryKind::Ack => "ack",
            EntryKind::CancelRequest => "cancel_request",
            EntryKind::Canceled => "canceled",
            EntryKind::Expired => "expired",
            EntryKind::CancelReject => "cancel_reject",
            EntryKind::Features => "features",
            EntryKind::ModelSwap => "model_swap",
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

/// Why a candidate trade was refused before it became an order: the strategy's own checks (1–4),
/// the risk gate's ([`RiskReject`](crate::risk::RiskReject), 5–14) and the models' (15–20: see
/// [`crate::decide::model`]).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockReason {
    /// The order would take the position past a `max_position` (the strategy's or the risk gate's).
    PositionLimit = 1,
    /// There is no two-sided, uncrossed book to price the order against.
    NoMarket = 2,
    /// The spread is wider than the strategy accepts.
    SpreadTooWide = 3,
    /// `max_in_flight` orders are already working or on their way.
    InFlightLimit = 4,
    /// Risk: the kill switch is engaged.
    Killed = 5,
    /// Risk: the engine is HALTED and the order is an entry.
    Halted = 6,
    /// Risk: today's loss passed the daily loss limit (the engine is halted for the day).
    DailyLossLimit = 7,
    /// Risk: the state allows only orders that reduce the exposure.
    ReduceOnly = 8,
    /// Risk: quantity above `max_order_qty`.
    OrderQty = 9,
    /// Risk: price × quantity above `max_order_notional`.
    OrderNotional = 10,
    /// Risk: the price lies outside the collar around the mid.
    PriceCollar = 11,
    /// Risk: the order-rate limit is spent.
    RateLimit = 12,
    /// Risk: a non-positive quantity or price.
    InvalidOrder = 13,
    /// Risk: no limits for the instrument.
    UnknownInstrument = 14,
    /// Model: the p(win) or slippage model returned an error, or is missing (removed, or refused at
    /// install) while the strategy relies on it.
    ModelError = 15,
    /// Model: the output was NaN, infinite, or (p(win)) outside [0, 1].
    ModelBadOutput = 16,
    /// Model: the call took longer than `models.deadline_us`.
    ModelOverrun = 17,
    /// Model: p(win) below `strategy.min_pwin`.
    BelowPWin = 18,
    /// Model: the expected value, net of costs, below `strategy.min_ev_bps`.
    NegativeEv = 19,
    /// Model: the CVaR budget (`strategy.cvar_budget`) allows less than one lot.
    BelowMinSize = 20,
}

impl BlockReason {
    pub const ALL: [BlockReason; 20] = [
        BlockReason::PositionLimit,
        BlockReason::NoMarket,
        BlockReason::SpreadTooWide,
        BlockReason::InFlightLimit,
        BlockReason::Killed,
        BlockReason::Halted,
        BlockReason::DailyLossLimit,
        BlockReason::ReduceOnly,
        BlockReason::OrderQty,
        BlockReason::OrderNotional,
        BlockReason::PriceCollar,
        BlockReason::RateLimit,
        BlockReason::InvalidOrder,
        BlockReason::UnknownInstrument,
        BlockReason::ModelError,
        BlockReason::ModelBadOutput,
        BlockReason::ModelOverrun,
        BlockReason::BelowPWin,
        BlockReason::NegativeEv,
        BlockReason::BelowMinSize,
    ];

    pub fn from_u8(v: u8) -> Option<Self> {
        Self::ALL.get(usize::from(v).checked_sub(1)?).copied()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BlockReason::PositionLimit => "position_limit",
            BlockReason::NoMarket => "no_market",
            BlockReason::SpreadTooWide => "spread_too_wide",
            BlockReason::InFlightLimit => "in_flight_limit",
            BlockReason::Killed => "killed",
            BlockReason::Halted => "halted",
            BlockReason::DailyLossLimit => "daily_loss_limit",
            BlockReason::ReduceOnly => "reduce_only",
            BlockReason::OrderQty => "max_order_qty",
            BlockReason::OrderNotional => "max_order_notional",
            BlockReason::PriceCollar => "price_collar",
            BlockReason::RateLimit => "rate_limit",
            BlockReason::InvalidOrder => "invalid_order",
            BlockReason::UnknownInstrument => "unknown_instrument",
            BlockReason::ModelError => "model_error",
            BlockReason::ModelBadOutput => "model_bad_output",
            BlockReason::ModelOverrun => "model_overrun",
            BlockReason::BelowPWin => "below_pwin",
            BlockReason::NegativeEv => "negative_ev",
            BlockReason::BelowMinSize => "below_min_size",
        }
    }
}

/// Why the venue refused an order or a cancel.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// Nothing on the opposite side of the book to fill a market order against.
    NoLiquidity = 1,
    /// The venue holds as many working orders (or requests in flight) for us as it accepts.
    TooManyOrders = 2,
    /// Quantity not positive or not a multiple of the lot.
    InvalidQty = 3,
    /// Limit price not positive or not on the tick.
    InvalidPrice = 4,
    /// A post-only order would have taken liquidity.
    PostOnlyWouldCross = 5,
    /// The order id is already working.
    DuplicateOrderId = 6,
    /// A cancel or modify named an order the venue never had.
    UnknownOrder = 7,
    /// A cancel or modify arrived after the order had ended (its fill stands).
    TooLate = 8,
    /// The venue does not list the instrument.
    UnknownInstrument = 9,
}

impl RejectReason {
    pub const ALL: [RejectReason; 9] = [
        RejectReason::NoLiquidity,
        RejectReason::TooManyOrders,
        RejectReason::InvalidQty,
        RejectReason::InvalidPrice,
        RejectReason::PostOnlyWouldCross,
        RejectReason::DuplicateOrderId,
        RejectReason::UnknownOrder,
        RejectReason::TooLate,
        RejectReason::UnknownInstrument,
    ];

    pub fn from_u8(v: u8) -> Option<Self> {
        Self::ALL.get(usize::from(v).checked_sub(1)?).copied()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::NoLiquidity => "no_liquidity",
            RejectReason::TooManyOrders => "too_many_orders",
            RejectReason::InvalidQty => "invalid_qty",
            RejectReason::InvalidPrice => "invalid_price",
            RejectReason::PostOnlyWouldCross => "post_only_would_cross",
            RejectReason::DuplicateOrderId => "duplicate_order_id",
            RejectReason::UnknownOrder => "unknown_order",
            RejectReason::TooLate => "too_late",
            RejectReason::UnknownInstrument => "unknown_instrument",
        }
    }
}

/// The record as it lies in the file.
///
/// `value` depends on `kind`: for Decision and Blocked it is the strategy's signal in millionths
/// (an imbalance of 0.734 is 734000); for Fill it is the fee, in units of
/// `10^-(price_scale + qty_scale)` of the quote currency (negative for a rebate; realized PnL is
/// not stored: it follows exactly from the fills, and `kestrel journal export` computes it); for
/// ModelSwap the old model's version (as `i64` bits); 0 otherwise.
///
/// A Features record shares only the first 16 bytes (CRC, kind, then its chunk numbers and the
/// event): read it with [`FeaturesRecord::from_record`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct JournalRecord {
    /// CRC-32 (crc32fast) of bytes 4..64 of this record; set by the writer.
    pub crc: u32,
    /// An [`EntryKind`] as a byte.
    pub kind: u8,
    /// A [`Side`] as a byte; 0 where it does not apply.
    pub side: u8,
    /// A [`BlockReason`] for Blocked, a [`RejectReason`] for Reject and CancelReject, 0 otherwise.
    pub reason: u8,
    /// Per kind (see [`EntryKind`]): the purpose on Decision, Blocked and Order; the liquidity on
    /// Fill; the model role on ModelSwap; 0 otherwise.
    pub aux: u8,
    /// Index (from 0) of the tape record, within this run, whose processing wrote this record.
    pub event_seq: u64,
    /// Tape time (`ts_local` of that tape record).
    pub ts: UnixNanos,
    /// The order this record is about; 0 for Decision and Blocked; the new model's version on
    /// ModelSwap.
    pub order_id: u64,
    pub px: Price,
    pub qty: Qty,
    pub instrument: InstrumentId,
    /// On Order records: 1 market, 2 limit; 0 elsewhere.
    pub order_type: u8,
    /// On Order records: 1 GTC, 2 IOC, 3 post-only; 0 elsewhere.
    pub tif: u8,
    pub _pad1: [u8; 4],
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
            EntryKind::Reject | EntryKind::CancelReject => RejectReason::from_u8(self.reason).map(RejectReason::as_str),
            _ => None,
        }
    }
}

/// Values a [`FeaturesRecord`] holds.
pub const FEATURES_PER_RECORD: usize = 12;

/// What the models saw for one entry candidate (kind [`EntryKind::Features`]), written right after
/// the candidate's Decision or Blocked record: p(win) and the slippage in bps (`NaN` where not
/// scored), then the feature vector in schema order (`features::FEATURES`, as `f32`, `NaN` kept),
/// spread over [`features_chunks`] records of [`FEATURES_PER_RECORD`] values (unused values of the
/// last are 0). Same size, CRC and first eight bytes as a [`JournalRecord`], so the writer and the
/// reader handle it as one: [`FeaturesRecord::to_record`] and [`FeaturesRecord::from_record`] only
/// reinterpret the bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct FeaturesRecord {
    /// CRC-32 of bytes 4..64, as on every record.
    pub crc: u32,
    /// [`EntryKind::Features`].
    pub kind: u8,
    /// This record's place in the run of records, from 0.
    pub chunk: u8,
    /// How many records the run has.
    pub chunks: u8,
    pub _pad: u8,
    /// The event of the candidate.
    pub event_seq: u64,
    pub values: [f32; FEATURES_PER_RECORD],
}

const _: () = assert!(size_of::<FeaturesRecord>() == JOURNAL_RECORD_SIZE);

/// Values a candidate's run of Features records carries: p(win), the slippage, then `features`.
pub const fn features_values(features: usize) -> usize {
    features + 2
}

/// Records a candidate's run of Features records takes for `features` features.
pub const fn features_chunks(features: usize) -> usize {
    features_values(features).div_ceil(FEATURES_PER_RECORD)
}

impl FeaturesRecord {
    /// The same 64 bytes as a [`JournalRecord`], to append.
    pub fn to_record(&self) -> JournalRecord {
        zerocopy::transmute!(*self)
    }

    /// A record of kind [`EntryKind::Features`] read as what it is.
    pub fn from_record(rec: &JournalRecord) -> FeaturesRecord {
        zerocopy::transmute!(*rec)
    }
}
