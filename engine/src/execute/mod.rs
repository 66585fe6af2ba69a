//! Execute: sends approved candidates to the venue, hears back, keeps the account's positions, and
//! writes the journal — every decision, block, order, fill and reject, in event order.
//!
//! It is the journal's only writer, which is what makes the journal's order a function of the tape
//! alone: decide's verdicts reach it inside the [`Intent`] of the event that produced them.
//!
//! - [`venue`]: the [`Venue`] trait and the minimal paper venue.
//! - [`position`]: fixed-point positions with realized PnL.

pub mod position;
pub mod sim;
pub mod venue;

pub use position::{FillEffect, Position};
pub use venue::{Order, TouchVenue, Venue, VenueEvent};

use crate::event::{Candidate, Intent, Outcome, Report, Verdict};
use crate::journal::{EntryKind, JournalRecord};
use crate::types::{InstrumentId, UnixNanos};

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
    pub orders: u64,
    pub fills: u64,
    pub rejects: u64,
    /// Fills that reduced a position (a round trip or part of one closed).
    pub closing_fills: u64,
    /// Closing fills with positive realized PnL.
    pub winning_fills: u64,
    /// Sum of filled quantity.
    pub volume: i64,
    pub position: Position,
}

#[derive(Clone, Debug)]
pub struct ExecuteStage<V> {
    venue: V,
    account: Account,
}

/// The account side of execute, apart from the venue so that the venue's callbacks can book into it.
#[derive(Clone, Debug)]
struct Account {
    stats: Vec<InstrumentStats>,
    /// Reports must reach decide in non-decreasing arrival time (see `Report::ts_arrive`).
    last_arrival: UnixNanos,
    response_latency_ns: u64,
}

impl<V: Venue> ExecuteStage<V> {
    pub fn new(venue: V, instruments: usize) -> Self {
        let response_latency_ns = venue.response_latency_ns();
        let account = Account {
            stats: vec![InstrumentStats::default(); instruments],
            last_arrival: UnixNanos(0),
            response_latency_ns,
        };
        ExecuteStage { venue, account }
    }

    /// The least tape time between the venue acting and decide hearing of it; the threaded runner
    /// lets decide run this far ahead of execute without changing what decide sees.
    pub fn min_report_delay_ns(&self) -> u64 {
        self.venue.response_latency_ns()
    }

    pub fn stats(&self) -> &[InstrumentStats] {
        &self.account.stats
    }

    pub fn venue(&self) -> &V {
        &self.venue
    }

    #[inline]
    pub fn on_event(&mut self, intent: &Intent, sink: &mut impl ExecSink) -> ExecStep {
        let ev = &intent.event;
        let mut step = ExecStep::default();
        self.venue.on_market(ev);
        let account = &mut self.account;
        if let Some(c) = &intent.candidate {
            let stats = stat(&mut account.stats, c.instrument);
            let mut rec = record(EntryKind::Decision, ev.seq, ev.ts, c.instrument);
            rec.side = c.side as u8;
            rec.px = c.px_seen;
            rec.qty = c.qty;
            rec.value = c.signal_micros;
            match c.verdict {
                Verdict::Blocked(reason) => {
                    stats.blocked += 1;
                    rec.kind = EntryKind::Blocked as u8;
                    rec.reason = reason as u8;
                    sink.journal(rec);
                }
                Verdict::Approved { order_id } => {
                    stats.decisions += 1;
                    stats.orders += 1;
                    sink.journal(rec);
                    sink.journal(order_record(c, order_id, ev.seq, ev.ts));
                    let order = Order { order_id, instrument: c.instrument, side: c.side, qty: c.qty, sent: ev.ts };
                    self.venue.submit(order, &mut |e| account.settle(&e, ev.seq, ev.ts, sink));
                    step.orders_sent += 1;
                }
            }
        }
        self.venue.match_due(ev.ts, &mut |e| account.settle(&e, ev.seq, ev.ts, sink));
        step
    }
}

impl Account {
    /// Books one venue event: position, journal, and the report back to decide.
    fn settle(&mut self, e: &VenueEvent, seq: u64, now: UnixNanos, sink: &mut impl ExecSink) {
        let (order, outcome, venue_ts) = match *e {
            VenueEvent::Fill { order, px, qty, ts } => (order, Outcome::Filled { px, qty }, ts),
            VenueEvent::Reject { order, reason, ts } => (order, Outcome::Rejected(reason), ts),
        };
        // Never in the past (see `Venue::response_latency_ns`).
        let ts = venue_ts.max(now);
        let stats = stat(&mut self.stats, order.instrument);
        let mut rec = record(EntryKind::Fill, seq, ts, order.instrument);
        rec.side = order.side as u8;
        rec.order_id = order.order_id;
        match outcome {
            Outcome::Filled { px, qty } => {
                let effect = stats.position.apply(order.side, px, qty);
                stats.fills += 1;
                stats.volume += qty.0;
                if effect.closed_some {
                    stats.closing_fills += 1;
                    stats.winning_fills += u64::from(effect.realized > 0);
                }
                rec.px = px;
                rec.qty = qty;
                // Saturates only past 9.2e18 units of 10^-(price+qty scale): 92 billion quote units
                // at scale 8, 922 at scale 16. The summary keeps the exact i128.
                rec.value = effect.realized.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
            }
            Outcome::Rejected(reason) => {
                stats.rejects += 1;
                rec.kind = EntryKind::Reject as u8;
                rec.reason = reason as u8;
                rec.qty = order.qty;
            }
        }
        sink.journal(rec);
        let arrive = UnixNanos(ts.0.saturating_add(self.response_latency_ns));
        self.last_arrival = self.last_arrival.max(arrive);
        sink.report(Report {
            order_id: order.order_id,
            instrument: order.instrument,
            side: order.side,
            outcome,
            ts_arrive: self.last_arrival,
        });
    }
}

fn stat(stats: &mut [InstrumentStats], id: InstrumentId) -> &mut InstrumentStats {
    // Instruments come from the tape's table, which sized `stats`; clamp rather than panic.
    let last = stats.len().saturating_sub(1);
    &mut stats[id.index().min(last)]
}

fn record(kind: EntryKind, seq: u64, ts: UnixNanos, instrument: InstrumentId) -> JournalRecord {
    JournalRecord { kind: kind as u8, event_seq: seq, ts, instrument, ..JournalRecord::default() }
}

fn order_record(c: &Candidate, order_id: u64, seq: u64, ts: UnixNanos) -> JournalRecord {
    let mut rec = record(EntryKind::Order, seq, ts, c.instrument);
    rec.side = c.side as u8;
    rec.order_id = order_id;
    rec.qty = c.qty;
    rec
}
