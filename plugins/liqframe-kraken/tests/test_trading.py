"""Kraken spot trading against a loopback fake exchange (aiohttp on 127.0.0.1) that checks
``API-Key``, ``API-Sign`` and the nonce of every private request as Kraken documents them,
with its own code; that check is first tried on Kraken's published signature example."""

import base64
import hashlib
import hmac
import os
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest
from aiohttp import web
from liqframe_kraken import KrakenConnector
from liqframe_kraken.trading import asset_name, sign

from liqframe.errors import OrderError
from liqframe.model import Order, OrderStatus, OrderType, TimeInForce
from liqframe.testing.loopback import serve

# Kraken "Spot REST Authentication", Examples: a limit buy of 1.25 XBTUSD at 37,500.
DOC_SECRET = ("kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6"
              "F1huXg==")
DOC_NONCE = 1616492376594
DOC_BODY = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
DOC_PATH = "/0/private/AddOrder"
DOC_SIGN = ("4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8nd"
            "wLUQ==")

MARKETS = {"BTC/USD": {"id": "XBT/USD", "price_increment": "0.1",
                       "size_increment": "0.00000001"}}


def check_private(path, body, headers, key, secret, last_nonce):
    """The fake's own check of a private request: None when valid, else Kraken's error."""
    if headers.get("API-Key") != key:
        return "EAPI:Invalid key"
    nonce = dict(parse_qsl(body)).get("nonce", "")
    message = path.encode() + hashlib.sha256((nonce + body).encode()).digest()
    expected = hmac.new(base64.b64decode(secret), message, hashlib.sha512).digest()
    try:
        given = base64.b64decode(headers.get("API-Sign", ""), validate=True)
    except ValueError:
        return "EAPI:Invalid signature"
    if not hmac.compare_digest(given, expected):
        return "EAPI:Invalid signature"
    if not nonce.isdigit() or int(nonce) <= last_nonce:
        return "EAPI:Invalid nonce"
    return None


def test_the_published_example_signs_and_verifies():
    assert sign(DOC_SECRET, DOC_PATH, DOC_NONCE, DOC_BODY) == DOC_SIGN
    headers = {"API-Key": "k", "API-Sign": DOC_SIGN}
    assert check_private(DOC_PATH, DOC_BODY, headers, "k", DOC_SECRET, 0) is None
    assert check_private("/0/private/CancelOrder", DOC_BODY, headers, "k", DOC_SECRET,
                         0) == "EAPI:Invalid signature"
    assert check_private(DOC_PATH, DOC_BODY, headers, "k", DOC_SECRET,
                         DOC_NONCE) == "EAPI:Invalid nonce"


def test_asset_names():
    assert [asset_name(a) for a in ("XXBT", "ZUSD", "XBT.F", "ETH", "USDT", "XXDG")] == [
        "BTC", "USD", "BTC", "ETH", "USDT", "DOGE"]


class FakeKraken:
    def __init__(self, key, secret):
        self.key, self.secret = key, secret
        self.last_nonce, self.orders, self.requests = 0, {}, []

    def app(self):
        app = web.Application()
        app.router.add_post("/0/private/{method}", self.handle)
        return app

    async def handle(self, request):
        body = (await request.read()).decode()
        error = check_private(request.path, body, request.headers, self.key, self.secret,
                              self.last_nonce)
        if error:
            return web.json_response({"error": [error]})
        params = dict(parse_qsl(body))
        self.last_nonce = int(params["nonce"])
        method = request.match_info["method"]
        self.requests.append((method, params))
        if method == "AddOrder":
            txid = f"O{len(self.requests):05d}-ABCDE-FGHIJK"
            self.orders[txid] = params
            return web.json_response({"error": [], "result": {
                "descr": {"order": "..."}, "txid": [txid]}})
        if method == "CancelOrder":
            found = self.orders.pop(params["txid"], None)
            return web.json_response({"error": [], "result": {"count": int(bool(found))}})
        if method == "OpenOrders":
            open_orders = {txid: {"status": "open", "vol": p["volume"], "vol_exec": "0.00000000",
                                  "cl_ord_id": p.get("cl_ord_id"), "oflags": p.get("oflags", ""),
                                  "descr": {"pair": p["pair"], "type": p["type"],
                                            "ordertype": p["ordertype"],
                                            "price": p.get("price", "0")}}
                           for txid, p in self.orders.items()}
            return web.json_response({"error": [], "result": {"open": open_orders}})
        if method == "BalanceEx":
            return web.json_response({"error": [], "result": {
                "XXBT": {"balance": "1.2345678900", "hold_trade": "0.2000000000"},
                "XBT.F": {"balance": "0.0000000100", "hold_trade": "0"},
                "ZUSD": {"balance": "5000.0000", "hold_trade": "125.5000"},
                "XETH": {"balance": "3.0000000000", "hold_trade": "0"}}})
        return web.json_response({"error": ["EGeneral:Unknown method"]})


