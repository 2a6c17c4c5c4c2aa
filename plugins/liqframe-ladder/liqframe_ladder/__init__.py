"""Ladder quoting: several levels a side around the mid, skewed against inventory.

Distances are basis points of the mid, turned into ticks in exact decimal arithmetic and
rounded away from the mid. Level ``i`` (from 0) sits ``half_spread_bps + i·step_bps`` from the
centre, at least ``min_spread_bps / 2`` and ``i + 1`` ticks; the centre is the mid moved
``skew_bps_per_lot`` per lot of inventory against it. A side of a level further than
``band_bps`` from the mid is left out. Each level is one :class:`~liqframe.model.Quote`, so a
venue gets up to ``levels`` quotes, nearest first.

Quotes are kept while the mid stays within ``refresh_tolerance_bps`` of the mid they were made
at and the inventory is unchanged. ``size_jitter`` and ``refresh_jitter`` randomise each size
and each tolerance by up to that fraction, from a generator seeded with ``seed``, so the
quoting leaves no exact pattern yet replays the same for the same seed.
"""

import random
from decimal import ROUND_CEILING, Decimal, InvalidOperation

from liqframe.errors import InvalidValue
from liqframe.hookspecs import hookimpl
from liqframe.model import Quote


def _decimal(name, value, *, minimum=Decimal(0), maximum=None, positive=False):
    if isinstance(value, bool) or isinstance(value, float):
        raise InvalidValue(name, value, "must be a decimal string such as '2.5', not a float")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidValue(name, value, "is not a decimal number") from None
    if not number.is_finite() or number < minimum or (positive and number == 0):
        raise InvalidValue(name, value, f"must be a {'positive' if positive else 'non-negative'}"
                                        " decimal number")
    if maximum is not None and number > maximum:
        raise InvalidValue(name, value, f"must be at most {maximum}")
    return number


def _lots(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidValue(name, value, "must be a positive integer")
    return value


def _ticks(mid, bps):
    """``bps`` basis points of ``mid`` in whole ticks, rounded up."""
    return int((Decimal(mid) * bps / Decimal(10_000)).to_integral_value(ROUND_CEILING))


class Ladder:
    def __init__(self, *, symbol, venues, levels=3, half_spread_bps="5", step_bps="5",
                 sizes=1, skew_bps_per_lot="0", min_spread_bps="0", refresh_tolerance_bps="0",
                 band_bps=None, size_jitter="0", refresh_jitter="0", seed=None,
                 inventory_unit=1):
        self.symbol, self.venues = symbol, list(venues)
        self.base = symbol.split("/")[0]
        self.levels = _lots("levels", levels)
        self.half_spread = _decimal("half_spread_bps", half_spread_bps, positive=True)
        self.step = _decimal("step_bps", step_bps)
        if isinstance(sizes, int) and not isinstance(sizes, bool):
            sizes = [sizes] * self.levels
        if not isinstance(sizes, list | tuple) or len(sizes) != self.levels:
            raise InvalidValue("sizes", sizes, f"must be a lot count or a list of {self.levels}")
        self.sizes = [_lots(f"sizes[{i}]", size) for i, size in enumerate(sizes)]
        self.skew = _decimal("skew_bps_per_lot", skew_bps_per_lot)
        self.min_spread = _decimal("min_spread_bps", min_spread_bps)
        self.tolerance = _decimal("refresh_tolerance_bps", refresh_tolerance_bps)
        self.band = None if band_bps is None else _decimal("band_bps", band_bps, positive=True)
        self.size_jitter = _decimal("size_jitter", size_jitter, maximum=Decimal(1))
        self.refresh_jitter = _decimal("refresh_jitter", refresh_jitter, maximum=Decimal(1))
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise InvalidValue("seed", seed, "must be an integer")
        self.inventory_unit = _lots("inventory_unit", inventory_unit)
        self.random = random.Random(seed)
        self._kept = {}  # venue -> (mid, held, tolerance_ticks, quotes)

    def _jitter(self, value, fraction):
        if not fraction:
            return value
        return value * (1 + Decimal(self.random.uniform(-float(fraction), float(fraction))))

    def _size(self, level):
        size = self._jitter(Decimal(self.sizes[level]), self.size_jitter)
        return max(1, int(size.to_integral_value()))

    def _venue_quotes(self, venue, mid, held):
        lots = Decimal(held) / self.inventory_unit
        centre = mid - int((Decimal(mid) * self.skew * lots / 10_000).to_integral_value())
        reach = _ticks(mid, self.band) if self.band is not None else None
        quotes = []
        for level in range(self.levels):
            distance = max(self.half_spread + level * self.step, self.min_spread / 2)
            ticks = max(_ticks(mid, distance), level + 1)
            bid, ask = centre - ticks, centre + ticks
            if bid <= 0 or (reach is not None and mid - bid > reach):
                bid = None
            if reach is not None and ask - mid > reach:
                ask = None
            if bid is None and ask is None:
                continue
            size = self._size(level)
            quotes.append(Quote(venue=venue, symbol=self.symbol, bid_price=bid,
                                bid_size=size if bid is not None else 0, ask_price=ask,
                                ask_size=size if ask is not None else 0))
        return quotes

    def quotes(self, state):
        mid = state.mid(self.symbol)
        if mid is None:
            return []
        result = []
        for venue in self.venues:
            held = state.inventory(venue, self.base)
            kept = self._kept.get(venue)
            if kept and kept[1] == held and abs(mid - kept[0]) <= kept[2]:
                result.extend(kept[3])
                continue
            quotes = self._venue_quotes(venue, mid, held)
            tolerance = _ticks(mid, self._jitter(self.tolerance, self.refresh_jitter)) \
                if self.tolerance else -1
            self._kept[venue] = (mid, held, tolerance, quotes)
            result.extend(quotes)
        return result


@hookimpl
def liqframe_quoting_strategies():
    return {"ladder": Ladder}
