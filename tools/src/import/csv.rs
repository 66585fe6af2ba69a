//! Importer for Kestrel's generic CSV: one event per row, so that data from any vendor can become a
//! tape. It is the same format `kestrel tape cat` prints, so a tape survives `cat` → `import`.
//!
//! The first row names the columns (any order). Columns:
//!
//! | column        | needed for          | meaning |
//! |---------------|---------------------|---------|
//! | `ts_local`    | every row           | local receive time, integer since the epoch: ns, or µs / ms (detected, or `--ts-unit`) |
//! | `ts_exchange` | optional            | venue time in the same unit; empty if unknown |
//! | `symbol`      | every row           | instrument symbol |
//! | `venue`       | optional            | venue name (default `--venue`, else `CSV`) |
//! | `kind`        | every row           | `quote`, `trade`, `level` (one L2 level) or `clear` (book emptied, a snapshot follows) |
//! | `bid_px`, `bid_qty`, `ask_px`, `ask_qty` | quote | best bid and ask |
//! | `price`, `qty`| trade, level        | decimal strings; a level `qty` of 0 deletes the level |
//! | `side`        | trade, level        | trade: `buy` / `sell` aggressor or `unknown`; level: `bid` / `ask` |
//! | `trade_id`    | optional (trade)    | the venue's trade id |
//! | `update_id`   | optional            | the venue's book update id |
//! | `flags`       | optional (level)    | `snapshot`, `end` (last level of a batch), `gap`, joined by `|`; without this column every level row is a batch of its own |
//!
//! Rows must be in non-decreasing `ts_local`. Fields must not contain commas (no quoting needed for
//! market data); surrounding spaces and double quotes are stripped.

use super::ImportOptions;
use super::driver::{Common, LineFormat, Step};
use super::error::{ImportError, Issue, Location};
use super::sink::{LevelChange, Sink, parse_px, parse_qty};
use kestrel_engine::tape::Trade;
use kestrel_engine::types::{Aggressor, BookSide, InstrumentId, InstrumentSpec, Price, Qty, UnixNanos};
use std::collections::HashMap;

const COLUMNS: [&str; 15] = [
    "ts_local",
    "ts_exchange",
    "symbol",
    "venue",
    "kind",
    "side",
    "price",
    "qty",
    "trade_id",
    "update_id",
    "bid_px",
    "bid_qty",
    "ask_px",
    "ask_qty",
    "flags",
];

/// Column positions, resolved from the header row.
#[derive(Debug, Default)]
struct Columns {
    pos: [Option<usize>; COLUMNS.len()],
}

impl Columns {
    fn parse(header: &str) -> Result<Columns, Issue> {
        let mut cols = Columns::default();
        for (i, name) in header.split(',').map(clean).enumerate() {
            let Some(k) = COLUMNS.iter().position(|c| *c == name) else {
                return Err(Issue::BadHeader(format!(
                    "unknown column '{name}'; the columns are: {}",
                    COLUMNS.join(", ")
                )));
            };
            if cols.pos[k].replace(i).is_some() {
                return Err(Issue::BadHeader(format!("column '{name}' appears twice")));
            }
        }
        for required in ["ts_local", "symbol", "kind"] {
            if cols.pos[col(required)].is_none() {
                return Err(Issue::BadHeader(format!("no '{required}' column (is the first row a header?)")));
            }
        }
        Ok(cols)
    }

    fn has(&self, name: &str) -> bool {
        self.pos[col(name)].is_some()
    }
}

fn col(name: &str) -> usize {
    COLUMNS.iter().position(|c| *c == name).expect("a known column name")
}

fn clean(field: &str) -> &str {
    field.trim().trim_matches('"')
}

/// One data row split into fields.
struct Row<'t> {
    fields: Vec<&'t str>,
}

impl<'t> Row<'t> {
    fn get(&self, cols: &Columns, name: &'static str) -> &'t str {
        cols.pos[col(name)].and_then(|i| self.fields.get(i)).map_or("", |f| clean(f))
    }

    fn need(&self, cols: &Columns, name: &'static str, kind: &str) -> Result<&'t str, Issue> {
        match self.get(cols, name) {
            "" => Err(Issue::Malformed(format!("a {kind} row needs a value in column '{name}'"))),
            v => Ok(v),
        }
    }
}

/// An open batch of level rows, written when a row ends it.
struct Batch {
    id: InstrumentId,
    ts_local: UnixNanos,
    ts_exchange: UnixNanos,
    update_id: u64,
    snapshot: bool,
    gap: bool,
    changes: Vec<LevelChange>,
    at: Location,
}

pub(super) struct Csv<'a> {
    opts: &'a ImportOptions,
    c: Common,
    instruments: HashMap<(String, String), InstrumentId>,
    /// The current file's header; every file starts with its own.
    cols: Option<Columns>,
    batch: Option<Batch>,
}

impl LineFormat for Csv<'_> {
    fn common(&mut self) -> &mut Common {
        &mut self.c
    }

