//! The simulated exchange: requests travel to it with entry latency, it matches them against the
//! tape's book at exchange time, and its answers travel back with response latency.

use std::collections::VecDeque;

use super::book::{Applied, SimBook, resting_side, taking_side};
use super::config::{FeedLatency, SimConfig};
use super::event::{ExchEvent, ExchKind, RequestKind, SimReject};
use super::fees::{FeeSchedule, fee};
use super::latency::LatencySampler;
use super::queue::{QueueModel, QueuePos};
use crate::event::MarketEvent;
use crate::journal::Side;
use crate::orders::{Liquidity, OrderKind, OrderRequest, TimeInForce};
use crate::tape::Record;
use crate::types::{Aggressor, BookSide, InstrumentId, InstrumentSpec, Price, Qty, UnixNanos};

/// Finished orders remembered, so that a late cancel or modify is answered `TooLate` rather than
/// `UnknownOrder`.
const DONE_MEMORY: usize = 256;

#[derive(Clone, Copy, Debug)]
enum Action {
    New(OrderRequest),
    Cancel { order_id: u64 },
    Modify { order_id: u64, qty: Qty, px: Price },
}

#[derive(Clone, Copy, Debug)]
struct Request {
    arrival: u64,
    action: Action,
}

/// A resting order.
#[derive(Clone, Copy, Debug)]
struct Working {
    order_id: u64,
    instrument: usize,
    side: Side,
    px: Price,
    /// Total quantity (changed by a modify).
    qty: Qty,
    filled: Qty,
    tif: TimeInForce,
    pos: QueuePos,
    /// Size of the level at `px` after the last settled book update the order saw.
    seen: Option<Qty>,
    /// An L2 level update at `px` has come since the last settled book update: the next one is a
    /// depth update of the order's level even if the size is unchanged (see [`super::queue`]).
    touched: bool,
}

impl Working {
    fn leaves(&self) -> Qty {
        Qty(self.qty.0 - self.filled.0)
    }
}

/// What a caller may read about a resting order (for tests and reports).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkingView {
    pub order_id: u64,
    pub px: Price,
    pub qty: Qty,
    pub filled: Qty,
    /// Estimated quantity ahead in the queue (`i64::MAX` while unknown).
    pub queue_ahead: i64,
}

/// The answers on their way back: response latency, kept in order.
#[derive(Clone, Debug)]
struct Outbox {
    latency: LatencySampler,
    last_recv: u64,
}

impl Outbox {
    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        out: &mut impl FnMut(ExchEvent),
        order_id: u64,
        instrument: usize,
        side: Side,
        ts: u64,
        kind: ExchKind,
    ) {
        let recv = ts.saturating_add(self.latency.sample()).max(self.last_recv);
        self.last_recv = recv;
        out(ExchEvent {
            order_id,
            instrument: InstrumentId(instrument as u16),
            side,
            ts_exchange: UnixNanos(ts),
            ts_recv: UnixNanos(recv),
            kind,
        });
    }
}

#[derive(Clone, Copy, Debug)]
struct Spec {
    tick: i64,
    lot: i64,
    /// Quantity units per base unit (`10^qty_scale`), for the queue models.
    units_per_base: f64,
    fees: FeeSchedule,
}

/// A tape-driven exchange (see the module docs of [`super`]). Everything is sized in
/// [`SimExchange::new`]; no method allocates afterwards.
#[derive(Clone, Debug)]
pub struct SimExchange {
    specs: Vec<Spec>,
    books: Vec<SimBook>,
    /// Last settled best (bid, ask) per instrument, for "the book traded through a resting order".
    prev_best: Vec<(Option<Price>, Option<Price>)>,
    /// Resting orders of all instruments, in arrival order (their priority among themselves).
    orders: Vec<Working>,
    counts: Vec<usize>,
    max_orders: usize,
    inflight: VecDeque<Request>,
    max_inflight: usize,
    done: [(u64, u16, Side); DONE_MEMORY],
    done_len: usize,
    done_next: usize,
    queue: QueueModel,
    feed: FeedLatency,
    l1_extra_levels: u32,
    entry: LatencySampler,
    outbox: Outbox,
    /// The exchange's clock: never goes back.
    now: u64,
    last_arrival: u64,
}

