//! The pre-trade risk gate, limit by limit and state by state.
//!
//! Every limit is shown blocking exactly at its boundary: the limit itself passes, one unit past it
//! is refused with its own reason. The rate limiter runs in tape time (burst, refill, deterministic),
//! the daily loss limit halts the engine until the next trading day, REDUCING lets only reducing
//! orders through (a flip through zero is refused), HALTED stops new entries while exits still work,
//! and the kill switch stops everything. `check` is also shown not to allocate.

use kestrel_engine::journal::Side;
use kestrel_engine::orders::{OrderKind, OrderRequest, Purpose, StrategyId, TimeInForce};
use kestrel_engine::risk::{
    GlobalLimits, NANOS_PER_DAY, RiskConfig, RiskConfigError, RiskContext, RiskGate, RiskLimits, RiskReject,
    TradingState,
};
use kestrel_engine::types::{InstrumentId, Price, Qty, UnixNanos};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

/// 2024-08-08 00:00:00 UTC.
const MIDNIGHT: u64 = 1_723_075_200_000_000_000;
const HOUR: u64 = 3_600_000_000_000;
const SECOND: u64 = 1_000_000_000;
/// 2024-08-08 12:00 UTC: where most tests trade.
const NOON: u64 = MIDNIGHT + 12 * HOUR;

/// BTCUSDT-like: price_scale 2, qty_scale 3. Generous limits; each test tightens the one it checks.
fn limits() -> RiskLimits {
    RiskLimits {
        max_position: Qty(1_000),                  // 1.000 BTC
        max_order_qty: Qty(1_000),                 // 1.000 BTC
        max_order_notional: 1_000_000_000_000_000, // effectively unlimited
        price_collar_bps: 10_000,                  // ±100 %
    }
}

fn global() -> GlobalLimits {
    GlobalLimits { max_orders_per_second: 1_000_000, daily_loss_limit: 1_000_000, day_start_offset_ns: 0 }
}

fn gate_with(limits: RiskLimits, global: GlobalLimits) -> RiskGate {
    RiskGate::new(RiskConfig { instruments: vec![limits], global }).unwrap()
}

fn gate() -> RiskGate {
    gate_with(limits(), global())
}

/// Flat, nothing working, 60000.00 / 60000.10, no PnL, at noon.
fn ctx() -> RiskContext {
    RiskContext {
        now: UnixNanos(NOON),
        position: Qty(0),
        open_buy: Qty(0),
        open_sell: Qty(0),
        bid: Price(6_000_000),
        ask: Price(6_000_010),
        pnl_today: 0,
    }
}

fn order(side: Side, qty: i64, kind: OrderKind, purpose: Purpose) -> OrderRequest {
    OrderRequest {
        order_id: 7,
        strategy: StrategyId(0),
        instrument: InstrumentId(0),
        side,
        qty: Qty(qty),
        kind,
        tif: TimeInForce::Gtc,
        purpose,
        created: UnixNanos(NOON),
    }
}

fn entry(side: Side, qty: i64) -> OrderRequest {
    order(side, qty, OrderKind::Market, Purpose::Entry)
}

fn exit(side: Side, qty: i64) -> OrderRequest {
    order(side, qty, OrderKind::Market, Purpose::StopLoss)
}

fn limit(side: Side, qty: i64, px: i64) -> OrderRequest {
    order(side, qty, OrderKind::Limit { px: Price(px) }, Purpose::Entry)
}

/// The gate's answer reduced to what the tests compare.
fn verdict(gate: &mut RiskGate, req: OrderRequest, ctx: &RiskContext) -> Result<(), RiskReject> {
    gate.check(req, ctx).map(|approved| assert_eq!(approved.into_inner(), req))
}

#[test]
fn max_order_qty_blocks_one_lot_past_the_limit() {
    let mut g = gate_with(RiskLimits { max_order_qty: Qty(250), ..limits() }, global());
    assert_eq!(verdict(&mut g, entry(Side::Buy, 249), &ctx()), Ok(()));
    assert_eq!(verdict(&mut g, entry(Side::Buy, 250), &ctx()), Ok(()));
    assert_eq!(verdict(&mut g, entry(Side::Buy, 251), &ctx()), Err(RiskReject::OrderQty));
    assert_eq!(verdict(&mut g, entry(Side::Sell, 251), &ctx()), Err(RiskReject::OrderQty));
}

