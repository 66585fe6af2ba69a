//! A journal as CSV, for pandas, polars and spreadsheets.
//!
//! One header row, then one row per record:
//!
//! ```text
//! record,event_seq,ts_ns,kind,symbol,side,reason,order_id,px,qty,purpose,order_type,tif,liquidity,signal,fee,realized_pnl,position
//! 0,17,1723161254300000000,decision,ETHUSDT,buy,,0,2683.90,0.500,entry,,,,0.734000,,,
//! 1,17,1723161254300000000,order,ETHUSDT,buy,,1,0.00,0.500,entry,market,ioc,,,,,
//! 2,17,1723161254300000000,fill,ETHUSDT,buy,,1,2683.90,0.500,,,,taker,,0.67097500,0.00000000,0.500
//! ```
//!
//! Column types, so that readers infer sensible dtypes:
//! - `record` (index in the journal), `event_seq`, `ts_ns` (tape time, ns since the Unix epoch) and
//!   `order_id` are integers on every row; `order_id` is 0 on decision and blocked rows, which name
//!   no order (a 0 rather than an empty cell keeps the column an integer in pandas).
//! - `kind`, `symbol`, `side`, `reason`, `purpose`, `order_type`, `tif`, `liquidity` are short names
//!   (categoricals), empty where the record has none: `reason` on blocked, reject and
//!   cancel_reject rows; `purpose` on decision, blocked and order rows; `order_type` and `tif` on
//!   order rows; `liquidity` on fill rows.
//! - `px`, `qty` are exact decimals at the instrument's price and quantity scales (`px` is 0 on a
//!   market order; `qty` is what was left on canceled and expired rows).
//! - `signal` is the strategy's signal (millionths in the record, as a decimal) on decision and
//!   blocked rows. On fill rows, `fee` is the fee (negative: a rebate), `realized_pnl` the gross PnL
//!   the fill locked in and `position` the instrument's position after it: money in the quote
//!   currency at price + quantity decimals, exact, computed by booking the fills in order (the
//!   record keeps the fee; realized PnL follows from the fills). Other rows leave them empty, which
//!   pandas and polars read as missing.
//!
//! Symbols are validated to hold no commas, spaces or quotes, so no cell needs quoting.

use super::reader::Journal;
use super::record::EntryKind;
use crate::account::Position;
use crate::orders::{Liquidity, Purpose, TimeInForce};
use crate::types::{Fixed, format_wide};
use std::io::{self, Write};

/// The header row.
pub const CSV_COLUMNS: &str = "record,event_seq,ts_ns,kind,symbol,side,reason,order_id,px,qty,purpose,order_type,tif,liquidity,signal,fee,realized_pnl,position";

/// Decimals of the `signal` column: the record stores the signal in millionths.
const SIGNAL_SCALE: u8 = 6;

/// Writes `journal`'s records as CSV to `out`; returns the number of rows after the header.
pub fn write_csv(journal: &Journal, out: &mut impl Write) -> io::Result<u64> {
    writeln!(out, "{CSV_COLUMNS}")?;
    let mut positions = vec![Position::default(); journal.instruments().len()];
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
        let purpose = match kind {
            EntryKind::Decision | EntryKind::Blocked | EntryKind::Order => {
                Purpose::from_u8(rec.aux).map_or("", Purpose::as_str)
            }
            _ => "",
        };
        let (order_type, tif) = if kind == EntryKind::Order {
            // `OrderKind::as_u8`'s bytes.
            let order_type = match rec.order_type {
                1 => "market",
                2 => "limit",
                _ => "",
            };
            let tif = match TimeInForce::from_u8(rec.tif) {
                Some(TimeInForce::Gtc) => "gtc",
                Some(TimeInForce::Ioc) => "ioc",
                Some(TimeInForce::PostOnly) => "post_only",
                None => "",
            };
            (order_type, tif)
        } else {
            ("", "")
        };
        let liquidity =
            if kind == EntryKind::Fill { Liquidity::from_u8(rec.aux).map_or("", Liquidity::as_str) } else { "" };
        write!(out, "{purpose},{order_type},{tif},{liquidity},")?;
        match kind {
            EntryKind::Decision | EntryKind::Blocked => writeln!(out, "{},,,", Fixed::new(rec.value, SIGNAL_SCALE))?,
            EntryKind::Fill => {
                let money = spec.price_scale + spec.qty_scale;
                let (Some(side), Some(pos)) = (rec.side(), positions.get_mut(rec.instrument.index())) else {
                    return Err(invalid("a fill without a side".into()));
                };
                let effect = pos.apply(side, rec.px, rec.qty, i128::from(rec.value));
                writeln!(
                    out,
                    ",{},{},{}",
                    format_wide(i128::from(rec.value), money),
                    format_wide(effect.realized, money),
                    Fixed::new(pos.qty, spec.qty_scale)
                )?;
            }
            _ => writeln!(out, ",,,")?,
        }
    }
    Ok(journal.records().len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_decimals_do_not_overflow() {
        assert_eq!(format_wide(-25, 5), "-0.00025");
        assert_eq!(format_wide(i128::from(i64::MAX), 19), "0.9223372036854775807");
        assert_eq!(format_wide(i128::from(i64::MIN), 24), "-0.000009223372036854775808");
        assert_eq!(format_wide(0, 20), "0.00000000000000000000");
        assert_eq!(format_wide(-1_500, 3), "-1.500");
        assert_eq!(format_wide(7, 0), "7");
    }
}
