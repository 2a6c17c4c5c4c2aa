"""The xemm strategy on the host's real Market: quote prices from the hedge venues' books and
the round trip's costs, hedge orders from maker fills, bad options."""

import numpy as np
import pytest
from liqframe_xemm import CrossExchange

from liqframe.errors import InvalidValue
from liqframe.host.books import Market
from liqframe.host.portfolio import Portfolio
from liqframe.interfaces import FillAwareStrategy, QuotingStrategy
from liqframe.model import Fill, Instrument, ParentOrder, Side

USDT = Instrument(base="BTC", quote="USDT", price_increment="0.01", size_increment="0.00001")
VENUES = ["m", "h1", "h2"]
FEES = {"venue_maker_fees_bps": {"m": "1", "h1": "0", "h2": "0"},
        "venue_taker_fees_bps": {"m": "9", "h1": "5", "h2": "7"}}


def market(books):
    symbols = {v: ["BTC/USDT"] for v in VENUES}
    state = Market({"BTC/USDT": USDT}, symbols, Portfolio({"BTC/USDT": USDT}, symbols))
    for venue, (bid, ask) in books.items():
        state.health[venue].status = "up"
        state.books[(venue, "BTC/USDT")].apply_snapshot(
            np.array([bid]), np.array([10]), np.array([ask]), np.array([10]), sequence=1)
    return state


def strategy(**options):
    return CrossExchange(symbol="BTC/USDT", venues=VENUES, **{"maker_venue": "m", **FEES,
                                                              **options})


def test_quotes_the_best_hedge_prices_less_the_round_trip_costs():
    xemm = strategy(size_lots=500, margin_bps="3")
    assert isinstance(xemm, QuotingStrategy) and isinstance(xemm, FillAwareStrategy)
    state = market({"m": (50_000, 70_000), "h1": (6_000_000, 6_000_400),
                    "h2": (6_000_100, 6_000_300)})
    [quote] = xemm.quotes(state)
    # costs: maker 1 on m + the dearest hedge taker fee 7 + margin 3 = 11 bps
    assert quote.venue == "m" and quote.bid_size == quote.ask_size == 500
    assert quote.bid_price == 6_000_100 * 9989 // 10000  # floor(5993499.89)
    assert quote.ask_price == -(-6_000_300 * 10011 // 10000)  # ceil(6006900.33)


def test_no_hedge_side_no_quote_side():
    xemm = strategy()
    state = market({"m": (1, 2)})
    assert xemm.quotes(state) == []  # h1 and h2 are not up: nothing to hedge on


def test_a_maker_fill_becomes_a_routed_hedge_and_other_fills_do_not():
    xemm = strategy(max_slippage_bps="10")
    bought = Fill(order_id="o", venue="m", symbol="BTC/USDT", side="buy", price=6_000_000,
                  size=700, liquidity="maker", trade_id="t1")
    [hedge] = xemm.on_fill(bought, None)
    assert hedge == ParentOrder(symbol="BTC/USDT", side=Side.ASK, size=700,
                                limit_price=5_994_000, venues=("h1", "h2"),
                                tag="xemm hedge of m t1")
    sold = Fill(order_id="o", venue="m", symbol="BTC/USDT", side="sell", price=6_000_000,
                size=3, liquidity="maker", trade_id="t2")
    [hedge] = xemm.on_fill(sold, None)
    assert hedge.side is Side.BID and hedge.limit_price == 6_006_000
    elsewhere = Fill(order_id="c", venue="h1", symbol="BTC/USDT", side="sell",
                     price=6_000_000, size=700, trade_id="t3")
    assert xemm.on_fill(elsewhere, None) == []


@pytest.mark.parametrize("options, name", [
    ({"maker_venue": "x"}, "maker_venue"), ({"maker_venue": None}, "maker_venue"),
    ({"hedge_venues": ["m"]}, "hedge_venues"), ({"hedge_venues": []}, "hedge_venues"),
    ({"size_lots": 0}, "size_lots"), ({"margin_bps": "-1"}, "margin_bps"),
    ({"max_slippage_bps": 0.5}, "max_slippage_bps")])
def test_bad_options_name_the_parameter(options, name):
    with pytest.raises(InvalidValue) as info:
        strategy(**options)
    assert info.value.field == name
