//! The matrix's columns and its file-level metadata, shared by both formats.
//!
//! Columns, in order: `ts_ns` (int64, Unix nanoseconds, UTC), `ts` (the same instant as a timestamp
//! with nanosecond unit and the UTC time zone), `symbol` (string), `seq` (uint64, the record's index
//! in the tape), then every feature of [`FEATURES`] in schema order, float64, under its schema name.

use arrow_schema::{DataType, Field, Schema, TimeUnit};
use kestrel_engine::features::{FEATURES, SCHEMA_VERSION, schema_hash};

/// The columns before the features.
pub const LEADING: [&str; 4] = ["ts_ns", "ts", "symbol", "seq"];

/// Every column name, in file order.
pub fn column_names() -> Vec<&'static str> {
    LEADING.iter().copied().chain(FEATURES.iter().map(|f| f.name)).collect()
}

pub fn column_count() -> usize {
    LEADING.len() + FEATURES.len()
}

/// The time zone of the `ts` column.
pub const TIME_ZONE: &str = "UTC";

/// The Arrow schema of a batch (the Parquet schema derives from it).
pub fn arrow_schema() -> Schema {
    let mut fields = vec![
        Field::new("ts_ns", DataType::Int64, false),
        Field::new("ts", DataType::Timestamp(TimeUnit::Nanosecond, Some(TIME_ZONE.into())), false),
        Field::new("symbol", DataType::Utf8, false),
        Field::new("seq", DataType::UInt64, false),
    ];
    // NaN ("not yet defined") is a value, not a null: the columns are not nullable.
    fields.extend(FEATURES.iter().map(|f| Field::new(f.name, DataType::Float64, false)));
    Schema::new(fields)
}

/// Where a matrix came from; written into the Parquet footer's key/value metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MatrixMeta {
    /// The tape's path, or a description of the bundled synthetic tape.
    pub tape: String,
    /// The tape's data CRC-32 (from its header).
    pub tape_data_crc32: u32,
    /// Where the config came from (a path, or "bundled defaults").
    pub config: String,
    /// The config's `[features]` section as JSON, every default spelled out.
    pub features_config: String,
    /// `--every` in nanoseconds; 0: one row per event.
    pub every_ns: u64,
}

/// The schema hash as written in the metadata and printed in summaries: 16 lowercase hex digits.
pub fn schema_hash_hex() -> String {
    format!("{:016x}", schema_hash())
}

/// `{"name": "unit", …}` in schema order.
pub fn units_json() -> String {
    let pairs: Vec<String> = FEATURES
        .iter()
        .map(|f| format!("{}:{}", serde_json::Value::from(f.name), serde_json::Value::from(f.unit)))
        .collect();
    format!("{{{}}}", pairs.join(","))
}

/// The key/value pairs of the Parquet footer.
pub fn key_values(meta: &MatrixMeta) -> Vec<(String, String)> {
    [
        ("kestrel.schema_version", SCHEMA_VERSION.to_string()),
        ("kestrel.schema_hash", schema_hash_hex()),
        ("kestrel.feature_units", units_json()),
        ("kestrel.tape", meta.tape.clone()),
        ("kestrel.tape_data_crc32", format!("{:08x}", meta.tape_data_crc32)),
        ("kestrel.config", meta.config.clone()),
        ("kestrel.features_config", meta.features_config.clone()),
        ("kestrel.every_ns", meta.every_ns.to_string()),
        ("kestrel.version", env!("CARGO_PKG_VERSION").to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_schema_and_units_agree() {
        let names = column_names();
        assert_eq!(names.len(), column_count());
        let schema = arrow_schema();
        let from_schema: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, from_schema);
        let units: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&units_json()).unwrap();
        assert_eq!(units.len(), FEATURES.len());
        for f in FEATURES {
            assert_eq!(units[f.name], f.unit);
        }
        assert_eq!(schema_hash_hex().len(), 16);
    }
}
