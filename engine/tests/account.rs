//! The account: order state machine, positions fed by every fill (partial ones included), the
//! portfolio's totals, and bracket exits. Scenario tests feed events in and check what comes out.

use kestrel_engine::account::{
    Account, AccountShape, AvgPrice, BracketSpec, Brackets, EventKind, Fill, FillReport, Offset, OrderEvent,
    OrderState, OrderTable, Portfolio, Position, Refusal, TransitionError, TriggerPrice,
};
use kestrel_engine::account::{Order, OrderError};
use kestrel_engine::book::{Level, Touch};
use kestrel_engine::journal::Side;
use kestrel_engine::orders::{Liquidity, OrderKind, OrderRequest, Purpose, StrategyId, TimeInForce};
use kestrel_engine::types::{InstrumentId, Price, Qty, UnixNanos};
use proptest::prelude::*;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

const S0: StrategyId = StrategyId(0);
const S1: StrategyId = StrategyId(1);
const I0: InstrumentId = InstrumentId(0);
const I1: InstrumentId = InstrumentId(1);

fn request(id: u64, side: Side, qty: i64, purpose: Purpose) -> OrderRequest {
    request_for(id, S0, I0, side, qty, purpose)
}

fn request_for(id: u64, s: StrategyId, i: InstrumentId, side: Side, qty: i64, purpose: Purpose) -> OrderRequest {
    OrderRequest {
        order_id: id,
        strategy: s,
        instrument: i,
        side,
        qty: Qty(qty),
        kind: OrderKind::Market,
        tif: TimeInForce::Ioc,
        purpose,
        created: UnixNanos(1),
    }
}

fn fill(px: i64, qty: i64, leaves: i64) -> OrderEvent {
    fill_fee(px, qty, leaves, 0)
}

fn fill_fee(px: i64, qty: i64, leaves: i64, fee: i128) -> OrderEvent {
    OrderEvent::Fill(FillReport {
        px: Price(px),
        qty: Qty(qty),
        leaves: Qty(leaves),
        fee,
        liquidity: if fee < 0 { Liquidity::Maker } else { Liquidity::Taker },
    })
}

fn touch(bid: i64, ask: i64) -> Vec<Option<Touch>> {
    vec![Some(Touch { bid: Level { px: Price(bid), qty: Qty(1) }, ask: Level { px: Price(ask), qty: Qty(1) } })]
}

// ---------------------------------------------------------------------------------------------
// Order state machine
// ---------------------------------------------------------------------------------------------

/// An order of 10 driven into `state` along a legal path (`acked` chooses the path into the
/// cancel-pending and partially-filled states).
fn order_in(state: OrderState, acked: bool) -> Order {
    use OrderState as S;
    let mut o = Order::new(request(1, Side::Buy, 10, Purpose::Entry));
    let path: &[OrderEvent] = match state {
        S::New => &[],
        S::Sent => &[OrderEvent::Sent],
        S::Acked => &[OrderEvent::Sent, OrderEvent::Ack],
        S::PartiallyFilled if acked => &[OrderEvent::Sent, OrderEvent::Ack, fill(100, 4, 6)],
        S::PartiallyFilled => &[OrderEvent::Sent, fill(100, 4, 6)],
        S::CancelPending if acked => &[OrderEvent::Sent, OrderEvent::Ack, OrderEvent::CancelRequested],
        S::CancelPending => &[OrderEvent::Sent, OrderEvent::CancelRequested],
        S::Filled => &[OrderEvent::Sent, fill(100, 10, 0)],
        S::Canceled => &[OrderEvent::Sent, OrderEvent::Canceled],
        S::Rejected => &[OrderEvent::Sent, OrderEvent::Rejected],
        S::Expired => &[OrderEvent::Sent, OrderEvent::Expired],
    };
    for e in path {
        o.apply(e).unwrap_or_else(|err| panic!("path to {state}: {err}"));
    }
    assert_eq!(o.state(), state);
    o
}

/// The transition table, written out independently of the implementation. A fill here is a
/// partial one (4 of what is left).
fn expected(state: OrderState, acked: bool, event: EventKind) -> Option<OrderState> {
    use EventKind as E;
    use OrderState as S;
    Some(match (state, event) {
        (S::New, E::Sent) => S::Sent,
        (S::New, E::Rejected) => S::Rejected,
        (S::New, E::Canceled) => S::Canceled,
        (S::Sent, E::Ack) => S::Acked,
        (S::Sent | S::Acked | S::PartiallyFilled, E::Fill) => S::PartiallyFilled,
        (S::CancelPending, E::Fill) => S::CancelPending,
        (S::PartiallyFilled | S::CancelPending, E::Ack) if !acked => state,
        (S::Sent | S::Acked | S::PartiallyFilled, E::CancelRequested) => S::CancelPending,
        (S::CancelPending, E::CancelRejected) => {
            if acked {
                S::Acked
            } else {
                S::Sent
            }
        }
        (S::Sent | S::Acked | S::PartiallyFilled | S::CancelPending, E::Canceled) => S::Canceled,
        (S::Sent | S::Acked | S::PartiallyFilled | S::CancelPending, E::Expired) => S::Expired,
        (S::Sent, E::Rejected) => S::Rejected,
        (S::CancelPending, E::Rejected) if !acked => S::Rejected,
        _ => return None,
    })
}

