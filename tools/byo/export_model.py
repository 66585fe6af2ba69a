#!/usr/bin/env python3
"""Trains a p(win) classifier on a Kestrel dataset and exports it as a Kestrel model: NAME.onnx, its
card NAME.card.json, and NAME.expected.json (20 input rows and the library's own probabilities for
them, for tests/byo_model.rs). See tools/byo/README.md.

    python3 tools/byo/export_model.py --data dataset.csv --model logreg   --out models/byo/pwin_lr
    python3 tools/byo/export_model.py --data dataset.csv --model lightgbm --out models/byo/pwin_gbm

The dataset is what `kestrel train --dataset-out FILE.csv` writes: columns ts_ns, symbol, side, win
(0/1), ret_bps, slippage_bps, then features under their engine schema names. Every feature column is
a model input, in file order, unless --features picks some (in the order given). An empty cell (or
NaN) is an undefined feature: it is replaced by the training mean of its column, the card's `fill`,
exactly as the engine does before it calls the model.

The rows are split by time: the first (1 - --test-fraction) train the model, the rest give the
card's out-of-sample metrics. The engine's schema version and hash come from
`kestrel features --schema` (or `--list-columns`) of the kestrel binary (--kestrel, $KESTREL, `kestrel`
on PATH, or target/{release,debug}/kestrel in this repository), or from --schema-version and
--schema-hash.

Exit status: 0 written; 2 bad arguments or dataset; 3 a missing Python package; 4 the export failed.
"""

import argparse
import csv
import datetime as dt
import difflib
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Columns of `kestrel train --dataset-out` that are not features.
NON_FEATURES = ["ts_ns", "symbol", "side", "win", "ret_bps", "slippage_bps"]
REQUIRED = ["ts_ns", "win", "ret_bps"]
INPUT_NAME = "features"
# Opsets tract 0.23 reads. Its ONNX-ML ops: LinearClassifier, LinearRegressor, Normalizer,
# TreeEnsembleClassifier, CategoryMapper (no ZipMap, Scaler, Imputer, TreeEnsembleRegressor).
ONNX_OPSET = 13
ML_OPSET = 3
EXPECTED_ROWS = 20
CARD_FORMAT = "kestrel-model-card"
CARD_VERSION = 1


class Usage(Exception):
    """A problem with the arguments or the dataset (exit 2)."""


def need(module, pip_name):
    try:
        return __import__(module)
    except ImportError:
        print(f"error: Python package `{pip_name}` is missing: pip install -r tools/byo/requirements.txt", file=sys.stderr)
        sys.exit(3)


# ---------------------------------------------------------------- engine schema


def find_kestrel(explicit):
    if explicit:
        return explicit
    if os.environ.get("KESTREL"):
        return os.environ["KESTREL"]
    on_path = shutil.which("kestrel")
    if on_path:
        return on_path
    for p in (REPO / "target/release/kestrel", REPO / "target/debug/kestrel"):
        if p.is_file():
            return str(p)
    return None


SCHEMA_LINE = re.compile(r"schema\D*?v?(\d+)\D+?hash[^0-9a-f]*([0-9a-f]{16})", re.IGNORECASE)


def schema_from_kestrel(binary):
    """(version, hash, feature names or None) from the kestrel binary."""
    errors = []
    for args in (["features", "--schema"], ["features", "--list-columns"]):
        try:
            p = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)
        except OSError as e:
            raise Usage(f"cannot run {binary}: {e}")
        if p.returncode != 0:
            errors.append(f"`{binary} {' '.join(args)}`: {p.stderr.strip().splitlines()[:1]}")
            continue
        text = p.stdout
        version = hash_ = None
        try:  # a JSON answer: {"version": 1, "hash": "...", "features": [...]}
            j = json.loads(text)
            version, hash_ = int(j["version"]), str(j["hash"])
            names = [f["name"] if isinstance(f, dict) else str(f) for f in j.get("features", [])] or None
            return version, hash_, names
        except (ValueError, KeyError, TypeError):
            pass
        m = SCHEMA_LINE.search(text)
        if not m:
            errors.append(f"`{binary} {' '.join(args)}` printed no schema version and hash")
            continue
        version, hash_ = int(m.group(1)), m.group(2).lower()
        names = None
        if args[1] == "--list-columns":
            names = [ln.split()[0] for ln in text.splitlines()[1:] if ln.strip()]
            names = [n for n in names if n not in ("ts_ns", "ts", "symbol", "seq")]
        return version, hash_, names
    raise Usage("could not read the feature schema from kestrel: " + "; ".join(errors))


