"""Coinbase Advanced Trade over REST: orders, cancels, open orders and balances.

Request signing (Coinbase Developer Platform "JWT authentication" for the Advanced Trade API,
with a CDP API key of the ECDSA kind):

- every request carries ``Authorization: Bearer <JWT>``, a new JWT per request;
- the JWT is ES256 (ECDSA over P-256 with SHA-256, the signature as the 64 bytes ``r || s``,
  base64url without padding). Header: ``alg`` ES256, ``kid`` the key name
  (``organizations/{org}/apiKeys/{key}``), ``typ`` JWT, ``nonce`` a random hex string. Claims:
  ``iss`` "cdp", ``sub`` the key name, ``nbf`` now, ``exp`` now + 120 s, and ``uri`` the
  request as ``"<METHOD> <host><path>"`` (no scheme, no query string);
- the key secret is the EC private key in PEM (as Coinbase hands it out, with ``\\n``
  escapes allowed).

Endpoints (``/api/v3/brokerage``): ``POST /orders`` (``client_order_id`` is liqframe's order
id; ``order_configuration`` ``limit_limit_gtc`` with ``post_only``, ``sor_limit_ioc``,
``limit_limit_fok`` or ``market_market_ioc``), ``POST /orders/batch_cancel``,
``GET /orders/historical/batch?order_status=OPEN``, ``GET /accounts`` (paged by cursor).
"""

import base64
import os
import time
from decimal import Decimal
from urllib.parse import urlencode, urlparse

import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from liqframe.connectors.trading import RestTrader
from liqframe.errors import ConfigError, OrderError
from liqframe.model import Order, OrderStatus, OrderType, Side, TimeInForce

BROKERAGE = "/api/v3/brokerage"
_STATUS = {"OPEN": OrderStatus.ACKNOWLEDGED, "PENDING": OrderStatus.ACKNOWLEDGED,
           "FILLED": OrderStatus.FILLED, "CANCELLED": OrderStatus.CANCELLED,
           "EXPIRED": OrderStatus.CANCELLED, "FAILED": OrderStatus.REJECTED}


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load_key(secret):
    """The EC private key of a CDP API key secret (PEM; literal ``\\n`` escapes allowed)."""
    try:
        key = serialization.load_pem_private_key(secret.replace("\\n", "\n").encode(), None)
    except ValueError as error:
        raise ConfigError(f"api_secret: not a PEM EC private key ({error})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ConfigError("api_secret: Advanced Trade JWTs need a P-256 (ES256) key")
    return key


def build_jwt(key_name, private_key, uri, now=None, lifetime=120):
    """The ES256 JWT authorising one request ``uri`` (``"GET api.coinbase.com/api/..."``)."""
    now = int(time.time() if now is None else now)
    header = {"alg": "ES256", "kid": key_name, "nonce": os.urandom(16).hex(), "typ": "JWT"}
    claims = {"iss": "cdp", "sub": key_name, "nbf": now, "exp": now + lifetime, "uri": uri}
    signing_input = f"{_b64url(orjson.dumps(header))}.{_b64url(orjson.dumps(claims))}"
    der = private_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


class CoinbaseTrader(RestTrader):
    """Coinbase Advanced Trade REST trading; ``api_key`` is the CDP key name, ``api_secret``
    its EC private key (PEM)."""

    URL = "https://api.coinbase.com"

    def __init__(self, venue, markets, *, clock=None, **options):
        super().__init__(venue, markets, **options)
        self.private_key = load_key(self.api_secret)
        self.host = urlparse(self.url).netloc
        self.clock = clock or time.time

    async def call(self, method, path, params=None, body=None):
        path = BROKERAGE + path
        token = build_jwt(self.api_key, self.private_key, f"{method} {self.host}{path}",
                          self.clock())
        headers = {"Authorization": f"Bearer {token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = orjson.dumps(body)
        return await self.send(method, path, query=urlencode(params or {}), body=body,
                               headers=headers)

    def _configuration(self, order, market):
        size = self.size_text(market, order.size)
        if order.type is OrderType.MARKET:
            return {"market_market_ioc": {"base_size": size}}
        price = self.price_text(market, order.price)
        tif = order.time_in_force
        if tif is TimeInForce.IOC:
            return {"sor_limit_ioc": {"base_size": size, "limit_price": price}}
        if tif is TimeInForce.FOK:
            return {"limit_limit_fok": {"base_size": size, "limit_price": price}}
        return {"limit_limit_gtc": {"base_size": size, "limit_price": price,
                                    "post_only": tif is TimeInForce.POST_ONLY}}

    async def place_order(self, order):
        market = self.market(order.symbol)
        reply = await self.call("POST", "/orders", body={
            "client_order_id": order.id, "product_id": market.venue_symbol,
            "side": "BUY" if order.side is Side.BID else "SELL",
            "order_configuration": self._configuration(order, market)})
        if not reply.get("success"):
            error = reply.get("error_response", {})
            raise OrderError(f"venue {self.venue!r}: order {order.id} refused: "
                             f"{error.get('error')} {error.get('message', '')}".rstrip())
        venue_order_id = reply["success_response"]["order_id"]
        self.remember(venue_order_id, order.symbol)
        return venue_order_id

    async def cancel_order(self, venue_order_id):
        reply = await self.call("POST", "/orders/batch_cancel",
                                body={"order_ids": [venue_order_id]})
        result = reply["results"][0]
        if not result.get("success"):
            raise OrderError(f"venue {self.venue!r}: cancel of {venue_order_id} refused: "
                             f"{result.get('failure_reason')}")

    async def open_orders(self):
        orders, params = [], {"order_status": "OPEN"}
        while True:
            reply = await self.call("GET", "/orders/historical/batch", params)
            for entry in reply["orders"]:
                market = self.by_venue.get(entry["product_id"])
                if market is not None:
                    orders.append(self._order(entry, market))
            if not reply.get("has_next"):
                return orders
            params = {"order_status": "OPEN", "cursor": reply["cursor"]}

    def _order(self, entry, market):
        self.remember(entry["order_id"], market.symbol)
        (kind, config), = entry["order_configuration"].items()
        limit = "limit_price" in config
        if kind.startswith("sor_limit_ioc"):
            tif = TimeInForce.IOC
        elif kind == "limit_limit_fok":
            tif = TimeInForce.FOK
        else:
            tif = TimeInForce.POST_ONLY if config.get("post_only") else TimeInForce.GTC
        filled = market.size(entry.get("filled_size") or "0")
        status = _STATUS.get(entry["status"], OrderStatus.ACKNOWLEDGED)
        if status is OrderStatus.ACKNOWLEDGED and filled:
            status = OrderStatus.PARTIALLY_FILLED
        return Order(id=entry["client_order_id"] or entry["order_id"], venue=self.venue,
                     symbol=market.symbol, side=entry["side"],
                     size=market.size(config["base_size"]),
                     price=market.price(config["limit_price"]) if limit else None,
                     type=OrderType.LIMIT if limit else OrderType.MARKET, time_in_force=tif,
                     status=status, filled=filled, venue_order_id=entry["order_id"])

    async def balances(self):
        units, result, params = self.asset_units(), [], {"limit": 250}
        while True:
            reply = await self.call("GET", "/accounts", params)
            for account in reply["accounts"]:
                available = Decimal(account["available_balance"]["value"])
                total = available + Decimal(account["hold"]["value"])
                balance = self.balance(account["currency"], str(total), str(available), units)
                if balance is not None:
                    result.append(balance)
            if not reply.get("has_next"):
                return result
            params = {"limit": 250, "cursor": reply["cursor"]}
