"""Matcher: order kinds, amend, self-trade prevention, cross-venue pricing and fees, bad
input, and twin agreement with invariants on random order streams."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqframe import core
from liqframe.errors import InvalidValue, OrderError
from liqframe.testing.twins import twin_modules

pytestmark = pytest.mark.parametrize("twin", twin_modules("matcher"), indirect=True)

BUY, SELL = 1, -1


def fills(m, *fields):
    return [tuple(int(f[name]) for name in fields) for f in m.take_fills()]


def test_price_time_priority_and_resting_price(twin):
    m = twin.Matcher()
    m.submit(1, SELL, 101, 5)
    m.submit(2, SELL, 100, 5)
    m.submit(3, SELL, 100, 5)
    assert m.submit(4, BUY, 102, 12) == 12
    assert fills(m, "maker_id", "taker_id", "price", "quantity") == [
        (2, 4, 100, 5), (3, 4, 100, 5), (1, 4, 101, 2)]
    assert m.last_outcome == twin.FILLED
    assert m.book.order(1)[2] == 3


def test_time_in_force(twin):
    m = twin.Matcher()
    m.submit(1, SELL, 100, 5)
    assert m.submit(2, BUY, 100, 8, tif=twin.IOC) == 5
    assert m.last_outcome == twin.CANCELLED and 2 not in m
    m.submit(3, SELL, 100, 5)
    assert m.submit(4, BUY, 100, 6, tif=twin.FOK) == 0
    assert m.last_outcome == twin.REJECTED and m.book.order(3)[2] == 5
    assert m.submit(5, BUY, 100, 5, tif=twin.FOK) == 5 and m.last_outcome == twin.FILLED
    m.submit(6, SELL, 100, 5)
    assert m.submit(7, BUY, 100, 1, tif=twin.POST_ONLY) == 0
    assert m.last_outcome == twin.REJECTED and 7 not in m
    assert m.submit(8, BUY, 99, 1, tif=twin.POST_ONLY) == 0
    assert m.last_outcome == twin.RESTING and 8 in m
    assert m.submit(9, BUY, 100, 7) == 5 and m.last_outcome == twin.RESTING
    assert m.book.order(9)[2] == 2


def test_market_order_with_protection_price(twin):
    m = twin.Matcher()
    m.submit(1, SELL, 100, 5)
    m.submit(2, SELL, 105, 5)
    assert m.market(3, BUY, 10, protection=102) == 5
    assert m.last_outcome == twin.CANCELLED and 3 not in m
    assert m.market(4, BUY, 3) == 3 and m.last_outcome == twin.FILLED
    assert m.market(5, SELL, 3) == 0 and m.last_outcome == twin.CANCELLED  # empty side


def test_amend_decrease_keeps_priority_increase_and_price_lose_it(twin):
    m = twin.Matcher()
    for i in (1, 2, 3):
        m.submit(i, BUY, 100, 10)
    m.amend(1, 4)
    assert m.book.queue_position(1) == (0, 0) and m.book.order(1)[2] == 4
    m.amend(2, 20)
    assert m.book.queue_position(2) == (2, 14)  # behind 1 (4 lots) and 3 (10 lots)
    m.amend(3, 10, price=100)  # same size and price: nothing changes
    assert m.book.queue_position(3) == (1, 4)
    m.amend(1, 4, price=99)
    assert m.book.order(1)[1] == 99
    m.submit(4, SELL, 101, 5)
    assert m.amend(4, 5, price=100) == 5  # a new price that crosses trades
    assert fills(m, "maker_id", "taker_id", "price") == [(3, 4, 100)]


@pytest.mark.parametrize(("policy", "filled", "resting_left", "outcome"), [
    ("cancel_resting", 5, False, "FILLED"),
    ("cancel_taking", 0, True, "CANCELLED"),
    ("cancel_both", 0, False, "CANCELLED"),
])
def test_self_trade_prevention(twin, policy, filled, resting_left, outcome):
    m = twin.Matcher(stp=policy)
    m.submit(1, SELL, 100, 5, owner=7)
    m.submit(2, SELL, 100, 5, owner=8)
    assert m.submit(3, BUY, 100, 5, owner=7) == filled
    assert (1 in m) == resting_left
    assert m.last_outcome == getattr(twin, outcome)
    assert all(f["maker_owner"] != f["taker_owner"] for f in m.take_fills())
    m.submit(4, SELL, 100, 5)  # owner 0 is anonymous: never prevented
    m.submit(5, BUY, 100, 5, tif=twin.IOC)
    assert len(m.take_fills()) == 1


def test_fok_simulates_self_trade_prevention(twin):
    m = twin.Matcher(stp="cancel_taking")
    m.submit(1, SELL, 100, 5, display=2, owner=1)
    m.submit(2, SELL, 100, 3, owner=2)
    m.submit(3, SELL, 100, 4, owner=9)
    # Matching would stop at order 2: only the visible slice of 1 comes before it.
    assert m.submit(4, BUY, 100, 3, tif=twin.FOK, owner=2) == 0
    assert m.last_outcome == twin.REJECTED
    assert m.submit(5, BUY, 100, 2, tif=twin.FOK, owner=2) == 2
    assert m.last_outcome == twin.FILLED


def test_iceberg_replenishes_behind_the_queue_while_matching(twin):
    m = twin.Matcher()
    m.submit(1, SELL, 100, 6, display=2)
    m.submit(2, SELL, 100, 3)
    m.submit(3, BUY, 100, 7)
    assert fills(m, "maker_id", "quantity") == [(1, 2), (2, 3), (1, 2)]
    assert m.book.order(1)[2:4] == (2, 0)


def test_cross_venue_default_is_resting_price_so_the_network_never_pays(twin):
    m = twin.Matcher(fee_bps=10)
    m.submit(1, BUY, 10_100, 4, venue=1)
    m.submit(2, SELL, 10_000, 4, venue=2)
    (fill,) = m.take_fills()
    assert (fill["buyer_price"], fill["seller_price"]) == (10_100, 10_100)


def test_cross_venue_best_for_both_with_seller_fee(twin):
    m = twin.Matcher(cross_venue_pricing="best_for_both", fee_bps=10, fee_fixed=1)
    m.submit(1, BUY, 10_100, 4, venue=1)  # resting on venue A
    m.submit(2, SELL, 10_000, 4, venue=2)  # arriving on venue B: crosses
    (fill,) = m.take_fills()
    assert (fill["price"], fill["buyer_price"], fill["seller_price"]) == (10_100, 10_000, 10_100)
    # ceil(4 * 10100 * 10 / 10000) + 1 = ceil(40.4) + 1
    assert (fill["fee"], fill["fee_payer"]) == (42, SELL)
    assert (fill["maker_venue"], fill["taker_venue"]) == (1, 2)
    totals = twin.venue_totals(np.array([fill]))
    assert totals[1] == {"bought": 4, "sold": 0, "paid": 40_000, "received": 0, "fees": 0}
    assert totals[2] == {"bought": 0, "sold": 4, "paid": 0, "received": 40_400 - 42, "fees": 42}


@pytest.mark.parametrize(("payer", "side", "fee"), [
    ("buyer", BUY, 40), ("taker", SELL, 41), ("maker", BUY, 40)])
def test_cross_venue_fee_payer(twin, payer, side, fee):
    m = twin.Matcher(cross_venue_pricing="best_for_both", fee_bps=10, fee_payer=payer)
    m.submit(1, BUY, 10_100, 4, venue=1)
    m.submit(2, SELL, 10_000, 4, venue=2)
    (f,) = m.take_fills()
    assert (int(f["fee_payer"]), int(f["fee"])) == (side, fee)


def test_resting_pricing_and_same_venue_fills_carry_no_spread(twin):
    m = twin.Matcher(cross_venue_pricing="resting", fee_bps=5)
    m.submit(1, BUY, 10_100, 4, venue=1)
    m.submit(2, SELL, 10_000, 2, venue=2)
    m.submit(3, SELL, 10_000, 2, venue=1)
    a, b = m.take_fills()
    assert (a["buyer_price"], a["seller_price"], a["fee"]) == (10_100, 10_100, 11)  # ceil(10.1)
    assert (b["buyer_price"], b["seller_price"], b["fee"], b["fee_payer"]) == (10_100, 10_100,
                                                                              0, 0)


def test_market_taker_across_venues_uses_the_resting_price(twin):
    m = twin.Matcher()
    m.submit(1, SELL, 500, 2, venue=3)
    m.market(2, BUY, 2, venue=4)
    (f,) = m.take_fills()
    assert (f["buyer_price"], f["seller_price"]) == (500, 500)


@pytest.mark.parametrize(("call", "message"), [
    (lambda m: m.cancel(99), "order 99: not in the book"),
    (lambda m: m.amend(99, 1), "order 99: not in the book"),
    (lambda m: m.submit(1, BUY, 90, 5), "order 1: id is already in the book"),
    (lambda m: m.submit(5, BUY, 90, 0), "order 5: size must be positive, got 0"),
    (lambda m: m.submit(5, BUY, 90, -2), "order 5: size must be positive, got -2"),
    (lambda m: m.submit(5, BUY, 0, 2), "order 5: price must be positive, got 0"),
    (lambda m: m.submit(5, 0, 90, 2), "order 5: side must be 1"),
    (lambda m: m.submit(5, BUY, 90, 2, tif=7), "order 5: tif must be GTC"),
    (lambda m: m.market(5, BUY, 0), "order 5: size must be positive"),
    (lambda m: m.market(5, BUY, 1, protection=-1), "order 5: protection must be positive"),
    (lambda m: m.amend(1, 0), "order 1: size must be positive, got 0"),
    (lambda m: m.amend(1, 3, price=-5), "order 1: price must be positive, got -5"),
])
def test_bad_input_is_a_clear_error_and_changes_nothing(twin, call, message):
    m = twin.Matcher()
    m.submit(1, BUY, 100, 5)
    m.submit(2, SELL, 105, 5)
    before = (m.book.order(1), m.book.order(2), [a.tolist() for a in m.book.depth(5)])
    with pytest.raises(OrderError, match=message):
        call(m)
    assert (m.book.order(1), m.book.order(2), [a.tolist() for a in m.book.depth(5)]) == before
    assert len(m.take_fills()) == 0


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"stp": "none"}, "stp"), ({"cross_venue_pricing": "mid"}, "cross_venue_pricing"),
    ({"fee_bps": -1}, "fee_bps"), ({"fee_bps": 10001}, "fee_bps"), ({"fee_bps": 1.5}, "fee_bps"),
    ({"fee_fixed": -1}, "fee_fixed"), ({"fee_payer": "network"}, "fee_payer")])
def test_bad_configuration_names_the_field(twin, kwargs, field):
    with pytest.raises(InvalidValue, match=field):
        twin.Matcher(**kwargs)


def test_floats_and_out_of_range_venues_are_refused(twin):
    m = twin.Matcher()
    with pytest.raises(TypeError):
        m.submit(1, BUY, 100.5, 1)
    with pytest.raises(OverflowError, match="venue 4294967296 is out of the int32 range"):
        m.submit(1, BUY, 100, 1, venue=2**32)
    assert len(m) == 0


# -- twin agreement and invariants -----------------------------------------------------------

order_op = st.one_of(
    st.tuples(st.just("submit"), st.integers(1, 40), st.sampled_from([BUY, SELL]),
              st.integers(97, 103), st.integers(1, 12), st.integers(0, 3), st.integers(0, 3),
              st.integers(0, 2), st.sampled_from([0, 0, 0, 2, 5])),
    st.tuples(st.just("market"), st.integers(1, 40), st.sampled_from([BUY, SELL]),
              st.integers(1, 20), st.sampled_from([None, 99, 101]), st.integers(0, 3),
              st.integers(0, 2)),
    st.tuples(st.just("cancel"), st.integers(1, 40)),
    st.tuples(st.just("amend"), st.integers(1, 40), st.integers(-1, 15),
              st.sampled_from([None, 98, 100, 102])),
)
config = st.fixed_dictionaries({
    "stp": st.sampled_from(["cancel_resting", "cancel_taking", "cancel_both"]),
    "cross_venue_pricing": st.sampled_from(["best_for_both", "resting"]),
    "fee_bps": st.integers(0, 30), "fee_fixed": st.integers(0, 3),
    "fee_payer": st.sampled_from(["seller", "buyer", "taker", "maker"])})


def apply(m, op):
    name, *args = op
    try:
        if name == "submit":
            order_id, side, price, size, tif, owner, venue, display = args
            result = m.submit(order_id, side, price, size, tif=tif, owner=owner, venue=venue,
                              display=display)
        elif name == "market":
            order_id, side, size, protection, owner, venue = args
            result = m.market(order_id, side, size, protection=protection, owner=owner,
                              venue=venue)
        else:
            result = getattr(m, name)(*args)
    except OrderError as error:
        return "error", str(error)
    return result, m.last_outcome


def open_orders(m):
    return {i: m.book.order(i) for i in range(1, 41) if i in m}


@settings(max_examples=150)
@given(ops=st.lists(order_op, max_size=60), kwargs=config)
def test_twins_agree_and_invariants_hold(twin, ops, kwargs):
    pure = core.load("matcher", compiled=False).Matcher(**kwargs)
    m = twin.Matcher(**kwargs)
    for op in ops:
        before = open_orders(m)
        assert apply(m, op) == apply(pure, op)
        ours, theirs = m.take_fills(), pure.take_fills()
        assert ours.tolist() == theirs.tolist()
        assert open_orders(m) == open_orders(pure)
        bid, ask = m.book.best(BUY), m.book.best(SELL)
        assert bid is None or ask is None or bid < ask  # never crossed at rest
        check_quantity_conserved(m, op, before, ours)


def check_quantity_conserved(m, op, before, fills):
    """Every maker lost exactly what it filled (or all, if cancelled by STP or the op); the
    taker filled at most its size, each fill at the maker's price and at most both limits."""
    after = open_orders(m)
    filled = {}
    for f in fills.tolist():
        filled[f[0]] = filled.get(f[0], 0) + f[5]
        assert f[5] > 0 and f[4] == before[f[0]][1]
    for order_id, (_, _, visible, reserve, *_rest) in before.items():
        if order_id in filled:
            left = after[order_id][2] + after[order_id][3] if order_id in after else 0
            assert left == visible + reserve - filled[order_id] or order_id not in after
    if op[0] == "submit" and fills.size:
        assert int(fills["quantity"].sum()) <= op[4]
