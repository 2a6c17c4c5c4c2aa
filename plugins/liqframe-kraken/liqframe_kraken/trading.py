"""Kraken spot trading over REST: orders, cancels, open orders and balances.

Request signing (Kraken "Spot REST Authentication"):

- private endpoints are ``POST /0/private/<Method>`` with a form-encoded body that carries
  ``nonce``, an always increasing unsigned 64-bit integer (here microseconds since the epoch,
  forced above the last one sent);
- ``API-Sign`` is the base64 of HMAC-SHA512, keyed by the base64-decoded secret, of the URI
  path (``/0/private/AddOrder``) followed by the raw SHA-256 digest of ``nonce`` + the
  encoded body; ``API-Key`` is the public key;
- errors come back with HTTP 200 as ``{"error": ["EAPI:Invalid signature"], ...}``.

Endpoints: ``AddOrder`` (``ordertype``, ``type``, ``volume``, ``pair``, ``price``,
``timeinforce``, ``oflags=post`` for post-only, ``cl_ord_id`` = liqframe's order id),
``CancelOrder`` (``txid``), ``OpenOrders``, ``BalanceEx`` (``balance`` and ``hold_trade``
per asset). Pairs are the REST names (the WebSocket ``XBT/USD`` without its slash); Kraken's
asset names (``XXBT``, ``ZUSD``, ``XBT.F``) are mapped to the markets' (``BTC``, ``USD``).
"""

import base64
import hashlib
import hmac
import time
from decimal import Decimal
from urllib.parse import urlencode

from liqframe.connectors.trading import RestTrader
from liqframe.errors import OrderError
from liqframe.model import Order, OrderStatus, OrderType, Side, TimeInForce

#: Kraken's own names of assets whose usual names differ.
_ALIASES = {"XBT": "BTC", "XDG": "DOGE"}


def sign(secret, uri_path, nonce, body):
    """Kraken's ``API-Sign`` of a private request."""
    digest = hashlib.sha256((str(nonce) + body).encode()).digest()
    mac = hmac.new(base64.b64decode(secret), uri_path.encode() + digest, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


def asset_name(kraken_asset):
    """``XXBT`` -> ``BTC``, ``ZUSD`` -> ``USD``, ``XBT.F`` -> ``BTC``, ``ETH`` -> ``ETH``."""
    name = kraken_asset.split(".")[0]
    if len(name) == 4 and name[0] in "XZ" and name not in ("USDT", "USDC", "ZEUS"):
        name = name[1:]
    return _ALIASES.get(name, name)


class KrakenTrader(RestTrader):
    """Kraken spot REST trading."""

    URL = "https://api.kraken.com"

    def __init__(self, venue, markets, *, clock=None, **options):
        super().__init__(venue, markets, **options)
        self.clock = clock or (lambda: time.time_ns() // 1000)
        self.last_nonce = 0
        self.pairs = {m.venue_symbol.replace("/", ""): m for m in self.by_venue.values()}

    def nonce(self):
        self.last_nonce = max(self.last_nonce + 1, self.clock())
        return self.last_nonce

    async def private(self, method, params=()):
        nonce = self.nonce()
        body = urlencode([("nonce", nonce), *params])
        path = f"/0/private/{method}"
        headers = {"API-Key": self.api_key, "API-Sign": sign(self.api_secret, path, nonce, body),
                   "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        reply = await self.send("POST", path, body=body.encode(), headers=headers)
        if reply.get("error"):
            raise OrderError(f"venue {self.venue!r}: {method} refused: "
                             f"{', '.join(reply['error'])}")
        return reply["result"]

    async def place_order(self, order):
        market = self.market(order.symbol)
        params = [("ordertype", "market" if order.type is OrderType.MARKET else "limit"),
                  ("type", "buy" if order.side is Side.BID else "sell"),
                  ("volume", self.size_text(market, order.size)),
                  ("pair", market.venue_symbol.replace("/", "")),
                  ("cl_ord_id", order.id)]
        if order.type is OrderType.LIMIT:
            params.append(("price", self.price_text(market, order.price)))
            if order.time_in_force is TimeInForce.POST_ONLY:
                params.append(("oflags", "post"))
            elif order.time_in_force is TimeInForce.IOC:
                params.append(("timeinforce", "IOC"))
            elif order.time_in_force is TimeInForce.FOK:
                raise OrderError(f"venue {self.venue!r}: Kraken spot has no fill-or-kill "
                                 "orders")
        result = await self.private("AddOrder", params)
        venue_order_id = result["txid"][0]
        self.remember(venue_order_id, order.symbol)
        return venue_order_id

    async def cancel_order(self, venue_order_id):
        result = await self.private("CancelOrder", [("txid", venue_order_id)])
        if not result.get("count"):
            raise OrderError(f"venue {self.venue!r}: order {venue_order_id} was not cancelled")

    async def open_orders(self):
        orders = []
        for txid, entry in (await self.private("OpenOrders"))["open"].items():
            descr = entry["descr"]
            market = self.pairs.get(descr["pair"])
            if market is None:
                continue
            self.remember(txid, market.symbol)
            limit = descr["ordertype"] == "limit"
            filled = market.size(entry.get("vol_exec", "0"))
            post = "post" in entry.get("oflags", "").split(",")
            orders.append(Order(
                id=entry.get("cl_ord_id") or txid, venue=self.venue, symbol=market.symbol,
                side=descr["type"], size=market.size(entry["vol"]),
                price=market.price(descr["price"]) if limit else None,
                type=OrderType.LIMIT if limit else OrderType.MARKET,
                time_in_force=TimeInForce.POST_ONLY if post else TimeInForce.GTC,
                status=OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.ACKNOWLEDGED,
                filled=filled, venue_order_id=txid))
        return orders

    async def balances(self):
        units = self.asset_units()
        totals = {}
        for kraken_asset, entry in (await self.private("BalanceEx")).items():
            asset = asset_name(kraken_asset)
            total, hold = totals.get(asset, (Decimal(0), Decimal(0)))
            totals[asset] = (total + Decimal(entry["balance"]),
                             hold + Decimal(entry.get("hold_trade", "0")))
        result = []
        for asset, (total, hold) in totals.items():
            balance = self.balance(asset, str(total), str(total - hold), units)
            if balance is not None:
                result.append(balance)
        return result