#[test]
fn max_order_notional_blocks_one_unit_past_the_limit_at_the_limit_price() {
    // 100 lots at 60000.00: 600_000_000 units of 10^-5 USDT (6,000.00 USDT).
    let mut g = gate_with(RiskLimits { max_order_notional: 600_000_000, ..limits() }, global());
    assert_eq!(verdict(&mut g, limit(Side::Buy, 100, 6_000_000), &ctx()), Ok(()));
    assert_eq!(verdict(&mut g, limit(Side::Buy, 100, 6_000_001), &ctx()), Err(RiskReject::OrderNotional));
    assert_eq!(verdict(&mut g, limit(Side::Buy, 101, 5_940_594), &ctx()), Ok(())); // 599_999_994
    assert_eq!(verdict(&mut g, limit(Side::Buy, 101, 5_940_595), &ctx()), Err(RiskReject::OrderNotional));
}

#[test]
fn a_market_order_is_valued_at_the_touch_it_would_take() {
    let mut g = gate_with(RiskLimits { max_order_notional: 600_000_000, ..limits() }, global());
    // Sell 100 takes the bid, 60000.00: exactly the limit. Buy 100 takes the ask, 60000.10: over.
    assert_eq!(verdict(&mut g, entry(Side::Sell, 100), &ctx()), Ok(()));
    assert_eq!(verdict(&mut g, entry(Side::Buy, 100), &ctx()), Err(RiskReject::OrderNotional));
}

#[test]
fn price_collar_blocks_one_tick_outside_the_band_on_either_side() {
    // Mid 10000.00, 10 bps = 10.00 either side.
    let mut g = gate_with(RiskLimits { price_collar_bps: 10, ..limits() }, global());
    let c = RiskContext { bid: Price(999_990), ask: Price(1_000_010), ..ctx() };
    assert_eq!(verdict(&mut g, limit(Side::Buy, 1, 1_001_000), &c), Ok(()));
    assert_eq!(verdict(&mut g, limit(Side::Buy, 1, 1_001_001), &c), Err(RiskReject::PriceCollar));
    assert_eq!(verdict(&mut g, limit(Side::Sell, 1, 999_000), &c), Ok(()));
    assert_eq!(verdict(&mut g, limit(Side::Sell, 1, 998_999), &c), Err(RiskReject::PriceCollar));
    // Far from the mid on the passive side is refused too: more likely a scale bug than a strategy.
    assert_eq!(verdict(&mut g, limit(Side::Buy, 1, 998_999), &c), Err(RiskReject::PriceCollar));
}

#[test]
fn price_collar_uses_the_exact_mid_even_between_ticks() {
    // Bid 100.00, ask 100.01: the mid is 100.005, not 100.00. At 100 % the band reaches 200.01
    // exactly; a mid truncated to a whole tick would refuse 200.01 as well.
    let mut g = gate_with(RiskLimits { price_collar_bps: 10_000, ..limits() }, global());
    let c = RiskContext { bid: Price(10_000), ask: Price(10_001), ..ctx() };
    assert_eq!(verdict(&mut g, limit(Side::Buy, 1, 20_001), &c), Ok(()));
    assert_eq!(verdict(&mut g, limit(Side::Buy, 1, 20_002), &c), Err(RiskReject::PriceCollar));
    // At 1 bp (0.0100005 here) only the touch itself is inside: 100.02 and 99.99 are 0.015 away.
    let mut g = gate_with(RiskLimits { price_collar_bps: 1, ..limits() }, global());
    assert_eq!(verdict(&mut g, limit(Side::Buy, 1, 10_001), &c), Ok(()));
    assert_eq!(verdict(&mut g, limit(Side::Buy, 1, 10_002), &c), Err(RiskReject::PriceCollar));
    assert_eq!(verdict(&mut g, limit(Side::Sell, 1, 9_999), &c), Err(RiskReject::PriceCollar));
}

