//! The fixed-size records of a tape: one 64-byte cache line each, read in place from the mapped file.
//!
//! Every record starts with the same 24-byte [`RecordHeader`]; the kind byte says which typed view
//! ([`Quote`], [`Trade`], [`LevelUpdate`], [`BookClear`]) the remaining 40 bytes take. The views are
//! `#[repr(C)]` with `zerocopy` derives, so reading a record is a bounds-checked reinterpretation of
//! the mapped bytes, never a copy or a parse. Layout is little-endian, as on every host Kestrel targets.

use crate::types::{Aggressor, BookSide, InstrumentId, Price, Qty, UnixNanos};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Size of every record on a tape, in bytes.
pub const RECORD_SIZE: usize = 64;

/// What a record describes. Stored as one byte; 0 is never valid so that zeroed space is caught.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RecordKind {
    /// Best bid and ask with their sizes (L1).
    Quote = 1,
    /// A trade print.
    Trade = 2,
    /// One L2 price level set to a new absolute size (0 deletes it).
    LevelUpdate = 3,
    /// The book of the instrument is emptied: a snapshot's level updates follow.
    BookClear = 4,
}

impl RecordKind {
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(RecordKind::Quote),
            2 => Some(RecordKind::Trade),
            3 => Some(RecordKind::LevelUpdate),
            4 => Some(RecordKind::BookClear),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Quote => "quote",
            RecordKind::Trade => "trade",
            RecordKind::LevelUpdate => "level",
            RecordKind::BookClear => "clear",
        }
    }
}

/// Bits of [`RecordHeader::flags`].
pub mod flags {
    /// This level update is part of a book snapshot (follows a `BookClear`).
    pub const SNAPSHOT: u8 = 1;
    /// Last level update of one venue message (a diff or a snapshot): the book is consistent after it
    /// and may be read; between two such records it may be transiently crossed.
    pub const END_OF_BATCH: u8 = 2;
    /// The venue's sequence numbers show that updates were lost just before this record; the book is
    /// suspect until the next snapshot.
    pub const GAP_BEFORE: u8 = 4;
    /// Every flag a valid record may carry.
    pub const ALL: u8 = SNAPSHOT | END_OF_BATCH | GAP_BEFORE;
}

/// The 24 bytes every record starts with.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RecordHeader {
    /// When the event reached our recorder or gateway (the tape's ordering timeline).
    pub ts_local: UnixNanos,
    /// When the venue stamped the event; `UnixNanos::UNKNOWN` if the source did not say.
    pub ts_exchange: UnixNanos,
    pub instrument: InstrumentId,
    /// A [`RecordKind`] as a byte.
    pub kind: u8,
    /// Bits from [`flags`].
    pub flags: u8,
    /// A [`BookSide`] for level updates, an [`Aggressor`] for trades, 0 otherwise.
    pub side: u8,
    pub _pad: [u8; 3],
}

impl RecordHeader {
    pub fn new(kind: RecordKind, instrument: InstrumentId, ts_local: UnixNanos, ts_exchange: UnixNanos) -> Self {
        RecordHeader { ts_local, ts_exchange, instrument, kind: kind as u8, flags: 0, side: 0, _pad: [0; 3] }
    }

    pub fn kind(&self) -> Option<RecordKind> {
        RecordKind::from_u8(self.kind)
    }

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// Best bid and ask (L1).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct Quote {
    pub header: RecordHeader,
    pub bid_px: Price,
    pub bid_qty: Qty,
    pub ask_px: Price,
    pub ask_qty: Qty,
    pub _reserved: u64,
}

/// A trade print.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct Trade {
    pub header: RecordHeader,
    pub px: Price,
    pub qty: Qty,
    /// The venue's trade id (0 if it gives none).
    pub trade_id: u64,
    pub _reserved: [u64; 2],
}

/// One L2 level set to an absolute size; a size of zero removes the level.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct LevelUpdate {
    pub header: RecordHeader,
    pub px: Price,
    pub qty: Qty,
    /// The venue's update id of the message this level came from (Binance `u` / `lastUpdateId`).
    pub update_id: u64,
    pub _reserved: [u64; 2],
}

/// The instrument's book is emptied; the snapshot's levels follow as [`LevelUpdate`]s flagged
/// [`flags::SNAPSHOT`], the last one flagged [`flags::END_OF_BATCH`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct BookClear {
    pub header: RecordHeader,
    /// The venue's id of the snapshot that follows (Binance `lastUpdateId`).
    pub update_id: u64,
    pub _reserved: [u64; 4],
}

