"""L2 book: liqframe's L2Book (compiled and pure twins) beside the peer libraries.

    python benchmarks/run.py book [--quick] [--json]

One seeded workload is replayed in the same process through every implementation: a snapshot
of 1,000 levels a side, then 1,000,000 changes (100,000 with ``--quick``) concentrated near the
touch, about a fifth of them deletes, while the mid price drifts a tick at a time (levels left
on the wrong side of the touch are deleted, as a venue does). Prices and sizes are int ticks
and lots, the form liqframe's books hold.

Peers: ``order-book`` (the C book behind cryptofeed), nautilus-trader's ``OrderBook`` (L2_MBP),
``sortedcontainers.SortedDict`` and two plain dicts. Each is driven through its own idiomatic
calls; nautilus-trader takes ``BookOrder`` objects, which are built before the timing (its
native input, as int arrays are ours) over the first 100,000 changes only, to bound the memory
those objects take. A peer that is not installed is reported as None.

Memory per live level is measured in a fresh subprocess per implementation (resident memory
before and after building 40 books), because the C and Rust peers allocate outside
``tracemalloc``'s view.
"""

import gc
import heapq
import importlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

# numpy's OpenBLAS starts a thread per core that spins for a while; nothing here calls BLAS,
# and on a small machine those threads take CPU from the timed loops of every implementation.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from common import figure, median_ns  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from liqframe import core  # noqa: E402

BID, ASK = 0, 1
SEED = 20_240_607
LEVELS = 1_000
CENTRE = 1_000_000
READ_CHANGES = 20_000  # change + best read: the plain dict's max()/min() are O(levels)
NAUTILUS_CHANGES = 100_000
MEMORY_BOOKS = 40
MEMORY_CHANGES = 2_000


# -- workload ---------------------------------------------------------------------------------


def workload(changes, seed=SEED):
    """``(snapshot, sides, prices, sizes)``: lists of ints, deletes only of existing levels."""
    rng = random.Random(seed)
    centre = CENTRE
    books = (
        {centre - 1 - i: rng.randint(1, 1_000) for i in range(LEVELS)},
        {centre + 1 + i: rng.randint(1, 1_000) for i in range(LEVELS)},
    )
    snapshot = tuple(
        (list(book), list(book.values())) for book in (dict(books[BID]), dict(books[ASK]))
    )
    sides, prices, sizes = [], [], []

    def emit(side, price, size):
        sides.append(side)
        prices.append(price)
        sizes.append(size)
        if size:
            books[side][price] = size
        else:
            del books[side][price]

    while len(sides) < changes:
        if rng.random() < 0.01:  # the mid drifts a tick: clear the level it moved onto
            centre += rng.choice((-1, 1))
            for side in (BID, ASK):
                if centre in books[side]:
                    emit(side, centre, 0)
            continue
        side = BID if rng.random() < 0.5 else ASK
        distance = min(int(rng.expovariate(0.15)), 2 * LEVELS)
        outward = -1 if side == BID else 1
        price = centre + outward * (1 + distance)
        if rng.random() < 0.2:
            found = next(
                (p for p in range(price, price + 50 * outward, outward) if p in books[side]), None
            )
            if found is not None:
                emit(side, found, 0)
        else:
            emit(side, price, rng.randint(1, 1_000))
    return snapshot, sides[:changes], prices[:changes], sizes[:changes]


# -- implementations ----------------------------------------------------------------------------


