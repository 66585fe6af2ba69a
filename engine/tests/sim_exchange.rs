//! Scenario tests of the simulated exchange: tape events and requests in, exchange events out.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use kestrel_engine::event::MarketEvent;
use kestrel_engine::execute::sim::{
    ExchEvent, ExchKind, FeeSchedule, FeedLatency, LatencyModel, QueueModel, RequestKind, SimConfig, SimExchange,
    SimReject,
};
use kestrel_engine::journal::Side;
use kestrel_engine::orders::{Liquidity, OrderKind, OrderRequest, Purpose, StrategyId, TimeInForce};
use kestrel_engine::tape::{LevelUpdate, Quote, RawRecord, Trade, flags};
use kestrel_engine::types::{Aggressor, BookSide, InstrumentId, InstrumentSpec, Price, Qty, UnixNanos};
use proptest::prelude::*;

const ID: InstrumentId = InstrumentId(0);

fn spec() -> InstrumentSpec {
    InstrumentSpec {
        symbol: "TEST".into(),
        venue: "SIM".into(),
        price_scale: 2,
        qty_scale: 0,
        tick: Price(1),
        lot: Qty(1),
    }
}

struct Sim {
    ex: SimExchange,
    out: Vec<ExchEvent>,
    seq: u64,
}

impl Sim {
    fn new(cfg: SimConfig) -> Self {
        Sim::with_spec(spec(), cfg)
    }

    fn with_spec(s: InstrumentSpec, cfg: SimConfig) -> Self {
        Sim { ex: SimExchange::new(&[s], &cfg), out: Vec::new(), seq: 0 }
    }

    fn feed(&mut self, record: RawRecord) {
        let ev = MarketEvent { seq: self.seq, ts: record.header.ts_local, stamp: 0, record };
        self.seq += 1;
        let out = &mut self.out;
        self.ex.on_market(&ev, &mut |e| out.push(e));
    }

    fn quote(&mut self, t: u64, bid: (i64, i64), ask: (i64, i64)) {
        let q = Quote::new(ID, UnixNanos(t), UnixNanos(t), (Price(bid.0), Qty(bid.1)), (Price(ask.0), Qty(ask.1)));
        self.feed(q.into());
    }

    fn level(&mut self, t: u64, side: BookSide, px: i64, qty: i64) {
        let l = LevelUpdate::new(ID, UnixNanos(t), UnixNanos(t), side, Price(px), Qty(qty), 1, flags::END_OF_BATCH);
        self.feed(l.into());
    }

    fn trade(&mut self, t: u64, px: i64, qty: i64, aggressor: Aggressor) {
        self.feed(Trade::new(ID, UnixNanos(t), UnixNanos(t), Price(px), Qty(qty), aggressor, 0).into());
    }

    fn submit(&mut self, t: u64, req: OrderRequest) {
        let out = &mut self.out;
        self.ex.submit(&req, UnixNanos(t), &mut |e| out.push(e));
    }

    fn cancel(&mut self, t: u64, id: u64) {
        let out = &mut self.out;
        self.ex.cancel(id, UnixNanos(t), &mut |e| out.push(e));
    }

    fn modify(&mut self, t: u64, id: u64, qty: i64, px: i64) {
        let out = &mut self.out;
        self.ex.modify(id, Qty(qty), Price(px), UnixNanos(t), &mut |e| out.push(e));
    }

    fn advance(&mut self, t: u64) {
        let out = &mut self.out;
        self.ex.advance_to(UnixNanos(t), &mut |e| out.push(e));
    }

    fn take(&mut self) -> Vec<ExchEvent> {
        std::mem::take(&mut self.out)
    }

    fn fills(&self, id: u64) -> Vec<(i64, i64, i64, Liquidity, i64)> {
        self.out
            .iter()
            .filter(|e| e.order_id == id)
            .filter_map(|e| match e.kind {
                ExchKind::Fill { px, qty, leaves, liquidity, fee } => Some((px.0, qty.0, leaves.0, liquidity, fee)),
                _ => None,
            })
            .collect()
    }

    fn queue_ahead(&self, id: u64) -> i64 {
        self.ex.working(ID).find(|w| w.order_id == id).expect("working").queue_ahead
    }
}

fn order(id: u64, side: Side, qty: i64, kind: OrderKind, tif: TimeInForce) -> OrderRequest {
    OrderRequest {
        order_id: id,
        strategy: StrategyId(0),
        instrument: ID,
        side,
        qty: Qty(qty),
        kind,
        tif,
        purpose: Purpose::Entry,
        created: UnixNanos(0),
    }
}

fn market(id: u64, side: Side, qty: i64) -> OrderRequest {
    order(id, side, qty, OrderKind::Market, TimeInForce::Ioc)
}

fn limit(id: u64, side: Side, qty: i64, px: i64) -> OrderRequest {
    order(id, side, qty, OrderKind::Limit { px: Price(px) }, TimeInForce::Gtc)
}

fn kinds(events: &[ExchEvent]) -> Vec<ExchKind> {
    events.iter().map(|e| e.kind).collect()
}

