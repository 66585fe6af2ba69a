//! Price, spread and order-flow dynamics: what the market does inside each regime.
//!
//! A hidden fair value moves in log-price space (so the price can never reach zero and moves
//! scale with the price). The visible book follows it: on a book event the touch is repositioned
//! around the fair value at a spread that widens with recent volatility, and a few levels have
//! liquidity added or cancelled. Trades are market orders whose side leans towards where the fair
//! value is heading, so order flow carries information as it does on real venues, and each trade
//! nudges the fair value (price impact).

use super::book::{Book, Change, MAX_LOTS};
use super::random::Random;
use super::regime::Regime;
use kestrel_engine::types::{Aggressor, BookSide};

/// One basis point in log-price units.
const BP: f64 = 1e-4;
/// Time constant of the volatility estimate that sets the spread, in seconds.
const VOL_TAU_S: f64 = 10.0;
/// Widest spread the book quotes, in ticks.
const MAX_SPREAD: i64 = 64;
/// Highest fair value relative to the start price (×20): keeps every price far inside `i64`.
const MAX_LOG_MOVE: f64 = 3.0;
/// Scale, in log-price, of the pull that makes trends more likely to head back towards the start
/// price: long tapes stay in a sensible range instead of wandering off.
const TREND_HOMING: f64 = 0.05;

/// How a regime behaves. Rates are per second, volatilities in basis points per √second.
#[derive(Clone, Copy, Debug)]
struct Params {
    book_rate: f64,
    trade_rate: f64,
    sigma_bp: f64,
    /// Mean-reversion speed towards the episode's anchor (1/s); 0 for a random walk.
    theta: f64,
    /// Trend drift magnitude is drawn uniformly from this range (bp/s) per episode.
    drift_bp: (f64, f64),
    jump_rate: f64,
    jump_bp: f64,
}

fn params(regime: Regime) -> Params {
    match regime {
        Regime::Trend => Params {
            book_rate: 50.0,
            trade_rate: 10.0,
            sigma_bp: 1.2,
            theta: 0.0,
            drift_bp: (0.6, 1.6),
            jump_rate: 0.0,
            jump_bp: 0.0,
        },
        Regime::Range => Params {
            book_rate: 35.0,
            trade_rate: 5.0,
            sigma_bp: 1.0,
            theta: 1.0 / 30.0,
            drift_bp: (0.0, 0.0),
            jump_rate: 0.0,
            jump_bp: 0.0,
        },
        Regime::Chop => Params {
            book_rate: 80.0,
            trade_rate: 15.0,
            sigma_bp: 3.0,
            theta: 1.0 / 4.0,
            drift_bp: (0.0, 0.0),
            jump_rate: 0.1,
            jump_bp: 6.0,
        },
    }
}

/// What a market event produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// The book changed (the changes are in the caller's buffer).
    Book,
    /// A trade at `ticks` for `lots`; the book changes it caused are in the caller's buffer.
    Trade { aggressor: Aggressor, ticks: i64, lots: i64 },
    /// Nothing happened (a book event that changed no level, or a sell that could not fill).
    None,
}

/// The fair value, the book that follows it, and the random stream both draw from.
#[derive(Debug)]
pub(crate) struct Market {
    rng: Random,
    book: Book,
    regime: Regime,
    params: Params,
    /// Events per second multiplier from the config.
    activity: f64,
    start_ticks: f64,
    /// Log of fair value / start price.
    x: f64,
    x_min: f64,
    anchor: f64,
    /// Trend drift in log-price per second (signed); 0 outside trends.
    drift: f64,
    /// EWMA of squared fair-value changes per second, in ticks²/s.
    var_rate: f64,
}

impl Market {
    /// A market at `start_ticks` in `regime`, with its opening book reported in `out`.
    pub(crate) fn new(
        mut rng: Random,
        regime: Regime,
        start_ticks: i64,
        depth: usize,
        activity: f64,
        out: &mut Vec<Change>,
    ) -> Self {
        let p = params(regime);
        let start = start_ticks as f64;
        // Never let the fair value fall to where the bid ladder would need non-positive prices.
        let floor = (depth as i64 + MAX_SPREAD) as f64;
        let x_min = (floor / start).ln().min(0.0);
        let sigma_ticks = p.sigma_bp * BP * start;
        let var_rate = sigma_ticks * sigma_ticks;
        let spread = spread_for(var_rate);
        let (bid, ask) = targets(start, spread, depth as i64);
        let book = Book::new(depth, bid, ask, &mut rng, out);
        let mut market = Market {
            rng,
            book,
            regime,
            params: p,
            activity,
            start_ticks: start,
            x: 0.0,
            x_min,
            anchor: 0.0,
            drift: 0.0,
            var_rate,
        };
        market.enter(regime);
        market
    }

    pub(crate) fn rng(&mut self) -> &mut Random {
        &mut self.rng
    }

    pub(crate) fn book(&self) -> &Book {
        &self.book
    }

    /// Fair value in ticks.
    pub(crate) fn fair_ticks(&self) -> f64 {
        self.start_ticks * self.x.exp()
    }

    /// Total event rate (book + trade) per second.
    pub(crate) fn event_rate(&self) -> f64 {
        (self.params.book_rate + self.params.trade_rate) * self.activity
    }

    /// Starts an episode of `regime`: ranges and chop revert to where the episode began; a trend
    /// draws its direction (leaning back towards the start price) and speed.
    pub(crate) fn enter(&mut self, regime: Regime) {
        self.regime = regime;
        self.params = params(regime);
        self.anchor = self.x;
        self.drift = 0.0;
        if regime == Regime::Trend {
            let p_up = 1.0 / (1.0 + (self.x / TREND_HOMING).exp());
            let sign = if self.rng.chance(p_up) { 1.0 } else { -1.0 };
            let (lo, hi) = self.params.drift_bp;
            self.drift = sign * (lo + (hi - lo) * self.rng.uniform()) * BP;
        }
    }

