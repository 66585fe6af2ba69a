//! Queue position models: where a resting order stands in the queue of its price level when the
//! tape only shows the level's total size (L2, market-by-price).
//!
//! The semantics follow hftbacktest's queue models (`hftbacktest/src/backtest/models/queue.rs`,
//! and <https://hftbacktest.readthedocs.io/en/latest/reference/queue_models.html>), re-implemented
//! in integer quantities:
//!
//! - On arrival the order stands behind everything displayed at its price (`front` = the level's
//!   size), since the exchange queues by time.
//! - A trade at the order's price takes from the front of the queue: `front` shrinks by the traded
//!   size; what the trade had beyond `front` reaches the order (a fill).
//! - A decrease of the level's size that is not explained by trades is a cancel somewhere in the
//!   queue. [`QueueModel::RiskAverse`] (hftbacktest's `RiskAdverseQueueModel`) assumes every cancel
//!   is behind us: `front` only shrinks when the level becomes smaller than it. The probability
//!   models (hftbacktest's `ProbQueueModel`, after Rigtorp's estimator,
//!   <https://rigtorp.se/2013/06/08/estimating-order-queue-position.html>) take a share
//!   `1 - p` of the decrease as ahead of us, where `p = f(back) / (f(back) + f(front))` (or a
//!   variant) is the probability that a cancel came from behind. `front` and `back` enter `f` in
//!   the instrument's base unit (BTC, not the fixed-point unit of 10^-qty_scale BTC), as in
//!   hftbacktest: the power models do not care, but `ln(1 + x)` is not scale-invariant, so the log
//!   models would otherwise depend on the instrument's `qty_scale`.
//! - Trades at the order's price since the last depth update of its level (`cum_trade`) are
//!   subtracted from the next decrease so that they are not counted twice: the book already shows
//!   them. Every depth update of the level resets `cum_trade`, also one that repeats the level's
//!   size (the print was refilled from behind: the trades are already in the size it reports), as
//!   hftbacktest's `ProbQueueModel::depth` does for every depth row at the order's price. Only L2
//!   level updates at the order's price count as such updates (see
//!   [`super::SimExchange::on_market`]); an L1 quote repeats the size of an untouched side whenever
//!   the other side moves, so there only a change of size does.
//! - An increase never moves `front` (new orders join behind us); `front` never exceeds the level.
//!
//! Probabilities are computed in `f64` (they are a model output, DESIGN.md §2.4) and the estimate is
//! rounded to the nearest quantity unit.

use crate::types::Qty;

/// Which queue position model resting orders use.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum QueueModel {
    /// Only trades advance the queue (hftbacktest's `RiskAdverseQueueModel`): the pessimistic bound.
    RiskAverse,
    /// `p = back^n / (back^n + front^n)` (hftbacktest's `PowerProbQueueFunc`; n = 1 is its
    /// `IdentityProbQueueModel`, n = 2 its `SquareProbQueueModel`).
    PowerProb { n: f64 },
    /// `p = ln(1+back) / (ln(1+back) + ln(1+front))` (hftbacktest's `LogProbQueueFunc`).
    LogProb,
    /// `p = back^n / (back + front)^n` (hftbacktest's `PowerProbQueueFunc2`).
    PowerProb2 { n: f64 },
    /// `p = ln(1+back) / ln(1+back+front)` (hftbacktest's `LogProbQueueFunc2`).
    LogProb2,
    /// `p = 1 - (front / (front + back))^n` (hftbacktest's `PowerProbQueueFunc3`).
    PowerProb3 { n: f64 },
}

impl QueueModel {
    /// Reads a config name: `risk-averse`, `log`, `log2`, or `power:N`, `power2:N`, `power3:N` with
    /// a positive exponent `N` (`power:2` is hftbacktest's `SquareProbQueueModel`).
    pub fn parse(text: &str) -> Result<QueueModel, String> {
        let exponent = |n: &str| match n.parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 && v <= 100.0 => Ok(v),
            _ => Err(format!("{text:?}: the exponent must be a number in (0, 100]")),
        };
        match text.split_once(':') {
            None => match text {
                "risk-averse" => Ok(QueueModel::RiskAverse),
                "log" => Ok(QueueModel::LogProb),
                "log2" => Ok(QueueModel::LogProb2),
                _ => Err(format!(
                    "{text:?}: use \"risk-averse\", \"log\", \"log2\", \"power:N\", \"power2:N\" or \"power3:N\""
                )),
            },
            Some(("power", n)) => Ok(QueueModel::PowerProb { n: exponent(n)? }),
            Some(("power2", n)) => Ok(QueueModel::PowerProb2 { n: exponent(n)? }),
            Some(("power3", n)) => Ok(QueueModel::PowerProb3 { n: exponent(n)? }),
            Some(_) => Err(format!("{text:?}: only power, power2 and power3 take an exponent (\"power:2\")")),
        }
    }

    /// Probability that a decrease of the level came from behind the order, with `front` and `back`
    /// in the instrument's base unit (see the module docs).
    fn prob_behind(self, front: f64, back: f64) -> f64 {
        let p = match self {
            QueueModel::RiskAverse => 1.0,
            QueueModel::PowerProb { n } => {
                let (b, f) = (back.powf(n), front.powf(n));
                b / (b + f)
            }
            QueueModel::LogProb => {
                let (b, f) = (back.ln_1p(), front.ln_1p());
                b / (b + f)
            }
            QueueModel::PowerProb2 { n } => back.powf(n) / (back + front).powf(n),
            QueueModel::LogProb2 => back.ln_1p() / (back + front).ln_1p(),
            QueueModel::PowerProb3 { n } => 1.0 - (front / (front + back)).powf(n),
        };
        // 0/0 (an empty level) and ∞ are treated as "behind", as hftbacktest does for ∞.
        if p.is_finite() { p.clamp(0.0, 1.0) } else { 1.0 }
    }
}