/// Any record, untyped: the header and 40 bytes of payload. This is what a tape is an array of.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RawRecord {
    pub header: RecordHeader,
    pub payload: [u64; 5],
}

const _: () = {
    assert!(size_of::<RecordHeader>() == 24);
    assert!(size_of::<Quote>() == RECORD_SIZE);
    assert!(size_of::<Trade>() == RECORD_SIZE);
    assert!(size_of::<LevelUpdate>() == RECORD_SIZE);
    assert!(size_of::<BookClear>() == RECORD_SIZE);
    assert!(size_of::<RawRecord>() == RECORD_SIZE);
};

/// A record seen through its typed view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record<'a> {
    Quote(&'a Quote),
    Trade(&'a Trade),
    Level(&'a LevelUpdate),
    Clear(&'a BookClear),
}

impl RawRecord {
    /// The typed view of this record, or `None` if its kind byte is not a known kind.
    #[inline]
    pub fn view(&self) -> Option<Record<'_>> {
        let bytes = self.as_bytes();
        // All views are exactly RECORD_SIZE bytes with alignment 8, the same as RawRecord, so the
        // conversions below cannot fail; `ok()?` keeps that a checked fact rather than an assumption.
        Some(match self.header.kind()? {
            RecordKind::Quote => Record::Quote(Quote::ref_from_bytes(bytes).ok()?),
            RecordKind::Trade => Record::Trade(Trade::ref_from_bytes(bytes).ok()?),
            RecordKind::LevelUpdate => Record::Level(LevelUpdate::ref_from_bytes(bytes).ok()?),
            RecordKind::BookClear => Record::Clear(BookClear::ref_from_bytes(bytes).ok()?),
        })
    }
}

macro_rules! into_raw {
    ($($ty:ty),*) => {$(
        impl From<$ty> for RawRecord {
            #[inline]
            fn from(r: $ty) -> RawRecord {
                zerocopy::transmute!(r)
            }
        }
    )*};
}
into_raw!(Quote, Trade, LevelUpdate, BookClear);

impl Record<'_> {
    pub fn header(&self) -> &RecordHeader {
        match self {
            Record::Quote(r) => &r.header,
            Record::Trade(r) => &r.header,
            Record::Level(r) => &r.header,
            Record::Clear(r) => &r.header,
        }
    }
}

impl Quote {
    pub fn new(
        instrument: InstrumentId,
        ts_local: UnixNanos,
        ts_exchange: UnixNanos,
        bid: (Price, Qty),
        ask: (Price, Qty),
    ) -> Self {
        Quote {
            header: RecordHeader::new(RecordKind::Quote, instrument, ts_local, ts_exchange),
            bid_px: bid.0,
            bid_qty: bid.1,
            ask_px: ask.0,
            ask_qty: ask.1,
            _reserved: 0,
        }
    }
}

impl Trade {
    pub fn new(
        instrument: InstrumentId,
        ts_local: UnixNanos,
        ts_exchange: UnixNanos,
        px: Price,
        qty: Qty,
        aggressor: Aggressor,
        trade_id: u64,
    ) -> Self {
        let mut header = RecordHeader::new(RecordKind::Trade, instrument, ts_local, ts_exchange);
        header.side = aggressor as u8;
        Trade { header, px, qty, trade_id, _reserved: [0; 2] }
    }

    pub fn aggressor(&self) -> Aggressor {
        Aggressor::from_u8(self.header.side).unwrap_or(Aggressor::Unknown)
    }
}

impl LevelUpdate {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        instrument: InstrumentId,
        ts_local: UnixNanos,
        ts_exchange: UnixNanos,
        side: BookSide,
        px: Price,
        qty: Qty,
        update_id: u64,
        flags: u8,
    ) -> Self {
        let mut header = RecordHeader::new(RecordKind::LevelUpdate, instrument, ts_local, ts_exchange);
        header.side = side as u8;
        header.flags = flags;
        LevelUpdate { header, px, qty, update_id, _reserved: [0; 2] }
    }

    /// The side; a record that passed [`crate::tape::Tape::verify`] always has one.
    pub fn side(&self) -> BookSide {
        BookSide::from_u8(self.header.side).unwrap_or(BookSide::Bid)
    }
}

impl BookClear {
    pub fn new(instrument: InstrumentId, ts_local: UnixNanos, ts_exchange: UnixNanos, update_id: u64) -> Self {
        BookClear {
            header: RecordHeader::new(RecordKind::BookClear, instrument, ts_local, ts_exchange),
            update_id,
            _reserved: [0; 4],
        }
    }
}