class Liqframe:
    """liqframe's L2Book: single calls, batches from int64 arrays, best_prices(), top()."""

    def __init__(self, compiled):
        self.module = core.load("book", compiled=compiled)

    def build(self, snapshot):
        book = self.module.L2Book()
        (bid_prices, bid_sizes), (ask_prices, ask_sizes) = snapshot
        book.apply_snapshot(
            *(np.array(a, dtype=np.int64) for a in (bid_prices, bid_sizes, ask_prices, ask_sizes))
        )
        return book

    def replay(self, book, sides, prices, sizes):
        apply = book.apply
        for side, price, size in zip(sides, prices, sizes):
            apply(side, price, size)

    def replay_reading(self, book, sides, prices, sizes):
        apply, best_prices = book.apply, book.best_prices
        for side, price, size in zip(sides, prices, sizes):
            apply(side, price, size)
            best_prices()

    def replay_reading_one_call(self, book, sides, prices, sizes):
        """The same through apply_and_best: the change and the read in one call."""
        apply_and_best = book.apply_and_best
        for side, price, size in zip(sides, prices, sizes):
            apply_and_best(side, price, size)

    def top10(self, book):
        top = book.top
        return lambda: (top(BID, 10), top(ASK, 10))

    def top10_into(self, book):
        """The same read into arrays the caller keeps: no allocation per read."""
        top_into = book.top_into
        arrays = [np.empty(10, dtype=np.int64) for _ in range(4)]
        return lambda: (top_into(BID, arrays[0], arrays[1]), top_into(ASK, arrays[2], arrays[3]))

    def batches(self, sides, prices, sizes, size):
        arrays = [np.array(a, dtype=np.int64) for a in (sides, prices, sizes)]
        return [tuple(a[i : i + size] for a in arrays) for i in range(0, len(sides), size)]

    def replay_batches(self, book, batches):
        apply_batch = book.apply_batch
        for sides, prices, sizes in batches:
            apply_batch(sides, prices, sizes)


class DictLike:
    """Two price -> size mappings, one per side; ``kind`` picks the mapping type."""

    def __init__(self, kind):
        self.kind = kind

    def build(self, snapshot):
        return tuple(self.kind(zip(prices, sizes)) for prices, sizes in snapshot)

    def replay(self, book, sides, prices, sizes):
        for side, price, size in zip(sides, prices, sizes):
            if size:
                book[side][price] = size
            else:
                del book[side][price]

    def replay_reading(self, book, sides, prices, sizes):
        best = self.best
        for side, price, size in zip(sides, prices, sizes):
            if size:
                book[side][price] = size
            else:
                del book[side][price]
            best(book)


class PlainDict(DictLike):
    def __init__(self):
        super().__init__(dict)

    def best(self, book):
        return max(book[BID]), min(book[ASK])

    def top10(self, book):
        bids, asks = book
        return lambda: (heapq.nlargest(10, bids.items()), heapq.nsmallest(10, asks.items()))


class Sorted(DictLike):
    def __init__(self):
        from sortedcontainers import SortedDict

        super().__init__(SortedDict)

    def best(self, book):
        return book[BID].peekitem(-1), book[ASK].peekitem(0)

    def top10(self, book):
        bids, asks = book[BID].items(), book[ASK].items()
        return lambda: (bids[-10:], asks[:10])


class CryptofeedOrderBook(DictLike):
    """``order_book.OrderBook``: C sorted dicts, read by index (0 is the best level)."""

    def __init__(self):
        import order_book

        self.order_book = order_book
        super().__init__(None)

    def build(self, snapshot):
        book = self.order_book.OrderBook()
        for side, (prices, sizes) in zip((book.bids, book.asks), snapshot):
            for price, size in zip(prices, sizes):
                side[price] = size
        return book.bids, book.asks

    def best(self, book):
        return book[BID].index(0), book[ASK].index(0)

    def top10(self, book):
        bids, asks = book[BID].index, book[ASK].index
        return lambda: ([bids(i) for i in range(10)], [asks(i) for i in range(10)])


class Nautilus:
    """nautilus-trader's Cython ``OrderBook`` with ``BookType.L2_MBP``."""

    def __init__(self):
        from nautilus_trader.model.book import OrderBook
        from nautilus_trader.model.data import BookOrder
        from nautilus_trader.model.enums import BookType, OrderSide
        from nautilus_trader.model.identifiers import InstrumentId
        from nautilus_trader.model.objects import Price, Quantity

        self.OrderBook, self.BookOrder, self.BookType = OrderBook, BookOrder, BookType
        self.sides = (OrderSide.BUY, OrderSide.SELL)
        self.Price, self.Quantity = Price, Quantity
        self.instrument = InstrumentId.from_str("BTCUSDT.BINANCE")

    def order(self, side, price, size):
        return self.BookOrder(self.sides[side], self.Price(price, 0), self.Quantity(size, 0), 0)

    def build(self, snapshot):
        book = self.OrderBook(self.instrument, self.BookType.L2_MBP)
        for side, (prices, sizes) in enumerate(snapshot):
            for price, size in zip(prices, sizes):
                book.update(self.order(side, price, size), 0)
        return book

    def orders(self, sides, prices, sizes):
        return [
            (size == 0, self.order(side, price, size))
            for side, price, size in zip(sides, prices, sizes)
        ]

    def replay(self, book, orders):
        update, delete = book.update, book.delete
        for deleting, order in orders:
            if deleting:
                delete(order, 0)
            else:
                update(order, 0)

    def replay_reading(self, book, orders):
        update, delete = book.update, book.delete
        best_bid, best_ask = book.best_bid_price, book.best_ask_price
        for deleting, order in orders:
            if deleting:
                delete(order, 0)
            else:
                update(order, 0)
            best_bid()
            best_ask()

    def top10(self, book):
        bids, asks = book.bids, book.asks
        return lambda: (bids()[:10], asks()[:10])


