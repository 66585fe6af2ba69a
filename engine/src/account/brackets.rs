//! Bracket exits: take-profit, stop-loss and a time exit watched over every open position.
//!
//! A bracket belongs to one (strategy, instrument) position and follows it: [`Brackets::on_position`]
//! is called after every fill that touches the position, partial ones included. The first fill that
//! opens the position arms the bracket and starts its clock; adds and partial exits change its
//! quantity and average entry (the levels move with the average); a flip re-arms it on the new side
//! with a new clock; flat removes it.
//!
//! **Offsets** are from the exact average entry, either in price units ([`Offset::Price`], built
//! from ticks by [`Offset::ticks`]) or in basis points of the entry ([`Offset::Bps`]). Comparisons
//! are exact: the levels are rationals compared by cross-multiplication in `i128`, never rounded.
//!
//! **Which price triggers.** An exit of a long sells, so a long's take-profit and stop-loss both
//! watch the bid; a short's watch the ask ([`TriggerPrice::Touch`], the default: it fires on a price
//! the exit can actually trade at, at the cost of a stop that a widening spread can trip).
//! [`TriggerPrice::Mid`] watches the mid instead. Take-profit fires when the price reaches the level
//! or passes it (`≥` for a long, `≤` for a short); stop-loss likewise on the losing side.
//!
//! **Time exit** fires once `now − opened ≥ max_hold`, with `opened` the tape time of the opening
//! fill. It needs no price, so it fires even while the instrument has no market.
//!
//! **One signal per trigger.** When several trigger in one event, stop-loss wins over take-profit
//! (only possible with zero or negative offsets) and both win over the time exit. A bracket that
//! fired is *in flight*: it stays quiet, while its quantity keeps following the position, until
//! [`Brackets::exit_done`] says its exit order ended. If the position is still open then (an IOC
//! exit partly filled, a rejected exit), the bracket is armed again and fires on the next event that
//! still meets a level. Whoever drops a signal without sending an order must call `exit_done` too.
//!
//! The table is a dense `strategies × instruments` array of slots plus a list of the armed ones,
//! both sized at construction: nothing allocates after [`Brackets::new`], and each event scans only
//! the armed brackets.

use super::position::Position;
use crate::book::{MarketView, Touch};
use crate::journal::Side;
use crate::orders::{Purpose, StrategyId};
use crate::types::{InstrumentId, Price, Qty, UnixNanos};

/// Distance of a level from the average entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offset {
    /// In price units of the instrument (`10^-price_scale`).
    Price(Price),
    /// In basis points of the average entry.
    Bps(u32),
}

impl Offset {
    /// `n` ticks of size `tick`, as price units.
    pub fn ticks(n: i64, tick: Price) -> Self {
        Offset::Price(Price(n * tick.0))
    }
}

/// Which market price the levels are compared with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TriggerPrice {
    /// The side an exit trades at: the bid for a long, the ask for a short.
    #[default]
    Touch,
    /// `(bid + ask) / 2`, exactly.
    Mid,
}

/// The exits of one (strategy, instrument); any of the three may be absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BracketSpec {
    pub take_profit: Option<Offset>,
    pub stop_loss: Option<Offset>,
    /// Longest holding time, in nanoseconds of tape time.
    pub max_hold: Option<u64>,
    pub trigger: TriggerPrice,
}

/// A bracket that triggered: send an order that closes `qty` on `side`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitSignal {
    pub strategy: StrategyId,
    pub instrument: InstrumentId,
    /// The side of the exit order (the opposite of the position's).
    pub side: Side,
    /// The whole open quantity.
    pub qty: Qty,
    pub purpose: Purpose,
    /// The touch that triggered it (`None` for a time exit without a market).
    pub touch: Option<Touch>,
    pub ts: UnixNanos,
}

/// Where the brackets read prices; implemented for [`MarketView`] and for a slice of touches
/// indexed by instrument.
pub trait Touches {
    fn touch(&self, instrument: InstrumentId) -> Option<Touch>;
}

impl Touches for MarketView {
    fn touch(&self, instrument: InstrumentId) -> Option<Touch> {
        MarketView::touch(self, instrument)
    }
}