def schema_from_source():
    """(version, hash, names) computed from engine/src/features/schema.rs, when this is a checkout."""
    src = REPO / "engine/src/features/schema.rs"
    if not src.is_file():
        return None
    text = src.read_text()
    m = re.search(r"pub const SCHEMA_VERSION: u32 = (\d+);", text)
    defs = re.findall(r'^\s*[A-Z0-9_]+ = "([^"]+)", "([^"]*)",', text, re.MULTILINE)
    if not m or not defs:
        return None
    version = int(m.group(1))
    # FNV-1a 64 over the version (LE bytes), then name and unit of each feature, each followed by 0xff:
    # schema_hash() in engine/src/features/schema.rs.
    h = 0xCBF29CE484222325
    def eat(bs):
        nonlocal h
        for b in bs:
            h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    eat(version.to_bytes(4, "little"))
    for name, unit in defs:
        eat(name.encode()); eat(b"\xff"); eat(unit.encode()); eat(b"\xff")
    return version, f"{h:016x}", [n for n, _ in defs]


def resolve_schema(a):
    names = None
    source = None
    kestrel = find_kestrel(a.kestrel)
    if a.schema_version is not None and a.schema_hash:
        version, hash_ = a.schema_version, a.schema_hash.lower()
        source = "--schema-version/--schema-hash"
        if kestrel:
            try:
                kv, kh, names = schema_from_kestrel(kestrel)
                if (kv, kh) != (version, hash_):
                    print(f"warning: {kestrel} has schema v{kv} {kh}, not the v{version} {hash_} given: "
                          "the engine will refuse this model", file=sys.stderr)
            except Usage:
                names = None
    elif a.schema_version is not None or a.schema_hash:
        raise Usage("give both --schema-version and --schema-hash, or neither (then kestrel is asked)")
    elif kestrel:
        version, hash_, names = schema_from_kestrel(kestrel)
        source = f"`{kestrel} features`"
    else:
        from_src = schema_from_source()
        if not from_src:
            raise Usage("no kestrel binary found (--kestrel, $KESTREL, PATH, target/*/kestrel) and no "
                        "--schema-version/--schema-hash given: build it with `cargo build -p kestrel`")
        version, hash_, names = from_src
        source = "engine/src/features/schema.rs (no kestrel binary found)"
    if not re.fullmatch(r"[0-9a-f]{16}", hash_):
        raise Usage(f"schema hash `{hash_}` is not 16 hex digits")
    if names is None:
        from_src = schema_from_source()
        if from_src and from_src[:2] == (version, hash_):
            names = from_src[2]
    return version, hash_, names, source


# ---------------------------------------------------------------- dataset


def parse_float(s, where):
    s = s.strip()
    if s in ("", "NaN", "nan", "NAN", "null", "NA"):
        return math.nan
    try:
        return float(s)
    except ValueError:
        raise Usage(f"{where}: `{s}` is not a number")


