"""Coinbase Advanced Trade trading against a loopback fake exchange (aiohttp on 127.0.0.1)
that authenticates every request as Coinbase documents it: a Bearer ES256 JWT verified with
PyJWT (an implementation independent of the client's) against the key's public half, with the
claims checked (``iss`` cdp, ``sub`` = ``kid`` = the key name, ``nbf``/``exp`` at most 120 s
apart and current, ``uri`` = this request's method, host and path) and each nonce used once.
ES256 signatures are randomised, so Coinbase publishes no fixed test vector."""

import time
from decimal import Decimal

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from liqframe_coinbase.trading import CoinbaseTrader, build_jwt, load_key

from liqframe.connectors import markets_from_options
from liqframe.errors import ConfigError, OrderError
from liqframe.model import Order, OrderStatus, OrderType, TimeInForce
from liqframe.testing.loopback import serve

KEY_NAME = "organizations/0f1e2d3c/apiKeys/4b5a6978"
MARKETS = {"BTC/USD": {"id": "BTC-USD", "price_increment": "0.01",
                       "size_increment": "0.00000001"}}


def new_key():
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    return pem, private.public_key()


def check_bearer(header, method, host, path, public_key, seen_nonces, now):
    """The fake's check of the Authorization header: None when valid, else the reason."""
    if not header.startswith("Bearer "):
        return "missing bearer token"
    token = header[len("Bearer "):]
    try:
        head = jwt.get_unverified_header(token)
        claims = jwt.decode(token, public_key, algorithms=["ES256"],
                            options={"verify_exp": False, "verify_nbf": False})
    except jwt.InvalidTokenError as error:
        return f"invalid token: {error}"
    if head.get("kid") != KEY_NAME or claims.get("sub") != KEY_NAME or head.get("typ") != "JWT":
        return "wrong key name"
    if claims.get("iss") != "cdp":
        return "wrong issuer"
    if not claims["nbf"] <= now < claims["exp"] or claims["exp"] - claims["nbf"] > 120:
        return "token expired or not yet valid"
    if claims.get("uri") != f"{method} {host}{path}":
        return f"token for {claims.get('uri')!r}, not this request"
    if not head.get("nonce") or head["nonce"] in seen_nonces:
        return "nonce missing or reused"
    seen_nonces.add(head["nonce"])
    return None


def test_a_token_names_one_request_and_verifies():
    pem, public = new_key()
    token = build_jwt(KEY_NAME, load_key(pem), "GET api.coinbase.com/api/v3/brokerage/accounts")
    now = time.time()
    assert check_bearer(f"Bearer {token}", "GET", "api.coinbase.com",
                        "/api/v3/brokerage/accounts", public, set(), now) is None
    assert "not this request" in check_bearer(f"Bearer {token}", "POST", "api.coinbase.com",
                                              "/api/v3/brokerage/accounts", public, set(), now)
    assert "expired" in check_bearer(f"Bearer {token}", "GET", "api.coinbase.com",
                                     "/api/v3/brokerage/accounts", public, set(), now + 121)
    _, other = new_key()
    assert "invalid token" in check_bearer(f"Bearer {token}", "GET", "api.coinbase.com",
                                           "/api/v3/brokerage/accounts", other, set(), now)
    # the secret as Coinbase's JSON key file carries it: newlines escaped
    assert load_key(pem.replace("\n", "\\n")).private_numbers() == \
        load_key(pem).private_numbers()
    with pytest.raises(ConfigError, match="PEM"):
        load_key("not a key")


class FakeCoinbase:
    def __init__(self, public_key):
        self.public_key, self.nonces = public_key, set()
        self.orders, self.requests = {}, []

    def app(self):
        app = web.Application()
        app.router.add_route("*", "/api/v3/brokerage/{tail:.*}", self.handle)
        return app

    async def handle(self, request):
        reason = check_bearer(request.headers.get("Authorization", ""), request.method,
                              request.host, request.path, self.public_key, self.nonces,
                              time.time())
        if reason:
            return web.json_response({"error": "UNAUTHENTICATED", "message": reason},
                                     status=401)
        body = await request.json() if request.can_read_body else None
        route = (request.method, request.match_info["tail"])
        self.requests.append((route, body, dict(request.query)))
        if route == ("POST", "orders"):
            if body["client_order_id"] in {o["client_order_id"] for o in self.orders.values()}:
                return web.json_response({"success": False, "error_response": {
                    "error": "DUPLICATE_CLIENT_ORDER_ID", "message": "duplicate"}})
            order_id = f"11111111-0000-0000-0000-{len(self.requests):012d}"
            self.orders[order_id] = {
                "order_id": order_id, "client_order_id": body["client_order_id"],
                "product_id": body["product_id"], "side": body["side"], "status": "OPEN",
                "order_configuration": body["order_configuration"], "filled_size": "0"}
            return web.json_response({"success": True, "success_response": {
                "order_id": order_id, "product_id": body["product_id"], "side": body["side"],
                "client_order_id": body["client_order_id"]}})
        if route == ("POST", "orders/batch_cancel"):
            results = [{"success": self.orders.pop(i, None) is not None, "order_id": i,
                        "failure_reason": "UNKNOWN_CANCEL_ORDER"} for i in body["order_ids"]]
            return web.json_response({"results": results})
        if route == ("GET", "orders/historical/batch"):
            assert request.query["order_status"] == "OPEN"
            return web.json_response({"orders": list(self.orders.values()), "has_next": False,
                                      "cursor": ""})
        if route == ("GET", "accounts"):
            pages = {None: ([("BTC", "0.50000000", "0.25000000")], True),
                     "p2": ([("USD", "1000.005", "10"), ("ETH", "2", "0")], False)}
            accounts, more = pages[request.query.get("cursor")]
            return web.json_response({"has_next": more, "cursor": "p2" if more else "",
                                      "accounts": [{"currency": c,
                                                    "available_balance": {"value": a,
                                                                          "currency": c},
                                                    "hold": {"value": h, "currency": c}}
                                                   for c, a, h in accounts]})
        return web.json_response({"error": "NOT_FOUND"}, status=404)


