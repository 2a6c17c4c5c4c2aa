"""Backtest throughput: feed events per second through a queue-aware quoting backtest.

The same synthetic L2 feed (depth updates within 10 ticks of a drifting mid, 15% trades) goes
through liqframe's :mod:`liqframe.backtest.queue` and through hftbacktest's
``HashMapMarketDepthBacktest`` (its feed format: rows of ``hftbacktest.event_dtype``), each
quoting one lot at the touch every 100 ms with a 1 ms order latency and a conservative
(risk-averse) queue model. hftbacktest's numba compilation is done in a warm-up run first.
"""

import time

import numpy as np
from common import figure

from liqframe.backtest.queue import ASK, BID, DEPTH, EVENT_DTYPE, TRADE, quote_touch
from liqframe.backtest.queue import run as lq_run

TICK = 0.01
STEP_NS = 1_000_000  # one event per millisecond of exchange time
FEED_LATENCY_NS = 500_000
ORDER_LATENCY_NS = 1_000_000
INTERVAL_NS = 100_000_000


def synthetic_feed(count, seed=7):
    """liqframe event rows: a book that never crosses (levels removed as the mid passes)."""
    rng = np.random.default_rng(seed)
    rows, mid = [], 10_000
    ts = 0
    for side in (BID, ASK):
        for offset in range(10):
            px = mid - 1 - offset if side == BID else mid + 1 + offset
            rows.append((DEPTH, side, ts, ts + FEED_LATENCY_NS, px, 50))
            ts += STEP_NS
    while len(rows) < count:
        roll = rng.random()
        if roll < 0.02:
            move = 1 if rng.random() < 0.5 else -1
            mid += move
            # Remove the level the mid moved onto, so bids stay below and asks above it.
            side, px = (ASK, mid) if move > 0 else (BID, mid)
            rows.append((DEPTH, side, ts, ts + FEED_LATENCY_NS, px, 0))
        elif roll < 0.17:
            side = BID if rng.random() < 0.5 else ASK
            px = mid + 1 if side == BID else mid - 1
            rows.append((TRADE, side, ts, ts + FEED_LATENCY_NS, px, int(rng.integers(1, 20))))
        else:
            side = BID if rng.random() < 0.5 else ASK
            offset = int(rng.integers(0, 10))
            px = mid - 1 - offset if side == BID else mid + 1 + offset
            rows.append((DEPTH, side, ts, ts + FEED_LATENCY_NS, px, int(rng.integers(0, 100))))
        ts += STEP_NS
    array = np.zeros(len(rows), EVENT_DTYPE)
    array[:] = rows
    return array


def to_hftbacktest(feed):
    from hftbacktest import (
        BUY_EVENT,
        DEPTH_EVENT,
        EXCH_EVENT,
        LOCAL_EVENT,
        SELL_EVENT,
        TRADE_EVENT,
        event_dtype,
    )

    out = np.zeros(len(feed), event_dtype)
    kind = np.where(feed["kind"] == DEPTH, DEPTH_EVENT, TRADE_EVENT)
    side = np.where(feed["side"] == BID, BUY_EVENT, SELL_EVENT)
    out["ev"] = kind | side | EXCH_EVENT | LOCAL_EVENT
    out["exch_ts"], out["local_ts"] = feed["exch_ts"], feed["local_ts"]
    out["px"] = feed["px"] * TICK
    out["qty"] = feed["qty"]
    return out


def _hftbacktest_loop():
    from hftbacktest import GTX, LIMIT
    from numba import njit

    @njit
    def loop(hbt):
        next_id, bid_id, ask_id = 1, 0, 0
        bid_px = ask_px = 0.0
        placed = 0
        while hbt.elapse(INTERVAL_NS) == 0:
            hbt.clear_inactive_orders(0)
            depth = hbt.depth(0)
            orders = hbt.orders(0)
            if depth.best_bid != bid_px:
                if bid_id and orders.get(bid_id) is not None:
                    hbt.cancel(0, bid_id, False)
                bid_id, bid_px = next_id, depth.best_bid
                next_id += 1
                hbt.submit_buy_order(0, bid_id, bid_px, 1.0, GTX, LIMIT, False)
                placed += 1
            if depth.best_ask != ask_px:
                if ask_id and orders.get(ask_id) is not None:
                    hbt.cancel(0, ask_id, False)
                ask_id, ask_px = next_id, depth.best_ask
                next_id += 1
                hbt.submit_sell_order(0, ask_id, ask_px, 1.0, GTX, LIMIT, False)
                placed += 1
        return placed

    return loop


def hftbacktest_rate(data, repeats):
    try:
        from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest
    except ImportError:
        return None
    loop = _hftbacktest_loop()

    def backtest(rows):
        asset = (BacktestAsset().data(rows).linear_asset(1.0)
                 .constant_order_latency(ORDER_LATENCY_NS, ORDER_LATENCY_NS)
                 .risk_adverse_queue_model().no_partial_fill_exchange()
                 .trading_value_fee_model(0.0, 0.0).tick_size(TICK).lot_size(1.0))
        return HashMapMarketDepthBacktest([asset])

    warm = backtest(data[:5_000])
    loop(warm)
    warm.close()
    times = []
    for _ in range(repeats):
        hbt = backtest(data)
        start = time.perf_counter()
        loop(hbt)
        times.append(time.perf_counter() - start)
        hbt.close()
    return len(data) / sorted(times)[len(times) // 2]


def liqframe_rate(feed, repeats, queue_model="conservative"):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        lq_run(feed, quote_touch(1), interval_ns=INTERVAL_NS, order_latency_ns=ORDER_LATENCY_NS,
               queue_model=queue_model)
        times.append(time.perf_counter() - start)
    return len(feed) / sorted(times)[len(times) // 2]


def run(quick=False):
    count = 100_000 if quick else 1_000_000
    repeats = 3 if quick else 5
    feed = synthetic_feed(count)
    data = to_hftbacktest(feed)
    return {
        f"backtest events/s, {count:,} events (conservative queue, 1 ms latency)": figure(
            "events/s", {"liqframe": liqframe_rate(feed, repeats),
                         "hftbacktest": hftbacktest_rate(data, repeats)},
            lower_is_better=False),
        "backtest events/s (probabilistic queue)": figure(
            "events/s", {"liqframe": liqframe_rate(feed, repeats, "probabilistic")},
            lower_is_better=False),
    }
