"""Instruments as a venue quotes them: the venue's id and the grids its numbers sit on.

A connector turns the venue's decimal strings straight into ticks and lots with the compiled
:func:`liqframe.core.to_units`, never through float. :class:`Market` holds the two parsers,
built once (and :meth:`Market.batch` parses whole messages of levels in one call): the
common case of an increment that is one unit of its last decimal place
(``0.01``) is a single ``to_units`` call; other increments (``0.5``, ``25``) divide by the step
and refuse values off the grid.
"""

from decimal import Decimal, InvalidOperation

from liqframe.core import LevelBatch, checksum, to_units
from liqframe.errors import ConfigError, InvalidValue


def _grid(field, increment):
    """``(decimals, step)`` of an increment given as a decimal string."""
    if isinstance(increment, float):
        raise ConfigError(f"{field}: write {increment!r} as a string to keep it exact")
    try:
        number = Decimal(str(increment))
    except InvalidOperation:
        raise ConfigError(f"{field}: {increment!r} is not a decimal number") from None
    if not number.is_finite() or number <= 0:
        raise ConfigError(f"{field}: {increment!r} must be a positive decimal number")
    exponent = number.normalize().as_tuple().exponent
    decimals = max(0, -exponent)
    return decimals, int(number.scaleb(decimals))


def _parser(field, decimals, step):
    if step == 1:
        def parse(text):
            return to_units(text, decimals)
    else:
        def parse(text):
            count, remainder = divmod(to_units(text, decimals), step)
            if remainder:
                raise InvalidValue(field, text, f"is off the grid of step {step}e-{decimals}")
            return count
    return parse


class Market:
    """One instrument on one venue.

    ``symbol`` is liqframe's name (``"BTC/USDT"``), ``venue_symbol`` the venue's
    (``"BTCUSDT"``, ``"XBT/USD"``, ``"BTC-USDT"``). ``price(text)`` and ``size(text)`` turn the
    venue's decimal strings into ticks and lots of ``price_increment`` / ``size_increment``
    (ValueError for text that is not a number or is off the grid).
    """

    __slots__ = ("symbol", "venue_symbol", "price_increment", "size_increment",
                 "price_decimals", "price_step", "size_decimals", "size_step", "price", "size")

    def __init__(self, symbol, venue_symbol, price_increment, size_increment):
        self.symbol, self.venue_symbol = symbol, venue_symbol
        self.price_increment, self.size_increment = str(price_increment), str(size_increment)
        self.price_decimals, self.price_step = _grid(f"{symbol}.price_increment", price_increment)
        self.size_decimals, self.size_step = _grid(f"{symbol}.size_increment", size_increment)
        self.price = _parser("price", self.price_decimals, self.price_step)
        self.size = _parser("size", self.size_decimals, self.size_step)

    def batch(self):
        """A new :class:`~liqframe.core.LevelBatch` parsing at this market's increments."""
        return LevelBatch(self.price_decimals, self.size_decimals, self.price_step,
                          self.size_step)

    def checksum(self, kind, price_places=None, size_places=None):
        """The venue ``kind``'s :class:`~liqframe.core.checksum.Checksum` at this market's
        increments (``price_places``/``size_places``: what the venue prints, when more)."""
        return checksum.Checksum(kind, self.price_decimals, self.size_decimals, price_places,
                                 size_places)

    @classmethod
    def from_places(cls, symbol, venue_symbol, price_places, size_places):
        """A market whose increments are one unit of the given decimal places."""
        return cls(symbol, venue_symbol, f"1e-{price_places}", f"1e-{size_places}")

    def as_option(self):
        """This market as the connector option ``markets`` takes it."""
        return {"id": self.venue_symbol, "price_increment": self.price_increment,
                "size_increment": self.size_increment}

    def __repr__(self):
        return (f"Market({self.symbol!r}, {self.venue_symbol!r}, {self.price_increment!r}, "
                f"{self.size_increment!r})")


def markets_from_options(venue, instruments, markets):
    """``{venue_symbol: Market}`` from the connector options.

    ``markets`` maps each liqframe symbol to ``{"id": venue symbol, "price_increment": ...,
    "size_increment": ...}``; ``instruments`` (the host's list for this venue) defaults to
    every symbol in ``markets`` and must all be there.
    """
    if not isinstance(markets, dict) or not markets:
        raise ConfigError(f"venue {venue!r}: option 'markets' must map each symbol to "
                          "{id, price_increment, size_increment}")
    wanted = list(instruments) if instruments else list(markets)
    result = {}
    for symbol in wanted:
        spec = markets.get(symbol)
        if not isinstance(spec, dict):
            raise ConfigError(f"venue {venue!r}: markets[{symbol!r}] is missing: give its "
                              "venue id, price_increment and size_increment")
        missing = [k for k in ("id", "price_increment", "size_increment") if k not in spec]
        if missing:
            raise ConfigError(f"venue {venue!r}: markets[{symbol!r}] lacks {', '.join(missing)}")
        market = Market(symbol, spec["id"], spec["price_increment"], spec["size_increment"])
        result[market.venue_symbol] = market
    return result


def places(text):
    """Decimal places printed in ``text`` (``"3.0400"`` -> 4)."""
    return len(text.partition(".")[2])


def significant_places(text):
    """Places left once trailing zeros are removed (``"3.0400"`` -> 2, ``"300"`` -> 0)."""
    fraction = text.partition(".")[2].rstrip("0")
    return len(fraction)