    fn line(&mut self, text: &str, at: &Location) -> Result<(), Step> {
        if text.starts_with('#') {
            return Ok(());
        }
        let Some(cols) = self.cols.take() else {
            // Without a header nothing in this file can be read: never skippable.
            let cols =
                Columns::parse(text).map_err(|issue| Step::Fatal(ImportError::Data { at: at.clone(), issue }))?;
            self.cols = Some(cols);
            return Ok(());
        };
        let result = self.row(&cols, text, at);
        self.cols = Some(cols);
        result
    }

    fn end_file(&mut self) -> Result<(), ImportError> {
        self.cols = None;
        self.flush()
    }

    fn end_input(&mut self) -> Result<(), ImportError> {
        self.flush()
    }
}

impl<'a> Csv<'a> {
    pub(super) fn new(opts: &'a ImportOptions, sink: Sink) -> Self {
        Csv { opts, c: Common::new(opts, sink), instruments: HashMap::new(), cols: None, batch: None }
    }

    pub(super) fn into_parts(self) -> Common {
        self.c
    }

    fn row(&mut self, cols: &Columns, text: &str, at: &Location) -> Result<(), Step> {
        let row = Row { fields: text.split(',').collect() };
        let local = self.c.ts.to_nanos(row.need(cols, "ts_local", "any")?)?;
        self.c.advance(local)?;
        let exchange = match row.get(cols, "ts_exchange") {
            "" => UnixNanos::UNKNOWN,
            t => UnixNanos(self.c.ts.to_nanos(t)?),
        };
        let kind = row.need(cols, "kind", "any")?;
        let symbol = row.need(cols, "symbol", "any")?;
        let venue = match row.get(cols, "venue") {
            "" => self.opts.venue.as_deref().unwrap_or("CSV"),
            v => v,
        };
        // Parse everything before touching the book, so a skipped row leaves no trace.
        let sample: Vec<&str> =
            ["price", "bid_px", "ask_px"].iter().map(|c| row.get(cols, c)).filter(|v| !v.is_empty()).collect();
        let sample_qty: Vec<&str> =
            ["qty", "bid_qty", "ask_qty"].iter().map(|c| row.get(cols, c)).filter(|v| !v.is_empty()).collect();
        let id = self.instrument(symbol, venue, &sample, &sample_qty)?;
        let local = UnixNanos(local);
        let update_id = parse_id(row.get(cols, "update_id"), "update_id")?;
        match kind {
            "level" => {
                let spec = self.c.sink.spec(id);
                let side = match row.need(cols, "side", kind)? {
                    "bid" => BookSide::Bid,
                    "ask" => BookSide::Ask,
                    other => return Err(invalid_side(other, "bid or ask").into()),
                };
                let change = LevelChange {
                    side,
                    px: parse_px(spec, "price", row.need(cols, "price", kind)?)?,
                    qty: parse_qty(spec, "qty", row.need(cols, "qty", kind)?, true)?,
                };
                let flags = row.get(cols, "flags");
                let (snapshot, end, gap) = parse_flags(flags)?;
                let same_batch = self.batch.as_ref().is_some_and(|b| b.id == id);
                if !same_batch {
                    self.flush_step()?;
                }
                let batch = self.batch.get_or_insert_with(|| Batch {
                    id,
                    ts_local: local,
                    ts_exchange: exchange,
                    update_id,
                    snapshot,
                    gap,
                    changes: Vec::new(),
                    at: at.clone(),
                });
                batch.changes.push(change);
                batch.update_id = update_id;
                self.c.stats.count("level");
                if end || !cols.has("flags") {
                    self.flush_step()?;
                }
                return Ok(());
            }
            "quote" | "trade" | "clear" => self.flush_step()?,
            other => {
                return Err(
                    Issue::Malformed(format!("unknown kind '{other}': use quote, trade, level or clear")).into()
                );
            }
        }
        let spec = self.c.sink.spec(id);
        match kind {
            "quote" => {
                let bid = (
                    parse_px(spec, "bid_px", row.need(cols, "bid_px", kind)?)?,
                    parse_qty(spec, "bid_qty", row.need(cols, "bid_qty", kind)?, true)?,
                );
                let ask = (
                    parse_px(spec, "ask_px", row.need(cols, "ask_px", kind)?)?,
                    parse_qty(spec, "ask_qty", row.need(cols, "ask_qty", kind)?, true)?,
                );
                self.c.sink.quote(id, local, exchange, bid, ask).map_err(Step::Fatal)??;
            }
            "trade" => {
                let px = parse_px(spec, "price", row.need(cols, "price", kind)?)?;
                let qty = parse_qty(spec, "qty", row.need(cols, "qty", kind)?, false)?;
                let aggressor = match row.get(cols, "side") {
                    "buy" => Aggressor::Buy,
                    "sell" => Aggressor::Sell,
                    "" | "unknown" => Aggressor::Unknown,
                    other => return Err(invalid_side(other, "buy, sell or unknown").into()),
                };
                let trade_id = parse_id(row.get(cols, "trade_id"), "trade_id")?;
                self.c
                    .sink
                    .trade(Trade::new(id, local, exchange, px, qty, aggressor, trade_id))
                    .map_err(Step::Fatal)??;
            }
            _ => self.c.sink.clear(id, local, exchange, update_id).map_err(Step::Fatal)?,
        }
        self.c.stats.count(match kind {
            "quote" => "quote",
            "trade" => "trade",
            _ => "clear",
        });
        Ok(())
    }

