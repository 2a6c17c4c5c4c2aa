"""Smart order router: microseconds per route of a parent order over 20 venues x 1,000 levels.

Each venue's bid side has 1,000 levels (seeded gaps of 1-3 ticks, sizes 1-20 lots) with its own
taker fee, fill probability and weight; the parent sell order takes about 30% of the total
depth. Two cases:

- proportional fees only: the greedy walk of the fee-adjusted merged book (target <= 10 us);
- fixed fees, minimum sizes and lot sizes of 1, 2 or 5 lots: the exact programme with its
  bounds lifted (target <= 1 ms), routes with the default bounds (50 ms, 4M cells: the method
  each took is in the name), and for reference the rounded-greedy fallback alone
  (``max_cells=0``). The exact programme runs only over the quantities its Lagrangian bound
  leaves possible; the full programme over every quantity took about 58 ms compiled here.

``route()`` builds the full result (a namedtuple per child, exact costs as Python ints);
``split_into()`` writes only each venue's lots and limit price into a preallocated array.
Each implementation name carries the method its routes used.

There is no router library to compare with, so the baseline is what a user would write: a
Python ``heapq`` merge of the venues' levels by fee-adjusted price (proportional fees only; it
knows nothing of fixed fees or lots). Books are loaded once; a route reads them as they stand.
"""

import heapq
import random
from functools import partial

from common import figure, median_ns

from liqframe._core import router as pure

VENUES = 20
LEVELS = 1_000
MID = 5_000_000


def books(levels, seed=20240611):
    rng = random.Random(seed)
    result = []
    for _ in range(VENUES):
        price, rows = MID - rng.randrange(1, 4), []
        for _ in range(levels):
            rows.append((price, rng.randrange(1, 21)))
            price -= rng.randrange(1, 4)
        result.append(rows)
    return result


def params(fixed, seed=7):
    rng = random.Random(seed)
    out = []
    for _ in range(VENUES):
        p = {"taker_fee_bps": rng.choice(["1", "2.5", "5", "7.5", "10"]),
             "fill_probability": rng.choice(["1", "0.99", "0.97", "0.95"]),
             "latency_ms": str(rng.randrange(1, 40)), "weight": rng.choice(["1", "1", "0.9"])}
        if fixed:
            p.update(fixed_fee=rng.randrange(1, 50) * pure.COST_SCALE * 100,
                     min_size=rng.choice([0, 5, 10]), lot_size=rng.choice([1, 2, 5]))
        out.append(p)
    return out


def make_router(module, bids, venue_params):
    router = module.Router()
    for v, (rows, p) in enumerate(zip(bids, venue_params)):
        router.add_venue(f"venue{v}", **p)
        router.set_levels(v, module.BID, rows)
    return router


def naive_route(bids, fees, quantity):
    """The baseline: heap-merge the venues' bids by fee-adjusted price, best first."""
    heap = [(-price * (1 - fee), v, 0) for v, (fee, rows) in enumerate(zip(fees, bids))
            for price, _ in rows[:1]]
    heapq.heapify(heap)
    lots, remaining = [0] * len(bids), quantity
    while remaining and heap:
        _, v, i = heapq.heappop(heap)
        take = min(remaining, bids[v][i][1])
        lots[v] += take
        remaining -= take
        if i + 1 < len(bids[v]):
            heapq.heappush(heap, (-bids[v][i + 1][0] * (1 - fees[v]), v, i + 1))
    return lots


def timed(fn, repeats):
    """Median microseconds of one call of ``fn``."""
    def loop():
        for _ in range(repeats):
            fn()

    return median_ns(loop, repeats) / 1000


def labelled(by, methods):
    """Implementation names with the method each route used, e.g. ``(compiled): dp``."""
    return {f"{name}: {methods[name]}" if name in methods else name: value
            for name, value in by.items()}


def run(quick=False):
    import numpy as np

    from liqframe.core import load

    levels = 100 if quick else LEVELS
    bids = books(levels)
    depth = sum(size for rows in bids for _, size in rows)
    quantity = depth * 3 // 10
    modules = {"liqframe (compiled)": load("router", compiled=True), "liqframe (pure)": pure}
    results = {"workload": f"{VENUES} venues x {levels} levels, sell {quantity:,} of "
                           f"{depth:,} lots ({quantity / depth:.0%} of depth)"}

    def repeats(name, compiled, slow):
        return compiled if "compiled" in name else slow

    proportional, split, methods = {}, {}, {}
    for name, module in modules.items():
        router = make_router(module, bids, params(fixed=False))
        out = np.zeros((VENUES, 2), dtype=np.int64)
        methods[name] = router.route(module.SELL, quantity).method
        proportional[name] = timed(partial(router.route, module.SELL, quantity),
                                   repeats(name, 5_000, 5 if quick else 20))
        split[name] = timed(partial(router.split_into, out, module.SELL, quantity),
                            repeats(name, 5_000, 5 if quick else 20))
    fees = [pure.venue_params("x", taker_fee_bps=p["taker_fee_bps"]).fee / pure.FEE_SCALE
            for p in params(fixed=False)]
    baseline = {"naive heapq merge (Python)": timed(partial(naive_route, bids, fees, quantity),
                                                    5 if quick else 20)}
    results["route(), proportional fees"] = figure(
        "us", labelled(proportional, methods) | baseline, target=10)
    results["split_into(), proportional fees"] = figure(
        "us", labelled(split, methods) | baseline, target=10)

    cases = {"exact programme, bounds lifted": {"time_limit_ms": 600_000, "max_cells": 10**9},
             "default bounds": {},
             "fallback alone (max_cells=0)": {"max_cells": 0}}
    routers = {name: make_router(module, bids, params(fixed=True))
               for name, module in modules.items()}
    for case, options in cases.items():
        times, used = {}, {}
        for name, module in modules.items():
            call = partial(routers[name].route, module.SELL, quantity, **options)
            used[name] = call().method
            times[name] = timed(call, repeats(name, 200, 1 if quick else 3))
        results[f"route(), fixed fees + lot sizes, {case}"] = figure(
            "us", labelled(times, used), target=1000)
    return results
