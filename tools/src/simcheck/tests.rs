//! The driver on hand-built tapes: where it quotes, when it cancels, how fills reach the account.

use super::*;
use kestrel_engine::tape::{LevelUpdate, Trade, flags};
use kestrel_engine::types::Aggressor;

const MS: u64 = 1_000_000;
const ID: InstrumentId = InstrumentId(0);

fn spec() -> InstrumentSpec {
    InstrumentSpec {
        symbol: "TEST".into(),
        venue: "SIM".into(),
        price_scale: 1,
        qty_scale: 3,
        tick: Price(1),
        lot: Qty(1),
    }
}

/// A level update at `t_ms` (local = exchange time), closing its batch.
fn level(t_ms: u64, side: BookSide, px: i64, qty: i64) -> RawRecord {
    let t = UnixNanos(t_ms * MS);
    LevelUpdate::new(ID, t, t, side, Price(px), Qty(qty), 1, flags::END_OF_BATCH).into()
}

fn trade(t_ms: u64, px: i64, qty: i64, aggressor: Aggressor) -> RawRecord {
    let t = UnixNanos(t_ms * MS);
    Trade::new(ID, t, t, Price(px), Qty(qty), aggressor, 1).into()
}

fn params() -> Params {
    Params {
        entry_latency_ns: MS,
        response_latency_ns: MS,
        step_ns: 100 * MS,
        max_age_ns: 300 * MS,
        order_lots: 1,
        max_position_lots: 1,
        fees: FeeSchedule::bps(0, 0),
        feed: FeedTimeline::TapeShifted { shift_ns: Some(0) },
        start_ns: Some(100 * MS),
        log_orders: true,
        ..Params::default()
    }
}

#[test]
fn quotes_at_the_touch_cancels_at_max_age_and_requotes_after_the_confirmation() {
    // Bid 100.0 × 5, ask 100.1 × 5; nothing trades; the tape ends at 1 s.
    let tape =
        [level(0, BookSide::Bid, 1000, 5), level(0, BookSide::Ask, 1001, 5), level(1000, BookSide::Ask, 1001, 5)];
    let r = run(&tape, &[spec()], &params()).expect("runs");
    assert_eq!(r.steps, 10, "boundaries at 100, 200, ..., 1000 ms");
    // Posts at 100 ms; cancels at 400 ms (age 300 ms); confirmations back at 402 ms, seen at 500 ms,
    // where both sides are quoted again; the same at 800 / 900 ms.
    let story: Vec<_> = r
        .order_log
        .iter()
        .map(|o| (o.id, o.side, o.px.as_str(), o.sent_ns / MS, o.outcome, o.done_ns.map(|t| t / MS)))
        .collect();
    assert_eq!(
        story,
        [
            (1, "buy", "100.0", 100, "canceled", Some(500)),
            (2, "sell", "100.1", 100, "canceled", Some(500)),
            (3, "buy", "100.0", 500, "canceled", Some(900)),
            (4, "sell", "100.1", 500, "canceled", Some(900)),
            (5, "buy", "100.0", 900, "live", None),
            (6, "sell", "100.1", 900, "live", None),
        ]
    );
    assert_eq!((r.orders, r.cancels_sent, r.canceled, r.fills), (6, 4, 4, 0));
    assert_eq!(r.final_position, "0.000");
}