    fn instrument(
        &mut self,
        symbol: &str,
        venue: &str,
        sample: &[&str],
        sample_qty: &[&str],
    ) -> Result<InstrumentId, Step> {
        let key = (symbol.to_owned(), venue.to_owned());
        let id = match self.instruments.get(&key) {
            Some(&id) => id,
            None => {
                let spec = InstrumentSpec {
                    symbol: key.0.clone(),
                    venue: key.1.clone(),
                    price_scale: 0,
                    qty_scale: 0,
                    tick: Price(1),
                    lot: Qty(1),
                };
                if let Err(e) = spec.validate() {
                    return Err(Issue::Malformed(e.to_string()).into());
                }
                let id = self.c.sink.add_instrument(symbol, venue).map_err(Step::Fatal)?;
                self.instruments.insert(key, id);
                id
            }
        };
        self.c.sink.settle_scales(id, sample, sample_qty).map_err(Step::Fatal)?;
        Ok(id)
    }

    fn flush_step(&mut self) -> Result<(), Step> {
        self.flush().map_err(Step::Fatal)
    }

    /// Writes the open level batch, if any. A book crossed after it goes to the policy at the
    /// batch's first row.
    fn flush(&mut self) -> Result<(), ImportError> {
        let Some(b) = self.batch.take() else { return Ok(()) };
        let outcome =
            self.c.sink.levels(b.id, b.ts_local, b.ts_exchange, &b.changes, b.update_id, b.snapshot, b.gap)?;
        if let Err(issue) = outcome {
            self.c.stats.crossed_books += 1;
            self.c.policy.handle(&b.at, issue)?;
        }
        Ok(())
    }
}

fn parse_id(text: &str, field: &'static str) -> Result<u64, Issue> {
    if text.is_empty() {
        return Ok(0);
    }
    text.parse().map_err(|_| Issue::InvalidValue {
        field,
        value: text.to_owned(),
        why: "not a non-negative integer".into(),
    })
}

fn invalid_side(text: &str, expected: &str) -> Issue {
    Issue::InvalidValue { field: "side", value: text.to_owned(), why: format!("expected {expected}") }
}

fn parse_flags(text: &str) -> Result<(bool, bool, bool), Issue> {
    let (mut snapshot, mut end, mut gap) = (false, false, false);
    for f in text.split('|').map(str::trim).filter(|f| !f.is_empty()) {
        match f {
            "snapshot" => snapshot = true,
            "end" => end = true,
            "gap" => gap = true,
            other => {
                return Err(Issue::InvalidValue {
                    field: "flags",
                    value: other.to_owned(),
                    why: "expected snapshot, end or gap joined by |".into(),
                });
            }
        }
    }
    Ok((snapshot, end, gap))
}
