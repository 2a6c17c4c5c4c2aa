"""The consolidated multi-venue book of one instrument (pure-Python twin).

The compiled twin is ``liqframe/_core/_consolidated.pyx``: same names, same results, same errors.

The book is fed exactly the level changes a venue's own L2 book receives: ``apply(venue, side,
price, size)`` sets that venue's size at one of *its* price levels (size 0 removes the level),
and ``clear_venue`` / ``apply_snapshot`` resynchronise a venue. Prices arrive in the venue's
ticks and quote currency and sizes in its lots; the book converts them to the consolidated grid
(DESIGN "Numbers"): ``consolidated price = price * tick_multiplier * fx``, rounded against the
holder (bids down, asks up) so the book never shows a better price than can be had, and
``consolidated size = size * lot_multiplier``. ``fx`` is an exact rational (never a float);
changing it re-prices that venue's levels.

Which venues are in view: a venue leaves the view while it is *excluded* (``exclude_venue``) or
*lagging* (its last lag, receive time minus venue event time, is above its ``max_lag_ns``) and
comes back when included again or caught up. Leaving and rejoining are incremental: the
per-level aggregates keep every venue's contribution, and only the view's mask and the best
price move, so nothing is rebuilt.

Views over the venues in view, computed at read time by :meth:`ConsolidatedBook.top_n`:

- raw: each level's size is the sum of the venues' consolidated sizes there;
- weighted: each venue's contribution at a level is scaled by its weight (kept exactly in
  billionths) and rounded down, so liquidity is never overstated;
- fees: each venue's taker fee (kept exactly to 1e-4 bps) is folded into its consolidated
  prices, bids down and asks up, rounded against the holder;
- tiers: levels whose (possibly weighted) size is below ``min_size`` are hidden.

The best bid and ask (:meth:`ConsolidatedBook.best`) are those of the raw view and are kept
incrementally, so reading them costs nothing. When the best bid reaches or passes the best ask
(one venue's bid at or above another's ask) the book records a :data:`Crossing` event, drained
by :meth:`ConsolidatedBook.crossings`; the change that crossed it returns :data:`CROSSED`.

Duplicate suppression: a change may carry the venue's ``sequence``; one at or below the highest
sequence already applied for that venue (the same feed arriving over a second connection or
from another node) is ignored and returns :data:`DUPLICATE`. A message carrying several level
changes under one sequence goes through :meth:`ConsolidatedBook.apply_many`.

Bad input raises :class:`~liqframe.errors.InvalidValue` (naming the field and the value) or
:class:`~liqframe.errors.BookError`, and leaves the book exactly as it was.
"""

import heapq
import operator
from collections import namedtuple
from fractions import Fraction

import numpy as np

from liqframe.errors import BookError, InvalidValue

BID = 0
ASK = 1
#: Flags returned by the changing methods.
DUPLICATE = 1
CROSSED = 2

MAX_VENUES = 64
MAX_VENUE_ID = 2**20 - 1
#: The largest consolidated price; keeps fee-adjusted asks inside 64 bits.
MAX_PRICE = 2**62
#: The largest consolidated size of one venue at one level; sums over venues stay in 64 bits.
MAX_SIZE = 2**56
WEIGHT_SCALE = 10**9
#: Fee units in a whole: one basis point is 10_000 units.
FEE_SCALE = 10**8
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
#: How many empty ticks the best-price search steps over before scanning all levels instead.
WALK_BUDGET = 256

#: ``top_n`` result: ``prices`` and ``sizes`` (int64, best first), ``by_venue`` (int64, one row
#: per level and one column per venue, in ``venues`` order) and ``venues`` (the venue ids).
Levels = namedtuple("Levels", "prices sizes by_venue venues")
#: A crossing of the raw view: best ``bid`` at or above best ``ask``, with the ids of the venues
#: quoting each (in registration order).
Crossing = namedtuple("Crossing", "bid ask bid_venues ask_venues")


# --- validation: each helper returns the clean value or raises naming the field -------------


def _integer(value, field):
    """``value`` as a Python int within int64 (numpy integers accepted)."""
    if type(value) is not int:
        try:
            number = operator.index(value)
        except TypeError:
            raise InvalidValue(field, value, "is not an integer") from None
    else:
        number = value
    if not INT64_MIN <= number <= INT64_MAX:
        raise InvalidValue(field, value, "is outside the 64-bit integer range")
    return number


