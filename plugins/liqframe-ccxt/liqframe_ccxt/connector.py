"""A bridge making any exchange of the ccxt library a liqframe venue.

:class:`CcxtConnector` drives one ``ccxt.async_support`` exchange (chosen by its ccxt id,
configured with ccxt's own constructor dict: ``apiKey``, ``secret``, ``password``,
``options``...):

- **books** by polling ``fetch_order_book`` every ``poll_interval`` seconds; each poll
  replaces the book (a :class:`~liqframe.connectors.feed.BookFeed` snapshot, ccxt's
  ``nonce`` as its sequence when the exchange gives one). A failed poll marks the book stale
  and reports the venue down until a poll succeeds again;
- **orders** through ``create_order`` (``clientOrderId`` = liqframe's order id, ``postOnly``
  and ``timeInForce`` as ccxt's unified parameters), ``cancel_order`` and
  ``fetch_open_orders``; **balances** through ``fetch_balance``; **fees** from the loaded
  markets' maker and taker rates (:meth:`CcxtConnector.fees`);
- ``urls`` replaces entries of the exchange's ``urls["api"]`` (a testnet, a proxy, or a
  loopback fake exchange in tests).

ccxt hands numbers over as Python floats. Each is turned into the shortest decimal text that
reads back as the same float (``repr``), which is the exchange's own decimal for any price or
size of up to 15 significant digits, and then into ticks and lots on the market's grid, where
a value off the grid is refused rather than rounded.
"""

import asyncio
from decimal import Decimal

import ccxt.async_support as ccxt_async
from ccxt.base.decimal_to_precision import TICK_SIZE
from ccxt.base.errors import BaseError as CcxtError

from liqframe.connectors import BookFeed, FeedStats, Market, markets_from_options
from liqframe.connectors.trading import asset_units, to_balance, units_text
from liqframe.core import NO_SEQUENCE
from liqframe.errors import ConfigError, OrderError
from liqframe.model import Order, OrderStatus, OrderType, Side, TimeInForce

_STATUS = {"open": OrderStatus.ACKNOWLEDGED, "closed": OrderStatus.FILLED,
           "canceled": OrderStatus.CANCELLED, "expired": OrderStatus.CANCELLED,
           "rejected": OrderStatus.REJECTED}


def number_text(value):
    """A ccxt number as decimal text (``0.1`` -> ``"0.1"``, ``1e-05`` -> ``"1e-05"``)."""
    if value is None:
        return "0"
    if isinstance(value, str):
        return value
    return repr(float(value)) if isinstance(value, float) else str(value)