#[test]
fn a_market_order_is_collared_by_the_touch_it_would_take() {
    // Bid 9900.00, ask 10100.00: mid 10000.00, each touch 100 bps away from it.
    let c = RiskContext { bid: Price(990_000), ask: Price(1_010_000), ..ctx() };
    let mut at = gate_with(RiskLimits { price_collar_bps: 100, ..limits() }, global());
    assert_eq!(verdict(&mut at, entry(Side::Buy, 1), &c), Ok(()));
    assert_eq!(verdict(&mut at, entry(Side::Sell, 1), &c), Ok(()));
    let mut inside = gate_with(RiskLimits { price_collar_bps: 99, ..limits() }, global());
    assert_eq!(verdict(&mut inside, entry(Side::Buy, 1), &c), Err(RiskReject::PriceCollar));
    assert_eq!(verdict(&mut inside, entry(Side::Sell, 1), &c), Err(RiskReject::PriceCollar));
}

#[test]
fn max_position_counts_working_orders_on_the_same_side() {
    let mut g = gate();
    // Long 600 with 300 more to buy working: 100 more reaches 1000 exactly.
    let long = RiskContext { position: Qty(600), open_buy: Qty(300), open_sell: Qty(900), ..ctx() };
    assert_eq!(verdict(&mut g, entry(Side::Buy, 100), &long), Ok(()));
    assert_eq!(verdict(&mut g, entry(Side::Buy, 101), &long), Err(RiskReject::PositionLimit));
    // Short side mirrors it; working sells on the other side never offset a buy's worst case.
    let short = RiskContext { position: Qty(-600), open_buy: Qty(900), open_sell: Qty(300), ..ctx() };
    assert_eq!(verdict(&mut g, entry(Side::Sell, 100), &short), Ok(()));
    assert_eq!(verdict(&mut g, entry(Side::Sell, 101), &short), Err(RiskReject::PositionLimit));
    // An order may carry a long through zero into a short of at most max_position.
    let flat_long = RiskContext { position: Qty(500), ..ctx() };
    assert_eq!(verdict(&mut g, entry(Side::Sell, 1_000), &flat_long), Ok(()));
    let mut g = gate_with(RiskLimits { max_order_qty: Qty(2_000), ..limits() }, global());
    assert_eq!(verdict(&mut g, entry(Side::Sell, 1_500), &flat_long), Ok(()));
    assert_eq!(verdict(&mut g, entry(Side::Sell, 1_501), &flat_long), Err(RiskReject::PositionLimit));
}

#[test]
fn rate_limit_allows_a_burst_then_refills_in_tape_time() {
    let mut g = gate_with(limits(), GlobalLimits { max_orders_per_second: 5, ..global() });
    let at = |t: u64| RiskContext { now: UnixNanos(t), ..ctx() };
    for _ in 0..5 {
        assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &at(NOON)), Ok(()));
    }
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &at(NOON)), Err(RiskReject::RateLimit));
    // One token per 200 ms.
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &at(NOON + 199_999_999)), Err(RiskReject::RateLimit));
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &at(NOON + 200_000_000)), Ok(()));
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &at(NOON + 200_000_000)), Err(RiskReject::RateLimit));
    // A long pause refills the burst and no more.
    let later = NOON + 3_600 * SECOND;
    for _ in 0..5 {
        assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &at(later)), Ok(()));
    }
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &at(later)), Err(RiskReject::RateLimit));
    assert_eq!(g.counters().rejected(RiskReject::RateLimit), 4);
}

#[test]
fn refused_orders_take_no_token() {
    let mut g = gate_with(
        RiskLimits { max_order_qty: Qty(10), ..limits() },
        GlobalLimits { max_orders_per_second: 2, ..global() },
    );
    for _ in 0..100 {
        assert_eq!(verdict(&mut g, entry(Side::Buy, 11), &ctx()), Err(RiskReject::OrderQty));
    }
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &ctx()), Ok(()));
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &ctx()), Ok(()));
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &ctx()), Err(RiskReject::RateLimit));
}