fn event_of(kind: EventKind, leaves_after_4: i64) -> OrderEvent {
    match kind {
        EventKind::Sent => OrderEvent::Sent,
        EventKind::Ack => OrderEvent::Ack,
        EventKind::Fill => fill(101, 4, leaves_after_4),
        EventKind::CancelRequested => OrderEvent::CancelRequested,
        EventKind::CancelRejected => OrderEvent::CancelRejected,
        EventKind::Canceled => OrderEvent::Canceled,
        EventKind::Rejected => OrderEvent::Rejected,
        EventKind::Expired => OrderEvent::Expired,
    }
}

const ALL_STATES: [OrderState; 9] = [
    OrderState::New,
    OrderState::Sent,
    OrderState::Acked,
    OrderState::PartiallyFilled,
    OrderState::Filled,
    OrderState::CancelPending,
    OrderState::Canceled,
    OrderState::Rejected,
    OrderState::Expired,
];

const ALL_EVENTS: [EventKind; 8] = [
    EventKind::Sent,
    EventKind::Ack,
    EventKind::Fill,
    EventKind::CancelRequested,
    EventKind::CancelRejected,
    EventKind::Canceled,
    EventKind::Rejected,
    EventKind::Expired,
];

#[test]
fn every_state_and_event_follows_the_transition_table() {
    let mut legal = 0;
    for state in ALL_STATES {
        for acked in [false, true] {
            for kind in ALL_EVENTS {
                let mut o = order_in(state, acked);
                let was_acked = o.acked();
                let before = o;
                let leaves = o.request.qty.0 - o.filled().0 - 4;
                let got = o.apply(&event_of(kind, leaves));
                match expected(state, was_acked, kind) {
                    Some(to) => {
                        legal += 1;
                        assert_eq!(got, Ok(to), "{state} (acked {was_acked}) + {kind:?}");
                        assert_eq!(o.state(), to);
                    }
                    None => {
                        let err = TransitionError { order_id: 1, state, event: kind, why: Refusal::Illegal };
                        assert_eq!(got, Err(err), "{state} (acked {was_acked}) + {kind:?} must be refused");
                        assert_eq!(o, before, "a refused event leaves the order unchanged");
                    }
                }
            }
        }
    }
    assert!(legal > 30, "the table has {legal} legal (state, acked, event) cases");
}

#[test]
fn a_refused_cancel_returns_to_where_the_order_was() {
    let mut o = order_in(OrderState::PartiallyFilled, true);
    o.apply(&OrderEvent::CancelRequested).unwrap();
    assert_eq!(o.apply(&OrderEvent::CancelRejected), Ok(OrderState::PartiallyFilled));
    o.apply(&OrderEvent::CancelRequested).unwrap();
    assert_eq!(o.apply(&fill(102, 6, 0)), Ok(OrderState::Filled), "the rest fills while the cancel is pending");
}

#[test]
fn the_usual_lives_of_an_order() {
    use OrderState as S;
    let lives: [(&[OrderEvent], S); 7] = [
        (&[OrderEvent::Sent, OrderEvent::Ack, fill(100, 10, 0)], S::Filled),
        (&[OrderEvent::Sent, OrderEvent::Ack, fill(100, 3, 7), fill(101, 3, 4), fill(102, 4, 0)], S::Filled),
        (&[OrderEvent::Sent, fill(100, 10, 0)], S::Filled),
        (&[OrderEvent::Sent, fill(100, 2, 8), OrderEvent::Ack, fill(100, 8, 0)], S::Filled),
        (&[OrderEvent::Sent, OrderEvent::Ack, fill(100, 2, 8), OrderEvent::Canceled], S::Canceled),
        (
            &[OrderEvent::Sent, OrderEvent::Ack, OrderEvent::CancelRequested, fill(100, 1, 9), OrderEvent::Canceled],
            S::Canceled,
        ),
        (&[OrderEvent::Sent, OrderEvent::Ack, fill(100, 2, 8), OrderEvent::Expired], S::Expired),
    ];
    for (events, end) in lives {
        let mut o = Order::new(request(1, Side::Buy, 10, Purpose::Entry));
        for e in events {
            o.apply(e).unwrap();
        }
        assert_eq!(o.state(), end, "{events:?}");
        assert_eq!(o.leaves(), Qty(0), "a terminal order has nothing left");
    }
}

