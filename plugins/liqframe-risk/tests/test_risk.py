"""Unit tests of the risk models: the EWMA recursion against values worked by hand, quote
scaling, venue-health weights over time, exposure against a real host Market, bad options."""

import math
from decimal import Decimal

import numpy as np
import pytest
from liqframe_risk import EwmaVolatility, Exposure, VenueHealthWeights

from liqframe import config
from liqframe.builtin.risk import Limits
from liqframe.errors import ConfigError, InvalidValue
from liqframe.host import build_components
from liqframe.host.books import Market
from liqframe.host.portfolio import Portfolio
from liqframe.model import Balance, Instrument, Order, Quote
from liqframe.plugins import Registry, get_plugin_manager

SECOND = 10**9
USDT = Instrument(base="BTC", quote="USDT", price_increment="0.01", size_increment="0.00001")


# -- EWMA volatility ------------------------------------------------------------------------


def test_ewma_follows_the_riskmetrics_recursion():
    model = EwmaVolatility(decay="0.5", sample_ms=1000, min_samples=1)
    mids = [10_000, 10_100, 10_000, 10_000]
    for i, mid in enumerate(mids):
        model.observe("X", mid, i * SECOND)
    r1, r2 = math.log(10_100 / 10_000), math.log(10_000 / 10_100)
    # var1 = r1^2; var2 = .5 var1 + .5 r2^2; var3 = .5 var2 + .5 * 0
    expected = 0.5 * (0.5 * r1**2 + 0.5 * r2**2)
    assert model.volatility_bps("X") == pytest.approx(math.sqrt(expected) * 10_000)


