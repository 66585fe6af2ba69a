//! The writing end shared by every importer: validates events, keeps each instrument's book to
//! catch crossed states, infers tick and lot, and streams records into the tape.

use super::error::{ImportError, Issue};
use kestrel_engine::book::L2Book;
use kestrel_engine::tape::MAX_FIXED;
use kestrel_engine::tape::{BookClear, LevelUpdate, Quote, TapeWriter, Trade, WrittenTape, flags};
use kestrel_engine::types::{BookSide, InstrumentId, InstrumentSpec, MAX_SCALE, Price, Qty, UnixNanos, parse_fixed};

/// Per-instrument state while importing.
#[derive(Debug)]
struct Instrument {
    spec: InstrumentSpec,
    book: L2Book,
    /// GCD of every price and size seen, for inferring tick and lot when not given.
    px_gcd: i64,
    qty_gcd: i64,
    tick_given: bool,
    lot_given: bool,
    /// Decimals fixed (by option, or by the first message that carried numbers).
    scales_settled: bool,
}

/// Tick and lot given on the command line, as decimal strings (parsed at each instrument's scale).
#[derive(Clone, Debug, Default)]
pub struct Increments {
    pub tick: Option<String>,
    pub lot: Option<String>,
}

/// One level of a book update, already in fixed point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelChange {
    pub side: BookSide,
    pub px: Price,
    pub qty: Qty,
}

#[derive(Debug)]
pub struct Sink {
    writer: TapeWriter,
    instruments: Vec<Instrument>,
    last_ts: u64,
    increments: Increments,
    price_decimals: Option<u8>,
    qty_decimals: Option<u8>,
}

/// Number of decimals in a decimal string ("61659.70" → 2), capped at the format's maximum.
pub fn decimals(text: &str) -> u8 {
    text.find('.').map_or(0, |dot| (text.len() - dot - 1).min(usize::from(MAX_SCALE)) as u8)
}

pub fn parse_px(spec: &InstrumentSpec, field: &'static str, text: &str) -> Result<Price, Issue> {
    let v = parse_fixed(text, spec.price_scale).map_err(|e| invalid(field, text, e.to_string()))?;
    if v <= 0 {
        return Err(invalid(field, text, "prices must be positive".into()));
    }
    if v > MAX_FIXED {
        return Err(invalid(field, text, too_large(spec.price_scale)));
    }
    Ok(Price(v))
}

/// Parses a size; `allow_zero` for book levels, where zero deletes the level.
pub fn parse_qty(spec: &InstrumentSpec, field: &'static str, text: &str, allow_zero: bool) -> Result<Qty, Issue> {
    let v = parse_fixed(text, spec.qty_scale).map_err(|e| invalid(field, text, e.to_string()))?;
    if v < 0 || (v == 0 && !allow_zero) {
        let why = if allow_zero { "sizes cannot be negative" } else { "sizes must be positive" };
        return Err(invalid(field, text, why.into()));
    }
    if v > MAX_FIXED {
        return Err(invalid(field, text, too_large(spec.qty_scale)));
    }
    Ok(Qty(v))
}

fn too_large(scale: u8) -> String {
    format!("beyond 2^61 steps at {scale} decimals: not a real market (Kestrel's fixed-point limit)")
}

pub fn invalid(field: &'static str, value: &str, why: String) -> Issue {
    Issue::InvalidValue { field, value: value.to_owned(), why }
}

fn gcd(a: i64, b: i64) -> i64 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a as i64
}

impl Sink {
    pub fn new(
        writer: TapeWriter,
        increments: Increments,
        price_decimals: Option<u8>,
        qty_decimals: Option<u8>,
    ) -> Self {
        Sink { writer, instruments: Vec::new(), last_ts: 0, increments, price_decimals, qty_decimals }
    }

    /// Registers an instrument. Its decimals come from the options, or else from the first message
    /// that carries numbers ([`Sink::settle_scales`]); a leading book-clear or empty diff does not
    /// decide them.
    pub fn add_instrument(&mut self, symbol: &str, venue: &str) -> Result<InstrumentId, ImportError> {
        let (ps, qs) = (self.price_decimals.unwrap_or(8), self.qty_decimals.unwrap_or(8));
        let spec = InstrumentSpec {
            symbol: symbol.into(),
            venue: venue.into(),
            price_scale: ps,
            qty_scale: qs,
            tick: Price(1),
            lot: Qty(1),
        };
        spec.validate().map_err(|e| ImportError::Usage(e.to_string()))?;
        let id = self.writer.add_instrument(&spec)?;
        self.instruments.push(Instrument {
            spec,
            book: L2Book::with_capacity(1024),
            px_gcd: 0,
            qty_gcd: 0,
            tick_given: false,
            lot_given: false,
            scales_settled: false,
        });
        if self.price_decimals.is_some() && self.qty_decimals.is_some() {
            self.settle_scales(id, &[], &[])?;
        }
        Ok(id)
    }

