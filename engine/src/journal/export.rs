//! A journal as CSV, for pandas, polars and spreadsheets.
//!
//! One header row, then one row per record:
//!
//! ```text
//! record,event_seq,ts_ns,kind,symbol,side,reason,order_id,px,qty,signal,realized_pnl
//! 0,17,1723161254300000000,decision,ETHUSDT,buy,,0,2683.90,0.500,0.734000,
//! 3,17,1723161254300000000,fill,ETHUSDT,buy,,1,2683.90,0.500,,-0.25000
//! ```
//!
//! Column types, so that readers infer sensible dtypes:
//! - `record` (index in the journal), `event_seq`, `ts_ns` (tape time, ns since the Unix epoch) and
//!   `order_id` are integers on every row; `order_id` is 0 on decision and blocked rows, which name
//!   no order (a 0 rather than an empty cell keeps the column an integer in pandas).
//! - `kind`, `symbol`, `side`, `reason` are short names (categoricals); `side` is empty where the
//!   record has none, `reason` is empty except on blocked and reject rows.
//! - `px`, `qty` are exact decimals at the instrument's price and quantity scales.
//! - `signal` is the strategy's signal (the record's value in millionths, as a decimal) on decision
//!   and blocked rows only; `realized_pnl` is the PnL a fill locked in, in the quote currency at
//!   price + quantity decimals, on fill rows only. Other rows leave them empty, which pandas and
//!   polars read as missing in a float column.
//!
//! Symbols are validated to hold no commas, spaces or quotes, so no cell needs quoting.

use super::reader::Journal;
use super::record::EntryKind;
use crate::types::Fixed;
use std::fmt;
use std::io::{self, Write};

/// The header row.
pub const CSV_COLUMNS: &str = "record,event_seq,ts_ns,kind,symbol,side,reason,order_id,px,qty,signal,realized_pnl";

/// Decimals of the `signal` column: the record stores the signal in millionths.
const SIGNAL_SCALE: u8 = 6;

/// Writes `journal`'s records as CSV to `out`; returns the number of rows after the header.
pub fn write_csv(journal: &Journal, out: &mut impl Write) -> io::Result<u64> {
    writeln!(out, "{CSV_COLUMNS}")?;
    for (i, rec) in journal.records().iter().enumerate() {
        // `Journal::open` checks both for every record it keeps; a failure here is a bug.
        let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidData, format!("record {i}: {what}"));
        let kind = rec.kind().ok_or_else(|| invalid(format!("unknown kind {}", rec.kind)))?;
        let spec = journal
            .instruments()
            .get(rec.instrument.index())
            .ok_or_else(|| invalid(format!("unknown instrument {}", rec.instrument.0)))?;
        write!(
            out,
            "{i},{},{},{},{},{},{},{},{},{},",
            rec.event_seq,
            rec.ts.0,
            kind.as_str(),
            spec.symbol,
            rec.side().map_or("", |s| s.as_str()),
            rec.reason_str().unwrap_or(""),
            rec.order_id,
            rec.px.at(spec.price_scale),
            rec.qty.at(spec.qty_scale),
        )?;
        match kind {
            EntryKind::Decision | EntryKind::Blocked => writeln!(out, "{},", Fixed::new(rec.value, SIGNAL_SCALE))?,
            EntryKind::Fill => {
                writeln!(out, ",{}", Wide(Fixed::new(rec.value, spec.price_scale + spec.qty_scale)))?;
            }
            EntryKind::Order | EntryKind::Reject => writeln!(out, ",")?,
        }
    }
    Ok(journal.records().len() as u64)
}

/// A [`Fixed`] that displays at any scale. `Fixed` computes `10^scale` in a `u64`, which overflows
/// past 19 decimals, and a PnL's scale (price + quantity decimals) reaches 24. Past 19 decimals
/// every `i64` is below one unit: `0.` and its digits, zero-padded to the scale.
struct Wide(Fixed);

impl fmt::Display for Wide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Fixed { value, scale } = self.0;
        if scale <= 19 {
            return self.0.fmt(f);
        }
        let sign = if value < 0 { "-" } else { "" };
        let width = usize::from(scale);
        write!(f, "{sign}0.{:0width$}", value.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_decimals_do_not_overflow() {
        assert_eq!(Wide(Fixed::new(-25, 5)).to_string(), "-0.00025");
        assert_eq!(Wide(Fixed::new(i64::MAX, 19)).to_string(), "0.9223372036854775807");
        assert_eq!(Wide(Fixed::new(i64::MIN, 24)).to_string(), "-0.000009223372036854775808");
        assert_eq!(Wide(Fixed::new(0, 20)).to_string(), "0.00000000000000000000");
    }
}
