"""LevelBatch: a message's levels parsed from decimal strings into int64 columns, both twins."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqframe._core.fixed import to_units
from liqframe.errors import InvalidValue
from liqframe.testing.twins import resolve_twin, twin_modules

twins = pytest.mark.parametrize("twin", twin_modules("levels"), indirect=True)
MODULES = [resolve_twin(param.values[0]) for param in twin_modules("levels")]


def columns(batch):
    return [column.tolist() for column in batch.columns()]


@twins
def test_kraken_style_entries_in_order(twin):
    batch = twin.LevelBatch(5, 8)
    assert batch.add(1, [["5541.30000", "2.50700000", "1534614248.456738"]]) == 1
    assert batch.add(0, [["5541.2", "1"], ["5540", "0", "1534614248.1", "r"]]) == 2
    assert len(batch) == batch.count == 3
    assert columns(batch) == [[1, 0, 0], [554130000, 554120000, 554000000],
                              [250700000, 100000000, 0]]
    assert batch.changes() == [(1, 554130000, 250700000), (0, 554120000, 100000000),
                               (0, 554000000, 0)]
    assert batch.levels(0) == [(554120000, 100000000), (554000000, 0)]
    prices, sizes = batch.side_columns(1)
    assert prices.dtype == sizes.dtype == np.int64
    assert (prices.tolist(), sizes.tolist()) == ([554130000], [250700000])
    batch.clear()
    assert len(batch) == 0 and batch.changes() == [] and columns(batch) == [[], [], []]


@twins
def test_keyed_entries_and_sides_read_from_each_entry(twin):
    """Coinbase: objects with the side in each; Kraken v2: objects with price and qty."""
    batch = twin.LevelBatch(2, 3)
    updates = [{"side": "bid", "price_level": "10.5", "new_quantity": "0.001"},
               {"side": "offer", "price_level": "10.75", "new_quantity": "0"}]
    assert batch.add_sided(updates, "side", {"bid": 0, "offer": 1}, "price_level",
                           "new_quantity") == 2
    batch.add(0, [{"price": "9.99", "qty": "2"}], "price", "qty")
    batch.add(1, [("11", "1")])  # tuples as well as lists
    assert batch.changes() == [(0, 1050, 1), (1, 1075, 0), (0, 999, 2000), (1, 1100, 1000)]


@twins
def test_increments_other_than_one_unit(twin):
    """A 0.5 tick is decimals 1, step 5: prices count half units, off-grid ones are refused."""
    batch = twin.LevelBatch(1, 0, 5, 25)
    batch.add(0, [["100.5", "50"], ["7", "0"]])
    assert batch.changes() == [(0, 201, 2), (0, 14, 0)]
    with pytest.raises(InvalidValue, match=r"price: '100.2' is off the grid of step 5e-1"):
        batch.add(0, [["100.2", "25"]])
    with pytest.raises(InvalidValue, match=r"size: '30' is off the grid of step 25e-0"):
        batch.add(0, [["100", "30"]])


@twins
@pytest.mark.parametrize(("entry", "error", "message"), [
    (["abc", "1"], InvalidValue, "price: 'abc' is not a decimal number"),
    (["1.001", "1"], InvalidValue, "price: '1.001' has more than 2 decimal places"),
    (["1", "1e30"], InvalidValue, "size: '1e30' is out of the 64-bit range at 8 decimal places"),
    (["1", ""], InvalidValue, "size: '' is not a decimal number"),
    (["1", "\ud800"], InvalidValue, "size: '\\\\ud800' is not a decimal number"),
    ([1.5, "1"], TypeError, "price: expected a decimal string, got float"),
    (["1", None], TypeError, "size: expected a decimal string, got NoneType"),
    (["1"], IndexError, None),
    ({"p": "1"}, KeyError, None),
])
def test_bad_entries_name_the_field_and_leave_the_batch(twin, entry, error, message):
    batch = twin.LevelBatch(2, 8)
    batch.add(0, [["1", "1"]])
    with pytest.raises(error, match=message):
        batch.add(1, [["2", "2"], entry])
    assert batch.changes() == [(0, 100, 100000000)]


@twins
def test_bad_sides_and_grids(twin):
    batch = twin.LevelBatch(0, 0)
    for side in (2, -1, True, "0", 0.0):
        with pytest.raises(InvalidValue, match="side: .* is not BID"):
            batch.add(side, [["1", "1"]])
    with pytest.raises(InvalidValue, match="side: 7 is not BID"):
        batch.add_sided([{"s": "x", "p": "1", "q": "1"}], "s", {"x": 7}, "p", "q")
    with pytest.raises(KeyError):
        batch.add_sided([{"s": "y", "p": "1", "q": "1"}], "s", {"x": 0}, "p", "q")
    assert len(batch) == 0
    for args in ((19, 0), (0, -1), (1.0, 0), (0, 0, 0), (0, 0, 1, 2.5)):
        with pytest.raises(ValueError, match="must be"):
            twin.LevelBatch(*args)


@twins
def test_growing_past_any_capacity(twin):
    """Snapshots of thousands of levels; views handed out before growth stay correct."""
    batch = twin.LevelBatch(0, 0)
    batch.add(0, [["1", "1"]])
    small = batch.columns()
    entries = [[str(i), str(i % 7)] for i in range(1, 3001)]
    batch.add(1, entries)
    assert small[1].tolist() == [1]
    sides, prices, sizes = batch.columns()
    assert len(sides) == 3001 and prices[-1] == 3000 and sizes[-1] == 3000 % 7
    batch.clear()
    for n in (1, 2, 1, 63, 64, 65):
        batch.clear()
        batch.add(0, entries[:n])
        assert batch.columns()[1].tolist() == list(range(1, n + 1))


decimal_text = st.one_of(
    st.from_regex(r"\A[+-]?[0-9]{0,12}(\.[0-9]{0,12})?([eE][+-]?[0-9]{1,3})?\Z"),
    st.decimals(allow_nan=False, allow_infinity=False, places=10).map(str),
    st.text(alphabet="0123456789.e-+ x", max_size=12),
    st.from_regex(r"\A[0-9]{0,19}\.?[0-9]{0,19}\Z"),
)


def outcome(call):
    try:
        return "ok", call()
    except (ValueError, TypeError, KeyError, IndexError) as error:
        return type(error).__name__, str(error)


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.tuples(decimal_text, decimal_text), max_size=6),
       decimals=st.integers(0, 18), step=st.sampled_from([1, 1, 5, 25]),
       side=st.sampled_from([0, 1]))
def test_twins_agree_with_each_other_and_with_to_units(texts, decimals, step, side):
    entries = [list(pair) for pair in texts]
    results = []
    for module in MODULES:
        batch = module.LevelBatch(decimals, 8, step, 1)
        batch.add(side, [["0", "1"]])
        results.append((outcome(lambda b=batch: b.add(side, entries)), batch.changes()))
    assert all(result == results[0] for result in results)
    (kind, _), changes = results[0]
    if kind == "ok":
        expected = [(side, to_units(p, decimals) // step, to_units(s, 8)) for p, s in texts]
        assert changes[1:] == expected
    else:
        assert changes == [(side, 0, 10**8)]
