"""Value types shared between the host and plugins: frozen attrs classes, keyword-only.

Prices and sizes travel as fixed-point integers (ticks and lots of an :class:`Instrument`'s
increments). Decimal strings from venues become integers through :meth:`Instrument.price_ticks`
and :meth:`Instrument.size_lots` without passing through float, and go back with
:meth:`Instrument.price_text` and :meth:`Instrument.size_text`. Every bad value raises
:class:`~liqframe.errors.InvalidValue`, which names the field and the value.
"""

import enum
from decimal import Decimal, InvalidOperation

import attrs

from liqframe.core import from_units, to_units
from liqframe.errors import InvalidValue


class Side(enum.IntEnum):
    """Book side; the integer values are the ones the core uses."""

    BID = 0
    ASK = 1

    @classmethod
    def parse(cls, value, field="side"):
        if isinstance(value, cls):
            return value
        text = str(value).lower()
        if text in ("buy", "bid", "b"):
            return cls.BID
        if text in ("sell", "ask", "s", "offer"):
            return cls.ASK
        raise InvalidValue(field, value, "is not a side: use 'buy' or 'sell'")


class OrderType(enum.Enum):
    LIMIT = "limit"
    MARKET = "market"


class TimeInForce(enum.Enum):
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    POST_ONLY = "post_only"