def load_dataset(path, selected, schema_names):
    np = need("numpy", "numpy")
    try:
        f = open(path, newline="")
    except OSError as e:
        raise Usage(f"cannot read the dataset {path}: {e.strerror}")
    with f:
        reader = csv.reader(f)
        try:
            header = next(reader)
        except StopIteration:
            raise Usage(f"{path} is empty")
        rows = list(reader)
    header = [h.strip() for h in header]
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise Usage(f"{path}: column(s) {dup} appear more than once")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise Usage(
            f"{path} lacks column(s) {missing}: a dataset has columns {', '.join(NON_FEATURES)}, then features "
            "(`kestrel train --dataset-out FILE.csv` writes one)"
        )
    if selected:
        features = selected
        absent = [c for c in features if c not in header]
        if absent:
            raise Usage(f"--features names column(s) {absent} that {path} does not have; it has {header}")
        if len(set(features)) != len(features):
            raise Usage("--features lists a feature twice")
    else:
        features = [h for h in header if h not in NON_FEATURES]
        if not features:
            raise Usage(f"{path} has no feature columns after {', '.join(c for c in NON_FEATURES if c in header)}")
    if schema_names is not None:
        unknown = [c for c in features if c not in schema_names]
        if unknown:
            hints = []
            for c in unknown:
                close = difflib.get_close_matches(c, schema_names, n=1)
                hints.append(f"`{c}`" + (f" (did you mean `{close[0]}`?)" if close else ""))
            raise Usage(
                f"unknown feature(s) {', '.join(hints)}: not in the engine's feature schema "
                "(`kestrel features --list-columns` lists it); drop them with --features"
            )
    else:
        print("warning: the engine's feature names are unknown here: feature names not checked", file=sys.stderr)
    if not rows:
        raise Usage(f"{path} has a header but no rows")
    col = {h: i for i, h in enumerate(header)}
    ts, win, ret, X = [], [], [], []
    for n, r in enumerate(rows, start=2):
        if len(r) != len(header):
            raise Usage(f"{path} line {n}: {len(r)} cells, the header has {len(header)}")
        try:
            ts.append(int(r[col["ts_ns"]]))
        except ValueError:
            raise Usage(f"{path} line {n}: ts_ns `{r[col['ts_ns']]}` is not an integer")
        w = r[col["win"]].strip()
        if w not in ("0", "1", "0.0", "1.0", "true", "false"):
            raise Usage(f"{path} line {n}: win is `{w}`, expected 0 or 1")
        win.append(1 if w in ("1", "1.0", "true") else 0)
        ret.append(parse_float(r[col["ret_bps"]], f"{path} line {n} ret_bps"))
        X.append([parse_float(r[col[c]], f"{path} line {n} {c}") for c in features])
    order = np.argsort(np.asarray(ts, dtype=np.int64), kind="stable")
    ts = np.asarray(ts, dtype=np.int64)[order]
    y = np.asarray(win, dtype=np.int64)[order]
    ret = np.asarray(ret, dtype=np.float64)[order]
    # The engine feeds f32: train and check on exactly the values the model will see.
    X = np.asarray(X, dtype=np.float64)[order].astype(np.float32).astype(np.float64)
    if np.isinf(X).any():
        bad = features[int(np.argwhere(np.isinf(X))[0][1])]
        raise Usage(f"{path}: feature `{bad}` has an infinite value (after conversion to f32)")
    return features, ts, y, ret, X


# ---------------------------------------------------------------- training and export


def rfc3339_ns(ns):
    s, frac = divmod(int(ns), 1_000_000_000)
    t = dt.datetime.fromtimestamp(s, tz=dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac:09d}" if frac else "") + "Z"


def created_at(explicit):
    if explicit:
        return explicit
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    t = dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc) if epoch else dt.datetime.now(dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def f32(v):
    """A float32 value as the exact Python float (JSON keeps it bit for bit through serde's f32)."""
    import numpy as np
    return float(np.float32(v))


def fix_batch_dim(model_proto):
    """Pins every graph input and output to batch 1 (the card declares [1, n] and [1, k])."""
    for vi in list(model_proto.graph.input) + list(model_proto.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if len(dims) >= 1 and not dims[0].HasField("dim_value"):
            dims[0].Clear()
            dims[0].dim_value = 1


def fold_base_values(model_proto):
    """Folds a TreeEnsembleClassifier's `base_values` into its leaves, for tract (DESIGN.md §10).

    scikit-learn GradientBoosting (and XGBoost) binary classifiers carry their initial score in
    `base_values`; tract does not load them with it. Every row reaches exactly one leaf of each tree,
    so adding class k's base value to the leaf weights of the first tree that scores class k, then
    dropping `base_values`, computes the same scores. Returns how many base values were folded.
    LightGBM and linear models have none: no change.
    """
    from onnx import helper
    folded = 0
    for node in model_proto.graph.node:
        if node.op_type != "TreeEnsembleClassifier":
            continue
        attrs = {a.name: a for a in node.attribute}
        if "base_values_as_tensor" in attrs:
            raise RuntimeError("base_values_as_tensor is not supported here: export with ai.onnx.ml opset 3")
        if "base_values" not in attrs:
            continue
        base = list(attrs["base_values"].floats)
        ids = list(attrs["class_ids"].ints)
        trees = list(attrs["class_treeids"].ints)
        weights = list(attrs["class_weights"].floats)
        for k, b in enumerate(base):
            if b == 0.0:
                continue
            first = [t for t, c in zip(trees, ids) if c == k]
            if not first:
                raise RuntimeError(f"base_values[{k}] = {b} but no tree scores class {k}: cannot fold")
            t0 = min(first)
            for i, (t, c) in enumerate(zip(trees, ids)):
                if t == t0 and c == k:
                    weights[i] += b
            folded += 1
        node.attribute.remove(attrs["base_values"])
        node.attribute.remove(attrs["class_weights"])
        node.attribute.append(helper.make_attribute("class_weights", weights))
    return folded


def probabilities_output(model_proto):
    """The name of the float [1, 2] probabilities output (never the label)."""
    from onnx import TensorProto
    for o in model_proto.graph.output:
        tt = o.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
        if tt.elem_type == TensorProto.FLOAT and len(dims) == 2 and dims[1] == 2:
            return o.name
    names = [o.name for o in model_proto.graph.output]
    raise RuntimeError(f"the exported graph has no float [1, 2] probabilities output (outputs: {names}); was ZipMap left on?")


def train_logreg(a, Xtr, ytr):
    need("sklearn", "scikit-learn")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    model = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=a.C, max_iter=1000))])
    model.fit(Xtr, ytr)
    return model, model.named_steps["clf"], {"learner": "LogisticRegression", "pipeline": "StandardScaler -> LogisticRegression", "C": a.C}