    /// Fixes the instrument's decimals from the numbers of the first message that has some (the
    /// most decimals among them), unless given as options, and applies --tick / --lot at that scale.
    pub fn settle_scales(&mut self, id: InstrumentId, prices: &[&str], qtys: &[&str]) -> Result<(), ImportError> {
        let inst = &self.instruments[id.index()];
        if inst.scales_settled {
            return Ok(());
        }
        let ps = match self.price_decimals {
            Some(d) => d,
            None if prices.is_empty() => return Ok(()),
            None => prices.iter().map(|s| decimals(s)).max().unwrap_or(8),
        };
        let qs = match self.qty_decimals {
            Some(d) => d,
            None if qtys.is_empty() => return Ok(()),
            None => qtys.iter().map(|s| decimals(s)).max().unwrap_or(8),
        };
        self.writer.set_scales(id, ps, qs)?;
        let mut spec = InstrumentSpec { price_scale: ps, qty_scale: qs, ..inst.spec.clone() };
        let parse = |text: &Option<String>, scale: u8, what: &str| -> Result<Option<i64>, ImportError> {
            let Some(text) = text else { return Ok(None) };
            match parse_fixed(text, scale) {
                Ok(v) if v > 0 => Ok(Some(v)),
                Ok(_) => Err(ImportError::Usage(format!("--{what} {text}: must be positive"))),
                Err(e) => Err(ImportError::Usage(format!("--{what} {text} for {}: {e}", spec.symbol))),
            }
        };
        let tick = parse(&self.increments.tick, spec.price_scale, "tick")?;
        let lot = parse(&self.increments.lot, spec.qty_scale, "lot")?;
        if let Some(t) = tick {
            spec.tick = Price(t);
        }
        if let Some(l) = lot {
            spec.lot = Qty(l);
        }
        self.writer.set_increments(id, spec.tick, spec.lot, tick.is_none(), lot.is_none())?;
        let inst = &mut self.instruments[id.index()];
        inst.spec = spec;
        inst.tick_given = tick.is_some();
        inst.lot_given = lot.is_some();
        inst.scales_settled = true;
        Ok(())
    }

    pub fn records(&self) -> u64 {
        self.writer.records_written()
    }

    pub fn spec(&self, id: InstrumentId) -> &InstrumentSpec {
        &self.instruments[id.index()].spec
    }

    /// Records are ordered by local time; an event released late (a buffered depth diff applied
    /// when its snapshot arrives) takes the time at which it was released.
    fn ts(&mut self, ts_local: UnixNanos) -> UnixNanos {
        self.last_ts = self.last_ts.max(ts_local.0);
        UnixNanos(self.last_ts)
    }

    fn check_increments(&mut self, id: InstrumentId, px: Price, qty: Qty) -> Result<(), Issue> {
        let inst = &mut self.instruments[id.index()];
        if inst.tick_given && px.0 % inst.spec.tick.0 != 0 {
            let why = format!("not a multiple of the tick {}", inst.spec.tick.at(inst.spec.price_scale));
            return Err(invalid("price", &px.at(inst.spec.price_scale).to_string(), why));
        }
        if inst.lot_given && qty.0 != 0 && qty.0 % inst.spec.lot.0 != 0 {
            let why = format!("not a multiple of the lot {}", inst.spec.lot.at(inst.spec.qty_scale));
            return Err(invalid("qty", &qty.at(inst.spec.qty_scale).to_string(), why));
        }
        // A zero size (a deleted level) says nothing about the lot.
        inst.px_gcd = gcd(inst.px_gcd, px.0);
        inst.qty_gcd = gcd(inst.qty_gcd, qty.0);
        Ok(())
    }

