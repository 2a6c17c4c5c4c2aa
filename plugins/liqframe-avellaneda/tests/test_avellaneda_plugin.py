import math

import pytest
from liqframe_avellaneda import GLFT, AvellanedaStoikov

from liqframe.errors import InvalidValue
from liqframe.interfaces import QuotingStrategy


class State:
    """A plain market state: one mid, inventory per venue."""

    def __init__(self, mid, held=None):
        self._mid, self.held = mid, held or {}

    def best(self, venue, symbol):
        return None, None

    def mid(self, symbol):
        return self._mid

    def inventory(self, venue, asset):
        return self.held.get(venue, 0)


AS = dict(symbol="BTC/USDT", venues=["a"], gamma=0.1, k=1.5, sigma=2.0, horizon_seconds=1.0)
GL = dict(symbol="BTC/USDT", venues=["a"], gamma=0.1, k=1.5, A=140.0, sigma=2.0,
          max_inventory=3)


def test_registered_through_their_entry_point(liqframe_registry):
    registry = liqframe_registry(autoload=True)
    assert registry.resolve("strategy", "avellaneda-stoikov", "t") is AvellanedaStoikov
    assert registry.resolve("strategy", "glft", "t") is GLFT


def test_avellaneda_stoikov_quotes_around_the_reservation_price():
    strategy = AvellanedaStoikov(**(AS | {"gamma": 0.1, "sigma": 20.0, "k": 0.015}))
    assert isinstance(strategy, QuotingStrategy)
    # Long 2: reservation = 10000 - 2·0.1·400·1 = 9920; spread = 40 + 20·ln(1 + 0.1/0.015).
    spread = 40 + 20 * math.log(1 + 0.1 / 0.015)
    [quote] = strategy.quotes(State(10_000, {"a": 2}))
    assert quote.bid_price == math.floor(9920 - spread / 2)
    assert quote.ask_price == math.ceil(9920 + spread / 2)
    [flat] = strategy.quotes(State(10_000))
    assert flat.bid_price - 10_000 == -(flat.ask_price - 10_000)


def test_inventory_unit_turns_holdings_into_lots():
    strategy = AvellanedaStoikov(**(AS | {"sigma": 20.0, "k": 0.015, "inventory_unit": 100}))
    held = strategy.quotes(State(10_000, {"a": 250}))
    lots = AvellanedaStoikov(**(AS | {"sigma": 20.0, "k": 0.015})).quotes(
        State(10_000, {"a": 2}))
    assert held == lots


def test_glft_drops_the_side_beyond_the_bound():
    strategy = GLFT(**(GL | {"sigma": 200.0, "k": 0.015, "A": 1.4}))
    [long] = strategy.quotes(State(10_000, {"a": 3}))
    assert long.bid_price is None and long.bid_size == 0 and long.ask_price is not None
    [short] = strategy.quotes(State(10_000, {"a": -5}))  # beyond the bound: treated as -3
    assert short.ask_price is None and short.bid_price is not None
    [flat] = strategy.quotes(State(10_000))
    assert flat.bid_price < 10_000 < flat.ask_price
    assert 10_000 - flat.bid_price == flat.ask_price - 10_000


def test_glft_skews_against_inventory():
    strategy = GLFT(**(GL | {"sigma": 200.0, "k": 0.015, "A": 1.4, "max_inventory": 10}))
    [flat] = strategy.quotes(State(10_000))
    [long] = strategy.quotes(State(10_000, {"a": 4}))
    assert long.bid_price < flat.bid_price and long.ask_price < flat.ask_price


def test_no_mid_no_quotes():
    assert AvellanedaStoikov(**AS).quotes(State(None)) == []


def test_a_large_long_position_offers_below_the_mid():
    strategy = AvellanedaStoikov(**(AS | {"sigma": 5.0, "k": 1.0}))
    # Long 50: reservation 10000 - 50·0.1·25 = 9875; half spread (2.5 + 20·ln 1.1)/2 = 2.203.
    [quote] = strategy.quotes(State(10_000, {"a": 50}))
    assert (quote.bid_price, quote.ask_price) == (9872, 9878)


def test_no_price_at_or_below_zero():
    strategy = AvellanedaStoikov(**(AS | {"sigma": 50.0, "k": 1.0}))
    assert strategy.quotes(State(10_000, {"a": 50})) == []  # reservation 10000 - 12500
    [quote] = strategy.quotes(State(100))  # half spread (250 + 20·ln 1.1)/2 = 125.6
    assert (quote.bid_price, quote.bid_size, quote.ask_price) == (None, 0, 226)


@pytest.mark.parametrize(("cls", "base", "field", "value"), [
    (AvellanedaStoikov, AS, "gamma", -0.1), (AvellanedaStoikov, AS, "k", 0),
    (AvellanedaStoikov, AS, "sigma", -1), (AvellanedaStoikov, AS, "horizon_seconds", -1),
    (AvellanedaStoikov, AS, "size_lots", 0), (GLFT, GL, "gamma", -1), (GLFT, GL, "k", 0),
    (GLFT, GL, "A", 0), (GLFT, GL, "max_inventory", 0), (GLFT, GL, "inventory_unit", 0),
])
def test_bad_parameters_name_the_parameter(cls, base, field, value):
    with pytest.raises(InvalidValue) as caught:
        cls(**(base | {field: value}))
    assert caught.value.field == field
