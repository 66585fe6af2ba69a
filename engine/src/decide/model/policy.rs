//! From the models' answers to a decision: the p(win) gate, expected value, market or join, and the
//! CVaR size. Pure functions of numbers, so each is tested by hand-computed cases and properties.
//!
//! All in basis points of the mid at decision:
//!
//! ```text
//! edge       = p·avg_win − (1 − p)·avg_loss                  (the model's trade statistics, gross)
//! EV_market  = edge − slippage − taker_fee                   (a market order pays the slippage model's
//!                                                             estimate from the mid, or the half spread)
//! EV_join    = fill_probability · (edge + half_spread − maker_fee)
//!                                                            (joining our own touch saves the half
//!                                                             spread, pays the maker fee, may not fill)
//! ```
//!
//! `strategy.entry = "auto"` takes the larger (market on a tie: it fills for sure); `"market"` and
//! `"join"` keep their style. Either way the chosen EV must reach `strategy.min_ev_bps`.
//!
//! Size: with a CVaR budget `B` (quote currency), the entry is the most whole lots whose loss at the
//! CVaR stays within it — `qty = floor_to_lot(B / (mid · (cvar95_loss + slippage + fee) / 10⁴))`,
//! the fee being the chosen style's, capped at `order_qty`. The slippage estimate is counted for
//! a joined entry too (conservative: a join cancelled unfilled may be followed by a market exit). A
//! loss estimate at or below zero sizes at the cap; less than one lot blocks the candidate. Without a
//! budget every entry is `order_qty`. Sizes stay fixed-point: floats only carry the model outputs.

use super::{ModelFault, TradeStats};
use crate::journal::BlockReason;
use crate::types::{Price, Qty};

/// How a model-approved entry goes to the market.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// IOC market order.
    Market,
    /// Post-only limit order at our own touch.
    Join,
}

/// Which styles decide may pick from (`strategy.entry`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StyleChoice {
    Market,
    Join,
    /// The larger expected value.
    Auto,
}

/// What an entry costs beyond the mid, in bps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Costs {
    /// A market order's slippage from the mid: the slippage model's, or the half spread.
    pub slippage_bps: f64,
    pub half_spread_bps: f64,
    pub maker_fee_bps: f64,
    pub taker_fee_bps: f64,
}

/// Everything [`plan`] decides from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Inputs {
    pub p_win: f64,
    pub stats: TradeStats,
    pub costs: Costs,
    pub choice: StyleChoice,
    pub min_pwin: f64,
    pub min_ev_bps: f64,
    pub join_fill_probability: f64,
    /// CVaR budget in units of `10^-(price_scale + qty_scale)` of the quote currency; 0: off.
    pub cvar_budget: i128,
    /// The mid, in price units (`10^-price_scale`).
    pub mid_px: f64,
    pub lot: Qty,
    /// The configured size: the size without a budget, and the cap with one.
    pub order_qty: Qty,
}

/// A model-approved entry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plan {
    pub style: Style,
    /// Expected value of the chosen style, bps.
    pub ev_bps: f64,
    pub qty: Qty,
}

/// The p(win) gate, then EV and style, then size; the first refusal is the reason.
pub fn plan(i: &Inputs) -> Result<Plan, BlockReason> {
    // A NaN anywhere refuses (fail safe).
    if i.p_win.is_nan() || i.p_win < i.min_pwin {
        return Err(BlockReason::BelowPWin);
    }
    let market = ev_market_bps(i.p_win, &i.stats, &i.costs);
    let join = ev_join_bps(i.p_win, &i.stats, &i.costs, i.join_fill_probability);
    let (style, ev_bps) = choose(i.choice, market, join);
    if ev_bps.is_nan() || ev_bps < i.min_ev_bps {
        return Err(BlockReason::NegativeEv);
    }
    let fee = match style {
        Style::Market => i.costs.taker_fee_bps,
        Style::Join => i.costs.maker_fee_bps,
    };
    let loss_bps = i.stats.cvar95_loss_bps + i.costs.slippage_bps + fee;
    let qty =
        if i.cvar_budget > 0 { cvar_qty(i.cvar_budget, i.mid_px, loss_bps, i.lot, i.order_qty) } else { i.order_qty };
    if qty.0 <= 0 {
        return Err(BlockReason::BelowMinSize);
    }
    Ok(Plan { style, ev_bps, qty })
}

/// `p·avg_win − (1 − p)·avg_loss`, bps.
#[inline]
pub fn edge_bps(p: f64, stats: &TradeStats) -> f64 {
    p * stats.avg_win_bps - (1.0 - p) * stats.avg_loss_bps
}