fn l2_book(sim: &mut Sim, t: u64, bids: &[(i64, i64)], asks: &[(i64, i64)]) {
    for &(px, q) in bids {
        sim.level(t, BookSide::Bid, px, q);
    }
    for &(px, q) in asks {
        sim.level(t, BookSide::Ask, px, q);
    }
}

#[test]
fn market_order_walks_several_l2_levels_with_per_level_fills_and_vwap() {
    let mut sim = Sim::new(SimConfig::default());
    l2_book(&mut sim, 10, &[(99, 4)], &[(101, 2), (102, 3), (103, 5)]);
    sim.submit(20, market(1, Side::Buy, 6));
    sim.advance(20);
    let fills = sim.fills(1);
    let per_level: Vec<(i64, i64, i64)> = fills.iter().map(|f| (f.0, f.1, f.2)).collect();
    assert_eq!(per_level, vec![(101, 2, 4), (102, 3, 1), (103, 1, 0)]);
    assert!(fills.iter().all(|f| f.3 == Liquidity::Taker));
    let notional: i64 = fills.iter().map(|f| f.0 * f.1).sum();
    assert_eq!(notional, 202 + 306 + 103, "VWAP = 611 / 6 = 101.83");
    assert!(matches!(sim.out[0].kind, ExchKind::Ack { .. }), "acked before the fills");
    assert!(!sim.out.iter().any(|e| matches!(e.kind, ExchKind::Expired { .. })));
}

#[test]
fn market_order_larger_than_the_book_fills_what_is_there_and_expires_the_rest() {
    let mut sim = Sim::new(SimConfig::default());
    l2_book(&mut sim, 10, &[(100, 2), (99, 1)], &[(101, 1)]);
    sim.submit(20, market(1, Side::Sell, 5));
    sim.advance(20);
    let k = kinds(&sim.out);
    assert!(matches!(k[1], ExchKind::Fill { px: Price(100), qty: Qty(2), leaves: Qty(3), .. }));
    assert!(matches!(k[2], ExchKind::Fill { px: Price(99), qty: Qty(1), leaves: Qty(2), .. }));
    assert_eq!(k[3], ExchKind::Expired { leaves: Qty(2) });
}

#[test]
fn limit_order_fills_only_after_the_queue_ahead_is_consumed_and_partially() {
    let mut sim = Sim::new(SimConfig::default());
    l2_book(&mut sim, 10, &[(100, 5)], &[(101, 5)]);
    sim.submit(20, limit(1, Side::Buy, 2, 100));
    sim.advance(20);
    assert_eq!(kinds(&sim.take()), vec![ExchKind::Ack { px: Price(100), qty: Qty(2) }]);
    assert_eq!(sim.queue_ahead(1), 5);
    // Trades that only eat the queue ahead give nothing.
    sim.trade(30, 100, 3, Aggressor::Sell);
    sim.level(30, BookSide::Bid, 100, 2);
    sim.trade(40, 100, 2, Aggressor::Sell);
    sim.level(40, BookSide::Bid, 100, 0);
    assert!(sim.fills(1).is_empty(), "queue of 5 consumed exactly: no fill yet");
    assert_eq!(sim.queue_ahead(1), 0);
    // A buy-aggressor print at our price is not a sell hitting our bid.
    sim.trade(45, 100, 3, Aggressor::Buy);
    assert!(sim.fills(1).is_empty());
    // The next sell print reaches us: partial fill of 1.
    sim.trade(50, 100, 1, Aggressor::Sell);
    assert_eq!(sim.fills(1), vec![(100, 1, 1, Liquidity::Maker, 0)]);
    sim.take();
    sim.trade(60, 100, 4, Aggressor::Sell);
    assert_eq!(sim.fills(1), vec![(100, 1, 0, Liquidity::Maker, 0)], "capped at the order's leaves");
    assert_eq!(sim.ex.working(ID).count(), 0);
}

#[test]
fn a_trade_through_the_limit_price_fills_the_resting_order_whole_at_its_price() {
    let mut sim = Sim::new(SimConfig::default());
    l2_book(&mut sim, 10, &[(100, 50)], &[(101, 5)]);
    sim.submit(20, limit(1, Side::Buy, 3, 100));
    sim.advance(20);
    sim.trade(30, 99, 1, Aggressor::Sell);
    assert_eq!(sim.fills(1), vec![(100, 3, 0, Liquidity::Maker, 0)]);
}

#[test]
fn the_opposite_best_moving_through_a_resting_order_fills_it() {
    let mut sim = Sim::new(SimConfig::default());
    l2_book(&mut sim, 10, &[(100, 50)], &[(102, 5)]);
    sim.submit(20, limit(1, Side::Buy, 3, 101));
    sim.advance(20);
    assert!(sim.fills(1).is_empty());
    sim.level(30, BookSide::Ask, 101, 4);
    assert_eq!(sim.fills(1), vec![(101, 3, 0, Liquidity::Maker, 0)]);
}

fn latency_cfg(entry: u64) -> SimConfig {
    SimConfig { entry_latency: LatencyModel::Constant(entry), ..SimConfig::default() }
}

