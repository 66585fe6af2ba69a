//! Drives the simulated exchange ([`SimExchange`]) over a tape with a scripted quoting strategy, so
//! that its fills can be checked against an independent simulator: hftbacktest, fed the same
//! capture by its own converter (`tools/crosscheck/hftbacktest_check.py`, which explains the
//! comparison and the differences that remain).
//!
//! # The strategy
//! [`strategy::Quoter`]: every `step_ns` of local time it cancels orders older than `max_age_ns`
//! and posts a GTC limit of `order_lots` at the touch on each side without a live order, within a
//! position limit. It reads its touch from the tape's L2 levels only (not the L1 quotes), since
//! hftbacktest's converter keeps only depth and trades by default.
//!
//! # Two timelines, as in hftbacktest
//! The exchange and the strategy see the tape at different times, and the driver keeps two
//! cursors over it. Before the strategy acts at a boundary `t` (local time):
//! 1. the exchange is fed, in [`ExchangeOrder`], every record whose exchange time is before `t`,
//!    then [`SimExchange::advance_to`]`(t)` processes the requests that have arrived by `t`;
//! 2. the answers received by `t` (`ts_recv <= t`) update the strategy's orders and position;
//! 3. the strategy's book takes every record with local time `<= t`.
//!
//! # Feed latency ([`FeedTimeline`])
//! The bundled Binance captures' local clock runs ≈ 1.27 s *behind* the exchange's, so
//! `ts_local - ts_exchange` is negative. [`FeedLatency::default`] would therefore ignore the tape's
//! exchange times and apply every event at its local time (zero feed latency). hftbacktest's
//! converter instead shifts every local timestamp forward by the largest `ts_exchange - ts_local`
//! (`correct_local_timestamp`), so that the smallest feed latency is zero and the others keep their
//! measured jitter; its exchange runs on `ts_exchange`, its strategy on the shifted local time.
//! [`FeedTimeline::TapeShifted`] reproduces that: the strategy's clock (the `ts` of every
//! [`MarketEvent`], boundaries, send times) is `ts_local + shift`, and the exchange uses the tape's
//! exchange time (`FeedLatency { use_tape: true, max_tape_ns: u64::MAX, .. }`, valid since
//! `ts_exchange <= ts_local + shift` by construction). [`FeedTimeline::Constant`] is the other
//! choice SimExchange offers: a constant feed latency, exchange time = local time − latency.

mod account;
pub mod strategy;

use std::collections::{BTreeMap, VecDeque};

use kestrel_engine::event::MarketEvent;
use kestrel_engine::execute::sim::{
    ExchEvent, ExchKind, FeeSchedule, FeedLatency, LatencyModel, QueueModel, RequestKind, SimConfig, SimExchange,
    SimReject,
};
use kestrel_engine::journal::Side;
use kestrel_engine::orders::{Liquidity, OrderKind, OrderRequest, Purpose, StrategyId, TimeInForce};
use kestrel_engine::tape::{RawRecord, Record};
use kestrel_engine::types::{BookSide, InstrumentId, InstrumentSpec, Price, Qty, UnixNanos, format_wide};
use serde::Serialize;

pub use account::Account;
use strategy::{Action, Quoter, QuoterParams};

/// In which order the exchange side consumes the tape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExchangeOrder {
    /// Tape order (local receive time), as the engine feeds [`SimExchange`]: an event whose exchange
    /// time is before the exchange's clock is applied at the clock.
    Tape,
    /// Sorted by exchange time (ties in tape order), as hftbacktest's exchange processes its data.
    ExchangeTime,
}

/// How exchange time and strategy time relate (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedTimeline {
    /// Exchange time from the tape; strategy time `ts_local + shift_ns`. `None`: the shift
    /// hftbacktest's converter would apply, [`default_clock_shift`].
    TapeShifted { shift_ns: Option<u64> },
    /// Exchange time = `ts_local - latency_ns`; strategy time `ts_local`.
    Constant { latency_ns: u64 },
}

