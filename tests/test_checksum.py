"""Checksum vectors from the exchanges' documentation and client tests, and the number
formats the checksums print (tests/data/derived/checksum_vectors.json)."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqframe._core.fixed import to_units
from liqframe.errors import BookError
from liqframe.testing.twins import resolve_twin, twin_modules


@pytest.fixture(params=twin_modules("checksum"))
def checksum(request):
    """Each twin of the checksum module (the pure one, and the compiled one when built)."""
    return resolve_twin(request.param)

VECTORS = json.loads(
    (Path(__file__).parent / "data" / "derived" / "checksum_vectors.json").read_text(),
    parse_float=str,  # keep the numbers exactly as written ("7e-7")
)

twins = pytest.mark.parametrize("twin", twin_modules("book"), indirect=True)


def book_of(twin, bids, asks, price_decimals, size_decimals):
    book = twin.L2Book()

    def arrays(levels):
        prices = [to_units(str(level[0]), price_decimals) for level in levels]
        sizes = [to_units(str(level[1]), size_decimals) for level in levels]
        return np.array(prices, dtype=np.int64), np.array(sizes, dtype=np.int64)

    book.apply_snapshot(*arrays(bids), *arrays(asks))
    return book


@twins
@pytest.mark.parametrize("case", VECTORS["okx_books_doc_examples"]["cases"])
def test_okx_documentation_examples(twin, case, checksum):
    book = book_of(twin, case["bids"], case["asks"], 1, 0)
    text = checksum.interleaved_text(book, checksum.trimmed_text(1), checksum.trimmed_text(0))
    assert text == case["checksum_string"]
    assert checksum.okx_checksum(book, 1, 0) == case["checksum_signed_int32"]


@twins
def test_kraken_v2_documentation_example(twin, checksum):
    case = VECTORS["kraken_ws_v2_book_doc_example"]
    price_decimals, size_decimals = case["price_precision"], case["qty_precision"]
    book = book_of(twin, case["bids"], case["asks"], price_decimals, size_decimals)
    computed = checksum.kraken_checksum(book, price_decimals, size_decimals)
    assert computed == case["checksum_unsigned"]


@twins
def test_kraken_prints_more_places_than_the_book_holds(twin, checksum):
    """A v1 book printing 8 places for a 0.1 tick gives the same string as a book at 8."""
    case = VECTORS["kraken_ws_v2_book_doc_example"]
    coarse = book_of(twin, case["bids"], case["asks"], 1, 8)
    fine = book_of(twin, case["bids"], case["asks"], 8, 8)
    assert checksum.kraken_text(coarse, 1, 8, price_places=8) == checksum.kraken_text(fine, 8, 8)
    with pytest.raises(BookError, match="places: 0 is fewer than the book's 1 decimals"):
        checksum.kraken_text(coarse, 1, 8, price_places=0)


def bitfinex_book(twin, case):
    """Replay a Bitfinex P0 case: ``[price, count, amount]``, amount > 0 a bid, count 0 a
    delete (amount 1 on the bid side, -1 on the ask side)."""
    snapshot = case["snapshot"]
    bids = [(price, amount) for price, _, amount in snapshot if float(amount) > 0]
    asks = [(price, str(amount).lstrip("-")) for price, _, amount in snapshot if float(amount) < 0]
    book = book_of(twin, bids, asks, 8, 8)
    for price, count, amount in case["updates"]:
        side = twin.BID if float(amount) > 0 else twin.ASK
        size = 0 if count == 0 else to_units(str(amount).lstrip("-"), 8)
        book.apply(side, to_units(str(price), 8), size)
    return book


@twins
@pytest.mark.parametrize(
    "case", VECTORS["bitfinex_p0_book_cases"]["cases"], ids=lambda c: c["symbol"]
)
def test_bitfinex_client_cases(twin, case, checksum):
    book = bitfinex_book(twin, case)
    assert checksum.bitfinex_checksum(book, 8, 8) == case["checksum_signed_int32"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.0000886", "0.0000886"),
        ("7e-7", "7e-7"),
        ("6.6e-7", "6.6e-7"),
        ("0.000001", "0.000001"),  # the last plain form: 1e-6
        ("1e-8", "1e-8"),
        ("1000", "1000"),
        ("1060.55466114", "1060.55466114"),
        ("-481.8549041", "-481.8549041"),
        ("0", "0"),
        ("0.1", "0.1"),
    ],
)
def test_javascript_number_strings(text, expected, checksum):
    assert checksum.js_text(8)(to_units(text, 8)) == expected


def test_javascript_number_strings_past_1e21(checksum):
    assert checksum.js_text(0)(10**21) == "1e+21"
    assert checksum.js_text(0)(123 * 10**20) == "1.23e+22"
    assert checksum.js_text(0)(10**20) == "100000000000000000000"


@pytest.mark.parametrize(
    ("units", "decimals", "places", "fixed", "trimmed"),
    [
        (30261, 0, None, "30261", "30261"),
        (302610, 1, None, "30261.0", "30261"),
        (3040, 3, None, "3.040", "3.04"),
        (59, 3, None, "0.059", "0.059"),
        (35415, 2, 8, "354.15000000", "354.15"),
        (-5, 2, None, "-0.05", "-0.05"),
    ],
)
def test_fixed_and_trimmed_strings(units, decimals, places, fixed, trimmed, checksum):
    assert checksum.fixed_text(decimals, places)(units) == fixed
    assert checksum.trimmed_text(decimals)(units) == trimmed


@twins
def test_one_sided_and_empty_books(twin, checksum):
    """Past the end of one side, the other side's levels follow on their own."""
    book = book_of(twin, [("3", "1"), ("2", "1"), ("1", "1")], [("4", "2")], 0, 0)
    text = checksum.interleaved_text(book, str, str)
    assert text == "3:1:4:2:2:1:1:1"
    empty = twin.L2Book()
    assert checksum.interleaved_text(empty, str, str) == ""
    assert checksum.okx_checksum(empty, 0, 0) == 0
    assert checksum.kraken_checksum(empty, 0, 0) == 0