#[test]
fn cancel_sent_before_a_fill_but_arriving_after_it_is_too_late_and_the_fill_stands() {
    let mut sim = Sim::new(latency_cfg(1_000));
    l2_book(&mut sim, 10, &[(99, 5)], &[(101, 5)]);
    sim.submit(0, limit(1, Side::Buy, 2, 100)); // inside the spread: nobody ahead
    sim.quote_free_event(1_500);
    assert_eq!(sim.queue_ahead(1), 0);
    sim.cancel(2_000, 1); // arrives at 3_000
    sim.trade(2_500, 100, 5, Aggressor::Sell);
    sim.quote_free_event(3_500);
    let fills = sim.fills(1);
    assert_eq!(fills, vec![(100, 2, 0, Liquidity::Maker, 0)]);
    let last = sim.out.last().unwrap();
    assert_eq!(last.kind, ExchKind::Rejected { reason: SimReject::TooLate, request: RequestKind::Cancel });
    assert_eq!(last.ts_exchange, UnixNanos(3_000));
}

#[test]
fn cancel_arriving_before_the_trade_cancels_and_the_trade_fills_nothing() {
    let mut sim = Sim::new(latency_cfg(1_000));
    l2_book(&mut sim, 10, &[(99, 5)], &[(101, 5)]);
    sim.submit(0, limit(1, Side::Buy, 2, 100));
    sim.quote_free_event(1_500);
    sim.cancel(2_000, 1); // arrives at 3_000
    sim.trade(3_200, 100, 5, Aggressor::Sell);
    assert!(sim.fills(1).is_empty());
    let canceled: Vec<_> = sim.out.iter().filter(|e| matches!(e.kind, ExchKind::Canceled { .. })).collect();
    assert_eq!(canceled.len(), 1);
    assert_eq!(canceled[0].kind, ExchKind::Canceled { leaves: Qty(2) });
    assert_eq!(canceled[0].ts_exchange, UnixNanos(3_000));
}

impl Sim {
    /// A market event that changes nothing the tests look at (a level far from the touch), to let
    /// exchange time pass the way the tape does.
    fn quote_free_event(&mut self, t: u64) {
        self.level(t, BookSide::Bid, 1, 1);
    }
}

#[test]
fn entry_latency_makes_a_market_order_fill_at_the_price_after_the_move() {
    for (latency, expected) in [(0, 101), (1_000, 105)] {
        let mut sim = Sim::new(latency_cfg(latency));
        sim.quote(10, (100, 5), (101, 5));
        sim.submit(100, market(1, Side::Buy, 1));
        sim.quote(500, (104, 5), (105, 5));
        sim.quote(1_500, (104, 5), (105, 5));
        let fills = sim.fills(1);
        assert_eq!(fills.len(), 1);
        assert_eq!(fills[0].0, expected, "entry latency {latency}");
    }
}

#[test]
fn response_latency_stamps_when_the_engine_hears_of_it() {
    let cfg = SimConfig {
        entry_latency: LatencyModel::Constant(100),
        response_latency: LatencyModel::Constant(250),
        ..SimConfig::default()
    };
    let mut sim = Sim::new(cfg);
    sim.quote(10, (100, 5), (101, 5));
    sim.submit(1_000, market(1, Side::Buy, 1));
    sim.advance(2_000);
    for e in &sim.out {
        assert_eq!(e.ts_exchange, UnixNanos(1_100));
        assert_eq!(e.ts_recv, UnixNanos(1_350));
    }
}

#[test]
fn feed_latency_from_the_tape_applies_market_data_at_exchange_time() {
    // The quote reached us at 1_000 but the exchange stamped it 900: an order arriving at 950 sees it.
    let cfg = latency_cfg(50);
    let mut sim = Sim::new(cfg);
    sim.quote(10, (100, 5), (101, 5));
    sim.submit(900, market(1, Side::Buy, 1));
    let q = Quote::new(ID, UnixNanos(1_000), UnixNanos(900), (Price(104), Qty(5)), (Price(105), Qty(5)));
    sim.feed(q.into());
    sim.advance(1_000);
    assert_eq!(sim.fills(1)[0].0, 105);
    // Without the tape's exchange time (fallback 0), the same quote applies at 1_000: the order fills before it.
    let cfg = SimConfig { feed: FeedLatency { use_tape: false, ..FeedLatency::default() }, ..latency_cfg(50) };
    let mut sim = Sim::new(cfg);
    sim.quote(10, (100, 5), (101, 5));
    sim.submit(900, market(1, Side::Buy, 1));
    sim.feed(q.into());
    assert_eq!(sim.fills(1)[0].0, 101);
}

