import pytest
from liqframe_fixedspread import FixedSpread

from liqframe.interfaces import QuotingStrategy


class State:
    def __init__(self, mid, held=None):
        self._mid, self.held = mid, held or {}

    def mid(self, symbol):
        return self._mid

    def inventory(self, venue, asset):
        return self.held.get(venue, 0)


def test_registered_through_its_entry_point(liqframe_registry):
    registry = liqframe_registry(autoload=True)
    assert registry.resolve("strategy", "fixedspread", "test") is FixedSpread


def test_quotes_half_the_spread_either_side():
    strategy = FixedSpread(symbol="BTC/USDT", venues=["a", "b"], spread_bps="10", size_lots=5)
    assert isinstance(strategy, QuotingStrategy)
    # mid 6,000,000 ticks (60,000.00 USDT): 10 bps is 6,000 ticks, 3,000 a side.
    quotes = strategy.quotes(State(6_000_000))
    assert [(q.venue, q.bid_price, q.ask_price, q.bid_size) for q in quotes] == [
        ("a", 5_997_000, 6_003_000, 5), ("b", 5_997_000, 6_003_000, 5)]


def test_rounds_away_from_mid_and_keeps_one_tick():
    strategy = FixedSpread(symbol="BTC/USDT", venues=["a"], spread_bps="1")
    [quote] = strategy.quotes(State(100))  # 1 bp of 100 ticks is 0.005 ticks a side
    assert (quote.bid_price, quote.ask_price) == (99, 101)


def test_skews_against_inventory():
    strategy = FixedSpread(symbol="BTC/USDT", venues=["long", "short"], spread_bps="10",
                           skew_ticks_per_lot="0.5")
    quotes = strategy.quotes(State(6_000_000, {"long": 100, "short": -100}))
    assert [(q.bid_price, q.ask_price) for q in quotes] == [
        (5_996_950, 6_002_950), (5_997_050, 6_003_050)]


def test_no_mid_no_quotes():
    assert FixedSpread(symbol="BTC/USDT", venues=["a"]).quotes(State(None)) == []


@pytest.mark.parametrize(("options", "field"), [
    ({"spread_bps": "0"}, "spread_bps"), ({"spread_bps": 1.5}, "spread_bps"),
    ({"size_lots": 0}, "size_lots"), ({"skew_ticks_per_lot": "-1"}, "skew_ticks_per_lot"),
])
def test_bad_options_name_the_field(options, field):
    with pytest.raises(ValueError, match=field):
        FixedSpread(symbol="BTC/USDT", venues=["a"], **options)