#[test]
fn the_rate_limiter_is_deterministic_in_tape_time() {
    // The same times give the same answers, whatever the wall clock does between calls.
    let run = || {
        let mut g = gate_with(limits(), GlobalLimits { max_orders_per_second: 3, ..global() });
        (0..200u64)
            .map(|i| {
                let c = RiskContext { now: UnixNanos(NOON + i * i * 997_331), ..ctx() };
                verdict(&mut g, entry(Side::Buy, 1), &c).is_ok()
            })
            .collect::<Vec<_>>()
    };
    let first = run();
    assert_eq!(first, run());
    assert!(first.iter().any(|ok| *ok) && first.iter().any(|ok| !*ok));
}

#[test]
fn daily_loss_limit_halts_until_the_next_utc_midnight() {
    let mut g = gate_with(limits(), GlobalLimits { daily_loss_limit: 50_000, ..global() });
    let long = RiskContext { position: Qty(300), ..ctx() };
    // A loss of exactly the limit is allowed.
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &RiskContext { pnl_today: -50_000, ..long }), Ok(()));
    assert_eq!(g.state(), TradingState::Active);
    // One unit more halts: entries refused, naming the loss.
    let lost = RiskContext { pnl_today: -50_001, ..long };
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &lost), Err(RiskReject::DailyLossLimit));
    assert_eq!(g.state(), TradingState::Halted);
    assert!(g.is_loss_halted());
    // Exits that reduce still work.
    assert_eq!(verdict(&mut g, exit(Side::Sell, 300), &lost), Ok(()));
    // The latch holds for the rest of the day even if the PnL recovers.
    let recovered = RiskContext { now: UnixNanos(MIDNIGHT + NANOS_PER_DAY - 1), pnl_today: 0, ..long };
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &recovered), Err(RiskReject::DailyLossLimit));
    // At the next UTC midnight (the caller's PnL restarts from zero) the engine is ACTIVE again.
    let tomorrow = RiskContext { now: UnixNanos(MIDNIGHT + NANOS_PER_DAY), pnl_today: 0, ..long };
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &tomorrow), Ok(()));
    assert_eq!(g.state(), TradingState::Active);
    assert!(!g.is_loss_halted());
}

#[test]
fn observe_latches_the_loss_between_orders() {
    let mut g = gate_with(limits(), GlobalLimits { daily_loss_limit: 50_000, ..global() });
    assert_eq!(g.observe(UnixNanos(NOON), -50_000), TradingState::Active);
    assert_eq!(g.observe(UnixNanos(NOON + 1), -50_001), TradingState::Halted);
    assert_eq!(g.observe(UnixNanos(NOON + 2), 0), TradingState::Halted);
    assert_eq!(g.observe(UnixNanos(MIDNIGHT + NANOS_PER_DAY), 0), TradingState::Active);
}

#[test]
fn daily_loss_day_starts_at_the_configured_session_start() {
    // Days start at 22:00 UTC.
    let mut g =
        gate_with(limits(), GlobalLimits { daily_loss_limit: 50_000, day_start_offset_ns: 22 * HOUR, ..global() });
    let at = |t: u64, pnl: i128| RiskContext { now: UnixNanos(t), pnl_today: pnl, ..ctx() };
    // The loss is passed at 23:00 UTC on the 7th, in the day that started at 22:00.
    let latch = MIDNIGHT - HOUR;
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &at(latch, -60_000)), Err(RiskReject::DailyLossLimit));
    assert_eq!(g.day_boundary().start_of(g.day_boundary().day_of(UnixNanos(latch))), UnixNanos(MIDNIGHT - 2 * HOUR));
    // UTC midnight is not a boundary here...
    let refused = Err(RiskReject::DailyLossLimit);
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &at(MIDNIGHT + HOUR, 0)), refused);
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &at(MIDNIGHT + 22 * HOUR - 1, 0)), refused);
    // ...22:00 is.
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &at(MIDNIGHT + 22 * HOUR, 0)), Ok(()));
}

