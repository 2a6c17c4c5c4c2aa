"""The ccxt bridge running the real ``ccxt.binance`` (ccxt's async client, aiohttp) against a
loopback fake exchange on 127.0.0.1 that speaks Binance's spot REST API: exchangeInfo, depth,
and the SIGNED order, openOrders and account endpoints, each signature checked as Binance
documents it (HMAC-SHA256 of query string + body, X-MBX-APIKEY, timestamp in recvWindow)."""

import asyncio
import hashlib
import hmac
import time
from decimal import Decimal
from urllib.parse import parse_qsl, urlparse

import pytest
from aiohttp import web
from liqframe_ccxt import CcxtConnector, liqframe_venue_connectors

from liqframe.errors import ConfigError, OrderError
from liqframe.model import Order, OrderStatus, OrderType, TimeInForce
from liqframe.testing.loopback import serve
from liqframe.testing.replay import CountingEvents

KEY, SECRET = "ccxt-key", "ccxt-secret"
SYMBOL = {"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "baseAssetPrecision": 8,
          "quoteAsset": "USDT", "quotePrecision": 8, "quoteAssetPrecision": 8,
          "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"], "isSpotTradingAllowed": True,
          "isMarginTradingAllowed": False, "permissions": ["SPOT"],
          "permissionSets": [["SPOT"]],
          "filters": [{"filterType": "PRICE_FILTER", "minPrice": "0.01000000",
                       "maxPrice": "1000000.00000000", "tickSize": "0.01000000"},
                      {"filterType": "LOT_SIZE", "minQty": "0.00001000",
                       "maxQty": "9000.00000000", "stepSize": "0.00001000"}]}


def valid_signature(query, body, headers):
    """Binance's rule, written here: HMAC-SHA256 over the query string followed by the body,
    ``signature`` removed wherever it is, the key header present, the clock inside
    recvWindow."""
    total = query + body
    payload, found, signature = total.rpartition("signature=")
    payload = payload.rstrip("&")
    tail = signature.partition("&")
    payload += ("&" + tail[2]) if tail[2] else ""
    expected = hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
    if headers.get("X-MBX-APIKEY") != KEY or not found or tail[0] != expected:
        return False, {}
    params = dict(parse_qsl(payload))
    now = time.time_ns() // 1_000_000
    window = int(params.get("recvWindow", 5000))
    return int(params["timestamp"]) < now + 1000 and now - int(params["timestamp"]) <= window, \
        params


