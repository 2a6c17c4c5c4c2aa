"""The consolidated multi-venue book: each feature on both twins.

The differential test against an exact reference is tests/test_consolidated_differential.py."""

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from liqframe import core
from liqframe.errors import BookError, InvalidValue
from liqframe.testing.twins import twin_modules

pytestmark = pytest.mark.parametrize("twin", twin_modules("consolidated"), indirect=True)

BID, ASK = 0, 1


def make(twin, *venues):
    """A book with ``venues`` given as (id, settings dict) or plain ids."""
    book = twin.ConsolidatedBook()
    for venue in venues:
        venue, settings = venue if isinstance(venue, tuple) else (venue, {})
        book.add_venue(venue, f"venue{venue}", **settings)
    return book


def levels(book, side, n=10, **view):
    """top_n as plain lists: [(price, size, {venue: size}), ...]."""
    result = book.top_n(side, n, **view)
    ids = result.venues.tolist()
    return [(p, s, {v: x for v, x in zip(ids, row) if x})
            for p, s, row in zip(result.prices.tolist(), result.sizes.tolist(),
                                 result.by_venue.tolist())]


def fingerprint(book):
    """Everything observable, to check that a refused call changed nothing."""
    views = [levels(book, side, 50, weighted=w, fees=f)
             for side in (BID, ASK) for w in (False, True) for f in (False, True)]
    states = [book.venue_state(v) for v in book.venue_ids()]
    native = [book.venue_levels(v, s).tolist() for v in book.venue_ids() for s in (BID, ASK)]
    return book.best(), book.crossed, views, states, native


def test_constants_match_the_other_twin(twin):
    pure = core.load("consolidated", compiled=False)
    for name in ("BID", "ASK", "DUPLICATE", "CROSSED", "MAX_VENUES", "MAX_VENUE_ID",
                 "MAX_PRICE", "MAX_SIZE", "WEIGHT_SCALE", "FEE_SCALE"):
        assert getattr(twin, name) == getattr(pure, name), name
    assert (twin.BID, twin.ASK) == (0, 1)


def test_aggregates_levels_with_per_venue_attribution(twin):
    book = make(twin, 1, 2, 3)
    book.apply(1, BID, 100, 5)
    book.apply(2, BID, 100, 7)
    book.apply(3, BID, 99, 4)
    book.apply(1, ASK, 102, 3)
    book.apply(2, ASK, 101, 2)
    assert book.best() == (100, 101)
    assert levels(book, BID) == [(100, 12, {1: 5, 2: 7}), (99, 4, {3: 4})]
    assert levels(book, ASK) == [(101, 2, {2: 2}), (102, 3, {1: 3})]
    result = book.top_n(BID, 1)
    assert result.venues.tolist() == [1, 2, 3]
    assert result.by_venue.shape == (1, 3) and result.prices.dtype == np.int64


def test_size_zero_removes_and_the_best_moves_to_the_next_level(twin):
    book = make(twin, 1, 2)
    book.apply(1, BID, 100, 5)
    book.apply(2, BID, 98, 1)
    book.apply(1, BID, 100, 0)
    assert book.best_bid() == 98 and levels(book, BID) == [(98, 1, {2: 1})]
    book.apply(2, BID, 98, 0)
    assert book.best() == (None, None)
    assert book.top_n(BID, 5).by_venue.shape == (0, 2)


def test_size_replaces_rather_than_adds(twin):
    book = make(twin, 1)
    book.apply(1, ASK, 100, 5)
    book.apply(1, ASK, 100, 3)
    assert levels(book, ASK) == [(100, 3, {1: 3})]


def test_top_n_limits_and_orders(twin):
    book = make(twin, 1)
    for price in range(90, 100):
        book.apply(1, BID, price, 1)
        book.apply(1, ASK, price + 20, 1)
    assert book.top_n(BID, 3).prices.tolist() == [99, 98, 97]
    assert book.top_n(ASK, 3).prices.tolist() == [110, 111, 112]
    assert book.top_n(ASK, 0).prices.tolist() == []
    assert len(book.top_n(BID, 100).prices) == 10


def test_sparse_book_far_beyond_the_walk_budget(twin):
    book = make(twin, 1, 2)
    prices = [10_000, 5_000, 1_000, 3]
    for price in prices:
        book.apply(1, BID, price, 1)
        book.apply(2, ASK, price * 7, 1)
    assert book.top_n(BID, 10).prices.tolist() == prices
    book.apply(1, BID, 10_000, 0)
    assert book.best_bid() == 5_000
    book.apply(2, ASK, 21, 0)
    assert book.best_ask() == 7_000
    assert book.top_n(ASK, 2).prices.tolist() == [7_000, 35_000]


