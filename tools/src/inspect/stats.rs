//! One pass over a tape that gathers what `kestrel tape info` prints: counts, time span, trade
//! statistics (aggressor split, total quantity, exact VWAP) and the book rebuilt to the end, with the
//! gaps and crossed states met on the way.

use kestrel_engine::book::L2Book;
use kestrel_engine::tape::{Record, Tape, flags, header};
use kestrel_engine::types::{Aggressor, Fixed, InstrumentSpec, Price, Qty};
use serde::Serialize;

/// An exact decimal of any size, printed at a fixed number of decimals.
fn decimal_i128(value: i128, scale: u8) -> String {
    let unit = 10i128.pow(u32::from(scale));
    let sign = if value < 0 { "-" } else { "" };
    let m = value.unsigned_abs();
    let unit = unit.unsigned_abs();
    if scale == 0 {
        format!("{sign}{m}")
    } else {
        format!("{sign}{}.{:0width$}", m / unit, m % unit, width = usize::from(scale))
    }
}

/// Rounds `num / den` to the nearest integer, halves away from zero.
fn div_round(num: i128, den: i128) -> i128 {
    let q = num / den;
    let r = num % den;
    if 2 * r.abs() >= den.abs() { q + num.signum() * den.signum() } else { q }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    pub records: u64,
    pub quotes: u64,
    pub trades: u64,
    pub depth_updates: u64,
    /// Book snapshots (each starts with a book-clear record).
    pub snapshots: u64,
    /// Venue messages of level updates (diffs and snapshots): level-update records flagged end-of-batch.
    pub depth_batches: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct TradeStats {
    pub count: u64,
    pub buy_aggressor: u64,
    pub sell_aggressor: u64,
    pub unknown_aggressor: u64,
    pub total_qty: String,
    /// Volume-weighted average price, exact, rounded half away from zero to 4 decimals.
    pub vwap: Option<String>,
    pub first_id: Option<u64>,
    pub last_id: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct BookStats {
    /// Sequence gaps flagged on the tape by the importer.
    pub gaps: u64,
    /// Batch ends (consistent points) at which the rebuilt book was crossed.
    pub crossed: u64,
    pub levels_bid: usize,
    pub levels_ask: usize,
    /// Best bid and ask at the end: from the rebuilt L2 book when the tape has depth, else the last quote.
    pub final_bid_px: Option<String>,
    pub final_bid_qty: Option<String>,
    pub final_ask_px: Option<String>,
    pub final_ask_qty: Option<String>,
    /// Where the final best bid and ask come from: "l2", "quote" or "none".
    pub source: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub struct LastQuote {
    pub bid_px: String,
    pub bid_qty: String,
    pub ask_px: String,
    pub ask_qty: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct InstrumentStats {
    pub index: u16,
    pub symbol: String,
    pub venue: String,
    pub tick: String,
    pub lot: String,
    pub price_decimals: u8,
    pub qty_decimals: u8,
    pub tick_inferred: bool,
    pub lot_inferred: bool,
    pub counts: Counts,
    pub trades: TradeStats,
    pub book: BookStats,
    pub last_quote: Option<LastQuote>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Span {
    /// Local receive time of the first and last record: the tape's timeline.
    pub first_ts_ns: u64,
    pub last_ts_ns: u64,
    pub duration_s: f64,
    /// Earliest and latest venue time (0 when the tape carries none).
    pub first_exchange_ts_ns: u64,
    pub last_exchange_ts_ns: u64,
}

/// Everything `kestrel tape info --json` prints.
#[derive(Clone, Debug, Serialize)]
pub struct TapeStats {
    pub path: String,
    pub format_version: u32,
    pub bytes: u64,
    pub instruments: Vec<InstrumentStats>,
    pub span: Span,
    /// Totals over all instruments.
    pub counts: Counts,
    /// The instrument that the top-level `trades` and `book` describe (the first, or the one asked for).
    pub instrument: String,
    pub trades: TradeStats,
    pub book: BookStats,
}

/// Running totals for one instrument.
struct Acc {
    spec: InstrumentSpec,
    counts: Counts,
    buy: u64,
    sell: u64,
    unknown: u64,
    qty: i128,
    notional: i128,
    first_id: Option<u64>,
    last_id: Option<u64>,
    book: L2Book,
    gaps: u64,
    crossed: u64,
    last_quote: Option<(i64, i64, i64, i64)>,
}

impl Acc {
    fn new(spec: InstrumentSpec) -> Self {
        Acc {
            spec,
            counts: Counts::default(),
            buy: 0,
            sell: 0,
            unknown: 0,
            qty: 0,
            notional: 0,
            first_id: None,
            last_id: None,
            book: L2Book::with_capacity(4096),
            gaps: 0,
            crossed: 0,
            last_quote: None,
        }
    }

    fn add(&mut self, record: Record<'_>) {
        self.counts.records += 1;
        match record {
            Record::Quote(q) => {
                self.counts.quotes += 1;
                self.last_quote = Some((q.bid_px.0, q.bid_qty.0, q.ask_px.0, q.ask_qty.0));
            }
            Record::Trade(t) => {
                self.counts.trades += 1;
                match t.aggressor() {
                    Aggressor::Buy => self.buy += 1,
                    Aggressor::Sell => self.sell += 1,
                    Aggressor::Unknown => self.unknown += 1,
                }
                self.qty += i128::from(t.qty.0);
                self.notional += i128::from(t.px.0) * i128::from(t.qty.0);
                self.first_id.get_or_insert(t.trade_id);
                self.last_id = Some(t.trade_id);
            }
            Record::Level(l) => {
                self.counts.depth_updates += 1;
                if l.header.has(flags::GAP_BEFORE) {
                    self.gaps += 1;
                }
                self.book.set(l.side(), l.px, l.qty);
                if l.header.has(flags::END_OF_BATCH) {
                    self.counts.depth_batches += 1;
                    if self.book.is_crossed() {
                        self.crossed += 1;
                    }
                }
            }
            Record::Clear(_) => {
                self.counts.snapshots += 1;
                self.book.clear();
            }
        }
    }

    fn finish(self, index: u16, entry_flags: u8) -> InstrumentStats {
        let (ps, qs) = (self.spec.price_scale, self.spec.qty_scale);
        let px = |v: i64| Fixed::new(v, ps).to_string();
        let qty = |v: i64| Fixed::new(v, qs).to_string();
        let vwap = (self.qty > 0).then(|| {
            // notional is in units of 10^-(ps+qs); vwap at 4 decimals = notional·10^4 / (qty·10^ps).
            let num = self.notional * 10_000;
            let den = self.qty * 10i128.pow(u32::from(ps));
            decimal_i128(div_round(num, den), 4)
        });
        let has_l2 = self.counts.depth_updates > 0;
        let (bid, ask, source) = if has_l2 {
            (self.book.best_bid().map(|l| (l.px.0, l.qty.0)), self.book.best_ask().map(|l| (l.px.0, l.qty.0)), "l2")
        } else if let Some((bp, bq, ap, aq)) = self.last_quote {
            (Some((bp, bq)), Some((ap, aq)), "quote")
        } else {
            (None, None, "none")
        };
        InstrumentStats {
            index,
            symbol: self.spec.symbol.clone(),
            venue: self.spec.venue.clone(),
            tick: px(self.spec.tick.0),
            lot: qty(self.spec.lot.0),
            price_decimals: ps,
            qty_decimals: qs,
            tick_inferred: entry_flags & header::TICK_INFERRED != 0,
            lot_inferred: entry_flags & header::LOT_INFERRED != 0,
            trades: TradeStats {
                count: self.counts.trades,
                buy_aggressor: self.buy,
                sell_aggressor: self.sell,
                unknown_aggressor: self.unknown,
                total_qty: decimal_i128(self.qty, qs),
                vwap,
                first_id: self.first_id,
                last_id: self.last_id,
            },
            book: BookStats {
                gaps: self.gaps,
                crossed: self.crossed,
                levels_bid: self.book.bids().len(),
                levels_ask: self.book.asks().len(),
                final_bid_px: bid.map(|b| px(b.0)),
                final_bid_qty: bid.map(|b| qty(b.1)),
                final_ask_px: ask.map(|a| px(a.0)),
                final_ask_qty: ask.map(|a| qty(a.1)),
                source,
            },
            last_quote: self.last_quote.map(|(bp, bq, ap, aq)| LastQuote {
                bid_px: px(bp),
                bid_qty: qty(bq),
                ask_px: px(ap),
                ask_qty: qty(aq),
            }),
            counts: self.counts,
        }
    }
}

impl TapeStats {
    /// Reads the whole tape once. `focus` picks the instrument (by symbol) that the top-level
    /// `trades` and `book` describe; `None` means the first. An unknown symbol is an error listing
    /// the symbols the tape has.
    pub fn compute(tape: &Tape, focus: Option<&str>) -> Result<TapeStats, String> {
        let mut accs: Vec<Acc> = tape.instruments().iter().cloned().map(Acc::new).collect();
        for record in tape.iter() {
            if let Some(acc) = accs.get_mut(record.header().instrument.index()) {
                acc.add(record);
            }
        }
        let entries = tape.instrument_entries();
        let instruments: Vec<InstrumentStats> =
            accs.into_iter().enumerate().map(|(i, a)| a.finish(i as u16, entries[i].flags)).collect();
        let mut counts = Counts::default();
        for s in &instruments {
            counts.records += s.counts.records;
            counts.quotes += s.counts.quotes;
            counts.trades += s.counts.trades;
            counts.depth_updates += s.counts.depth_updates;
            counts.snapshots += s.counts.snapshots;
            counts.depth_batches += s.counts.depth_batches;
        }
        // A tape without instruments (made through the library; imports refuse to write one) is
        // summarised as empty rather than refused.
        let empty = (instruments.is_empty() && focus.is_none()).then(|| {
            let spec = InstrumentSpec {
                symbol: String::new(),
                venue: String::new(),
                price_scale: 0,
                qty_scale: 0,
                tick: Price(1),
                lot: Qty(1),
            };
            Acc::new(spec).finish(0, 0)
        });
        let chosen = match focus {
            None => instruments.first().or(empty.as_ref()),
            Some(sym) => instruments.iter().find(|s| s.symbol == sym),
        };
        let Some(chosen) = chosen.cloned() else {
            let known: Vec<&str> = instruments.iter().map(|s| s.symbol.as_str()).collect();
            return Err(match focus {
                Some(sym) => format!("no instrument '{sym}' on this tape; it has: {}", known.join(", ")),
                None => "the tape has no instruments".into(),
            });
        };
        let h = tape.header();
        Ok(TapeStats {
            path: tape.path().display().to_string(),
            format_version: h.version,
            bytes: h.data_offset + h.record_count * kestrel_engine::tape::RECORD_SIZE as u64,
            span: Span {
                first_ts_ns: h.first_ts_local,
                last_ts_ns: h.last_ts_local,
                duration_s: h.last_ts_local.saturating_sub(h.first_ts_local) as f64 / 1e9,
                first_exchange_ts_ns: h.min_ts_exchange,
                last_exchange_ts_ns: h.max_ts_exchange,
            },
            counts,
            instrument: chosen.symbol.clone(),
            trades: chosen.trades.clone(),
            book: chosen.book.clone(),
            instruments,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(div_round(15, 10), 2);
        assert_eq!(div_round(14, 10), 1);
        assert_eq!(div_round(-15, 10), -2);
        assert_eq!(decimal_i128(616_809_822, 4), "61680.9822");
        assert_eq!(decimal_i128(-5, 3), "-0.005");
    }
}