    /// Writes an L1 quote after checking that it is not crossed.
    pub fn quote(
        &mut self,
        id: InstrumentId,
        ts_local: UnixNanos,
        ts_exchange: UnixNanos,
        bid: (Price, Qty),
        ask: (Price, Qty),
    ) -> Result<Result<(), Issue>, ImportError> {
        if bid.0 >= ask.0 {
            let scale = self.spec(id).price_scale;
            return Ok(Err(Issue::CrossedQuote { bid: bid.0.at(scale).to_string(), ask: ask.0.at(scale).to_string() }));
        }
        if let Err(issue) =
            self.check_increments(id, bid.0, bid.1).and_then(|()| self.check_increments(id, ask.0, ask.1))
        {
            return Ok(Err(issue));
        }
        let ts = self.ts(ts_local);
        self.writer.write(Quote::new(id, ts, ts_exchange, bid, ask))?;
        Ok(Ok(()))
    }

    /// Writes a trade after checking its price and size against the tick and lot.
    pub fn trade(&mut self, mut trade: Trade) -> Result<Result<(), Issue>, ImportError> {
        if let Err(issue) = self.check_increments(trade.header.instrument, trade.px, trade.qty) {
            return Ok(Err(issue));
        }
        trade.header.ts_local = self.ts(trade.header.ts_local);
        self.writer.write(trade)?;
        Ok(Ok(()))
    }

    /// Empties the instrument's book: a snapshot follows.
    pub fn clear(
        &mut self,
        id: InstrumentId,
        ts_local: UnixNanos,
        ts_exchange: UnixNanos,
        update_id: u64,
    ) -> Result<(), ImportError> {
        self.instruments[id.index()].book.clear();
        let ts = self.ts(ts_local);
        self.writer.write(BookClear::new(id, ts, ts_exchange, update_id))?;
        Ok(())
    }

    /// Applies one venue message's level changes as a batch (the last record flagged
    /// END_OF_BATCH). The outer error stops the import (I/O); the inner one is a data issue for the
    /// policy: a bad value (nothing written) or a book crossed after the batch (written as received).
    #[allow(clippy::too_many_arguments)]
    pub fn levels(
        &mut self,
        id: InstrumentId,
        ts_local: UnixNanos,
        ts_exchange: UnixNanos,
        changes: &[LevelChange],
        update_id: u64,
        snapshot: bool,
        gap_before: bool,
    ) -> Result<Result<(), Issue>, ImportError> {
        for c in changes {
            if let Err(issue) = self.check_increments(id, c.px, c.qty) {
                return Ok(Err(issue));
            }
        }
        let ts = self.ts(ts_local);
        let base = if snapshot { flags::SNAPSHOT } else { 0 };
        for (i, c) in changes.iter().enumerate() {
            let mut f = base;
            if i == 0 && gap_before {
                f |= flags::GAP_BEFORE;
            }
            if i + 1 == changes.len() {
                f |= flags::END_OF_BATCH;
            }
            self.writer.write(LevelUpdate::new(id, ts, ts_exchange, c.side, c.px, c.qty, update_id, f))?;
            self.instruments[id.index()].book.set(c.side, c.px, c.qty);
        }
        let inst = &self.instruments[id.index()];
        if inst.book.is_crossed() {
            let scale = inst.spec.price_scale;
            let (bid, ask) = (inst.book.best_bid(), inst.book.best_ask());
            return Ok(Err(Issue::CrossedBook {
                symbol: inst.spec.symbol.clone(),
                bid: bid.map(|l| l.px.at(scale).to_string()).unwrap_or_default(),
                ask: ask.map(|l| l.px.at(scale).to_string()).unwrap_or_default(),
            }));
        }
        Ok(Ok(()))
    }

    /// Settles inferred ticks and lots and moves the finished tape into place.
    pub fn finish(mut self) -> Result<(WrittenTape, Vec<InstrumentSpec>), ImportError> {
        let mut specs = Vec::new();
        for (i, inst) in self.instruments.iter().enumerate() {
            let tick = if inst.tick_given || inst.px_gcd <= 0 { inst.spec.tick } else { Price(inst.px_gcd) };
            let lot = if inst.lot_given || inst.qty_gcd <= 0 { inst.spec.lot } else { Qty(inst.qty_gcd) };
            self.writer.set_increments(InstrumentId(i as u16), tick, lot, !inst.tick_given, !inst.lot_given)?;
            specs.push(InstrumentSpec { tick, lot, ..inst.spec.clone() });
        }
        Ok((self.writer.finish()?, specs))
    }
}