#[test]
fn a_manual_halt_survives_the_day_boundary() {
    let mut g = gate();
    g.set_state(TradingState::Halted);
    let tomorrow = RiskContext { now: UnixNanos(MIDNIGHT + NANOS_PER_DAY), ..ctx() };
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &tomorrow), Err(RiskReject::Halted));
    assert_eq!(g.state(), TradingState::Halted);
}

#[test]
fn set_state_clears_the_loss_latch_but_a_standing_loss_latches_again() {
    let mut g = gate_with(limits(), GlobalLimits { daily_loss_limit: 50_000, ..global() });
    let lost = RiskContext { pnl_today: -60_000, ..ctx() };
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &lost), Err(RiskReject::DailyLossLimit));
    g.set_state(TradingState::Active);
    assert_eq!(g.state(), TradingState::Active);
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &lost), Err(RiskReject::DailyLossLimit));
    // Once the loss is back inside the limit, the human's ACTIVE holds.
    g.set_state(TradingState::Active);
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &RiskContext { pnl_today: -40_000, ..ctx() }), Ok(()));
}

#[test]
fn reducing_allows_only_orders_that_shrink_the_exposure() {
    let mut g = gate();
    g.set_state(TradingState::Reducing);
    let long = RiskContext { position: Qty(500), ..ctx() };
    // Growing the position is refused, entry or exit.
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &long), Err(RiskReject::ReduceOnly));
    assert_eq!(verdict(&mut g, exit(Side::Buy, 1), &long), Err(RiskReject::ReduceOnly));
    // Reducing passes whatever the purpose: an entry signal on the other side is a reduction here.
    assert_eq!(verdict(&mut g, entry(Side::Sell, 200), &long), Ok(()));
    assert_eq!(verdict(&mut g, exit(Side::Sell, 500), &long), Ok(()));
    // From flat nothing reduces.
    assert_eq!(verdict(&mut g, exit(Side::Sell, 1), &ctx()), Err(RiskReject::ReduceOnly));
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &ctx()), Err(RiskReject::ReduceOnly));
    // Short side mirrors it.
    let short = RiskContext { position: Qty(-500), ..ctx() };
    assert_eq!(verdict(&mut g, entry(Side::Buy, 500), &short), Ok(()));
    assert_eq!(verdict(&mut g, entry(Side::Sell, 1), &short), Err(RiskReject::ReduceOnly));
}

#[test]
fn reducing_refuses_a_flip_through_zero_rather_than_clamping_it() {
    let mut g = gate();
    g.set_state(TradingState::Reducing);
    let long = RiskContext { position: Qty(500), ..ctx() };
    assert_eq!(verdict(&mut g, exit(Side::Sell, 500), &long), Ok(()));
    assert_eq!(verdict(&mut g, exit(Side::Sell, 501), &long), Err(RiskReject::ReduceOnly));
    // Working sells count as filled: with 200 already working, 300 more is the most that reduces.
    let working = RiskContext { open_sell: Qty(200), ..long };
    assert_eq!(long.reducible(Side::Sell), 500);
    assert_eq!(working.reducible(Side::Sell), 300);
    assert_eq!(verdict(&mut g, exit(Side::Sell, 300), &working), Ok(()));
    assert_eq!(verdict(&mut g, exit(Side::Sell, 301), &working), Err(RiskReject::ReduceOnly));
    // Working buys might never fill: they give no extra room.
    let with_buys = RiskContext { open_buy: Qty(400), ..long };
    assert_eq!(verdict(&mut g, exit(Side::Sell, 501), &with_buys), Err(RiskReject::ReduceOnly));
}

