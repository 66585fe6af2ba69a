//! Tape → CSV, one row per record, in the generic CSV format that `kestrel tape import --format csv`
//! reads back (see `import/csv.rs` for the columns).

use kestrel_engine::tape::{Record, Tape, flags};
use kestrel_engine::types::Fixed;
use std::io::{self, Write};

/// The header row; the same columns the CSV importer knows.
pub const HEADER: &str =
    "ts_local,ts_exchange,symbol,venue,kind,side,price,qty,trade_id,update_id,bid_px,bid_qty,ask_px,ask_qty,flags";

#[derive(Clone, Debug, Default)]
pub struct CatOptions {
    /// Print at most this many records.
    pub limit: Option<u64>,
}

fn flag_text(f: u8) -> String {
    let mut parts = Vec::new();
    if f & flags::SNAPSHOT != 0 {
        parts.push("snapshot");
    }
    if f & flags::END_OF_BATCH != 0 {
        parts.push("end");
    }
    if f & flags::GAP_BEFORE != 0 {
        parts.push("gap");
    }
    parts.join("|")
}

/// Writes the header and the records as CSV. Returns the number of records written.
pub fn write_csv(tape: &Tape, out: &mut dyn Write, opts: &CatOptions) -> io::Result<u64> {
    writeln!(out, "{HEADER}")?;
    let specs = tape.instruments();
    let mut n = 0u64;
    for record in tape.iter() {
        if opts.limit.is_some_and(|l| n >= l) {
            break;
        }
        let h = record.header();
        let Some(spec) = specs.get(h.instrument.index()) else { continue };
        let (ps, qs) = (spec.price_scale, spec.qty_scale);
        write!(out, "{},", h.ts_local.0)?;
        if h.ts_exchange.is_known() {
            write!(out, "{}", h.ts_exchange.0)?;
        }
        write!(out, ",{},{},", spec.symbol, spec.venue)?;
        match record {
            Record::Quote(q) => writeln!(
                out,
                "quote,,,,,,{},{},{},{},",
                Fixed::new(q.bid_px.0, ps),
                Fixed::new(q.bid_qty.0, qs),
                Fixed::new(q.ask_px.0, ps),
                Fixed::new(q.ask_qty.0, qs)
            )?,
            Record::Trade(t) => writeln!(
                out,
                "trade,{},{},{},{},,,,,,",
                t.aggressor().as_str(),
                Fixed::new(t.px.0, ps),
                Fixed::new(t.qty.0, qs),
                t.trade_id
            )?,
            Record::Level(l) => writeln!(
                out,
                "level,{},{},{},,{},,,,,{}",
                l.side().as_str(),
                Fixed::new(l.px.0, ps),
                Fixed::new(l.qty.0, qs),
                l.update_id,
                flag_text(l.header.flags)
            )?,
            Record::Clear(c) => writeln!(out, "clear,,,,,{},,,,,", c.update_id)?,
        }
        n += 1;
    }
    out.flush()?;
    Ok(n)
}
