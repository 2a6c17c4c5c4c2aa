"""The built-in ``limits`` risk model: hard caps, and the kill switch when one is breached.

Every host gets it. ``max_order_lots`` clips each quote and refuses larger orders (the cap it
always had). The other limits are hard stops: breaching one trips the kill switch
(:class:`~liqframe.interfaces.KillSwitch`), and the host cancels every open order on every
venue and refuses new ones until it is reset:

``max_position``
    Net position in a base asset on one venue, in base units (``"0.5"`` BTC), from our fills.
``max_total_position``
    Net position in a base asset across all venues, in base units.
``max_order_notional``
    Price times size of one order, in ``currency`` (or, without ``currency``, in the order's
    own quote currency). A strategy or the router asking for a bigger order is refused and
    trips the switch: something upstream is wrong.
``max_daily_loss``
    Loss (realised plus unrealised, less fees, in ``currency``) since the first tick the host
    saw in the current UTC day. A restart counts from its own first tick.

Fuller models (volatility scaling, venue health, exposure) are in the ``liqframe-risk``
plugin. :func:`decimal_option` and :func:`integer_option` check plugin options the same way.
"""

import datetime
from decimal import Decimal, InvalidOperation

import attrs

from liqframe.errors import InvalidValue
from liqframe.hookspecs import hookimpl


def decimal_option(name, value, *, positive=False, maximum=None, optional=False):
    """A non-negative decimal option given as a string (or int); ``"0"`` is allowed unless
    ``positive``. Raises :class:`~liqframe.errors.InvalidValue` naming ``name``."""
    if value is None and optional:
        return None
    if isinstance(value, float | bool) or not isinstance(value, str | int | Decimal):
        raise InvalidValue(name, value, "must be a decimal string such as \"0.5\"")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidValue(name, value, "is not a decimal number") from None
    if not number.is_finite() or number < 0 or (positive and number == 0):
        raise InvalidValue(name, value, f"must be a {'positive' if positive else 'non-negative'}"
                           " decimal number")
    if maximum is not None and number > maximum:
        raise InvalidValue(name, value, f"must be at most {maximum}")
    return number


def integer_option(name, value, *, minimum=0):
    """An integer option at least ``minimum``; raises InvalidValue naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(name, value, "must be an integer")
    if value < minimum:
        raise InvalidValue(name, value, f"must be at least {minimum}")
    return value


def text_option(name, value, *, optional=False):
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(name, value, "must be a non-empty string")
    return value


def _utc_day():
    return datetime.datetime.now(datetime.UTC).date()


class Limits:
    """Size caps, position, notional and daily-loss limits with a kill switch (0: no limit)."""

    def __init__(self, *, max_order_lots=0, max_position="0", max_total_position="0",
                 max_order_notional="0", max_daily_loss="0", currency=None):
        self.max_order_lots = integer_option("max_order_lots", max_order_lots)
        self.max_position = decimal_option("max_position", max_position)
        self.max_total_position = decimal_option("max_total_position", max_total_position)
        self.max_order_notional = decimal_option("max_order_notional", max_order_notional)
        self.max_daily_loss = decimal_option("max_daily_loss", max_daily_loss)
        self.currency = text_option("currency", currency, optional=True)
        if self.max_daily_loss and self.currency is None:
            raise InvalidValue("currency", currency, "is required with max_daily_loss: the "
                               "currency losses are counted in, e.g. \"USDT\"")
        self.breach = None  # a breach seen by veto, reported by kill_switch
        self.day = self.day_start = None

    # -- RiskModel --------------------------------------------------------------------------

    def adjust(self, quotes, state):
        if not self.max_order_lots:
            return list(quotes)
        return [attrs.evolve(q, bid_size=min(q.bid_size, self.max_order_lots),
                             ask_size=min(q.ask_size, self.max_order_lots)) for q in quotes]

    def veto(self, order, state):
        if self.max_order_lots and order.size > self.max_order_lots:
            return f"order size {order.size} lots exceeds max_order_lots {self.max_order_lots}"
        if self.max_order_notional and order.price is not None:
            notional = self._notional(order, state)
            if notional is not None and notional > self.max_order_notional:
                reason = (f"order {order.id} on {order.venue}: notional {notional:.2f} "
                          f"{self.currency or ''} exceeds max_order_notional "
                          f"{self.max_order_notional}").replace("  ", " ")
                self.breach = self.breach or reason
                return reason
        return None

    def venue_weights(self, state):
        return {}

    # -- KillSwitch -------------------------------------------------------------------------

    def kill_switch(self, state):
        if self.breach:
            return self.breach
        if (self.max_position or self.max_total_position) and hasattr(state, "position"):
            reason = self._position_breach(state)
            if reason:
                return reason
        if self.max_daily_loss and hasattr(state, "pnl"):
            return self._loss_breach(state)
        return None

    def reset(self):
        self.breach = None

    # -- the limits -------------------------------------------------------------------------

    def _notional(self, order, state):
        instrument = state.instrument(order.symbol) if hasattr(state, "instrument") else None
        if instrument is None:
            return None
        notional = order.price * instrument.price_increment * order.size * \
            instrument.size_increment
        if self.currency is None or self.currency == instrument.quote:
            return notional
        return state.value(notional, instrument.quote, self.currency)

    def _position_breach(self, state):
        totals = {}
        for venue, symbols in state.venues().items():
            held = {}
            for symbol in symbols:
                instrument = state.instrument(symbol)
                amount = state.position(venue, symbol) * instrument.size_increment
                held[instrument.base] = held.get(instrument.base, 0) + amount
            for base, amount in held.items():
                totals[base] = totals.get(base, 0) + amount
                if self.max_position and abs(amount) > self.max_position:
                    return (f"position of {amount} {base} on {venue} exceeds max_position "
                            f"{self.max_position}")
        for base, amount in totals.items():
            if self.max_total_position and abs(amount) > self.max_total_position:
                return (f"total position of {amount} {base} exceeds max_total_position "
                        f"{self.max_total_position}")
        return None

    def _loss_breach(self, state):
        pnl = state.pnl(self.currency)
        if pnl is None:
            return None
        today = _utc_day()
        if today != self.day:
            self.day, self.day_start = today, pnl
        loss = self.day_start - pnl
        if loss > self.max_daily_loss:
            return (f"loss of {loss:.4f} {self.currency} today exceeds max_daily_loss "
                    f"{self.max_daily_loss}")
        return None


#: The name it had when it only capped sizes.
SizeLimits = Limits


@hookimpl
def liqframe_risk_models():
    return {"limits": Limits}