#[test]
fn halted_stops_new_entries_while_exits_still_work() {
    let mut g = gate();
    g.set_state(TradingState::Halted);
    let long = RiskContext { position: Qty(500), ..ctx() };
    // Every entry is refused, even one that would reduce.
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &long), Err(RiskReject::Halted));
    assert_eq!(verdict(&mut g, entry(Side::Sell, 1), &long), Err(RiskReject::Halted));
    assert_eq!(verdict(&mut g, limit(Side::Buy, 1, 6_000_000), &ctx()), Err(RiskReject::Halted));
    // Every kind of exit that reduces passes.
    for purpose in [Purpose::TakeProfit, Purpose::StopLoss, Purpose::TimeExit, Purpose::Flatten] {
        let req = order(Side::Sell, 100, OrderKind::Limit { px: Price(6_000_010) }, purpose);
        assert_eq!(verdict(&mut g, req, &long), Ok(()), "{purpose:?}");
    }
    assert_eq!(verdict(&mut g, exit(Side::Sell, 500), &long), Ok(()));
    // An exit that would grow, open or flip the position is refused.
    assert_eq!(verdict(&mut g, exit(Side::Buy, 1), &long), Err(RiskReject::ReduceOnly));
    assert_eq!(verdict(&mut g, exit(Side::Sell, 501), &long), Err(RiskReject::ReduceOnly));
    assert_eq!(verdict(&mut g, exit(Side::Sell, 1), &ctx()), Err(RiskReject::ReduceOnly));
    // Exits are still held to the other limits.
    let mut small = gate_with(RiskLimits { max_order_qty: Qty(100), ..limits() }, global());
    small.set_state(TradingState::Halted);
    assert_eq!(verdict(&mut small, exit(Side::Sell, 101), &long), Err(RiskReject::OrderQty));
    // Back to ACTIVE, entries pass again.
    g.set_state(TradingState::Active);
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &long), Ok(()));
}

#[test]
fn the_kill_switch_refuses_everything_until_reset_and_leaves_the_engine_halted() {
    let mut g = gate();
    let long = RiskContext { position: Qty(500), ..ctx() };
    g.kill();
    assert!(g.is_killed());
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &long), Err(RiskReject::Killed));
    assert_eq!(verdict(&mut g, exit(Side::Sell, 100), &long), Err(RiskReject::Killed));
    // Nothing changes it but a reset: not a new day, not setting a state.
    g.set_state(TradingState::Active);
    let tomorrow = RiskContext { now: UnixNanos(MIDNIGHT + NANOS_PER_DAY), ..long };
    assert_eq!(verdict(&mut g, exit(Side::Sell, 100), &tomorrow), Err(RiskReject::Killed));
    g.kill();
    g.reset_kill();
    assert!(!g.is_killed());
    // After the reset the engine is HALTED: exits only, until a human sets ACTIVE.
    assert_eq!(g.state(), TradingState::Halted);
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &tomorrow), Err(RiskReject::Halted));
    assert_eq!(verdict(&mut g, exit(Side::Sell, 100), &tomorrow), Ok(()));
    g.set_state(TradingState::Active);
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &tomorrow), Ok(()));
}

#[test]
fn the_first_failing_check_names_the_reason() {
    let tight =
        RiskLimits { max_position: Qty(10), max_order_qty: Qty(10), max_order_notional: 1, price_collar_bps: 1 };
    let mut g = gate_with(tight, GlobalLimits { daily_loss_limit: 10, ..global() });
    let far = limit(Side::Buy, 50, 9_000_000); // too big, too much notional, outside the collar
    let lost = RiskContext { pnl_today: -11, ..ctx() };
    g.kill();
    assert_eq!(verdict(&mut g, far, &lost), Err(RiskReject::Killed));
    g.reset_kill();
    let unknown = OrderRequest { instrument: InstrumentId(1), ..far };
    assert_eq!(verdict(&mut g, unknown, &lost), Err(RiskReject::UnknownInstrument));
    assert_eq!(verdict(&mut g, OrderRequest { qty: Qty(0), ..far }, &lost), Err(RiskReject::InvalidOrder));
    assert_eq!(verdict(&mut g, limit(Side::Buy, 1, 0), &lost), Err(RiskReject::InvalidOrder));
    assert_eq!(verdict(&mut g, far, &lost), Err(RiskReject::DailyLossLimit));
    g.set_state(TradingState::Halted);
    assert_eq!(verdict(&mut g, far, &ctx()), Err(RiskReject::Halted));
    g.set_state(TradingState::Active);
    let no_market = RiskContext { bid: Price(6_000_020), ..ctx() }; // crossed
    assert_eq!(verdict(&mut g, far, &no_market), Err(RiskReject::NoMarket));
    assert_eq!(verdict(&mut g, far, &ctx()), Err(RiskReject::OrderQty));
    assert_eq!(verdict(&mut g, OrderRequest { qty: Qty(10), ..far }, &ctx()), Err(RiskReject::OrderNotional));
}