@pytest.fixture
async def fake():
    secret = base64.b64encode(os.urandom(64)).decode()
    exchange = FakeKraken("my-key", secret)
    async with serve(exchange.app()) as url:
        exchange.url = url
        yield exchange


def connector(fake, **trading):
    options = {"api_key": "my-key", "api_secret": fake.secret, "url": fake.url, **trading}
    return KrakenConnector(venue="kraken", markets=MARKETS, trading=options)


async def test_orders_cancels_and_balances_are_signed(fake):
    kraken = connector(fake)
    try:
        buy = Order(id="q-1", venue="kraken", symbol="BTC/USD", side="buy",
                    size=125_000_000, price=375_000)
        txid = await kraken.place_order(buy)
        assert fake.requests[-1] == ("AddOrder", {
            "nonce": fake.requests[-1][1]["nonce"], "ordertype": "limit", "type": "buy",
            "volume": "1.25", "pair": "XBTUSD", "cl_ord_id": "q-1", "price": "37500"})
        post = Order(id="q-2", venue="kraken", symbol="BTC/USD", side="sell", size=1,
                     price=400_001, time_in_force=TimeInForce.POST_ONLY)
        await kraken.place_order(post)
        assert fake.requests[-1][1]["oflags"] == "post"
        assert fake.requests[-1][1]["price"] == "40000.1"
        await kraken.place_order(Order(id="q-3", venue="kraken", symbol="BTC/USD",
                                       side="sell", size=5, type=OrderType.MARKET))
        assert "price" not in fake.requests[-1][1]

        orders = {o.id: o for o in await kraken.open_orders()}
        assert orders["q-1"].venue_order_id == txid and orders["q-1"].price == 375_000
        assert orders["q-1"].size == 125_000_000
        assert orders["q-1"].status is OrderStatus.ACKNOWLEDGED
        assert orders["q-2"].time_in_force is TimeInForce.POST_ONLY

        await kraken.cancel_order(txid)
        with pytest.raises(OrderError, match="not cancelled"):
            await kraken.cancel_order(txid)

        balances = {b.asset: b for b in await kraken.balances()}
        assert set(balances) == {"BTC", "USD"}
        lot = Decimal("0.00000001")
        assert balances["BTC"].total == int(Decimal("1.23456790") / lot)  # spot + XBT.F
        assert balances["BTC"].available == int(Decimal("1.03456790") / lot)
        assert balances["USD"].total == int(Decimal("5000") / (Decimal("0.1") * lot))
        nonces = [int(params["nonce"]) for _, params in fake.requests]
        assert nonces == sorted(set(nonces))
    finally:
        await kraken.stop()


async def test_a_bad_signature_or_nonce_is_refused(fake):
    wrong = connector(fake, api_secret=base64.b64encode(b"x" * 64).decode())
    order = Order(id="q-9", venue="kraken", symbol="BTC/USD", side="buy", size=1, price=1)
    late = connector(fake, clock=lambda: 5)
    try:
        with pytest.raises(OrderError, match="EAPI:Invalid signature"):
            await wrong.place_order(order)
        fake.last_nonce = 10**18
        with pytest.raises(OrderError, match="EAPI:Invalid nonce"):
            await late.place_order(order)
        with pytest.raises(OrderError, match="fill-or-kill"):
            await late.place_order(Order(id="q-8", venue="kraken", symbol="BTC/USD",
                                         side="buy", size=1, price=1,
                                         time_in_force=TimeInForce.FOK))
        assert fake.orders == {}
    finally:
        await wrong.stop()
        await late.stop()
