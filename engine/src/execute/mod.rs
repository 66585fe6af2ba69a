//! Execute: sends risk-approved orders and cancels to the venue, hears back, keeps the venue-side
//! account (positions with fees, per instrument), and writes the journal — every decision, block,
//! order, ack, fill, cancel, expiry and reject, in event order, with what the models saw for each
//! candidate they judged (Features records) and each change of live model (ModelSwap records, first
//! in their event).
//!
//! It is the journal's only writer, which is what makes the journal's order a function of the tape
//! alone: decide's verdicts reach it inside the [`Intent`] of the event that produced them.
//!
//! - [`venue`]: the [`Venue`] trait and [`SimVenue`], the simulated exchange behind it.
//! - [`sim`]: the simulated exchange (book walk, queues, latencies, fees).

pub mod sim;
pub mod venue;

pub use venue::{SimVenue, Venue};

use crate::account::{FillReport, Position};
use crate::clock::Stopwatch;
use crate::event::{Candidate, Intent, Judged, Report, ReportKind, SwapNotes, Verdict};
use crate::features::idx;
use crate::journal::{BlockReason, EntryKind, FEATURES_PER_RECORD, FeaturesRecord, JournalRecord, features_chunks};
use crate::risk::RiskApproved;
use crate::types::{InstrumentId, UnixNanos};
use sim::{ExchEvent, ExchKind, RequestKind};

/// Where execute's output goes; the runner provides it (a journal writer plus the report ring).
pub trait ExecSink {
    fn journal(&mut self, record: JournalRecord);
    fn report(&mut self, report: Report);
}

/// What one event made execute do, for the runner's latency bookkeeping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecStep {
    pub orders_sent: u32,
}

/// Counts per instrument, for the run summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InstrumentStats {
    pub decisions: u64,
    pub blocked: u64,
    /// `blocked` by reason, indexed by `BlockReason as usize - 1`.
    pub blocked_by: [u64; BlockReason::ALL.len()],
    pub orders: u64,
    /// Exit orders (take-profit, stop-loss, time exit), included in `orders`.
    pub exits: u64,
    pub fills: u64,
    pub maker_fills: u64,
    pub rejects: u64,
    pub cancels: u64,
    pub expired: u64,
    /// Fills that reduced a position (a round trip or part of one closed).
    pub closing_fills: u64,
    /// Closing fills with positive realized PnL (gross of fees).
    pub winning_fills: u64,
    /// Sum of filled quantity.
    pub volume: i64,
    /// Position, realized PnL and fees, exact, as the venue's fills made them.
    pub position: Position,
}

/// Whether the engine's own decision time delays its orders (see [`ExecuteStage::new`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DecisionLatency {
    /// Orders leave at the tape time of the event that decided them: deterministic.
    #[default]
    Ignore,
    /// Orders leave that late plus the measured time from ingest to execute of that event, so the
    /// engine's speed shows in paper fills. The journal then depends on the machine and the load.
    Measured,
}

#[derive(Clone, Debug)]
pub struct ExecuteStage<V> {
    venue: V,
    books: Books,
    decision_latency: DecisionLatency,
    stopwatch: Stopwatch,
}

/// The venue-side account, apart from the venue so that the venue's callbacks can book into it.
#[derive(Clone, Debug)]
struct Books {
    stats: Vec<InstrumentStats>,
    /// Reports must reach decide in non-decreasing arrival time (see `Report::ts_arrive`).
    last_arrival: UnixNanos,
    min_report_delay_ns: u64,
    /// Answers the venue gave that execute could not book (an instrument outside the tape's table, a
    /// modify execute never sent): counted, never booked, never a panic.
    unknown: u64,
}

impl<V: Venue> ExecuteStage<V> {
    pub fn new(venue: V, instruments: usize, decision_latency: DecisionLatency) -> Self {
        let books = Books {
            stats: vec![InstrumentStats::default(); instruments],
            last_arrival: UnixNanos(0),
            min_report_delay_ns: venue.min_report_delay_ns(),
            unknown: 0,
        };
        ExecuteStage { venue, books, decision_latency, stopwatch: Stopwatch::new() }
    }

    /// The least tape time between execute processing an event and decide hearing of anything it
    /// caused; the threaded runner lets decide run this far ahead of execute.
    pub fn min_report_delay_ns(&self) -> u64 {
        self.books.min_report_delay_ns
    }

