"""Router: twins agree on random instances, the seed's 100 BTC sell across three venues,
re-routing after failures, execution jitter and slices, and every kind of bad input."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqframe._core import router as pure
from liqframe.errors import InvalidValue, RouteError
from liqframe.route_scenario import Scenario, load
from liqframe.testing.twins import twin_modules

pytestmark = pytest.mark.parametrize("twin", twin_modules("router"), indirect=True)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "route-100btc.json"
EXACT = {"time_limit_ms": 600_000, "max_cells": 10**8}


def three_venues(module, **overrides):
    router = module.Router()
    specs = [("a", "10", [(100, 30), (99, 40), (97, 50)], [(101, 30), (103, 40)]),
             ("b", "2", [(100, 20), (98, 40)], [(102, 20), (104, 40)]),
             ("c", "5", [(101, 10), (96, 100)], [(101, 10), (105, 100)])]
    for name, fee, bids, asks in specs:
        index = router.add_venue(name, taker_fee_bps=fee, **overrides.get(name, {}))
        router.set_levels(index, module.BID, bids)
        router.set_levels(index, module.ASK, asks)
    return router


# --- twins agree ---------------------------------------------------------------------------


@st.composite
def routers(draw):
    venues = []
    for i in range(draw(st.integers(1, 5))):
        start = draw(st.integers(90, 110))
        gaps = draw(st.lists(st.integers(1, 4), max_size=8))
        prices = [start - sum(gaps[:k]) for k in range(len(gaps))]
        bids = [(p, draw(st.integers(0, 30))) for p in prices if p > 0]
        asks = [(200 - p, draw(st.integers(0, 30))) for p in reversed(prices)][::-1]
        asks.sort()
        params = {"taker_fee_bps": draw(st.sampled_from(["0", "1.25", "7.5", "30"])),
                  "fill_probability": draw(st.sampled_from(["1", "0.95", "0.5", "0"])),
                  "latency_ms": draw(st.sampled_from(["0", "3", "3", "250"])),
                  "weight": draw(st.sampled_from(["1", "0.8"]))}
        if draw(st.booleans()):
            params.update(fixed_fee=draw(st.integers(0, 5 * pure.COST_SCALE)),
                          min_size=draw(st.integers(0, 6)), lot_size=draw(st.integers(1, 4)))
        if draw(st.booleans()):
            params.update(base_balance=draw(st.integers(0, 60)),
                          quote_balance=draw(st.integers(0, 4000)) * pure.COST_SCALE)
        venues.append((f"v{i}", params, bids, asks))
    order = (draw(st.sampled_from([pure.BUY, pure.SELL])), draw(st.integers(1, 150)),
             draw(st.sampled_from([None, None, 95, 105])))
    return venues, order


def build(module, venues):
    router = module.Router()
    for name, params, bids, asks in venues:
        index = router.add_venue(name, **params)
        router.set_levels(index, module.BID, bids)
        router.set_levels(index, module.ASK, asks)
    return router


@settings(max_examples=200, deadline=None)
@given(case=routers())
def test_twins_agree(twin, case):
    venues, (side, quantity, limit) = case
    routes = []
    for module in (pure, twin):
        try:
            routes.append(build(module, venues).route(side, quantity, limit_price=limit,
                                                      **EXACT))
        except RouteError as error:
            routes.append(str(error))
    assert routes[0] == routes[1]


@settings(max_examples=200, deadline=None)
@given(case=routers())
def test_twins_agree_on_the_fallback_and_it_is_feasible(twin, case):
    venues, (side, quantity, limit) = case
    try:
        exact = build(pure, venues).route(side, quantity, limit_price=limit, **EXACT)
    except RouteError:
        return
    routes = [build(module, venues).route(side, quantity, limit_price=limit, max_cells=0)
              for module in (pure, twin)]
    assert routes[0] == routes[1]
    rough = routes[1]
    assert rough.filled <= exact.filled
    if rough.filled == exact.filled:
        assert rough.cost >= exact.cost
    params = {name: p for name, p, _, _ in venues}
    for child in rough.children:
        lot, minimum = params[child.name].get("lot_size", 1), params[child.name].get("min_size", 0)
        assert child.quantity % lot == 0 and child.quantity >= minimum
        if side == pure.SELL and "base_balance" in params[child.name]:
            assert child.quantity <= params[child.name]["base_balance"]


@settings(max_examples=100, deadline=None)
@given(case=routers())
def test_split_into_matches_route(twin, case):
    import numpy as np

    venues, (side, quantity, limit) = case
    router = build(twin, venues)
    out = np.full((len(venues), 2), -1, dtype=np.int64)
    try:
        route = router.route(side, quantity, limit_price=limit, **EXACT)
    except RouteError:
        return
    assert router.split_into(out, side, quantity, limit_price=limit, **EXACT) == route.filled
    expected = np.zeros((len(venues), 2), dtype=np.int64)
    for child in route.children:
        expected[child.venue] = (child.quantity, child.limit_price)
    assert (out == expected).all()


# --- the seed's example: 100 BTC sold across three exchanges --------------------------------


def test_hundred_btc_sell_split_across_three_venues(twin):
    scenario = Scenario(load(EXAMPLE))
    router = scenario.router(twin)
    quantity = scenario.lots(scenario.quantity, "quantity")
    route = router.route(twin.SELL, quantity, limit_price=scenario.ticks(scenario.limit, "limit"),
                         **EXACT)
    assert route.method == "dp" and route.filled == quantity
    assert {c.name for c in route.children} == {"alpha", "beta", "gamma"}
    for child in route.children:
        params = router.venue(child.venue)
        # No venue could take the whole order: its depth within the limit or its balance
        # falls short, which is why the order is split.
        depth = sum(int(s) for p, s in router.levels(child.venue, twin.BID)
                    if p >= scenario.ticks(scenario.limit, "limit"))
        assert min(depth, params.base_balance) < quantity
        assert child.quantity % params.lot_size == 0 and child.quantity >= params.min_size
        assert child.quantity <= params.base_balance
        assert child.limit_price >= scenario.ticks(scenario.limit, "limit")
    assert route == pure.Router.route(scenario.router(pure), twin.SELL, quantity,
                                      limit_price=scenario.ticks(scenario.limit, "limit"),
                                      **EXACT)
    rough = router.route(twin.SELL, quantity, limit_price=scenario.ticks(scenario.limit, "l"),
                         max_cells=0)
    assert rough.method == "fallback" and rough.cost >= route.cost


# --- re-routing -----------------------------------------------------------------------------


def test_reroute_after_venue_goes_down(twin):
    router = three_venues(twin)
    worker = twin.Rerouter(router, "sell", 150)
    plan = worker.route()
    assert {c.name for c in plan.children} == {"a", "b", "c"}
    assert worker.report("b", "down") == 150
    replan = worker.route()
    assert "b" not in {c.name for c in replan.children}
    fresh = three_venues(twin).route(twin.SELL, 150, exclude=[1])
    assert replan == fresh
    assert replan.filled == 150


def test_reroute_after_partial_fill_and_rejection(twin):
    router = three_venues(twin, a={"base_balance": 100})
    worker = twin.Rerouter(router, twin.SELL, 120)
    plan = worker.route()
    child_a = next(c for c in plan.children if c.name == "a")
    assert worker.report("a", "partial", filled=child_a.quantity - 5) == 120 - (
        child_a.quantity - 5)
    # The child's levels are gone from a's book and its balance dropped by what filled.
    assert router.venue("a").base_balance == 100 - (child_a.quantity - 5)
    replan = worker.route()
    assert replan.quantity == worker.remaining
    for child in plan.children:
        if child.name != "a":
            worker.report(child.venue, "rejected")
    last = worker.route()
    assert {c.name for c in last.children} <= {"a"}
    with pytest.raises(InvalidValue, match="status"):
        worker.report("a", "exploded")
    with pytest.raises(InvalidValue, match="filled"):
        worker.report("a", "filled", filled=1)


def test_reroute_bad_reports(twin):
    worker = twin.Rerouter(three_venues(twin), twin.BUY, 10)
    with pytest.raises(RouteError, match="before route"):
        worker.report("a", "filled", filled=10)
    plan = worker.route()
    named = {c.name for c in plan.children}
    idle = next(n for n in ("a", "b", "c") if n not in named)
    with pytest.raises(InvalidValue, match="no child order"):
        worker.report(idle, "filled")
    with pytest.raises(InvalidValue, match="venue"):
        worker.report("nowhere", "down")
    child = plan.children[0]
    with pytest.raises(InvalidValue, match="filled"):
        worker.report(child.venue, "partial", filled=child.quantity + 1)
    for child in plan.children:
        worker.report(child.venue, "filled", filled=child.quantity)
    assert worker.remaining == 0
    with pytest.raises(RouteError, match="complete"):
        worker.route()


# --- execution options ----------------------------------------------------------------------


def test_slices_and_jitter_are_seeded_and_priced(twin):
    router = three_venues(twin, a={"fixed_fee": 1000, "lot_size": 5, "min_size": 10})
    base = router.route(twin.SELL, 150, **EXACT)
    sliced = router.route(twin.SELL, 150, max_slices=4, jitter_us=5000, seed=42, **EXACT)
    assert sliced == router.route(twin.SELL, 150, max_slices=4, jitter_us=5000, seed=42, **EXACT)
    assert sliced != router.route(twin.SELL, 150, max_slices=4, jitter_us=5000, seed=7, **EXACT)
    assert sliced.filled == base.filled and sliced.notional == base.notional
    for parent in base.children:
        parts = [c for c in sliced.children if c.venue == parent.venue]
        assert sum(c.quantity for c in parts) == parent.quantity
        assert sum(c.notional for c in parts) == parent.notional
        params = router.venue(parent.venue)
        for part in parts:
            assert part.quantity % params.lot_size == 0 and part.quantity >= params.min_size
            assert parent.delay_us <= part.delay_us <= parent.delay_us + 5000
        extra = (len(parts) - 1) * params.fixed_fee
        assert sum(c.cost for c in parts) == parent.cost + extra


def test_children_arrive_together(twin):
    router = three_venues(twin, a={"latency_ms": "40"}, b={"latency_ms": "2.5"},
                          c={"latency_ms": "10"})
    route = router.route(twin.SELL, 150)
    delays = {c.name: c.delay_us for c in route.children}
    assert delays == {"a": 0, "b": 37_500, "c": 30_000}


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("call, field", [
    (lambda r: r.route("hold", 5), "side"),
    (lambda r: r.route(0, 5), "side"),
    (lambda r: r.route("buy", 0), "quantity"),
    (lambda r: r.route("buy", -3), "quantity"),
    (lambda r: r.route("buy", 2.5), "quantity"),
    (lambda r: r.route("buy", 5, limit_price=0), "limit_price"),
    (lambda r: r.route("buy", 5, exclude=[9]), "exclude"),
    (lambda r: r.route("buy", 5, max_slices=0), "max_slices"),
    (lambda r: r.route("buy", 5, time_limit_ms=-1), "time_limit_ms"),
    (lambda r: r.add_venue("x", taker_fee_bps="-1"), "taker_fee_bps"),
    (lambda r: r.add_venue("x", taker_fee_bps="abc"), "taker_fee_bps"),
    (lambda r: r.add_venue("x", fixed_fee=-1), "fixed_fee"),
    (lambda r: r.add_venue("x", lot_size=0), "lot_size"),
    (lambda r: r.add_venue("x", fill_probability="1.5"), "fill_probability"),
    (lambda r: r.add_venue("x", weight="-0.1"), "weight"),
    (lambda r: r.add_venue("a"), "name"),
    (lambda r: r.add_venue(""), "name"),
    (lambda r: r.set_levels(0, 0, [(100, 5), (101, 5)]), "levels[1][0]"),
    (lambda r: r.set_levels(0, 1, [(100, -5)]), "levels[0][1]"),
    (lambda r: r.set_levels(0, 2, []), "side"),
    (lambda r: r.set_levels(7, 0, []), "venue"),
    (lambda r: r.split_into([[0, 0]] * 3, "buy", 5), "out"),
    (lambda r: r.split_into(__import__("numpy").zeros((2, 2), "int64"), "buy", 5), "out"),
])
def test_bad_input_names_the_field(twin, call, field):
    router = three_venues(twin)
    before = router.route(twin.SELL, 50)
    with pytest.raises(InvalidValue) as error:
        call(router)
    assert error.value.field == field
    assert router.route(twin.SELL, 50) == before  # nothing changed


def test_empty_books(twin):
    router = twin.Router()
    router.add_venue("a")
    router.set_levels(0, twin.BID, [(100, 5)])
    with pytest.raises(RouteError, match="empty on the ask side"):
        router.route(twin.BUY, 5)
    with pytest.raises(RouteError, match="empty on the bid side"):
        router.route(twin.SELL, 5, exclude=[0])
    assert router.route(twin.SELL, 5, limit_price=101).filled == 0  # books there, none fits
