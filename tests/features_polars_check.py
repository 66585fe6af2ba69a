"""Reads a `kestrel features` Parquet file with polars and checks it against what the Rust side read.

Run by tests/features_cli.rs as `python3 -c <this file> MATRIX.parquet EXPECTED.json`. EXPECTED holds
the row count, the column names, the feature names, per-feature NaN counts, the metadata the file must
carry, and a few rows with their values as IEEE-754 bit patterns (exact comparison, NaN-safe).
Exit 0 and print `ok ...` when everything matches; exit 3 when polars is missing.
"""

import json
import math
import struct
import sys

try:
    import polars as pl
except ImportError:
    print("polars is not installed for this python3: run `python3 -m pip install polars`", file=sys.stderr)
    sys.exit(3)


def bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def main(path, expected_path):
    with open(expected_path) as f:
        exp = json.load(f)
    df = pl.read_parquet(path)
    assert df.height == exp["rows"], f"rows: polars {df.height}, rust {exp['rows']}"
    assert df.columns == exp["columns"], f"columns: {df.columns}"

    schema = df.schema
    assert schema["ts_ns"] == pl.Int64, schema["ts_ns"]
    assert schema["ts"] == pl.Datetime("ns", "UTC"), schema["ts"]
    assert schema["symbol"] == pl.String, schema["symbol"]
    assert schema["seq"] == pl.UInt64, schema["seq"]
    for name in exp["features"]:
        assert schema[name] == pl.Float64, f"{name}: {schema[name]}"

    assert (df["ts"].dt.epoch("ns") == df["ts_ns"]).all(), "ts and ts_ns disagree"
    assert df["ts_ns"].is_sorted(), "ts_ns goes backwards"
    for name, nans in exp["nan_counts"].items():
        got = df[name].is_nan().sum()
        assert got == nans, f"{name}: {got} NaN in polars, {nans} in rust"
        assert df[name].null_count() == 0, f"{name}: NaN must stay NaN, not null"

    for check in exp["rows_checked"]:
        row = df.row(check["row"], named=True)
        for key in ("ts_ns", "seq", "symbol"):
            assert row[key] == check[key], f"row {check['row']} {key}: {row[key]!r} vs {check[key]!r}"
        for name, want in check["bits"].items():
            got = row[name]
            if want is None:
                assert math.isnan(got), f"row {check['row']} {name}: {got} where rust has NaN"
            else:
                assert bits(got) == int(want), f"row {check['row']} {name}: {got!r} vs bits {want}"

    meta = pl.read_parquet_metadata(path)
    for key, value in exp["metadata"].items():
        assert meta.get(key) == value, f"metadata {key}: {meta.get(key)!r} vs {value!r}"
    units = json.loads(meta["kestrel.feature_units"])
    assert list(units) == exp["features"], "kestrel.feature_units is not in schema order"

    print(f"ok: polars {pl.__version__} read {df.height} rows x {df.width} columns")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