CHECKSUM_TWINS = [resolve_twin(param.values[0]) for param in twin_modules("checksum")]
BOOK_TWINS = [resolve_twin(param.values[0]) for param in twin_modules("book")]
PUBLIC = ["BID", "ASK", "fixed_text", "trimmed_text", "js_text", "interleaved_text",
          "interleaved_checksum", "kraken_text", "kraken_checksum", "okx_checksum",
          "bitget_checksum", "bitfinex_checksum"]


def test_twins_have_the_same_functions():
    for module in CHECKSUM_TWINS:
        assert all(callable(getattr(module, name)) or name in ("BID", "ASK") for name in PUBLIC)


def outcome(function, *args):
    try:
        return function(*args)
    except (BookError, ValueError) as error:
        return type(error).__name__, str(error)


# Prices and sizes from one unit up to the int64 edge: tiny values print in exponent form in
# JavaScript, huge ones past 1e21.
sizes = st.one_of(st.integers(1, 10**6), st.integers(1, 2**63 - 1),
                  st.sampled_from([1, 7, 66, 10**8, 10**21 // 10**8, 2**63 - 1]))
prices = st.one_of(st.integers(1, 10**6), st.integers(1, 2**62 - 1),
                   st.sampled_from([1, 7, 66, 10**8, 10**13]))
levels = st.dictionaries(prices, sizes, max_size=40)


@settings(max_examples=300, deadline=None)
@given(bids=levels, asks=levels, price_decimals=st.integers(0, 18),
       size_decimals=st.integers(0, 18), extra=st.tuples(st.integers(-1, 12), st.integers(0, 3)),
       depth=st.sampled_from([0, 1, 10, 25, 100]))
def test_twins_agree_on_any_book(bids, asks, price_decimals, size_decimals, extra, depth):
    """Every checksum and the Kraken string are the same from both twins, on either book."""
    results = []
    for book_module in BOOK_TWINS:
        book = book_module.L2Book()

        def side(levels):
            return (np.array(list(levels), dtype=np.int64),
                    np.array(list(levels.values()), dtype=np.int64))

        above = max(bids, default=0)  # asks priced above every bid: no crossed snapshot
        book.apply_snapshot(*side(bids), *side({p + above: s for p, s in asks.items()}))
        places = (price_decimals + extra[0], size_decimals + extra[1])
        decimals = (price_decimals, size_decimals)
        for m in CHECKSUM_TWINS:
            results.append([
                outcome(m.kraken_text, book, *decimals, *places, depth),
                outcome(m.kraken_checksum, book, *decimals, None, None, depth),
                outcome(m.okx_checksum, book, *decimals, depth),
                outcome(m.bitget_checksum, book, *decimals, *places, depth),
                outcome(m.bitfinex_checksum, book, *decimals, depth),
            ])
    assert all(result == results[0] for result in results)
