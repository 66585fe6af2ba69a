//! The synthetic order book: a contiguous ladder of `depth` levels per side, in ticks and lots.
//!
//! Every operation reports the levels it changed as [`Change`]s, which become the tape's level
//! updates; the ladder is therefore the single source of truth for what the tape says, and its
//! invariants (full depth, positive prices, bid below ask after every operation) are the tape's.
//! A contiguous ladder (no empty ticks inside the depth) suits a liquid instrument quoted at a
//! one-basis-point tick, and keeps every move a push or pop at one end of a `VecDeque`.

use super::random::Random;
use kestrel_engine::types::BookSide;
use std::collections::VecDeque;

/// Largest level size, in lots: keeps `lots × lot` far inside `i64`.
pub(crate) const MAX_LOTS: i64 = 1_000_000_000;
/// Typical size at the touch, in lots; deeper levels are larger (see [`fresh_lots`]).
const TOUCH_LOTS: f64 = 800.0;

/// One level set to an absolute size (0 removes it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Change {
    pub side: BookSide,
    pub ticks: i64,
    pub lots: i64,
}

/// Median size of a level `index` ticks behind the touch: liquidity grows away from the touch, as
/// resting orders there are less likely to be picked off.
fn median_lots(index: usize) -> f64 {
    TOUCH_LOTS * (1.0 + 0.25 * index as f64)
}

fn to_lots(x: f64) -> i64 {
    if x.is_finite() { (x.round() as i64).clamp(1, MAX_LOTS) } else { MAX_LOTS }
}

/// A new level's size: lognormal around the depth profile.
fn fresh_lots(rng: &mut Random, index: usize) -> i64 {
    to_lots(rng.lognormal(median_lots(index), 0.7))
}

/// One side of the ladder. Level `i` sits at `best + dir·i` ticks: `dir` is −1 for bids (prices
/// fall away from the touch) and +1 for asks.
#[derive(Clone, Debug)]
struct Ladder {
    side: BookSide,
    dir: i64,
    best: i64,
    /// Sizes in lots, index = distance from the touch in ticks.
    lots: VecDeque<i64>,
}

impl Ladder {
    fn price(&self, index: usize) -> i64 {
        self.best + self.dir * index as i64
    }

    fn emit(&self, index: usize, lots: i64, out: &mut Vec<Change>) {
        out.push(Change { side: self.side, ticks: self.price(index), lots });
    }

    /// Fills the ladder from `best` outwards with fresh sizes.
    fn rebuild(&mut self, best: i64, depth: usize, rng: &mut Random, out: &mut Vec<Change>) {
        for i in 0..self.lots.len() {
            self.emit(i, 0, out);
        }
        self.lots.clear();
        self.best = best;
        for i in 0..depth {
            let lots = fresh_lots(rng, i);
            self.lots.push_back(lots);
            self.emit(i, lots, out);
        }
    }

    /// Moves the touch to `best`, keeping the sizes of levels that stay inside the depth:
    /// improving adds levels at the front and drops the deepest, retreating does the reverse.
    fn move_touch(&mut self, best: i64, depth: usize, rng: &mut Random, out: &mut Vec<Change>) {
        let improve = (best - self.best) * -self.dir;
        let shift = improve.unsigned_abs() as usize;
        if improve == 0 {
            return;
        }
        if shift >= depth {
            self.rebuild(best, depth, rng, out);
        } else if improve > 0 {
            for _ in 0..shift {
                self.emit(depth - 1, 0, out);
                self.lots.pop_back();
                self.best -= self.dir;
                let lots = fresh_lots(rng, 0);
                self.lots.push_front(lots);
                self.emit(0, lots, out);
            }
        } else {
            for _ in 0..shift {
                self.emit(0, 0, out);
                self.lots.pop_front();
                self.best += self.dir;
                let lots = fresh_lots(rng, depth - 1);
                self.lots.push_back(lots);
                self.emit(depth - 1, lots, out);
            }
        }
    }
}

/// Both sides of the book.
#[derive(Clone, Debug)]
pub(crate) struct Book {
    depth: usize,
    bids: Ladder,
    asks: Ladder,
}

/// Best bid and ask, in ticks and lots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Top {
    pub bid_ticks: i64,
    pub bid_lots: i64,
    pub ask_ticks: i64,
    pub ask_lots: i64,
}

impl Book {
    /// A full book with its touch at `bid` / `ask` ticks; every level is reported in `out` (the
    /// snapshot). `bid` must be at least `depth` so that the deepest bid is at a positive price.
    pub(crate) fn new(depth: usize, bid: i64, ask: i64, rng: &mut Random, out: &mut Vec<Change>) -> Self {
        let empty = |side, dir| Ladder { side, dir, best: 0, lots: VecDeque::with_capacity(depth + 1) };
        let mut book = Book { depth, bids: empty(BookSide::Bid, -1), asks: empty(BookSide::Ask, 1) };
        book.bids.rebuild(bid, depth, rng, out);
        book.asks.rebuild(ask, depth, rng, out);
        book
    }

    /// The lowest best bid that keeps all `depth` bid levels at positive prices.
    pub(crate) fn min_bid(&self) -> i64 {
        self.depth as i64
    }

