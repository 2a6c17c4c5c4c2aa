"""Checksum vectors from the exchanges' documentation and client tests, and the number
formats the checksums print (tests/data/derived/checksum_vectors.json)."""

import json
from pathlib import Path

import numpy as np
import pytest

from liqframe._core import checksum
from liqframe._core.fixed import to_units
from liqframe.errors import BookError
from liqframe.testing.twins import twin_modules

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
def test_okx_documentation_examples(twin, case):
    book = book_of(twin, case["bids"], case["asks"], 1, 0)
    text = checksum.interleaved_text(book, checksum.trimmed_text(1), checksum.trimmed_text(0))
    assert text == case["checksum_string"]
    assert checksum.okx_checksum(book, 1, 0) == case["checksum_signed_int32"]


@twins
def test_kraken_v2_documentation_example(twin):
    case = VECTORS["kraken_ws_v2_book_doc_example"]
    price_decimals, size_decimals = case["price_precision"], case["qty_precision"]
    book = book_of(twin, case["bids"], case["asks"], price_decimals, size_decimals)
    computed = checksum.kraken_checksum(book, price_decimals, size_decimals)
    assert computed == case["checksum_unsigned"]


@twins
def test_kraken_prints_more_places_than_the_book_holds(twin):
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
def test_bitfinex_client_cases(twin, case):
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
def test_javascript_number_strings(text, expected):
    assert checksum.js_text(8)(to_units(text, 8)) == expected


def test_javascript_number_strings_past_1e21():
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
def test_fixed_and_trimmed_strings(units, decimals, places, fixed, trimmed):
    assert checksum.fixed_text(decimals, places)(units) == fixed
    assert checksum.trimmed_text(decimals)(units) == trimmed


@twins
def test_one_sided_and_empty_books(twin):
    """Past the end of one side, the other side's levels follow on their own."""
    book = book_of(twin, [("3", "1"), ("2", "1"), ("1", "1")], [("4", "2")], 0, 0)
    text = checksum.interleaved_text(book, str, str)
    assert text == "3:1:4:2:2:1:1:1"
    empty = twin.L2Book()
    assert checksum.interleaved_text(empty, str, str) == ""
    assert checksum.okx_checksum(empty, 0, 0) == 0
    assert checksum.kraken_checksum(empty, 0, 0) == 0