FACTORIES = {
    "liqframe (compiled)": lambda: None if core.NO_EXTENSIONS else Liqframe(compiled=True),
    "liqframe (pure)": lambda: Liqframe(compiled=False),
    "order-book": CryptofeedOrderBook,
    "nautilus-trader": Nautilus,
    "sortedcontainers": Sorted,
    "dict": PlainDict,
}


def implementations():
    """Name -> implementation, or None when its library is not installed or not built."""
    found = {}
    for name, factory in FACTORIES.items():
        try:
            found[name] = factory()
        except ImportError:
            found[name] = None
    return found


# -- measurements ----------------------------------------------------------------------------


def timed_replays(impl, snapshot, replay, operations, repeats):
    """Median ns per change of ``replay(book)``, each repeat on a fresh copy of the book."""
    books = iter([impl.build(snapshot) for _ in range(repeats)])
    return median_ns(lambda: replay(next(books)), operations, repeats)


def measure(impl, data, repeats):
    """``{figure: ns}`` for one implementation."""
    snapshot, sides, prices, sizes = data
    n, reads = len(sides), min(READ_CHANGES, len(sides))
    result = {}
    if isinstance(impl, Nautilus):
        count = min(NAUTILUS_CHANGES, n)
        orders = impl.orders(sides[:count], prices[:count], sizes[:count])
        result["single"] = timed_replays(
            impl, snapshot, lambda b: impl.replay(b, orders), count, repeats
        )
        result["read"] = timed_replays(
            impl, snapshot, lambda b: impl.replay_reading(b, orders[:reads]), reads, repeats
        )
        del orders
    else:
        result["single"] = timed_replays(
            impl, snapshot, lambda b: impl.replay(b, sides, prices, sizes), n, repeats
        )
        head = sides[:reads], prices[:reads], sizes[:reads]
        result["read"] = timed_replays(
            impl, snapshot, lambda b: impl.replay_reading(b, *head), reads, repeats
        )
        if isinstance(impl, Liqframe):
            result["read_one_call"] = timed_replays(
                impl, snapshot, lambda b: impl.replay_reading_one_call(b, *head), reads, repeats
            )
    for size in (10, 1_000):
        if isinstance(impl, Liqframe):
            batches = impl.batches(sides, prices, sizes, size)
            result[f"batch{size}"] = timed_replays(
                impl, snapshot, lambda b, c=batches: impl.replay_batches(b, c), n, repeats
            )
        else:
            result[f"batch{size}"] = result["single"]  # no batch call: the per-change loop
    result["top10"] = reads_ns(impl.top10(impl.build(snapshot)), repeats)
    if isinstance(impl, Liqframe):
        result["top10_into"] = reads_ns(impl.top10_into(impl.build(snapshot)), repeats)
    return result


def reads_ns(read, repeats):
    """Median ns of one ``read()`` call, over enough calls to take about 0.1 s."""
    start = time.perf_counter_ns()
    for _ in range(10):
        read()
    count = int(min(max(1e8 / max(time.perf_counter_ns() - start, 1) * 10, 10), 20_000))

    def loop():
        for _ in range(count):
            read()

    return median_ns(loop, count, repeats)


def loop_overhead(data, repeats):
    """ns per iteration of the bare ``for side, price, size in zip(...)`` loop every
    single-call figure includes."""
    _, sides, prices, sizes = data

    def loop():
        for _side, _price, _size in zip(sides, prices, sizes):
            pass

    return median_ns(loop, len(sides), repeats)