impl Touches for [Option<Touch>] {
    fn touch(&self, instrument: InstrumentId) -> Option<Touch> {
        self.get(instrument.index()).copied().flatten()
    }
}

/// A level as an exact inequality on twice the trigger price `p2`: fires when
/// `p2 × mult` is `≥ rhs` (`up`) or `≤ rhs` (not `up`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Level {
    mult: i128,
    rhs: i128,
    up: bool,
}

impl Level {
    /// The level `offset` above (`dir = +1`) or below (`dir = −1`) the average `cost / qty`
    /// (`qty > 0`, `cost` its magnitude), fired from above or below as `up` says.
    fn new(offset: Offset, cost: i128, qty: i128, dir: i128, up: bool) -> Self {
        // p ≥ cost/q + dir·o      ⇔  2p·q ≥ 2(cost + dir·o·q)
        // p ≥ cost/q·(1 + dir·b/1e4) ⇔ 2p·q·1e4 ≥ 2·cost·(1e4 + dir·b)
        match offset {
            Offset::Price(o) => Level { mult: qty, rhs: 2 * (cost + dir * i128::from(o.0) * qty), up },
            Offset::Bps(b) => Level {
                mult: qty.saturating_mul(10_000),
                rhs: (2 * cost).saturating_mul(10_000 + dir * i128::from(b)),
                up,
            },
        }
    }

    fn hit(&self, p2: i128) -> bool {
        let lhs = p2.saturating_mul(self.mult);
        if self.up { lhs >= self.rhs } else { lhs <= self.rhs }
    }
}

/// The bracket on one open position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bracket {
    strategy: StrategyId,
    instrument: InstrumentId,
    /// Signed like the position.
    qty: i64,
    cost: i128,
    opened: UnixNanos,
    in_flight: bool,
    take_profit: Option<Level>,
    stop_loss: Option<Level>,
}

impl Bracket {
    /// Signed quantity the bracket covers: the position's.
    pub fn qty(&self) -> i64 {
        self.qty
    }

    /// Tape time of the fill that opened the position.
    pub fn opened(&self) -> UnixNanos {
        self.opened
    }

    /// It fired and its exit has not ended yet.
    pub fn in_flight(&self) -> bool {
        self.in_flight
    }

    fn price_levels(&mut self, spec: &BracketSpec) {
        let (q, c) = (i128::from(self.qty.abs()), self.cost.abs());
        let long = self.qty > 0;
        // Long: take-profit above, fired from below (≥); stop below (≤). Short: mirrored.
        let (tp_dir, sl_dir) = if long { (1, -1) } else { (-1, 1) };
        self.take_profit = spec.take_profit.map(|o| Level::new(o, c, q, tp_dir, long));
        self.stop_loss = spec.stop_loss.map(|o| Level::new(o, c, q, sl_dir, !long));
    }

    fn check(&self, spec: &BracketSpec, now: UnixNanos, touch: Option<Touch>) -> Option<Purpose> {
        if let Some(t) = touch {
            let p2 = match (spec.trigger, self.qty > 0) {
                (TriggerPrice::Touch, true) => 2 * i128::from(t.bid.px.0),
                (TriggerPrice::Touch, false) => 2 * i128::from(t.ask.px.0),
                (TriggerPrice::Mid, _) => i128::from(t.bid.px.0) + i128::from(t.ask.px.0),
            };
            if self.stop_loss.is_some_and(|l| l.hit(p2)) {
                return Some(Purpose::StopLoss);
            }
            if self.take_profit.is_some_and(|l| l.hit(p2)) {
                return Some(Purpose::TakeProfit);
            }
        }
        let held = now.0.saturating_sub(self.opened.0);
        spec.max_hold.filter(|&m| held >= m).map(|_| Purpose::TimeExit)
    }
}

#[derive(Clone, Debug)]
pub struct Brackets {
    strategies: usize,
    instruments: usize,
    specs: Vec<Option<BracketSpec>>,
    slots: Vec<Option<Bracket>>,
    /// Indices of occupied slots; capacity = slots, so pushes never allocate.
    armed: Vec<u32>,
}