def test_tick_and_lot_multipliers_map_to_the_consolidated_grid(twin):
    book = make(twin, (1, {"tick_multiplier": 10, "lot_multiplier": 100}), 2)
    book.apply(1, BID, 1001, 3)  # venue ticks of 10 consolidated ticks, lots of 100
    book.apply(2, BID, 10_010, 50)
    assert levels(book, BID) == [(10_010, 350, {1: 300, 2: 50})]
    assert book.venue_levels(1, BID).tolist() == [[1001, 3]]


def test_fx_conversion_rounds_against_the_holder(twin):
    book = make(twin, (1, {"fx": "1.08"}))  # BTC/EUR into USD
    book.apply(1, BID, 101, 1)  # 109.08 -> 109
    book.apply(1, ASK, 102, 1)  # 110.16 -> 111
    assert book.best() == (109, 111)


@pytest.mark.parametrize("rate", ["1.08", Decimal("1.08"), Fraction(27, 25), (27, 25), (54, 50)])
def test_fx_rates_are_exact_in_every_spelling(twin, rate):
    book = make(twin, (1, {"fx": rate}))
    book.apply(1, ASK, 25, 1)
    assert book.best_ask() == 27  # exactly 27.00: not rounded up to 28
    assert book.venue_state(1)["fx"] == Fraction(27, 25)


def test_fx_update_reprices_that_venue_only(twin):
    book = make(twin, (1, {"fx": 1}), 2)
    book.apply(1, BID, 100, 1)
    book.apply(1, BID, 99, 2)
    book.apply(2, BID, 100, 4)
    assert book.set_fx(1, "1.5") == 0
    assert levels(book, BID) == [(150, 1, {1: 1}), (148, 2, {1: 2}), (100, 4, {2: 4})]
    book.set_fx(1, Fraction(1, 2))
    assert levels(book, BID) == [(100, 4, {2: 4}), (50, 1, {1: 1}), (49, 2, {1: 2})]


def test_fx_below_one_merges_venue_levels_on_the_coarser_grid(twin):
    book = make(twin, (1, {"fx": Fraction(1, 3)}))
    for price in (30, 31, 32):
        book.apply(1, BID, price, 1)  # 10, 10.33, 10.67 -> all 10
        book.apply(1, ASK, price + 10, 1)  # 13.33, 13.67, 14 -> 14, 14, 14
    assert levels(book, BID) == [(10, 3, {1: 3})]
    assert levels(book, ASK) == [(14, 3, {1: 3})]
    book.apply(1, BID, 31, 0)
    assert levels(book, BID) == [(10, 2, {1: 2})]


@pytest.mark.parametrize(("rate", "message"), [
    (1.08, "fx: 1.08 is a float"),
    (0, "fx: 0 must be positive"),
    ("-1", "fx: '-1' must be positive"),
    ("abc", "fx: 'abc' is not a number"),
    ((1, 0), "fx: (1, 0) has a zero denominator"),
    (2**64, "within 64 bits"),
])
def test_bad_fx_rates_are_refused_and_change_nothing(twin, rate, message):
    book = make(twin, 1)
    book.apply(1, BID, 100, 1)
    before = fingerprint(book)
    with pytest.raises(InvalidValue, match=message.replace("(", r"\(").replace(")", r"\)")):
        book.set_fx(1, rate)
    assert fingerprint(book) == before


def test_fx_that_pushes_a_level_off_the_grid_changes_nothing(twin):
    book = make(twin, 1)
    book.apply(1, ASK, 2**40, 1)
    book.apply(1, BID, 5, 1)
    before = fingerprint(book)
    with pytest.raises(InvalidValue, match="price: 1099511627776 is above"):
        book.set_fx(1, 2**30)
    assert fingerprint(book) == before


def test_weighted_view_scales_and_rounds_down(twin):
    book = make(twin, (1, {"weight": Fraction(1, 2)}), 2)
    book.apply(1, BID, 100, 5)
    book.apply(2, BID, 100, 4)
    book.apply(1, BID, 99, 1)
    assert levels(book, BID, weighted=True) == [(100, 6, {1: 2, 2: 4})]  # 99: 0.5 -> 0, hidden
    assert levels(book, BID) == [(100, 9, {1: 5, 2: 4}), (99, 1, {1: 1})]
    book.set_weight(2, 0)
    assert levels(book, BID, weighted=True) == [(100, 2, {1: 2})]
    assert book.best_bid() == 100  # weights shape sizes, never which venues are in view
    book.set_weight(1, 0.25)
    assert book.venue_state(1)["weight"] == Fraction(1, 4)


