"""Binance spot trading against a loopback fake exchange (aiohttp on 127.0.0.1) that checks
every SIGNED request as Binance documents it, with its own HMAC code: the API key header, the
signature over the query string, and the timestamp against ``recvWindow``. The fake's check is
itself tried on Binance's published HMAC example first."""

import hashlib
import hmac
import time
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest
from aiohttp import web
from liqframe_binance import BinanceConnector, BinanceFuturesConnector
from liqframe_binance.trading import sign

from liqframe.errors import ConfigError, OrderError
from liqframe.model import Order, OrderStatus, OrderType, TimeInForce
from liqframe.testing.loopback import serve

# Binance spot API docs, "SIGNED Endpoint Examples for POST /api/v3/order - HMAC Keys".
DOC_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_QUERY = ("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
             "&recvWindow=5000&timestamp=1499827319559")
DOC_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"

MARKETS = {"BTC/USDT": {"id": "BTCUSDT", "price_increment": "0.01",
                        "size_increment": "0.00001"}}


def check_signed(query, headers, key, secret, now_ms):
    """The fake's own check of a SIGNED request: None when valid, else Binance's error
    ``(code, msg)``."""
    if headers.get("X-MBX-APIKEY") != key:
        return -2014, "API-key format invalid."
    payload, found, signature = query.rpartition("&signature=")
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    if not found or not hmac.compare_digest(signature.lower(), expected):
        return -1022, "Signature for this request is not valid."
    params = dict(parse_qsl(payload))
    timestamp, window = int(params["timestamp"]), int(params.get("recvWindow", 5000))
    if window > 60_000 or timestamp >= now_ms + 1000 or now_ms - timestamp > window:
        return -1021, "Timestamp for this request is outside of the recvWindow."
    return None


def test_the_published_example_signs_and_verifies():
    assert sign(DOC_SECRET, DOC_QUERY) == DOC_SIGNATURE
    query = f"{DOC_QUERY}&signature={DOC_SIGNATURE}"
    headers = {"X-MBX-APIKEY": DOC_KEY}
    assert check_signed(query, headers, DOC_KEY, DOC_SECRET, 1499827319559) is None
    tampered = query.replace("price=0.1", "price=0.2")
    assert check_signed(tampered, headers, DOC_KEY, DOC_SECRET, 1499827319559)[0] == -1022
    assert check_signed(query, headers, DOC_KEY, DOC_SECRET, 1499827319559 + 5001)[0] == -1021


