#!/usr/bin/env python3
"""Cross-check Kestrel's simulated exchange against hftbacktest on the same real capture.

Both simulators replay one Binance USD-M capture with the same scripted quoting strategy, the same
constant entry/response latencies, the same queue model, tick, lot and fees:

* hftbacktest (PyPI ``hftbacktest`` 2.4.x): the capture is converted by hftbacktest's own
  ``data.utils.binancefutures.convert`` and run through ``HashMapMarketDepthBacktest`` with
  ``no_partial_fill_exchange``, ``constant_order_latency`` and the matching queue model;
* Kestrel: the capture is imported with ``kestrel tape import`` and replayed by ``kestrel-simcheck``
  (``tools/src/simcheck``), which drives ``kestrel_engine::execute::sim::SimExchange``.

The strategy (``Quoter`` below, ``tools/src/simcheck/strategy.rs`` in Kestrel): at every step
boundary ``t`` of local time, after everything received by ``t``, cancel each live order whose age
has reached ``max_age``; on each side without a live order post a GTC limit of one lot at the touch
(buy at the best bid, sell at the best ask) if the book is two-sided and a fill keeps
``|position| <= max_position``. Boundaries are ``start + shift + k * step`` where ``shift`` is the
forward shift hftbacktest's converter applies to local time (``correct_local_timestamp``); Kestrel is
given the same shift (``--clock-shift-ns``), so both strategies act at the same instants and both
exchanges run on the capture's exchange time. See README.md in this folder for the results.

Usage: python3 tools/crosscheck/hftbacktest_check.py [--queue risk-averse --queue power:3 ...]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
from collections import deque
from decimal import Decimal
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CAPTURE = Path(
    os.environ.get("KESTREL_DATA_DIR", REPO.parent / "shared" / "data")
) / "binance" / "usdm" / "btcusdt_20240808.gz"


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


def hftbacktest_shift(capture: Path) -> int:
    """The forward shift (ns) hftbacktest's Binance futures converter applies to local time.

    ``convert`` makes one row per depth level (exchange time ``T``), per MARKET trade (``T``) and per
    snapshot level (``T``), then ``correct_local_timestamp`` adds ``-min(local - exch)`` to every
    local timestamp when that minimum is negative. Recomputed here from the raw lines so that Kestrel
    can be given exactly the same shift.
    """
    lowest = None
    with gzip.open(capture, "rt") as f:
        for line in f:
            local = int(line[:19])
            msg = json.loads(line[20:])
            data = msg.get("data")
            if data is None:
                if "bids" not in msg:
                    continue
                t = msg["T"]
            elif data.get("e") == "trade":
                if data.get("X") != "MARKET":
                    continue
                t = data["T"]
            elif data.get("e") == "depthUpdate":
                t = data["T"]
            else:
                continue
            lat = local - int(t) * 1_000_000
            lowest = lat if lowest is None else min(lowest, lat)
    return -lowest if lowest is not None and lowest < 0 else 0


def convert(capture: Path, work: Path) -> np.ndarray:
    try:
        from hftbacktest.data.utils import binancefutures
    except ImportError:
        raise SystemExit("hftbacktest is not installed: python3 -m pip install 'hftbacktest>=2.4,<2.5' (see README.md)")

    out = work / (capture.name.replace(".gz", "") + ".hftbacktest.npz")
    if out.exists():
        return np.load(out)["data"]
    print(f"converting {capture} with hftbacktest's binancefutures.convert → {out}", file=sys.stderr)
    return binancefutures.convert(str(capture), output_filename=str(out))


def ensure_binaries(args) -> tuple[Path, Path]:
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "release"
    kestrel, simcheck = target / "kestrel", target / "kestrel-simcheck"
    if args.build or not kestrel.exists() or not simcheck.exists():
        for cmd in (
            ["cargo", "build", "--release", "-q", "--bin", "kestrel"],
            ["cargo", "build", "--release", "-q", "-p", "kestrel-tools", "--bin", "kestrel-simcheck"],
        ):
            print("$", " ".join(cmd), file=sys.stderr)
            subprocess.run(cmd, cwd=REPO, check=True)
    return kestrel, simcheck


def ensure_tape(kestrel: Path, capture: Path, work: Path, tape: Path | None) -> Path:
    if tape is not None:
        return tape
    tape = work / (capture.name.replace(".gz", "") + ".tape")
    if not tape.exists():
        cmd = [str(kestrel), "tape", "import", "--format", "binance", "--out", str(tape), str(capture)]
        print("$", " ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, check=True)
    return tape


# ---------------------------------------------------------------------------------------------
# Kestrel
# ---------------------------------------------------------------------------------------------


def run_kestrel(simcheck: Path, tape: Path, args, queue: str, shift: int, exchange_order: str) -> dict:
    cmd = [
        str(simcheck), "--tape", str(tape), "--queue", queue,
        "--entry-latency-us", str(args.entry_latency_us),
        "--response-latency-us", str(args.response_latency_us),
        "--step-ms", str(args.step_ms), "--max-age-ms", str(args.max_age_ms),
        "--order-lots", "1", "--max-position-lots", str(args.max_position_lots),
        "--maker-fee-bps", args.maker_fee_bps, "--taker-fee-bps", args.taker_fee_bps,
        "--clock-shift-ns", str(shift), "--exchange-order", exchange_order,
        "--orders", "--json",
    ]
    if args.start_ns is not None:
        cmd += ["--start-ns", str(args.start_ns)]
    print("$", " ".join(cmd), file=sys.stderr)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


# ---------------------------------------------------------------------------------------------
# hftbacktest
# ---------------------------------------------------------------------------------------------


def with_queue(asset, queue: str):
    if queue == "risk-averse":
        return asset.risk_adverse_queue_model()
    if queue == "log":
        return asset.log_prob_queue_model()
    if queue == "log2":
        return asset.log_prob_queue_model2()
    kind, _, n = queue.partition(":")
    model = {
        "power": asset.power_prob_queue_model,
        "power2": asset.power_prob_queue_model2,
        "power3": asset.power_prob_queue_model3,
    }.get(kind)
    if model is None or not n:
        raise SystemExit(f"unknown queue model {queue!r}")
    return model(float(n))


class Account:
    """FIFO realized PnL and marked PnL in exact decimals, as tools/src/simcheck/account.rs."""

    def __init__(self):
        self.position = Decimal(0)
        self.realized = Decimal(0)
        self.open = deque()  # (px, signed qty)

    def fill(self, side: int, px: Decimal, qty: Decimal):
        left = qty if side > 0 else -qty
        self.position += left
        while left != 0:
            if self.open and (self.open[0][1] > 0) != (left > 0):
                lot_px, lot_q = self.open[0]
                m = min(abs(lot_q), abs(left))
                self.realized += (px - lot_px) * m if left < 0 else (lot_px - px) * m
                lot_q += -m if lot_q > 0 else m
                left += m if left < 0 else -m
                if lot_q == 0:
                    self.open.popleft()
                else:
                    self.open[0] = (lot_px, lot_q)
            else:
                self.open.append((px, left))
                left = 0

    def unrealized(self, mid: Decimal) -> Decimal:
        return sum(((mid - px) * q for px, q in self.open), Decimal(0))


def run_hftbacktest(data: np.ndarray, args, queue: str, tick: Decimal, lot: Decimal, start: int, shift: int,
                    steps: int) -> dict:
    from hftbacktest import (BacktestAsset, HashMapMarketDepthBacktest, BUY, SELL, GTC, LIMIT, NEW, FILLED,
                             CANCELED, EXPIRED)

    maker, taker = Decimal(args.maker_fee_bps) / 10_000, Decimal(args.taker_fee_bps) / 10_000
    asset = (
        BacktestAsset()
        .data([data])
        .linear_asset(1.0)
        .constant_order_latency(args.entry_latency_us * 1_000, args.response_latency_us * 1_000)
    )
    asset = (
        with_queue(asset, queue)
        .no_partial_fill_exchange()
        .trading_value_fee_model(float(maker), float(taker))
        .tick_size(float(tick))
        .lot_size(float(lot))
    )
    hbt = HashMapMarketDepthBacktest([asset])
    step, max_age = args.step_ms * 1_000_000, args.max_age_ms * 1_000_000
    max_pos = args.max_position_lots
    live = {BUY: None, SELL: None}  # side -> dict(id, px_tick, sent, cancel_sent)
    log, c = [], dict(orders=0, buy_orders=0, sell_orders=0, cancels_sent=0, canceled=0, expired=0, fills=0,
                      buy_fills=0, sell_fills=0, maker_fills=0, taker_fills=0)
    acct, fees, filled_qty = Account(), Decimal(0), Decimal(0)
    next_id = 1
    hbt.elapse(0)  # loads the data; the clock starts at the first event
    for k in range(steps):
        now = start + shift + k * step
        if hbt.elapse(now - hbt.current_timestamp) != 0:
            raise SystemExit(f"hftbacktest ran out of data before step {k}")
        assert hbt.current_timestamp == now
        # Answers received by now: a live order whose status is final is done.
        orders = hbt.orders(0)
        for side in (BUY, SELL):
            o = live[side]
            if o is None:
                continue
            h = orders.get(o["id"])
            status = h.status if h is not None else EXPIRED
            if status not in (FILLED, CANCELED, EXPIRED):
                continue
            entry = log[o["id"] - 1]
            entry["done_ns"] = now
            if status == FILLED:
                px, qty = h.exec_price_tick * tick, lot * Decimal(round(h.exec_qty / float(lot)))
                is_maker = bool(h.arr[0]['maker'])
                rate = maker if is_maker else taker
                fees += px * qty * rate
                filled_qty += qty
                acct.fill(1 if side == BUY else -1, px, qty)
                c["fills"] += 1
                c["buy_fills" if side == BUY else "sell_fills"] += 1
                c["maker_fills" if is_maker else "taker_fills"] += 1
                entry.update(outcome="filled", fill_exch_ns=int(h.exch_timestamp), fill_px=f"{px:.{-tick.as_tuple().exponent}f}",
                             liquidity="maker" if is_maker else "taker")
            elif status == CANCELED:
                c["canceled"] += 1
                entry["outcome"] = "canceled"
            else:
                c["expired"] += 1
                entry["outcome"] = "expired"
            live[side] = None
        hbt.clear_inactive_orders(0)
        # The strategy (tools/src/simcheck/strategy.rs, Quoter::on_boundary).
        for side in (BUY, SELL):
            o = live[side]
            if o is not None and not o["cancel_sent"] and now - o["sent"] >= max_age:
                # The ack is back long before max_age, so hftbacktest accepts the cancel.
                if hbt.cancel(0, o["id"], False) == 0:
                    o["cancel_sent"] = True
                    c["cancels_sent"] += 1
        depth = hbt.depth(0)
        bid, ask = depth.best_bid_tick, depth.best_ask_tick
        valid = bid > -(2 ** 62) and ask < 2 ** 62 and bid < ask
        pos_lots = round(hbt.position(0) / float(lot))
        if valid:
            for side in (BUY, SELL):
                if live[side] is not None:
                    continue
                after = pos_lots + (1 if side == BUY else -1)
                if abs(after) > max_pos:
                    continue
                px_tick = bid if side == BUY else ask
                oid, next_id = next_id, next_id + 1
                px = float(px_tick * tick)
                if side == BUY:
                    hbt.submit_buy_order(0, oid, px, float(lot), GTC, LIMIT, False)
                else:
                    hbt.submit_sell_order(0, oid, px, float(lot), GTC, LIMIT, False)
                live[side] = dict(id=oid, px_tick=px_tick, sent=now, cancel_sent=False)
                c["orders"] += 1
                c["buy_orders" if side == BUY else "sell_orders"] += 1
                log.append(dict(id=oid, side="buy" if side == BUY else "sell",
                                px=f"{px_tick * tick:.{-tick.as_tuple().exponent}f}", sent_ns=now, outcome="live",
                                done_ns=None, fill_exch_ns=None, fill_px=None, liquidity=None))
    depth = hbt.depth(0)
    bid, ask = depth.best_bid_tick * tick, depth.best_ask_tick * tick
    mid = (bid + ask) / 2
    sv = hbt.state_values(0)
    state_net = sv.balance + sv.position * float(mid) - sv.fee
    unrealized = acct.unrealized(mid)
    report = dict(
        simulator="hftbacktest", queue=queue, **c, filled_qty=str(filled_qty), fees=str(fees),
        final_position=str(acct.position), final_bid=str(bid), final_ask=str(ask), final_mid=str(mid),
        realized_pnl=str(acct.realized), unrealized_pnl=str(unrealized),
        net_pnl=str(acct.realized + unrealized - fees),
        state=dict(position=sv.position, balance=sv.balance, fee=sv.fee, num_trades=int(sv.num_trades),
                   net_pnl=state_net),
        order_log=log,
    )
    hbt.close()
    return report


# ---------------------------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------------------------

ROWS = [
    ("orders", "orders"), ("  buy / sell", ("buy_orders", "sell_orders")), ("cancels sent", "cancels_sent"),
    ("canceled", "canceled"), ("fills", "fills"), ("  buy / sell", ("buy_fills", "sell_fills")),
    ("  maker / taker", ("maker_fills", "taker_fills")), ("filled qty", "filled_qty"), ("fees", "fees"),
    ("final position", "final_position"), ("final mid", "final_mid"), ("realized PnL", "realized_pnl"),
    ("unrealized PnL", "unrealized_pnl"), ("net PnL", "net_pnl"),
]


def cell(r: dict, key) -> str:
    if isinstance(key, tuple):
        return " / ".join(str(r[k]) for k in key)
    v = r[key]
    if key in ("fees", "realized_pnl", "unrealized_pnl", "net_pnl", "final_mid"):
        return f"{Decimal(v):.6f}"
    return str(v)


def table(title: str, reports: list[tuple[str, dict]]) -> str:
    w0 = max(len(r[0]) for r in ROWS)
    widths = [max(len(name), 14) for name, _ in reports]
    lines = [title, " " * w0 + "  " + "  ".join(f"{n:>{w}}" for (n, _), w in zip(reports, widths))]
    for label, key in ROWS:
        lines.append(f"{label:<{w0}}  " + "  ".join(f"{cell(r, key):>{w}}" for (_, r), w in zip(reports, widths)))
    return "\n".join(lines)


# What the strategy sees of an order (it acts on these), and the exchange time of its fill.
VISIBLE = ("side", "px", "sent_ns", "outcome", "done_ns", "fill_px", "liquidity")
STORY = VISIBLE + ("fill_exch_ns",)


def first_difference(a: dict, b: dict, keys) -> str:
    la, lb = a["order_log"], b["order_log"]
    for n, (x, y) in enumerate(zip(la, lb)):
        if any(x[k] != y[k] for k in keys):
            return (f"orders 1..{n} identical; order {x['id']} differs:\n"
                    f"      {a['simulator']:<11} {json.dumps({k: x[k] for k in STORY})}\n"
                    f"      {b['simulator']:<11} {json.dumps({k: y[k] for k in STORY})}")
    if len(la) != len(lb):
        return f"orders 1..{min(len(la), len(lb))} identical, then one side has {abs(len(la) - len(lb))} more"
    return f"all {len(la)} orders identical"


def divergence(a: dict, b: dict) -> str:
    """First order whose story differs: by exchange fill time, and as the strategy sees it."""
    exact = first_difference(a, b, STORY)
    if exact.startswith("all"):
        return exact + " (side, price, send time, outcome and when it was known, fill price, liquidity, fill exchange time)"
    return ("\n    exact (incl. fill exchange time): " + exact
            + "\n    visible to the strategy:          " + first_difference(a, b, VISIBLE))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--capture", type=Path, default=DEFAULT_CAPTURE, help="Binance USD-M capture (.gz)")
    ap.add_argument("--tape", type=Path, help="Kestrel tape of the capture (default: imported into --work)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/kestrel-crosscheck"), help="cache for tape and npz")
    ap.add_argument("--queue", action="append", help="queue model(s), Kestrel names (default: risk-averse, power:3)")
    ap.add_argument("--entry-latency-us", type=int, default=5_000)
    ap.add_argument("--response-latency-us", type=int, default=5_000)
    ap.add_argument("--step-ms", type=int, default=100)
    ap.add_argument("--max-age-ms", type=int, default=5_000)
    ap.add_argument("--max-position-lots", type=int, default=5)
    ap.add_argument("--maker-fee-bps", default="2")
    ap.add_argument("--taker-fee-bps", default="5")
    ap.add_argument("--start-ns", type=int, help="first boundary, capture local time (default: kestrel-simcheck's)")
    ap.add_argument("--build", action="store_true", help="cargo build the binaries first")
    ap.add_argument("--json", type=Path, help="also write every report here")
    args = ap.parse_args()
    queues = args.queue or ["risk-averse", "power:3"]

    args.work.mkdir(parents=True, exist_ok=True)
    kestrel, simcheck = ensure_binaries(args)
    tape = ensure_tape(kestrel, args.capture, args.work, args.tape)
    shift = hftbacktest_shift(args.capture)
    data = convert(args.capture, args.work)
    print(f"clock shift (hftbacktest's correct_local_timestamp): {shift} ns", file=sys.stderr)

    everything, out = [], []
    for q in queues:
        k_tape = run_kestrel(simcheck, tape, args, q, shift, "tape")
        k_exch = run_kestrel(simcheck, tape, args, q, shift, "exchange-time")
        tick, lot = Decimal(k_tape["tick"]), Decimal(k_tape["lot"])
        h = run_hftbacktest(data, args, q, tick, lot, k_tape["start_local_ns"], shift, k_tape["steps"])
        reports = [("hftbacktest", h), ("kestrel", k_tape), ("kestrel exch-order", k_exch)]
        title = (f"queue {q}: {k_tape['steps']} steps of {args.step_ms} ms from local {k_tape['start_local_ns']}, "
                 f"entry {args.entry_latency_us} us, response {args.response_latency_us} us, max age "
                 f"{args.max_age_ms} ms, fees {args.maker_fee_bps}/{args.taker_fee_bps} bp, 1 lot, |pos| <= "
                 f"{args.max_position_lots} lots")
        out.append(table(title, reports))
        out.append(f"  hftbacktest state: net PnL {h['state']['net_pnl']:.6f} (float), "
                   f"position {h['state']['position']:.3f}, fee {h['state']['fee']:.6f}")
        out.append("  kestrel (tape order) vs hftbacktest: " + divergence(k_tape, h))
        out.append("  kestrel exch-order vs hftbacktest:  " + divergence(k_exch, h))
        out.append("")
        everything.append(dict(queue=q, hftbacktest=h, kestrel=k_tape, kestrel_exchange_order=k_exch))
    print("\n".join(out))
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