@pytest.mark.parametrize("weight", [1.5, -0.1, "2", float("nan"), "x", None])
def test_bad_weights_are_refused(twin, weight):
    book = make(twin, 1)
    before = fingerprint(book)
    with pytest.raises(InvalidValue, match="^weight: "):
        book.set_weight(1, weight)
    assert fingerprint(book) == before


def test_fee_view_moves_asks_up_and_bids_down(twin):
    book = make(twin, (1, {"taker_fee_bps": 10}), (2, {"taker_fee_bps": 0}))
    book.apply(1, BID, 10_000, 1)  # 10000 * 0.999 = 9990
    book.apply(2, BID, 9_995, 2)
    book.apply(1, ASK, 10_005, 1)  # 10005 * 1.001 = 10015.005 -> 10016
    book.apply(2, ASK, 10_010, 2)
    assert levels(book, BID, fees=True) == [(9_995, 2, {2: 2}), (9_990, 1, {1: 1})]
    assert levels(book, ASK, fees=True) == [(10_010, 2, {2: 2}), (10_016, 1, {1: 1})]
    assert book.best() == (10_000, 10_005)  # the raw view is untouched
    book.set_fee(1, Decimal("2.5"))
    assert levels(book, BID, 1, fees=True) == [(9_997, 1, {1: 1})]  # 9997.5 -> 9997
    assert book.venue_state(1)["taker_fee_bps"] == Fraction(5, 2)


def test_fee_view_merges_levels_landing_on_one_price(twin):
    book = make(twin, (1, {"taker_fee_bps": 100}), 2)
    book.apply(1, BID, 101, 3)  # 99.99 -> 99
    book.apply(2, BID, 99, 4)
    book.apply(2, BID, 100, 1)
    assert levels(book, BID, 1, fees=True) == [(100, 1, {2: 1})]
    assert levels(book, BID, 2, fees=True) == [(100, 1, {2: 1}), (99, 7, {1: 3, 2: 4})]


def test_bad_fees_are_refused(twin):
    book = make(twin, 1)
    for fee in (-1, 10_000, "x"):
        with pytest.raises(InvalidValue, match="^taker_fee_bps: "):
            book.set_fee(1, fee)
    assert book.venue_state(1)["taker_fee_bps"] == 0


def test_min_size_tier_hides_small_levels(twin):
    book = make(twin, 1, 2)
    book.apply(1, ASK, 100, 1)
    book.apply(1, ASK, 101, 5)
    book.apply(2, ASK, 102, 3)
    book.apply(1, ASK, 102, 2)
    assert levels(book, ASK, min_size=5) == [(101, 5, {1: 5}), (102, 5, {1: 2, 2: 3})]
    assert levels(book, ASK, 1, min_size=5) == [(101, 5, {1: 5})]
    assert levels(book, ASK, min_size=6) == []


def test_exclusion_takes_a_venue_out_and_back_incrementally(twin):
    book = make(twin, 1, 2)
    book.apply(1, BID, 101, 1)
    book.apply(2, BID, 100, 2)
    book.exclude_venue(1)
    assert book.best_bid() == 100 and levels(book, BID) == [(100, 2, {2: 2})]
    book.apply(1, BID, 102, 1)  # an excluded venue keeps receiving its feed
    assert book.best_bid() == 100
    book.include_venue(1)
    assert levels(book, BID) == [(102, 1, {1: 1}), (101, 1, {1: 1}), (100, 2, {2: 2})]
    state = book.venue_state(1)
    assert not state["excluded"] and state["active"] and state["bid_levels"] == 2


def test_crossings_are_reported_once_and_drained(twin):
    book = make(twin, 1, 2)
    assert book.apply(1, BID, 100, 1) == 0
    assert book.apply(2, ASK, 101, 1) == 0
    assert book.apply(2, ASK, 100, 1) == twin.CROSSED
    assert book.crossed
    assert book.apply(2, ASK, 99, 1) == 0  # still crossed: no new event
    assert book.crossings() == [twin.Crossing(100, 100, (1,), (2,))]
    assert book.crossings() == []
    book.apply(2, ASK, 99, 0)
    book.apply(2, ASK, 100, 0)
    assert not book.crossed
    book.exclude_venue(2)
    book.apply(2, ASK, 90, 1)
    assert book.crossings() == []
    assert book.include_venue(2) == twin.CROSSED
    assert book.crossings() == [(100, 90, (1,), (2,))]


