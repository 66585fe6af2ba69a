//! Rows → CSV: a header row with the column names, then one line per row. `ts` is RFC 3339 UTC with
//! nine fractional digits; floats are written in Rust's shortest round-trip form (they parse back to
//! the same bits; `inf`/`-inf` for infinities); NaN is an empty cell (pandas reads it as NaN, polars
//! as null). Symbols never need quoting (instrument symbols have no commas, quotes or spaces).

use super::columns::column_names;
use super::{ExportError, Row};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

#[derive(Debug)]
pub struct CsvSink<W: Write> {
    out: W,
    symbols: Vec<String>,
    path: PathBuf,
}

impl<W: Write> CsvSink<W> {
    /// Writes the header row. `symbols`: the tape's instrument table; `path` is for messages.
    pub fn new(mut out: W, symbols: Vec<String>, path: &Path) -> Result<Self, ExportError> {
        writeln!(out, "{}", column_names().join(","))
            .map_err(|source| ExportError::Io { path: path.to_path_buf(), source })?;
        Ok(CsvSink { out, symbols, path: path.to_path_buf() })
    }

    pub fn push(&mut self, row: &Row) -> Result<(), ExportError> {
        self.write_row(row).map_err(|source| ExportError::Io { path: self.path.clone(), source })
    }

    fn write_row(&mut self, row: &Row) -> std::io::Result<()> {
        let w = &mut self.out;
        let ts = humantime::format_rfc3339_nanos(UNIX_EPOCH + Duration::from_nanos(row.ts_ns));
        let symbol = self.symbols.get(usize::from(row.instrument)).map_or("", |s| s.as_str());
        write!(w, "{},{ts},{symbol},{}", row.ts_ns, row.seq)?;
        for v in row.values.0 {
            if v.is_nan() {
                w.write_all(b",")?;
            } else {
                write!(w, ",{v:?}")?;
            }
        }
        w.write_all(b"\n")
    }

    /// Returns the underlying writer (not flushed).
    pub fn finish(self) -> Result<W, ExportError> {
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kestrel_engine::features::{FeatureVector, idx};

    #[test]
    fn nan_is_an_empty_cell_and_floats_round_trip() {
        let mut values = FeatureVector::default();
        values.set(idx::MID, 0.1 + 0.2);
        values.set(idx::SPREAD_BPS, 1e-9);
        values.set(idx::CVD, -0.0);
        values.set(idx::ATR_Z, f64::INFINITY);
        let row = Row { seq: 7, ts_ns: 1_723_161_255_000_000_001, instrument: 0, values };
        let mut sink = CsvSink::new(Vec::new(), vec!["BTCUSDT".into()], Path::new("x.csv")).unwrap();
        sink.push(&row).unwrap();
        let text = String::from_utf8(sink.finish().unwrap()).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap().split(',').count(), column_names().len());
        let cells: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(cells.len(), column_names().len());
        assert_eq!(&cells[..4], ["1723161255000000001", "2024-08-08T23:54:15.000000001Z", "BTCUSDT", "7"]);
        for (i, cell) in cells[4..].iter().enumerate() {
            let v = values.get(i);
            if v.is_nan() {
                assert_eq!(*cell, "", "feature {i}");
            } else {
                assert_eq!(cell.parse::<f64>().unwrap().to_bits(), v.to_bits(), "feature {i}: {cell}");
            }
        }
    }
}
