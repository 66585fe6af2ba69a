//! Time bars of the mid and the trade flow, shared by the features that work per bar (ATR, realized
//! volatility, the regime filter, CVD slopes, session range percentiles).
//!
//! Bars are aligned to multiples of the bar length in Unix time, so every instrument and every run
//! cuts them at the same instants. A bar closes when the first event of a later bar arrives; bars in
//! which nothing happened are not emitted (the next bar simply starts later), which is what a bar
//! built from a feed can know.

use crate::types::UnixNanos;

/// One closed bar.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Bar {
    /// Start of the bar's interval (a multiple of the bar length).
    pub start: UnixNanos,
    /// Mid the bar opened at (the last mid before it: the previous close when there was one, so the
    /// bar's high and low include it), highest, lowest and last mid, in price units.
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    /// Close of the bar before (NaN for the first bar): for the true range and bar returns.
    pub prev_close: f64,
    /// Sum of squared log-returns between consecutive mids inside the bar (and from the previous
    /// bar's close to this bar's first mid).
    pub sum_sq_returns: f64,
    /// Buyer- and seller-initiated traded quantity, in base units.
    pub buy_volume: f64,
    pub sell_volume: f64,
    pub trades: u32,
}

/// Builds bars for one instrument.
#[derive(Clone, Debug)]
pub struct BarBuilder {
    bar_ns: u64,
    current: Option<Bar>,
    last_mid: f64,
    last_close: f64,
}

impl BarBuilder {
    pub fn new(bar_ns: u64) -> Self {
        BarBuilder { bar_ns: bar_ns.max(1), current: None, last_mid: f64::NAN, last_close: f64::NAN }
    }

    pub fn bar_ns(&self) -> u64 {
        self.bar_ns
    }

    /// Starts the event at `ts`: if it belongs to a later bar than the one being built, that bar is
    /// closed and returned. Call once per event, before `on_mid` / `on_trade`.
    #[inline]
    pub fn advance(&mut self, ts: UnixNanos) -> Option<Bar> {
        let start = UnixNanos(ts.0 - ts.0 % self.bar_ns);
        match self.current {
            Some(bar) if bar.start == start => None,
            Some(bar) => {
                self.last_close = bar.close;
                self.current = Some(self.fresh(start));
                Some(bar)
            }
            None => {
                self.current = Some(self.fresh(start));
                None
            }
        }
    }

    fn fresh(&self, start: UnixNanos) -> Bar {
        let m = self.last_mid;
        Bar { start, open: m, high: m, low: m, close: m, prev_close: self.last_close, ..Bar::default() }
    }

    /// The mid after this event (call only when it is defined).
    #[inline]
    pub fn on_mid(&mut self, mid: f64) {
        let Some(bar) = self.current.as_mut() else { return };
        if self.last_mid.is_finite() && mid != self.last_mid {
            let r = (mid / self.last_mid).ln();
            bar.sum_sq_returns += r * r;
        }
        if !bar.open.is_finite() {
            bar.open = mid;
            bar.high = mid;
            bar.low = mid;
        }
        bar.high = bar.high.max(mid);
        bar.low = bar.low.min(mid);
        bar.close = mid;
        self.last_mid = mid;
    }

    /// A trade of `qty` base units; `buyer_initiated` when the aggressor bought.
    #[inline]
    pub fn on_trade(&mut self, qty: f64, buyer_initiated: Option<bool>) {
        let Some(bar) = self.current.as_mut() else { return };
        bar.trades += 1;
        match buyer_initiated {
            Some(true) => bar.buy_volume += qty,
            Some(false) => bar.sell_volume += qty,
            None => {}
        }
    }

    /// The bar being built (not yet closed).
    pub fn current(&self) -> Option<&Bar> {
        self.current.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn bars_close_on_the_first_event_of_a_later_bar_and_carry_the_close() {
        let mut b = BarBuilder::new(60 * S);
        assert_eq!(b.advance(UnixNanos(61 * S)), None);
        b.on_mid(100.0);
        b.on_mid(102.0);
        b.on_trade(1.5, Some(true));
        assert_eq!(b.advance(UnixNanos(119 * S)), None, "same bar");
        b.on_mid(101.0);
        let closed = b.advance(UnixNanos(200 * S)).expect("a later bar closes the first");
        assert_eq!(closed.start, UnixNanos(60 * S));
        assert_eq!((closed.open, closed.high, closed.low, closed.close), (100.0, 102.0, 100.0, 101.0));
        assert_eq!((closed.buy_volume, closed.trades), (1.5, 1));
        assert!(closed.prev_close.is_nan());
        let r1 = (102.0f64 / 100.0).ln();
        let r2 = (101.0f64 / 102.0).ln();
        assert!((closed.sum_sq_returns - (r1 * r1 + r2 * r2)).abs() < 1e-15);
        b.on_mid(103.0);
        let second = b.advance(UnixNanos(300 * S)).unwrap();
        assert_eq!(second.start, UnixNanos(180 * S), "the empty bar at 120 s is skipped");
        assert_eq!((second.open, second.prev_close), (101.0, 101.0), "opens at the last mid");
        assert_eq!(second.close, 103.0);
    }
}