impl Brackets {
    /// An empty table for `strategies × instruments` positions, with no specs set.
    pub fn new(strategies: usize, instruments: usize) -> Self {
        let n = strategies * instruments;
        Brackets { strategies, instruments, specs: vec![None; n], slots: vec![None; n], armed: Vec::with_capacity(n) }
    }

    fn index(&self, s: StrategyId, i: InstrumentId) -> Option<usize> {
        let (s, i) = (usize::from(s.0), i.index());
        (s < self.strategies && i < self.instruments).then_some(s * self.instruments + i)
    }

    /// Sets (or clears) the exits of one (strategy, instrument). An armed bracket re-prices at once;
    /// clearing the spec disarms it. Returns `false` for ids outside the table.
    pub fn set_spec(&mut self, s: StrategyId, i: InstrumentId, spec: Option<BracketSpec>) -> bool {
        let Some(at) = self.index(s, i) else { return false };
        self.specs[at] = spec;
        match (spec, self.slots[at].as_mut()) {
            (Some(spec), Some(b)) => b.price_levels(&spec),
            (None, Some(_)) => self.disarm(at),
            _ => {}
        }
        true
    }

    /// Follows the position of (strategy, instrument) after a fill on it, at tape time `now`.
    pub fn on_position(&mut self, s: StrategyId, i: InstrumentId, pos: &Position, now: UnixNanos) {
        let Some(at) = self.index(s, i) else { return };
        let Some(spec) = self.specs[at] else { return };
        if pos.is_flat() {
            self.disarm(at);
            return;
        }
        let prev = self.slots[at];
        let mut b = match prev {
            Some(b) if b.qty.signum() == pos.qty.signum() => b,
            // Opened, or flipped to the other side: a new bracket and a new clock.
            _ => Bracket {
                strategy: s,
                instrument: i,
                qty: 0,
                cost: 0,
                opened: now,
                in_flight: false,
                take_profit: None,
                stop_loss: None,
            },
        };
        b.qty = pos.qty;
        b.cost = pos.cost;
        b.price_levels(&spec);
        if prev.is_none() {
            self.armed.push(at as u32);
        }
        self.slots[at] = Some(b);
    }

    fn disarm(&mut self, at: usize) {
        if self.slots[at].take().is_some()
            && let Some(k) = self.armed.iter().position(|&a| a as usize == at)
        {
            self.armed.swap_remove(k);
        }
    }

    /// Checks every armed bracket that is not in flight against the market at `now`; returns the
    /// first that triggers, marked in flight. Call it again until it returns `None` to collect
    /// every exit of the event (each call returns a different bracket).
    pub fn on_event<T: Touches + ?Sized>(&mut self, now: UnixNanos, market: &T) -> Option<ExitSignal> {
        for &at in &self.armed {
            let at = at as usize;
            let (Some(b), Some(spec)) = (self.slots[at].as_mut(), self.specs[at].as_ref()) else {
                continue;
            };
            if b.in_flight {
                continue;
            }
            let touch = market.touch(b.instrument);
            if let Some(purpose) = b.check(spec, now, touch) {
                b.in_flight = true;
                return Some(ExitSignal {
                    strategy: b.strategy,
                    instrument: b.instrument,
                    side: if b.qty > 0 { Side::Sell } else { Side::Buy },
                    qty: Qty(b.qty.abs()),
                    purpose,
                    touch,
                    ts: now,
                });
            }
        }
        None
    }

    /// The exit order of (strategy, instrument) ended (filled, canceled, rejected, expired) or was
    /// never sent: if the position is still open, the bracket watches again.
    pub fn exit_done(&mut self, s: StrategyId, i: InstrumentId) {
        if let Some(b) = self.index(s, i).and_then(|at| self.slots[at].as_mut()) {
            b.in_flight = false;
        }
    }

    pub fn get(&self, s: StrategyId, i: InstrumentId) -> Option<&Bracket> {
        self.index(s, i).and_then(|at| self.slots[at].as_ref())
    }

    /// Number of armed brackets (in flight or not).
    pub fn armed(&self) -> usize {
        self.armed.len()
    }
}