#[test]
fn bad_fills_are_refused_with_what_was_wrong() {
    let mut o = order_in(OrderState::Acked, true);
    let refused = |why| Err(TransitionError { order_id: 1, state: OrderState::Acked, event: EventKind::Fill, why });
    assert_eq!(o.apply(&fill(100, 0, 10)), refused(Refusal::NonPositiveFill { qty: Qty(0) }));
    assert_eq!(
        o.apply(&fill(100, 11, 0)),
        refused(Refusal::Overfill { filled: Qty(0), fill: Qty(11), order_qty: Qty(10) })
    );
    assert_eq!(o.apply(&fill(100, 4, 5)), refused(Refusal::LeavesMismatch { expected: Qty(6), reported: Qty(5) }));
    assert_eq!((o.state(), o.filled(), o.fill_count()), (OrderState::Acked, Qty(0), 0));
}

#[test]
fn an_illegal_event_names_the_order_state_and_event() {
    let mut o = order_in(OrderState::Filled, false);
    let err = o.apply(&OrderEvent::CancelRequested).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("order 1") && text.contains("CancelRequested") && text.contains("Filled"), "{text}");
}

#[test]
fn the_average_fill_price_is_exact() {
    let mut o = order_in(OrderState::Acked, true);
    o.apply(&fill(100, 1, 9)).unwrap();
    o.apply(&fill(101, 2, 7)).unwrap();
    assert_eq!(o.avg_fill_px(), AvgPrice::new(302, 3), "(100 + 2 × 101) / 3");
    assert_eq!((o.filled(), o.leaves()), (Qty(3), Qty(7)));
}

#[test]
fn the_order_table_finds_updates_and_retires_orders() {
    let mut t = OrderTable::with_capacity(4);
    t.insert(request(7, Side::Buy, 5, Purpose::Entry)).unwrap();
    t.apply(7, &OrderEvent::Sent).unwrap();
    let u = t.apply(7, &fill(100, 2, 3)).unwrap();
    assert_eq!((u.state, u.order.filled()), (OrderState::PartiallyFilled, Qty(2)));
    assert!(u.fill.is_some());
    let u = t.apply(7, &fill(100, 3, 0)).unwrap();
    assert_eq!(u.state, OrderState::Filled);
    assert!(t.get(7).is_none() && t.is_empty(), "terminal orders leave the table");
    assert_eq!(t.apply(7, &OrderEvent::Ack), Err(OrderError::Unknown { order_id: 7, event: EventKind::Ack }));
}

// ---------------------------------------------------------------------------------------------
// Positions: partial fills count, exact averages and PnL
// ---------------------------------------------------------------------------------------------

fn shape() -> AccountShape {
    AccountShape { max_orders: 16, strategies: 2, money_scales: vec![5, 5] }
}

/// Regression for hftbacktest issue 316: partial fills never reached the position.
#[test]
fn partial_fills_reach_the_position_one_by_one() {
    let mut a = Account::new(&shape());
    a.submit(request(1, Side::Buy, 10, Purpose::Entry)).unwrap();
    a.on_order_event(UnixNanos(10), 1, &OrderEvent::Sent).unwrap();
    a.on_order_event(UnixNanos(11), 1, &OrderEvent::Ack).unwrap();
    let steps = [(100, 3, 7, 3, 300), (103, 3, 4, 6, 609), (106, 4, 0, 10, 1033)];
    for (k, (px, qty, leaves, pos_qty, cost)) in steps.into_iter().enumerate() {
        let b = a.on_order_event(UnixNanos(20 + k as u64), 1, &fill_fee(px, qty, leaves, 2)).unwrap();
        assert_eq!(b.effect.map(|e| e.opened), Some(qty));
        let p = a.portfolio().position(S0, I0).unwrap();
        assert_eq!((p.qty, p.cost), (pos_qty, cost), "after fill {k}");
        assert_eq!(p.fees, 2 * (k as i128 + 1));
        assert_eq!(p.avg_entry(), b.update.order.avg_fill_px(), "position and order agree on the average");
    }
    assert_eq!(a.portfolio().position(S0, I0).unwrap().fills, 3);
    assert_eq!(a.portfolio().instrument(I0).unwrap().qty, 10);
    assert!(a.orders().is_empty());
}

#[test]
fn partial_closes_realize_against_the_exact_average() {
    let mut p = Position::default();
    p.apply(Side::Buy, Price(100), Qty(4), 0);
    p.apply(Side::Buy, Price(106), Qty(2), 0); // 6 at 102
    assert_eq!(p.avg_entry(), AvgPrice::new(102, 1));
    assert_eq!(p.apply(Side::Sell, Price(105), Qty(1), 0).realized, 3);
    assert_eq!(p.apply(Side::Sell, Price(101), Qty(2), 0).realized, -2);
    assert_eq!((p.qty, p.cost, p.realized), (3, 306, 1));
    assert_eq!(p.avg_entry(), AvgPrice::new(102, 1), "reductions keep the average");
    assert_eq!(p.unrealized(Price(110)), 24);
}