/// Everything a cross-check run needs besides the tape.
#[derive(Clone, Debug)]
pub struct Params {
    pub instrument: InstrumentId,
    pub queue: QueueModel,
    pub entry_latency_ns: u64,
    pub response_latency_ns: u64,
    pub step_ns: u64,
    pub max_age_ns: u64,
    pub order_lots: i64,
    pub max_position_lots: i64,
    pub fees: FeeSchedule,
    pub feed: FeedTimeline,
    pub exchange_order: ExchangeOrder,
    /// First boundary, in the tape's (unshifted) local time; `None`: the first record's local time
    /// plus `warmup_ns`, rounded up to a multiple of `step_ns`.
    pub start_ns: Option<u64>,
    pub warmup_ns: u64,
    /// Levels per side of the exchange's book ([`SimConfig::max_levels`]).
    pub max_levels: usize,
    /// Include every order's story in the report.
    pub log_orders: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            instrument: InstrumentId(0),
            queue: QueueModel::RiskAverse,
            entry_latency_ns: 5_000_000,
            response_latency_ns: 5_000_000,
            step_ns: 100_000_000,
            max_age_ns: 5_000_000_000,
            order_lots: 1,
            max_position_lots: 5,
            fees: FeeSchedule::bps(2, 5),
            feed: FeedTimeline::TapeShifted { shift_ns: None },
            exchange_order: ExchangeOrder::Tape,
            start_ns: None,
            warmup_ns: 1_000_000_000,
            max_levels: 10_000,
            log_orders: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimcheckError {
    #[error("the tape has no instrument #{0}")]
    NoInstrument(usize),
    #[error("the tape has no records")]
    EmptyTape,
    #[error("{0}")]
    BadParam(String),
}

/// What happened to one order (with `--orders`).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct OrderLog {
    pub id: u64,
    pub side: &'static str,
    pub px: String,
    /// Strategy (shifted local) time it was sent.
    pub sent_ns: u64,
    /// `filled`, `canceled`, `expired`, `rejected`, or `live` at the end.
    pub outcome: &'static str,
    /// The boundary at which the strategy learned the outcome.
    pub done_ns: Option<u64>,
    /// Exchange time of the (last) fill.
    pub fill_exch_ns: Option<u64>,
    pub fill_px: Option<String>,
    pub liquidity: Option<&'static str>,
}

/// The result of a run, every amount an exact decimal string.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub simulator: &'static str,
    pub symbol: String,
    pub tick: String,
    pub lot: String,
    pub queue: String,
    pub entry_latency_ns: u64,
    pub response_latency_ns: u64,
    pub step_ns: u64,
    pub max_age_ns: u64,
    pub order_qty: String,
    pub max_position: String,
    pub maker_fee_bps: String,
    pub taker_fee_bps: String,
    pub feed: String,
    pub clock_shift_ns: u64,
    pub exchange_order: &'static str,
    /// First and last boundary in the tape's local time (add `clock_shift_ns` for strategy time).
    pub start_local_ns: u64,
    pub end_local_ns: u64,
    pub steps: u64,
    pub orders: u64,
    pub buy_orders: u64,
    pub sell_orders: u64,
    pub cancels_sent: u64,
    pub canceled: u64,
    pub cancels_too_late: u64,
    pub expired: u64,
    pub rejected: u64,
    pub fills: u64,
    pub buy_fills: u64,
    pub sell_fills: u64,
    pub maker_fills: u64,
    pub taker_fills: u64,
    pub filled_qty: String,
    pub fees: String,
    pub final_position: String,
    pub final_bid: String,
    pub final_ask: String,
    pub final_mid: String,
    pub realized_pnl: String,
    pub unrealized_pnl: String,
    /// realized + unrealized − fees.
    pub net_pnl: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order_log: Vec<OrderLog>,
}

/// A queue model from its name, in the grammar of the engine's config (`risk-averse`, `log`,
/// `log2`, `power:N`, `power2:N`, `power3:N`), each named after the hftbacktest model it follows:
/// `risk_adverse_queue_model`, `log_prob_queue_model[2]`, `power_prob_queue_model[2|3](N)`
/// (`power:2` is hftbacktest's `SquareProbQueueModel`).
pub fn parse_queue(s: &str) -> Result<QueueModel, String> {
    QueueModel::parse(s).map_err(|e| format!("queue model {e}"))
}

/// The name of a queue model (what [`parse_queue`] reads back).
pub fn queue_name(q: QueueModel) -> String {
    match q {
        QueueModel::RiskAverse => "risk-averse".into(),
        QueueModel::PowerProb { n } => format!("power:{n}"),
        QueueModel::PowerProb2 { n } => format!("power2:{n}"),
        QueueModel::PowerProb3 { n } => format!("power3:{n}"),
        QueueModel::LogProb => "log".into(),
        QueueModel::LogProb2 => "log2".into(),
    }
}

