//! Triple-barrier labels (López de Prado, *Advances in Financial Machine Learning*, ch. 3).
//!
//! From the decision point, the mid price path is followed until it first crosses the profit-take
//! barrier, the stop-loss barrier (both scaled by volatility, with a floor in basis points) or the time
//! (vertical) barrier. The label says which came first, the signed return in bps at that moment, and when
//! it happened (the end of the label's interval, which the splits in [`crate::split`] purge on).

/// The barrier parameters.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Barriers {
    /// Profit-take distance in units of sigma.
    pub profit_mult: f64,
    /// Stop-loss distance in units of sigma.
    pub stop_mult: f64,
    /// Floor on both distances, in bps.
    pub min_bps: f64,
    /// The vertical barrier: the longest holding time.
    pub max_hold_ns: u64,
}

/// Which barrier was touched first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Touched {
    ProfitTake,
    StopLoss,
    Vertical,
}

/// A sample's label.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Label {
    pub touched: Touched,
    /// Profit-take, or the vertical barrier with a return above the trading cost.
    pub win: bool,
    /// Signed return for the position's side at the touch, in bps of the entry mid.
    pub ret_bps: f64,
    /// When the label resolved: the touching mid's timestamp, or the vertical barrier's time.
    pub end_ns: u64,
}

/// Slack on barrier crossings, in bps, so that a mid exactly on a barrier counts as touching it despite
/// rounding in the return (relative error ≈ 1e-16 of price, i.e. ≈ 1e-12 bps).
const TOUCH_TOL_BPS: f64 = 1e-9;

