//! Rows → Parquet, one row group per `batch_rows` rows (snappy-compressed), so memory stays bounded
//! whatever the tape's length. Features are float64 columns that keep NaN as NaN (never null); the
//! footer's key/value metadata holds [`super::columns::key_values`].

use super::columns::{arrow_schema, key_values};
use super::{ExportError, MatrixMeta, Row};
use arrow_array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampNanosecondArray, UInt64Array,
};
use arrow_schema::SchemaRef;
use kestrel_engine::features::idx;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct ParquetSink<W: Write + Send> {
    writer: ArrowWriter<W>,
    schema: SchemaRef,
    symbols: Vec<String>,
    batch_rows: usize,
    ts: Vec<i64>,
    instrument: Vec<u16>,
    seq: Vec<u64>,
    /// One column per feature.
    values: Vec<Vec<f64>>,
    path: PathBuf,
}

impl<W: Write + Send> std::fmt::Debug for ParquetSink<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetSink").field("path", &self.path).field("buffered", &self.seq.len()).finish()
    }
}

impl<W: Write + Send> ParquetSink<W> {
    /// `symbols`: the tape's instrument table; `path` is for messages.
    pub fn new(
        out: W,
        symbols: Vec<String>,
        meta: &MatrixMeta,
        batch_rows: usize,
        path: &Path,
    ) -> Result<Self, ExportError> {
        let schema = Arc::new(arrow_schema());
        let kv = key_values(meta).into_iter().map(|(k, v)| KeyValue::new(k, v)).collect();
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(batch_rows))
            .set_key_value_metadata(Some(kv))
            .build();
        let writer = ArrowWriter::try_new(out, schema.clone(), Some(props))
            .map_err(|source| ExportError::Parquet { path: path.to_path_buf(), source })?;
        Ok(ParquetSink {
            writer,
            schema,
            symbols,
            batch_rows: batch_rows.max(1),
            ts: Vec::with_capacity(batch_rows),
            instrument: Vec::with_capacity(batch_rows),
            seq: Vec::with_capacity(batch_rows),
            values: (0..idx::COUNT).map(|_| Vec::with_capacity(batch_rows)).collect(),
            path: path.to_path_buf(),
        })
    }

    pub fn push(&mut self, row: &Row) -> Result<(), ExportError> {
        // i64 nanoseconds reach the year 2262.
        self.ts.push(i64::try_from(row.ts_ns).unwrap_or(i64::MAX));
        self.instrument.push(row.instrument);
        self.seq.push(row.seq);
        for (column, v) in self.values.iter_mut().zip(row.values.0) {
            column.push(v);
        }
        if self.seq.len() >= self.batch_rows { self.write_row_group() } else { Ok(()) }
    }

    /// Writes the buffered rows as one row group.
    fn write_row_group(&mut self) -> Result<(), ExportError> {
        if self.seq.is_empty() {
            return Ok(());
        }
        let n = self.batch_rows;
        let ts = std::mem::replace(&mut self.ts, Vec::with_capacity(n));
        let symbols = &self.symbols;
        let symbol = StringArray::from_iter_values(
            self.instrument.iter().map(|&i| symbols.get(usize::from(i)).map_or("", |s| s)),
        );
        self.instrument.clear();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.values.len() + 4);
        columns.push(Arc::new(Int64Array::from(ts.clone())));
        columns.push(Arc::new(TimestampNanosecondArray::from(ts).with_timezone(super::columns::TIME_ZONE)));
        columns.push(Arc::new(symbol));
        columns.push(Arc::new(UInt64Array::from(std::mem::replace(&mut self.seq, Vec::with_capacity(n)))));
        for column in &mut self.values {
            columns.push(Arc::new(Float64Array::from(std::mem::replace(column, Vec::with_capacity(n)))));
        }
        let batch = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|source| ExportError::Arrow { path: self.path.clone(), source })?;
        self.writer.write(&batch).map_err(|source| ExportError::Parquet { path: self.path.clone(), source })?;
        self.writer.flush().map_err(|source| ExportError::Parquet { path: self.path.clone(), source })
    }

    /// Writes the last row group and the footer; returns the underlying writer.
    pub fn finish(mut self) -> Result<W, ExportError> {
        self.write_row_group()?;
        self.writer.into_inner().map_err(|source| ExportError::Parquet { path: self.path.clone(), source })
    }
}