/// Where one resting order stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueuePos {
    /// Quantity ahead of the order at its price. `i64::MAX` while unknown (an L1 tape whose touch is
    /// not at the order's price): the order is then behind whatever the level shows when it appears.
    pub front: i64,
    /// Quantity traded at the order's price since the last depth update of its level.
    pub cum_trade: i64,
}

impl QueuePos {
    /// Behind everything displayed (`None`: nothing known yet).
    pub fn behind(displayed: Option<Qty>) -> Self {
        QueuePos { front: displayed.map_or(i64::MAX, |q| q.0.max(0)), cum_trade: 0 }
    }

    /// A trade of `qty` at the order's price. Returns the quantity that reached the order (what the
    /// trade had beyond the queue ahead), before capping by the order's size; `front` is then 0.
    pub fn on_trade(&mut self, qty: Qty) -> i64 {
        let qty = qty.0.max(0);
        self.cum_trade = self.cum_trade.saturating_add(qty);
        if qty > self.front {
            let reached = qty - self.front;
            self.front = 0;
            reached
        } else {
            self.front -= qty;
            0
        }
    }

    /// A depth update of the level at the order's price: it went from `prev` to `new` (either
    /// unknown: `None`; `prev == new` when the update repeats the size). `units_per_base` is the
    /// number of quantity units in one base unit of the instrument (`10^qty_scale`): the
    /// probability models see `front` and `back` in base units.
    pub fn on_depth(&mut self, model: QueueModel, units_per_base: f64, prev: Option<Qty>, new: Option<Qty>) {
        let Some(new) = new.map(|q| q.0.max(0)) else {
            // The level went out of sight (deeper than the book kept, or behind an L1 touch).
            self.cum_trade = 0;
            return;
        };
        let Some(prev) = prev.map(|q| q.0.max(0)) else {
            self.front = self.front.min(new);
            self.cum_trade = 0;
            return;
        };
        let chg = prev - new - self.cum_trade;
        self.cum_trade = 0;
        if chg <= 0 || matches!(model, QueueModel::RiskAverse) {
            self.front = self.front.min(new);
            return;
        }
        let front = self.front.min(prev) as f64;
        let back = (prev as f64 - front).max(0.0);
        let p = model.prob_behind(front / units_per_base, back / units_per_base);
        let chg = chg as f64;
        let est = front - (1.0 - p) * chg + (back - p * chg).min(0.0);
        self.front = (est.round().max(0.0) as i64).min(new);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risk_averse_ignores_cancels_until_the_level_is_smaller_than_the_queue() {
        let mut q = QueuePos::behind(Some(Qty(10)));
        q.on_depth(QueueModel::RiskAverse, 1.0, Some(Qty(10)), Some(Qty(6)));
        assert_eq!(q.front, 6, "the level shrank below the queue");
        let mut q = QueuePos::behind(Some(Qty(4)));
        q.on_depth(QueueModel::RiskAverse, 1.0, Some(Qty(10)), Some(Qty(6)));
        assert_eq!(q.front, 4);
    }

    #[test]
    fn prob_models_take_a_share_of_cancels_as_ahead() {
        // front 6, back 4, 4 cancelled: identity p = 0.4 → 2.4 ahead, est = 6 - 2.4 + min(4-1.6, 0) = 3.6.
        let mut q = QueuePos { front: 6, cum_trade: 0 };
        q.on_depth(QueueModel::PowerProb { n: 1.0 }, 1.0, Some(Qty(10)), Some(Qty(6)));
        assert_eq!(q.front, 4);
        // Trades already seen are not counted again.
        let mut q = QueuePos { front: 6, cum_trade: 0 };
        assert_eq!(q.on_trade(Qty(4)), 0);
        q.on_depth(QueueModel::PowerProb { n: 1.0 }, 1.0, Some(Qty(10)), Some(Qty(6)));
        assert_eq!(q.front, 2);
    }

    #[test]
    fn log_models_see_base_units_whatever_the_quantity_scale() {
        // 1.757 ahead, 1.475 behind, the level falls by 1.533: the same market in 10^-3 and 10^-6.
        for model in [QueueModel::LogProb, QueueModel::LogProb2] {
            let mut milli = QueuePos { front: 1_757, cum_trade: 0 };
            milli.on_depth(model, 1e3, Some(Qty(3_232)), Some(Qty(1_699)));
            let mut micro = QueuePos { front: 1_757_000, cum_trade: 0 };
            micro.on_depth(model, 1e6, Some(Qty(3_232_000)), Some(Qty(1_699_000)));
            assert_eq!((micro.front as f64 / 1e3).round() as i64, milli.front, "{model:?}");
        }
    }

    #[test]
    fn a_depth_update_repeating_the_size_forgets_the_trades_before_it() {
        let mut q = QueuePos { front: 8, cum_trade: 0 };
        assert_eq!(q.on_trade(Qty(2)), 0);
        q.on_depth(QueueModel::PowerProb { n: 1.0 }, 1.0, Some(Qty(20)), Some(Qty(20)));
        assert_eq!(q, QueuePos { front: 6, cum_trade: 0 });
    }

    #[test]
    fn trades_beyond_the_queue_reach_the_order() {
        let mut q = QueuePos::behind(Some(Qty(5)));
        assert_eq!(q.on_trade(Qty(3)), 0);
        assert_eq!(q.on_trade(Qty(4)), 2);
        assert_eq!(q.front, 0);
    }
}
