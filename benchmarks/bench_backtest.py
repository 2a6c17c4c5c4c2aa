"""Backtest throughput: feed events per second through a queue-aware quoting backtest.

The same synthetic L2 feed (:func:`liqframe.backtest.feeds.synthetic_feed`: depth updates
within 10 ticks of a drifting mid, 15% trades, one event per ms) goes through liqframe's
compiled replay, its pure-Python twin, and hftbacktest's ``HashMapMarketDepthBacktest`` (its
feed format: rows of ``hftbacktest.event_dtype``, converted outside the timing). Both sides
quote one lot at the touch every 100 ms of local time, re-sending a side when its best price
changed or its order is gone (filled or rejected), with 1 ms order latency (cancels too), a
conservative (risk-averse) queue model, whole-order fills and post-only orders (GTX).
hftbacktest's strategy loop is numba-compiled and warmed up first; liqframe's touch strategy
runs in C. Each side's timing covers the whole run, liqframe's including its result arrays
(fills, equity, mids) and the validation of the feed.

Differences that remain: liqframe records per-fill and per-decision rows for its report,
hftbacktest keeps its own state; hftbacktest elapses in steps of 100 ms from its first event,
liqframe decides every 100 ms of local time from its first event's local time.
"""

import time

import numpy as np
from common import figure

from liqframe._core import backtest as pure_core
from liqframe.backtest.feeds import synthetic_feed
from liqframe.backtest.queue import BID, DEPTH, quote_touch
from liqframe.backtest.queue import run as lq_run

TICK = 0.01
ORDER_LATENCY_NS = 1_000_000
INTERVAL_NS = 100_000_000


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
            if depth.best_bid != bid_px or orders.get(bid_id) is None:
                if bid_id and orders.get(bid_id) is not None:
                    hbt.cancel(0, bid_id, False)
                bid_id, bid_px = next_id, depth.best_bid
                next_id += 1
                hbt.submit_buy_order(0, bid_id, bid_px, 1.0, GTX, LIMIT, False)
                placed += 1
            if depth.best_ask != ask_px or orders.get(ask_id) is None:
                if ask_id and orders.get(ask_id) is not None:
                    hbt.cancel(0, ask_id, False)
                ask_id, ask_px = next_id, depth.best_ask
                next_id += 1
                hbt.submit_sell_order(0, ask_id, ask_px, 1.0, GTX, LIMIT, False)
                placed += 1
        return placed

    return loop


def hftbacktest_rate(data, repeats):
    """(events/s, orders placed, fills) or (None, None, None) when not installed."""
    try:
        from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest
    except ImportError:
        return None, None, None
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
        placed = loop(hbt)
        times.append(time.perf_counter() - start)
        fills = hbt.state_values(0).num_trades
        hbt.close()
    return len(data) / sorted(times)[len(times) // 2], placed, fills


def liqframe_rate(feed, repeats, queue_model="conservative", engine=None):
    """(events/s, orders placed, fills)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = lq_run(feed, quote_touch(1), interval_ns=INTERVAL_NS,
                        order_latency_ns=ORDER_LATENCY_NS, queue_model=queue_model,
                        engine=engine)
        times.append(time.perf_counter() - start)
    return (len(feed) / sorted(times)[len(times) // 2], result.bid_orders + result.ask_orders,
            result.fills)


def run(quick=False):
    count = 100_000 if quick else 1_000_000
    repeats = 3 if quick else 5
    feed = synthetic_feed(count)
    data = to_hftbacktest(feed)
    pure_feed = feed[:count // 10]  # the pure twin is slow: a tenth of the feed
    ours, ours_placed, ours_fills = liqframe_rate(feed, repeats)
    theirs, their_placed, their_fills = hftbacktest_rate(data, repeats)
    return {
        f"backtest events/s, {count:,} events (conservative queue, 1 ms latency)": figure(
            "events/s", {"liqframe": ours,
                         "liqframe (pure twin, 1/10 feed)": liqframe_rate(
                             pure_feed, 1, engine=pure_core)[0],
                         "hftbacktest": theirs},
            lower_is_better=False),
        # The same work on both sides: orders sent and fills should be close, not equal
        # (decision clocks and fill notification timing differ slightly).
        "orders placed (parity check)": {"unit": "orders", "value": ours_placed,
                                         "by": {"liqframe": ours_placed,
                                                "hftbacktest": their_placed}},
        "fills (parity check)": {"unit": "fills", "value": ours_fills,
                                 "by": {"liqframe": ours_fills, "hftbacktest": their_fills}},
        "backtest events/s (probabilistic queue, power 2)": figure(
            "events/s", {"liqframe": liqframe_rate(feed, repeats, "probabilistic")[0]},
            lower_is_better=False),
    }