/// The forward shift of local time that hftbacktest's converter applies
/// (`correct_local_timestamp` with `base_latency = 0`): the largest `ts_exchange - ts_local` over
/// the records it converts (depth, snapshots and trades, not L1 quotes), or 0 when local time is
/// never behind.
pub fn default_clock_shift(records: &[RawRecord]) -> u64 {
    records
        .iter()
        .filter(|r| !matches!(r.view(), Some(Record::Quote(_)) | None))
        .filter(|r| r.header.ts_exchange.is_known())
        .map(|r| r.header.ts_exchange.0.saturating_sub(r.header.ts_local.0))
        .max()
        .unwrap_or(0)
}

/// The strategy's own book, from L2 level records (the exchange keeps its own).
#[derive(Debug, Default)]
struct StrategyBook {
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
}

impl StrategyBook {
    fn apply(&mut self, rec: &RawRecord) {
        match rec.view() {
            Some(Record::Level(l)) => {
                let side = match l.side() {
                    BookSide::Bid => &mut self.bids,
                    BookSide::Ask => &mut self.asks,
                };
                if l.qty.0 > 0 {
                    side.insert(l.px.0, l.qty.0);
                } else {
                    side.remove(&l.px.0);
                }
            }
            Some(Record::Clear(_)) => {
                self.bids.clear();
                self.asks.clear();
            }
            _ => {}
        }
    }

    fn touch(&self) -> Option<(Price, Price)> {
        let bid = self.bids.keys().next_back()?;
        let ask = self.asks.keys().next()?;
        Some((Price(*bid), Price(*ask)))
    }
}