def memory_per_level(name):
    """Bytes of resident memory per live level, measured in a fresh interpreter."""
    command = [sys.executable, str(Path(__file__).resolve()), "--memory", name]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise RuntimeError(f"memory run of {name} failed:\n{done.stderr}")
    return json.loads(done.stdout)["bytes_per_level"]


def _resident_bytes():
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    import resource

    return pages * resource.getpagesize()


def _memory_child(name):
    impl = implementations()[name]
    snapshot, sides, prices, sizes = workload(MEMORY_CHANGES)
    if isinstance(impl, Nautilus):
        orders = impl.orders(sides, prices, sizes)
        build = lambda: impl.replay(book := impl.build(snapshot), orders) or book  # noqa: E731
    else:
        build = lambda: impl.replay(book := impl.build(snapshot), sides, prices, sizes) or book  # noqa: E731
    build()  # warm up caches and imports outside the measurement
    gc.collect()
    before = _resident_bytes()
    books = [build() for _ in range(MEMORY_BOOKS)]
    gc.collect()
    grown = _resident_bytes() - before
    live = MEMORY_BOOKS * _live_levels(snapshot, sides, prices, sizes)
    sys.stdout.write(json.dumps({"bytes_per_level": grown / live, "books": len(books)}))


def _live_levels(snapshot, sides, prices, sizes):
    books = [dict(zip(*side)) for side in snapshot]
    for side, price, size in zip(sides, prices, sizes):
        if size:
            books[side][price] = size
        else:
            del books[side][price]
    return len(books[BID]) + len(books[ASK])


def run(quick=False):
    changes = 100_000 if quick else 1_000_000
    repeats = 3 if quick else 5
    data = workload(changes)
    impls = implementations()
    measured = {
        name: (measure(impl, data, repeats) if impl else None) for name, impl in impls.items()
    }
    deletes = sum(1 for size in data[3] if size == 0) / changes

    def by(key):
        return {name: (m[key] if m else None) for name, m in measured.items()}

    def liqframe_only(key):
        """Our figure for a call the peers lack; their rows keep their plain read."""
        return {n: (m[key] if m else None) for n, m in measured.items() if n.startswith("liq")}

    memory = {name: (memory_per_level(name) if impl else None) for name, impl in impls.items()}
    return {
        "workload": f"{changes:,} changes, {LEVELS:,}-level snapshot a side, "
        f"{deletes:.0%} deletes, seed {SEED}",
        "single_change_ns": figure("ns/change", by("single"), target=60),
        "batch_of_10_ns_per_change": figure("ns/change", by("batch10"), target=8),
        "batch_of_1000_ns_per_change": figure("ns/change", by("batch1000"), target=8),
        "change_and_best_bid_ask_ns": figure("ns/change", by("read"), target=100),
        "change_and_best_bid_ask_one_call_ns": figure(
            "ns/change", {**by("read"), **liqframe_only("read_one_call")}, target=100
        ),
        "top_10_both_sides_ns": figure("ns/read", by("top10"), target=1000),
        "top_10_both_sides_into_arrays_ns": figure(
            "ns/read", {**by("top10"), **liqframe_only("top10_into")}, target=1000
        ),
        "memory_bytes_per_live_level": figure("bytes", memory, target=64),
        "python_loop_overhead_ns": round(loop_overhead(data, repeats), 1),
        # the consolidated figure is measured by its own area and reported here as well
        "consolidated_20_venues_change_plus_best_ns": importlib.import_module(
            "bench_consolidated").run(quick)["change_plus_best_ns"],
        "notes": "peers without a batch call show their per-change loop in the batch rows; "
        f"change+best reads use the first {READ_CHANGES:,} changes: liqframe calls apply() "
        "then best_prices(), and in the one-call row apply_and_best() (the peers keep their "
        "plain read there); every single-call row includes the Python loop overhead above; "
        "nautilus-trader "
        f"replays the first {NAUTILUS_CHANGES:,} changes from prebuilt BookOrders",
    }


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--memory":
        _memory_child(sys.argv[2])
    else:
        sys.exit(importlib.import_module("run").main(["book", *sys.argv[1:]]))