    pub fn stats(&self) -> &[InstrumentStats] {
        &self.books.stats
    }

    pub fn venue(&self) -> &V {
        &self.venue
    }

    /// Venue answers execute could not book (0 unless the venue misbehaves).
    pub fn unbooked(&self) -> u64 {
        self.books.unknown
    }

    #[inline]
    pub fn on_event(&mut self, intent: Intent, sink: &mut impl ExecSink) -> ExecStep {
        let Intent { event: ev, candidates, orders, cancel, judged, swaps } = intent;
        let mut step = ExecStep::default();
        let books = &mut self.books;
        if !swaps.is_empty() {
            swapped(&swaps, ev.seq, ev.ts, sink);
        }
        self.venue.on_market(&ev, &mut |e| books.settle(&e, ev.seq, ev.ts, sink));
        let sent = match self.decision_latency {
            DecisionLatency::Ignore => ev.ts,
            DecisionLatency::Measured => {
                let sw = &self.stopwatch;
                UnixNanos(ev.ts.0.saturating_add(sw.nanos(ev.stamp, sw.stamp())))
            }
        };
        for (slot, (candidate, order)) in candidates.into_iter().zip(orders).enumerate() {
            let Some(c) = candidate else { continue };
            books.decided(&c, ev.seq, ev.ts, sink);
            if slot == 0
                && let Some(j) = &judged
            {
                features(j, ev.seq, sink);
            }
            if let (Verdict::Approved { .. }, Some(order)) = (c.verdict, order) {
                books.ordered(&order, ev.seq, ev.ts, sink);
                self.venue.submit(order, sent, &mut |e| books.settle(&e, ev.seq, ev.ts, sink));
                step.orders_sent += 1;
            }
        }
        if let Some(c) = cancel {
            let mut rec = record(EntryKind::CancelRequest, ev.seq, ev.ts, c.instrument);
            rec.side = c.side as u8;
            rec.order_id = c.order_id;
            sink.journal(rec);
            self.venue.cancel(c.order_id, sent, &mut |e| books.settle(&e, ev.seq, ev.ts, sink));
        }
        step
    }
}

impl Books {
    fn stat(&mut self, id: InstrumentId) -> &mut InstrumentStats {
        // Instruments come from the tape's table, which sized `stats`; clamp rather than panic.
        let last = self.stats.len().saturating_sub(1);
        &mut self.stats[id.index().min(last)]
    }

    /// Journals a candidate and its verdict.
    fn decided(&mut self, c: &Candidate, seq: u64, ts: UnixNanos, sink: &mut impl ExecSink) {
        let stats = self.stat(c.instrument);
        let mut rec = record(EntryKind::Decision, seq, ts, c.instrument);
        rec.side = c.side as u8;
        rec.px = c.px_seen;
        rec.qty = c.qty;
        rec.value = c.signal_micros;
        rec.aux = c.purpose.as_u8();
        match c.verdict {
            Verdict::Blocked(reason) => {
                stats.blocked += 1;
                stats.blocked_by[reason as usize - 1] += 1;
                rec.kind = EntryKind::Blocked as u8;
                rec.reason = reason as u8;
            }
            Verdict::Approved { .. } => stats.decisions += 1,
        }
        sink.journal(rec);
    }

    /// Journals an order about to leave.
    fn ordered(&mut self, order: &RiskApproved, seq: u64, ts: UnixNanos, sink: &mut impl ExecSink) {
        let r = order.request();
        let stats = self.stat(r.instrument);
        stats.orders += 1;
        stats.exits += u64::from(r.purpose.is_exit());
        let mut rec = record(EntryKind::Order, seq, ts, r.instrument);
        rec.side = r.side as u8;
        rec.order_id = r.order_id;
        rec.px = r.kind.px();
        rec.qty = r.qty;
        rec.aux = r.purpose.as_u8();
        rec.order_type = r.kind.as_u8();
        rec.tif = r.tif.as_u8();
        sink.journal(rec);
    }