#[test]
fn a_trade_beyond_the_queue_fills_the_buy_and_the_position_limit_holds() {
    // The buy at 100.0 joins behind 2 lots. A sell print of 2 lots only clears the queue ahead
    // (risk-averse); the next print of 1 lot fills it (maker). Position +1 = the limit, so only
    // the sell side is quoted afterwards; it never fills. Marked at 100.05: +0.05 × 0.001.
    let tape = [
        level(0, BookSide::Bid, 1000, 2),
        level(0, BookSide::Ask, 1001, 5),
        trade(150, 1000, 2, Aggressor::Sell),
        trade(250, 1000, 1, Aggressor::Sell),
        level(251, BookSide::Bid, 1000, 1),
        level(1000, BookSide::Ask, 1001, 5),
    ];
    let mut p = params();
    p.max_age_ns = 10_000 * MS;
    let r = run(&tape, &[spec()], &p).expect("runs");
    let buy = &r.order_log[0];
    assert_eq!((buy.side, buy.outcome, buy.done_ns), ("buy", "filled", Some(300 * MS)));
    assert_eq!(
        (buy.fill_exch_ns, buy.fill_px.as_deref(), buy.liquidity),
        (Some(250 * MS), Some("100.0"), Some("maker"))
    );
    assert_eq!((r.fills, r.maker_fills, r.taker_fills, r.filled_qty.as_str()), (1, 1, 0, "0.001"));
    assert_eq!(r.final_position, "0.001");
    assert_eq!(r.buy_orders, 1, "the limit stops a second buy");
    assert_eq!((r.final_mid.as_str(), r.net_pnl.as_str()), ("100.05", "0.00005"));
    // With the queue 3 lots deep the same prints only bring the order to the front.
    let deeper = [level(0, BookSide::Bid, 1000, 3), tape[1], tape[2], tape[3], tape[4], tape[5]];
    let r = run(&deeper, &[spec()], &p).expect("runs");
    assert_eq!(r.fills, 0);
}

#[test]
fn the_exchange_sees_events_at_exchange_time_and_the_strategy_at_shifted_local_time() {
    // Local time runs 50 ms behind the exchange (like the Binance captures, whose skew is ≈ 1.27 s).
    // The default shift is then 50 ms: the strategy sees the 100.0 bid at local 0 + 50 = 50 ms.
    let skewed = |t_ms: u64, side, px, qty| -> RawRecord {
        LevelUpdate::new(
            ID,
            UnixNanos(t_ms * MS),
            UnixNanos((t_ms + 50) * MS),
            side,
            Price(px),
            Qty(qty),
            1,
            flags::END_OF_BATCH,
        )
        .into()
    };
    let tape =
        [skewed(0, BookSide::Bid, 1000, 5), skewed(0, BookSide::Ask, 1001, 5), skewed(1000, BookSide::Ask, 1001, 5)];
    assert_eq!(default_clock_shift(&tape), 50 * MS);
    let mut p = params();
    p.feed = FeedTimeline::TapeShifted { shift_ns: None };
    let r = run(&tape, &[spec()], &p).expect("runs");
    assert_eq!(r.clock_shift_ns, 50 * MS);
    assert_eq!(r.order_log[0].sent_ns, 150 * MS, "first boundary 100 ms local = 150 ms strategy time");
    assert_eq!(r.order_log[0].px, "100.0");
}

#[test]
fn parses_the_queue_models_in_the_engine_config_grammar() {
    assert_eq!(parse_queue("risk-averse"), Ok(QueueModel::RiskAverse));
    assert_eq!(parse_queue("power:2"), Ok(QueueModel::PowerProb { n: 2.0 }));
    assert_eq!(parse_queue("power:1.5"), Ok(QueueModel::PowerProb { n: 1.5 }));
    assert_eq!(parse_queue("power2:2"), Ok(QueueModel::PowerProb2 { n: 2.0 }));
    assert_eq!(parse_queue("power3:3"), Ok(QueueModel::PowerProb3 { n: 3.0 }));
    assert_eq!(parse_queue("log"), Ok(QueueModel::LogProb));
    assert!(parse_queue("power:-1").is_err());
    assert!(parse_queue("power2").is_err());
    assert!(parse_queue("fifo").is_err());
    for q in ["risk-averse", "power:3", "power2:2", "power3:0.5", "log", "log2"] {
        assert_eq!(queue_name(parse_queue(q).expect("parses")), q);
    }
}
