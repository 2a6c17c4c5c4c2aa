"""Smart order router: the cheapest expected split of a parent order across venues (pure twin).

The compiled twin is ``liqframe/_core/_router.pyx``: same names, same results, same errors. It
shares this module's validation, result types, fallback and re-routing, and replaces the two
exact kernels (the greedy walk and the dynamic programme) with C.

Units. Prices are int ticks and sizes int lots of one common grid (the consolidated grid). Money
is an int number of *cost units*: one cost unit is ``tick * lot / COST_SCALE`` of quote currency,
with ``COST_SCALE = FEE_SCALE * PROB_SCALE = 10**12``; taker fees are kept exactly in 1e-4 bps
(``FEE_SCALE = 10**8`` per whole) and fill probabilities in 1e-4 (``PROB_SCALE = 10**4``), so
every cost below is an exact integer and every decimal input converts without rounding.

The model. A parent order to ``BUY`` takes asks, one to ``SELL`` hits bids. Venue ``v`` has a
taker fee ``f`` (a fraction), a fixed fee ``F`` per child order sent (paid whether it fills or
not), a minimum order size, a lot size (a child's quantity is a multiple of it), a balance (base
lots for a sell, cost units of quote for a buy, fees included), a fill probability ``pi``, a
latency and a weight in [0, 1]. Each level's usable size is ``floor(size * weight)`` (so a
distrusted venue's liquidity is haircut, as in the consolidated book's weighted view) and only
levels at or better than the limit price count. A child of ``q`` lots on ``v`` taking levels of
prices ``p_1..p_q`` (lot by lot) has the *expected all-in cost*::

    F + sum_k [ pi * p_k * (1 + f) + (1 - pi) * P ]          (buy)
    F - sum_k [ pi * p_k * (1 - f) + (1 - pi) * P ]          (sell: negative, money received)

where ``P``, the *fallback price*, is what a lot that does not fill is expected to cost to
complete elsewhere: the ``fallback_price`` argument, else the limit price, else the worst usable
price on the side across all venues. So a venue that fills with probability ``pi`` costs its
price ``pi`` of the time and the fallback price the rest.

The route fills as much of the parent as the venues can (limit, balances, lots, minimum sizes)
and, among the splits that fill that much, has the lowest expected all-in cost. Ties: the
greedy gives lots of equal cost to the lower latency, then to the venue added first; the
programme's rule is under ``"dp"`` below.

Methods (``Route.method``):

- ``"greedy"``: when no venue in play has a fixed fee, a lot size above 1 or a minimum above 1,
  each lot's cost depends only on its level, and per venue those costs never fall, so taking
  lots cheapest first (the walk of the fee-adjusted merged book) is optimal.
- ``"dp"``: otherwise, an exact dynamic programme over venues and quantity, in units of the
  greatest common divisor of the lot sizes. Each venue's cost of ``j`` lots is convex in ``j``
  apart from the fixed fee, so each venue's step is a min-plus convolution with a convex
  function, done by divide and conquer over monotone optimal splits. *Bounded*: when the
  rounded greedy below fills the target (so the most any split fills is known) its cost ``U``
  is an upper bound and the Lagrangian ``B(lam) = lam*N + sum_k min_q (h_k(q) - lam*q)`` a lower
  bound on the least cost; every optimal split has reduced costs ``h_k(q_k) - lam*q_k - m_k``
  (each >= 0) summing to at most ``U - B``, so the programme keeps only those quantities per
  venue and those running totals per stage, and returns the full programme's split
  (docs/howto/route-orders.rst, "Exactness", has the proof). Otherwise it runs over every
  quantity. Among optimal splits: the last venue takes nothing if it can, else the most it
  can; then the venue before it, given that, and so on.
- ``"fallback"``: when the programme would keep more than ``max_cells`` states (summed over
  venues), runs past ``time_limit_ms``, or is predicted to (states x log2(window) x
  ``DP_NS_PER_STEP``, each twin its own): the greedy walk with each venue capped to
  whole lots, each share rounded down to the venue's lot and dropped below its minimum, the
  rest topped up chunk by chunk cheapest per lot first (a venue's first chunk is its minimum
  and carries its fixed fee); then local improvement: drop the venue whose removal fills more
  or, filling as much, costs least, and repeat while that helps.
  Always feasible (lots, minimums, caps, limit), usually optimal, not guaranteed so: it may
  cost more, and fill less when lot sizes do not add up, than the exact programme.

Execution options: ``jitter_us`` adds a seeded uniform random delay in ``[0, jitter_us]`` to
each child's send delay; ``max_slices`` cuts each child into up to that many slices of random
sizes (multiples of the venue's lot, each at least its minimum), each a separate child paying
the fixed fee. Both defend against front-running at a known, reported price; ``seed`` makes
them reproducible. Send delays are set so that the children arrive together: a child's delay
is the slowest child's latency minus its venue's latency (plus jitter).

Re-routing: :class:`Rerouter` keeps a parent order's state; after a child is rejected, partly
filled or its venue goes down, ``report`` books what filled and ``route`` sends the remainder
over the venues left.

Bad input raises :class:`~liqframe.errors.InvalidValue` naming the field, or
:class:`~liqframe.errors.RouteError` (nothing to route on); the router is left unchanged.
"""

import heapq
import math
import random
import time
from collections import namedtuple
from fractions import Fraction

import numpy as np

from liqframe._core.consolidated import _exact, _integer
from liqframe.errors import InvalidValue, RouteError

