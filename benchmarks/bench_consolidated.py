"""Consolidated book: one venue change plus reading the consolidated best bid and ask.

20 venues, each with 1,000 levels per side, then a seeded stream of changes within 20 ticks of
the touch (a third of them removals). Every implementation runs the same Python loop over the
same stream: ``apply`` one change, then read the best bid and ask. Peers are what a user would
write without liqframe: 20 ``sortedcontainers.SortedDict`` books (or ``order_book.OrderBook``s)
and a merge over the 20 for each best read.
"""

import random

from common import figure, median_ns

from liqframe import core

VENUES = 20
MID = 1_000_000
TARGET_NS = 200


def stream(levels, changes, seed=20240611):
    """Initial levels and a seeded stream of (venue, side, price, size) near the touch."""
    initial = [(v, side, MID - i if side == 0 else MID + i, 10 + (v * 7 + i) % 90)
               for v in range(VENUES) for i in range(1, levels + 1) for side in (0, 1)]
    rng = random.Random(seed)
    moves = []
    for _ in range(changes):
        side, depth = rng.randrange(2), rng.randrange(1, 21)
        size = 0 if rng.random() < 1 / 3 else rng.randrange(1, 1_000)
        moves.append((rng.randrange(VENUES), side, MID - depth if side == 0 else MID + depth, size))
    return initial, moves


def liqframe_loop(module, initial, moves, fx_venues=0):
    """``fx_venues`` of the venues quote in another currency at 1.0001 (their prices are
    converted with a division and rounded against the holder on every change)."""
    book = module.ConsolidatedBook()
    for venue in range(VENUES):
        book.add_venue(venue, f"venue{venue}", fx="1.0001" if venue < fx_venues else 1)
    for change in initial:
        book.apply(*change)
    apply, best = book.apply, book.best

    def run():
        for venue, side, price, size in moves:
            apply(venue, side, price, size)
            best()

    return run, book.best


def sorteddict_loop(initial, moves):
    from sortedcontainers import SortedDict

    books = [(SortedDict(), SortedDict()) for _ in range(VENUES)]
    for venue, side, price, size in initial:
        books[venue][side][price] = size

    def best():
        bids = [b.peekitem(-1)[0] for b, _ in books if b]
        asks = [a.peekitem(0)[0] for _, a in books if a]
        return max(bids, default=None), min(asks, default=None)

    def run():
        for venue, side, price, size in moves:
            levels = books[venue][side]
            if size:
                levels[price] = size
            else:
                levels.pop(price, None)
            best()

    return run, best


def order_book_loop(initial, moves):
    try:
        from order_book import OrderBook
    except ImportError:
        return None, None
    books = [OrderBook() for _ in range(VENUES)]
    for venue, side, price, size in initial:
        (books[venue].bids if side == 0 else books[venue].asks)[price] = size

    def best():
        bids = [b.bids.index(0)[0] for b in books if len(b.bids)]
        asks = [b.asks.index(0)[0] for b in books if len(b.asks)]
        return max(bids, default=None), min(asks, default=None)

    def run():
        for venue, side, price, size in moves:
            levels = books[venue].bids if side == 0 else books[venue].asks
            if size:
                levels[price] = size
            elif price in levels:
                del levels[price]
            best()

    return run, best


def run(quick=False):
    levels, changes = (200, 20_000) if quick else (1_000, 100_000)
    initial, moves = stream(levels, changes)
    repeats = 3 if quick else 7
    compiled = core.load("consolidated", compiled=True)
    loops = {
        "liqframe compiled": liqframe_loop(compiled, initial, moves),
        "liqframe pure": liqframe_loop(core.load("consolidated", compiled=False), initial,
                                       moves),
    }
    try:
        loops["sortedcontainers.SortedDict x20"] = sorteddict_loop(initial, moves)
    except ImportError:
        loops["sortedcontainers.SortedDict x20"] = (None, None)
    loops["order_book.OrderBook x20"] = order_book_loop(initial, moves)
    by, bests = {}, set()
    for name, (loop, best) in loops.items():
        if loop is None:
            by[name] = None
            continue
        loop()  # warm up; the stream sets absolute sizes, so replaying it is idempotent
        peer = not name.startswith("liqframe")
        by[name] = round(median_ns(loop, len(moves), repeats=3 if peer else repeats), 1)
        bests.add(best())
    assert len(bests) == 1, f"the implementations disagree on the final best: {bests}"
    fx_loop, _ = liqframe_loop(compiled, initial, moves, fx_venues=5)
    fx_loop()
    fx_ns = round(median_ns(fx_loop, len(moves), repeats=repeats), 1)
    return {
        "change_plus_best_ns": figure("ns per change + best read", by, target=TARGET_NS),
        "change_plus_best_5_fx_venues_ns": figure(
            "ns per change + best read", {"liqframe compiled": fx_ns}, target=TARGET_NS),
        "workload": f"{VENUES} venues x {levels} levels per side, {changes:,} changes "
                    "within 20 ticks of the touch",
    }