/// One stream: we join a bid of 10, 10 more join behind us, then 8 are cancelled, then sells trade.
fn queue_stream(model: QueueModel) -> Vec<u64> {
    let mut sim = Sim::new(SimConfig { queue: model, ..SimConfig::default() });
    l2_book(&mut sim, 10, &[(100, 10)], &[(101, 10)]);
    sim.submit(20, limit(1, Side::Buy, 1, 100));
    sim.advance(20);
    sim.level(30, BookSide::Bid, 100, 20);
    sim.level(40, BookSide::Bid, 100, 12);
    for t in 0..10 {
        sim.trade(100 + t, 100, 1, Aggressor::Sell);
    }
    sim.out.iter().filter(|e| matches!(e.kind, ExchKind::Fill { .. })).map(|e| e.ts_exchange.0).collect()
}

#[test]
fn risk_averse_queue_fills_later_than_the_probability_models_on_the_same_stream() {
    let risk_averse = queue_stream(QueueModel::RiskAverse);
    // Only trades advance it: 10 ahead, the 11th print reaches us... which never comes.
    assert!(risk_averse.is_empty(), "{risk_averse:?}");
    let linear = queue_stream(QueueModel::PowerProb { n: 1.0 });
    let square = queue_stream(QueueModel::PowerProb { n: 2.0 });
    let log = queue_stream(QueueModel::LogProb);
    // Identity: p(behind) = 10/20; 4 of the 8 cancels were ahead → 6 ahead → filled by the 7th print.
    assert_eq!(linear, vec![106]);
    // Square: p = 100/200 = 0.5 as well (front = back).
    assert_eq!(square, vec![106]);
    assert_eq!(log, vec![106]);
    // With more behind than ahead, the power models disagree: n=2 credits fewer cancels to the front.
    let stream = |model| {
        let mut sim = Sim::new(SimConfig { queue: model, ..SimConfig::default() });
        l2_book(&mut sim, 10, &[(100, 4)], &[(101, 10)]);
        sim.submit(20, limit(1, Side::Buy, 1, 100));
        sim.advance(20);
        sim.level(30, BookSide::Bid, 100, 16); // 12 behind us
        sim.level(40, BookSide::Bid, 100, 8); // 8 cancelled
        sim.queue_ahead(1)
    };
    assert_eq!(stream(QueueModel::RiskAverse), 4);
    // Identity: p = 12/16 → 2 ahead → 2 left; square: p = 144/160 → 0.8 ahead → 3 (rounded) left.
    assert_eq!(stream(QueueModel::PowerProb { n: 1.0 }), 2);
    assert_eq!(stream(QueueModel::PowerProb { n: 2.0 }), 3);
    assert!(stream(QueueModel::LogProb) <= 4);
}

/// A bid of `ahead` with our buy behind it, `behind` joins after us, then the level falls to `after`:
/// the queue ahead of us, in quantity units.
fn ahead_after_cancels(model: QueueModel, qty_scale: u8, ahead: i64, behind: i64, after: i64) -> i64 {
    let mut sim =
        Sim::with_spec(InstrumentSpec { qty_scale, ..spec() }, SimConfig { queue: model, ..SimConfig::default() });
    l2_book(&mut sim, 10, &[(100, ahead)], &[(101, ahead)]);
    sim.submit(20, limit(1, Side::Buy, 1, 100));
    sim.advance(20);
    sim.level(30, BookSide::Bid, 100, ahead + behind);
    sim.level(40, BookSide::Bid, 100, after);
    sim.queue_ahead(1)
}

#[test]
fn log_queue_models_take_the_probability_on_base_units_whatever_the_quantity_scale() {
    // 1.757 BTC ahead, 1.475 behind, the level falls to 1.699 (1.533 cancelled), as hftbacktest sees
    // it in BTC. log: p = ln 2.475 / (ln 2.475 + ln 2.757) = 0.4719 → 1.757 - 0.5281 × 1.533 = 0.947
    // ahead; log2: p = ln 2.475 / ln 4.232 = 0.6285 → 1.757 - 0.3715 × 1.533 = 1.187. On the raw
    // units (ln 1476 / ...) it would be 0.981 and 1.608.
    assert_eq!(ahead_after_cancels(QueueModel::LogProb, 3, 1_757, 1_475, 1_699), 947);
    assert_eq!(ahead_after_cancels(QueueModel::LogProb2, 3, 1_757, 1_475, 1_699), 1_187);
    // The same market in 10^-6 BTC: the same estimate.
    assert_eq!(ahead_after_cancels(QueueModel::LogProb, 6, 1_757_000, 1_475_000, 1_699_000), 947_432);
    assert_eq!(ahead_after_cancels(QueueModel::LogProb2, 6, 1_757_000, 1_475_000, 1_699_000), 1_186_980);
    // The power models are scale-invariant: identity p = 1475 / 3232 → 1.757 - 0.5436 × 1.533 = 0.924.
    assert_eq!(ahead_after_cancels(QueueModel::PowerProb { n: 1.0 }, 3, 1_757, 1_475, 1_699), 924);
    assert_eq!(ahead_after_cancels(QueueModel::PowerProb { n: 1.0 }, 0, 1_757, 1_475, 1_699), 924);
}

