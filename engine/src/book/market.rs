//! The market as one party sees it: per instrument, an L2 book of fixed size and the last quote.
//!
//! Both the features stage (the strategy's view) and the paper venue (the exchange's view) keep one.
//! They are separate copies on purpose: once feed latency is modelled the two see different moments
//! of the same market, as a real strategy and a real exchange do.

use super::{L2Book, Level};
use crate::tape::{RawRecord, Record, flags};
use crate::types::{BookSide, InstrumentId};

/// The best bid and ask of a two-sided, uncrossed market.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Touch {
    pub bid: Level,
    pub ask: Level,
}

#[derive(Clone, Debug)]
struct InstrumentMarket {
    book: L2Book,
    quote: Option<Touch>,
    /// The tape carries L1 quotes for this instrument: they are the touch (book tickers arrive faster
    /// than depth diffs on the venues we record).
    has_quotes: bool,
    /// Between a `BookClear` or the first level of a diff and its `END_OF_BATCH`: the book may be
    /// transiently crossed or half-built and must not be read.
    in_batch: bool,
}

/// Every instrument's market, sized once at start-up.
#[derive(Clone, Debug)]
pub struct MarketView {
    markets: Vec<InstrumentMarket>,
    max_levels: usize,
    dropped_levels: u64,
}

impl MarketView {
    /// `max_levels` per side per instrument bounds the memory (see [`L2Book::set_bounded`]).
    pub fn new(instruments: usize, max_levels: usize) -> Self {
        let max_levels = max_levels.max(1);
        // One book built per instrument: cloning a Vec keeps its length, not its capacity, so
        // `vec![market; n]` would leave all but one book to grow on the hot path.
        let markets = (0..instruments)
            .map(|_| InstrumentMarket {
                book: L2Book::with_capacity(max_levels),
                quote: None,
                has_quotes: false,
                in_batch: false,
            })
            .collect();
        MarketView { markets, max_levels, dropped_levels: 0 }
    }

    /// Applies one record; returns the instrument it touched, or `None` for a record of an instrument
    /// outside the table (a verified tape has none).
    #[inline]
    pub fn apply(&mut self, record: &RawRecord) -> Option<InstrumentId> {
        let id = record.header.instrument;
        let m = self.markets.get_mut(id.index())?;
        match record.view()? {
            Record::Quote(q) => {
                m.has_quotes = true;
                m.quote = Some(Touch {
                    bid: Level { px: q.bid_px, qty: q.bid_qty },
                    ask: Level { px: q.ask_px, qty: q.ask_qty },
                });
            }
            Record::Level(l) => {
                let side = l.side();
                if !m.book.set_bounded(side, l.px, l.qty, self.max_levels) {
                    self.dropped_levels += 1;
                }
                m.in_batch = !l.header.has(flags::END_OF_BATCH);
            }
            Record::Clear(_) => {
                m.book.clear();
                m.in_batch = true;
            }
            Record::Trade(_) => {}
        }
        Some(id)
    }

    /// The touch of `id` if its market is two-sided, uncrossed and settled.
    #[inline]
    pub fn touch(&self, id: InstrumentId) -> Option<Touch> {
        let m = self.markets.get(id.index())?;
        let touch = if m.has_quotes {
            m.quote?
        } else {
            if m.in_batch {
                return None;
            }
            Touch { bid: m.book.best_bid()?, ask: m.book.best_ask()? }
        };
        let sane = touch.bid.qty.0 > 0 && touch.ask.qty.0 > 0 && touch.bid.px < touch.ask.px;
        sane.then_some(touch)
    }

    /// Levels of `id` on `side`, best first (empty for an unknown instrument).
    pub fn levels(&self, id: InstrumentId, side: BookSide) -> &[Level] {
        match self.markets.get(id.index()) {
            Some(m) if side == BookSide::Bid => m.book.bids(),
            Some(m) => m.book.asks(),
            None => &[],
        }
    }

    /// Level updates not kept because a side was at `max_levels`.
    pub fn dropped_levels(&self) -> u64 {
        self.dropped_levels
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tape::{BookClear, LevelUpdate, Quote};
    use crate::types::{Price, Qty, UnixNanos};

    const ID: InstrumentId = InstrumentId(0);

    fn level(side: BookSide, px: i64, qty: i64, end: bool) -> RawRecord {
        let f = if end { flags::END_OF_BATCH } else { 0 };
        LevelUpdate::new(ID, UnixNanos(1), UnixNanos(1), side, Price(px), Qty(qty), 1, f).into()
    }

    #[test]
    fn the_book_is_unreadable_mid_batch_and_readable_after_it() {
        let mut view = MarketView::new(1, 16);
        view.apply(&BookClear::new(ID, UnixNanos(1), UnixNanos(1), 7).into());
        view.apply(&level(BookSide::Bid, 100, 2, false));
        assert_eq!(view.touch(ID), None, "after a clear and mid-snapshot");
        view.apply(&level(BookSide::Ask, 101, 3, true));
        let t = view.touch(ID).expect("settled two-sided book");
        assert_eq!((t.bid.px, t.ask.px), (Price(100), Price(101)));
    }

    #[test]
    fn quotes_are_the_touch_and_a_crossed_quote_is_no_market() {
        let mut view = MarketView::new(1, 16);
        let q = Quote::new(ID, UnixNanos(1), UnixNanos(1), (Price(100), Qty(1)), (Price(101), Qty(1)));
        view.apply(&q.into());
        assert!(view.touch(ID).is_some());
        let crossed = Quote::new(ID, UnixNanos(2), UnixNanos(2), (Price(102), Qty(1)), (Price(101), Qty(1)));
        view.apply(&crossed.into());
        assert_eq!(view.touch(ID), None);
        assert_eq!(view.touch(InstrumentId(5)), None, "unknown instrument");
    }
}