def test_crossing_through_fx_update(twin):
    book = make(twin, 1, (2, {"fx": 1}))
    book.apply(1, BID, 100, 1)
    book.apply(2, ASK, 95, 1)
    assert book.crossings() == [(100, 95, (1,), (2,))]
    book.set_fx(2, "1.1")  # 104.5 -> 105: uncrossed
    assert not book.crossed
    assert book.set_fx(2, 1) == twin.CROSSED


def test_duplicates_by_venue_and_sequence_are_ignored(twin):
    book = make(twin, 1, 2)
    assert book.apply(1, BID, 100, 1, sequence=7) == 0
    assert book.apply(1, BID, 100, 9, sequence=7) == twin.DUPLICATE
    assert book.apply(1, BID, 100, 9, sequence=6) == twin.DUPLICATE
    assert book.apply(2, BID, 100, 2, sequence=7) == 0  # another venue's sequence
    assert levels(book, BID) == [(100, 3, {1: 1, 2: 2})]
    assert book.venue_state(1)["duplicates"] == 2 and book.venue_state(1)["sequence"] == 7
    assert book.apply(1, BID, 100, 4, sequence=8) == 0
    assert book.apply(1, BID, 99, 4) == 0  # unsequenced changes are never duplicates


def test_apply_many_is_one_message_under_one_sequence(twin):
    book = make(twin, 1)
    sides = np.array([BID, BID, ASK], dtype=np.int64)
    prices = np.array([100, 99, 101], dtype=np.int64)
    sizes = np.array([1, 2, 3], dtype=np.int64)
    assert book.apply_many(1, sides, prices, sizes, sequence=5) == 0
    assert book.apply_many(1, sides, prices, sizes * 0, sequence=5) == twin.DUPLICATE
    assert levels(book, BID) == [(100, 1, {1: 1}), (99, 2, {1: 2})]
    assert book.best_ask() == 101


def test_apply_many_reads_strided_columns_and_long_messages(twin):
    # Columns of one (n, 3) table are strided views; 200 changes pass the stack buffer.
    table = np.array([(i % 2, 1000 + (i if i % 2 else -i), i % 7) for i in range(200)],
                     dtype=np.int64)
    book, by_one = make(twin, 1), make(twin, 1)
    assert book.apply_many(1, table[:, 0], table[:, 1], table[:, 2], sequence=4) == 0
    for side, price, size in table.tolist():
        by_one.apply(1, side, price, size)
    assert fingerprint(book)[:3] == fingerprint(by_one)[:3]
    assert book.venue_state(1)["sequence"] == 4


def test_apply_many_level_overflow_undoes_the_message(twin):
    big = twin.MAX_SIZE // 2 + 1
    book = make(twin, (1, {"fx": Fraction(1, 4)}))
    book.apply(1, BID, 40, big)  # consolidated 10
    book.apply(1, ASK, 90, 3)
    before = fingerprint(book)
    columns = [np.array(c, dtype=np.int64) for c in
               ([ASK, BID, BID, BID], [90, 44, 43, 41], [5, 7, 1, big])]
    with pytest.raises(BookError, match="bid size at consolidated price 10 would exceed"):
        book.apply_many(1, *columns, sequence=2)
    assert fingerprint(book) == before


@pytest.mark.parametrize(("arrays", "message"), [
    ((np.array([0.0]), np.array([1]), np.array([1])), "sides: 'float64 array of shape"),
    ((np.array([0]), [1], np.array([1])), "prices: 'list' must be a 1-D numpy int64 array"),
    ((np.array([0]), np.array([1, 2]), np.array([1])), "prices: 2 entries where sides has 1"),
    ((np.array([0, 2]), np.array([1, 2]), np.array([1, 1])), r"sides\[1\]: 2 is not BID"),
    ((np.array([0, 0]), np.array([1, -2]), np.array([1, 1])), r"prices\[1\]: -2 must be"),
    ((np.array([0, 0]), np.array([1, 2]), np.array([1, -1])), r"sizes\[1\]: -1 must not"),
])
def test_apply_many_refuses_bad_arrays_whole(twin, arrays, message):
    book = make(twin, 1)
    book.apply(1, BID, 1, 9)
    before = fingerprint(book)
    with pytest.raises(InvalidValue, match=message):
        book.apply_many(1, *arrays, sequence=3)
    assert fingerprint(book) == before
    assert book.venue_state(1)["sequence"] is None