class FakeBinance:
    """Orders and balances of one account behind Binance's SIGNED REST endpoints."""

    def __init__(self, key, secret):
        self.key, self.secret = key, secret
        self.orders, self.requests, self.next_id = {}, [], 1000
        self.balances = [{"asset": "BTC", "free": "0.50000000", "locked": "0.10000000"},
                         {"asset": "USDT", "free": "1000.12345678", "locked": "0.00000000"},
                         {"asset": "BNB", "free": "3.00000000", "locked": "0.00000000"}]

    def app(self):
        app = web.Application()
        app.router.add_route("*", "/api/v3/{endpoint}", self.handle)
        return app

    async def handle(self, request):
        assert await request.read() == b""  # every parameter is in the query string
        error = check_signed(request.query_string, request.headers, self.key, self.secret,
                             time.time_ns() // 1_000_000)
        if error:
            return web.json_response({"code": error[0], "msg": error[1]}, status=400)
        params = dict(parse_qsl(request.query_string.rpartition("&signature=")[0]))
        self.requests.append((request.method, request.path, params))
        endpoint = (request.method, request.match_info["endpoint"])
        if endpoint == ("POST", "order"):
            self.next_id += 1
            order = {"symbol": params["symbol"], "orderId": self.next_id,
                     "clientOrderId": params["newClientOrderId"], "price": params.get(
                         "price", "0.00000000"), "origQty": params["quantity"],
                     "executedQty": "0.00000000", "status": "NEW",
                     "timeInForce": params.get("timeInForce", "GTC"), "type": params["type"],
                     "side": params["side"]}
            self.orders[self.next_id] = order
            return web.json_response(order)
        if endpoint == ("DELETE", "order"):
            order = self.orders.pop(int(params["orderId"]), None)
            if order is None or order["symbol"] != params["symbol"]:
                return web.json_response({"code": -2011, "msg": "Unknown order sent."},
                                         status=400)
            return web.json_response({**order, "status": "CANCELED"})
        if endpoint == ("GET", "openOrders"):
            return web.json_response(list(self.orders.values()))
        if endpoint == ("GET", "account"):
            return web.json_response({"balances": self.balances})
        return web.json_response({"code": -1100, "msg": "unknown endpoint"}, status=404)


@pytest.fixture
async def fake():
    exchange = FakeBinance("my-key", "my-secret")
    async with serve(exchange.app()) as url:
        exchange.url = url
        yield exchange


def connector(fake, **trading):
    options = {"api_key": "my-key", "api_secret": "my-secret", "url": fake.url, **trading}
    return BinanceConnector(venue="binance", markets=MARKETS, trading=options)


async def test_orders_cancels_and_balances_go_through_signed(fake):
    binance = connector(fake)
    try:
        limit = Order(id="q-1", venue="binance", symbol="BTC/USDT", side="buy", size=150,
                      price=2500050)
        venue_id = await binance.place_order(limit)
        assert fake.requests[-1][2] == {
            "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.0015",
            "newClientOrderId": "q-1", "timeInForce": "GTC", "price": "25000.5",
            "recvWindow": "5000", "timestamp": fake.requests[-1][2]["timestamp"]}
        maker = Order(id="q-2", venue="binance", symbol="BTC/USDT", side="sell", size=1,
                      price=2600000, time_in_force=TimeInForce.POST_ONLY)
        await binance.place_order(maker)
        assert fake.requests[-1][2]["type"] == "LIMIT_MAKER"
        assert "timeInForce" not in fake.requests[-1][2]
        market = Order(id="q-3", venue="binance", symbol="BTC/USDT", side="sell", size=7,
                       type=OrderType.MARKET)
        await binance.place_order(market)
        assert fake.requests[-1][2]["type"] == "MARKET" and "price" not in fake.requests[-1][2]

        open_orders = {o.id: o for o in await binance.open_orders()}
        assert open_orders["q-1"].price == 2500050 and open_orders["q-1"].size == 150
        assert open_orders["q-1"].status is OrderStatus.ACKNOWLEDGED
        assert open_orders["q-2"].time_in_force is TimeInForce.POST_ONLY
        assert open_orders["q-1"].venue_order_id == venue_id

        await binance.cancel_order(venue_id)
        assert fake.requests[-1][:2] == ("DELETE", "/api/v3/order")
        assert fake.requests[-1][2]["symbol"] == "BTCUSDT"
        assert venue_id not in {o.venue_order_id for o in await binance.open_orders()}
        with pytest.raises(OrderError, match="Unknown order sent"):
            fake.orders[int(venue_id)] = {"symbol": "ETHUSDT"}  # the venue no longer agrees
            await binance.cancel_order(venue_id)

        balances = {b.asset: b for b in await binance.balances()}
        assert set(balances) == {"BTC", "USDT"}  # BNB: no configured market trades it
        lot, quote_unit = Decimal("0.00001"), Decimal("0.01") * Decimal("0.00001")
        assert balances["BTC"].total == int(Decimal("0.6") / lot) == 60_000
        assert balances["BTC"].available == 50_000
        assert balances["USDT"].total == int(Decimal("1000.12345678") / quote_unit)
    finally:
        await binance.stop()


async def test_a_wrong_secret_or_a_stale_clock_is_refused(fake):
    wrong = connector(fake, api_secret="not-the-secret")
    stale = connector(fake, clock=lambda: time.time_ns() // 1_000_000 - 6000)
    order = Order(id="q-9", venue="binance", symbol="BTC/USDT", side="buy", size=1,
                  price=100)
    try:
        with pytest.raises(OrderError, match="Signature for this request is not valid"):
            await wrong.place_order(order)
        with pytest.raises(OrderError, match="outside of the recvWindow"):
            await stale.place_order(order)
        assert fake.orders == {}
    finally:
        await wrong.stop()
        await stale.stop()


async def test_without_credentials_it_streams_only():
    binance = BinanceConnector(venue="binance", markets=MARKETS)
    with pytest.raises(OrderError, match="option 'trading'"):
        await binance.place_order(Order(id="q", venue="binance", symbol="BTC/USDT",
                                        side="buy", size=1, price=1))
    assert await binance.balances() == []
    with pytest.raises(ConfigError, match="does not trade"):
        BinanceFuturesConnector(venue="f", markets=MARKETS, trading={"api_key": "k",
                                                                     "api_secret": "s"})
    with pytest.raises(ConfigError, match="recv_window"):
        BinanceConnector(venue="binance", markets=MARKETS,
                         trading={"api_key": "k", "api_secret": "s", "recv_window": 70_000})