/// Labels one candidate.
///
/// `path`: `(ts_ns, mid)` from the candidate's event onward; `path[0]` is the decision point and its mid
/// the entry price; timestamps non-decreasing. `long` is true for a buy. `sigma`: volatility as a fraction
/// of price over the holding horizon (e.g. 0.0005). The profit barrier lies `max(profit_mult·sigma·1e4,
/// min_bps)` bps from the entry in the position's favour, the stop `max(stop_mult·sigma·1e4, min_bps)`
/// against it, the vertical barrier at `path[0].0 + max_hold_ns`.
///
/// A horizontal barrier is touched by the first mid at or beyond it (a mid exactly at the vertical
/// barrier's time still counts); `ret_bps` is that mid's return, not the barrier level, and `end_ns` its
/// timestamp. Otherwise, once the path passes the vertical barrier's time, the label is `Vertical` with
/// the return of the last mid at or before that time and `end_ns` = the vertical barrier's time.
/// `win` = touched `ProfitTake`, or `Vertical` with `ret_bps > cost_bps`.
///
/// Returns `None` (the caller drops the sample) when the path ends before any barrier is touched and
/// before the vertical barrier's time, and on unusable input: an empty path, an entry mid that is not
/// positive and finite, a negative or non-finite `sigma`, barrier distances that are not positive and
/// finite, or a mid that is not positive and finite before the label resolves.
pub fn triple_barrier(path: &[(u64, f64)], long: bool, sigma: f64, b: &Barriers, cost_bps: f64) -> Option<Label> {
    let (&(t0, p0), rest) = path.split_first()?;
    if !(p0 > 0.0 && p0.is_finite() && sigma >= 0.0 && sigma.is_finite()) {
        return None;
    }
    let up = (b.profit_mult * sigma * 1e4).max(b.min_bps);
    let down = (b.stop_mult * sigma * 1e4).max(b.min_bps);
    if !(up > TOUCH_TOL_BPS && up.is_finite() && down > TOUCH_TOL_BPS && down.is_finite()) {
        return None;
    }
    let t_vert = t0.saturating_add(b.max_hold_ns);
    let vertical =
        |ret_bps: f64| Label { touched: Touched::Vertical, win: ret_bps > cost_bps, ret_bps, end_ns: t_vert };
    let mut last_ret = 0.0; // the return of the last mid at or before t_vert
    for &(ts, mid) in rest {
        if ts > t_vert {
            return Some(vertical(last_ret));
        }
        if !(mid > 0.0 && mid.is_finite()) {
            return None;
        }
        let ret = if long { (mid - p0) / p0 * 1e4 } else { (p0 - mid) / p0 * 1e4 };
        if ret >= up - TOUCH_TOL_BPS {
            return Some(Label { touched: Touched::ProfitTake, win: true, ret_bps: ret, end_ns: ts });
        }
        if ret <= -down + TOUCH_TOL_BPS {
            return Some(Label { touched: Touched::StopLoss, win: false, ret_bps: ret, end_ns: ts });
        }
        last_ret = ret;
    }
    // The path ended with no touch: a label only if the data reaches the vertical barrier.
    match path.last() {
        Some(&(ts, _)) if ts >= t_vert => Some(vertical(last_ret)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Entry 100, sigma 0.001 = 10 bps: profit 2σ = 20 bps (100.2), stop 1σ = 10 bps (99.9), floor 5 bps.
    const B: Barriers = Barriers { profit_mult: 2.0, stop_mult: 1.0, min_bps: 5.0, max_hold_ns: 100 };

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn profit_take_uses_the_first_mid_over_the_barrier() {
        let path = [(0, 100.0), (10, 100.1), (20, 100.15), (30, 100.25), (40, 99.0)];
        let l = triple_barrier(&path, true, 0.001, &B, 1.0).unwrap();
        assert_eq!((l.touched, l.win, l.end_ns), (Touched::ProfitTake, true, 30));
        assert!(close(l.ret_bps, 25.0), "the mid's return, not the barrier's 20: {}", l.ret_bps);
        // A mid exactly on the barrier touches it.
        let path = [(0, 100.0), (10, 100.2)];
        let l = triple_barrier(&path, true, 0.001, &B, 1.0).unwrap();
        assert_eq!((l.touched, l.end_ns), (Touched::ProfitTake, 10));
        assert!(close(l.ret_bps, 20.0));
    }

    #[test]
    fn stop_loss() {
        let path = [(0, 100.0), (10, 99.95), (20, 99.85), (30, 101.0)];
        let l = triple_barrier(&path, true, 0.001, &B, 1.0).unwrap();
        assert_eq!((l.touched, l.win, l.end_ns), (Touched::StopLoss, false, 20));
        assert!(close(l.ret_bps, -15.0));
    }

    #[test]
    fn short_positions_mirror() {
        // For a short, a falling mid is profit: 99.8 is +20 bps; 100.1 is −10 bps, the stop.
        let l = triple_barrier(&[(0, 100.0), (5, 99.8)], false, 0.001, &B, 1.0).unwrap();
        assert_eq!(l.touched, Touched::ProfitTake);
        assert!(close(l.ret_bps, 20.0));
        let l = triple_barrier(&[(0, 100.0), (5, 100.1)], false, 0.001, &B, 1.0).unwrap();
        assert_eq!(l.touched, Touched::StopLoss);
        assert!(close(l.ret_bps, -10.0));
    }

    #[test]
    fn vertical_barrier() {
        let b = Barriers { max_hold_ns: 10, ..B };
        // The mid at exactly t0 + 10 is inside the horizon (and does not touch); the next one is beyond.
        let path = [(0, 100.0), (5, 100.05), (10, 100.08), (12, 101.0)];
        let l = triple_barrier(&path, true, 0.001, &b, 3.0).unwrap();
        assert_eq!((l.touched, l.win, l.end_ns), (Touched::Vertical, true, 10));
        assert!(close(l.ret_bps, 8.0));
        // The same outcome does not cover a 10 bps cost.
        assert!(!triple_barrier(&path, true, 0.001, &b, 10.0).unwrap().win);
        // A path that ends exactly at the vertical barrier is enough.
        let l = triple_barrier(&path[..3], true, 0.001, &b, 3.0).unwrap();
        assert_eq!((l.touched, l.end_ns), (Touched::Vertical, 10));
        // A touch at exactly the vertical barrier's time is a touch.
        let l = triple_barrier(&[(0, 100.0), (10, 100.3)], true, 0.001, &b, 3.0).unwrap();
        assert_eq!(l.touched, Touched::ProfitTake);
        // No mid after the decision before the horizon passes: return 0.
        let l = triple_barrier(&[(0, 100.0), (50, 100.3)], true, 0.001, &b, -1.0).unwrap();
        assert_eq!((l.touched, l.ret_bps, l.win, l.end_ns), (Touched::Vertical, 0.0, true, 10));
    }

    #[test]
    fn not_enough_data() {
        let path = [(0, 100.0), (5, 100.05), (9, 100.08)];
        assert_eq!(triple_barrier(&path, true, 0.001, &Barriers { max_hold_ns: 10, ..B }, 1.0), None);
        assert_eq!(triple_barrier(&[], true, 0.001, &B, 1.0), None);
    }

    #[test]
    fn the_floor_applies_when_volatility_is_low() {
        // sigma 0.0001 → 2 bps and 1 bps, floored at 5 bps: 100.04 does not touch, 100.05 does.
        let path = [(0, 100.0), (1, 100.04), (2, 99.96), (3, 100.05)];
        let l = triple_barrier(&path, true, 0.0001, &B, 1.0).unwrap();
        assert_eq!((l.touched, l.end_ns), (Touched::ProfitTake, 3));
        let l = triple_barrier(&path, true, 0.0, &B, 1.0).unwrap();
        assert_eq!((l.touched, l.end_ns), (Touched::ProfitTake, 3));
    }

    #[test]
    fn bad_inputs_give_none() {
        let ok = [(0, 100.0), (1, 101.0)];
        assert_eq!(triple_barrier(&[(0, 0.0), (1, 1.0)], true, 0.001, &B, 1.0), None);
        assert_eq!(triple_barrier(&[(0, f64::NAN), (1, 1.0)], true, 0.001, &B, 1.0), None);
        assert_eq!(triple_barrier(&ok, true, f64::NAN, &B, 1.0), None);
        assert_eq!(triple_barrier(&ok, true, -0.001, &B, 1.0), None);
        assert_eq!(triple_barrier(&ok, true, 0.0, &Barriers { min_bps: 0.0, ..B }, 1.0), None);
        assert_eq!(triple_barrier(&[(0, 100.0), (1, f64::NAN), (2, 101.0)], true, 0.001, &B, 1.0), None);
        // u64 overflow of the vertical barrier saturates.
        let far = Barriers { max_hold_ns: u64::MAX, ..B };
        assert_eq!(
            triple_barrier(&[(5, 100.0), (6, 100.5)], true, 0.001, &far, 1.0).unwrap().touched,
            Touched::ProfitTake
        );
    }

    fn paths() -> impl Strategy<Value = Vec<(u64, f64)>> {
        (50.0f64..200.0, proptest::collection::vec((0u64..30, -15.0f64..15.0), 0..60)).prop_map(|(p0, steps)| {
            let mut path = vec![(1000, p0)];
            let (mut t, mut p) = (1000u64, p0);
            for (dt, bps) in steps {
                t += dt;
                p *= 1.0 + bps / 1e4;
                path.push((t, p));
            }
            path
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The label is the FIRST touch: every mid before it stays strictly inside both barriers, and
        /// the touching mid is beyond its barrier.
        #[test]
        fn first_touch(path in paths(), long in any::<bool>(), sigma in 0.0f64..0.003, hold in 0u64..400) {
            let b = Barriers { max_hold_ns: hold, ..B };
            let (t0, p0) = path[0];
            let up = (b.profit_mult * sigma * 1e4).max(b.min_bps);
            let down = (b.stop_mult * sigma * 1e4).max(b.min_bps);
            let ret = |m: f64| if long { (m - p0) / p0 * 1e4 } else { (p0 - m) / p0 * 1e4 };
            match triple_barrier(&path, long, sigma, &b, 2.0) {
                None => prop_assert!(path.last().unwrap().0 < t0 + hold),
                Some(l) => {
                    prop_assert!(l.end_ns >= t0 && l.end_ns <= t0 + hold);
                    let cut = path.iter().position(|&(ts, m)| {
                        ts > t0 + hold || ret(m) >= up - 1e-9 || ret(m) <= -down + 1e-9
                    });
                    for &(_, m) in &path[1..cut.unwrap_or(path.len())] {
                        prop_assert!(ret(m) < up && ret(m) > -down);
                    }
                    match l.touched {
                        Touched::ProfitTake => {
                            prop_assert!(l.win && l.ret_bps >= up - 1e-9);
                            prop_assert_eq!(path[cut.unwrap()].0, l.end_ns);
                        }
                        Touched::StopLoss => {
                            prop_assert!(!l.win && l.ret_bps <= -down + 1e-9);
                            prop_assert_eq!(path[cut.unwrap()].0, l.end_ns);
                        }
                        Touched::Vertical => {
                            prop_assert_eq!(l.end_ns, t0 + hold);
                            prop_assert_eq!(l.win, l.ret_bps > 2.0);
                            prop_assert!(l.ret_bps < up && l.ret_bps > -down);
                        }
                    }
                }
            }
        }

        /// A short is a long with the barriers swapped and the return negated.
        #[test]
        fn short_mirrors_long(path in paths(), sigma in 0.0f64..0.003, hold in 0u64..400) {
            let b = Barriers { max_hold_ns: hold, ..B };
            let swapped = Barriers { profit_mult: b.stop_mult, stop_mult: b.profit_mult, ..b };
            let short = triple_barrier(&path, false, sigma, &b, 0.0);
            let long = triple_barrier(&path, true, sigma, &swapped, 0.0);
            match (short, long) {
                (None, None) => {}
                (Some(s), Some(l)) => {
                    let mirrored = match l.touched {
                        Touched::ProfitTake => Touched::StopLoss,
                        Touched::StopLoss => Touched::ProfitTake,
                        Touched::Vertical => Touched::Vertical,
                    };
                    prop_assert_eq!(s.touched, mirrored);
                    prop_assert_eq!(s.end_ns, l.end_ns);
                    prop_assert!((s.ret_bps + l.ret_bps).abs() < 1e-9);
                }
                (s, l) => prop_assert!(false, "short {:?} vs long {:?}", s, l),
            }
        }
    }
}