impl SimExchange {
    pub fn new(instruments: &[InstrumentSpec], cfg: &SimConfig) -> Self {
        let n = instruments.len();
        let specs = instruments
            .iter()
            .enumerate()
            .map(|(i, s)| Spec {
                tick: s.tick.0.max(1),
                lot: s.lot.0.max(1),
                units_per_base: 10f64.powi(i32::from(s.qty_scale)),
                fees: cfg.fees.iter().find(|(id, _)| id.index() == i).map_or(cfg.default_fees, |(_, f)| *f),
            })
            .collect();
        let max_orders = cfg.max_orders.max(1);
        let max_inflight = cfg.max_inflight.max(1);
        SimExchange {
            specs,
            books: (0..n).map(|_| SimBook::new(cfg.max_levels)).collect(),
            prev_best: vec![(None, None); n],
            orders: Vec::with_capacity(max_orders * n.max(1)),
            counts: vec![0; n],
            max_orders,
            inflight: VecDeque::with_capacity(max_inflight),
            max_inflight,
            done: [(0, 0, Side::Buy); DONE_MEMORY],
            done_len: 0,
            done_next: 0,
            queue: cfg.queue,
            feed: cfg.feed,
            l1_extra_levels: cfg.l1_extra_levels,
            // Distinct streams for the two directions.
            entry: LatencySampler::new(cfg.entry_latency.clone(), cfg.seed ^ 0x656E_7472_7900_0001),
            outbox: Outbox {
                latency: LatencySampler::new(cfg.response_latency.clone(), cfg.seed ^ 0x7265_7370_6F00_0002),
                last_recv: 0,
            },
            now: 0,
            last_arrival: 0,
        }
    }

    /// The exchange's clock (exchange time of the last thing it did).
    pub fn now(&self) -> UnixNanos {
        UnixNanos(self.now)
    }

    /// Requests sent but not yet processed.
    pub fn in_flight(&self) -> usize {
        self.inflight.len()
    }