#[test]
fn a_depth_update_repeating_the_size_after_a_print_forgets_the_print() {
    // 10 ahead of our bid, 10 behind; a print of 2 (8 ahead); the book refills to 20.
    let run = |repeat_at_our_price: bool| {
        let mut sim = Sim::new(SimConfig { queue: QueueModel::PowerProb { n: 1.0 }, ..SimConfig::default() });
        l2_book(&mut sim, 10, &[(100, 10), (99, 5)], &[(101, 10)]);
        sim.submit(20, limit(1, Side::Buy, 1, 100));
        sim.advance(20);
        sim.level(30, BookSide::Bid, 100, 20);
        sim.trade(40, 100, 2, Aggressor::Sell);
        assert_eq!(sim.queue_ahead(1), 8);
        if repeat_at_our_price {
            // A diff that reports our level at 20 again: the print is in that size already.
            sim.level(50, BookSide::Bid, 100, 20);
        } else {
            // A diff elsewhere says nothing about our level: the print still explains 2 of the next decrease.
            sim.level(50, BookSide::Bid, 99, 6);
        }
        sim.level(60, BookSide::Bid, 100, 10);
        let ahead = sim.queue_ahead(1);
        for t in 0..6 {
            sim.trade(100 + t, 100, 1, Aggressor::Sell);
        }
        let fills: Vec<u64> =
            sim.out.iter().filter(|e| matches!(e.kind, ExchKind::Fill { .. })).map(|e| e.ts_exchange.0).collect();
        (ahead, fills)
    };
    // Repeated at our price: all 10 of the decrease are cancels; p(behind) = 12 / 20 → 4 ahead of the
    // 8: 4 left, and the 5th print of 1 fills us (hftbacktest resets its cumulative trades on every
    // depth row at the order's price).
    assert_eq!(run(true), (4, vec![104]));
    // Not repeated: 10 - 2 = 8 cancels, 3.2 ahead of us → 5 left (4.8), the 6th print fills.
    assert_eq!(run(false), (5, vec![105]));
}

#[test]
fn post_only_that_would_cross_is_rejected_and_one_that_would_not_rests() {
    let mut sim = Sim::new(SimConfig::default());
    sim.quote(10, (100, 5), (101, 5));
    sim.submit(20, order(1, Side::Buy, 1, OrderKind::Limit { px: Price(101) }, TimeInForce::PostOnly));
    sim.submit(20, order(2, Side::Buy, 1, OrderKind::Limit { px: Price(100) }, TimeInForce::PostOnly));
    sim.advance(20);
    let k = kinds(&sim.out);
    assert_eq!(k[0], ExchKind::Rejected { reason: SimReject::PostOnlyWouldCross, request: RequestKind::New });
    assert_eq!(k[1], ExchKind::Ack { px: Price(100), qty: Qty(1) });
    assert_eq!(sim.ex.working(ID).count(), 1);
}

#[test]
fn ioc_limit_takes_up_to_its_price_and_expires_the_rest() {
    let mut sim = Sim::new(SimConfig::default());
    l2_book(&mut sim, 10, &[(99, 5)], &[(101, 2), (102, 3), (103, 5)]);
    sim.submit(20, order(1, Side::Buy, 10, OrderKind::Limit { px: Price(102) }, TimeInForce::Ioc));
    sim.advance(20);
    let per_level: Vec<(i64, i64)> = sim.fills(1).iter().map(|f| (f.0, f.1)).collect();
    assert_eq!(per_level, vec![(101, 2), (102, 3)]);
    assert_eq!(sim.out.last().unwrap().kind, ExchKind::Expired { leaves: Qty(5) });
    assert_eq!(sim.ex.working(ID).count(), 0);
}

#[test]
fn marketable_gtc_limit_takes_then_rests_the_rest_without_refilling_from_the_same_book() {
    let mut sim = Sim::new(SimConfig::default());
    l2_book(&mut sim, 10, &[(99, 5)], &[(101, 2)]);
    sim.submit(20, limit(1, Side::Buy, 5, 101));
    sim.advance(20);
    assert_eq!(sim.fills(1), vec![(101, 2, 3, Liquidity::Taker, 0)]);
    sim.level(30, BookSide::Bid, 99, 6); // an unrelated update: the unchanged ask must not refill us
    assert_eq!(sim.fills(1).len(), 1);
    let w = sim.ex.working(ID).next().unwrap();
    assert_eq!((w.filled, w.qty), (Qty(2), Qty(5)));
}

#[test]
fn modify_down_keeps_priority_and_modify_up_or_reprice_loses_it() {
    let mut sim = Sim::new(SimConfig::default());
    l2_book(&mut sim, 10, &[(100, 5), (99, 7)], &[(101, 5)]);
    sim.submit(20, limit(1, Side::Buy, 4, 100));
    sim.advance(20);
    sim.level(30, BookSide::Bid, 100, 9); // 4 join behind
    sim.trade(40, 100, 3, Aggressor::Sell);
    sim.level(40, BookSide::Bid, 100, 6);
    assert_eq!(sim.queue_ahead(1), 2);
    sim.modify(50, 1, 3, 100);
    sim.advance(50);
    assert_eq!(sim.queue_ahead(1), 2, "a size decrease keeps the place");
    assert_eq!(sim.out.last().unwrap().kind, ExchKind::Modified { px: Price(100), qty: Qty(3), leaves: Qty(3) });
    sim.modify(60, 1, 5, 100);
    sim.advance(60);
    assert_eq!(sim.queue_ahead(1), 6, "a size increase goes to the back");
    sim.modify(70, 1, 5, 99);
    sim.advance(70);
    assert_eq!(sim.queue_ahead(1), 7, "a new price goes to the back of that level");
    // A post-only style failure: modify of an unknown order.
    sim.modify(80, 42, 1, 99);
    sim.advance(80);
    assert_eq!(
        sim.out.last().unwrap().kind,
        ExchKind::Rejected { reason: SimReject::UnknownOrder, request: RequestKind::Modify }
    );
}