def export_sklearn(model, clf, n):
    need("skl2onnx", "skl2onnx")
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    # ZipMap off (tract has no ZipMap); the StandardScaler as Sub and Div (tract has no ONNX-ML Scaler).
    options = {id(clf): {"zipmap": False}}
    for _, step in getattr(model, "steps", []):
        if type(step).__name__ == "StandardScaler":
            options[id(step)] = {"div": "div"}
    return convert_sklearn(
        model,
        initial_types=[(INPUT_NAME, FloatTensorType([1, n]))],
        target_opset={"": ONNX_OPSET, "ai.onnx.ml": ML_OPSET},
        options=options,
    )


def train_lightgbm(a, Xtr, ytr):
    need("lightgbm", "lightgbm")
    from lightgbm import LGBMClassifier
    params = dict(
        n_estimators=a.trees, max_depth=a.depth, num_leaves=2 ** a.depth, learning_rate=a.learning_rate,
        min_child_samples=20, random_state=a.seed, deterministic=True, force_row_wise=True, n_jobs=1, verbose=-1,
    )
    clf = LGBMClassifier(**params)
    clf.fit(Xtr, ytr)
    return clf, clf, {"learner": "LGBMClassifier", **{k: params[k] for k in ("n_estimators", "max_depth", "num_leaves", "learning_rate", "min_child_samples", "random_state")}}


def export_lightgbm(model, n):
    need("onnxmltools", "onnxmltools")
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType
    return convert_lightgbm(
        model, initial_types=[(INPUT_NAME, FloatTensorType([1, n]))], target_opset=ONNX_OPSET, zipmap=False
    )


def metrics(y, p):
    import numpy as np
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
    out = {"test_samples": int(len(y)), "base_rate": float(np.mean(y)) if len(y) else None}
    if len(y) and len(set(y.tolist())) == 2:
        out.update(brier=float(brier_score_loss(y, p)), log_loss=float(log_loss(y, p)), auc=float(roc_auc_score(y, p)))
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in out.items()}


def trade_stats(ret, y):
    import numpy as np
    ret = ret[np.isfinite(ret)]
    if not len(ret):
        raise Usage("ret_bps has no finite value: the card's trade statistics cannot be computed")
    wins, losses = ret[ret > 0], ret[ret <= 0]
    worst = np.sort(ret)[: max(1, int(math.ceil(0.05 * len(ret))))]
    return {
        "avg_win_bps": round(float(wins.mean()) if len(wins) else 0.0, 6),
        "avg_loss_bps": round(float(-losses.mean()) if len(losses) else 0.0, 6),
        "cvar95_loss_bps": round(max(0.0, float(-worst.mean())), 6),
    }