#[test]
fn shorts_and_flips_book_like_longs_mirrored() {
    let mut p = Position::default();
    p.apply(Side::Sell, Price(200), Qty(2), 0);
    p.apply(Side::Sell, Price(197), Qty(1), 0); // short 3 at 199
    assert_eq!((p.qty, p.avg_entry()), (-3, AvgPrice::new(199, 1)));
    assert_eq!(p.unrealized(Price(190)), 27, "a short gains as the price falls");
    let e = p.apply(Side::Buy, Price(190), Qty(1), 0);
    assert_eq!((e.realized, e.closed, e.flipped), (9, 1, false));
    let e = p.apply(Side::Buy, Price(195), Qty(5), 0); // covers 2, opens long 3 at 195
    assert_eq!((e.realized, e.closed, e.opened, e.flipped), (8, 2, 3, true));
    assert_eq!((p.qty, p.cost, p.realized), (3, 585, 17));
    assert_eq!(p.avg_entry(), AvgPrice::new(195, 1));
    let e = p.apply(Side::Sell, Price(195), Qty(3), 0);
    assert_eq!((e.realized, p.qty, p.cost), (0, 0, 0));
    assert_eq!(p.avg_entry(), None);
}

#[test]
fn fees_and_rebates_accumulate_per_strategy_and_instrument() {
    let mut pf = Portfolio::new(2, &[5, 3]); // instrument 1 is three decimals coarser in money
    let book = |pf: &mut Portfolio, s, i, side, px, qty, fee| {
        let f = Fill {
            order_id: 1,
            strategy: s,
            instrument: i,
            side,
            px: Price(px),
            qty: Qty(qty),
            fee,
            liquidity: if fee < 0 { Liquidity::Maker } else { Liquidity::Taker },
            purpose: Purpose::Entry,
            ts: UnixNanos(1),
        };
        pf.apply(&f).unwrap()
    };
    book(&mut pf, S0, I0, Side::Buy, 100, 2, 5);
    book(&mut pf, S0, I0, Side::Sell, 110, 2, -2); // realized 20, rebate 2
    book(&mut pf, S1, I0, Side::Sell, 100, 1, 3);
    book(&mut pf, S0, I1, Side::Buy, 50, 1, 1);
    book(&mut pf, S0, I1, Side::Sell, 49, 1, -1); // realized -1 at scale 3
    assert_eq!((pf.position(S0, I0).unwrap().fees, pf.position(S0, I0).unwrap().realized), (3, 20));
    assert_eq!(pf.position(S1, I0).unwrap().fees, 3);
    assert_eq!(pf.position(S0, I1).unwrap().fees, 0);
    let i0 = pf.instrument(I0).unwrap();
    assert_eq!((i0.qty, i0.fees, i0.realized, i0.fills), (-1, 6, 20, 3));
    assert_eq!(pf.money_scale(), 5);
    let s0 = pf.strategy(S0).unwrap();
    assert_eq!((s0.realized, s0.fees), (20 - 100, 3), "instrument 1's −1 is −100 at scale 5");
    assert_eq!(pf.strategy(S1).unwrap().fees, 3);
    assert_eq!(pf.total().fees, 6);
    assert_eq!(pf.total().net(), 20 - 100 - 6);
}

fn any_fill(strategies: u16, instruments: u16) -> impl Strategy<Value = Fill> {
    (0..strategies, 0..instruments, any::<bool>(), 1i64..10_000, 1i64..50, -20i128..50).prop_map(
        |(s, i, buy, px, qty, fee)| Fill {
            order_id: 1,
            strategy: StrategyId(s),
            instrument: InstrumentId(i),
            side: if buy { Side::Buy } else { Side::Sell },
            px: Price(px),
            qty: Qty(qty),
            fee,
            liquidity: Liquidity::Taker,
            purpose: Purpose::Entry,
            ts: UnixNanos(1),
        },
    )
}