class FakeBinance:
    def __init__(self):
        self.depth_requests, self.orders, self.next_id = 0, {}, 500
        self.signed = []
        self.fail_depth = False

    def app(self):
        app = web.Application()
        app.router.add_get("/api/v3/exchangeInfo", self.exchange_info)
        app.router.add_get("/api/v3/depth", self.depth)
        app.router.add_route("*", "/api/v3/{private}", self.private)
        return app

    async def exchange_info(self, request):
        return web.json_response({"timezone": "UTC", "serverTime": time.time_ns() // 10**6,
                                  "rateLimits": [], "exchangeFilters": [],
                                  "symbols": [SYMBOL]})

    async def depth(self, request):
        assert request.query["symbol"] == "BTCUSDT"
        if self.fail_depth:
            return web.json_response({"code": -1003, "msg": "Too many requests"}, status=503)
        self.depth_requests += 1
        bid = Decimal("65000.10") + self.depth_requests  # the book moves with every poll
        return web.json_response({
            "lastUpdateId": 1000 + self.depth_requests,
            "bids": [[f"{bid:.2f}", "0.50000000"], ["64999.99", "1.23456000"]],
            "asks": [["65010.00", "0.00001000"], ["65011.50", "2.00000000"]]})

    async def private(self, request):
        body = (await request.read()).decode()
        ok, params = valid_signature(request.query_string, body, request.headers)
        if not ok:
            return web.json_response({"code": -1022, "msg": "Signature for this request is "
                                      "not valid."}, status=400)
        self.signed.append((request.method, request.path, params))
        route = (request.method, request.match_info["private"])
        if route == ("POST", "order"):
            self.next_id += 1
            order = {"symbol": "BTCUSDT", "orderId": self.next_id,
                     "clientOrderId": params["newClientOrderId"], "price":
                     params.get("price", "0.00000000"), "origQty": params["quantity"],
                     "executedQty": "0.00000000", "cummulativeQuoteQty": "0.00000000",
                     "status": "NEW", "timeInForce": params.get("timeInForce", "GTC"),
                     "type": params["type"], "side": params["side"],
                     "transactTime": time.time_ns() // 10**6, "fills": []}
            self.orders[self.next_id] = order
            return web.json_response(order)
        if route == ("DELETE", "order"):
            order = self.orders.pop(int(params["orderId"]), None)
            if order is None:
                return web.json_response({"code": -2011, "msg": "Unknown order sent."},
                                         status=400)
            return web.json_response({**order, "status": "CANCELED"})
        if route == ("GET", "openOrders"):
            return web.json_response([{**o, "time": 0, "updateTime": 0, "isWorking": True}
                                      for o in self.orders.values()])
        if route == ("GET", "account"):
            return web.json_response({"makerCommission": 10, "takerCommission": 10,
                                      "canTrade": True, "accountType": "SPOT",
                                      "balances": [
                                          {"asset": "BTC", "free": "0.75000000",
                                           "locked": "0.25000000"},
                                          {"asset": "USDT", "free": "100.50000000",
                                           "locked": "0.00000000"}]})
        return web.json_response({"code": -1100, "msg": f"no {route}"}, status=404)


@pytest.fixture
async def fake():
    exchange = FakeBinance()
    async with serve(exchange.app()) as url:
        exchange.url = url
        yield exchange


def loopback_urls(fake):
    """Every one of ccxt.binance's API roots moved onto the fake, so nothing can leave the
    host whatever ccxt decides to call."""
    import ccxt

    return {name: fake.url + urlparse(url).path
            for name, url in ccxt.binance().urls["api"].items()}


def bridge(fake, **options):
    return CcxtConnector(
        venue="binance-ccxt", exchange="binance", instruments=["BTC/USDT"],
        config={"apiKey": KEY, "secret": SECRET,
                "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                            "fetchMargins": False}},
        urls=loopback_urls(fake), **options)


def test_registers_the_connector():
    assert liqframe_venue_connectors() == {"ccxt": CcxtConnector}


async def test_books_are_polled_into_ticks_and_lots(fake):
    events = CountingEvents()
    connector = bridge(fake, poll_interval=0.02)
    await connector.start(events)
    try:
        feed = connector.feeds["BTC/USDT"]
        market = feed.market
        assert (market.price_increment, market.size_increment) == ("0.01", "1e-05")
        await asyncio.sleep(0.2)
        polls = fake.depth_requests
        assert polls >= 3 and events.snapshots == connector.stats.snapshots >= 3
        bids, asks = feed.book.levels(0), feed.book.levels(1)
        latest = connector.feeds["BTC/USDT"].book.sequence - 1000
        assert bids[0].tolist()[0] == int((Decimal("65000.10") + latest) * 100)
        assert bids[1].tolist() == [50_000, 123_456]
        assert asks[0].tolist() == [6_501_000, 6_501_150] and asks[1].tolist() == [1, 200_000]
        # ccxt knows no account fees without a fee request: its published spot default, 0.1%
        assert connector.fees("BTC/USDT") == (Decimal(10), Decimal(10))
    finally:
        await connector.stop()


async def test_a_failing_book_goes_stale_and_comes_back(fake):
    events = CountingEvents()
    connector = bridge(fake, poll_interval=0.02, retry_delay=0.02)
    await connector.start(events)
    try:
        fake.fail_depth = True
        await asyncio.sleep(0.15)
        assert not connector.feeds["BTC/USDT"].synced and connector.stats.resyncs == 1
        assert events.status[-1][0] is False
        fake.fail_depth = False
        await asyncio.sleep(0.15)
        assert connector.feeds["BTC/USDT"].synced and events.status[-1][0] is True
    finally:
        await connector.stop()


async def test_orders_cancels_and_balances(fake):
    connector = bridge(fake, poll_interval=60)
    await connector.start(CountingEvents())
    try:
        order = Order(id="lf-1", venue="binance-ccxt", symbol="BTC/USDT", side="buy",
                      size=150, price=6_500_012)
        venue_id = await connector.place_order(order)
        sent = fake.signed[-1][2]
        assert (sent["symbol"], sent["side"], sent["type"], sent["quantity"], sent["price"],
                sent["newClientOrderId"], sent["timeInForce"]) == (
            "BTCUSDT", "BUY", "LIMIT", "0.0015", "65000.12", "lf-1", "GTC")
        await connector.place_order(Order(id="lf-2", venue="binance-ccxt", symbol="BTC/USDT",
                                          side="sell", size=3, price=7_000_000,
                                          time_in_force=TimeInForce.POST_ONLY))
        assert fake.signed[-1][2]["type"] == "LIMIT_MAKER"
        await connector.place_order(Order(id="lf-3", venue="binance-ccxt", symbol="BTC/USDT",
                                          side="sell", size=2, type=OrderType.MARKET))
        assert fake.signed[-1][2]["type"] == "MARKET"

        orders = {o.id: o for o in await connector.open_orders()}
        assert orders["lf-1"].price == 6_500_012 and orders["lf-1"].size == 150
        assert orders["lf-1"].venue_order_id == venue_id
        assert orders["lf-1"].status is OrderStatus.ACKNOWLEDGED
        await connector.cancel_order(venue_id)
        assert fake.signed[-1][:2] == ("DELETE", "/api/v3/order")
        with pytest.raises(OrderError, match="Unknown order sent"):
            await connector.cancel_order(venue_id)

        balances = {b.asset: b for b in await connector.balances()}
        assert (balances["BTC"].total, balances["BTC"].available) == (100_000, 75_000)
        assert balances["USDT"].total == int(Decimal("100.5") / Decimal("0.0000001"))
    finally:
        await connector.stop()


async def test_a_wrong_secret_is_an_order_error(fake):
    connector = bridge(fake, poll_interval=60)
    connector.config["secret"] = "wrong"
    await connector.start(CountingEvents())
    try:
        with pytest.raises(OrderError, match="Signature for this request is not valid"):
            await connector.balances()
    finally:
        await connector.stop()


def test_options_are_checked():
    with pytest.raises(ConfigError, match="not a ccxt exchange"):
        CcxtConnector(venue="x", exchange="no-such-exchange")
    with pytest.raises(ConfigError, match="poll_interval"):
        CcxtConnector(venue="x", exchange="binance", poll_interval=0)
