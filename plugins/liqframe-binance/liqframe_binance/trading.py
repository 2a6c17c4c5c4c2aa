"""Binance spot trading over REST: orders, cancels, open orders and balances, SIGNED.

Request signing (Binance spot API, "Request security", SIGNED endpoints with an HMAC key):

- every SIGNED request carries ``timestamp`` (milliseconds) and may carry ``recvWindow``
  (milliseconds, at most 60,000): the server refuses it unless ``timestamp < serverTime +
  1000`` and ``serverTime - timestamp <= recvWindow``;
- ``signature`` is the lowercase hex HMAC-SHA256, keyed by the secret key, of the request's
  total parameters: the query string concatenated with the request body, percent-encoded
  exactly as sent. This client sends every parameter in the query string (body empty), so
  the signed text is the query string without ``&signature=...``, which comes last;
- the API key goes in the ``X-MBX-APIKEY`` header.

Endpoints: ``POST /api/v3/order`` (``newClientOrderId`` is liqframe's order id, so a retried
order is not doubled), ``DELETE /api/v3/order`` (by ``symbol`` and ``orderId``),
``GET /api/v3/openOrders``, ``GET /api/v3/account``.
"""

import hashlib
import hmac
import time
from decimal import Decimal
from urllib.parse import urlencode

from liqframe.connectors.trading import RestTrader
from liqframe.errors import ConfigError
from liqframe.model import Order, OrderStatus, OrderType, Side, TimeInForce

_TIME_IN_FORCE = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}
_STATUS = {"NEW": OrderStatus.ACKNOWLEDGED, "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
           "FILLED": OrderStatus.FILLED, "CANCELED": OrderStatus.CANCELLED,
           "PENDING_CANCEL": OrderStatus.ACKNOWLEDGED, "REJECTED": OrderStatus.REJECTED,
           "EXPIRED": OrderStatus.CANCELLED, "EXPIRED_IN_MATCH": OrderStatus.CANCELLED}


def sign(secret, total_params):
    """Binance's HMAC signature of ``total_params`` (query string + body) as lowercase hex."""
    return hmac.new(secret.encode(), total_params.encode(), hashlib.sha256).hexdigest()


class BinanceTrader(RestTrader):
    """Binance spot REST trading; ``recv_window`` in milliseconds (1 to 60,000)."""

    URL = "https://api.binance.com"

    def __init__(self, venue, markets, *, recv_window=5000, clock=None, **options):
        super().__init__(venue, markets, **options)
        if not 0 < int(recv_window) <= 60_000:
            raise ConfigError(f"venue {venue!r}: recv_window {recv_window!r} must be 1 to "
                              "60000 ms")
        self.recv_window = int(recv_window)
        self.clock = clock or (lambda: time.time_ns() // 1_000_000)

    async def signed(self, method, path, params=()):
        query = urlencode([*params, ("recvWindow", self.recv_window),
                           ("timestamp", self.clock())])
        query += "&signature=" + sign(self.api_secret, query)
        return await self.send(method, path, query=query,
                               headers={"X-MBX-APIKEY": self.api_key})

    async def place_order(self, order):
        market = self.market(order.symbol)
        params = [("symbol", market.venue_symbol),
                  ("side", "BUY" if order.side is Side.BID else "SELL"),
                  ("quantity", self.size_text(market, order.size)),
                  ("newClientOrderId", order.id)]
        if order.type is OrderType.MARKET:
            params.insert(2, ("type", "MARKET"))
        elif order.time_in_force is TimeInForce.POST_ONLY:
            params.insert(2, ("type", "LIMIT_MAKER"))
            params.append(("price", self.price_text(market, order.price)))
        else:
            params.insert(2, ("type", "LIMIT"))
            params += [("timeInForce", _TIME_IN_FORCE[order.time_in_force]),
                       ("price", self.price_text(market, order.price))]
        reply = await self.signed("POST", "/api/v3/order", params)
        venue_order_id = str(reply["orderId"])
        self.remember(venue_order_id, order.symbol)
        return venue_order_id

    async def cancel_order(self, venue_order_id):
        market = self.market(self.symbol_of(venue_order_id))
        await self.signed("DELETE", "/api/v3/order",
                          [("symbol", market.venue_symbol), ("orderId", venue_order_id)])

    async def open_orders(self):
        orders = []
        for entry in await self.signed("GET", "/api/v3/openOrders"):
            market = self.by_venue.get(entry["symbol"])
            if market is None:
                continue
            self.remember(entry["orderId"], market.symbol)
            limit = entry["type"] != "MARKET"
            orders.append(Order(
                id=entry["clientOrderId"], venue=self.venue, symbol=market.symbol,
                side=entry["side"], size=market.size(entry["origQty"]),
                price=market.price(entry["price"]) if limit else None,
                type=OrderType.LIMIT if limit else OrderType.MARKET,
                time_in_force=(TimeInForce.POST_ONLY if entry["type"] == "LIMIT_MAKER" else
                               TimeInForce(entry.get("timeInForce", "GTC").lower())),
                status=_STATUS.get(entry["status"], OrderStatus.ACKNOWLEDGED),
                filled=market.size(entry["executedQty"]),
                venue_order_id=str(entry["orderId"])))
        return orders

    async def balances(self):
        units = self.asset_units()
        result = []
        for entry in (await self.signed("GET", "/api/v3/account"))["balances"]:
            total = str(Decimal(entry["free"]) + Decimal(entry["locked"]))
            balance = self.balance(entry["asset"], total, entry["free"], units)
            if balance is not None:
                result.append(balance)
        return result

