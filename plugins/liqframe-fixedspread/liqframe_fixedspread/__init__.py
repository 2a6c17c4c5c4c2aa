"""Fixed-spread quoting around the consolidated mid, skewed against inventory.

Prices are ticks; the spread is computed in exact integer arithmetic from the decimal
``spread_bps`` so quotes never depend on float rounding.
"""

from decimal import ROUND_CEILING, Decimal, InvalidOperation

from liqframe.hookspecs import hookimpl
from liqframe.model import Quote


def _decimal(name, value, *, positive):
    if isinstance(value, float):
        raise ValueError(f"{name}: write {value!r} as a string to keep it exact")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{name}: {value!r} is not a decimal number") from None
    if not number.is_finite() or number < 0 or (positive and number == 0):
        raise ValueError(f"{name}: {value!r} must be a {'positive' if positive else 'non-negative'}"
                         " decimal number")
    return number


class FixedSpread:
    """Quote ``spread_bps`` wide around the mid on each venue, ``size_lots`` a side."""

    def __init__(self, *, symbol, venues, spread_bps="10", size_lots=1,
                 skew_ticks_per_lot="0"):
        self.symbol, self.venues = symbol, list(venues)
        self.spread_bps = _decimal("spread_bps", spread_bps, positive=True)
        if isinstance(size_lots, bool) or not isinstance(size_lots, int) or size_lots <= 0:
            raise ValueError(f"size_lots: {size_lots!r} must be a positive integer")
        self.size_lots = size_lots
        self.skew = _decimal("skew_ticks_per_lot", skew_ticks_per_lot, positive=False)
        self.base = symbol.split("/")[0]

    def half_spread(self, mid):
        """Half the spread in ticks at ``mid``, rounded away from the mid, at least one tick."""
        half = (Decimal(mid) * self.spread_bps / Decimal(20_000)).to_integral_value(ROUND_CEILING)
        return max(1, int(half))

    def quotes(self, state):
        mid = state.mid(self.symbol)
        if mid is None:
            return []
        half = self.half_spread(mid)
        quotes = []
        for venue in self.venues:
            held = state.inventory(venue, self.base)
            shift = int((self.skew * held).to_integral_value())
            bid, ask = mid - half - shift, mid + half - shift
            if bid <= 0:
                continue
            quotes.append(Quote(venue=venue, symbol=self.symbol, bid_price=bid,
                                bid_size=self.size_lots, ask_price=ask, ask_size=self.size_lots))
        return quotes


@hookimpl
def liqframe_quoting_strategies():
    return {"fixedspread": FixedSpread}