    /// Moves the fair value forward by `dt` seconds: drift and diffusion in a trend, exact
    /// Ornstein-Uhlenbeck steps in range and chop, plus chop's jumps.
    pub(crate) fn advance(&mut self, dt: f64) {
        if dt <= 0.0 {
            return;
        }
        let before = self.fair_ticks();
        let p = self.params;
        let sigma = p.sigma_bp * BP;
        let z = self.rng.normal();
        if p.theta > 0.0 {
            let decay = (-p.theta * dt).exp();
            let sd = sigma * ((1.0 - decay * decay) / (2.0 * p.theta)).sqrt();
            self.x = self.anchor + (self.x - self.anchor) * decay + sd * z;
        } else {
            self.x += self.drift * dt + sigma * dt.sqrt() * z;
        }
        if p.jump_rate > 0.0 && self.rng.chance(1.0 - (-p.jump_rate * dt).exp()) {
            self.x += p.jump_bp * BP * self.rng.normal();
        }
        self.x = self.x.clamp(self.x_min, MAX_LOG_MOVE);
        let d = self.fair_ticks() - before;
        let w = 1.0 - (-dt / VOL_TAU_S).exp();
        self.var_rate = (1.0 - w) * self.var_rate + w * d * d / dt;
    }

    /// Draws which kind of event comes next and runs it, reporting book changes in `out`.
    pub(crate) fn event(&mut self, out: &mut Vec<Change>) -> Event {
        let p_trade = self.params.trade_rate / (self.params.book_rate + self.params.trade_rate);
        if self.rng.chance(p_trade) { self.trade(out) } else { self.book_event(out) }
    }

    /// Quotes move to the fair value and a few levels change size.
    fn book_event(&mut self, out: &mut Vec<Change>) -> Event {
        let (bid, ask) = targets(self.fair_ticks(), spread_for(self.var_rate), self.book.min_bid());
        self.book.reposition(bid, ask, &mut self.rng, out);
        let levels = 1 + self.rng.below(3);
        for _ in 0..levels {
            let side = if self.rng.chance(0.5) { BookSide::Bid } else { BookSide::Ask };
            let index = self.rng.geometric(0.35) as usize;
            self.book.churn(side, index, &mut self.rng, out);
        }
        if out.is_empty() { Event::None } else { Event::Book }
    }

    /// A market order: buyers arrive when the fair value is above the book's mid (and in an up
    /// trend), sellers in the opposite case; sizes are heavy-tailed.
    fn trade(&mut self, out: &mut Vec<Change>) -> Event {
        let lead = self.fair_ticks() - self.book.mid_ticks();
        let trend = if self.drift > 0.0 {
            0.6
        } else if self.drift < 0.0 {
            -0.6
        } else {
            0.0
        };
        let p_buy = 1.0 / (1.0 + (-(1.2 * lead + trend)).exp());
        let buy = self.rng.chance(p_buy);
        let wanted = self.rng.pareto(50.0, 1.2).min(MAX_LOTS as f64) as i64;
        let (aggressor, side) = if buy { (Aggressor::Buy, BookSide::Ask) } else { (Aggressor::Sell, BookSide::Bid) };
        let Some((ticks, lots)) = self.book.take(side, wanted, &mut self.rng, out) else {
            return Event::None;
        };
        let impact = (0.05 * (lots as f64 / 50.0).sqrt()).min(1.0) * BP;
        self.x = (self.x + if buy { impact } else { -impact }).clamp(self.x_min, MAX_LOG_MOVE);
        Event::Trade { aggressor, ticks, lots }
    }
}

/// Spread in ticks from the volatility estimate: market makers widen when prices move fast.
fn spread_for(var_rate: f64) -> i64 {
    let s = (0.3 + 0.8 * var_rate.sqrt()).round();
    if s.is_finite() { (s as i64).clamp(1, MAX_SPREAD) } else { MAX_SPREAD }
}

/// Best bid and ask around `fair` ticks at `spread`, with the bid no lower than `min_bid`.
fn targets(fair: f64, spread: i64, min_bid: i64) -> (i64, i64) {
    let raw = (fair - spread as f64 / 2.0 + 0.5).floor();
    let bid = if raw.is_finite() { (raw as i64).max(min_bid) } else { min_bid };
    (bid, bid + spread)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_straddle_the_fair_value() {
        assert_eq!(targets(100.3, 1, 1), (100, 101));
        assert_eq!(targets(100.7, 2, 1), (100, 102));
        assert_eq!(targets(100.2, 2, 1), (99, 101));
        assert_eq!(targets(3.0, 2, 20), (20, 22));
        assert_eq!(targets(f64::NAN, 2, 20), (20, 22));
    }

    #[test]
    fn spread_widens_with_volatility() {
        assert_eq!(spread_for(1.0), 1);
        assert!(spread_for(9.0) > spread_for(1.0));
        assert_eq!(spread_for(f64::INFINITY), MAX_SPREAD);
    }

    #[test]
    fn chop_is_more_volatile_than_range() {
        let realised = |regime| {
            let mut out = Vec::new();
            let mut m = Market::new(Random::new(5, 0), regime, 10_000, 20, 1.0, &mut out);
            let mut sum = 0.0;
            for _ in 0..20_000 {
                let before = m.fair_ticks();
                m.advance(0.01);
                sum += (m.fair_ticks() - before).powi(2);
            }
            sum / 200.0 // ticks² per second
        };
        let (range, chop) = (realised(Regime::Range), realised(Regime::Chop));
        assert!(chop > 4.0 * range, "chop {chop} range {range}");
    }
}