BUY = 1
SELL = -1
#: Sides of a venue's book, as in :class:`~liqframe.core.L2Book`.
BID = 0
ASK = 1
FEE_SCALE = 10**8
PROB_SCALE = 10**4
WEIGHT_SCALE = 10**9
COST_SCALE = FEE_SCALE * PROB_SCALE
MAX_VENUES = 64
#: Prices, sizes, quantities and a venue's total usable depth stay below 2**40, fixed fees
#: below 2**100 and balances below 2**120, so every cost fits a signed 128-bit integer.
MAX_PRICE = 2**40 - 1
MAX_LOTS = 2**40 - 1
MAX_FIXED_FEE = 2**100
MAX_BALANCE = 2**120
#: Unreachable states of the programme; feasible totals stay below UNREACHABLE // 2.
UNREACHABLE = 2**125
DEFAULT_TIME_LIMIT_MS = 50
DEFAULT_MAX_CELLS = 4_000_000
#: Nanoseconds one step of the programme takes (about; each twin its own), to predict its run
#: time: when the prediction is past the time bound the programme is not started.
DP_NS_PER_STEP = 300
DP_NS_PER_STEP_COMPILED = 3
GREEDY = "greedy"
DP = "dp"
FALLBACK = "fallback"
STATUSES = ("filled", "partial", "rejected", "down")

#: One child order: ``venue`` (index), ``name``, ``quantity`` (lots), ``limit_price`` (ticks: the
#: worst level it takes), ``notional`` (sum of price * lots, ticks*lots), ``fee`` (taker and
#: fixed fee if it all fills, cost units), ``cost`` (expected all-in cost, cost units, negative
#: for a sell) and ``delay_us`` (when to send it, microseconds after the first).
Child = namedtuple("Child", "venue name quantity limit_price notional fee cost delay_us")


class Route(namedtuple("Route", "side quantity filled children notional fees cost method")):
    """A routed parent order: ``side`` (BUY/SELL), ``quantity`` asked, ``filled`` (lots routed),
    ``children`` (tuple of :data:`Child`), totals ``notional`` (ticks*lots), ``fees`` and
    ``cost`` (expected all-in, cost units, negative for a sell) and ``method``."""

    __slots__ = ()

    @property
    def cash(self):
        """Cost units paid (buy) or received (sell) if every child fills, fees included."""
        gross = self.notional * COST_SCALE
        return gross + self.fees if self.side == BUY else gross - self.fees

    @property
    def average_price(self):
        """The average price in ticks (a Fraction), None when nothing was routed."""
        return Fraction(self.notional, self.filled) if self.filled else None


# --- validation ------------------------------------------------------------------------------


def parse_side(value):
    """BUY or SELL from ``1``/``-1`` or ``"buy"``/``"sell"``."""
    if isinstance(value, str):
        side = {"buy": BUY, "sell": SELL}.get(value.lower())
        if side is None:
            raise InvalidValue("side", value, "is not 'buy' or 'sell'")
        return side
    side = _integer(value, "side")
    if side not in (BUY, SELL):
        raise InvalidValue("side", value, "is not BUY (1), SELL (-1), 'buy' or 'sell'")
    return side


def _bounded(value, field, low, high):
    number = _integer(value, field)
    if not low <= number <= high:
        raise InvalidValue(field, value, f"must be between {low} and {high}")
    return number


def _scaled(value, field, scale, high, *, rounding=round):
    """A decimal-like number in [0, high] as an int count of 1/scale units."""
    if isinstance(value, float):
        value = repr(value)  # the decimal the user wrote, not its binary neighbour
    number = _exact(value, field)
    if number < 0:
        raise InvalidValue(field, value, "must not be negative")
    if number > high:
        raise InvalidValue(field, value, f"must be at most {high}")
    return rounding(number * scale)


class VenueParams(namedtuple("VenueParams", "name fee fixed_fee min_size lot_size base_balance "
                                            "quote_balance probability latency_us weight")):
    """A venue's validated routing parameters in core units (see :meth:`Router.add_venue`)."""

    __slots__ = ()


