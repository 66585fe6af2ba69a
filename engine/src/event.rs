//! The messages that travel between hot stages, in the order they flow (DESIGN.md §1):
//! [`MarketEvent`] (ingest → features) → [`Featured`] (features → decide) → [`Intent`]
//! (decide → execute), and [`Report`] back from execute to decide.
//!
//! Every message is `Copy` and fixed-size, so a ring slot holds it by value and passing it on never
//! allocates. Every message carries the event's `stamp` (TSC ticks when ingest took it) for latency
//! histograms; stamps never reach the journal, which must be identical across topologies.

use crate::account::FillReport;
use crate::decide::model::ModelRole;
use crate::features::FeatureVector;
use crate::journal::{BlockReason, RejectReason, Side};
use crate::orders::Purpose;
use crate::risk::RiskApproved;
use crate::tape::RawRecord;
use crate::types::{InstrumentId, Price, Qty, UnixNanos};

/// One tape (or gateway) record as the hot stages see it.
#[derive(Clone, Copy, Debug)]
pub struct MarketEvent {
    /// Index of this event within the run, from 0: the journal's `event_seq`.
    pub seq: u64,
    /// Strategy time: tape time in paper mode (never going backwards), the TSC clock live.
    pub ts: UnixNanos,
    /// TSC ticks when ingest took the event; for latency only (see [`crate::clock::Stopwatch`]).
    pub stamp: u64,
    pub record: RawRecord,
}

/// What the features stage knows about one instrument's market after an event: the touch in
/// fixed point (to price orders) and the feature vector (see `features::schema`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Features {
    pub instrument: InstrumentId,
    /// The book is two-sided, uncrossed and not mid-batch: safe to decide on.
    pub tradable: bool,
    pub bid_px: Price,
    pub bid_qty: Qty,
    pub ask_px: Price,
    pub ask_qty: Qty,
    /// The instrument's features after this event; `NaN` where not yet defined.
    pub values: FeatureVector,
}

/// An event with the features computed after it.
#[derive(Clone, Copy, Debug)]
pub struct Featured {
    pub event: MarketEvent,
    pub features: Features,
}

/// A trade the strategy wants (an entry from its signal, or an exit from a bracket), and what the
/// checks said about it. Journaled as a Decision or a Blocked record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    pub instrument: InstrumentId,
    pub side: Side,
    pub qty: Qty,
    /// The touch the decision saw on the side it would take (the ask for a buy).
    pub px_seen: Price,
    /// The strategy's signal in millionths (journaled as-is; 0 for a bracket exit).
    pub signal_micros: i64,
    pub purpose: Purpose,
    pub verdict: Verdict,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Passed the strategy's checks and the risk gate: the approved order with this id is in the
    /// same [`Intent`].
    Approved {
        order_id: u64,
    },
    Blocked(BlockReason),
}

/// A cancel the strategy asks for (cancels never pass the risk gate: they only reduce exposure).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CancelRequest {
    pub order_id: u64,
    pub instrument: InstrumentId,
    pub side: Side,
}

/// What decide hands to execute for every event: the event itself (the venue needs the market too),
/// the candidates it judged (an entry and a bracket exit, each at most once per event), the orders
/// the risk gate approved, and at most one cancel.
///
/// Not `Clone`: a [`RiskApproved`] sends one order, and execute consumes the intent.
#[derive(Debug)]
pub struct Intent {
    pub event: MarketEvent,
    /// `[entry, exit]`.
    pub candidates: [Option<Candidate>; 2],
    /// The approved orders of `candidates`, in the same slots.
    pub orders: [Option<RiskApproved>; 2],
    pub cancel: Option<CancelRequest>,
    /// What the models saw and said about the entry candidate, when it consulted them (execute
    /// journals it as Features records after the candidate's own).
    pub judged: Option<Judged>,
    /// Changes of live model decide applied before this event (journaled as ModelSwap records).
    pub swaps: SwapNotes,
}

impl Intent {
    /// An event on which the strategy does nothing.
    pub fn pass(event: MarketEvent) -> Intent {
        Intent {
            event,
            candidates: [None, None],
            orders: [None, None],
            cancel: None,
            judged: None,
            swaps: SwapNotes::default(),
        }
    }
}

/// An entry candidate as the models saw it: their answers (`NaN` where a model was not asked or gave
/// no usable answer) and the feature vector, as `f32` (`NaN` kept). Fixed-size, copied by value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Judged {
    pub p_win: f32,
    /// Predicted slippage of a market order, bps of the mid (a cost); `NaN` without a slippage model.
    pub slippage_bps: f32,
    pub features: [f32; crate::features::idx::COUNT],
}

impl Judged {
    /// Not yet scored: both answers `NaN`.
    #[inline]
    pub fn unscored(features: &FeatureVector) -> Judged {
        Judged { p_win: f32::NAN, slippage_bps: f32::NAN, features: features.0.map(|v| v as f32) }
    }
}

/// Most model changes decide applies before one event (commands beyond it wait for the next event:
/// the work between two events stays bounded).
pub const MAX_SWAPS_PER_EVENT: usize = 4;

/// A change of a role's live model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwapNote {
    pub role: ModelRole,
    /// `Scorer::version` of the new model; 0: removed.
    pub new_version: u64,
    /// Of the model it replaced; 0: none.
    pub old_version: u64,
}

/// The model changes applied before one event, in order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SwapNotes {
    len: u8,
    notes: [Option<SwapNote>; MAX_SWAPS_PER_EVENT],
}

impl SwapNotes {
    pub fn is_full(&self) -> bool {
        usize::from(self.len) == MAX_SWAPS_PER_EVENT
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Adds a note; `false` (and nothing added) when full.
    #[inline]
    pub fn push(&mut self, note: SwapNote) -> bool {
        let Some(slot) = self.notes.get_mut(usize::from(self.len)) else { return false };
        *slot = Some(note);
        self.len += 1;
        true
    }

    pub fn iter(&self) -> impl Iterator<Item = &SwapNote> {
        self.notes.iter().flatten()
    }

    /// Takes the notes out, leaving this empty.
    #[inline]
    pub fn take(&mut self) -> SwapNotes {
        std::mem::take(self)
    }
}

/// One of the venue's answers about an order, travelling back to decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    pub order_id: u64,
    pub instrument: InstrumentId,
    pub side: Side,
    pub kind: ReportKind,
    /// Tape time at which the strategy learns of it (venue time + response latency). Decide applies a
    /// report before the first event at or after this time, in every topology.
    pub ts_arrive: UnixNanos,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    Ack,
    Filled(FillReport),
    Canceled,
    /// The unfilled rest of an IOC or market order ended.
    Expired,
    Rejected(RejectReason),
    /// A cancel was refused (the order had already ended, or was unknown).
    CancelRejected(RejectReason),
}
