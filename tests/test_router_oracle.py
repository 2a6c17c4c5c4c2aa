"""Router against independent oracles: brute force over every split with exact Fractions on
small instances (fixed fees, minimum sizes, lot sizes, balances, weights, fill probabilities),
and for proportional fees a lot-by-lot sort in floats on larger ones. Both twins, and the twins
agree on every field of random routes."""

import itertools
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqframe.testing.twins import twin_modules

pytestmark = pytest.mark.parametrize("twin", twin_modules("router"), indirect=True)

COST_SCALE = 10**12


# --- the oracle: written from the documented model, sharing nothing with the router ---------


def usable_levels(venue, side, limit):
    book = venue["asks"] if side == "buy" else venue["bids"]
    rows = []
    for price, size in book:
        if limit is not None and (price > limit if side == "buy" else price < limit):
            break
        rows.append((price, size * venue["weight"] // 1))
    return rows


def lot_prices(rows):
    return [price for price, size in rows for _ in range(size)]


def venue_cost(venue, prices, q, side, fallback):
    """Exact expected all-in cost of q lots in quote*tick*lot (Fraction)."""
    if q == 0:
        return Fraction(0)
    fee, pi = Fraction(venue["fee_bps"]) / 10_000, Fraction(venue["probability"])
    sign = 1 if side == "buy" else -1
    per = sum(pi * p * (1 + sign * fee) + (1 - pi) * fallback for p in prices[:q])
    return venue["fixed"] + sign * per


def fallback_price(rows, side, limit):
    """The documented fallback: the limit, else the worst usable price on the side."""
    if limit is not None:
        return limit
    worst = [r[-1][0] for r in rows if r]
    return (max if side == "buy" else min)(worst) if worst else 0


def oracle(venues, side, quantity, limit=None):
    """(filled, cost) of the best split by brute force: most lots, then least cost."""
    rows = [usable_levels(v, side, limit) for v in venues]
    fallback = fallback_price(rows, side, limit)
    options = []
    for v, r in zip(venues, rows):
        prices = lot_prices(r)
        fee = Fraction(v["fee_bps"]) / 10_000
        choices = [0]
        for q in range(1, len(prices) + 1):
            if q % v["lot"] or q < v["min"]:
                continue
            if side == "sell" and v["balance"] is not None and q > v["balance"]:
                continue
            if side == "buy" and v["balance"] is not None:
                cash = sum(p * (1 + fee) for p in prices[:q]) + v["fixed"]
                if cash > v["balance"]:
                    continue
            choices.append(q)
        options.append([(q, venue_cost(v, prices, q, side, fallback)) for q in choices])
    best = (0, Fraction(0))
    for combo in itertools.product(*options):
        filled = sum(q for q, _ in combo)
        if filled > quantity:
            continue
        cost = sum(c for _, c in combo)
        if filled > best[0] or (filled == best[0] and cost < best[1]):
            best = (filled, cost)
    return best


# --- building the same instance for the router --------------------------------------------


def build(twin, venues):
    router = twin.Router()
    for v in venues:
        index = router.add_venue(
            v["name"], taker_fee_bps=v["fee_bps"], fixed_fee=v["fixed"] * COST_SCALE,
            min_size=v["min"], lot_size=v["lot"],
            base_balance=v["balance"], quote_balance=None if v["balance"] is None else
            v["balance"] * COST_SCALE, fill_probability=v["probability"],
            latency_ms=v["latency"], weight=v["weight"])
        router.set_levels(index, twin.BID, v["bids"])
        router.set_levels(index, twin.ASK, v["asks"])
    return router


@st.composite
def instances(draw, *, fixed=True, max_venues=3, max_lots=12):
    n = draw(st.integers(1, max_venues))
    venues = []
    for i in range(n):
        mid = draw(st.integers(50, 60))

        def side(direction, mid=mid):
            gaps = draw(st.lists(st.integers(1, 3), min_size=0, max_size=3))
            prices, price = [], mid + direction
            for gap in gaps:
                prices.append(price)
                price += direction * gap
            return [(p, draw(st.integers(0, 4))) for p in prices]

        venues.append({
            "name": f"v{i}", "bids": side(-1), "asks": side(1),
            "fee_bps": draw(st.sampled_from(["0", "2.5", "10", "75"])),
            # Fees up to a few lots' worth, so that leaving a venue out is often the best.
            "fixed": draw(st.sampled_from([0, 0, 1, 7, 40, 150])) if fixed else 0,
            "min": draw(st.sampled_from([0, 0, 2, 3])) if fixed else 0,
            "lot": draw(st.sampled_from([1, 1, 2, 3])) if fixed else 1,
            "balance": draw(st.sampled_from([None, None, 5, 400])),
            "probability": draw(st.sampled_from(["1", "0.9", "0.5"])),
            "latency": draw(st.sampled_from(["0", "1.5", "20"])),
            "weight": Fraction(draw(st.sampled_from(["1", "1", "0.5"]))),
        })
    side = draw(st.sampled_from(["buy", "sell"]))
    quantity = draw(st.integers(1, max_lots))
    limit = draw(st.sampled_from([None, None, 54, 57]))
    return venues, side, quantity, limit


def has_book(venues, side):
    return any(v["asks"] if side == "buy" else v["bids"] for v in venues)


@settings(max_examples=400, deadline=None)
@given(case=instances())
def test_exact_against_brute_force(twin, case):
    venues, side, quantity, limit = case
    if not has_book(venues, side):
        return
    route = build(twin, venues).route(side, quantity, limit_price=limit)
    filled, cost = oracle(venues, side, quantity, limit)
    assert route.filled == filled
    assert Fraction(route.cost, COST_SCALE) == cost
    assert route.method in ("greedy", "dp")
    assert route.cost == sum(c.cost for c in route.children)
    for child in route.children:
        v = venues[child.venue]
        assert child.quantity % v["lot"] == 0 and child.quantity >= v["min"]


@settings(max_examples=60, deadline=None)
@given(case=instances(fixed=False, max_venues=6, max_lots=40))
def test_proportional_greedy_against_lot_sort(twin, case):
    venues, side, quantity, limit = case
    if not has_book(venues, side):
        return
    route = build(twin, venues).route(side, quantity, limit_price=limit)
    assert route.method == "greedy"
    # Independent float oracle: every usable lot with its expected cost, cheapest first, each
    # venue capped by its balance (a buy's cap is the longest prefix whose cash fits).
    rows = [usable_levels(v, side, limit) for v in venues]
    fallback = fallback_price(rows, side, limit)
    lots = []
    for v, r in zip(venues, rows):
        fee, pi = float(Fraction(v["fee_bps"])) / 1e4, float(Fraction(v["probability"]))
        sign = 1 if side == "buy" else -1
        cash, count = 0.0, 0
        for p in lot_prices(r):
            cash += p * (1 + fee)
            if v["balance"] is not None and (count >= v["balance"] if side == "sell"
                                             else cash > v["balance"] + 1e-9):
                break
            count += 1
            lots.append(sign * (pi * p * (1 + sign * fee) + (1 - pi) * fallback))
    lots.sort()
    expected = sum(lots[:quantity])
    assert route.filled == min(quantity, len(lots))
    assert route.cost / COST_SCALE == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_fallback_is_feasible_and_reported(twin):
    venues = [{"name": f"v{i}", "bids": [(100 - i, 40), (90, 40)], "asks": [], "fee_bps": "1",
               "fixed": 3 + i, "min": 4, "lot": 2 + i % 2, "balance": None, "probability": "1",
               "latency": "0", "weight": Fraction(1)} for i in range(3)]
    router = build(twin, venues)
    exact = router.route("sell", 50)
    rough = router.route("sell", 50, max_cells=10)
    assert exact.method == "dp" and rough.method == "fallback"
    assert exact.filled == 50 and 50 - 3 < rough.filled <= 50  # lots may not add up exactly
    for child in rough.children:
        assert child.quantity % venues[child.venue]["lot"] == 0 and child.quantity >= 4
    if rough.filled == exact.filled:
        assert rough.cost >= exact.cost
    assert Fraction(exact.cost, COST_SCALE) == oracle(venues, "sell", 50)[1]
    assert router.route("sell", 50, time_limit_ms=0).method == "fallback"