def venue_params(name, *, taker_fee_bps=0, fixed_fee=0, min_size=0, lot_size=1,
                 base_balance=None, quote_balance=None, fill_probability=1, latency_ms=0,
                 weight=1):
    """Validate :meth:`Router.add_venue`'s arguments into :class:`VenueParams`."""
    if not isinstance(name, str) or not name:
        raise InvalidValue("name", name, "must be a non-empty string")
    fee = _scaled(taker_fee_bps, "taker_fee_bps", FEE_SCALE // 10_000, 9_999)
    return VenueParams(
        name, fee,
        _bounded(fixed_fee, "fixed_fee", 0, MAX_FIXED_FEE),
        _bounded(min_size, "min_size", 0, MAX_LOTS),
        _bounded(lot_size, "lot_size", 1, MAX_LOTS),
        None if base_balance is None else _bounded(base_balance, "base_balance", 0, MAX_LOTS),
        None if quote_balance is None else _bounded(quote_balance, "quote_balance", 0,
                                                    MAX_BALANCE),
        _scaled(fill_probability, "fill_probability", PROB_SCALE, 1),
        _scaled(latency_ms, "latency_ms", 1000, 10**9, rounding=math.ceil),
        _scaled(weight, "weight", WEIGHT_SCALE, 1))


def book_side(value):
    side = _integer(value, "side")
    if side not in (BID, ASK):
        raise InvalidValue("side", value, "is not BID (0) or ASK (1)")
    return side


def levels_array(levels, side, field="levels"):
    """``levels`` as an int64 (k, 2) array of (price, size), best first, checked."""
    if not isinstance(levels, np.ndarray):
        try:
            levels = np.array(levels, dtype=object) if len(levels) else np.empty((0, 2), object)
        except (TypeError, ValueError):
            raise InvalidValue(field, type(levels).__name__,
                               "must be a sequence of (price, size) pairs") from None
    if levels.ndim != 2 or levels.shape[1] != 2:
        raise InvalidValue(field, f"array of shape {levels.shape}",
                           "must be (price, size) rows")
    rows = [(_bounded(p, f"{field}[{i}][0]", 1, MAX_PRICE),
             _bounded(s, f"{field}[{i}][1]", 0, MAX_LOTS)) for i, (p, s) in enumerate(levels)]
    step = -1 if side == BID else 1
    for i in range(1, len(rows)):
        if (rows[i][0] - rows[i - 1][0]) * step <= 0:
            raise InvalidValue(f"{field}[{i}][0]", rows[i][0],
                               f"is not {'below' if side == BID else 'above'} the price before "
                               f"it: levels go best first without repeats")
    return np.array(rows, dtype=np.int64).reshape(len(rows), 2)


def route_args(side, quantity, limit_price, fallback_price, exclude, n_venues):
    """The validated (side, quantity, limit, fallback, excluded mask) of a route call."""
    side = parse_side(side)
    quantity = _integer(quantity, "quantity")
    if quantity <= 0:
        raise InvalidValue("quantity", quantity, "must be positive")
    if quantity > MAX_LOTS:
        raise InvalidValue("quantity", quantity, f"must be at most {MAX_LOTS} lots")
    limit = None if limit_price is None else _bounded(limit_price, "limit_price", 1, MAX_PRICE)
    fallback = None if fallback_price is None else _bounded(fallback_price, "fallback_price", 1,
                                                            MAX_PRICE)
    mask = 0
    for venue in exclude:
        index = _integer(venue, "exclude")
        if not 0 <= index < n_venues:
            raise InvalidValue("exclude", venue, f"is not a venue index below {n_venues}")
        mask |= 1 << index
    return side, quantity, limit, fallback, mask


def predicted_seconds(steps, ns_per_step):
    """The programme's predicted run time from its steps (see ``plan_steps``)."""
    return steps * ns_per_step / 1e9


def split_array(out, n_venues):
    """``out`` checked as a writable C-contiguous int64 array of shape (n_venues, 2)."""
    if (not isinstance(out, np.ndarray) or out.dtype != np.int64 or out.shape != (n_venues, 2)
            or not out.flags.c_contiguous or not out.flags.writeable):
        shown = (f"{out.dtype} array of shape {out.shape}" if isinstance(out, np.ndarray)
                 else type(out).__name__)
        raise InvalidValue("out", shown, f"must be a writable C-contiguous int64 array of "
                                         f"shape ({n_venues}, 2)")
    return out


def options_args(time_limit_ms, max_cells, jitter_us, max_slices):
    if isinstance(time_limit_ms, bool) or not isinstance(time_limit_ms, int | float) or not (
            time_limit_ms >= 0):
        raise InvalidValue("time_limit_ms", time_limit_ms, "must be a non-negative number")
    return (_bounded(max_cells, "max_cells", 0, 2**62),
            _bounded(jitter_us, "jitter_us", 0, 10**12),
            _bounded(max_slices, "max_slices", 1, 1000))


# --- the pure router ------------------------------------------------------------------------


class _Side:
    """One side of one venue's book: prices best first and running totals of usable size
    (``cum[i]`` lots before level i) and notional (``notional[i]`` ticks*lots)."""

    __slots__ = ("prices", "cum", "notional")

    def __init__(self, prices=(), usable=()):
        self.prices = list(prices)
        self.cum = [0]
        self.notional = [0]
        for price, size in zip(self.prices, usable):
            self.cum.append(self.cum[-1] + size)
            self.notional.append(self.notional[-1] + price * size)

    def lots_within(self, n_levels):
        return self.cum[n_levels]

    def notional_of(self, q):
        """Ticks*lots of the first ``q`` usable lots, and the price of the last one."""
        if q == 0:
            return 0, 0
        i = _level_of(self.cum, q)
        return self.notional[i] + self.prices[i] * (q - self.cum[i]), self.prices[i]


def _level_of(cum, q):
    """The level holding lot number ``q`` (1-based): the last i with cum[i] < q."""
    lo, hi = 0, len(cum) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if cum[mid] < q:
            lo = mid
        else:
            hi = mid
    return lo


def within_limit(prices, side, limit):
    """How many of ``prices`` (best first) a ``side`` order may take under ``limit``."""
    if limit is None:
        return len(prices)
    lo, hi = 0, len(prices)
    while lo < hi:
        mid = (lo + hi) // 2
        if (prices[mid] <= limit) if side == BUY else (prices[mid] >= limit):
            lo = mid + 1
        else:
            hi = mid
    return lo


def slope(side, params):
    """Per-lot expected cost = slope * price + intercept * fallback (cost units)."""
    if side == BUY:
        return params.probability * (FEE_SCALE + params.fee)
    return -params.probability * (FEE_SCALE - params.fee)


def intercept(side, params, fallback):
    return side * (PROB_SCALE - params.probability) * fallback * FEE_SCALE


def buy_cap(book_side_, n_levels, params):
    """Lots a buy can take on a venue before its quote balance (fees included) runs out."""
    budget = params.quote_balance - params.fixed_fee
    if budget <= 0:
        return 0
    per_tick = (FEE_SCALE + params.fee) * PROB_SCALE
    prices, cum, notional = book_side_.prices, book_side_.cum, book_side_.notional
    lo, hi = 0, n_levels  # the last level count whose whole cost fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if notional[mid] * per_tick <= budget:
            lo = mid
        else:
            hi = mid - 1
    lots = cum[lo]
    if lo < n_levels:
        spent = notional[lo] * per_tick
        lots += min(cum[lo + 1] - cum[lo], (budget - spent) // (prices[lo] * per_tick))
    return lots


class Venues:
    """What a route reads of each venue in play: params, book side, usable levels, cap and the
    per-lot cost line (``a * price + b``)."""

    __slots__ = ("index", "params", "book", "levels", "cap", "a", "b")

    def __init__(self, index, params, book, levels, cap, a, b):
        self.index, self.params, self.book, self.levels = index, params, book, levels
        self.cap, self.a, self.b = cap, a, b

    def cost(self, q):
        """Expected cost of ``q`` lots without the fixed fee."""
        notional, _ = self.book.notional_of(q)
        return self.a * notional + self.b * q


class Router:
    """Venues' routing parameters and books; :meth:`route` splits a parent order across them."""

    def __init__(self):
        self._params = []
        self._books = []  # per venue: [bid _Side, ask _Side]
        self._levels = []  # per venue: [bid array, ask array] as given

    # --- venues ---------------------------------------------------------------------------

    def add_venue(self, name, **params):
        """Register a venue; return its index. Keywords: ``taker_fee_bps`` (decimal, [0,
        10000)), ``fixed_fee`` (cost units per child order), ``min_size`` and ``lot_size``
        (lots), ``base_balance`` (lots a sell may use; None: unlimited), ``quote_balance``
        (cost units a buy may spend, fees included; None: unlimited), ``fill_probability``
        (decimal in [0, 1]), ``latency_ms`` (decimal) and ``weight`` (decimal in [0, 1])."""
        record = venue_params(name, **params)
        if len(self._params) >= MAX_VENUES:
            raise RouteError(f"a router holds at most {MAX_VENUES} venues")
        if any(p.name == record.name for p in self._params):
            raise InvalidValue("name", name, "is already a venue of this router")
        self._params.append(record)
        self._books.append([_Side(), _Side()])
        self._levels.append([np.empty((0, 2), np.int64), np.empty((0, 2), np.int64)])
        self._added(record)
        return len(self._params) - 1

    def _added(self, record):
        pass

    def __len__(self):
        return len(self._params)

    def venue(self, venue):
        """:class:`VenueParams` of ``venue``."""
        return self._params[self.index(venue)]

    def set_balances(self, venue, *, base_balance=None, quote_balance=None):
        """Replace ``venue``'s balances (None: unlimited)."""
        index = self.index(venue)
        old = self._params[index]
        fresh = venue_params(old.name, base_balance=base_balance, quote_balance=quote_balance)
        self._replace(index, old._replace(base_balance=fresh.base_balance,
                                          quote_balance=fresh.quote_balance))

    def _replace(self, index, record):
        self._params[index] = record

    def set_levels(self, venue, side, levels):
        """Replace one side of ``venue``'s book: (price, size) rows best first."""
        index, side = self.index(venue), book_side(side)
        array = levels_array(levels, side)
        self._store_levels(index, side, array)

    def levels(self, venue, side):
        """``venue``'s ``side`` levels as an int64 (k, 2) array, best first."""
        return self._levels[self.index(venue)][book_side(side)].copy()

    def consume(self, venue, side, lots):
        """Take ``lots`` off the top of ``venue``'s ``side`` (fills and vanished liquidity)."""
        index, side = self.index(venue), book_side(side)
        lots = _bounded(lots, "lots", 0, MAX_LOTS)
        rows = self._levels[index][side].tolist()
        kept = []
        for price, size in rows:
            take = min(size, lots)
            lots -= take
            if size - take:
                kept.append((price, size - take))
        self._store_levels(index, side, np.array(kept, dtype=np.int64).reshape(len(kept), 2))

    def _store_levels(self, index, side, array):
        weight = self._params[index].weight
        usable = [int(s) * weight // WEIGHT_SCALE for s in array[:, 1]]
        if sum(usable) > MAX_LOTS:
            raise InvalidValue("levels", f"{sum(usable)} lots",
                               f"exceed the {MAX_LOTS} a venue side may hold")
        self._levels[index][side] = array
        self._books[index][side] = _Side(array[:, 0].tolist(), usable)

    def index(self, venue):
        """The index of ``venue`` (its index or name)."""
        if isinstance(venue, str):
            for i, p in enumerate(self._params):
                if p.name == venue:
                    return i
            raise InvalidValue("venue", venue, "is not a venue of this router")
        index = _integer(venue, "venue")
        if not 0 <= index < len(self._params):
            raise InvalidValue("venue", venue, f"is not a venue index below {len(self._params)}")
        return index

    # --- routing --------------------------------------------------------------------------

    def route(self, side, quantity, *, limit_price=None, fallback_price=None, exclude=(),
              time_limit_ms=DEFAULT_TIME_LIMIT_MS, max_cells=DEFAULT_MAX_CELLS, jitter_us=0,
              max_slices=1, seed=None):
        """Split a parent order of ``quantity`` lots across the venues (module docstring).

        ``exclude``: venue indices to leave out. Returns a :class:`Route`."""
        side, quantity, limit, fallback, mask = route_args(
            side, quantity, limit_price, fallback_price, exclude, len(self._params))
        max_cells, jitter_us, max_slices = options_args(time_limit_ms, max_cells, jitter_us,
                                                        max_slices)
        venues = self._in_play(side, limit, fallback, mask)
        route = solve(side, quantity, venues, time_limit_ms, max_cells, self._kernels())
        if jitter_us or max_slices > 1:
            route = randomise(route, venues, jitter_us, max_slices, seed)
        return route

    def split_into(self, out, side, quantity, *, limit_price=None, fallback_price=None,
                   exclude=(), time_limit_ms=DEFAULT_TIME_LIMIT_MS,
                   max_cells=DEFAULT_MAX_CELLS):
        """Route like :meth:`route` but only write, for each venue, its lots and the limit
        price of its child (0, 0 when it has none) into the int64 array ``out`` of shape
        (venues, 2), and return the lots filled. Nothing is allocated per call."""
        array = split_array(out, len(self._params))
        route = self.route(side, quantity, limit_price=limit_price,
                           fallback_price=fallback_price, exclude=exclude,
                           time_limit_ms=time_limit_ms, max_cells=max_cells)
        array[:] = 0
        for child in route.children:
            array[child.venue] = (child.quantity, child.limit_price)
        return route.filled

    def _kernels(self):
        return greedy, dp

    def _in_play(self, side, limit, fallback, mask):
        """The venues a route may use, with their caps and cost lines."""
        book = ASK if side == BUY else BID
        counts = []
        for i in range(len(self._params)):
            prices = self._books[i][book].prices
            counts.append(0 if mask >> i & 1 else within_limit(prices, side, limit))
        if not any(self._books[i][book].prices for i in range(len(self._params))
                   if not mask >> i & 1):
            raise RouteError(f"every venue's book is empty on the {('bid', 'ask')[book]} side: "
                             f"nothing to {'buy' if side == BUY else 'sell'} into")
        if fallback is None:
            fallback = limit
        if fallback is None:
            worst = [self._books[i][book].prices[n - 1] for i, n in enumerate(counts) if n]
            fallback = (max(worst) if side == BUY else min(worst)) if worst else 0
        venues = []
        for i, n in enumerate(counts):
            params, book_ = self._params[i], self._books[i][book]
            cap = book_.lots_within(n)
            if side == SELL and params.base_balance is not None:
                cap = min(cap, params.base_balance)
            if side == BUY and params.quote_balance is not None:
                cap = min(cap, buy_cap(book_, n, params))
            if cap > 0:
                venues.append(Venues(i, params, book_, n, cap, slope(side, params),
                                     intercept(side, params, fallback)))
        return venues


def proportional(venues):
    """True when no venue in play has a fixed fee, a lot size or a minimum above one lot."""
    return all(v.params.fixed_fee == 0 and v.params.lot_size == 1 and v.params.min_size <= 1
               for v in venues)


def solve(side, quantity, venues, time_limit_ms, max_cells, kernels):
    """The route of ``quantity`` over ``venues`` with the ``(greedy, dp)`` kernels."""
    greedy_kernel, dp_kernel = kernels
    if proportional(venues):
        return assemble(side, quantity, venues, greedy_kernel(quantity, venues), GREEDY)
    units = 0
    for v in venues:
        units = math.gcd(units, v.params.lot_size)
    lots = dp_kernel(quantity, venues, units, time_limit_ms / 1000, max_cells) if venues else []
    if lots is None:
        return assemble(side, quantity, venues, fallback(quantity, venues, greedy_kernel),
                        FALLBACK)
    return assemble(side, quantity, venues, lots, DP)


def assemble(side, quantity, venues, lots, method):
    """The :class:`Route` giving ``lots[k]`` to ``venues[k]``."""
    children = []
    latency = max((v.params.latency_us for v, q in zip(venues, lots) if q), default=0)
    for v, q in zip(venues, lots):
        if not q:
            continue
        notional, worst = v.book.notional_of(q)
        fee = notional * v.params.fee * PROB_SCALE + v.params.fixed_fee
        cost = v.a * notional + v.b * q + v.params.fixed_fee
        children.append(Child(v.index, v.params.name, q, worst, notional, fee, cost,
                              latency - v.params.latency_us))
    return Route(side, quantity, sum(c.quantity for c in children), tuple(children),
                 sum(c.notional for c in children), sum(c.fee for c in children),
                 sum(c.cost for c in children), method)


# --- kernels ----------------------------------------------------------------------------------


def greedy(quantity, venues):
    """Lots per venue taking the cheapest lots first: a merge of the venues' levels by per-lot
    cost, ties to the lower latency, then to the earlier venue."""
    lots = [0] * len(venues)
    remaining = min(quantity, sum(v.cap for v in venues))
    heap = [(v.a * v.book.prices[0] + v.b, v.params.latency_us, k, 0)
            for k, v in enumerate(venues)]
    heapq.heapify(heap)
    while remaining and heap:
        _, latency, k, level = heapq.heappop(heap)
        v = venues[k]
        size = v.book.cum[level + 1] - v.book.cum[level]
        take = min(size, remaining, v.cap - lots[k])
        lots[k] += take
        remaining -= take
        if lots[k] < v.cap and level + 1 < v.levels:
            heapq.heappush(heap, (v.a * v.book.prices[level + 1] + v.b, latency, k, level + 1))
    return lots


# --- the exact programme ----------------------------------------------------------------------
#
# The programme runs over venues in play order; state x (units filled so far) at stage k holds
# the least cost of the first k venues filling x. A plan says, per venue, which quantities may
# be tried (0 when ``zero``, and ``window`` = (jmin, jmax) of the venue's lots) and, per stage,
# the range of states kept. The full plan keeps everything; the bounded plan keeps only what
# the Lagrangian bound leaves possible for an optimal split (module docstring, "bounded").
# Costs inside are *reduced*: ``r(j) = F + g(j) - lam*j*lot - m`` for j lots of a venue and
# ``-m`` for none, where ``m`` is the venue's minimum of ``h(q) - lam*q``; at a given state they
# differ from the real costs by the same amount, so every comparison and tie goes the same way.
# The full plan has lam = m = 0 (real costs).

Plan = namedtuple("Plan", "lam offsets zero windows ranges cutoff")


def dp_shape(quantity, venues, units):
    """Per venue (step in units, jmin, jmax) and the target in units. jmax counts lots that fit
    both the venue's cap and the target; a venue with jmax < jmin can only be left out."""
    raw, total = [], 0
    for v in venues:
        lot = v.params.lot_size
        jmin, jmax = max(1, -(-v.params.min_size // lot)), v.cap // lot
        if jmin <= jmax:
            total += jmax * lot
        raw.append((lot // units, jmin, jmax))
    n = min(quantity, total) // units
    return [(step, jmin, min(jmax, n // step)) for step, jmin, jmax in raw], n


def _lots_below(v, lam):
    """Usable lots of ``v`` (up to its cap) whose per-lot cost is below ``lam``."""
    prices, lo, hi = v.book.prices, 0, v.levels
    while lo < hi:
        mid = (lo + hi) // 2
        if v.a * prices[mid] + v.b < lam:
            lo = mid + 1
        else:
            hi = mid
    return min(v.book.cum[lo], v.cap)


def _lowest(v, jmin, jmax, lam):
    """``(j, g(j) - lam*j*lot)`` least over jmin <= j <= jmax (ties: the smaller j). The
    continuous minimum is at the lots cheaper than lam; g is convex, so a lattice minimum is
    the lot count just below or just above it, clamped to the range."""
    lot = v.params.lot_size
    below = _lots_below(v, lam) // lot
    best = None
    for j in (below, below + 1):
        j = min(max(j, jmin), jmax)
        value = v.cost(j * lot) - lam * j * lot
        if best is None or value < best[1]:
            best = (j, value)
    return best


def lagrangian(venues, shapes, target, lam):
    """``(bound, excess, offsets)`` at the per-lot price ``lam``: the lower bound
    ``lam*target + sum m_k`` on any split of ``target`` units' lots, ``target`` minus the lots
    the venues would take at that price, and each venue's ``m_k = min(0, F + min_j (g(j) -
    lam*j*lot))``."""
    bound, taken, offsets = lam * target, 0, []
    for v, (_, jmin, jmax) in zip(venues, shapes):
        m = 0
        if jmin <= jmax:
            j, value = _lowest(v, jmin, jmax, lam)
            if value + v.params.fixed_fee < 0:
                m = value + v.params.fixed_fee
                taken += j * v.params.lot_size
        offsets.append(m)
        bound += m
    return bound, target - taken, offsets


def price_bracket(venues):
    """Per-lot prices at which no venue is worth using, and every venue takes all it can."""
    fixed = max(v.params.fixed_fee for v in venues)
    return (min(v.a * v.book.prices[0] + v.b for v in venues) - 1,
            max(v.a * v.book.prices[v.levels - 1] + v.b for v in venues) + fixed + 1)


def best_price(venues, shapes, target):
    """The per-lot price whose Lagrangian bound is the greatest, ``(lam, bound, offsets)``.

    The bound is concave in the price, and at each price tried ``(bound, excess)`` gives a line
    ``bound + excess * (x - price)`` above it everywhere (excess is a supergradient). Between a
    price with positive excess (``lo``) and one without (``hi``) the next price tried is where
    their two lines cross (a cutting plane), or the midpoint after a cut that did not halve the
    bracket; the search stops when the best bound found reaches the lines' greatest value on
    the integers, which no price can beat, or when the bracket closes."""
    lo, hi = price_bracket(venues)
    at_lo = lagrangian(venues, shapes, target, lo)
    at_hi = lagrangian(venues, shapes, target, hi)
    best = (lo, at_lo) if at_lo[0] >= at_hi[0] else (hi, at_hi)
    halve = False
    while hi - lo > 1:
        cut = None
        if not halve and at_lo[1] > at_hi[1] and hi - lo < 2**78:
            cross = lo + (at_hi[0] - at_lo[0] - at_hi[1] * (hi - lo)) // (at_lo[1] - at_hi[1])
            top = max(min(at_lo[0] + at_lo[1] * (x - lo), at_hi[0] + at_hi[1] * (x - hi))
                      for x in (cross, cross + 1))
            if best[1][0] >= top:
                break
            cut = min(max(cross, lo + 1), hi - 1)
        price = (lo + hi) // 2 if cut is None else cut
        at = lagrangian(venues, shapes, target, price)
        if at[0] > best[1][0]:
            best = (price, at)
        width = hi - lo
        if at[1] > 0:
            lo, at_lo = price, at
        else:
            hi, at_hi = price, at
        halve = cut is not None and 2 * (hi - lo) > width
    return best[0], best[1][0], best[1][2]


def _window(v, shape, lam, m, slack):
    """The lots j of ``v`` whose reduced cost ``F + g(j) - lam*j*lot - m`` is at most
    ``slack``: an interval, as the reduced cost is convex in j. ``(1, 0)`` when none."""
    _, jmin, jmax = shape
    if jmin > jmax:
        return 1, 0
    lot = v.params.lot_size
    limit = slack + m - v.params.fixed_fee

    def fits(j):
        return v.cost(j * lot) - lam * j * lot <= limit

    middle, value = _lowest(v, jmin, jmax, lam)
    if value > limit:
        return 1, 0
    lo, hi = jmin, middle
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(mid):
            hi = mid
        else:
            lo = mid + 1
    first, lo, hi = lo, middle, jmax
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return first, lo


def _ranges(shapes, zero, windows, n, exact_target):
    """Per stage, the states a split may pass through: between what the venues so far can
    fill and, when the target is known, what the venues left need to leave."""
    least = [0 if z else lo * s for (s, _, _), z, (lo, _) in zip(shapes, zero, windows)]
    most = [hi * s if lo <= hi else 0 for (s, _, _), (lo, hi) in zip(shapes, windows)]
    ranges, low, high = [], 0, 0
    rest_low, rest_high = sum(least), sum(most)
    for a, b in zip(least, most):
        low, high, rest_low, rest_high = low + a, high + b, rest_low - a, rest_high - b
        if exact_target:
            ranges.append((max(low, n - rest_high), min(high, n - rest_low)))
        else:
            ranges.append((0, min(high, n)))
    return ranges


def full_plan(shapes, n):
    """Every quantity of every venue, every state from 0 to the target."""
    count = len(shapes)
    windows = [(jmin, jmax) if jmin <= jmax else (1, 0) for _, jmin, jmax in shapes]
    zero = [True] * count
    return Plan(0, [0] * count, zero, windows, _ranges(shapes, zero, windows, n, False), None)


def bounded_plan(venues, shapes, n, units, greedy_kernel):
    """The plan the Lagrangian bound leaves (module docstring), or None when the rounded
    greedy does not fill the target, so the lots filled by a best split are not known."""
    lots, filled, upper = _rounded_greedy(n * units, venues, range(len(venues)), greedy_kernel)
    if filled != n * units:
        return None
    # The bound's arithmetic stays within 128 bits (the compiled twin's) when prices times lots
    # do: |lam| <= the bracket's ends, lots <= what the venues may take.
    lo, hi = price_bracket(venues)
    lots_in_play = sum(jmax * v.params.lot_size for v, (_, jmin, jmax) in zip(venues, shapes)
                       if jmin <= jmax)
    if max(abs(lo), abs(hi)) * lots_in_play >= 2**120:
        return None
    lam, lower, offsets = best_price(venues, shapes, n * units)
    slack = upper - lower  # >= 0: a feasible cost against a lower bound
    zero = [-m <= slack for m in offsets]
    windows = [_window(v, shape, lam, m, slack)
               for v, shape, m in zip(venues, shapes, offsets)]
    return Plan(lam, offsets, zero, windows, _ranges(shapes, zero, windows, n, True), slack)


def plan_steps(plan):
    """``(cells, steps)``: states kept and their predicted work (divide and conquer over each
    venue's window costs about log2 of its width per state)."""
    cells = steps = 0
    for (lo, hi), (wlo, whi) in zip(plan.ranges, plan.windows):
        cells += hi - lo + 1
        steps += (hi - lo + 1) * math.log2(max(whi - wlo, 0) + 3)
    return cells, steps


def dp(quantity, venues, units, seconds, max_cells, bounded=True, greedy_kernel=None):
    """Exact lots per venue (module docstring), or None past ``max_cells`` or ``seconds`` (or
    predicted to be). ``bounded=False`` runs the full programme (tests compare the two)."""
    deadline = time.perf_counter() + seconds
    if not venues:
        return []
    if max_cells < len(venues):  # every stage keeps a state at least
        return None
    shapes, n = dp_shape(quantity, venues, units)
    plan = bounded_plan(venues, shapes, n, units, greedy_kernel or greedy) if bounded else None
    if plan is None:
        plan = full_plan(shapes, n)
    cells, steps = plan_steps(plan)
    if cells > max_cells or n >= 2**31 - 1:
        return None
    if predicted_seconds(steps, DP_NS_PER_STEP) > seconds:
        return None
    return run_plan(venues, shapes, plan, n, deadline)


def run_plan(venues, shapes, plan, n, deadline):
    """Lots per venue of the least-cost split the plan allows, or None past ``deadline``.
    Ties: the last venue takes nothing if it can, else the most it can; then the one before
    it, given that, and so on (the full programme's rule)."""
    prev_lo, prev = 0, [0]
    choices = []
    for k, (v, (step, _, _)) in enumerate(zip(venues, shapes)):
        if time.perf_counter() > deadline:
            return None
        lo, hi = plan.ranges[k]
        m = plan.offsets[k]
        prev_hi = prev_lo + len(prev) - 1
        values, choice = [UNREACHABLE] * (hi - lo + 1), [0] * (hi - lo + 1)
        if plan.zero[k]:
            for x in range(max(lo, prev_lo), min(hi, prev_hi) + 1):
                values[x - lo] = prev[x - prev_lo] - m
        wlo, whi = plan.windows[k]
        if wlo <= whi:
            lot, fixed = v.params.lot_size, v.params.fixed_fee - m
            g = [fixed + v.cost(j * lot) - plan.lam * j * lot for j in range(wlo, whi + 1)]
            for residue in range(min(step, hi - lo + 1)):
                convolve(prev, prev_lo, prev_hi, lo + residue, hi, step, g, wlo, whi,
                         values, choice, residue)
        if plan.cutoff is not None:
            kept = [i for i, value in enumerate(values) if value <= plan.cutoff]
            if not kept:  # cannot happen: the rounded greedy's split is always kept
                raise RouteError("internal: the bounded programme kept no split")
            first, last = kept[0], kept[-1]
            prev_lo = lo + first
            prev = [value if value <= plan.cutoff else UNREACHABLE
                    for value in values[first:last + 1]]
        else:
            prev_lo, prev = lo, values
        choices.append((lo, choice))
    if plan.cutoff is not None:
        x = n
    else:
        x = max((prev_lo + i for i, value in enumerate(prev) if value < UNREACHABLE // 2),
                default=0)
    lots = [0] * len(venues)
    for k in range(len(venues) - 1, -1, -1):
        lo, choice = choices[k]
        j = choice[x - lo]
        lots[k] = j * venues[k].params.lot_size
        x -= j * shapes[k][0]
    return lots


def convolve(prev, prev_lo, prev_hi, base, hi, step, g, wlo, whi, values, choice, offset):
    """One residue class of a stage: for states ``x = base + step*u <= hi``, the least of
    ``prev[y] + g[j]`` over ``y = x - step*j`` kept (``prev_lo <= y <= prev_hi``) and ``wlo <= j
    <= whi``, written to ``values[offset + step*u]`` (with j in ``choice``) where it is lower
    than what is there. g is convex, so the least y (most j) of each row never decreases with
    the row, and divide and conquer finds every row in O(rows log rows)."""
    tlo = -((base - prev_lo) // step)  # columns: y = base + step*t
    thi = (prev_hi - base) // step
    if tlo > thi:
        return
    ulo, uhi = max(0, tlo + wlo), min((hi - base) // step, thi + whi)
    shift = base - prev_lo
    stack = [(ulo, uhi, tlo, thi)]
    while stack:
        a, b, ilo, ihi = stack.pop()
        if a > b:
            continue
        u = (a + b) // 2
        first, last = max(ilo, u - whi), min(ihi, u - wlo)
        best_t, best = first, prev[shift + step * first] + g[u - first - wlo]
        for t in range(first + 1, last + 1):
            value = prev[shift + step * t] + g[u - t - wlo]
            if value < best:
                best_t, best = t, value
        index = offset + step * u
        if best < values[index]:
            values[index], choice[index] = best, u - best_t
        stack.append((a, u - 1, ilo, best_t))
        stack.append((u + 1, b, best_t, ihi))


def fallback(quantity, venues, greedy_kernel=None):
    """Lots per venue by rounded greedy, then dropping venues while that helps (module
    docstring). ``greedy_kernel`` is the twin's greedy (this module's by default)."""
    kernel = greedy_kernel or greedy
    active = list(range(len(venues)))
    best = _rounded_greedy(quantity, venues, active, kernel)
    while True:
        improved = None
        for k in active:
            if not best[0][k]:
                continue
            trial = _rounded_greedy(quantity, venues, [j for j in active if j != k], kernel)
            if _better(trial, improved[0] if improved else best):
                improved = (trial, k)
        if improved is None:
            return best[0]
        best = improved[0]
        active.remove(improved[1])


def _better(trial, incumbent):
    """More lots first, then less cost; ``(lots, filled, cost)`` triples."""
    return trial[1] > incumbent[1] or (trial[1] == incumbent[1] and trial[2] < incumbent[2])


def _rounded_greedy(quantity, venues, members, kernel):
    """``(lots, filled, cost)``: the greedy over ``members`` with caps in whole lots, each
    venue's share rounded down to its lot and dropped below its minimum, then the rest topped
    up chunk by chunk, cheapest per lot first (a venue's first chunk is its minimum and carries
    its fixed fee; ties to the lower latency, then the earlier venue)."""
    lots = [0] * len(venues)
    pool = []
    for k in members:
        v = venues[k]
        lot = v.params.lot_size
        cap = v.cap // lot * lot
        if cap >= _smallest(v.params):
            pool.append((k, Venues(v.index, v.params, v.book, v.levels, cap, v.a, v.b)))
    shares = kernel(quantity, [v for _, v in pool])
    target = min(quantity, sum(v.cap for _, v in pool))
    for (k, v), q in zip(pool, shares):
        q = q // v.params.lot_size * v.params.lot_size
        lots[k] = q if q >= _smallest(v.params) else 0
    remaining = target - sum(lots)
    while remaining > 0:
        best = None
        for k, v in pool:
            size = v.params.lot_size if lots[k] else _smallest(v.params)
            if size > remaining or lots[k] + size > v.cap:
                continue
            extra = 0 if lots[k] else v.params.fixed_fee
            per_lot = Fraction(v.cost(lots[k] + size) - v.cost(lots[k]) + extra, size)
            if best is None or (per_lot, v.params.latency_us) < best[:2]:
                best = (per_lot, v.params.latency_us, k, size)
        if best is None:
            break
        lots[best[2]] += best[3]
        remaining -= best[3]
    cost = sum(venues[k].cost(q) + venues[k].params.fixed_fee for k, q in enumerate(lots) if q)
    return lots, sum(lots), cost


def _smallest(params):
    """A venue's smallest child: its minimum rounded up to its lot, at least one lot."""
    lot = params.lot_size
    return max(lot, -(-params.min_size // lot) * lot)


# --- execution options ----------------------------------------------------------------------


def randomise(route, venues, jitter_us, max_slices, seed):
    """``route`` with children cut into random slices and send delays jittered (seeded)."""
    rng = random.Random(seed)
    by_index = {v.index: v for v in venues}
    children = []
    for child in route.children:
        v = by_index[child.venue]
        sizes = _slices(child.quantity, v.params, max_slices, rng)
        taken = 0
        for size in sizes:
            before = v.book.notional_of(taken)[0]
            notional, worst = v.book.notional_of(taken + size)
            notional -= before
            taken += size
            fee = notional * v.params.fee * PROB_SCALE + v.params.fixed_fee
            cost = v.a * notional + v.b * size + v.params.fixed_fee
            delay = child.delay_us + (rng.randint(0, jitter_us) if jitter_us else 0)
            children.append(Child(child.venue, child.name, size, worst, notional, fee, cost,
                                  delay))
    return route._replace(children=tuple(children), fees=sum(c.fee for c in children),
                          cost=sum(c.cost for c in children))


def _slices(quantity, params, max_slices, rng):
    """Random sizes summing to ``quantity``, each a multiple of the lot and at least the
    minimum (one lot at least)."""
    lot = params.lot_size
    smallest = _smallest(params)
    count = max(1, min(max_slices, quantity // smallest))
    if count == 1:
        return [quantity]
    spare = (quantity - count * smallest) // lot  # lots beyond every slice's minimum
    cuts = sorted(rng.randint(0, spare) for _ in range(count - 1))
    extra = [b - a for a, b in zip([0, *cuts], [*cuts, spare])]
    sizes = [smallest + e * lot for e in extra]
    sizes[-1] += quantity - sum(sizes)  # what the lot grid leaves over rides on the last
    return sizes


# --- re-routing -------------------------------------------------------------------------------


class Rerouter:
    """A parent order being worked: route it, report each child's outcome, route the rest.

    ``report(venue, status, filled)`` with ``status`` one of ``"filled"``, ``"partial"``
    (part filled, the rest was cancelled: that liquidity is gone), ``"rejected"`` or ``"down"``
    (the venue is left out of this order from now on). Filled lots leave the remainder and the
    venue's balance; the child's quantity leaves the venue's book in the router."""

    def __init__(self, router, side, quantity, **options):
        self.router = router
        self.side = parse_side(side)
        self.remaining = _integer(quantity, "quantity")
        if self.remaining <= 0:
            raise InvalidValue("quantity", quantity, "must be positive")
        self.filled = 0
        self.excluded = set()
        self.options = options
        self.plan = None

    def route(self):
        """Route what remains over the venues not left out; the new plan."""
        if self.remaining == 0:
            raise RouteError("the parent order is complete: nothing remains to route")
        self.plan = self.router.route(self.side, self.remaining, exclude=sorted(self.excluded),
                                      **self.options)
        return self.plan

    def report(self, venue, status, filled=0):
        """Book a child's outcome; return the quantity that remains."""
        if self.plan is None:
            raise RouteError("report() before route(): there is no child to report on")
        index = self.router.index(venue)
        if status not in STATUSES:
            raise InvalidValue("status", status, f"is not one of {', '.join(STATUSES)}")
        sent = sum(c.quantity for c in self.plan.children if c.venue == index)
        if not sent:
            raise InvalidValue("venue", venue, "has no child order in the current plan")
        filled = _bounded(filled, "filled", 0, sent)
        if status == "filled" and filled != sent:
            raise InvalidValue("filled", filled, f"must be the child's quantity {sent} when "
                                                 f"its status is 'filled'")
        book = ASK if self.side == BUY else BID
        if status in ("rejected", "down"):
            self.excluded.add(index)
        else:
            self.router.consume(index, book, sent)
        if filled:
            self._spend(index, filled, sent)
        self.remaining -= filled
        self.filled += filled
        self.plan = self.plan._replace(children=tuple(
            c for c in self.plan.children if c.venue != index))
        return self.remaining

    def _spend(self, index, filled, sent):
        params = self.router.venue(index)
        if self.side == SELL and params.base_balance is not None:
            self.router.set_balances(index, base_balance=params.base_balance - filled,
                                     quote_balance=params.quote_balance)
        elif self.side == BUY and params.quote_balance is not None:
            paid = sum(c.notional * (FEE_SCALE + params.fee) * PROB_SCALE + params.fixed_fee
                       for c in self.plan.children if c.venue == index)
            spent = -(-paid * filled // sent)
            self.router.set_balances(index, base_balance=params.base_balance,
                                     quote_balance=max(0, params.quote_balance - spent))
