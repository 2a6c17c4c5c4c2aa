"""Value types: frozen, keyword-only, exact decimal conversion, errors naming the field."""

from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from liqframe.errors import InvalidValue
from liqframe.model import (
    Balance,
    BookDelta,
    Fill,
    Instrument,
    Order,
    OrderStatus,
    Quote,
    Side,
    Transfer,
    Venue,
)

BTC = Instrument(base="BTC", quote="USDT", price_increment="0.01", size_increment="0.00001")


def test_frozen_and_keyword_only():
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        BTC.base = "ETH"
    with pytest.raises(TypeError):
        Instrument("BTC", "USDT", "0.01", "0.1")


@pytest.mark.parametrize(("increment", "text", "ticks"), [
    ("0.01", "61512.37", 6151237), ("0.5", "100.5", 201), ("25", "1000", 40),
    ("0.00000001", "0.00000007", 7), ("1", "7e3", 7000), ("0.1", b"12.30", 123),
])
def test_price_ticks(increment, text, ticks):
    instrument = Instrument(base="A", quote="B", price_increment=increment, size_increment="1")
    assert instrument.price_ticks(text) == ticks


@pytest.mark.parametrize(("text", "problem"), [
    ("61512.375", "is off the grid of increment 0.01"),
    ("-1", "must not be negative"),
    ("nan", "is not a decimal number"),
    ("1e400", "out of the 64-bit range"),
    (61512.37, "must be a decimal string, not a float"),
])
def test_bad_prices_name_field_and_value(text, problem):
    with pytest.raises(InvalidValue) as info:
        BTC.price_ticks(text, field="bids[0].price")
    assert info.value.field == "bids[0].price" and info.value.value == text
    assert problem in str(info.value) and str(info.value).startswith("bids[0].price: ")


def test_off_grid_for_non_decimal_increment():
    half = Instrument(base="A", quote="B", price_increment="0.5", size_increment="1")
    with pytest.raises(InvalidValue, match="off the grid of increment 0.5"):
        half.price_ticks("100.2")


@given(ticks=st.integers(0, 10**15),
       increment=st.sampled_from(["0.01", "0.5", "25", "0.00001", "1", "0.25"]))
def test_round_trip_matches_decimal(ticks, increment):
    instrument = Instrument(base="A", quote="B", price_increment=increment, size_increment="1")
    text = instrument.price_text(ticks)
    assert Decimal(text) == Decimal(increment) * ticks
    assert instrument.price_ticks(text) == ticks


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"price_increment": "0"}, "price_increment"),
    ({"price_increment": "-0.1"}, "price_increment"),
    ({"size_increment": "x"}, "size_increment"),
    ({"size_increment": 0.1}, "size_increment"),
    ({"base": ""}, "base"),
])
def test_bad_instruments(kwargs, field):
    with pytest.raises(InvalidValue) as info:
        Instrument(**{"base": "A", "quote": "B", "price_increment": "0.01",
                      "size_increment": "1", **kwargs})
    assert info.value.field == field


def test_value_types_validate():
    assert Side.parse("sell") is Side.ASK
    with pytest.raises(InvalidValue, match="side: 'sideways'"):
        Side.parse("sideways")
    with pytest.raises(InvalidValue, match="size: -1 must not be negative"):
        BookDelta(venue="a", symbol="BTC/USDT", side="bid", price=1, size=-1)
    with pytest.raises(InvalidValue, match="price: None is required for a limit order"):
        Order(id="1", venue="a", symbol="S", side="buy", size=1)
    with pytest.raises(InvalidValue, match="filled: 3 exceeds the order size 2"):
        Order(id="1", venue="a", symbol="S", side="buy", size=2, price=5, filled=3)
    assert Order(id="1", venue="a", symbol="S", side="buy", size=2, price=5,
                 status="filled").status is OrderStatus.FILLED
    with pytest.raises(InvalidValue, match="bid_price: 10 must be below ask_price 10"):
        Quote(venue="a", symbol="S", bid_price=10, ask_price=10)
    with pytest.raises(InvalidValue, match="available: 5 exceeds total 4"):
        Balance(venue="a", asset="BTC", total=4, available=5)
    with pytest.raises(InvalidValue, match="destination: 'a' is the same as source"):
        Transfer(id="t", asset="BTC", amount=1, source="a", destination="a")
    with pytest.raises(InvalidValue, match="taker_fee_bps"):
        Venue(name="a", connector="c", taker_fee_bps=0.1)
    assert Venue(name="a", connector="c", maker_fee_bps="-0.5").maker_fee_bps == Decimal("-0.5")
    with pytest.raises(InvalidValue, match="fee: 'x' is not a decimal number"):
        Fill(order_id="1", venue="a", symbol="S", side="buy", price=1, size=1, fee="x")
