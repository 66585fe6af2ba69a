//! The exchange's own view of one instrument's market, rebuilt from the tape at exchange time.
//!
//! An instrument whose tape carries L2 level updates is matched against its L2 book; one with only
//! L1 quotes is matched against the touch, plus (for size beyond the touch) the documented model of
//! [`SimBook::walk`]. The L2 book is read only between batches (after `END_OF_BATCH`), as
//! [`crate::book::MarketView`] does.

use crate::book::{L2Book, Level};
use crate::journal::Side;
use crate::tape::{RawRecord, Record, flags};
use crate::types::{BookSide, Price, Qty};

#[derive(Clone, Debug)]
pub struct SimBook {
    l2: L2Book,
    max_levels: usize,
    bid: Option<Level>,
    ask: Option<Level>,
    /// The tape has given level updates for this instrument: match against L2.
    has_levels: bool,
    in_batch: bool,
}

/// What a record changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The book changed and is readable now.
    Book,
    /// The book changed but is mid-batch (or was cleared).
    Unsettled,
    Trade,
    Nothing,
}

impl SimBook {
    pub fn new(max_levels: usize) -> Self {
        let max_levels = max_levels.max(1);
        SimBook {
            l2: L2Book::with_capacity(max_levels),
            max_levels,
            bid: None,
            ask: None,
            has_levels: false,
            in_batch: false,
        }
    }

    pub fn apply(&mut self, record: &RawRecord) -> Applied {
        match record.view() {
            Some(Record::Quote(q)) => {
                self.bid = (q.bid_qty.0 > 0).then_some(Level { px: q.bid_px, qty: q.bid_qty });
                self.ask = (q.ask_qty.0 > 0).then_some(Level { px: q.ask_px, qty: q.ask_qty });
                if self.has_levels { Applied::Nothing } else { Applied::Book }
            }
            Some(Record::Level(l)) => {
                self.has_levels = true;
                self.l2.set_bounded(l.side(), l.px, l.qty, self.max_levels);
                self.in_batch = !l.header.has(flags::END_OF_BATCH);
                if self.in_batch { Applied::Unsettled } else { Applied::Book }
            }
            Some(Record::Clear(_)) => {
                self.has_levels = true;
                self.l2.clear();
                self.in_batch = true;
                Applied::Unsettled
            }
            Some(Record::Trade(_)) => Applied::Trade,
            None => Applied::Nothing,
        }
    }

    /// The book may be read (not between a clear or diff and its `END_OF_BATCH`).
    pub fn settled(&self) -> bool {
        !self.in_batch
    }

    pub fn is_l2(&self) -> bool {
        self.has_levels
    }

    /// Best level of a side, if readable.
    pub fn best(&self, side: BookSide) -> Option<Level> {
        if self.in_batch {
            return None;
        }
        if self.has_levels {
            match side {
                BookSide::Bid => self.l2.best_bid(),
                BookSide::Ask => self.l2.best_ask(),
            }
        } else {
            match side {
                BookSide::Bid => self.bid,
                BookSide::Ask => self.ask,
            }
        }
    }

    /// Size displayed at `px` on the side where an order of `side` rests; `None` when unknown
    /// (mid-batch, deeper than the kept levels, or behind an L1 touch). A price better than the
    /// best shows `Some(0)`: nobody is there.
    pub fn qty_at(&self, side: Side, px: Price) -> Option<Qty> {
        if self.in_batch {
            return None;
        }
        let book_side = resting_side(side);
        let better = |a: Price, b: Price| match side {
            Side::Buy => a > b,
            Side::Sell => a < b,
        };
        if self.has_levels {
            let levels = match book_side {
                BookSide::Bid => self.l2.bids(),
                BookSide::Ask => self.l2.asks(),
            };
            if let Some(l) = levels.iter().find(|l| l.px == px) {
                return Some(l.qty);
            }
            // Inside the visible range (or the side is not full): the level is empty.
            match levels.last() {
                Some(worst) if levels.len() >= self.max_levels && better(worst.px, px) => None,
                _ => Some(Qty::ZERO),
            }
        } else {
            let touch = match book_side {
                BookSide::Bid => self.bid,
                BookSide::Ask => self.ask,
            };
            match touch {
                Some(t) if t.px == px => Some(t.qty),
                Some(t) if better(px, t.px) => Some(Qty::ZERO),
                Some(_) => None,
                None => Some(Qty::ZERO),
            }
        }
    }

    /// Walks the liquidity an order of `side` takes (the opposite side), best first, calling `take`
    /// with each level's price and the quantity taken there, until `qty` is filled, the price passes
    /// `limit`, or the liquidity ends. Returns the quantity taken.
    ///
    /// The walk does not consume the book: the replayed market is not changed by our orders (no
    /// market impact, as in hftbacktest's replay; an order must be small against the displayed size
    /// for the result to mean anything).
    ///
    /// L1-only instruments: the touch gives its size at its price; beyond it, `extra_levels` virtual
    /// levels follow, each one tick worse than the previous, each with the touch's size again. What
    /// is left after them is not filled (a market order's remainder expires). `extra_levels = 0`
    /// fills at most the touch size.
    pub fn walk(
        &self,
        side: Side,
        qty: Qty,
        limit: Option<Price>,
        tick: Price,
        extra_levels: u32,
        mut take: impl FnMut(Price, Qty),
    ) -> Qty {
        if self.in_batch {
            return Qty::ZERO;
        }
        let within = |px: Price| match (side, limit) {
            (_, None) => true,
            (Side::Buy, Some(l)) => px <= l,
            (Side::Sell, Some(l)) => px >= l,
        };
        let mut left = qty.0;
        let mut visit = |px: Price, avail: Qty| -> bool {
            if left <= 0 || !within(px) {
                return false;
            }
            if avail.0 <= 0 {
                return true;
            }
            let q = left.min(avail.0);
            take(px, Qty(q));
            left -= q;
            left > 0
        };
        if self.has_levels {
            let levels = match side {
                Side::Buy => self.l2.asks(),
                Side::Sell => self.l2.bids(),
            };
            for l in levels {
                if !visit(l.px, l.qty) {
                    break;
                }
            }
        } else {
            let touch = match side {
                Side::Buy => self.ask,
                Side::Sell => self.bid,
            };
            if let Some(t) = touch {
                let step = match side {
                    Side::Buy => tick.0,
                    Side::Sell => -tick.0,
                };
                for k in 0..=i64::from(extra_levels) {
                    if !visit(Price(t.px.0 + k * step), t.qty) {
                        break;
                    }
                }
            }
        }
        Qty(qty.0 - left)
    }
}

/// The book side an order of `side` rests on.
pub fn resting_side(side: Side) -> BookSide {
    match side {
        Side::Buy => BookSide::Bid,
        Side::Sell => BookSide::Ask,
    }
}

/// The book side an order of `side` takes from.
pub fn taking_side(side: Side) -> BookSide {
    match side {
        Side::Buy => BookSide::Ask,
        Side::Sell => BookSide::Bid,
    }
}
