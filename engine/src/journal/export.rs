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
//! Model records:
//! - `model_swap` rows (a change of live model, and the models a run started with): `symbol` and
//!   `side` empty, `reason` the role (`pwin` or `slippage`), `order_id` the new model's version (0:
//!   removed). The old version is the previous `model_swap` row's of the same role (0 before the
//!   first).
//! - Features records are not rows here: a run of them follows each model-consulted entry
//!   candidate, and [`write_features_csv`] turns them into a table of their own. Their `record`
//!   indices are skipped, so `record` stays the position in the journal.
//!
//! Symbols are validated to hold no commas, spaces or quotes, so no cell needs quoting.

use super::candidates::entry_candidates;
use super::reader::Journal;
use super::record::{BlockReason, EntryKind, JournalRecord};
use crate::account::Position;
use crate::decide::model::ModelRole;
use crate::features::{FEATURES, idx};
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
    let mut rows = 0;
    for (i, rec) in journal.records().iter().enumerate() {
        // `Journal::open` checks both for every record it keeps; a failure here is a bug.
        let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidData, format!("record {i}: {what}"));
        let kind = rec.kind().ok_or_else(|| invalid(format!("unknown kind {}", rec.kind)))?;
        match kind {
            EntryKind::Features => continue,
            EntryKind::ModelSwap => {
                let role = ModelRole::ALL.get(usize::from(rec.aux)).map_or("", |r| r.as_str());
                writeln!(out, "{i},{},{},model_swap,,,{role},{},,,,,,,,,,", rec.event_seq, rec.ts.0, rec.order_id)?;
                rows += 1;
                continue;
            }
            _ => {}
        }
        rows += 1;
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
    Ok(rows)
}

/// The columns of [`write_features_csv`] before the features (which follow by schema name).
pub const FEATURES_CSV_LEAD: &str = "record,event_seq,ts_ns,symbol,side,verdict,reason,px,qty,p_win,slippage_bps";

/// Writes the entry candidates that consulted a model, one row each, as CSV: the counterfactual
/// dataset for learning (what the models saw, what they said, and what became of the candidate,
/// taken or not). Columns: [`FEATURES_CSV_LEAD`], then every feature of the schema by name
/// (`features::FEATURES`).
///
/// - `record` is the position in the journal of the candidate's Decision or Blocked record;
///   `event_seq` and `ts_ns` its event; `symbol`, `side`, `px` (the touch it would take) and `qty`
///   (the size decided) as in [`write_csv`].
/// - `verdict` is `decision` (sent on to the venue) or `blocked`, `reason` the block reason (empty on
///   decisions): `below_pwin`, `negative_ev` and `below_min_size` are the models' own refusals.
/// - `p_win`, `slippage_bps` (bps of the mid, a cost) and the features are the `f32` values the
///   models saw; an empty cell is `NaN`: a feature not yet defined, or a model that was not asked
///   (no slippage model) or gave no usable answer (see `reason`).
///
/// Returns the number of rows after the header. A journal written with another feature schema (a
/// different count of values) is refused.
pub fn write_features_csv(journal: &Journal, out: &mut impl Write) -> io::Result<u64> {
    write!(out, "{FEATURES_CSV_LEAD}")?;
    for f in FEATURES {
        write!(out, ",{}", f.name)?;
    }
    writeln!(out)?;
    let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    let mut rows = 0;
    let mut values = [f32::NAN; idx::COUNT + 2];
    for c in entry_candidates(journal).map_err(invalid)? {
        let Some(seen) = c.seen else { continue };
        values[0] = seen.p_win;
        values[1] = seen.slippage_bps;
        for (j, v) in values[2..].iter_mut().enumerate() {
            // Journaled as f32: the round trip through f64 is exact.
            *v = seen.features.get(j) as f32;
        }
        write_candidate_row(journal, (c.at, &c.record), &values, out).map_err(|e| {
            if e.kind() == io::ErrorKind::InvalidData { invalid(format!("record {}: {e}", c.at)) } else { e }
        })?;
        rows += 1;
    }
    Ok(rows)
}

fn write_candidate_row(
    journal: &Journal,
    (at, c): (usize, &JournalRecord),
    values: &[f32],
    out: &mut impl Write,
) -> io::Result<()> {
    let spec = journal
        .instruments()
        .get(c.instrument.index())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("unknown instrument {}", c.instrument.0)))?;
    let (verdict, reason) = if c.kind() == Some(EntryKind::Blocked) {
        ("blocked", BlockReason::from_u8(c.reason).map_or("", BlockReason::as_str))
    } else {
        ("decision", "")
    };
    write!(
        out,
        "{at},{},{},{},{},{verdict},{reason},{},{}",
        c.event_seq,
        c.ts.0,
        spec.symbol,
        c.side().map_or("", |s| s.as_str()),
        c.px.at(spec.price_scale),
        c.qty.at(spec.qty_scale),
    )?;
    for v in values {
        if v.is_nan() { write!(out, ",")? } else { write!(out, ",{v}")? }
    }
    writeln!(out)
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