def _side(value):
    side = _integer(value, "side")
    if side != BID and side != ASK:
        raise InvalidValue("side", value, "is not BID (0) or ASK (1)")
    return side


def _positive(value, field):
    number = _integer(value, field)
    if number <= 0:
        raise InvalidValue(field, value, "must be positive")
    return number


def _non_negative(value, field):
    number = _integer(value, field)
    if number < 0:
        raise InvalidValue(field, value, "must not be negative")
    return number


def _optional(value, field):
    return None if value is None else _non_negative(value, field)


def _lag_sample(event_ns, receive_ns):
    """The lag of a change stamped with both times, None when unstamped."""
    if event_ns is None and receive_ns is None:
        return None
    if event_ns is None or receive_ns is None:
        missing = "event_ns" if event_ns is None else "receive_ns"
        raise InvalidValue(missing, None, "must be given together with the other timestamp")
    event = _integer(event_ns, "event_ns")
    lag = _integer(receive_ns, "receive_ns") - event
    if not INT64_MIN <= lag <= INT64_MAX:
        raise InvalidValue("receive_ns", receive_ns, "minus event_ns overflows 64 bits")
    return lag


def _exact(value, field):
    """``value`` as a Fraction: ints, Fractions, Decimals and decimal strings are exact."""
    try:
        return Fraction(value)
    except (TypeError, ValueError, ArithmeticError):
        raise InvalidValue(field, value, "is not a number") from None


def _rate(value):
    """An FX rate as a reduced ``(numerator, denominator)`` of positive int64s.

    Floats are refused: their binary value is not the rate the venue quoted."""
    if isinstance(value, float | np.floating):
        raise InvalidValue("fx", value, "is a float; pass an int, str, Decimal or Fraction")
    if isinstance(value, tuple):
        if len(value) != 2:
            raise InvalidValue("fx", value, "is not a (numerator, denominator) pair")
        numerator, denominator = _integer(value[0], "fx"), _integer(value[1], "fx")
        if denominator == 0:
            raise InvalidValue("fx", value, "has a zero denominator")
        rate = Fraction(numerator, denominator)
    else:
        rate = _exact(value, "fx")
    if rate <= 0:
        raise InvalidValue("fx", value, "must be positive")
    if rate.numerator > INT64_MAX or rate.denominator > INT64_MAX:
        raise InvalidValue("fx", value, "needs a numerator and denominator within 64 bits")
    return rate.numerator, rate.denominator


def _weight(value):
    """A weight in [0, 1] as an int number of billionths, rounded to the nearest."""
    weight = _exact(value, "weight")
    if not 0 <= weight <= 1:
        raise InvalidValue("weight", value, "must be between 0 and 1")
    return round(weight * WEIGHT_SCALE)


