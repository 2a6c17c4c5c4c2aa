"""What the REST trading clients of the venue plugins share (orders, cancels, balances).

A venue plugin's ``trading`` module subclasses :class:`RestTrader` with the venue's request
signing and endpoints. A :class:`~liqframe.connectors.base.StreamingConnector` whose class
names one in ``trader_class`` and that is given the option ``trading = {api_key, api_secret,
...}`` sends its orders through it; without that option it stays market-data only.

The shared parts, all exact (decimal text, never float):

- :meth:`RestTrader.price_text` / :meth:`RestTrader.size_text`: ticks and lots of a market as
  the decimal strings a venue takes;
- :meth:`RestTrader.balance`: a venue's decimal balance as a :class:`~liqframe.model.Balance`
  in the asset's smallest unit (:meth:`liqframe.model.Instrument.asset_unit`: the lot for a
  base asset, tick times lot for a quote asset), rounded down so a balance is never
  overstated;
- :meth:`RestTrader.remember` / :meth:`RestTrader.symbol_of`: the instrument of each venue
  order id placed (Binance cancels by symbol and id);
- :meth:`RestTrader.send`: one HTTP request; a venue error becomes
  :class:`~liqframe.errors.OrderError` naming the venue and its message.
"""

from decimal import ROUND_FLOOR, Decimal

import aiohttp
import orjson

from liqframe.errors import ConfigError, OrderError
from liqframe.model import Balance


def units_text(units, decimals, step):
    """``units`` of ``step * 10**-decimals`` as plain decimal text (``1250, 2, 1`` ->
    ``"12.5"``)."""
    value = Decimal(units * step).scaleb(-decimals)
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def asset_units(markets):
    """``{asset: Decimal unit}`` of every asset of ``markets`` (symbols ``BASE/QUOTE``): the
    lot for a base asset, tick times lot for a quote asset; the first market naming an asset
    sets its unit."""
    units = {}
    for market in markets:
        base, _, quote = market.symbol.partition("/")
        lot = Decimal(market.size_increment)
        units.setdefault(base, lot)
        if quote:
            units.setdefault(quote, Decimal(market.price_increment) * lot)
    return units


def to_balance(venue, asset, total, available, units):
    """A :class:`~liqframe.model.Balance` from decimal texts, in ``units[asset]`` rounded
    down; None for an asset without a unit."""
    unit = units.get(asset)
    if unit is None:
        return None

    def count(text):
        return max(0, int((Decimal(text) / unit).to_integral_value(ROUND_FLOOR)))

    total_units = count(total)
    return Balance(venue=venue, asset=asset, total=total_units,
                   available=min(count(available), total_units))


class RestTrader:
    """Base of a venue's REST trading client; see the module docstring.

    ``markets`` is the connector's ``{venue_symbol: Market}``; ``url`` the REST base;
    ``api_key``/``api_secret`` the credentials in the venue's own form.
    """

    #: The venue's REST base used when the options give none.
    URL = ""

    def __init__(self, venue, markets, *, api_key, api_secret, url=None, timeout=10.0):
        if not api_key or not api_secret:
            raise ConfigError(f"venue {venue!r}: trading needs api_key and api_secret")
        self.venue, self.api_key, self.api_secret = venue, api_key, api_secret
        self.url = (url or self.URL).rstrip("/")
        if "://" not in self.url:
            raise ConfigError(f"venue {venue!r}: trading url {self.url!r} is not an http(s) URL")
        self.by_venue = dict(markets)
        self.by_symbol = {m.symbol: m for m in markets.values()}
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.http = None
        self._symbols = {}

    async def start(self):
        if self.http is None:
            self.http = aiohttp.ClientSession(timeout=self.timeout)

    async def close(self):
        if self.http is not None:
            await self.http.close()
            self.http = None

    # -- numbers -----------------------------------------------------------------------------

    def market(self, symbol):
        try:
            return self.by_symbol[symbol]
        except KeyError:
            raise OrderError(f"venue {self.venue!r}: no market {symbol!r} configured") from None

    @staticmethod
    def price_text(market, ticks):
        return units_text(ticks, market.price_decimals, market.price_step)

    @staticmethod
    def size_text(market, lots):
        return units_text(lots, market.size_decimals, market.size_step)

    def asset_units(self):
        return asset_units(self.by_venue.values())

    def balance(self, asset, total, available, units=None):
        """A Balance of ``asset`` from the venue's decimal texts, or None for an asset no
        configured market trades."""
        return to_balance(self.venue, asset, total, available, units or self.asset_units())

    # -- orders ------------------------------------------------------------------------------

    def remember(self, venue_order_id, symbol):
        self._symbols[str(venue_order_id)] = symbol

    def symbol_of(self, venue_order_id):
        try:
            return self._symbols[str(venue_order_id)]
        except KeyError:
            raise OrderError(f"venue {self.venue!r}: order {venue_order_id!r} was not placed "
                             "through this connector") from None

    async def send(self, method, path, *, query="", body=None, headers=None):
        """``method`` ``url + path`` (``query`` already encoded); returns the decoded JSON
        reply. HTTP errors raise OrderError with the venue's message."""
        await self.start()
        url = f"{self.url}{path}" + (f"?{query}" if query else "")
        async with self.http.request(method, url, data=body, headers=headers) as response:
            raw = await response.read()
            try:
                reply = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                reply = raw.decode(errors="replace")
            if response.status >= 400:
                raise OrderError(f"venue {self.venue!r}: {method} {path} refused "
                                 f"(HTTP {response.status}): {self.error_text(reply)}")
            return reply

    @staticmethod
    def error_text(reply):
        """The venue's error message in a reply (its ``msg``/``message``/``error`` field)."""
        if isinstance(reply, dict):
            for key in ("msg", "message", "error"):
                if reply.get(key):
                    return str(reply[key])
        return str(reply)

    # -- what a venue supplies ---------------------------------------------------------------

    async def place_order(self, order):
        raise NotImplementedError

    async def cancel_order(self, venue_order_id):
        raise NotImplementedError

    async def open_orders(self):
        raise NotImplementedError

    async def balances(self):
        raise NotImplementedError