class OrderStatus(enum.Enum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


def _decimal(field, *, increment=False):
    """Converter for a decimal given as a string (never a float, which is inexact).

    With ``increment`` the value must be positive with at most 18 decimal places, as a grid
    step; otherwise any finite value is accepted (a maker rebate is negative)."""

    def convert(value):
        if isinstance(value, float):
            raise InvalidValue(field, value, "must be a decimal string such as '0.01', not a float")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise InvalidValue(field, value, "is not a decimal number") from None
        if not number.is_finite():
            raise InvalidValue(field, value, "must be a finite decimal number")
        if increment and number <= 0:
            raise InvalidValue(field, value, "must be a positive decimal number")
        if increment and number.as_tuple().exponent < -18:
            raise InvalidValue(field, value, "has more than 18 decimal places")
        return number

    return convert


def _non_negative_int(instance, attribute, value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(attribute.name, value, "must be an integer")
    if value < 0:
        raise InvalidValue(attribute.name, value, "must not be negative")


def _positive_int(instance, attribute, value):
    _non_negative_int(instance, attribute, value)
    if value == 0:
        raise InvalidValue(attribute.name, value, "must be positive")


def _name(instance, attribute, value):
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(attribute.name, value, "must be a non-empty string")


class _Grid:
    """An increment as (decimals, step): a value is on the grid when its units at ``decimals``
    places are a whole multiple of ``step``."""

    __slots__ = ("decimals", "step")

    def __init__(self, increment):
        exponent = increment.normalize().as_tuple().exponent
        self.decimals = max(0, -exponent)
        self.step = int(increment.scaleb(self.decimals))

    def to_count(self, field, text):
        if isinstance(text, float):
            raise InvalidValue(field, text, "must be a decimal string, not a float")
        try:
            units = to_units(text if isinstance(text, str | bytes) else str(text), self.decimals)
        except (ValueError, TypeError) as error:
            problem = str(error).split(" ", 1)[1]
            if "decimal places" in problem and "range" not in problem:
                problem = f"is off the grid of increment {self.text(1)}"
            raise InvalidValue(field, text, problem) from None
        count, remainder = divmod(units, self.step)
        if remainder:
            raise InvalidValue(field, text, f"is off the grid of increment {self.text(1)}")
        return count

    def text(self, count):
        return from_units(count * self.step, self.decimals)


@attrs.frozen(kw_only=True)
class Instrument:
    """A tradable pair on the fixed-point grid of its price and size increments."""

    base: str = attrs.field(validator=_name)
    quote: str = attrs.field(validator=_name)
    price_increment: Decimal = attrs.field(converter=_decimal("price_increment", increment=True))
    size_increment: Decimal = attrs.field(converter=_decimal("size_increment", increment=True))
    _price_grid: _Grid = attrs.field(init=False, repr=False, eq=False)
    _size_grid: _Grid = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self):
        object.__setattr__(self, "_price_grid", _Grid(self.price_increment))
        object.__setattr__(self, "_size_grid", _Grid(self.size_increment))

    @property
    def symbol(self):
        return f"{self.base}/{self.quote}"

    def price_ticks(self, text, field="price"):
        """Decimal price string to ticks; negative prices are refused."""
        ticks = self._price_grid.to_count(field, text)
        if ticks < 0:
            raise InvalidValue(field, text, "must not be negative")
        return ticks

    def size_lots(self, text, field="size"):
        """Decimal size string to lots; negative sizes are refused."""
        lots = self._size_grid.to_count(field, text)
        if lots < 0:
            raise InvalidValue(field, text, "must not be negative")
        return lots

    def price_text(self, ticks):
        return self._price_grid.text(ticks)

    def asset_unit(self, asset):
        """The smallest unit balances of ``asset`` are counted in on a venue trading this
        instrument: a lot for the base asset, a tick times a lot (the notional of one lot
        moving one tick) for the quote asset, so a fill of ``size`` lots at ``price`` ticks
        moves ``size`` base units and ``price * size`` quote units."""
        if asset == self.base:
            return self.size_increment
        if asset == self.quote:
            return self.price_increment * self.size_increment
        raise InvalidValue("asset", asset, f"is neither {self.base} nor {self.quote}")

    def size_text(self, lots):
        return self._size_grid.text(lots)


@attrs.frozen(kw_only=True)
class Venue:
    """A place liquidity lives: an exchange, an OTC desk, a private pool or a DeFi pool."""

    name: str = attrs.field(validator=_name)
    connector: str = attrs.field(validator=_name)
    taker_fee_bps: Decimal = attrs.field(default=Decimal(0), converter=_decimal("taker_fee_bps"))
    maker_fee_bps: Decimal = attrs.field(default=Decimal(0), converter=_decimal("maker_fee_bps"))


@attrs.frozen(kw_only=True)
class BookDelta:
    """One level change of a venue's book: ``size`` 0 removes the level.

    ``sequence`` is the venue's sequence number (-1 when it has none); ``event_ns`` is the
    venue's event time and ``received_ns`` ours, both nanoseconds since the epoch."""

    venue: str = attrs.field(validator=_name)
    symbol: str = attrs.field(validator=_name)
    side: Side = attrs.field(converter=Side.parse)
    price: int = attrs.field(validator=_non_negative_int)
    size: int = attrs.field(validator=_non_negative_int)
    sequence: int = -1
    event_ns: int = 0
    received_ns: int = 0


@attrs.frozen(kw_only=True)
class Order:
    """An order the host sends, or a venue reports, in ticks and lots."""

    id: str = attrs.field(validator=_name)
    venue: str = attrs.field(validator=_name)
    symbol: str = attrs.field(validator=_name)
    side: Side = attrs.field(converter=Side.parse)
    size: int = attrs.field(validator=_positive_int)
    price: int | None = attrs.field(default=None)
    type: OrderType = attrs.field(default=OrderType.LIMIT, converter=OrderType)
    time_in_force: TimeInForce = attrs.field(default=TimeInForce.GTC, converter=TimeInForce)
    status: OrderStatus = attrs.field(default=OrderStatus.NEW, converter=OrderStatus)
    filled: int = attrs.field(default=0, validator=_non_negative_int)
    owner: str = ""
    #: The venue's own id of the order once it acknowledged it ("" before).
    venue_order_id: str = ""

    @price.validator
    def _check_price(self, attribute, value):
        if self.type is OrderType.LIMIT and value is None:
            raise InvalidValue("price", value, "is required for a limit order")
        if value is not None:
            _positive_int(self, attribute, value)

    @filled.validator
    def _check_filled(self, attribute, value):
        if value > self.size:
            raise InvalidValue("filled", value, f"exceeds the order size {self.size}")


#: Names of :class:`Order`'s fields, in order.
ORDER_FIELDS = tuple(field.name for field in attrs.fields(Order))


def order_fields(order: Order) -> dict:
    """``order``'s fields as a dict, values as they are (what ``attrs.asdict`` gives, without
    its generic walk: a tenth of the time, and the host does it on every change of state)."""
    return {name: getattr(order, name) for name in ORDER_FIELDS}


@attrs.frozen(kw_only=True)
class Fill:
    """A trade of one of our orders; ``fee`` is in quote units of the fee currency, as a
    Decimal because venues charge fees on grids of their own."""

    order_id: str = attrs.field(validator=_name)
    venue: str = attrs.field(validator=_name)
    symbol: str = attrs.field(validator=_name)
    side: Side = attrs.field(converter=Side.parse)
    price: int = attrs.field(validator=_positive_int)
    size: int = attrs.field(validator=_positive_int)
    fee: Decimal = attrs.field(default=Decimal(0), converter=_decimal("fee"))
    fee_currency: str = ""
    liquidity: str = attrs.field(default="taker",
                                 validator=attrs.validators.in_(("maker", "taker")))
    trade_id: str = ""
    event_ns: int = 0


@attrs.frozen(kw_only=True)
class Quote:
    """A quote a strategy wants resting on a venue: a price and size per side (None: no quote)."""

    venue: str = attrs.field(validator=_name)
    symbol: str = attrs.field(validator=_name)
    bid_price: int | None = None
    bid_size: int = attrs.field(default=0, validator=_non_negative_int)
    ask_price: int | None = None
    ask_size: int = attrs.field(default=0, validator=_non_negative_int)

    def __attrs_post_init__(self):
        if (self.bid_price is not None and self.ask_price is not None
                and self.bid_price >= self.ask_price):
            raise InvalidValue("bid_price", self.bid_price,
                               f"must be below ask_price {self.ask_price}")


@attrs.frozen(kw_only=True)
class ParentOrder:
    """A taker order for the host's router: ``size`` lots of ``symbol`` to buy or sell across
    venues, split by the router over the consolidated book into child orders (immediate or
    cancel) sent by the order manager. ``limit_price`` (ticks of ``symbol``) bounds the worst
    price taken; ``venues`` limits the venues used (empty: every venue trading the base);
    ``tag`` says who asked (a strategy name, "hedge")."""

    symbol: str = attrs.field(validator=_name)
    side: Side = attrs.field(converter=Side.parse)
    size: int = attrs.field(validator=_positive_int)
    limit_price: int | None = attrs.field(default=None)
    venues: tuple = attrs.field(default=(), converter=tuple)
    tag: str = ""

    @limit_price.validator
    def _check_limit(self, attribute, value):
        if value is not None:
            _positive_int(self, attribute, value)


@attrs.frozen(kw_only=True)
class Balance:
    """An asset held on a venue: ``total`` and ``available`` in the asset's smallest units."""

    venue: str = attrs.field(validator=_name)
    asset: str = attrs.field(validator=_name)
    total: int = attrs.field(validator=_non_negative_int)
    available: int = attrs.field(validator=_non_negative_int)

    @available.validator
    def _check_available(self, attribute, value):
        if value > self.total:
            raise InvalidValue("available", value, f"exceeds total {self.total}")


@attrs.frozen(kw_only=True)
class Transfer:
    """A movement of an asset between venues (or the collateral pool) planned by a rebalancer."""

    id: str = attrs.field(validator=_name)
    asset: str = attrs.field(validator=_name)
    amount: int = attrs.field(validator=_positive_int)
    source: str = attrs.field(validator=_name)
    destination: str = attrs.field(validator=_name)
    status: str = attrs.field(default="planned", validator=attrs.validators.in_(
        ("planned", "sent", "confirmed", "failed")))

    def __attrs_post_init__(self):
        if self.source == self.destination:
            raise InvalidValue("destination", self.destination, "is the same as source")
