#!/usr/bin/env python3
"""Makes a small labelled dataset, in the shape `kestrel train --dataset-out` writes, from a
`kestrel features` CSV: for the committed fixture (tools/byo/fixtures/) and for trying
export_model.py before `kestrel train` is at hand.

    kestrel features --every 1s --out /tmp/f1s.csv          # bundled 30-minute synthetic tape
    python3 tools/byo/make_dataset.py --features-csv /tmp/f1s.csv --out tools/byo/fixtures/dataset.csv

Output columns: ts_ns, symbol, side, win, ret_bps, slippage_bps, then the selected features under
their schema names, values copied verbatim (an empty cell is NaN, as `kestrel features` writes it).

The labels are a toy, derived from the tape, not `kestrel train`'s triple-barrier labels:
  side          buy when imbalance_l1 >= 0 (more size on the bid), sell otherwise
  ret_bps       side x (mid 30 s later - mid now) / mid now x 1e4
  win           1 when ret_bps > 0, else 0
  slippage_bps  half the spread in bps (what crossing the spread costs against the mid)
Rows without a mid now or 30 s later are dropped; then every --stride-th row is kept.

Standard library only.
"""

import argparse
import csv
import math
import sys

LEADING = ["ts_ns", "symbol", "side", "win", "ret_bps", "slippage_bps"]
DEFAULT_FEATURES = [
    "spread_bps",
    "imbalance_l1",
    "ofi_10s",
    "vol_ewma_10s",
    "signed_volume_10s",
    "realized_vol_5bars",
]


def num(s):
    return float(s) if s not in ("", "NaN", "nan") else math.nan


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--features-csv", required=True, help="CSV written by `kestrel features --every 1s --out FILE.csv`")
    ap.add_argument("--out", required=True, help="labelled dataset CSV to write")
    ap.add_argument("--features", default=",".join(DEFAULT_FEATURES), help="comma-separated schema names to keep, in order")
    ap.add_argument("--horizon-s", type=float, default=30.0, help="label horizon in seconds (default 30)")
    ap.add_argument("--stride", type=int, default=2, help="keep every N-th labelled row (default 2)")
    a = ap.parse_args()

    with open(a.features_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"error: {a.features_csv} has no rows")
    features = [x for x in a.features.split(",") if x]
    missing = [c for c in ["ts_ns", "symbol", "mid", "spread_bps", "imbalance_l1"] + features if c not in rows[0]]
    if missing:
        sys.exit(f"error: {a.features_csv} lacks column(s) {missing}: is it a `kestrel features` CSV?")

    horizon_ns = int(a.horizon_s * 1e9)
    out = []
    by_symbol = {}
    for r in rows:
        by_symbol.setdefault(r["symbol"], []).append(r)
    for sym_rows in by_symbol.values():
        ts = [int(r["ts_ns"]) for r in sym_rows]
        j = 0
        for i, r in enumerate(sym_rows):
            # The first row at least horizon later: its mid stands as the mid at t + horizon.
            while j < len(sym_rows) and ts[j] < ts[i] + horizon_ns:
                j += 1
            if j >= len(sym_rows):
                break
            mid0, mid1 = num(r["mid"]), num(sym_rows[j]["mid"])
            imb, spread = num(r["imbalance_l1"]), num(r["spread_bps"])
            if not all(math.isfinite(v) for v in (mid0, mid1, imb, spread)):
                continue
            side = 1 if imb >= 0 else -1
            ret = side * (mid1 - mid0) / mid0 * 1e4
            out.append(
                [r["ts_ns"], r["symbol"], "buy" if side > 0 else "sell", "1" if ret > 0 else "0",
                 f"{ret:.6f}", f"{spread / 2:.6f}"] + [r[c] for c in features]
            )
    out.sort(key=lambda row: int(row[0]))
    out = out[:: a.stride]
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(LEADING + features)
        w.writerows(out)
    wins = sum(r[3] == "1" for r in out)
    print(f"wrote {len(out)} rows ({wins} wins) x {len(LEADING) + len(features)} columns to {a.out}")


if __name__ == "__main__":
    main()