proptest! {
    /// Totals are kept incrementally; they must equal the sum of the cells, and every cell must
    /// conserve money: realized + unrealized = the cash its fills moved + the marked position.
    #[test]
    fn portfolio_totals_equal_the_sum_of_parts(
        scales in proptest::collection::vec(0u8..6, 3),
        fills in proptest::collection::vec(any_fill(3, 3), 1..200),
        marks in proptest::collection::vec(1i64..10_000, 3),
    ) {
        let mut pf = Portfolio::new(3, &scales);
        let mut cash = [[0i128; 3]; 3];
        for f in &fills {
            pf.apply(f).unwrap();
            cash[usize::from(f.strategy.0)][f.instrument.index()] -=
                i128::from(f.side.sign() * f.qty.0) * i128::from(f.px.0);
        }
        let marks_opt: Vec<Option<Price>> = marks.iter().map(|&m| Some(Price(m))).collect();
        let mut total_realized = 0;
        let mut total_fees = 0;
        let mut total_unrealized = 0;
        for s in 0..3u16 {
            let (mut realized, mut fees, mut unrealized) = (0i128, 0i128, 0i128);
            for i in 0..3u16 {
                let p = pf.position(StrategyId(s), InstrumentId(i)).unwrap();
                let k = pf.to_common(InstrumentId(i)).unwrap();
                let mark = Price(marks[usize::from(i)]);
                prop_assert_eq!(
                    p.realized + p.unrealized(mark),
                    cash[usize::from(s)][usize::from(i)] + i128::from(mark.0) * i128::from(p.qty),
                    "cell ({}, {}) does not conserve money", s, i
                );
                realized += p.realized * k;
                fees += p.fees * k;
                unrealized += p.unrealized(mark) * k;
            }
            let got = pf.strategy(StrategyId(s)).unwrap();
            prop_assert_eq!((got.realized, got.fees), (realized, fees));
            prop_assert_eq!(pf.strategy_unrealized(StrategyId(s), &marks_opt).unrealized, unrealized);
            total_realized += realized;
            total_fees += fees;
            total_unrealized += unrealized;
        }
        for i in 0..3u16 {
            let t = pf.instrument(InstrumentId(i)).unwrap();
            let cells: Vec<&Position> = (0..3).map(|s| pf.position(StrategyId(s), InstrumentId(i)).unwrap()).collect();
            prop_assert_eq!(t.qty, cells.iter().map(|p| p.qty).sum::<i64>());
            prop_assert_eq!(t.cost, cells.iter().map(|p| p.cost).sum::<i128>());
            prop_assert_eq!(t.realized, cells.iter().map(|p| p.realized).sum::<i128>());
            prop_assert_eq!(t.fees, cells.iter().map(|p| p.fees).sum::<i128>());
            prop_assert_eq!(t.fills, cells.iter().map(|p| p.fills).sum::<u64>());
        }
        prop_assert_eq!((pf.total().realized, pf.total().fees), (total_realized, total_fees));
        prop_assert_eq!(pf.total_unrealized(&marks_opt).unrealized, total_unrealized);
        prop_assert_eq!(pf.total().fees, fills.iter().map(|f| f.fee * pf.to_common(f.instrument).unwrap()).sum::<i128>());
    }

    /// Splitting a fill into partial fills at the same price books the same position.
    #[test]
    fn partial_fills_book_like_one_fill(
        start in proptest::collection::vec((any::<bool>(), 1i64..1_000, 1i64..20), 0..10),
        buy in any::<bool>(),
        px in 1i64..1_000,
        parts in proptest::collection::vec(1i64..20, 1..8),
    ) {
        let side = if buy { Side::Buy } else { Side::Sell };
        let (mut whole, mut split) = (Position::default(), Position::default());
        for &(b, p, q) in &start {
            let s = if b { Side::Buy } else { Side::Sell };
            whole.apply(s, Price(p), Qty(q), 0);
            split.apply(s, Price(p), Qty(q), 0);
        }
        whole.apply(side, Price(px), Qty(parts.iter().sum()), 0);
        for &q in &parts {
            split.apply(side, Price(px), Qty(q), 0);
        }
        prop_assert_eq!(whole.qty, split.qty);
        // Rounding may split differently between realized and cost, by under a unit per fill;
        // their sum is exact.
        prop_assert_eq!(whole.realized - whole.cost, split.realized - split.cost);
        prop_assert!((whole.realized - split.realized).abs() <= parts.len() as i128);
    }
}

// ---------------------------------------------------------------------------------------------
// Brackets
// ---------------------------------------------------------------------------------------------

fn long_at(brackets: &mut Brackets, px: i64, qty: i64, now: u64) -> Position {
    let mut p = Position::default();
    p.apply(Side::Buy, Price(px), Qty(qty), 0);
    brackets.on_position(S0, I0, &p, UnixNanos(now));
    p
}

fn spec(tp: Option<Offset>, sl: Option<Offset>, hold: Option<u64>) -> BracketSpec {
    BracketSpec { take_profit: tp, stop_loss: sl, max_hold: hold, trigger: TriggerPrice::Touch }
}

#[test]
fn a_long_take_profit_fires_once_on_the_bid_at_the_level() {
    let mut b = Brackets::new(1, 1);
    b.set_spec(S0, I0, Some(spec(Some(Offset::ticks(5, Price(2))), Some(Offset::Price(Price(10))), None)));
    long_at(&mut b, 1_000, 3, 0);
    assert_eq!(b.on_event(UnixNanos(1), &touch(1_009, 1_020)[..]), None, "ask above the level: not the exit's price");
    let sig = b.on_event(UnixNanos(2), &touch(1_010, 1_011)[..]).expect("bid reaches 1000 + 5 × 2");
    assert_eq!(
        (sig.purpose, sig.side, sig.qty, sig.strategy, sig.instrument),
        (Purpose::TakeProfit, Side::Sell, Qty(3), S0, I0)
    );
    assert_eq!(sig.ts, UnixNanos(2));
    assert_eq!(b.on_event(UnixNanos(3), &touch(1_050, 1_051)[..]), None, "in flight: no second signal");
    assert!(b.get(S0, I0).unwrap().in_flight());
}