    pub(crate) fn top(&self) -> Top {
        Top {
            bid_ticks: self.bids.best,
            bid_lots: self.bids.lots.front().copied().unwrap_or(0),
            ask_ticks: self.asks.best,
            ask_lots: self.asks.lots.front().copied().unwrap_or(0),
        }
    }

    pub(crate) fn mid_ticks(&self) -> f64 {
        (self.bids.best + self.asks.best) as f64 / 2.0
    }

    /// Moves the touch to `bid` / `ask` (`bid < ask`, `bid >= min_bid`). The side that retreats
    /// moves first, so the book is never crossed even inside the batch.
    pub(crate) fn reposition(&mut self, bid: i64, ask: i64, rng: &mut Random, out: &mut Vec<Change>) {
        debug_assert!(bid < ask && bid >= self.min_bid());
        let depth = self.depth;
        if bid < self.bids.best {
            self.bids.move_touch(bid, depth, rng, out);
            self.asks.move_touch(ask, depth, rng, out);
        } else {
            self.asks.move_touch(ask, depth, rng, out);
            self.bids.move_touch(bid, depth, rng, out);
        }
    }

    /// Liquidity added or cancelled at one level: the size moves part of the way back to the depth
    /// profile plus noise, so sizes wander but stay realistic.
    pub(crate) fn churn(&mut self, side: BookSide, index: usize, rng: &mut Random, out: &mut Vec<Change>) {
        let index = index.min(self.depth - 1);
        let ladder = match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        let old = ladder.lots[index] as f64;
        let target = median_lots(index).ln();
        let lots = to_lots((old.ln() + 0.3 * (target - old.ln()) + 0.5 * rng.normal()).exp());
        if lots != ladder.lots[index] {
            ladder.lots[index] = lots;
            ladder.emit(index, lots, out);
        }
    }

    /// A market order of `wanted` lots against the touch of `side` (asks for a buy). It fills at
    /// the touch price only, up to the size there; a level it empties is removed and a fresh one
    /// appended at the back to keep the depth. Returns the fill `(ticks, lots)`, or `None` if
    /// nothing could fill (the bid touch is never emptied below [`Book::min_bid`]).
    pub(crate) fn take(
        &mut self,
        side: BookSide,
        wanted: i64,
        rng: &mut Random,
        out: &mut Vec<Change>,
    ) -> Option<(i64, i64)> {
        let min_bid = self.min_bid();
        let depth = self.depth;
        let ladder = match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        let touch = ladder.lots[0];
        let px = ladder.best;
        let mut lots = wanted.clamp(1, touch);
        if lots == touch && side == BookSide::Bid && px - 1 < min_bid {
            lots = touch - 1;
        }
        if lots <= 0 {
            return None;
        }
        if lots < touch {
            ladder.lots[0] = touch - lots;
            ladder.emit(0, touch - lots, out);
        } else {
            ladder.move_touch(px + ladder.dir, depth, rng, out);
        }
        Some((px, lots))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Applies changes to a map-based book and checks it against the ladder.
    fn apply(map: &mut BTreeMap<(u8, i64), i64>, changes: &[Change]) {
        for c in changes {
            if c.lots == 0 {
                assert!(map.remove(&(c.side as u8, c.ticks)).is_some(), "deleting absent level {c:?}");
            } else {
                map.insert((c.side as u8, c.ticks), c.lots);
            }
        }
    }

    fn check(book: &Book, map: &BTreeMap<(u8, i64), i64>) {
        let side = |s: BookSide| map.iter().filter(move |((k, _), _)| *k == s as u8).map(|((_, p), q)| (*p, *q));
        let bids: Vec<_> = side(BookSide::Bid).collect();
        let asks: Vec<_> = side(BookSide::Ask).collect();
        assert_eq!(bids.len(), book.depth);
        assert_eq!(asks.len(), book.depth);
        let top = book.top();
        assert_eq!(bids[bids.len() - 1], (top.bid_ticks, top.bid_lots));
        assert_eq!(asks[0], (top.ask_ticks, top.ask_lots));
        assert!(top.bid_ticks < top.ask_ticks);
        assert!(bids[0].0 >= 1);
        for w in bids.windows(2).chain(asks.windows(2)) {
            assert_eq!(w[0].0 + 1, w[1].0, "ladder has a gap");
        }
    }

    #[test]
    fn changes_replay_to_the_ladder() {
        let mut rng = Random::new(9, 0);
        let mut out = Vec::new();
        let mut map = BTreeMap::new();
        let mut book = Book::new(5, 100, 102, &mut rng, &mut out);
        apply(&mut map, &out);
        check(&book, &map);
        let moves = [(101, 102), (103, 104), (90, 91), (5, 200), (40, 41), (39, 45)];
        for (bid, ask) in moves {
            out.clear();
            book.reposition(bid, ask, &mut rng, &mut out);
            apply(&mut map, &out);
            check(&book, &map);
        }
        for i in 0..200 {
            out.clear();
            let side = if i % 2 == 0 { BookSide::Bid } else { BookSide::Ask };
            if let Some((px, lots)) = book.take(side, 2_000, &mut rng, &mut out) {
                assert!(lots > 0 && px > 0);
            }
            book.churn(side, i % 7, &mut rng, &mut out);
            apply(&mut map, &out);
            check(&book, &map);
        }
        // Sells walked the bid down to its floor and no further.
        assert!(book.top().bid_ticks >= book.min_bid());
    }
}