#[test]
fn no_market_refuses_one_sided_and_crossed_books() {
    let mut g = gate();
    for (bid, ask) in [(0, 6_000_010), (6_000_000, 0), (6_000_011, 6_000_010)] {
        let c = RiskContext { bid: Price(bid), ask: Price(ask), ..ctx() };
        assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &c), Err(RiskReject::NoMarket), "{bid}/{ask}");
    }
    // A locked book can still price an order.
    let locked = RiskContext { bid: Price(6_000_000), ask: Price(6_000_000), ..ctx() };
    assert_eq!(verdict(&mut g, entry(Side::Buy, 1), &locked), Ok(()));
}

#[test]
fn counters_record_every_answer_by_reason() {
    let mut g = gate_with(RiskLimits { max_order_qty: Qty(10), ..limits() }, global());
    let _ = g.check(entry(Side::Buy, 1), &ctx());
    let _ = g.check(entry(Side::Buy, 11), &ctx());
    let _ = g.check(entry(Side::Buy, 12), &ctx());
    assert_eq!(g.counters().approved, 1);
    assert_eq!(g.counters().rejected(RiskReject::OrderQty), 2);
    assert_eq!(g.counters().rejected_total(), 2);
}

#[test]
fn check_does_not_allocate() {
    let mut g = gate_with(
        RiskLimits { max_order_qty: Qty(100), ..limits() },
        GlobalLimits { max_orders_per_second: 50, daily_loss_limit: 50_000, ..global() },
    );
    let before = counting_alloc::allocations();
    let mut approved = 0u64;
    for i in 0..10_000u64 {
        let c = RiskContext { now: UnixNanos(NOON + i * 1_000_000), pnl_today: -((i % 7) as i128) * 10_000, ..ctx() };
        let req = entry(if i % 2 == 0 { Side::Buy } else { Side::Sell }, (i % 150) as i64 + 1);
        if g.check(req, &c).is_ok() {
            approved += 1;
        }
        if i == 5_000 {
            g.kill();
        }
        if i == 6_000 {
            g.reset_kill();
            g.set_state(TradingState::Reducing);
        }
    }
    let allocations = counting_alloc::allocations() - before;
    assert_eq!(allocations, 0, "{allocations} allocations in 10,000 checks");
    assert!(approved > 0);
}

#[test]
fn bad_limits_are_refused_at_construction_naming_the_field() {
    let bad = |limits: RiskLimits, global: GlobalLimits| {
        RiskGate::new(RiskConfig { instruments: vec![limits], global }).unwrap_err()
    };
    assert_eq!(
        bad(RiskLimits { max_position: Qty(0), ..limits() }, global()),
        RiskConfigError::NotPositive { instrument: 0, field: "max_position", value: 0 }
    );
    assert_eq!(
        bad(RiskLimits { max_order_notional: -1, ..limits() }, global()),
        RiskConfigError::NotPositive { instrument: 0, field: "max_order_notional", value: -1 }
    );
    assert_eq!(
        bad(RiskLimits { price_collar_bps: 0, ..limits() }, global()),
        RiskConfigError::Collar { instrument: 0, value: 0 }
    );
    assert_eq!(
        bad(limits(), GlobalLimits { max_orders_per_second: 0, ..global() }),
        RiskConfigError::GlobalNotPositive { field: "max_orders_per_second", value: 0 }
    );
    assert_eq!(
        bad(limits(), GlobalLimits { day_start_offset_ns: NANOS_PER_DAY, ..global() }),
        RiskConfigError::DayStart { value: NANOS_PER_DAY }
    );
    let empty = RiskGate::new(RiskConfig { instruments: vec![], global: global() }).unwrap_err();
    assert_eq!(empty, RiskConfigError::NoInstruments);
    assert!(empty.to_string().contains("one entry per instrument"));
}