def test_snapshot_replaces_a_venues_levels(twin):
    book = make(twin, 1, 2)
    book.apply(1, BID, 90, 1)
    book.apply(2, BID, 95, 1)
    book.apply_snapshot(1, [(100, 2), (99, 0)], np.array([[101, 3]], dtype=np.int64),
                        sequence=10)
    assert levels(book, BID) == [(100, 2, {1: 2}), (95, 1, {2: 1})]
    assert book.best_ask() == 101
    assert book.apply_snapshot(1, [], [], sequence=10) == twin.DUPLICATE
    book.clear_venue(1)  # a resync after a gap: forget the sequence
    assert book.best() == (95, None)
    assert book.apply_snapshot(1, [(80, 1)], [], sequence=3) == 0
    assert book.venue_state(1)["sequence"] == 3


@pytest.mark.parametrize(("bids", "error", "message"), [
    ([(100, 1), (100, 2)], BookError, "bids: price 100 appears twice"),
    ([(100, 1), (0, 2)], InvalidValue, r"bids\[1\]\[0\]: 0 must be positive"),
    ([(100, -1)], InvalidValue, r"bids\[0\]\[1\]: -1 must not be negative"),
    ([(100.5, 1)], InvalidValue, "bids: 'float64 array of shape"),
    ([1, 2], InvalidValue, r"bids: 'int64 array of shape \(2,\)'"),
    (np.array([[1, 2, 3]]), InvalidValue, "must be an int64 array of"),
])
def test_bad_snapshots_change_nothing(twin, bids, error, message):
    book = make(twin, 1)
    book.apply(1, BID, 50, 1, sequence=1)
    before = fingerprint(book)
    with pytest.raises(error, match=message):
        book.apply_snapshot(1, bids, [], sequence=2)
    assert fingerprint(book) == before


def test_a_lagging_venue_leaves_the_view_until_it_catches_up(twin):
    book = make(twin, (1, {"max_lag_ns": 1_000}), 2)
    book.apply(1, BID, 101, 1, event_ns=10_000, receive_ns=10_500)
    book.apply(2, BID, 100, 1)
    assert book.best_bid() == 101 and book.venue_state(1)["lag_ns"] == 500
    book.apply(1, BID, 102, 1, event_ns=20_000, receive_ns=25_000)
    assert book.best_bid() == 100 and book.venue_state(1)["lagging"]
    assert levels(book, BID) == [(100, 1, {2: 1})]
    book.record_lag(1, 30_000, 30_100)  # a heartbeat shows it caught up
    assert book.best_bid() == 102 and not book.venue_state(1)["lagging"]
    book.record_lag(1, 0, 2_000)
    book.set_max_lag(1, None)
    assert book.best_bid() == 102
    book.set_max_lag(1, 1_999)
    assert book.best_bid() == 100


def test_timestamps_come_in_pairs(twin):
    book = make(twin, 1)
    with pytest.raises(InvalidValue, match="receive_ns: None must be given together"):
        book.apply(1, BID, 100, 1, event_ns=5)
    with pytest.raises(InvalidValue, match="receive_ns: 9223372036854775807 minus event_ns"):
        book.apply(1, BID, 100, 1, event_ns=-5, receive_ns=2**63 - 1)
    assert book.best() == (None, None)


@pytest.mark.parametrize(("args", "error", "message"), [
    ((9, BID, 100, 1), BookError, "venue 9 is not registered"),
    (("x", BID, 100, 1), BookError, "venue 'x' is not registered"),
    ((1, 2, 100, 1), InvalidValue, "side: 2 is not BID"),
    ((1, "bid", 100, 1), InvalidValue, "side: 'bid' is not an integer"),
    ((1, BID, 0, 1), InvalidValue, "price: 0 must be positive"),
    ((1, BID, 1.5, 1), InvalidValue, "price: 1.5 is not an integer"),
    ((1, BID, 2**63, 1), InvalidValue, "price: 9223372036854775808 is outside the 64-bit"),
    ((1, BID, 2**62 + 1, 1), InvalidValue, "price: 4611686018427387905 is above"),
    ((1, BID, 100, -1), InvalidValue, "size: -1 must not be negative"),
    ((1, BID, 100, 2**56 + 1), InvalidValue, "size: 72057594037927937 is more than"),
    ((1, BID, 100, 1, -3), InvalidValue, "sequence: -3 must not be negative"),
])
def test_bad_changes_name_the_field_and_change_nothing(twin, args, error, message):
    book = make(twin, 1)
    book.apply(1, BID, 99, 1)
    before = fingerprint(book)
    with pytest.raises(error, match=message):
        book.apply(*args)
    assert fingerprint(book) == before