    /// Books one answer of the venue: position, journal, and the report back to decide.
    fn settle(&mut self, e: &ExchEvent, seq: u64, now: UnixNanos, sink: &mut impl ExecSink) {
        // Journal time is the event's: the journal is in event order, and the venue's own times
        // are reproducible from the config.
        let mut rec = record(EntryKind::Ack, seq, now, e.instrument);
        rec.side = e.side as u8;
        rec.order_id = e.order_id;
        let Some(stats) = self.stats.get_mut(e.instrument.index()) else {
            self.unknown += 1;
            return;
        };
        let kind = match e.kind {
            ExchKind::Ack { px, qty } => {
                rec.px = px;
                rec.qty = qty;
                ReportKind::Ack
            }
            ExchKind::Fill { px, qty, leaves, liquidity, fee } => {
                let effect = stats.position.apply(e.side, px, qty, i128::from(fee));
                stats.fills += 1;
                stats.maker_fills += u64::from(liquidity == crate::orders::Liquidity::Maker);
                stats.volume += qty.0;
                if effect.closed > 0 {
                    stats.closing_fills += 1;
                    stats.winning_fills += u64::from(effect.realized > 0);
                }
                rec.kind = EntryKind::Fill as u8;
                rec.px = px;
                rec.qty = qty;
                rec.value = fee;
                rec.aux = liquidity.as_u8();
                ReportKind::Filled(FillReport { px, qty, leaves, fee: i128::from(fee), liquidity })
            }
            ExchKind::Canceled { leaves } => {
                stats.cancels += 1;
                rec.kind = EntryKind::Canceled as u8;
                rec.qty = leaves;
                ReportKind::Canceled
            }
            ExchKind::Modified { .. } => {
                // Execute never sends a modify; a venue that reports one is answering someone else.
                self.unknown += 1;
                return;
            }
            ExchKind::Expired { leaves } => {
                stats.expired += 1;
                rec.kind = EntryKind::Expired as u8;
                rec.qty = leaves;
                ReportKind::Expired
            }
            ExchKind::Rejected { reason, request } => {
                let reason = reason.journal_reason();
                rec.reason = reason as u8;
                if request == RequestKind::New {
                    stats.rejects += 1;
                    rec.kind = EntryKind::Reject as u8;
                    ReportKind::Rejected(reason)
                } else {
                    rec.kind = EntryKind::CancelReject as u8;
                    ReportKind::CancelRejected(reason)
                }
            }
        };
        sink.journal(rec);
        // Never sooner than the venue allows, never before an earlier report (one ordered line).
        let floor = now.0.saturating_add(self.min_report_delay_ns);
        self.last_arrival = UnixNanos(e.ts_recv.0.max(floor).max(self.last_arrival.0));
        sink.report(Report {
            order_id: e.order_id,
            instrument: e.instrument,
            side: e.side,
            kind,
            ts_arrive: self.last_arrival,
        });
    }
}

/// Records a candidate's run of Features records takes.
const CHUNKS: usize = features_chunks(idx::COUNT);

/// Journals what the models saw for the entry candidate just journaled.
#[inline]
fn features(j: &Judged, seq: u64, sink: &mut impl ExecSink) {
    let mut values = [0f32; CHUNKS * FEATURES_PER_RECORD];
    values[0] = j.p_win;
    values[1] = j.slippage_bps;
    values[2..2 + idx::COUNT].copy_from_slice(&j.features);
    for (chunk, part) in values.chunks_exact(FEATURES_PER_RECORD).enumerate() {
        let mut rec = FeaturesRecord {
            kind: EntryKind::Features as u8,
            chunk: chunk as u8,
            chunks: CHUNKS as u8,
            event_seq: seq,
            ..FeaturesRecord::default()
        };
        rec.values.copy_from_slice(part);
        sink.journal(rec.to_record());
    }
}

/// Journals the model changes decide applied before this event.
#[cold]
fn swapped(swaps: &SwapNotes, seq: u64, ts: UnixNanos, sink: &mut impl ExecSink) {
    for s in swaps.iter() {
        let mut rec = record(EntryKind::ModelSwap, seq, ts, InstrumentId(0));
        rec.aux = s.role.index() as u8;
        rec.order_id = s.new_version;
        rec.value = s.old_version as i64;
        sink.journal(rec);
    }
}

fn record(kind: EntryKind, seq: u64, ts: UnixNanos, instrument: InstrumentId) -> JournalRecord {
    JournalRecord { kind: kind as u8, event_seq: seq, ts, instrument, ..JournalRecord::default() }
}