/// Fee rate in thousandths of a bp → bp as a decimal string.
fn bps(millibps: i64) -> String {
    format_wide(i128::from(millibps), 3)
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

/// Replays `records` (one tape, ordered by local time) through a [`SimExchange`] with the scripted
/// strategy, and reports what the strategy knows at the last boundary.
pub fn run(records: &[RawRecord], instruments: &[InstrumentSpec], p: &Params) -> Result<Report, SimcheckError> {
    let inst = p.instrument.index();
    let spec = instruments.get(inst).ok_or(SimcheckError::NoInstrument(inst))?;
    if p.step_ns == 0 {
        return Err(SimcheckError::BadParam("the step must be positive".into()));
    }
    if p.order_lots <= 0 || p.max_position_lots < p.order_lots {
        return Err(SimcheckError::BadParam(format!(
            "order size {} lots and position limit {} lots: the size must be positive and within the limit",
            p.order_lots, p.max_position_lots
        )));
    }
    let (first, last) = match (records.first(), records.last()) {
        (Some(f), Some(l)) => (f.header.ts_local.0, l.header.ts_local.0),
        _ => return Err(SimcheckError::EmptyTape),
    };
    let lot = spec.lot.0.max(1);
    let (ps, qs) = (spec.price_scale, spec.qty_scale);
    let order_qty = Qty(lot * p.order_lots);
    let max_position = Qty(lot * p.max_position_lots);

    let (shift, feed, feed_name) = match p.feed {
        FeedTimeline::TapeShifted { shift_ns } => (
            shift_ns.unwrap_or_else(|| default_clock_shift(records)),
            FeedLatency { use_tape: true, max_tape_ns: u64::MAX, fallback_ns: 0 },
            "tape exchange time, local clock shifted (hftbacktest's correct_local_timestamp)".to_string(),
        ),
        FeedTimeline::Constant { latency_ns } => (
            0,
            FeedLatency { use_tape: false, max_tape_ns: 0, fallback_ns: latency_ns },
            format!("constant {latency_ns} ns (exchange time = local time - latency)"),
        ),
    };
    let cfg = SimConfig {
        max_levels: p.max_levels,
        queue: p.queue,
        feed,
        entry_latency: LatencyModel::Constant(p.entry_latency_ns),
        response_latency: LatencyModel::Constant(p.response_latency_ns),
        default_fees: p.fees,
        ..SimConfig::default()
    };
    let mut ex = SimExchange::new(instruments, &cfg);

    let start = p.start_ns.unwrap_or_else(|| first.saturating_add(p.warmup_ns).div_ceil(p.step_ns) * p.step_ns);
    let steps = if start > last { 0 } else { (last - start) / p.step_ns + 1 };

    // Exchange time of record `i` as the exchange computes it.
    let strategy_ts = |r: &RawRecord| r.header.ts_local.0.saturating_add(shift);
    let exch_ts = |ex: &SimExchange, r: &RawRecord| ex.exchange_time(UnixNanos(strategy_ts(r)), r.header.ts_exchange).0;
    let mut exch_order: Vec<usize> = (0..records.len()).collect();
    if p.exchange_order == ExchangeOrder::ExchangeTime {
        let keys: Vec<u64> = records.iter().map(|r| exch_ts(&ex, r)).collect();
        exch_order.sort_by_key(|&i| (keys[i], i));
    }

    let mut quoter = Quoter::new(QuoterParams { order_qty, max_position, max_age_ns: p.max_age_ns });
    let mut account = Account::default();
    let mut book = StrategyBook::default();
    let mut pending: VecDeque<ExchEvent> = VecDeque::new();
    let mut actions = Vec::new();
    let mut log: Vec<OrderLog> = Vec::new();
    let mut c = Counters::default();
    let (mut ex_i, mut st_i) = (0usize, 0usize);

    for k in 0..steps {
        let now = start + shift + k * p.step_ns;
        // 1. The exchange: every record with exchange time before `now`, then requests due by `now`.
        while let Some(&i) = exch_order.get(ex_i) {
            let rec = &records[i];
            if exch_ts(&ex, rec) >= now {
                break;
            }
            let ev = MarketEvent { seq: i as u64, ts: UnixNanos(strategy_ts(rec)), stamp: 0, record: *rec };
            ex.on_market(&ev, &mut |e| pending.push_back(e));
            ex_i += 1;
        }
        ex.advance_to(UnixNanos(now), &mut |e| pending.push_back(e));
        // 2. Answers received by `now`.
        while pending.front().is_some_and(|e| e.ts_recv.0 <= now) {
            let e = pending.pop_front().expect("checked");
            on_answer(&e, now, &mut quoter, &mut account, &mut log, &mut c, ps);
        }
        // 3. Market data received by `now`.
        while let Some(rec) = records.get(st_i) {
            if strategy_ts(rec) > now {
                break;
            }
            if rec.header.instrument.index() == inst {
                book.apply(rec);
            }
            st_i += 1;
        }
        quoter.on_boundary(now, book.touch(), Qty(account.position), &mut actions);
        for a in actions.drain(..) {
            match a {
                Action::Post { order_id, side, px, qty } => {
                    let req = OrderRequest {
                        order_id,
                        strategy: StrategyId(0),
                        instrument: p.instrument,
                        side,
                        qty,
                        kind: OrderKind::Limit { px },
                        tif: TimeInForce::Gtc,
                        purpose: Purpose::Entry,
                        created: UnixNanos(now),
                    };
                    ex.submit(&req, UnixNanos(now), &mut |e| pending.push_back(e));
                    c.orders += 1;
                    match side {
                        Side::Buy => c.buy_orders += 1,
                        Side::Sell => c.sell_orders += 1,
                    }
                    log.push(OrderLog {
                        id: order_id,
                        side: side_name(side),
                        px: px.at(ps).to_string(),
                        sent_ns: now,
                        outcome: "live",
                        done_ns: None,
                        fill_exch_ns: None,
                        fill_px: None,
                        liquidity: None,
                    });
                }
                Action::Cancel { order_id, .. } => {
                    ex.cancel(order_id, UnixNanos(now), &mut |e| pending.push_back(e));
                    c.cancels_sent += 1;
                }
            }
        }
    }

    let money = ps + qs;
    let (bid, ask) = book.touch().unwrap_or((Price(0), Price(0)));
    let mid2 = bid.0 + ask.0;
    let unrealized_x10 = if book.touch().is_some() { account.unrealized_x10(mid2) } else { 0 };
    let net_x10 = (account.realized - account.fees) * 10 + unrealized_x10;
    Ok(Report {
        simulator: "kestrel",
        symbol: spec.symbol.clone(),
        tick: spec.tick.at(ps).to_string(),
        lot: spec.lot.at(qs).to_string(),
        queue: queue_name(p.queue),
        entry_latency_ns: p.entry_latency_ns,
        response_latency_ns: p.response_latency_ns,
        step_ns: p.step_ns,
        max_age_ns: p.max_age_ns,
        order_qty: order_qty.at(qs).to_string(),
        max_position: max_position.at(qs).to_string(),
        maker_fee_bps: bps(p.fees.maker_millibps),
        taker_fee_bps: bps(p.fees.taker_millibps),
        feed: feed_name,
        clock_shift_ns: shift,
        exchange_order: match p.exchange_order {
            ExchangeOrder::Tape => "tape",
            ExchangeOrder::ExchangeTime => "exchange-time",
        },
        start_local_ns: start,
        end_local_ns: if steps == 0 { start } else { start + (steps - 1) * p.step_ns },
        steps,
        orders: c.orders,
        buy_orders: c.buy_orders,
        sell_orders: c.sell_orders,
        cancels_sent: c.cancels_sent,
        canceled: c.canceled,
        cancels_too_late: c.cancels_too_late,
        expired: c.expired,
        rejected: c.rejected,
        fills: c.fills,
        buy_fills: c.buy_fills,
        sell_fills: c.sell_fills,
        maker_fills: c.maker_fills,
        taker_fills: c.taker_fills,
        filled_qty: Qty(c.filled_qty).at(qs).to_string(),
        fees: format_wide(account.fees, money),
        final_position: Qty(account.position).at(qs).to_string(),
        final_bid: bid.at(ps).to_string(),
        final_ask: ask.at(ps).to_string(),
        final_mid: format_wide(i128::from(mid2) * 5, ps + 1),
        realized_pnl: format_wide(account.realized, money),
        unrealized_pnl: format_wide(unrealized_x10, money + 1),
        net_pnl: format_wide(net_x10, money + 1),
        order_log: if p.log_orders { log } else { Vec::new() },
    })
}

#[derive(Debug, Default)]
struct Counters {
    orders: u64,
    buy_orders: u64,
    sell_orders: u64,
    cancels_sent: u64,
    canceled: u64,
    cancels_too_late: u64,
    expired: u64,
    rejected: u64,
    fills: u64,
    buy_fills: u64,
    sell_fills: u64,
    maker_fills: u64,
    taker_fills: u64,
    filled_qty: i64,
}

/// One answer from the exchange, as the strategy receives it at boundary `now`.
fn on_answer(
    e: &ExchEvent,
    now: u64,
    quoter: &mut Quoter,
    account: &mut Account,
    log: &mut [OrderLog],
    c: &mut Counters,
    price_scale: u8,
) {
    // Order ids are 1, 2, ... in sending order: the log's index is the id - 1.
    let entry = usize::try_from(e.order_id).ok().and_then(|id| id.checked_sub(1)).and_then(|k| log.get_mut(k));
    let mut done = |outcome: &'static str, entry: Option<&mut OrderLog>| {
        quoter.on_done(e.order_id);
        if let Some(o) = entry {
            o.outcome = outcome;
            o.done_ns = Some(now);
        }
    };
    match e.kind {
        ExchKind::Ack { .. } | ExchKind::Modified { .. } => {}
        ExchKind::Fill { px, qty, leaves, liquidity, fee } => {
            account.fill(e.side, px, qty, fee);
            c.fills += 1;
            c.filled_qty += qty.0;
            match e.side {
                Side::Buy => c.buy_fills += 1,
                Side::Sell => c.sell_fills += 1,
            }
            let liq = match liquidity {
                Liquidity::Maker => {
                    c.maker_fills += 1;
                    "maker"
                }
                Liquidity::Taker => {
                    c.taker_fills += 1;
                    "taker"
                }
            };
            let mut entry = entry;
            if let Some(o) = entry.as_deref_mut() {
                o.fill_exch_ns = Some(e.ts_exchange.0);
                o.fill_px = Some(px.at(price_scale).to_string());
                o.liquidity = Some(liq);
            }
            if leaves.0 == 0 {
                done("filled", entry);
            }
        }
        ExchKind::Canceled { .. } => {
            c.canceled += 1;
            done("canceled", entry);
        }
        ExchKind::Expired { .. } => {
            c.expired += 1;
            done("expired", entry);
        }
        ExchKind::Rejected { request: RequestKind::New, .. } => {
            c.rejected += 1;
            done("rejected", entry);
        }
        ExchKind::Rejected { reason, .. } => {
            // A cancel that met an order already filled: the fill came back first.
            if reason == SimReject::TooLate {
                c.cancels_too_late += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests;