def test_numpy_integers_are_accepted(twin):
    book = make(twin, 1)
    book.apply(np.int64(1), np.int64(BID), np.int64(100), np.int32(3))
    assert book.best_bid() == 100


def test_level_overflow_is_refused_whole(twin):
    big = twin.MAX_SIZE // 2 + 1
    book = make(twin, (1, {"fx": Fraction(1, 4)}))
    book.apply(1, BID, 40, big)  # 10
    before = fingerprint(book)
    with pytest.raises(BookError, match="bid size at consolidated price 10 would exceed"):
        book.apply(1, BID, 41, big)  # also 10
    assert fingerprint(book) == before
    with pytest.raises(BookError, match="would exceed"):
        book.apply_snapshot(1, [(43, 1), (42, big), (41, big)], [])
    assert fingerprint(book) == before
    book.apply(1, BID, 60, big)  # 15
    before = fingerprint(book)
    with pytest.raises(BookError, match="would exceed"):
        book.set_fx(1, Fraction(1, 100))  # both land on 0
    assert fingerprint(book) == before


@pytest.mark.parametrize(("settings", "message"), [
    ({"venue": -1}, "venue: -1 must be between 0 and 1048575"),
    ({"name": ""}, "name: '' must be a non-empty string"),
    ({"tick_multiplier": 0}, "tick_multiplier: 0 must be positive"),
    ({"lot_multiplier": "2"}, "lot_multiplier: '2' is not an integer"),
    ({"max_lag_ns": -1}, "max_lag_ns: -1 must not be negative"),
    ({"tick_multiplier": 2**40, "fx": 2**40}, "times tick_multiplier 1099511627776 overflows"),
])
def test_bad_venue_settings(twin, settings, message):
    book = twin.ConsolidatedBook()
    args = {"venue": 1, "name": "kraken", **settings}
    with pytest.raises(InvalidValue, match=message):
        book.add_venue(args.pop("venue"), args.pop("name"), **args)
    assert book.venue_ids() == ()


def test_venue_registry_limits(twin):
    book = make(twin, *range(twin.MAX_VENUES))
    with pytest.raises(BookError, match="venue 3 is already registered as 'venue3'"):
        book.add_venue(3, "again")
    with pytest.raises(BookError, match="at most 64 venues"):
        book.add_venue(100, "one too many")
    for venue in range(twin.MAX_VENUES):  # rows widen as venues arrive; all stay attributed
        book.apply(venue, ASK, 1_000 + venue % 3, venue + 1)
    top = book.top_n(ASK, 1)
    assert top.prices.tolist() == [1_000] and top.by_venue[0, 63] == 64
    assert top.sizes[0] == sum(v + 1 for v in range(0, 64, 3))


def test_rows_widen_while_levels_exist(twin):
    book = make(twin, 0)
    book.apply(0, BID, 10, 1)
    for venue in range(1, 20):
        book.add_venue(venue, f"v{venue}")
        book.apply(venue, BID, 10, venue)
    assert levels(book, BID) == [(10, 191, {v: max(v, 1) for v in range(20)})]


def test_many_changes_keep_pure_and_compiled_in_step(twin):
    """A long seeded run through the hash maps' growth, deletion and the best walks."""
    pure = core.load("consolidated", compiled=False)
    rng = np.random.default_rng(7)
    books = [make(m, 1, (2, {"fx": "0.97"}), 3) for m in (twin, pure)]
    for _ in range(3_000):
        venue, side = int(rng.integers(1, 4)), int(rng.integers(0, 2))
        price = int(rng.integers(900, 1_100)) + (0 if side == BID else 150)
        size = int(rng.integers(0, 3)) * int(rng.integers(1, 50))
        flags = [b.apply(venue, side, price, size) for b in books]
        assert flags[0] == flags[1]
    assert fingerprint(books[0]) == fingerprint(books[1])


def test_weights_are_kept_in_billionths(twin):
    book = make(twin, (1, {"weight": Fraction(1, 3)}))
    assert book.venue_state(1)["weight"] == Fraction(333_333_333, 10**9)
    book.apply(1, BID, 100, 3)
    assert levels(book, BID, weighted=True) == []  # 3 * 0.333333333 rounds down to 0
