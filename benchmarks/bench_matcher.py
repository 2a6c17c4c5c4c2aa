"""L3 book and matcher throughput, compiled against pure twin.

    python benchmarks/run.py matcher [--quick] [--json]

Figures (medians of 5 runs, see common.median_ns):

* ``lobster_batch_<TICKER>``: LOBSTER messages/s through ``L3Book.replay`` (one call over
  numpy arrays; the book seeded from the first orderbook row, unknown orders taken from the
  seeded quantity), for the AAPL level-10 prefix and the GOOG level-1 full day.
* ``lobster_single_<TICKER>``: the same messages, one Python method call each.
* ``matcher_mix``: orders/s of a seeded synthetic stream through ``Matcher`` single calls:
  limit orders around a drifting mid (some cross and trade), cancels of live orders, market
  orders; the time includes the benchmark's own Python loop (about 170 ns an order).
* ``bytes_per_resting_order``: the compiled book's allocations over its resting orders
  (``memory_bytes``), and tracemalloc's count for the pure twin.

Parsing the files is not timed. No peer library offers an L3 book with this API, so the
figures compare our two twins.
"""

import random
import sys
import tracemalloc
from pathlib import Path

import numpy as np
from common import figure, median_ns

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from liqframe import core  # noqa: E402
from liqframe.lobster import MESSAGE_COLUMNS, read_messages, read_orderbook  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "lobster"
FILES = {
    "AAPL": (ROOT / "tests/data/lobster/AAPL_2012-06-21_34200000_57600000_message_10.csv",
             ROOT / "tests/data/lobster/AAPL_2012-06-21_34200000_57600000_orderbook_10.csv", 10),
    "GOOG": (SHARED / "KV6003-thesis/Google/GOOG_2012-06-21_34200000_57600000_message_1.csv",
             SHARED / "KV6003-thesis/Google/GOOG_2012-06-21_34200000_57600000_orderbook_1.csv",
             1),
}
TWINS = {"liqframe compiled": True, "liqframe pure": False}


def load_lobster(ticker):
    messages, book, levels = FILES[ticker]
    if not messages.exists():
        raise SystemExit(f"benchmark data {messages} is missing (../shared/data next to the repo)")
    parsed = read_messages(messages)
    first_row = read_orderbook(book, levels)[0]
    arrays = [np.ascontiguousarray(parsed[c][1:]) for c in MESSAGE_COLUMNS[1:]]
    seeds = []
    for k in range(0, len(first_row), 4):
        ask_px, ask_sz, bid_px, bid_sz = (int(v) for v in first_row[k:k + 4])
        seeds += [(-1, ask_px, ask_sz)] if ask_sz else []
        seeds += [(1, bid_px, bid_sz)] if bid_sz else []
    return arrays, seeds


def seeded_book(module, seeds):
    book = module.L3Book()
    for side, price, size in seeds:
        book.seed(side, price, size)
    return book


def batch_rate(module, arrays, seeds):
    def run():
        seeded_book(module, seeds).replay(*arrays, unknown=module.UNKNOWN_UNATTRIBUTED)

    return 1e9 / median_ns(run, len(arrays[0]))


def single_rate(module, arrays, seeds):
    columns = list(zip(*(a.tolist() for a in arrays), strict=True))

    def run():
        book = seeded_book(module, seeds)
        add, cancel, delete, execute = book.add, book.cancel, book.delete, book.execute
        for kind, order_id, size, price, side in columns:
            if kind == 1:
                add(order_id, side, price, size)
            elif kind > 4:
                continue  # hidden executions, cross trades, halts: no visible change
            elif order_id in book:
                if kind == 4:
                    execute(order_id, size)
                elif kind == 3:
                    delete(order_id)
                else:
                    cancel(order_id, size)
            else:
                unattributed = book.level(side, price)[3]
                if unattributed:
                    book.take_unattributed(side, price, min(size, unattributed))

    return 1e9 / median_ns(run, len(columns))


def synthetic_orders(count, seed=20240621):
    """A reproducible add/cancel/match mix: 60% limit orders within 10 ticks of a drifting
    mid (about a third cross), 30% cancels of live orders, 10% market orders."""
    rng = random.Random(seed)
    mid, live, ops = 100_000, [], []
    for order_id in range(1, count + 1):
        mid += rng.choice((-1, 0, 1))
        roll = rng.random()
        side = 1 if rng.random() < 0.5 else -1
        if roll < 0.6 or not live:
            price = mid - side * rng.randint(-3, 10)
            ops.append((0, order_id, side, price, rng.randint(1, 100)))
            live.append(order_id)
        elif roll < 0.9:
            ops.append((1, live.pop(rng.randrange(len(live))), 0, 0, 0))
        else:
            ops.append((2, order_id, side, 0, rng.randint(1, 300)))
    return ops


def mix_rate(module, ops):
    """Single calls; fills are taken every 1,024 orders, as the host drains them each turn of
    its event loop (one growing buffer of a whole run would measure the allocator)."""
    def run():
        m = module.Matcher()
        submit, market, cancel, book, take = m.submit, m.market, m.cancel, m.book, m.take_fills
        for kind, order_id, side, price, size in ops:
            if kind == 0:
                submit(order_id, side, price, size)
            elif kind == 1:
                if order_id in book:
                    cancel(order_id)
            else:
                market(order_id, side, size)
            if not order_id & 1023:
                take()
        take()

    return 1e9 / median_ns(run, len(ops))


def bytes_per_order(module, count, compiled):
    """Orders over 2,000 price levels (about 500 a level at a million orders): the memory a
    deep, busy book needs per order, levels included."""
    rng = np.random.default_rng(7)
    prices = rng.integers(99_000, 101_000, count).tolist()
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    book = module.L3Book()
    for order_id, price in enumerate(prices, start=1):
        book.add(order_id, 1 if price < 100_000 else -1, price, 10)
    traced = tracemalloc.get_traced_memory()[0] - start
    tracemalloc.stop()
    return (book.memory_bytes() if compiled else traced) / len(book)


def run(quick=False):
    results = {}
    modules = {name: core.load("l3book", compiled=c) for name, c in TWINS.items()}
    matchers = {name: core.load("matcher", compiled=c) for name, c in TWINS.items()}
    for ticker in ("AAPL", "GOOG"):
        arrays, seeds = load_lobster(ticker)
        if quick:
            arrays = [a[:5000] for a in arrays]
        results[f"lobster_batch_{ticker}"] = figure(
            "messages/s", {n: batch_rate(m, arrays, seeds) for n, m in modules.items()},
            lower_is_better=False, target=5_000_000)
        results[f"lobster_single_{ticker}"] = figure(
            "messages/s", {n: single_rate(m, arrays, seeds) for n, m in modules.items()},
            lower_is_better=False)
    ops = synthetic_orders(20_000 if quick else 400_000)
    results["matcher_mix"] = figure(
        "orders/s", {n: mix_rate(m, ops) for n, m in matchers.items()},
        lower_is_better=False, target=2_000_000)
    count = 20_000 if quick else 1_000_000
    results["bytes_per_resting_order"] = figure(
        "bytes", {"liqframe compiled": bytes_per_order(modules["liqframe compiled"], count, True),
                  "liqframe pure": bytes_per_order(modules["liqframe pure"], count // 10, False)},
        target=96)
    return results