/// Expected value of a market entry, bps.
#[inline]
pub fn ev_market_bps(p: f64, stats: &TradeStats, c: &Costs) -> f64 {
    edge_bps(p, stats) - c.slippage_bps - c.taker_fee_bps
}

/// Expected value of joining our own touch, bps.
#[inline]
pub fn ev_join_bps(p: f64, stats: &TradeStats, c: &Costs, fill_probability: f64) -> f64 {
    fill_probability * (edge_bps(p, stats) + c.half_spread_bps - c.maker_fee_bps)
}

/// The style and its EV: the fixed style, or for `Auto` the larger (market on a tie, or when the
/// join's EV is NaN).
#[inline]
pub fn choose(choice: StyleChoice, ev_market: f64, ev_join: f64) -> (Style, f64) {
    match choice {
        StyleChoice::Market => (Style::Market, ev_market),
        StyleChoice::Join => (Style::Join, ev_join),
        StyleChoice::Auto if ev_join > ev_market => (Style::Join, ev_join),
        StyleChoice::Auto => (Style::Market, ev_market),
    }
}

/// The most whole lots, up to `cap`, whose loss at `loss_bps` of `mid_px` stays within `budget`
/// (money units). A loss at or below zero sizes at `cap`; a NaN one sizes at 0 (fail safe).
pub fn cvar_qty(budget: i128, mid_px: f64, loss_bps: f64, lot: Qty, cap: Qty) -> Qty {
    // Money units lost per quantity unit: (mid_px · 10^-ps) · 10^-qs · loss / 10⁴ quote.
    let per_unit = mid_px * loss_bps / 1e4;
    if per_unit.is_nan() || budget <= 0 {
        return Qty(0);
    }
    if per_unit <= 0.0 {
        return cap;
    }
    let units = budget as f64 / per_unit;
    if units.is_nan() {
        return Qty(0);
    }
    if units >= cap.0 as f64 {
        return cap;
    }
    let lot = lot.0.max(1);
    Qty((units.floor() as i64) / lot * lot)
}

/// Half the spread, bps of the mid.
#[inline]
pub fn half_spread_bps(bid: Price, ask: Price) -> f64 {
    let mid = (bid.0 as f64 + ask.0 as f64) / 2.0;
    if mid > 0.0 { (ask.0 - bid.0) as f64 / mid * 1e4 / 2.0 } else { f64::NAN }
}

/// A fee in thousandths of a bp, in bps.
#[inline]
pub fn fee_bps(millibps: i64) -> f64 {
    millibps as f64 / 1000.0
}

/// A p(win) model's output, checked: finite and in [0, 1].
#[inline]
pub fn pwin_output(v: f32) -> Result<f64, ModelFault> {
    if (0.0..=1.0).contains(&v) { Ok(f64::from(v)) } else { Err(ModelFault::BadOutput) }
}

/// A slippage model's output, checked: finite (any sign: a negative slippage is price improvement).
#[inline]
pub fn slippage_output(v: f32) -> Result<f64, ModelFault> {
    if v.is_finite() { Ok(f64::from(v)) } else { Err(ModelFault::BadOutput) }
}

/// What a failed model call is journaled as.
pub fn fault_reason(f: ModelFault) -> BlockReason {
    match f {
        ModelFault::Error => BlockReason::ModelError,
        ModelFault::BadOutput => BlockReason::ModelBadOutput,
        ModelFault::Overrun => BlockReason::ModelOverrun,
    }
}