def _fee(value):
    """A taker fee in bps in [0, 10000) as an int number of FEE_SCALE units (1e-4 bps)."""
    fee = _exact(value, "taker_fee_bps")
    if not 0 <= fee < 10_000:
        raise InvalidValue("taker_fee_bps", value, "must be at least 0 and below 10000")
    return round(fee * (FEE_SCALE // 10_000))


def _max_lag(value):
    if value is None:
        return INT64_MAX
    return _non_negative(value, "max_lag_ns")


def _multiplier(value, field):
    return _positive(value, field)


def _factor(tick_multiplier, rate, fx):
    """The venue's price factor ``tick_multiplier * fx`` as (numerator, denominator)."""
    numerator = tick_multiplier * rate[0]
    if numerator > INT64_MAX:
        raise InvalidValue("fx", fx, f"times tick_multiplier {tick_multiplier} overflows 64 bits")
    return numerator, rate[1]


def _array(value, field):
    """A 1-D int64 numpy array, as batch calls take."""
    if not isinstance(value, np.ndarray) or value.dtype != np.int64 or value.ndim != 1:
        shown = f"{value.dtype} array of shape {value.shape}" if isinstance(
            value, np.ndarray) else type(value).__name__
        raise InvalidValue(field, shown, "must be a 1-D numpy int64 array")
    return value


def _pairs(value, field):
    """Snapshot levels as an int64 array of (price, size) rows; sequences of pairs accepted."""
    if not isinstance(value, np.ndarray):
        try:
            value = np.array(value) if len(value) else np.empty((0, 2), np.int64)
        except (TypeError, ValueError):
            raise InvalidValue(field, type(value).__name__,
                               "must be an int64 array of (price, size) rows") from None
    if value.dtype != np.int64 or value.ndim != 2 or value.shape[1] != 2:
        raise InvalidValue(field, f"{value.dtype} array of shape {value.shape}",
                           "must be an int64 array of (price, size) rows")
    return value


def _adjust(price, side, fee):
    """``price`` with a taker fee folded in, rounded against the holder."""
    if side == BID:
        return price * (FEE_SCALE - fee) // FEE_SCALE
    return -(-price * (FEE_SCALE + fee) // FEE_SCALE)


class _Venue:
    """One venue's settings, feed state and native levels (price -> size, in its own units)."""

    __slots__ = ("id", "name", "slot", "tick_multiplier", "lot_multiplier", "fx", "factor",
                 "weight", "fee", "max_lag", "lag", "sequence", "duplicates", "excluded",
                 "lagging", "native")

    def __init__(self, venue, name, slot):
        self.id, self.name, self.slot = venue, name, slot
        self.lag = self.sequence = None
        self.duplicates = 0
        self.excluded = self.lagging = False
        self.native = ({}, {})

    def convert(self, side, price):
        """``price`` on the consolidated grid, rounded against the holder."""
        numerator, denominator = self.factor
        if side == BID:
            converted = price * numerator // denominator
        else:
            converted = -(-price * numerator // denominator)
        if converted > MAX_PRICE:
            raise InvalidValue("price", price,
                               f"is above the consolidated grid's maximum {MAX_PRICE} once "
                               f"converted (factor {numerator}/{denominator})")
        return converted

    def lots(self, size):
        """``size`` in consolidated lots."""
        lots = size * self.lot_multiplier
        if lots > MAX_SIZE:
            raise InvalidValue("size", size, f"is more than {MAX_SIZE} consolidated lots")
        return lots


class ConsolidatedBook:
    """One instrument's book across venues; see the module docstring for the semantics."""

    def __init__(self):
        self._venues = []
        self._by_id = {}
        self._active = 0  # bit per venue slot in view
        # Per side: consolidated price -> {slot: consolidated size} and -> bit mask of slots.
        self._contrib = ({}, {})
        self._mask = ({}, {})
        self._best = [None, None]
        self._crossed = False
        self._crossings = []

    # --- venues --------------------------------------------------------------------------

    def add_venue(self, venue, name, *, tick_multiplier=1, lot_multiplier=1, fx=1,
                  taker_fee_bps=0, weight=1, max_lag_ns=None):
        """Register ``venue`` (an int id in [0, MAX_VENUE_ID]) under a display ``name``.

        ``tick_multiplier``: consolidated ticks per venue tick, before FX; ``lot_multiplier``:
        consolidated lots per venue lot; ``fx``: the exact rate from the venue's quote currency
        to the book's (int, str, Decimal, Fraction or (numerator, denominator))."""
        venue = _integer(venue, "venue")
        if not 0 <= venue <= MAX_VENUE_ID:
            raise InvalidValue("venue", venue, f"must be between 0 and {MAX_VENUE_ID}")
        if not isinstance(name, str) or not name:
            raise InvalidValue("name", name, "must be a non-empty string")
        tick_multiplier = _multiplier(tick_multiplier, "tick_multiplier")
        lot_multiplier = _multiplier(lot_multiplier, "lot_multiplier")
        rate = _rate(fx)
        factor = _factor(tick_multiplier, rate, fx)
        fee, weight, max_lag = _fee(taker_fee_bps), _weight(weight), _max_lag(max_lag_ns)
        if venue in self._by_id:
            raise BookError(f"venue {venue} is already registered as {self._by_id[venue].name!r}")
        if len(self._venues) >= MAX_VENUES:
            raise BookError(f"a consolidated book holds at most {MAX_VENUES} venues")
        record = _Venue(venue, name, len(self._venues))
        record.tick_multiplier, record.lot_multiplier = tick_multiplier, lot_multiplier
        record.fx, record.factor = rate, factor
        record.fee, record.weight, record.max_lag = fee, weight, max_lag
        self._venues.append(record)
        self._by_id[venue] = record
        self._active |= 1 << record.slot

    def venue_ids(self):
        """The registered venue ids, in registration order (the ``by_venue`` columns)."""
        return tuple(v.id for v in self._venues)

    def venue_state(self, venue):
        """A dict describing ``venue``: settings, feed state and level counts."""
        v = self._venue(venue)
        return {
            "venue": v.id, "name": v.name, "tick_multiplier": v.tick_multiplier,
            "lot_multiplier": v.lot_multiplier, "fx": Fraction(*v.fx),
            "taker_fee_bps": Fraction(v.fee, FEE_SCALE // 10_000),
            "weight": Fraction(v.weight, WEIGHT_SCALE),
            "max_lag_ns": None if v.max_lag == INT64_MAX else v.max_lag,
            "lag_ns": v.lag, "sequence": v.sequence, "duplicates": v.duplicates,
            "excluded": v.excluded, "lagging": v.lagging,
            "active": bool(self._active >> v.slot & 1),
            "bid_levels": len(v.native[BID]), "ask_levels": len(v.native[ASK]),
        }

    def venue_levels(self, venue, side):
        """``venue``'s own levels on ``side`` as an int64 (k, 2) array of native (price, size),
        best first."""
        v, side = self._venue(venue), _side(side)
        rows = sorted(v.native[side].items(), reverse=side == BID)
        return np.array(rows, dtype=np.int64).reshape(len(rows), 2)

    def set_weight(self, venue, weight):
        """Scale ``venue``'s contribution in the weighted view by ``weight`` in [0, 1]."""
        v = self._venue(venue)
        v.weight = _weight(weight)

    def set_fee(self, venue, taker_fee_bps):
        """Set ``venue``'s taker fee in basis points, used by the fee-adjusted view."""
        v = self._venue(venue)
        v.fee = _fee(taker_fee_bps)

    def set_fx(self, venue, fx):
        """Set ``venue``'s exact FX rate into the book's currency and re-price its levels
        (O(venue levels)). Returns :data:`CROSSED` when the new prices crossed the book."""
        v = self._venue(venue)
        rate = _rate(fx)
        factor = _factor(v.tick_multiplier, rate, fx)
        for side in (BID, ASK):
            if v.native[side]:
                self._convert_with(v, factor, side, max(v.native[side]))
        self._reprice(v, factor)
        v.fx = rate
        return self._check_crossing()

    def set_max_lag(self, venue, max_lag_ns):
        """Set the lag (ns) above which ``venue`` leaves the view; None for no limit."""
        v = self._venue(venue)
        v.max_lag = _max_lag(max_lag_ns)
        self._update_lagging(v)
        return self._check_crossing()

    def exclude_venue(self, venue):
        """Take ``venue`` out of the view (down, stale) until :meth:`include_venue`; O(1)."""
        v = self._venue(venue)
        v.excluded = True
        self._refresh_active(v)
        self._check_crossing()

    def include_venue(self, venue):
        """Bring an excluded ``venue`` back (it stays out while lagging). O(venue levels)."""
        v = self._venue(venue)
        v.excluded = False
        self._refresh_active(v)
        return self._check_crossing()

    def record_lag(self, venue, event_ns, receive_ns):
        """Record a lag sample for ``venue`` without a book change (a heartbeat or trade)."""
        v = self._venue(venue)
        lag = _lag_sample(event_ns, receive_ns)
        v.lag = lag
        self._update_lagging(v)
        return self._check_crossing()

    # --- changes ---------------------------------------------------------------------------

    def apply(self, venue, side, price, size, sequence=None, event_ns=None, receive_ns=None):
        """Set ``venue``'s size at its native ``price`` on ``side`` (0 removes the level).

        Returns 0, :data:`DUPLICATE` (ignored: ``sequence`` not above the venue's last) or
        :data:`CROSSED` (this change crossed the book; an event was recorded)."""
        v = self._venue(venue)
        side = _side(side)
        price = _positive(price, "price")
        size = _non_negative(size, "size")
        sequence = _optional(sequence, "sequence")
        lag = _lag_sample(event_ns, receive_ns)
        converted = v.convert(side, price)
        lots = v.lots(size)
        if self._is_duplicate(v, sequence):
            return DUPLICATE
        self._set_level(v, side, price, converted, size, lots)
        return self._after_change(v, sequence, lag)

    def apply_many(self, venue, sides, prices, sizes, sequence=None, event_ns=None,
                   receive_ns=None):
        """Apply one venue message of several changes (1-D int64 arrays) under one sequence.

        All or nothing: a bad entry raises and nothing is applied. Returns flags as apply."""
        v = self._venue(venue)
        sides, prices = _array(sides, "sides"), _array(prices, "prices")
        sizes = _array(sizes, "sizes")
        for field, array in (("prices", prices), ("sizes", sizes)):
            if len(array) != len(sides):
                raise InvalidValue(field, len(array),
                                   f"entries where sides has {len(sides)}: lengths must match")
        sequence = _optional(sequence, "sequence")
        lag = _lag_sample(event_ns, receive_ns)
        changes = [self._checked_change(v, side, price, size, i)
                   for i, (side, price, size) in enumerate(
                       zip(sides.tolist(), prices.tolist(), sizes.tolist()))]
        if self._is_duplicate(v, sequence):
            return DUPLICATE
        self._set_levels(v, changes)
        return self._after_change(v, sequence, lag)

    def apply_snapshot(self, venue, bids, asks, sequence=None, event_ns=None, receive_ns=None):
        """Replace ``venue``'s levels by ``bids`` and ``asks`` ((price, size) rows).

        A snapshot whose ``sequence`` is not above the venue's last is a duplicate; after a
        gap, :meth:`clear_venue` first (which forgets the sequence). Returns flags as apply."""
        v = self._venue(venue)
        bids, asks = _pairs(bids, "bids"), _pairs(asks, "asks")
        sequence = _optional(sequence, "sequence")
        lag = _lag_sample(event_ns, receive_ns)
        changes = []
        for side, field, rows in ((BID, "bids", bids), (ASK, "asks", asks)):
            seen = set()
            for i, (price, size) in enumerate(rows.tolist()):
                change = self._checked_change(v, side, price, size, i, field)
                if change[1] in seen:
                    raise BookError(f"{field}: price {change[1]} appears twice")
                seen.add(change[1])
                if change[3]:
                    changes.append(change)
        if self._is_duplicate(v, sequence):
            return DUPLICATE
        old = self._clear_levels(v)
        try:
            self._set_levels(v, changes)
        except BookError:
            self._clear_levels(v)
            self._set_levels(v, old)
            raise
        return self._after_change(v, sequence, lag)

    def clear_venue(self, venue):
        """Remove all of ``venue``'s levels and forget its sequence (before a resync)."""
        v = self._venue(venue)
        self._clear_levels(v)
        v.sequence = None
        self._check_crossing()

    # --- reads -----------------------------------------------------------------------------

    def best_bid(self):
        """The best consolidated bid price of the venues in view, or None."""
        return self._best[BID]

    def best_ask(self):
        """The best consolidated ask price of the venues in view, or None."""
        return self._best[ASK]

    def best(self):
        """``(best_bid(), best_ask())`` in one call."""
        return self._best[BID], self._best[ASK]

    @property
    def crossed(self):
        """Whether the best bid is at or above the best ask right now."""
        return self._crossed

    def crossings(self):
        """Drain the :data:`Crossing` events recorded since the last call, oldest first."""
        events, self._crossings = self._crossings, []
        return events

    def top_n(self, side, n, *, weighted=False, fees=False, min_size=0):
        """The best ``n`` levels of ``side`` in the chosen view, as :data:`Levels`.

        ``weighted`` scales each venue's contribution by its weight (rounded down), ``fees``
        folds each venue's taker fee into its prices, and levels below ``min_size`` lots are
        hidden (as are levels left empty)."""
        side = _side(side)
        n = _non_negative(n, "n")
        min_size = _non_negative(min_size, "min_size")
        prices = sorted((p for p, m in self._mask[side].items() if m & self._active),
                        reverse=side == BID)
        return self._view(side, n, prices, bool(weighted), bool(fees), max(min_size, 1))

    # --- internals -------------------------------------------------------------------------

    def _venue(self, venue):
        record = self._by_id.get(venue) if type(venue) is int else self._by_index(venue)
        if record is None:
            raise BookError(f"venue {venue!r} is not registered; add it with add_venue()")
        return record

    def _by_index(self, venue):
        try:
            return self._by_id.get(operator.index(venue))
        except TypeError:
            return None

    def _checked_change(self, v, side, price, size, index, field=None):
        """One validated batch entry as (side, price, converted, size, lots)."""
        where = f"{field}[{index}]" if field else f"[{index}]"
        if field is None and side != BID and side != ASK:
            raise InvalidValue(f"sides{where}", side, "is not BID (0) or ASK (1)")
        price = _positive(price, f"{field}{where}[0]" if field else f"prices{where}")
        size = _non_negative(size, f"{field}{where}[1]" if field else f"sizes{where}")
        return side, price, v.convert(side, price), size, v.lots(size)

    def _is_duplicate(self, v, sequence):
        if sequence is not None and v.sequence is not None and sequence <= v.sequence:
            v.duplicates += 1
            return True
        return False

    def _after_change(self, v, sequence, lag):
        if sequence is not None:
            v.sequence = sequence
        if lag is not None:
            v.lag = lag
            self._update_lagging(v)
        return self._check_crossing()

    def _convert_with(self, v, factor, side, price):
        saved = v.factor
        v.factor = factor
        try:
            return v.convert(side, price)
        finally:
            v.factor = saved

    def _set_levels(self, v, changes):
        """Apply validated changes in order; on a level overflow undo them and re-raise."""
        undo = []
        try:
            for side, price, converted, size, lots in changes:
                old = v.native[side].get(price, 0)
                self._set_level(v, side, price, converted, size, lots)
                undo.append((side, price, converted, old, old * v.lot_multiplier))
        except BookError:
            for side, price, converted, size, lots in reversed(undo):
                self._set_level(v, side, price, converted, size, lots)
            raise

    def _clear_levels(self, v):
        """Remove all of ``v``'s levels; return them as changes that would restore them."""
        old = []
        for side in (BID, ASK):
            for price, size in sorted(v.native[side].items()):
                old.append((side, price, v.convert(side, price), size,
                            size * v.lot_multiplier))
        for side, price, converted, _size, _lots in old:
            self._set_level(v, side, price, converted, 0, 0)
        return old

    def _reprice(self, v, factor):
        """Move ``v``'s levels to the prices ``factor`` gives them; all or nothing."""
        old = self._clear_levels(v)
        saved, v.factor = v.factor, factor
        moved = [(s, p, v.convert(s, p), q, lots) for s, p, _c, q, lots in old]
        try:
            self._set_levels(v, moved)
        except BookError:
            v.factor = saved
            self._set_levels(v, old)
            raise

    def _set_level(self, v, side, price, converted, size, lots):
        """Set one native level; raises BookError before any change if a level overflows."""
        native = v.native[side]
        delta = lots - native.get(price, 0) * v.lot_multiplier
        if delta == 0:
            return
        contrib = self._contrib[side].get(converted)
        current = contrib.get(v.slot, 0) if contrib else 0
        total = current + delta
        if total > MAX_SIZE:
            raise BookError(f"venue {v.id}: {('bid', 'ask')[side]} size at consolidated "
                            f"price {converted} would exceed {MAX_SIZE} lots")
        if size:
            native[price] = size
        else:
            del native[price]
        self._set_contribution(side, converted, v.slot, total)

    def _set_contribution(self, side, price, slot, total):
        masks, contribs = self._mask[side], self._contrib[side]
        bit = 1 << slot
        if total:
            contribs.setdefault(price, {})[slot] = total
            masks[price] = masks.get(price, 0) | bit
            best = self._best[side]
            if self._active & bit and (best is None or self._better(side, price, best)):
                self._best[side] = price
            return
        contrib = contribs[price]
        del contrib[slot]
        mask = masks[price] & ~bit
        if mask:
            masks[price] = mask
        else:
            del masks[price], contribs[price]
        if price == self._best[side] and not mask & self._active:
            self._best[side] = self._walk(side, price)

    @staticmethod
    def _better(side, price, other):
        return price > other if side == BID else price < other

    def _walk(self, side, start):
        """The best active price worse than ``start`` (the old best, now gone), or None."""
        step = -1 if side == BID else 1
        masks, active = self._mask[side], self._active
        price = start
        for _ in range(WALK_BUDGET):
            price += step
            if masks.get(price, 0) & active:
                return price
        return self._scan(side)

    def _scan(self, side):
        prices = [p for p, m in self._mask[side].items() if m & self._active]
        if not prices:
            return None
        return max(prices) if side == BID else min(prices)

    def _update_lagging(self, v):
        v.lagging = v.lag is not None and v.lag > v.max_lag
        self._refresh_active(v)

    def _refresh_active(self, v):
        """Put ``v`` in or out of the view after its exclusion or lag changed."""
        bit = 1 << v.slot
        active = not (v.excluded or v.lagging)
        if active == bool(self._active & bit):
            return
        if not active:
            self._active &= ~bit
            for side in (BID, ASK):
                best = self._best[side]
                if best is not None and not self._mask[side][best] & self._active:
                    self._best[side] = self._walk(side, best)
            return
        self._active |= bit
        for side in (BID, ASK):
            if v.native[side]:
                edge = max(v.native[side]) if side == BID else min(v.native[side])
                price = v.convert(side, edge)
                best = self._best[side]
                if best is None or self._better(side, price, best):
                    self._best[side] = price

    def _check_crossing(self):
        """Record a Crossing when the book has just become crossed; return CROSSED if so."""
        bid, ask = self._best
        crossed = bid is not None and ask is not None and bid >= ask
        was, self._crossed = self._crossed, crossed
        if not crossed or was:
            return 0
        self._crossings.append(Crossing(bid, ask, self._venues_at(BID, bid),
                                        self._venues_at(ASK, ask)))
        return CROSSED

    def _venues_at(self, side, price):
        mask = self._mask[side][price] & self._active
        return tuple(v.id for v in self._venues if mask >> v.slot & 1)

    def _view(self, side, n, prices, weighted, fees, threshold):
        """Build the top ``n`` levels of a view from the raw levels ``prices`` (best first).

        Each raw level's contributions are re-priced (fees) and re-sized (weights) into
        pending levels; a pending level is final once the walk passes its price, because fees
        only ever make prices worse, so later raw levels cannot reach it."""
        columns = len(self._venues)
        pending, heap, final = {}, [], []
        sign = -1 if side == BID else 1
        for price in prices:
            _finalize(pending, heap, sign * price, final, threshold)
            if len(final) >= n:
                break
            contrib = self._contrib[side][price]
            for slot in sorted(contrib):
                v = self._venues[slot]
                if not self._active >> slot & 1:
                    continue
                size = contrib[slot]
                if weighted:
                    size = size * v.weight // WEIGHT_SCALE
                if not size:
                    continue
                shown = _adjust(price, side, v.fee) if fees else price
                entry = pending.get(shown)
                if entry is None:
                    entry = pending[shown] = [0, [0] * columns]
                    heapq.heappush(heap, sign * shown)
                entry[0] += size
                entry[1][slot] += size
        else:
            _finalize(pending, heap, None, final, threshold)
        final = final[:n]
        return Levels(np.array([sign * k for k, _, _ in final], dtype=np.int64),
                      np.array([t for _, t, _ in final], dtype=np.int64),
                      np.array([r for _, _, r in final], dtype=np.int64).reshape(
                          len(final), columns),
                      np.array(self.venue_ids(), dtype=np.int64))


def _finalize(pending, heap, limit, final, threshold):
    """Move pending levels whose heap key is below ``limit`` (all when None) into ``final``,
    keeping those of at least ``threshold`` lots."""
    while heap and (limit is None or heap[0] < limit):
        key = heapq.heappop(heap)
        total, row = pending.pop(abs(key))
        if total >= threshold:
            final.append((key, total, row))


class BookSink:
    """One venue's feed into ``book``: a callable with the ``on_book_columns`` signature
    ``(symbol, sides, prices, sizes, sequence, event_ns, received_ns)`` that applies each
    message to ``venue`` with :meth:`ConsolidatedBook.apply_many` (with its lag sample when
    ``lag`` and the message has an event time, ``event_ns`` 0 meaning none; the sequence is
    the connector's to check).

    Give one as a :class:`~liqframe.core.BookPipe`'s sink: the compiled pipe then applies each
    message to the consolidated book in C, with no Python call.
    """

    __slots__ = ("book", "venue", "lag")

    def __init__(self, book, venue, *, lag=True):
        if not isinstance(book, ConsolidatedBook):
            raise TypeError(f"book: expected a ConsolidatedBook, got {type(book).__name__}")
        book._venue(venue)  # an unknown venue fails now
        self.book, self.venue, self.lag = book, venue, bool(lag)

    def __call__(self, symbol, sides, prices, sizes, sequence=None, event_ns=0,
                 received_ns=0):
        """Apply one message of changes (the ``on_book_columns`` signature)."""
        if self.lag and event_ns:
            return self.book.apply_many(self.venue, sides, prices, sizes, event_ns=event_ns,
                                        receive_ns=received_ns)
        return self.book.apply_many(self.venue, sides, prices, sizes)

    def __repr__(self):
        return f"BookSink(venue {self.venue!r})"