#[test]
fn a_long_stop_fires_on_the_bid_at_or_below_the_level() {
    let mut b = Brackets::new(1, 1);
    b.set_spec(S0, I0, Some(spec(Some(Offset::Price(Price(10))), Some(Offset::Price(Price(10))), None)));
    long_at(&mut b, 1_000, 1, 0);
    assert_eq!(b.on_event(UnixNanos(1), &touch(991, 992)[..]), None);
    let sig = b.on_event(UnixNanos(2), &touch(990, 995)[..]).unwrap();
    assert_eq!((sig.purpose, sig.side), (Purpose::StopLoss, Side::Sell));
    assert_eq!(b.on_event(UnixNanos(3), &touch(900, 901)[..]), None);
}

#[test]
fn a_short_watches_the_ask() {
    let mut b = Brackets::new(1, 1);
    b.set_spec(S0, I0, Some(spec(Some(Offset::Price(Price(10))), Some(Offset::Price(Price(10))), None)));
    let mut p = Position::default();
    p.apply(Side::Sell, Price(1_000), Qty(2), 0);
    b.on_position(S0, I0, &p, UnixNanos(0));
    assert_eq!(b.on_event(UnixNanos(1), &touch(1_005, 1_009)[..]), None);
    let sig = b.on_event(UnixNanos(2), &touch(1_005, 1_010)[..]).unwrap();
    assert_eq!((sig.purpose, sig.side, sig.qty), (Purpose::StopLoss, Side::Buy, Qty(2)));
    b.exit_done(S0, I0);
    assert_eq!(b.on_event(UnixNanos(3), &touch(980, 991)[..]), None, "bid at 980 does not take a short's profit");
    let sig = b.on_event(UnixNanos(4), &touch(980, 990)[..]).unwrap();
    assert_eq!(sig.purpose, Purpose::TakeProfit);
}

#[test]
fn basis_point_levels_are_exact_against_a_fractional_average() {
    let mut b = Brackets::new(1, 1);
    b.set_spec(S0, I0, Some(spec(Some(Offset::Bps(100)), None, None)));
    let mut p = Position::default();
    p.apply(Side::Buy, Price(10_000), Qty(1), 0);
    p.apply(Side::Buy, Price(10_001), Qty(2), 0); // average 10000.67, +1 % = 10100.67
    b.on_position(S0, I0, &p, UnixNanos(0));
    assert_eq!(b.on_event(UnixNanos(1), &touch(10_100, 10_200)[..]), None);
    assert_eq!(b.on_event(UnixNanos(1), &touch(10_101, 10_200)[..]).map(|s| s.purpose), Some(Purpose::TakeProfit));
}

#[test]
fn the_mid_trigger_uses_the_exact_mid() {
    let mut b = Brackets::new(1, 1);
    let mut s = spec(Some(Offset::Price(Price(10))), None, None);
    s.trigger = TriggerPrice::Mid;
    b.set_spec(S0, I0, Some(s));
    long_at(&mut b, 1_000, 1, 0);
    assert_eq!(b.on_event(UnixNanos(1), &touch(1_009, 1_010)[..]), None, "mid 1009.5");
    assert!(b.on_event(UnixNanos(2), &touch(1_009, 1_011)[..]).is_some(), "mid 1010");
}

#[test]
fn the_time_exit_fires_once_at_max_hold_even_without_a_market() {
    let mut b = Brackets::new(1, 1);
    b.set_spec(S0, I0, Some(spec(None, None, Some(1_000))));
    let p = long_at(&mut b, 1_000, 2, 5_000);
    let no_market: Vec<Option<Touch>> = vec![None];
    assert_eq!(b.on_event(UnixNanos(5_999), &no_market[..]), None);
    // Adding to the position does not restart the clock.
    let mut p2 = p;
    p2.apply(Side::Buy, Price(1_001), Qty(1), 0);
    b.on_position(S0, I0, &p2, UnixNanos(5_500));
    let sig = b.on_event(UnixNanos(6_000), &no_market[..]).unwrap();
    assert_eq!((sig.purpose, sig.qty, sig.touch), (Purpose::TimeExit, Qty(3), None));
    assert_eq!(b.on_event(UnixNanos(7_000), &no_market[..]), None);
}