/// Trade statistics a p(win) model may be installed with: finite, non-negative.
pub fn stats_ok(s: &TradeStats) -> bool {
    [s.avg_win_bps, s.avg_loss_bps, s.cvar95_loss_bps].iter().all(|v| v.is_finite() && *v >= 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STATS: TradeStats = TradeStats { avg_win_bps: 10.0, avg_loss_bps: 8.0, cvar95_loss_bps: 30.0 };
    const COSTS: Costs = Costs { slippage_bps: 1.5, half_spread_bps: 1.0, maker_fee_bps: 2.0, taker_fee_bps: 5.0 };

    fn inputs(p: f64) -> Inputs {
        Inputs {
            p_win: p,
            stats: STATS,
            costs: COSTS,
            choice: StyleChoice::Auto,
            min_pwin: 0.55,
            min_ev_bps: 0.0,
            join_fill_probability: 0.35,
            cvar_budget: 0,
            mid_px: 6_000_000.0, // 60000.00 at price scale 2
            lot: Qty(1),
            order_qty: Qty(10),
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn expected_values_by_hand() {
        // p = 0.8: edge = 0.8·10 − 0.2·8 = 6.4 bps.
        assert!(close(edge_bps(0.8, &STATS), 6.4));
        // Market: 6.4 − 1.5 − 5 = −0.1.
        assert!(close(ev_market_bps(0.8, &STATS, &COSTS), -0.1));
        // Join: 0.35 · (6.4 + 1 − 2) = 1.89.
        assert!(close(ev_join_bps(0.8, &STATS, &COSTS, 0.35), 1.89));
        // Auto joins; a forced market refuses on EV.
        let p = plan(&inputs(0.8)).unwrap();
        assert_eq!(p.style, Style::Join);
        assert!(close(p.ev_bps, 1.89));
        assert_eq!(p.qty, Qty(10));
        assert_eq!(plan(&Inputs { choice: StyleChoice::Market, ..inputs(0.8) }), Err(BlockReason::NegativeEv));
        // p = 1: edge 10; market 3.5, join 0.35 · 9 = 3.15: auto goes to market.
        let p = plan(&inputs(1.0)).unwrap();
        assert_eq!(p.style, Style::Market);
        assert!(close(p.ev_bps, 3.5));
        // A forced join at p = 1 keeps its style and its EV.
        let p = plan(&Inputs { choice: StyleChoice::Join, ..inputs(1.0) }).unwrap();
        assert_eq!(p.style, Style::Join);
        assert!(close(p.ev_bps, 3.15));
    }

    #[test]
    fn gates_in_order() {
        assert_eq!(plan(&inputs(0.5)), Err(BlockReason::BelowPWin));
        assert_eq!(plan(&inputs(f64::NAN)), Err(BlockReason::BelowPWin));
        // p = 0.55 passes the gate (at the threshold): edge 5.5 − 3.6 = 1.9; market −4.6; join
        // 0.35 · 0.9 = 0.315 ≥ 0.
        assert_eq!(plan(&inputs(0.55)).unwrap().style, Style::Join);
        assert_eq!(plan(&Inputs { min_ev_bps: 0.5, ..inputs(0.55) }), Err(BlockReason::NegativeEv));
    }

    #[test]
    fn cvar_size_by_hand() {
        // Budget 100 USDT at money scale 5 (price 2 + qty 3) = 10_000_000 units; mid 60000.00; loss
        // 20 bps → 0.12 USDT (12_000 units) per 0.001 BTC → 833.33 → 833 (0.833 BTC); whole lots of
        // 5 → 830.
        assert_eq!(cvar_qty(10_000_000, 6_000_000.0, 20.0, Qty(1), Qty(1_000)), Qty(833));
        assert_eq!(cvar_qty(10_000_000, 6_000_000.0, 20.0, Qty(5), Qty(1_000)), Qty(830));
        // Capped at order_qty.
        assert_eq!(cvar_qty(10_000_000, 6_000_000.0, 20.0, Qty(1), Qty(500)), Qty(500));
        // Less than a lot: 0.
        assert_eq!(cvar_qty(10_000, 6_000_000.0, 20.0, Qty(10), Qty(1_000)), Qty(0));
        // A loss at or below zero: the cap; NaN: nothing.
        assert_eq!(cvar_qty(10_000, 6_000_000.0, -1.0, Qty(10), Qty(1_000)), Qty(1_000));
        assert_eq!(cvar_qty(10_000, 6_000_000.0, f64::NAN, Qty(10), Qty(1_000)), Qty(0));
    }

    #[test]
    fn plan_sizes_with_the_chosen_styles_fee() {
        // p = 1, market (EV 3.5): loss = 30 + 1.5 + 5 = 36.5 bps; 60000.00 · 36.5e-4 = 0.219 USDT
        // (21_900 units) per 0.001 BTC: a budget of 100 USDT = 10_000_000 units → 456.6 → 456.
        let i = Inputs { cvar_budget: 10_000_000, order_qty: Qty(10_000), ..inputs(1.0) };
        assert_eq!(plan(&i).unwrap(), Plan { style: Style::Market, ev_bps: 3.5, qty: Qty(456) });
        // p = 0.8, join: loss = 30 + 1.5 + 2 = 33.5 → 20_100 per unit → 497.5 → 497.
        let i = Inputs { cvar_budget: 10_000_000, order_qty: Qty(10_000), ..inputs(0.8) };
        assert_eq!(plan(&i).unwrap().qty, Qty(497));
        let i = Inputs { cvar_budget: 100, ..inputs(0.8) };
        assert_eq!(plan(&i), Err(BlockReason::BelowMinSize));
    }

    #[test]
    fn outputs_are_checked_and_faults_named() {
        assert_eq!(pwin_output(0.7), Ok(f64::from(0.7f32)));
        for bad in [f32::NAN, f32::INFINITY, -0.01, 1.01] {
            assert_eq!(pwin_output(bad), Err(ModelFault::BadOutput), "{bad}");
        }
        assert_eq!(slippage_output(-2.0), Ok(-2.0));
        assert_eq!(slippage_output(f32::NEG_INFINITY), Err(ModelFault::BadOutput));
        assert_eq!(fault_reason(ModelFault::Overrun), BlockReason::ModelOverrun);
        assert!(close(half_spread_bps(Price(6_000_000), Price(6_000_012)), 12.0 / 6_000_006.0 * 1e4 / 2.0));
        assert!(close(fee_bps(2_500), 2.5));
        assert!(!stats_ok(&TradeStats { avg_win_bps: f64::NAN, ..STATS }));
        assert!(!stats_ok(&TradeStats { cvar95_loss_bps: -1.0, ..STATS }));
    }

    fn any_inputs() -> impl Strategy<Value = Inputs> {
        (
            (0.0f64..=1.0, 0.0f64..100.0, 0.0f64..100.0, 0.0f64..200.0),
            (-5.0f64..50.0, 0.0f64..20.0, -2.0f64..10.0, -2.0f64..10.0),
            (0u8..3, 0.0f64..=1.0, -5.0f64..5.0, 0.01f64..=1.0),
            (0i128..100_000_000, 1_000.0f64..10_000_000.0, 1i64..20, 1i64..200),
        )
            .prop_map(
                |((p, w, l, c), (s, h, maker, taker), (choice, min_pwin, min_ev, fill), (budget, mid, lot, lots))| {
                    Inputs {
                        p_win: p,
                        stats: TradeStats { avg_win_bps: w, avg_loss_bps: l, cvar95_loss_bps: c },
                        costs: Costs {
                            slippage_bps: s,
                            half_spread_bps: h,
                            maker_fee_bps: maker,
                            taker_fee_bps: taker,
                        },
                        choice: [StyleChoice::Market, StyleChoice::Join, StyleChoice::Auto][usize::from(choice)],
                        min_pwin,
                        min_ev_bps: min_ev,
                        join_fill_probability: fill,
                        cvar_budget: budget,
                        mid_px: mid,
                        lot: Qty(lot),
                        order_qty: Qty(lot * lots),
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn a_plan_never_breaks_a_gate(i in any_inputs()) {
            match plan(&i) {
                Ok(p) => {
                    prop_assert!(i.p_win >= i.min_pwin);
                    prop_assert!(p.ev_bps >= i.min_ev_bps);
                    prop_assert!(p.qty.0 > 0 && p.qty <= i.order_qty, "{:?}", p);
                    prop_assert_eq!(p.qty.0 % i.lot.0, 0);
                    let market = ev_market_bps(i.p_win, &i.stats, &i.costs);
                    let join = ev_join_bps(i.p_win, &i.stats, &i.costs, i.join_fill_probability);
                    match i.choice {
                        StyleChoice::Market => prop_assert_eq!(p.style, Style::Market),
                        StyleChoice::Join => prop_assert_eq!(p.style, Style::Join),
                        StyleChoice::Auto => prop_assert!(p.ev_bps == market.max(join)),
                    }
                    if i.cvar_budget == 0 {
                        prop_assert_eq!(p.qty, i.order_qty);
                    }
                }
                Err(BlockReason::BelowPWin) => prop_assert!(i.p_win < i.min_pwin),
                Err(BlockReason::NegativeEv | BlockReason::BelowMinSize) => prop_assert!(i.p_win >= i.min_pwin),
                Err(other) => prop_assert!(false, "unexpected {:?}", other),
            }
        }

        #[test]
        fn the_cvar_size_keeps_the_loss_within_the_budget(
            budget in 1i128..1_000_000_000, mid in 1_000.0f64..10_000_000.0, loss in 0.01f64..500.0,
            lot in 1i64..50, lots in 1i64..1_000,
        ) {
            let cap = Qty(lot * lots);
            let q = cvar_qty(budget, mid, loss, Qty(lot), cap);
            prop_assert!(q.0 >= 0 && q <= cap && q.0 % lot == 0);
            let per_unit = mid * loss / 1e4;
            // Within the budget (float slack of a millionth), and one more lot would pass it unless capped.
            prop_assert!(q.0 as f64 * per_unit <= budget as f64 * (1.0 + 1e-6));
            if q < cap {
                prop_assert!((q.0 + lot) as f64 * per_unit > budget as f64 * (1.0 - 1e-6));
            }
        }
    }
}
