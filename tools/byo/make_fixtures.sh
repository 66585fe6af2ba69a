#!/usr/bin/env bash
# Rebuilds tools/byo/fixtures/ (the models tests/byo_model.rs loads), from the repository root:
#
#   cargo build -p kestrel && pip install -r tools/byo/requirements.txt
#   tools/byo/make_fixtures.sh              # re-export from the committed dataset.csv
#   tools/byo/make_fixtures.sh --dataset    # also remake dataset.csv from the bundled synthetic tape
#
# Re-exporting is what a change of the engine's feature schema needs (the card records the schema's
# version and hash). Remake the dataset too when a feature it holds was renamed or removed. With the
# versions in requirements.txt, the same dataset gives the same files byte for byte.
set -euo pipefail
cd "$(dirname "$0")/../.."
KESTREL=${KESTREL:-target/debug/kestrel}
[ -x "$KESTREL" ] || { echo "error: $KESTREL not found: cargo build -p kestrel (or set KESTREL)" >&2; exit 2; }
export KESTREL
FIX=tools/byo/fixtures
mkdir -p "$FIX"

if [ "${1:-}" = "--dataset" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # The bundled synthetic tape (30 minutes, one instrument), one row a second.
  "$KESTREL" features --every 1s --out "$tmp/f1s.csv"
  python3 tools/byo/make_dataset.py --features-csv "$tmp/f1s.csv" --out "$FIX/dataset.csv"
fi

export SOURCE_DATE_EPOCH=1767225600 # 2026-01-01T00:00:00Z: the cards' created_at
TAPE="bundled synthetic tape (kestrel features --every 1s, 30 min), labelled by tools/byo/make_dataset.py"
python3 tools/byo/export_model.py --data "$FIX/dataset.csv" --model logreg --out "$FIX/sklearn_logreg" --tape "$TAPE" --force
python3 tools/byo/export_model.py --data "$FIX/dataset.csv" --model lightgbm --trees 10 --depth 3 --out "$FIX/lightgbm" --tape "$TAPE" --force