class CcxtConnector:
    """One ccxt exchange as a liqframe venue; see the module docstring.

    ``markets`` maps liqframe symbols to ``{id: ccxt symbol, price_increment,
    size_increment}``; when it is omitted, ``instruments`` (ccxt symbols) are looked up in
    the exchange's loaded markets and their increments taken from ccxt's precision.
    """

    kind = "ccxt"

    def __init__(self, *, venue, exchange, instruments=(), markets=None, config=None,
                 urls=None, poll_interval=1.0, depth=100, retry_delay=1.0):
        if exchange not in ccxt_async.exchanges:
            raise ConfigError(f"venue {venue!r}: {exchange!r} is not a ccxt exchange id")
        if poll_interval <= 0 or retry_delay < 0:
            raise ConfigError(f"venue {venue!r}: poll_interval must be > 0 and retry_delay "
                              ">= 0")
        self.venue, self.exchange_id = venue, exchange
        self.instruments, self.market_options = list(instruments), markets
        self.config, self.urls = dict(config or {}), dict(urls or {})
        self.poll_interval, self.depth, self.retry_delay = poll_interval, depth, retry_delay
        self.exchange = None
        self.markets = {}
        self.feeds = {}
        self.stats = FeedStats()
        self.events = None
        self.up = False
        self._task = None
        self._symbols = {}

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, events):
        self.events = events
        exchange = getattr(ccxt_async, self.exchange_id)(self.config)
        api = exchange.urls.get("api")
        if isinstance(api, dict):
            api.update(self.urls)
        elif self.urls:
            exchange.urls["api"] = self.urls.get("api", api)
        self.exchange = exchange
        try:
            await exchange.load_markets()
        except CcxtError as error:
            await exchange.close()
            raise ConfigError(f"venue {self.venue!r}: cannot load {self.exchange_id} "
                              f"markets: {error}") from None
        self.markets = self._markets()
        self.feeds = {m.venue_symbol: BookFeed(self.venue, m, events, self.stats)
                      for m in self.markets.values()}
        await self.poll()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self):
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self.exchange is not None:
            await self.exchange.close()

    def _markets(self):
        if self.market_options is not None:
            return markets_from_options(self.venue, self.instruments, self.market_options)
        if not self.instruments:
            raise ConfigError(f"venue {self.venue!r}: give instruments (ccxt symbols) or "
                              "markets")
        result = {}
        for symbol in self.instruments:
            info = self.exchange.markets.get(symbol)
            if info is None:
                raise ConfigError(f"venue {self.venue!r}: {self.exchange_id} has no market "
                                  f"{symbol!r}")
            result[symbol] = Market(symbol, symbol, self._increment(info["precision"]["price"]),
                                    self._increment(info["precision"]["amount"]))
        return result

    def _increment(self, precision):
        """An increment from ccxt's precision: a tick size, or a count of decimal places."""
        if self.exchange.precisionMode == TICK_SIZE:
            return number_text(precision)
        return f"1e-{int(precision)}"

    # -- books -------------------------------------------------------------------------------

    async def poll(self):
        """Fetch every book once; True when all of them came."""
        ok = True
        for symbol, feed in self.feeds.items():
            self.stats.messages += 1
            try:
                book = await self.exchange.fetch_order_book(symbol, self.depth)
                price, size = feed.market.price, feed.market.size
                bids = [(price(number_text(e[0])), size(number_text(e[1])))
                        for e in book["bids"]]
                asks = [(price(number_text(e[0])), size(number_text(e[1])))
                        for e in book["asks"]]
            except (CcxtError, ValueError) as error:
                ok = False
                if feed.invalidate(f"order book request failed ({error})"):
                    self.stats.resyncs += 1
                continue
            nonce = book.get("nonce")
            feed.snapshot(bids, asks, NO_SEQUENCE if nonce is None else int(nonce),
                          (book.get("timestamp") or 0) * 1_000_000)
        if ok != self.up:
            self.up = ok
            self.events.on_status(ok, f"{self.exchange_id}: order books "
                                      f"{'polled' if ok else 'unavailable'}")
        return ok

    async def _run(self):
        while True:
            ok = await self.poll()
            await asyncio.sleep(self.poll_interval if ok else self.retry_delay)

    # -- trading -----------------------------------------------------------------------------

    def _market(self, symbol):
        for market in self.markets.values():
            if market.symbol == symbol:
                return market
        raise OrderError(f"venue {self.venue!r}: no market {symbol!r} configured")

    async def _call(self, what, coroutine):
        try:
            return await coroutine
        except CcxtError as error:
            raise OrderError(f"venue {self.venue!r}: {what} refused by {self.exchange_id}: "
                             f"{type(error).__name__}: {error}") from None

    async def place_order(self, order):
        market = self._market(order.symbol)
        params = {"clientOrderId": order.id}
        if order.time_in_force is TimeInForce.POST_ONLY:
            params["postOnly"] = True
        elif order.time_in_force is not TimeInForce.GTC:
            params["timeInForce"] = order.time_in_force.value.upper()
        limit = order.type is OrderType.LIMIT
        price = units_text(order.price, market.price_decimals, market.price_step) \
            if limit else None
        amount = units_text(order.size, market.size_decimals, market.size_step)
        reply = await self._call(f"order {order.id}", self.exchange.create_order(
            market.venue_symbol, "limit" if limit else "market",
            "buy" if order.side is Side.BID else "sell", amount, price, params))
        self._symbols[str(reply["id"])] = market
        return str(reply["id"])

    async def cancel_order(self, venue_order_id):
        market = self._symbols.get(str(venue_order_id))
        if market is None:
            raise OrderError(f"venue {self.venue!r}: order {venue_order_id!r} was not placed "
                             "through this connector")
        await self._call(f"cancel of {venue_order_id}",
                         self.exchange.cancel_order(venue_order_id, market.venue_symbol))

    async def open_orders(self):
        orders = []
        for market in self.markets.values():
            for entry in await self._call("open orders", self.exchange.fetch_open_orders(
                    market.venue_symbol)):
                self._symbols[str(entry["id"])] = market
                orders.append(self._order(entry, market))
        return orders

    def _order(self, entry, market):
        limit = entry.get("type") != "market"
        filled = market.size(number_text(entry.get("filled")))
        if entry.get("postOnly"):
            tif = TimeInForce.POST_ONLY
        else:
            tif = TimeInForce((entry.get("timeInForce") or "GTC").lower())
        status = _STATUS.get(entry.get("status"), OrderStatus.ACKNOWLEDGED)
        if status is OrderStatus.ACKNOWLEDGED and filled:
            status = OrderStatus.PARTIALLY_FILLED
        return Order(id=entry.get("clientOrderId") or str(entry["id"]), venue=self.venue,
                     symbol=market.symbol, side=entry["side"],
                     size=market.size(number_text(entry["amount"])),
                     price=market.price(number_text(entry["price"])) if limit else None,
                     type=OrderType.LIMIT if limit else OrderType.MARKET, time_in_force=tif,
                     status=status, filled=filled, venue_order_id=str(entry["id"]))

    async def balances(self):
        reply = await self._call("balances", self.exchange.fetch_balance())
        units, result = asset_units(self.markets.values()), []
        for asset in units:
            entry = reply.get(asset)
            if entry is not None:
                result.append(to_balance(self.venue, asset, number_text(entry.get("total")),
                                         number_text(entry.get("free")), units))
        return result

    def fees(self, symbol):
        """``(maker_bps, taker_bps)`` of ``symbol`` as Decimals, from ccxt's market data
        (None where the exchange publishes none)."""
        info = self.exchange.markets[self._market(symbol).venue_symbol]

        def bps(rate):
            return None if rate is None else Decimal(number_text(rate)) * 10_000

        return bps(info.get("maker")), bps(info.get("taker"))