def expected_json(e):
    """Pretty JSON with one row per line."""
    lines = ["{"]
    items = list(e.items())
    for k, (key, v) in enumerate(items):
        end = "," if k + 1 < len(items) else ""
        if key == "rows":
            rows = [f"    {json.dumps(r)}" for r in v]
            lines.append(f'  "rows": [\n' + ",\n".join(rows) + f"\n  ]{end}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(v)}{end}")
    return "\n".join(lines) + "\n}\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="labelled dataset CSV (`kestrel train --dataset-out`)")
    ap.add_argument("--model", required=True, choices=["logreg", "lightgbm"])
    ap.add_argument("--out", required=True, help="DIR/NAME: writes DIR/NAME.onnx, .card.json, .expected.json")
    ap.add_argument("--features", help="comma-separated feature columns to use, in model input order (default: all)")
    ap.add_argument("--name", help="the card's name (default: NAME of --out)")
    ap.add_argument("--kestrel", help="kestrel binary to read the feature schema from")
    ap.add_argument("--schema-version", type=int, help="engine feature schema version (with --schema-hash)")
    ap.add_argument("--schema-hash", help="engine feature schema hash, 16 hex digits (with --schema-version)")
    ap.add_argument("--test-fraction", type=float, default=0.2, help="latest share of rows held out for metrics (default 0.2)")
    ap.add_argument("--tape", action="append", default=[], help="a tape the dataset came from, for the card (repeatable)")
    ap.add_argument("--created-at", help="card created_at, RFC 3339 (default: $SOURCE_DATE_EPOCH or now)")
    ap.add_argument("--C", type=float, default=1.0, help="logreg: inverse L2 penalty (default 1)")
    ap.add_argument("--trees", type=int, default=10, help="lightgbm: trees (default 10)")
    ap.add_argument("--depth", type=int, default=3, help="lightgbm: max depth (default 3)")
    ap.add_argument("--learning-rate", type=float, default=0.1, help="lightgbm: learning rate (default 0.1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--force", action="store_true", help="replace existing output files")
    a = ap.parse_args()

    try:
        out = Path(a.out)
        if out.suffix == ".onnx":
            out = out.with_suffix("")
        name = a.name or out.name
        if not name:
            raise Usage("--out must be DIR/NAME")
        paths = {k: out.parent / f"{out.name}.{k}" for k in ("onnx", "card.json", "expected.json")}
        existing = [str(p) for p in paths.values() if p.exists()]
        if existing and not a.force:
            raise Usage(f"{', '.join(existing)} exist(s): pass --force to replace")
        if not 0.0 <= a.test_fraction < 1.0:
            raise Usage("--test-fraction must be in [0, 1)")
        version, hash_, schema_names, schema_source = resolve_schema(a)
        selected = [s.strip() for s in a.features.split(",") if s.strip()] if a.features else None
        features, ts, y, ret, X = load_dataset(a.data, selected, schema_names)
    except Usage as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    np = need("numpy", "numpy")
    n_train = len(y) - int(round(a.test_fraction * len(y)))
    Xtr, ytr = X[:n_train], y[:n_train]
    if n_train < 10 or len(set(ytr.tolist())) < 2:
        print(f"error: the training part ({n_train} rows) needs at least 10 rows and both classes (win 0 and 1)", file=sys.stderr)
        return 2
    # The card's fill: the training mean of each column, as the f32 the engine feeds.
    with np.errstate(all="ignore"), __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("ignore", RuntimeWarning)  # all-NaN columns: reported below
        fill = np.array([f32(v) for v in np.nanmean(Xtr, axis=0)])
    empty = [features[i] for i in range(len(features)) if not np.isfinite(fill[i])]
    if empty:
        print(f"error: feature(s) {empty} are NaN in every training row: drop them with --features", file=sys.stderr)
        return 2
    filled = np.where(np.isnan(X), fill, X)

    if a.model == "logreg":
        model, clf, method = train_logreg(a, filled[:n_train], ytr)
        library = "scikit-learn " + __import__("sklearn").__version__
    else:
        model, clf, method = train_lightgbm(a, filled[:n_train], ytr)
        library = "lightgbm " + __import__("lightgbm").__version__
    n = len(features)
    try:
        onx = export_sklearn(model, clf, n) if a.model == "logreg" else export_lightgbm(model, n)
        fix_batch_dim(onx)
        fold_base_values(onx)
        # Converters name the graph with a random UUID and list opsets in set order: keep the file reproducible.
        onx.graph.name = name
        opsets = sorted(((o.domain, o.version) for o in onx.opset_import))
        del onx.opset_import[:]
        for domain, version in opsets:
            onx.opset_import.add(domain=domain, version=version)
        out_name = probabilities_output(onx)
        onnx = need("onnx", "onnx")
        onnx.checker.check_model(onx)
    except Exception as e:  # noqa: BLE001 (converters raise anything)
        print(f"error: the ONNX export failed: {e}", file=sys.stderr)
        return 4
    onnx_bytes = onx.SerializeToString(deterministic=True)

    # The library's own answer on EXPECTED_ROWS rows spread over the whole dataset (NaN kept in `rows`).
    pick = np.unique(np.linspace(0, len(y) - 1, min(EXPECTED_ROWS, len(y))).round().astype(int))
    p_lib = model.predict_proba(filled[pick])[:, 1]
    p_all = model.predict_proba(filled)[:, 1]
    try:  # optional: the same graph in onnxruntime, over every row
        import onnxruntime as ort
        sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
        p_ort = np.array([sess.run([out_name], {INPUT_NAME: filled[i : i + 1].astype(np.float32)})[0][0, 1] for i in range(len(y))])
        diff = float(np.max(np.abs(p_ort - p_all)))
        print(f"onnxruntime {ort.__version__} vs {library} over all {len(y)} rows: max |diff| {diff:.2e}")
        if diff > 1e-5:
            print("warning: the ONNX graph disagrees with the library by more than 1e-5", file=sys.stderr)
    except ImportError:
        pass

    data_bytes = Path(a.data).read_bytes()
    card = {
        "format": CARD_FORMAT,
        "card_version": CARD_VERSION,
        "name": name,
        "role": "pwin",
        "version": hashlib.sha256(onnx_bytes).hexdigest()[:16],
        "created_at": created_at(a.created_at),
        "schema": {"version": version, "hash": hash_},
        "features": [{"name": f, "fill": float(fill[i])} for i, f in enumerate(features)],
        "input": {"name": INPUT_NAME, "shape": [1, n], "column": 0},
        "output": {"name": out_name, "shape": [1, 2], "column": 1},
        "trade": trade_stats(ret[:n_train], ytr),
        "training": {
            "tapes": a.tape,
            "window": [rfc3339_ns(ts[0]), rfc3339_ns(ts[n_train - 1])],
            "samples": int(n_train),
            "method": {
                **method,
                "library": library,
                "exporter": "skl2onnx " + __import__("skl2onnx").__version__ if a.model == "logreg"
                else "onnxmltools " + __import__("onnxmltools").__version__,
                "opset": {(o.domain or "ai.onnx"): int(o.version) for o in onx.opset_import},
                "dataset": Path(a.data).name,
                "dataset_crc32": f"{zlib.crc32(data_bytes):08x}",
                "labels": "the dataset's win column",
                "split": f"by time: first {n_train} rows train, last {len(y) - n_train} test",
                "nan": "replaced by the training mean (the card's fill)",
                "made_by": "tools/byo/export_model.py",
            },
        },
        "calibration": "none",
        "metrics": metrics(y[n_train:], p_all[n_train:]),
    }
    expected = {
        "model": name,
        "library": library,
        "note": "rows: model inputs in the card's order (null = NaN, the engine feeds the card's fill); "
        "p_win: the library's predict_proba[:, 1] on the filled rows",
        "features": features,
        "rows": [[None if math.isnan(v) else f32(v) for v in X[i]] for i in pick],
        "p_win": [float(p) for p in p_lib],
    }

    out.parent.mkdir(parents=True, exist_ok=True)
    paths["onnx"].write_bytes(onnx_bytes)
    paths["card.json"].write_text(json.dumps(card, indent=2) + "\n")
    paths["expected.json"].write_text(expected_json(expected))
    print(
        f"wrote {paths['onnx']} ({len(onnx_bytes):,} bytes), its card and {EXPECTED_ROWS} expected rows: {library}, "
        f"{n} features, {n_train} training rows; schema v{version} {hash_} (from {schema_source}); "
        f"test metrics {card['metrics']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
