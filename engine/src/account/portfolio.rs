//! Every strategy's positions in every instrument, with totals per strategy, per instrument and
//! overall, kept up to date by each fill (no scan to answer a total).
//!
//! Cells are a dense `strategies × instruments` table sized at construction; nothing allocates
//! after [`Portfolio::new`].
//!
//! **Units.** A cell's and an instrument's money is in that instrument's units,
//! `10^-(price_scale + qty_scale)` of the quote currency. Per-strategy and overall totals add money
//! across instruments, so they are rescaled to the portfolio's `money_scale` (the largest of the
//! instruments' scales), exactly. They assume one quote currency for all instruments; converting
//! between quote currencies is not done here.

use super::fill::Fill;
use super::position::{FillEffect, Position};
use crate::orders::StrategyId;
use crate::types::{InstrumentId, InstrumentSpec, Price};

/// Realized PnL and fees, in the portfolio's `money_scale`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Money {
    /// Gross realized price PnL.
    pub realized: i128,
    /// Fees paid, net of rebates.
    pub fees: i128,
}

impl Money {
    pub fn net(self) -> i128 {
        self.realized - self.fees
    }
}

/// All strategies' positions in one instrument, in the instrument's own units. `qty` and `cost` are
/// net across strategies, so `mark × qty − cost` is the sum of the strategies' unrealized PnL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InstrumentTotals {
    pub qty: i64,
    pub cost: i128,
    pub realized: i128,
    pub fees: i128,
    pub fills: u64,
}

impl InstrumentTotals {
    pub fn unrealized(&self, mark: Price) -> i128 {
        i128::from(mark.0) * i128::from(self.qty) - self.cost
    }
}

/// Unrealized PnL over several instruments, in `money_scale`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Marked {
    pub unrealized: i128,
    /// Open positions left out because their instrument had no mark.
    pub unmarked: u32,
}

/// Why a fill could not be booked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PortfolioError {
    #[error("fill of order {} for strategy {} / instrument {} is outside the {strategies} × {instruments} table", .fill.order_id, .fill.strategy.0, .fill.instrument.0)]
    OutOfRange { fill: Fill, strategies: usize, instruments: usize },
}

#[derive(Clone, Debug)]
pub struct Portfolio {
    strategies: usize,
    instruments: usize,
    /// Strategy-major: `strategy × instruments + instrument`.
    cells: Vec<Position>,
    by_instrument: Vec<InstrumentTotals>,
    by_strategy: Vec<Money>,
    total: Money,
    /// Per instrument, `10^(money_scale − price_scale − qty_scale)`.
    to_common: Vec<i128>,
    money_scale: u8,
}

impl Portfolio {
    /// `money_scales[i]` is instrument `i`'s `price_scale + qty_scale`.
    pub fn new(strategies: usize, money_scales: &[u8]) -> Self {
        let instruments = money_scales.len();
        let money_scale = money_scales.iter().copied().max().unwrap_or(0);
        Portfolio {
            strategies,
            instruments,
            cells: vec![Position::default(); strategies * instruments],
            by_instrument: vec![InstrumentTotals::default(); instruments],
            by_strategy: vec![Money::default(); strategies],
            total: Money::default(),
            to_common: money_scales.iter().map(|&s| 10i128.pow(u32::from(money_scale - s))).collect(),
            money_scale,
        }
    }

    pub fn from_specs(strategies: usize, specs: &[InstrumentSpec]) -> Self {
        let scales: Vec<u8> = specs.iter().map(|s| s.price_scale + s.qty_scale).collect();
        Self::new(strategies, &scales)
    }

    /// Books one fill, partial or complete, into its cell and every total.
    pub fn apply(&mut self, fill: &Fill) -> Result<FillEffect, PortfolioError> {
        let Some(at) = self.cell_index(fill.strategy, fill.instrument) else {
            return Err(PortfolioError::OutOfRange {
                fill: *fill,
                strategies: self.strategies,
                instruments: self.instruments,
            });
        };
        let cell = &mut self.cells[at];
        let cost_before = cell.cost;
        let effect = cell.apply(fill.side, fill.px, fill.qty, fill.fee);
        let cost_delta = cell.cost - cost_before;

        let inst = &mut self.by_instrument[fill.instrument.index()];
        inst.qty += fill.side.sign() * fill.qty.0;
        inst.cost += cost_delta;
        inst.realized += effect.realized;
        inst.fees += fill.fee;
        inst.fills += 1;

        let k = self.to_common[fill.instrument.index()];
        let delta = Money { realized: effect.realized * k, fees: fill.fee * k };
        let strat = &mut self.by_strategy[usize::from(fill.strategy.0)];
        strat.realized += delta.realized;
        strat.fees += delta.fees;
        self.total.realized += delta.realized;
        self.total.fees += delta.fees;
        Ok(effect)
    }

    fn cell_index(&self, s: StrategyId, i: InstrumentId) -> Option<usize> {
        let (s, i) = (usize::from(s.0), i.index());
        (s < self.strategies && i < self.instruments).then_some(s * self.instruments + i)
    }

    pub fn position(&self, s: StrategyId, i: InstrumentId) -> Option<&Position> {
        self.cell_index(s, i).map(|at| &self.cells[at])
    }

    pub fn instrument(&self, i: InstrumentId) -> Option<&InstrumentTotals> {
        self.by_instrument.get(i.index())
    }

    /// Realized PnL and fees of one strategy over all instruments, in `money_scale`.
    pub fn strategy(&self, s: StrategyId) -> Option<Money> {
        self.by_strategy.get(usize::from(s.0)).copied()
    }

    /// Realized PnL and fees over everything, in `money_scale`.
    pub fn total(&self) -> Money {
        self.total
    }

    /// Unrealized PnL of one strategy, `marks` indexed by instrument, in `money_scale`.
    pub fn strategy_unrealized(&self, s: StrategyId, marks: &[Option<Price>]) -> Marked {
        let mut out = Marked::default();
        let s = usize::from(s.0);
        if s >= self.strategies {
            return out;
        }
        let row = &self.cells[s * self.instruments..(s + 1) * self.instruments];
        for (i, p) in row.iter().enumerate().filter(|(_, p)| !p.is_flat()) {
            match marks.get(i).copied().flatten() {
                Some(m) => out.unrealized += p.unrealized(m) * self.to_common[i],
                None => out.unmarked += 1,
            }
        }
        out
    }

    /// Unrealized PnL over everything, `marks` indexed by instrument, in `money_scale`.
    pub fn total_unrealized(&self, marks: &[Option<Price>]) -> Marked {
        let mut out = Marked::default();
        for (i, t) in self.by_instrument.iter().enumerate() {
            match (t.qty, marks.get(i).copied().flatten()) {
                // Strategies that net to flat still hold their open costs: no mark needed.
                (0, _) => out.unrealized -= t.cost * self.to_common[i],
                (_, Some(m)) => out.unrealized += t.unrealized(m) * self.to_common[i],
                (_, None) => out.unmarked += 1,
            }
        }
        out
    }

    pub fn money_scale(&self) -> u8 {
        self.money_scale
    }

    /// Multiplier taking instrument `i`'s money units to `money_scale`.
    pub fn to_common(&self, i: InstrumentId) -> Option<i128> {
        self.to_common.get(i.index()).copied()
    }

    pub fn strategies(&self) -> usize {
        self.strategies
    }

    pub fn instruments(&self) -> usize {
        self.instruments
    }
}