#[test]
fn bracket_quantity_follows_partial_fills_and_leaves_when_flat() {
    let mut b = Brackets::new(1, 1);
    b.set_spec(S0, I0, Some(spec(Some(Offset::Price(Price(10))), None, None)));
    let mut p = Position::default();
    for (k, q) in [2, 3].into_iter().enumerate() {
        p.apply(Side::Buy, Price(1_000), Qty(q), 0);
        b.on_position(S0, I0, &p, UnixNanos(k as u64));
    }
    assert_eq!(b.get(S0, I0).map(|x| (x.qty(), x.opened())), Some((5, UnixNanos(0))));
    let sig = b.on_event(UnixNanos(3), &touch(1_010, 1_011)[..]).unwrap();
    assert_eq!(sig.qty, Qty(5));
    p.apply(Side::Sell, Price(1_010), Qty(2), 0); // the exit fills in part
    b.on_position(S0, I0, &p, UnixNanos(4));
    assert_eq!(b.get(S0, I0).map(|x| (x.qty(), x.in_flight())), Some((3, true)));
    assert_eq!(b.on_event(UnixNanos(5), &touch(1_010, 1_011)[..]), None, "still in flight");
    b.exit_done(S0, I0); // the rest was cancelled (IOC)
    let again = b.on_event(UnixNanos(6), &touch(1_012, 1_013)[..]).unwrap();
    assert_eq!((again.purpose, again.qty), (Purpose::TakeProfit, Qty(3)));
    p.apply(Side::Sell, Price(1_012), Qty(3), 0);
    b.on_position(S0, I0, &p, UnixNanos(7));
    assert!(b.get(S0, I0).is_none());
    assert_eq!(b.armed(), 0);
}

#[test]
fn a_flip_rearms_on_the_other_side_with_a_new_clock() {
    let mut b = Brackets::new(1, 1);
    b.set_spec(S0, I0, Some(spec(None, Some(Offset::Price(Price(10))), Some(100))));
    let mut p = long_at(&mut b, 1_000, 1, 0);
    p.apply(Side::Sell, Price(1_000), Qty(3), 0);
    b.on_position(S0, I0, &p, UnixNanos(50));
    let br = *b.get(S0, I0).unwrap();
    assert_eq!((br.qty(), br.opened(), b.armed()), (-2, UnixNanos(50), 1));
    assert_eq!(b.on_event(UnixNanos(120), &touch(995, 1_005)[..]), None, "held 70 of 100; ask below the stop");
    assert_eq!(
        b.on_event(UnixNanos(121), &touch(995, 1_010)[..]).map(|s| (s.purpose, s.side)),
        Some((Purpose::StopLoss, Side::Buy))
    );
}

#[test]
fn several_brackets_trigger_in_one_event_one_signal_each() {
    let mut b = Brackets::new(2, 2);
    for s in [S0, S1] {
        for i in [I0, I1] {
            b.set_spec(s, i, Some(spec(None, None, Some(10))));
            let mut p = Position::default();
            p.apply(Side::Buy, Price(1), Qty(1), 0);
            b.on_position(s, i, &p, UnixNanos(0));
        }
    }
    let market: Vec<Option<Touch>> = vec![None, None];
    let mut seen = Vec::new();
    while let Some(sig) = b.on_event(UnixNanos(10), &market[..]) {
        seen.push((sig.strategy, sig.instrument));
    }
    seen.sort();
    assert_eq!(seen, vec![(S0, I0), (S0, I1), (S1, I0), (S1, I1)]);
}

// ---------------------------------------------------------------------------------------------
// The account end to end
// ---------------------------------------------------------------------------------------------

#[test]
fn an_entry_and_its_take_profit_through_the_account() {
    let mut a = Account::new(&shape());
    a.brackets_mut().set_spec(S0, I0, Some(spec(Some(Offset::Price(Price(20))), Some(Offset::Price(Price(20))), None)));
    a.submit(request(1, Side::Buy, 4, Purpose::Entry)).unwrap();
    a.on_order_event(UnixNanos(1), 1, &OrderEvent::Sent).unwrap();
    a.on_order_event(UnixNanos(2), 1, &fill(1_000, 1, 3)).unwrap();
    assert_eq!(a.brackets().get(S0, I0).map(|b| b.qty()), Some(1), "the first partial fill arms the bracket");
    a.on_order_event(UnixNanos(3), 1, &fill(1_004, 3, 0)).unwrap(); // average 1003
    assert_eq!(a.brackets().get(S0, I0).map(|b| b.qty()), Some(4));
    assert_eq!(a.on_market(UnixNanos(4), &touch(1_022, 1_023)[..]), None, "1003 + 20 = 1023");
    let sig = a.on_market(UnixNanos(5), &touch(1_023, 1_024)[..]).unwrap();
    assert_eq!((sig.purpose, sig.qty, sig.side), (Purpose::TakeProfit, Qty(4), Side::Sell));

    a.submit(request(2, sig.side, sig.qty.0, sig.purpose)).unwrap();
    a.on_order_event(UnixNanos(6), 2, &OrderEvent::Sent).unwrap();
    a.on_order_event(UnixNanos(7), 2, &fill_fee(1_023, 1, 3, 1)).unwrap();
    assert_eq!(a.on_market(UnixNanos(8), &touch(1_030, 1_031)[..]), None, "the exit is in flight");
    a.on_order_event(UnixNanos(9), 2, &OrderEvent::Canceled).unwrap(); // IOC rest cancelled
    let again = a.on_market(UnixNanos(10), &touch(1_030, 1_031)[..]).unwrap();
    assert_eq!((again.purpose, again.qty), (Purpose::TakeProfit, Qty(3)));

    a.submit(request(3, again.side, again.qty.0, again.purpose)).unwrap();
    a.on_order_event(UnixNanos(11), 3, &OrderEvent::Sent).unwrap();
    a.on_order_event(UnixNanos(12), 3, &fill_fee(1_030, 3, 0, 1)).unwrap();
    let p = a.portfolio().position(S0, I0).unwrap();
    assert_eq!((p.qty, p.realized, p.fees), (0, 20 + 3 * 27, 2));
    assert!(a.brackets().get(S0, I0).is_none() && a.orders().is_empty());
    assert_eq!(a.portfolio().total().net(), 20 + 81 - 2);
}