#[test]
fn fees_and_rebates_are_exact_in_fixed_point() {
    // BTCUSDT-like: price scale 2, qty scale 3; 61659.70 × 0.003 = 184.97910 → 18_497_910 units of 1e-5.
    let s = InstrumentSpec { price_scale: 2, qty_scale: 3, tick: Price(10), lot: Qty(1), ..spec() };
    let fees = FeeSchedule { maker_millibps: -1_000, taker_millibps: 5_000 };
    let cfg = SimConfig { fees: vec![(ID, fees)], ..SimConfig::default() };
    let mut sim = Sim::with_spec(s, cfg);
    sim.quote(10, (6_165_960, 5), (6_165_970, 5));
    sim.submit(20, market(1, Side::Buy, 3));
    sim.submit(20, limit(2, Side::Buy, 3, 6_165_960));
    sim.advance(20);
    // Taker 5 bp of 18_497_910 = 9_248.955 → charged rounded up: 9_249.
    assert_eq!(sim.fills(1), vec![(6_165_970, 3, 0, Liquidity::Taker, 9_249)]);
    // The bid of 5 is ahead of us; 8 sell through it: 3 reach us. Maker −1 bp of 18_497_880 =
    // −1_849.788 → rebate rounded towards zero: −1_849.
    sim.trade(30, 6_165_960, 8, Aggressor::Sell);
    assert_eq!(sim.fills(2), vec![(6_165_960, 3, 0, Liquidity::Maker, -1_849)]);
}

#[test]
fn l1_only_market_order_beyond_the_touch_uses_virtual_levels_one_tick_worse() {
    let mut sim = Sim::new(SimConfig { l1_extra_levels: 2, ..SimConfig::default() });
    sim.quote(10, (100, 2), (101, 2));
    sim.submit(20, market(1, Side::Buy, 7));
    sim.advance(20);
    let per_level: Vec<(i64, i64)> = sim.fills(1).iter().map(|f| (f.0, f.1)).collect();
    assert_eq!(per_level, vec![(101, 2), (102, 2), (103, 2)]);
    assert_eq!(sim.out.last().unwrap().kind, ExchKind::Expired { leaves: Qty(1) });

    let mut sim = Sim::new(SimConfig::default()); // no virtual levels: the touch only
    sim.quote(10, (100, 2), (101, 2));
    sim.submit(20, market(1, Side::Sell, 7));
    sim.advance(20);
    let per_level: Vec<(i64, i64)> = sim.fills(1).iter().map(|f| (f.0, f.1)).collect();
    assert_eq!(per_level, vec![(100, 2)]);
    assert_eq!(sim.out.last().unwrap().kind, ExchKind::Expired { leaves: Qty(5) });
}

#[test]
fn l1_only_resting_order_behind_the_touch_joins_the_queue_when_the_touch_reaches_it() {
    let mut sim = Sim::new(SimConfig::default());
    sim.quote(10, (100, 5), (101, 5));
    sim.submit(20, limit(1, Side::Buy, 1, 99));
    sim.advance(20);
    assert_eq!(sim.queue_ahead(1), i64::MAX, "size at 99 unknown on an L1 tape");
    sim.quote(30, (99, 8), (100, 3));
    assert_eq!(sim.queue_ahead(1), 8);
}

fn empirical_run(seed: u64) -> Vec<ExchEvent> {
    let cfg = SimConfig {
        entry_latency: LatencyModel::empirical(&[50, 120, 300, 80, 1_000]),
        response_latency: LatencyModel::empirical(&[10, 20, 40, 400]),
        seed,
        ..SimConfig::default()
    };
    let mut sim = Sim::new(cfg);
    sim.quote(10, (100, 50), (101, 50));
    for i in 0..20 {
        sim.submit(100 + i * 10, market(i, Side::Buy, 1));
    }
    sim.advance(10_000);
    sim.out
}

#[test]
fn empirical_latency_is_deterministic_for_a_seed_and_keeps_order() {
    let a = empirical_run(7);
    assert_eq!(a, empirical_run(7));
    assert_ne!(a, empirical_run(8));
    for w in a.windows(2) {
        assert!(w[0].ts_exchange <= w[1].ts_exchange && w[0].ts_recv <= w[1].ts_recv);
    }
    for e in &a {
        let sent = 100 + e.order_id * 10;
        assert!((sent + 50..=sent + 1_000).contains(&e.ts_exchange.0) || e.ts_exchange.0 > sent + 1_000);
        assert!(e.ts_recv.0 >= e.ts_exchange.0 + 10);
    }
}

