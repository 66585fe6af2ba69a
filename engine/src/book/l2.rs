//! An L2 book: price levels with absolute sizes, updated level by level.
//!
//! Levels live in two sorted vectors, best first. A venue's updates cluster near the touch, so the
//! binary search plus a short `memmove` near the front is cheaper than a tree's pointer chasing, and
//! reading the top N levels is a slice. The vectors are pre-sized with `with_capacity`; a book that
//! outgrows it reallocates, which callers on a hot thread avoid by sizing it at start-up.

use crate::types::{BookSide, Price, Qty};

/// One price level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Level {
    pub px: Price,
    pub qty: Qty,
}

#[derive(Clone, Debug, Default)]
pub struct L2Book {
    /// Best (highest) first.
    bids: Vec<Level>,
    /// Best (lowest) first.
    asks: Vec<Level>,
}

impl L2Book {
    pub fn with_capacity(levels_per_side: usize) -> Self {
        L2Book { bids: Vec::with_capacity(levels_per_side), asks: Vec::with_capacity(levels_per_side) }
    }

    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    /// Sets the level at `px` to `qty`; a `qty` of zero removes it.
    pub fn set(&mut self, side: BookSide, px: Price, qty: Qty) {
        self.set_bounded(side, px, qty, usize::MAX);
    }

    /// Like [`L2Book::set`], but never grows a side past `max_levels`: the hot path's fixed-memory
    /// book. A new level worse than all of a full side is not kept; a new level better than the worst
    /// pushes the worst out. Returns `false` when a level was dropped either way. Deep levels beyond
    /// the cap are lost until the next snapshot, which only matters to features that read that deep.
    pub fn set_bounded(&mut self, side: BookSide, px: Price, qty: Qty, max_levels: usize) -> bool {
        let levels = match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        let found = match side {
            BookSide::Bid => levels.binary_search_by(|l| px.cmp(&l.px)),
            BookSide::Ask => levels.binary_search_by(|l| l.px.cmp(&px)),
        };
        match (found, qty.0 > 0) {
            (Ok(i), true) => levels[i].qty = qty,
            (Ok(i), false) => {
                levels.remove(i);
            }
            (Err(i), true) if levels.len() < max_levels => levels.insert(i, Level { px, qty }),
            (Err(i), true) => {
                if i >= levels.len() {
                    return false;
                }
                levels.pop();
                levels.insert(i, Level { px, qty });
                return false;
            }
            (Err(_), false) => {}
        }
        true
    }

    pub fn best_bid(&self) -> Option<Level> {
        self.bids.first().copied()
    }

    pub fn best_ask(&self) -> Option<Level> {
        self.asks.first().copied()
    }

    /// Bid levels, best first.
    pub fn bids(&self) -> &[Level] {
        &self.bids
    }

    /// Ask levels, best first.
    pub fn asks(&self) -> &[Level] {
        &self.asks
    }

    /// True when the best bid is at or above the best ask.
    pub fn is_crossed(&self) -> bool {
        matches!((self.best_bid(), self.best_ask()), (Some(b), Some(a)) if b.px >= a.px)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn keeps_best_first_and_removes_on_zero() {
        let mut book = L2Book::default();
        book.set(BookSide::Bid, Price(100), Qty(5));
        book.set(BookSide::Bid, Price(102), Qty(1));
        book.set(BookSide::Bid, Price(101), Qty(2));
        book.set(BookSide::Ask, Price(105), Qty(3));
        book.set(BookSide::Ask, Price(103), Qty(4));
        assert_eq!(book.best_bid(), Some(Level { px: Price(102), qty: Qty(1) }));
        assert_eq!(book.best_ask(), Some(Level { px: Price(103), qty: Qty(4) }));
        book.set(BookSide::Bid, Price(102), Qty(0));
        assert_eq!(book.best_bid().map(|l| l.px), Some(Price(101)));
        book.set(BookSide::Ask, Price(999), Qty(0)); // deleting an absent level is a no-op
        assert_eq!(book.asks().len(), 2);
        assert!(!book.is_crossed());
        book.set(BookSide::Bid, Price(103), Qty(1));
        assert!(book.is_crossed());
    }

    #[test]
    fn bounded_book_keeps_the_best_levels_and_never_grows() {
        let mut book = L2Book::with_capacity(3);
        for px in [100, 99, 98] {
            assert!(book.set_bounded(BookSide::Bid, Price(px), Qty(1), 3));
        }
        assert!(!book.set_bounded(BookSide::Bid, Price(97), Qty(1), 3), "worse than a full side: dropped");
        assert!(!book.set_bounded(BookSide::Bid, Price(101), Qty(1), 3), "better: pushes the worst out");
        let pxs: Vec<i64> = book.bids().iter().map(|l| l.px.0).collect();
        assert_eq!(pxs, [101, 100, 99]);
        assert_eq!(book.bids().len(), 3);
    }

    proptest! {
        /// The sorted-vector book agrees with a map-based reference after any sequence of updates.
        #[test]
        fn agrees_with_a_map(updates in proptest::collection::vec((any::<bool>(), 1i64..50, 0i64..4), 0..300)) {
            let mut book = L2Book::default();
            let mut bids = BTreeMap::new();
            let mut asks = BTreeMap::new();
            for (is_bid, px, qty) in updates {
                let (side, map) = if is_bid { (BookSide::Bid, &mut bids) } else { (BookSide::Ask, &mut asks) };
                book.set(side, Price(px), Qty(qty));
                if qty == 0 { map.remove(&px); } else { map.insert(px, qty); }
            }
            let want_bids: Vec<_> = bids.iter().rev().map(|(&p, &q)| Level { px: Price(p), qty: Qty(q) }).collect();
            let want_asks: Vec<_> = asks.iter().map(|(&p, &q)| Level { px: Price(p), qty: Qty(q) }).collect();
            prop_assert_eq!(book.bids(), &want_bids[..]);
            prop_assert_eq!(book.asks(), &want_asks[..]);
        }
    }
}