    /// Resting orders of `instrument`, in priority order.
    pub fn working(&self, instrument: InstrumentId) -> impl Iterator<Item = WorkingView> + '_ {
        self.orders.iter().filter(move |o| o.instrument == instrument.index()).map(|o| WorkingView {
            order_id: o.order_id,
            px: o.px,
            qty: o.qty,
            filled: o.filled,
            queue_ahead: o.pos.front,
        })
    }

    /// The best bid and ask the exchange sees for `instrument`, when both are readable.
    pub fn touch(&self, instrument: InstrumentId) -> Option<crate::book::Touch> {
        let book = self.books.get(instrument.index())?;
        let bid = book.best(BookSide::Bid)?;
        let ask = book.best(BookSide::Ask)?;
        Some(crate::book::Touch { bid, ask })
    }

    /// Exchange time of a market event (see [`FeedLatency`]).
    pub fn exchange_time(&self, ts_local: UnixNanos, ts_exchange: UnixNanos) -> UnixNanos {
        let f = &self.feed;
        let from_tape = f.use_tape
            && ts_exchange.is_known()
            && ts_exchange.0 <= ts_local.0
            && ts_local.0 - ts_exchange.0 <= f.max_tape_ns;
        UnixNanos(if from_tape { ts_exchange.0 } else { ts_local.0.saturating_sub(f.fallback_ns) })
    }

    /// A market event from the tape. Requests that reached the exchange before its exchange time
    /// are processed first (a request arriving at the same nanosecond goes first); then the event is
    /// applied and resting orders react to it. Exchange time never goes back: an event whose time is
    /// before the clock (feed latency jitter) is applied at the clock.
    pub fn on_market(&mut self, ev: &MarketEvent, out: &mut impl FnMut(ExchEvent)) {
        let rec = &ev.record;
        let te = self.exchange_time(ev.ts, rec.header.ts_exchange).0.max(self.now);
        self.process_due(te, out);
        self.now = te;
        let i = rec.header.instrument.index();
        if i >= self.books.len() {
            return;
        }
        let applied = self.books[i].apply(rec);
        if let Some(Record::Level(l)) = rec.view() {
            self.touch_level(i, l.side(), l.px);
        }
        match applied {
            Applied::Trade => {
                if let Some(Record::Trade(t)) = rec.view() {
                    self.on_trade(i, t.px, t.qty, t.aggressor(), te, out);
                }
            }
            Applied::Book => self.on_book(i, te, out),
            Applied::Unsettled | Applied::Nothing => {}
        }
        // Requests held back while this instrument's book was mid-batch.
        self.process_due(te, out);
    }

    /// A new order leaves the engine at `sent` (local time).
    pub fn submit(&mut self, req: &OrderRequest, sent: UnixNanos, out: &mut impl FnMut(ExchEvent)) {
        if !self.enqueue(sent, Action::New(*req)) {
            // The gateway refuses it at once: it never reached the exchange.
            out(ExchEvent {
                order_id: req.order_id,
                instrument: req.instrument,
                side: req.side,
                ts_exchange: sent,
                ts_recv: sent,
                kind: ExchKind::Rejected { reason: SimReject::TooManyOrders, request: RequestKind::New },
            });
        }
    }

    /// A cancel leaves the engine at `sent`.
    pub fn cancel(&mut self, order_id: u64, sent: UnixNanos, out: &mut impl FnMut(ExchEvent)) {
        if !self.enqueue(sent, Action::Cancel { order_id }) {
            self.local_reject(order_id, sent, RequestKind::Cancel, out);
        }
    }

    /// A modify (cancel-replace) leaves the engine at `sent`: the order becomes `new_qty` in total
    /// (filled part included, as FIX's OrderQty) at `new_px`. A price change or a size increase
    /// sends it to the back of the queue at its (new) price; a size decrease at the same price keeps
    /// its place, as on most price-time venues.
    pub fn modify(
        &mut self,
        order_id: u64,
        new_qty: Qty,
        new_px: Price,
        sent: UnixNanos,
        out: &mut impl FnMut(ExchEvent),
    ) {
        if !self.enqueue(sent, Action::Modify { order_id, qty: new_qty, px: new_px }) {
            self.local_reject(order_id, sent, RequestKind::Modify, out);
        }
    }

    /// Processes every request that has reached the exchange by `now` (local time, which is the
    /// exchange's timeline, see [`FeedLatency`]). Call it when no market event with an exchange time
    /// before `now` is still to come (at the end of a tape, or between events in tests): between
    /// events [`SimExchange::on_market`] does this itself.
    pub fn advance_to(&mut self, now: UnixNanos, out: &mut impl FnMut(ExchEvent)) {
        self.process_due(now.0, out);
    }

    fn enqueue(&mut self, sent: UnixNanos, action: Action) -> bool {
        if self.inflight.len() >= self.max_inflight {
            return false;
        }
        // One ordered connection: a request never overtakes an earlier one.
        let arrival = sent.0.saturating_add(self.entry.sample()).max(self.last_arrival);
        self.last_arrival = arrival;
        self.inflight.push_back(Request { arrival, action });
        true
    }

    fn local_reject(&mut self, order_id: u64, sent: UnixNanos, request: RequestKind, out: &mut impl FnMut(ExchEvent)) {
        let (instrument, side) = self.find(order_id).map_or((0, Side::Buy), |k| {
            let o = &self.orders[k];
            (o.instrument, o.side)
        });
        out(ExchEvent {
            order_id,
            instrument: InstrumentId(instrument as u16),
            side,
            ts_exchange: sent,
            ts_recv: sent,
            kind: ExchKind::Rejected { reason: SimReject::TooManyOrders, request },
        });
    }

    fn process_due(&mut self, t: u64, out: &mut impl FnMut(ExchEvent)) {
        while let Some(r) = self.inflight.front().copied() {
            if r.arrival > t {
                break;
            }
            // A request that reads the book waits for the end of a batch of level updates.
            let reads = match r.action {
                Action::New(req) => Some(req.instrument.index()),
                Action::Modify { order_id, .. } => self.find(order_id).map(|k| self.orders[k].instrument),
                Action::Cancel { .. } => None,
            };
            if reads.is_some_and(|i| i < self.books.len() && !self.books[i].settled()) {
                break;
            }
            self.inflight.pop_front();
            self.now = self.now.max(r.arrival);
            let now = self.now;
            match r.action {
                Action::New(req) => self.handle_new(&req, now, out),
                Action::Cancel { order_id } => self.handle_cancel(order_id, now, out),
                Action::Modify { order_id, qty, px } => self.handle_modify(order_id, qty, px, now, out),
            }
        }
    }

    fn find(&self, order_id: u64) -> Option<usize> {
        self.orders.iter().position(|o| o.order_id == order_id)
    }

    fn remember_done(&mut self, order_id: u64, instrument: usize, side: Side) {
        self.done[self.done_next] = (order_id, instrument as u16, side);
        self.done_next = (self.done_next + 1) % DONE_MEMORY;
        self.done_len = (self.done_len + 1).min(DONE_MEMORY);
    }

    fn remove(&mut self, k: usize) {
        let o = self.orders.remove(k);
        self.counts[o.instrument] -= 1;
        self.remember_done(o.order_id, o.instrument, o.side);
    }

    /// Rejects a cancel or modify of an order that is not working.
    fn reject_missing(&mut self, order_id: u64, request: RequestKind, now: u64, out: &mut impl FnMut(ExchEvent)) {
        let done = self.done[..self.done_len].iter().find(|d| d.0 == order_id).copied();
        let (reason, instrument, side) = match done {
            Some((_, i, s)) => (SimReject::TooLate, usize::from(i), s),
            None => (SimReject::UnknownOrder, 0, Side::Buy),
        };
        self.outbox.send(out, order_id, instrument, side, now, ExchKind::Rejected { reason, request });
    }

    /// Takes liquidity for `qty` of an order that has `filled` already, up to `limit`; emits taker
    /// fills. Returns the quantity taken.
    #[allow(clippy::too_many_arguments)]
    fn take(
        &mut self,
        i: usize,
        order_id: u64,
        side: Side,
        total: Qty,
        filled: Qty,
        limit: Option<Price>,
        now: u64,
        out: &mut impl FnMut(ExchEvent),
    ) -> Qty {
        let spec = self.specs[i];
        let outbox = &mut self.outbox;
        let mut done = filled.0;
        self.books[i].walk(side, Qty(total.0 - filled.0), limit, Price(spec.tick), self.l1_extra_levels, |px, q| {
            done += q.0;
            let kind = ExchKind::Fill {
                px,
                qty: q,
                leaves: Qty(total.0 - done),
                liquidity: Liquidity::Taker,
                fee: fee(px, q, spec.fees.taker_millibps),
            };
            outbox.send(out, order_id, i, side, now, kind);
        })
    }

    fn handle_new(&mut self, req: &OrderRequest, now: u64, out: &mut impl FnMut(ExchEvent)) {
        let i = req.instrument.index();
        let (id, side) = (req.order_id, req.side);
        let mut reject = |s: &mut Self, reason| {
            s.outbox.send(out, id, i, side, now, ExchKind::Rejected { reason, request: RequestKind::New });
        };
        let Some(spec) = self.specs.get(i).copied() else {
            return reject(self, SimReject::UnknownInstrument);
        };
        if req.qty.0 <= 0 || req.qty.0 % spec.lot != 0 {
            return reject(self, SimReject::InvalidQty);
        }
        let limit = match req.kind {
            OrderKind::Market => None,
            OrderKind::Limit { px } if px.0 <= 0 || px.0 % spec.tick != 0 => {
                return reject(self, SimReject::InvalidPrice);
            }
            OrderKind::Limit { px } => Some(px),
        };
        if self.find(id).is_some() {
            return reject(self, SimReject::DuplicateOrderId);
        }
        let opposite = self.books[i].best(taking_side(side));
        let Some(px) = limit else {
            if opposite.is_none() {
                return reject(self, SimReject::NoLiquidity);
            }
            self.outbox.send(out, id, i, side, now, ExchKind::Ack { px: Price(0), qty: req.qty });
            let taken = self.take(i, id, side, req.qty, Qty::ZERO, None, now, out);
            if taken.0 < req.qty.0 {
                self.outbox.send(out, id, i, side, now, ExchKind::Expired { leaves: Qty(req.qty.0 - taken.0) });
            }
            self.remember_done(id, i, side);
            return;
        };
        let crosses = opposite.is_some_and(|o| crosses(side, o.px, px));
        if crosses && req.tif == TimeInForce::PostOnly {
            return reject(self, SimReject::PostOnlyWouldCross);
        }
        if req.tif != TimeInForce::Ioc && self.counts[i] >= self.max_orders {
            return reject(self, SimReject::TooManyOrders);
        }
        self.outbox.send(out, id, i, side, now, ExchKind::Ack { px, qty: req.qty });
        let taken = if crosses { self.take(i, id, side, req.qty, Qty::ZERO, Some(px), now, out) } else { Qty::ZERO };
        let leaves = Qty(req.qty.0 - taken.0);
        if leaves.0 == 0 {
            self.remember_done(id, i, side);
        } else if req.tif == TimeInForce::Ioc {
            self.outbox.send(out, id, i, side, now, ExchKind::Expired { leaves });
            self.remember_done(id, i, side);
        } else {
            let seen = self.books[i].qty_at(side, px);
            self.orders.push(Working {
                order_id: id,
                instrument: i,
                side,
                px,
                qty: req.qty,
                filled: taken,
                tif: req.tif,
                pos: QueuePos::behind(seen),
                seen,
                touched: false,
            });
            self.counts[i] += 1;
        }
    }

    fn handle_cancel(&mut self, order_id: u64, now: u64, out: &mut impl FnMut(ExchEvent)) {
        let Some(k) = self.find(order_id) else {
            return self.reject_missing(order_id, RequestKind::Cancel, now, out);
        };
        let o = self.orders[k];
        self.remove(k);
        self.outbox.send(out, order_id, o.instrument, o.side, now, ExchKind::Canceled { leaves: o.leaves() });
    }

    fn handle_modify(&mut self, order_id: u64, qty: Qty, px: Price, now: u64, out: &mut impl FnMut(ExchEvent)) {
        let Some(k) = self.find(order_id) else {
            return self.reject_missing(order_id, RequestKind::Modify, now, out);
        };
        let o = self.orders[k];
        let (i, side) = (o.instrument, o.side);
        let spec = self.specs[i];
        let reason = if qty.0 <= 0 || qty.0 % spec.lot != 0 || qty.0 <= o.filled.0 {
            Some(SimReject::InvalidQty)
        } else if px.0 <= 0 || px.0 % spec.tick != 0 {
            Some(SimReject::InvalidPrice)
        } else {
            None
        };
        let crosses = self.books[i].best(taking_side(side)).is_some_and(|b| crosses(side, b.px, px));
        let reason = reason.or((crosses && o.tif == TimeInForce::PostOnly).then_some(SimReject::PostOnlyWouldCross));
        if let Some(reason) = reason {
            let kind = ExchKind::Rejected { reason, request: RequestKind::Modify };
            return self.outbox.send(out, order_id, i, side, now, kind);
        }
        let loses_priority = px != o.px || qty.0 > o.qty.0;
        let w = &mut self.orders[k];
        w.qty = qty;
        w.px = px;
        if loses_priority {
            let seen = self.books[i].qty_at(side, px);
            w.pos = QueuePos::behind(seen);
            w.seen = seen;
            w.touched = false;
        }
        let leaves = w.leaves();
        self.outbox.send(out, order_id, i, side, now, ExchKind::Modified { px, qty, leaves });
        if crosses {
            let taken = self.take(i, order_id, side, qty, o.filled, Some(px), now, out);
            let w = &mut self.orders[k];
            w.filled.0 += taken.0;
            if w.leaves().0 == 0 {
                self.remove(k);
            }
        }
    }

    /// A trade print: resting orders at its price advance in their queue and fill with what the
    /// trade had beyond the queue ahead; resting orders the trade went through (a sell printing
    /// below a resting buy) fill whole at their own price, since price priority would have reached
    /// them first. A print only counts against the side it could have hit: a resting buy is filled
    /// by sell-aggressor (or unknown-aggressor) prints. Several of our orders at one price share
    /// the trade's size, in their arrival order, so one print is never counted twice.
    fn on_trade(
        &mut self,
        i: usize,
        px: Price,
        qty: Qty,
        aggressor: Aggressor,
        now: u64,
        out: &mut impl FnMut(ExchEvent),
    ) {
        let spec = self.specs[i];
        let mut budget = qty.0.max(0);
        let mut k = 0;
        while k < self.orders.len() {
            let o = &mut self.orders[k];
            let hits = o.instrument == i
                && match o.side {
                    Side::Buy => aggressor != Aggressor::Buy && px <= o.px,
                    Side::Sell => aggressor != Aggressor::Sell && px >= o.px,
                };
            if !hits {
                k += 1;
                continue;
            }
            let leaves = o.leaves().0;
            let fill = if px == o.px {
                let reached = o.pos.on_trade(qty).min(budget).min(leaves);
                let fill = reached - reached % spec.lot;
                budget -= fill;
                fill
            } else {
                leaves
            };
            if fill > 0 && self.maker_fill(k, fill, spec, now, out) {
                continue;
            }
            k += 1;
        }
    }

    /// Books a maker fill of `qty` on order `k` at its price; returns true when the order is done
    /// (and removed).
    fn maker_fill(&mut self, k: usize, qty: i64, spec: Spec, now: u64, out: &mut impl FnMut(ExchEvent)) -> bool {
        let o = &mut self.orders[k];
        o.filled.0 += qty;
        let kind = ExchKind::Fill {
            px: o.px,
            qty: Qty(qty),
            leaves: o.leaves(),
            liquidity: Liquidity::Maker,
            fee: fee(o.px, Qty(qty), spec.fees.maker_millibps),
        };
        let (id, inst, side, done) = (o.order_id, o.instrument, o.side, o.leaves().0 == 0);
        self.outbox.send(out, id, inst, side, now, kind);
        if done {
            self.remove(k);
        }
        done
    }

    /// An L2 level update of `side` at `px` (settled or not): resting orders at that price will
    /// take the next settled book as a depth update of their level, even if it repeats the size.
    fn touch_level(&mut self, i: usize, side: BookSide, px: Price) {
        for o in &mut self.orders {
            if o.instrument == i && o.px == px && resting_side(o.side) == side {
                o.touched = true;
            }
        }
    }

    /// The book changed and is settled: queue positions follow the size at their price (every L2
    /// update of the level counts, also one that repeats its size, see [`super::queue`]), and a
    /// resting order fills whole at its price when the opposite best moves onto or through it (the
    /// market traded through it). Only a move counts: a marketable limit whose remainder rests
    /// against an unchanged book (the replay has no market impact) is not filled again by the
    /// liquidity it already took, as in hftbacktest's best-price-update rule.
    fn on_book(&mut self, i: usize, now: u64, out: &mut impl FnMut(ExchEvent)) {
        let spec = self.specs[i];
        let book = &self.books[i];
        let bid = book.best(BookSide::Bid).map(|l| l.px);
        let ask = book.best(BookSide::Ask).map(|l| l.px);
        let (prev_bid, prev_ask) = self.prev_best[i];
        let mut k = 0;
        while k < self.orders.len() {
            let o = &mut self.orders[k];
            if o.instrument != i {
                k += 1;
                continue;
            }
            let book = &self.books[i];
            let new = book.qty_at(o.side, o.px);
            if new != o.seen || o.touched {
                o.pos.on_depth(self.queue, spec.units_per_base, o.seen, new);
                o.seen = new;
            }
            o.touched = false;
            let through = match o.side {
                Side::Buy => ask.is_some_and(|a| a <= o.px && prev_ask.is_none_or(|p| a < p)),
                Side::Sell => bid.is_some_and(|b| b >= o.px && prev_bid.is_none_or(|p| b > p)),
            };
            if through {
                let leaves = o.leaves().0;
                if self.maker_fill(k, leaves, spec, now, out) {
                    continue;
                }
            }
            k += 1;
        }
        self.prev_best[i] = (bid.or(prev_bid), ask.or(prev_ask));
    }
}

/// An order of `side` at `px` would take from an opposite best at `opposite`.
fn crosses(side: Side, opposite: Price, px: Price) -> bool {
    match side {
        Side::Buy => opposite <= px,
        Side::Sell => opposite >= px,
    }
}