@pytest.fixture
async def fake():
    pem, public = new_key()
    exchange = FakeCoinbase(public)
    exchange.pem = pem
    async with serve(exchange.app()) as url:
        exchange.url = url
        yield exchange


def trader(fake, pem=None):
    return CoinbaseTrader("coinbase", markets_from_options("coinbase", (), MARKETS),
                          api_key=KEY_NAME, api_secret=pem or fake.pem, url=fake.url)


async def test_orders_cancels_and_balances_carry_a_valid_jwt(fake):
    coinbase = trader(fake)
    try:
        gtc = Order(id="q-1", venue="coinbase", symbol="BTC/USD", side="buy",
                    size=150_000_000, price=6_500_012)
        order_id = await coinbase.place_order(gtc)
        assert fake.requests[-1][1] == {
            "client_order_id": "q-1", "product_id": "BTC-USD", "side": "BUY",
            "order_configuration": {"limit_limit_gtc": {
                "base_size": "1.5", "limit_price": "65000.12", "post_only": False}}}
        for tif, kind in ((TimeInForce.POST_ONLY, "limit_limit_gtc"),
                          (TimeInForce.IOC, "sor_limit_ioc"), (TimeInForce.FOK,
                                                               "limit_limit_fok")):
            await coinbase.place_order(Order(id=f"q-{kind}-{tif.value}", venue="coinbase",
                                             symbol="BTC/USD", side="sell", size=1,
                                             price=7_000_000, time_in_force=tif))
            assert list(fake.requests[-1][1]["order_configuration"]) == [kind]
        assert fake.requests[1][1]["order_configuration"]["limit_limit_gtc"]["post_only"]
        await coinbase.place_order(Order(id="q-m", venue="coinbase", symbol="BTC/USD",
                                         side="buy", size=2, type=OrderType.MARKET))
        assert fake.requests[-1][1]["order_configuration"] == {
            "market_market_ioc": {"base_size": "0.00000002"}}
        with pytest.raises(OrderError, match="DUPLICATE_CLIENT_ORDER_ID"):
            await coinbase.place_order(gtc)

        orders = {o.id: o for o in await coinbase.open_orders()}
        assert orders["q-1"].price == 6_500_012 and orders["q-1"].size == 150_000_000
        assert orders["q-1"].venue_order_id == order_id
        assert orders["q-1"].status is OrderStatus.ACKNOWLEDGED
        assert orders["q-limit_limit_gtc-post_only"].time_in_force is TimeInForce.POST_ONLY
        assert orders["q-m"].type is OrderType.MARKET and orders["q-m"].price is None

        await coinbase.cancel_order(order_id)
        with pytest.raises(OrderError, match="UNKNOWN_CANCEL_ORDER"):
            await coinbase.cancel_order(order_id)

        balances = {b.asset: b for b in await coinbase.balances()}  # two pages
        lot = Decimal("0.00000001")
        assert set(balances) == {"BTC", "USD"}
        assert (balances["BTC"].total, balances["BTC"].available) == (75_000_000, 50_000_000)
        quote_unit = Decimal("0.01") * lot
        assert balances["USD"].total == int(Decimal("1010.005") / quote_unit)
        assert len(fake.nonces) == len(fake.requests)  # a fresh token every request
    finally:
        await coinbase.close()


async def test_a_token_signed_with_another_key_is_refused(fake):
    other_pem, _ = new_key()
    coinbase = trader(fake, other_pem)
    try:
        with pytest.raises(OrderError, match="HTTP 401.*invalid token"):
            await coinbase.balances()
    finally:
        await coinbase.close()


async def test_the_connector_trades_through_it_when_given_credentials(fake):
    from liqframe_coinbase import CoinbaseConnector

    connector = CoinbaseConnector(venue="coinbase", markets=MARKETS, trading={
        "api_key": KEY_NAME, "api_secret": fake.pem, "url": fake.url})
    try:
        order_id = await connector.place_order(Order(id="c-1", venue="coinbase",
                                                     symbol="BTC/USD", side="buy", size=1,
                                                     price=100))
        assert [o.venue_order_id for o in await connector.open_orders()] == [order_id]
        await connector.cancel_order(order_id)
        assert fake.orders == {}
    finally:
        await connector.stop()
    with pytest.raises(OrderError, match="option 'trading'"):
        await CoinbaseConnector(venue="coinbase", markets=MARKETS).cancel_order("x")