#[test]
fn requests_are_rejected_for_each_documented_reason() {
    let cfg = SimConfig { max_orders: 1, ..SimConfig::default() };
    let s = InstrumentSpec { tick: Price(5), lot: Qty(2), ..spec() };
    let mut sim = Sim::with_spec(s, cfg);
    let mut unknown = market(1, Side::Buy, 2);
    unknown.instrument = InstrumentId(3);
    sim.submit(0, unknown);
    sim.submit(0, market(2, Side::Buy, 2)); // no book yet
    sim.advance(0);
    sim.quote(10, (100, 10), (105, 10));
    sim.submit(20, market(3, Side::Buy, 3)); // not a lot multiple
    sim.submit(20, market(4, Side::Buy, 0));
    sim.submit(20, limit(5, Side::Buy, 2, 101)); // off tick
    sim.submit(20, limit(6, Side::Buy, 2, 95));
    sim.submit(20, limit(6, Side::Buy, 2, 90)); // duplicate id
    sim.submit(20, limit(7, Side::Buy, 2, 90)); // too many working orders
    sim.cancel(20, 99);
    sim.advance(20);
    let reasons: Vec<_> = sim
        .out
        .iter()
        .filter_map(|e| match e.kind {
            ExchKind::Rejected { reason, .. } => Some((e.order_id, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            (1, SimReject::UnknownInstrument),
            (2, SimReject::NoLiquidity),
            (3, SimReject::InvalidQty),
            (4, SimReject::InvalidQty),
            (5, SimReject::InvalidPrice),
            (6, SimReject::DuplicateOrderId),
            (7, SimReject::TooManyOrders),
            (99, SimReject::UnknownOrder),
        ]
    );
    assert_eq!(SimReject::NoLiquidity.journal_reason().as_str(), "no_liquidity");
    assert_eq!(SimReject::TooLate.journal_reason().as_str(), "too_late");
}

#[test]
fn requests_beyond_the_in_flight_capacity_are_refused_at_once() {
    let cfg = SimConfig { max_inflight: 2, entry_latency: LatencyModel::Constant(1_000), ..SimConfig::default() };
    let mut sim = Sim::new(cfg);
    for id in 0..3 {
        sim.submit(0, market(id, Side::Buy, 1));
    }
    assert_eq!(sim.ex.in_flight(), 2);
    assert_eq!(
        sim.take().iter().map(|e| (e.order_id, e.kind, e.ts_recv.0)).collect::<Vec<_>>(),
        vec![(2, ExchKind::Rejected { reason: SimReject::TooManyOrders, request: RequestKind::New }, 0)]
    );
}

#[derive(Clone, Debug)]
enum Op {
    Level(bool, i64, i64),
    Trade(i64, i64, u8),
    Limit(bool, i64, i64, u8),
    Market(bool, i64),
    Cancel(u64),
    Modify(u64, i64, i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<bool>(), 95i64..106, 0i64..20).prop_map(|(b, p, q)| Op::Level(b, p, q)),
        3 => (95i64..106, 1i64..15, 0u8..3).prop_map(|(p, q, a)| Op::Trade(p, q, a)),
        2 => (any::<bool>(), 95i64..106, 1i64..10, 0u8..3).prop_map(|(b, p, q, t)| Op::Limit(b, p, q, t)),
        1 => (any::<bool>(), 1i64..30).prop_map(|(b, q)| Op::Market(b, q)),
        1 => (0u64..40).prop_map(Op::Cancel),
        1 => (0u64..40, 1i64..12, 95i64..106).prop_map(|(i, q, p)| Op::Modify(i, q, p)),
    ]
}

proptest! {
    #[test]
    fn fills_never_exceed_the_order_leaves_only_fall_and_no_fill_is_worse_than_the_limit(
        ops in prop::collection::vec(op(), 1..120),
        l1 in any::<bool>(),
        latency in 0u64..30,
        model in 0u8..3,
    ) {
        let queue = [QueueModel::RiskAverse, QueueModel::PowerProb { n: 2.0 }, QueueModel::LogProb][model as usize];
        let cfg = SimConfig { queue, entry_latency: LatencyModel::Constant(latency), l1_extra_levels: 3, ..SimConfig::default() };
        let mut sim = Sim::new(cfg);
        // Per order: (side, qty, limit (None for market), filled, last leaves).
        let mut book: std::collections::HashMap<u64, (Side, i64, Option<i64>, i64, i64)> = Default::default();
        let mut next_id = 0u64;
        for (step, op) in ops.into_iter().enumerate() {
            let t = step as u64 * 10 + 10;
            match op {
                Op::Level(bid, px, q) => {
                    if l1 {
                        sim.quote(t, (px.min(100), q.max(1)), (px.max(101), q.max(1)));
                    } else {
                        let side = if bid { BookSide::Bid } else { BookSide::Ask };
                        sim.level(t, side, px, q);
                    }
                }
                Op::Trade(px, q, a) => {
                    let a = [Aggressor::Unknown, Aggressor::Buy, Aggressor::Sell][a as usize];
                    sim.trade(t, px, q, a);
                }
                Op::Limit(buy, px, q, tif) => {
                    let side = if buy { Side::Buy } else { Side::Sell };
                    let tif = [TimeInForce::Gtc, TimeInForce::Ioc, TimeInForce::PostOnly][tif as usize];
                    book.insert(next_id, (side, q, Some(px), 0, q));
                    sim.submit(t, order(next_id, side, q, OrderKind::Limit { px: Price(px) }, tif));
                    next_id += 1;
                }
                Op::Market(buy, q) => {
                    let side = if buy { Side::Buy } else { Side::Sell };
                    book.insert(next_id, (side, q, None, 0, q));
                    sim.submit(t, market(next_id, side, q));
                    next_id += 1;
                }
                Op::Cancel(id) => sim.cancel(t, id),
                Op::Modify(id, q, px) => sim.modify(t, id, q, px),
            }
            for e in sim.take() {
                let Some(o) = book.get_mut(&e.order_id) else { continue };
                match e.kind {
                    ExchKind::Modified { px, qty, leaves } => {
                        // Only a modify may raise leaves (a size increase); it keeps what is filled.
                        prop_assert!(qty.0 > o.3);
                        o.1 = qty.0;
                        o.2 = Some(px.0);
                        o.4 = leaves.0;
                        prop_assert_eq!(o.1 - o.3, o.4);
                    }
                    ExchKind::Fill { px, qty, leaves, .. } => {
                        prop_assert!(qty.0 > 0);
                        o.3 += qty.0;
                        prop_assert!(o.3 <= o.1, "filled {} of {}", o.3, o.1);
                        prop_assert!(leaves.0 < o.4, "leaves must fall");
                        prop_assert_eq!(leaves.0, o.1 - o.3);
                        o.4 = leaves.0;
                        if let Some(limit) = o.2 {
                            match o.0 {
                                Side::Buy => prop_assert!(px.0 <= limit, "buy at {} above {}", px.0, limit),
                                Side::Sell => prop_assert!(px.0 >= limit, "sell at {} below {}", px.0, limit),
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

mod no_alloc {
    //! The exchange runs on the hot path in paper mode: after construction, no event, order,
    //! cancel or modify may allocate (DESIGN.md §2.1). A counting allocator watches this thread.
    use super::*;
    use crate::counting_alloc::allocations;

    #[test]
    fn events_orders_cancels_and_modifies_do_not_allocate_after_construction() {
        let cfg = SimConfig {
            max_orders: 16,
            max_inflight: 64,
            max_levels: 32,
            queue: QueueModel::LogProb,
            entry_latency: LatencyModel::empirical(&[5, 10, 40]),
            response_latency: LatencyModel::empirical(&[1, 3, 9]),
            ..SimConfig::default()
        };
        let mut ex = SimExchange::new(&[spec()], &cfg);
        let mut seen = 0u64;
        let mut out = |_: ExchEvent| seen += 1;
        let before = allocations();
        for round in 0..2_000u64 {
            let id = round;
            let t = 100 + round * 20;
            let px = 100 + (round % 7) as i64;
            let rec: RawRecord = match round % 4 {
                0 => LevelUpdate::new(
                    ID,
                    UnixNanos(t),
                    UnixNanos(t),
                    BookSide::Bid,
                    Price(px - 3),
                    Qty(5),
                    1,
                    flags::END_OF_BATCH,
                )
                .into(),
                1 => LevelUpdate::new(
                    ID,
                    UnixNanos(t),
                    UnixNanos(t),
                    BookSide::Ask,
                    Price(px + 3),
                    Qty(5),
                    1,
                    flags::END_OF_BATCH,
                )
                .into(),
                2 => Trade::new(ID, UnixNanos(t), UnixNanos(t), Price(px - 3), Qty(4), Aggressor::Sell, 0).into(),
                _ => {
                    Quote::new(ID, UnixNanos(t), UnixNanos(t), (Price(px - 3), Qty(5)), (Price(px + 3), Qty(5))).into()
                }
            };
            ex.on_market(&MarketEvent { seq: round, ts: UnixNanos(t), stamp: 0, record: rec }, &mut out);
            let req = if round % 3 == 0 { market(id, Side::Buy, 2) } else { limit(id, Side::Buy, 2, px - 3) };
            ex.submit(&req, UnixNanos(t), &mut out);
            if round % 5 == 0 && id > 3 {
                ex.cancel(id - 3, UnixNanos(t), &mut out);
            }
            if round % 7 == 0 && id > 2 {
                ex.modify(id - 2, Qty(1), Price(px - 4), UnixNanos(t), &mut out);
            }
        }
        ex.advance_to(UnixNanos(u64::MAX / 2), &mut out);
        assert_eq!(allocations() - before, 0);
        assert!(seen > 2_000);
    }
}