#[test]
fn an_exit_that_is_rejected_rearms_its_bracket() {
    let mut a = Account::new(&shape());
    a.brackets_mut().set_spec(S0, I0, Some(spec(None, None, Some(5))));
    a.submit(request(1, Side::Sell, 2, Purpose::Entry)).unwrap();
    a.on_order_event(UnixNanos(0), 1, &OrderEvent::Sent).unwrap();
    a.on_order_event(UnixNanos(0), 1, &fill(500, 2, 0)).unwrap();
    let sig = a.on_market(UnixNanos(5), &touch(499, 501)[..]).unwrap();
    assert_eq!((sig.purpose, sig.side), (Purpose::TimeExit, Side::Buy));
    a.submit(request(2, sig.side, sig.qty.0, sig.purpose)).unwrap();
    a.on_order_event(UnixNanos(6), 2, &OrderEvent::Sent).unwrap();
    assert_eq!(a.on_market(UnixNanos(6), &touch(499, 501)[..]), None);
    a.on_order_event(UnixNanos(7), 2, &OrderEvent::Rejected).unwrap();
    assert_eq!(a.on_market(UnixNanos(8), &touch(499, 501)[..]).map(|s| s.qty), Some(Qty(2)));
}

#[test]
fn the_account_refuses_ids_outside_its_tables() {
    let mut a = Account::new(&shape());
    let bad = request_for(1, StrategyId(2), I0, Side::Buy, 1, Purpose::Entry);
    assert!(a.submit(bad).is_err());
    let mut small = Account::new(&AccountShape { max_orders: 1, ..shape() });
    small.submit(request(1, Side::Buy, 1, Purpose::Entry)).unwrap();
    assert!(small.submit(request(2, Side::Buy, 1, Purpose::Entry)).is_err());
}

/// DESIGN.md §2.1: after construction, booking orders, fills and bracket checks allocates nothing.
#[test]
fn the_account_does_not_allocate_per_event() {
    let mut a = Account::new(&AccountShape { max_orders: 64, strategies: 4, money_scales: vec![5; 4] });
    for s in 0..4 {
        for i in 0..4 {
            let sp = spec(Some(Offset::Price(Price(5))), Some(Offset::Bps(50)), Some(1_000));
            a.brackets_mut().set_spec(StrategyId(s), InstrumentId(i), Some(sp));
        }
    }
    let market: Vec<Option<Touch>> = (0..4).map(|_| touch(1_000, 1_001)[0]).collect();
    let before = counting_alloc::allocations();
    let mut signals = 0;
    for n in 0..5_000u64 {
        let (s, i) = (StrategyId((n % 4) as u16), InstrumentId(((n / 4) % 4) as u16));
        let side = if n % 3 == 0 { Side::Sell } else { Side::Buy };
        a.submit(request_for(n + 1, s, i, side, 2, Purpose::Entry)).unwrap();
        a.on_order_event(UnixNanos(n), n + 1, &OrderEvent::Sent).unwrap();
        a.on_order_event(UnixNanos(n), n + 1, &fill(1_000 + (n % 7) as i64, 1, 1)).unwrap();
        a.on_order_event(UnixNanos(n), n + 1, &fill(1_000, 1, 0)).unwrap();
        if let Some(sig) = a.on_market(UnixNanos(n), &market[..]) {
            signals += 1;
            a.brackets_mut().exit_done(sig.strategy, sig.instrument);
        }
    }
    let allocations = counting_alloc::allocations() - before;
    assert_eq!(allocations, 0, "{allocations} allocations over 5000 orders");
    assert!(signals > 0);
}