def test_ewma_ignores_samples_too_close_and_spreads_long_gaps():
    model = EwmaVolatility(decay="0.9", sample_ms=1000, min_samples=1)
    model.observe("X", 10_000, 0)
    model.observe("X", 20_000, SECOND // 2)  # too soon: ignored
    assert model.volatility_bps("X") is None
    model.observe("X", 10_100, 4 * SECOND)  # one return over four intervals
    assert model.volatility_bps("X") == pytest.approx(
        math.sqrt(math.log(1.01) ** 2 / 4) * 10_000)


def test_ewma_waits_for_min_samples():
    model = EwmaVolatility(min_samples=3, sample_ms=1)
    for i, mid in enumerate([100, 101, 100]):
        model.observe("X", mid, i * 1_000_000)
    assert model.volatility_bps("X") is None and model.scale("X") == 1.0
    model.observe("X", 101, 3 * 1_000_000)
    assert model.volatility_bps("X") > 0


def test_scaling_divides_sizes_and_widens_around_the_quote_centre():
    quote = Quote(venue="a", symbol="X", bid_price=990, bid_size=100, ask_price=1010,
                  ask_size=7)
    scaled = EwmaVolatility.scaled(quote, 2.5, 1000)
    assert (scaled.bid_price, scaled.ask_price) == (975, 1025)
    assert (scaled.bid_size, scaled.ask_size) == (40, 2)
    assert EwmaVolatility.scaled(quote, 1.0, 1000) is quote
    tiny = Quote(venue="a", symbol="X", bid_price=990, bid_size=1, ask_price=1010, ask_size=1)
    assert EwmaVolatility.scaled(tiny, 3, 1000) is None


def test_scale_is_capped():
    model = EwmaVolatility(decay="0.5", sample_ms=1, target_bps="1", max_scale="3",
                           min_samples=1)
    model.observe("X", 100, 0)
    model.observe("X", 200, 1_000_000)
    assert model.scale("X") == 3.0


@pytest.mark.parametrize("options, name", [
    ({"decay": "1"}, "decay"), ({"decay": 0.9}, "decay"), ({"target_bps": "0"}, "target_bps"),
    ({"max_scale": "0.5"}, "max_scale"), ({"sample_ms": 0}, "sample_ms"),
    ({"min_samples": "3"}, "min_samples")])
def test_ewma_bad_options_name_the_parameter(options, name):
    with pytest.raises(InvalidValue) as info:
        EwmaVolatility(**options)
    assert info.value.field == name


# -- venue health ----------------------------------------------------------------------------


def health(status="up", stale=False, sent=0, rejected=0, errors=0, lag=None, last=0):
    return {"status": status, "stale": stale, "orders_sent": sent, "orders_rejected": rejected,
            "errors": errors, "lag_ns": lag, "last_event_ns": last}


def test_a_disconnect_drops_the_weight_to_zero_then_it_fades_back():
    model = VenueHealthWeights(window_s="10", disconnect_penalty="0.5")
    assert model.weight("a", health(), 0, 0) == 1.0
    assert model.weight("a", health("down"), 1 * SECOND, 0) == 0.0
    assert model.weight("a", health(stale=True), 2 * SECOND, 0) == 0.0  # up, not in sync yet
    assert model.weight("a", health(), 3 * SECOND, 0) == pytest.approx(1 - 0.5 * 0.8)
    assert model.weight("a", health(), 6 * SECOND, 0) == pytest.approx(1 - 0.5 * 0.5)
    assert model.weight("a", health(), 11 * SECOND, 0) == 1.0


def test_two_disconnects_add_up_and_floor_at_zero():
    model = VenueHealthWeights(window_s="10", disconnect_penalty="0.75")
    for t, status in enumerate(["up", "down", "up", "down", "up"]):
        model.weight("a", health(status), t * SECOND, 0)
    # disconnects at 1 s and 3 s, seen at 4 s: 0.75 * (0.7 + 0.9) > 1
    assert model.last["a"]["connection"] == 0.0


def test_reject_rate_latency_and_silence():
    model = VenueHealthWeights(max_error_rate="0.5", min_orders=4, max_latency_ms="100",
                               stale_ms=1000)
    model.weight("a", health(sent=0), 0, 0)
    assert model.weight("a", health(sent=3, rejected=3), SECOND, 0) == 1.0  # too few orders
    assert model.weight("a", health(sent=10, rejected=2), 2 * SECOND, 0) == \
        pytest.approx(1 - 0.2 / 0.5)
    assert model.weight("b", health(lag=400_000_000), 0, 0) == pytest.approx(0.25)
    assert model.weight("c", health(last=5 * SECOND), 0, 5 * SECOND + SECOND // 2) == 1.0
    assert model.weight("c", health(last=5 * SECOND), 0, 7 * SECOND) == 0.0


@pytest.mark.parametrize("options, name", [
    ({"window_s": "0"}, "window_s"), ({"disconnect_penalty": "1.5"}, "disconnect_penalty"),
    ({"max_error_rate": "0"}, "max_error_rate"), ({"max_latency_ms": "-1"}, "max_latency_ms"),
    ({"stale_ms": -1}, "stale_ms"), ({"min_orders": 0}, "min_orders")])
def test_health_bad_options_name_the_parameter(options, name):
    with pytest.raises(InvalidValue) as info:
        VenueHealthWeights(**options)
    assert info.value.field == name


# -- exposure and limits against the host's Market --------------------------------------------


def market(balances):
    portfolio = Portfolio({"BTC/USDT": USDT}, {"a": ["BTC/USDT"], "b": ["BTC/USDT"]})
    state = Market({"BTC/USDT": USDT}, {"a": ["BTC/USDT"], "b": ["BTC/USDT"]}, portfolio)
    for venue, (btc, usdt) in balances.items():
        portfolio.set_balances(venue, [
            Balance(venue=venue, asset="BTC", total=btc, available=btc),
            Balance(venue=venue, asset="USDT", total=usdt, available=usdt)])
    group = state.group("BTC/USDT")
    for venue in balances:
        state.health[venue].status = "up"
        book = state.books[(venue, "BTC/USDT")]
        book.apply_snapshot(np.array([5_999_900]), np.array([100]), np.array([6_000_100]),
                            np.array([100]), sequence=1)
        group.book.apply_snapshot(group.ids[(venue, "BTC/USDT")],
                                  np.array([[5_999_900, 100]]), np.array([[6_000_100, 100]]))
    state.refresh_fx()
    return state


def test_exposure_values_holdings_at_the_mid_and_stops_the_venue_over_its_limit():
    # a: 1 BTC (100000 lots) and 10000 USDT (10000 / 1e-7 units): 60000 + 10000
    state = market({"a": (100_000, 10**11), "b": (0, 10**11)})
    assert state.holdings("a", "USDT") == Decimal(70_000)
    model = Exposure(currency="USDT", max_exposure="50000", venues={"b": "5000"})
    quotes = [Quote(venue=v, symbol="BTC/USDT", bid_price=1, bid_size=1) for v in "ab"]
    assert model.adjust(quotes, state) == []  # a: 70000 > 50000, b: 10000 > 5000
    model = Exposure(currency="USDT", max_exposure="80000")
    assert model.adjust(quotes, state) == quotes
    order = Order(id="o", venue="a", symbol="BTC/USDT", side="buy", size=1, price=1)
    assert Exposure(currency="USDT", max_exposure="1").veto(order, state).startswith(
        "exposure on a of 70000.00 USDT")


def test_exposure_unknown_value_is_not_safe():
    state = market({"a": (1, 1)})
    model = Exposure(currency="EUR", max_exposure="1000000")  # no EUR rate published
    assert "cannot be valued in EUR" in model.check("a", state)


def test_limits_notional_in_the_order_currency_and_latched_for_the_kill_switch():
    state = market({"a": (0, 0)})
    model = Limits(max_order_notional="100")
    small = Order(id="s", venue="a", symbol="BTC/USDT", side="buy", size=100,
                  price=6_000_000)  # 0.001 BTC at 60000: 60 USDT
    big = Order(id="b", venue="a", symbol="BTC/USDT", side="buy", size=200, price=6_000_000)
    assert model.veto(small, state) is None and model.kill_switch(state) is None
    assert "notional 120.00" in model.veto(big, state)
    assert model.kill_switch(state) == model.veto(big, state)
    model.reset()
    assert model.kill_switch(state) is None


@pytest.mark.parametrize("options, name", [
    ({"max_position": "-1"}, "max_position"), ({"max_total_position": 0.5},
                                               "max_total_position"),
    ({"max_order_notional": "x"}, "max_order_notional"), ({"max_daily_loss": "10"}, "currency"),
    ({"max_order_lots": -5}, "max_order_lots")])
def test_limits_bad_options_name_the_parameter(options, name):
    with pytest.raises(InvalidValue) as info:
        Limits(**options)
    assert info.value.field == name


def test_a_bad_option_stops_the_host_config_naming_it():
    text = ('[[risk]]\nplugin = "venue-health"\noptions = { disconnect_penalty = "2" }\n')
    cfg = config.parse(text)
    with pytest.raises(ConfigError, match=r"risk\[0\]\.options: .*disconnect_penalty: '2'"):
        build_components(cfg, Registry.collect(get_plugin_manager()))
