# cython: language_level=3
"""Smart order router (compiled).

Same names, results and errors as the pure twin liqframe/_core/router.py, which documents the
model. Validation, storage of what was given, the fallback, the execution options and
re-routing are the pure twin's (they run once per change or per failure); what is here is the
per-route work on C mirrors of every venue's book:

- the greedy walk never visits levels one by one: with each venue's running totals of lots it
  searches for the per-lot cost at which the cheapest lots reach the order's quantity
  (bisection over the venues' level ranges, each count a binary search per venue), then gives
  each venue its lots below that cost and shares the lots at that cost by latency and venue;
- the dynamic programme is the pure twin's, in 128-bit integers, with the same tie rules.
"""
from cpython.long cimport PyLong_CheckExact
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_SET_ITEM
from cpython.object cimport PyTypeObject
from libc.math cimport log2
from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.stdlib cimport free, malloc
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

from liqframe.errors import RouteError

# Constants, result types, validation and the cold paths are shared with the pure twin, so
# both twins return the same classes and word every error the same way.
from liqframe._core.router import (  # noqa: F401  (re-exported: the same public names)
    ASK,
    BID,
    BUY,
    COST_SCALE,
    DEFAULT_MAX_CELLS,
    DEFAULT_TIME_LIMIT_MS,
    DP,
    DP_NS_PER_STEP_COMPILED as DP_NS_PER_STEP,
    FALLBACK,
    FEE_SCALE,
    GREEDY,
    MAX_LOTS,
    MAX_PRICE,
    MAX_VENUES,
    PROB_SCALE,
    SELL,
    UNREACHABLE,
    Child,
    Rerouter,
    Route,
    VenueParams,
    assemble,
    fallback,
    options_args,
    parse_side,
    predicted_seconds,
    randomise,
    route_args,
    split_array,
)
from liqframe._core.router import Router as _PureRouter

cdef extern from *:
    ctypedef unsigned long long uint128 "unsigned __int128"

cdef extern from "Python.h":
    object PyType_GenericAlloc(PyTypeObject* type, Py_ssize_t nitems)

cdef int64_t C_FEE_SCALE = FEE_SCALE
cdef int64_t C_PROB_SCALE = PROB_SCALE
cdef int64_t C_MAX_LOTS = MAX_LOTS
cdef int128 C_UNREACHABLE = (<int128>1) << 125
cdef int128 C_FEASIBLE = (<int128>1) << 124
cdef tuple _NO_EXCLUDE = ()


cdef int128 _to_i128(object value) except? -1:
    cdef uint64_t low = <uint64_t>(value & 0xFFFFFFFFFFFFFFFF)
    cdef int64_t high = <int64_t>(value >> 64)
    return ((<int128>high) << 64) | <int128>low


cdef object _from_i128(int128 value):
    if -9223372036854775807 <= value <= 9223372036854775807:
        return <int64_t>value
    return value  # Cython converts __int128 exactly, through its bytes


cdef object _record(object cls, tuple values):
    """An instance of the namedtuple ``cls`` holding ``values``, without the generic
    ``tuple.__new__`` path (a namedtuple has tuple's layout and no other state)."""
    cdef Py_ssize_t i, n = len(values)
    record = PyType_GenericAlloc(<PyTypeObject*>cls, n)
    for i in range(n):
        item = values[i]
        Py_INCREF(item)
        PyTuple_SET_ITEM(record, i, item)
    return record


cdef double _now():
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + ts.tv_nsec * 1e-9


cdef inline Py_ssize_t _level_of(int64_t* cum, Py_ssize_t n, int64_t q) noexcept nogil:
    """The level holding lot number q (1-based): the last i with cum[i] < q."""
    cdef Py_ssize_t lo = 0, hi = n, mid
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if cum[mid] < q:
            lo = mid
        else:
            hi = mid
    return lo


cdef inline int128 _notional_of(BookSide* book, int64_t q, int64_t* worst) noexcept nogil:
    cdef Py_ssize_t i
    if q == 0:
        worst[0] = 0
        return 0
    i = _level_of(book.cum, book.n, q)
    worst[0] = book.prices[i]
    return book.notional[i] + <int128>book.prices[i] * (q - book.cum[i])


cdef inline int128 _cost(InPlay* v, int64_t q) noexcept nogil:
    """Expected cost of the first q lots, fixed fee excluded."""
    cdef int64_t worst
    return v.a * _notional_of(v.book, q, &worst) + v.b * q


cdef inline Py_ssize_t _upper(InPlay* v, int128 key, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """The first level in [lo, hi) whose per-lot cost is above ``key`` (hi if none)."""
    cdef Py_ssize_t mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if v.a * v.book.prices[mid] + v.b <= key:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline int64_t _lots_to(InPlay* v, int64_t cap, Py_ssize_t levels) noexcept nogil:
    cdef int64_t lots = v.book.cum[levels]
    return lots if lots < cap else cap


cdef void _free_side(BookSide* side) noexcept:
    free(side.prices)
    free(side.cum)
    free(side.notional)
    side.prices = NULL
    side.cum = NULL
    side.notional = NULL
    side.n = 0


cdef class Router:
    """Venues' routing parameters and books; see liqframe._core.router.Router."""

    def __cinit__(self):
        self._pure = _PureRouter()
        self.names = []
        self.n_venues = 0

    def __dealloc__(self):
        cdef int i
        for i in range(self.n_venues):
            _free_side(&self.venues[i].sides[0])
            _free_side(&self.venues[i].sides[1])

    # --- cold paths: the pure twin validates and stores, then the C mirror follows ----------

    def add_venue(self, name, **params):
        index = self._pure.add_venue(name, **params)
        self.venues[index].sides[0].n = 0
        self.venues[index].sides[1].n = 0
        for side in range(2):
            self.venues[index].sides[side].prices = NULL
            self.venues[index].sides[side].cum = NULL
            self.venues[index].sides[side].notional = NULL
        self.n_venues = index + 1
        self.names.append(self._pure.venue(index).name)
        self._sync(index)
        return index

    def __len__(self):
        return self.n_venues

    def index(self, venue):
        return self._pure.index(venue)

    def venue(self, venue):
        return self._pure.venue(venue)

    def set_balances(self, venue, *, base_balance=None, quote_balance=None):
        self._pure.set_balances(venue, base_balance=base_balance, quote_balance=quote_balance)
        self._sync(self._pure.index(venue))

    def set_levels(self, venue, side, levels):
        self._pure.set_levels(venue, side, levels)
        self._sync(self._pure.index(venue))

    def levels(self, venue, side):
        return self._pure.levels(venue, side)

    def consume(self, venue, side, lots):
        self._pure.consume(venue, side, lots)
        self._sync(self._pure.index(venue))

    cdef int _sync(self, int slot) except -1:
        """Copy venue ``slot``'s parameters and books from the pure twin."""
        cdef VenueC* v = &self.venues[slot]
        cdef BookSide* c
        cdef Py_ssize_t i, n
        params = self._pure.venue(slot)
        v.fee = params.fee
        v.fixed_fee = _to_i128(params.fixed_fee)
        v.min_size = params.min_size
        v.lot_size = params.lot_size
        v.base_balance = -1 if params.base_balance is None else params.base_balance
        v.quote_balance = -1 if params.quote_balance is None else _to_i128(params.quote_balance)
        v.probability = params.probability
        v.latency_us = params.latency_us
        for side in range(2):
            book = self._pure._books[slot][side]
            c = &v.sides[side]
            _free_side(c)
            n = len(book.prices)
            c.prices = <int64_t*>malloc(max(n, 1) * sizeof(int64_t))
            c.cum = <int64_t*>malloc((n + 1) * sizeof(int64_t))
            c.notional = <int128*>malloc((n + 1) * sizeof(int128))
            if c.prices == NULL or c.cum == NULL or c.notional == NULL:
                _free_side(c)
                raise MemoryError()
            for i in range(n):
                c.prices[i] = book.prices[i]
            for i in range(n + 1):
                c.cum[i] = book.cum[i]
                c.notional[i] = _to_i128(book.notional[i])
            c.n = n
        return 0

    # --- routing ----------------------------------------------------------------------------

    def route(self, side, quantity, *, limit_price=None, fallback_price=None,
              exclude=_NO_EXCLUDE, time_limit_ms=DEFAULT_TIME_LIMIT_MS,
              max_cells=DEFAULT_MAX_CELLS, jitter_us=0, max_slices=1, seed=None):
        cdef int64_t lots[64]
        cdef int count
        if not (jitter_us == 0 and max_slices == 1):
            options_args(time_limit_ms, max_cells, jitter_us, max_slices)
        method = self._solve(side, quantity, limit_price, fallback_price, exclude,
                             time_limit_ms, max_cells, lots)
        count = self.n_play
        route = self._assemble(self.c_side, self.c_quantity, count, lots, method)
        if jitter_us or max_slices > 1:
            route = randomise(route, self._pure_in_play(), jitter_us, max_slices, seed)
        return route

    def split_into(self, out, side, quantity, *, limit_price=None, fallback_price=None,
                   exclude=_NO_EXCLUDE, time_limit_ms=DEFAULT_TIME_LIMIT_MS,
                   max_cells=DEFAULT_MAX_CELLS):
        cdef int64_t lots[64]
        cdef int64_t[:, ::1] view
        cdef int64_t filled = 0, worst
        cdef int k
        view = split_array(out, self.n_venues)
        self._solve(side, quantity, limit_price, fallback_price, exclude, time_limit_ms,
                    max_cells, lots)
        view[:, :] = 0
        for k in range(self.n_play):
            if lots[k]:
                _notional_of(self.play[k].book, lots[k], &worst)
                view[self.play[k].slot, 0] = lots[k]
                view[self.play[k].slot, 1] = worst
                filled += lots[k]
        return filled

    cdef object _solve(self, object side, object quantity, object limit_price,
                       object fallback_price, object exclude, object time_limit_ms,
                       object max_cells, int64_t* lots):
        """Validate a route call, put the venues in play and fill ``lots`` for each; return
        the method."""
        cdef int k, count
        cdef int64_t c_limit = 0, c_fallback = 0
        cdef unsigned long long mask = 0
        cdef bint proportional = True
        cdef VenueC* v
        # The common call (ints, no exclusions, default bounds) skips the generic validation.
        if (PyLong_CheckExact(side) and (side == 1 or side == -1) and PyLong_CheckExact(quantity)
                and 0 < quantity <= MAX_LOTS and limit_price is None and fallback_price is None
                and exclude is _NO_EXCLUDE):
            self.c_side, self.c_quantity = side, quantity
        else:
            py_side, quantity, limit, fallback_, py_mask = route_args(
                side, quantity, limit_price, fallback_price, exclude, self.n_venues)
            self.c_side, self.c_quantity, mask = py_side, quantity, py_mask
            if limit is not None:
                c_limit = limit
            if fallback_ is not None:
                c_fallback = fallback_
        if not (time_limit_ms is DEFAULT_TIME_LIMIT_MS and max_cells is DEFAULT_MAX_CELLS):
            max_cells = options_args(time_limit_ms, max_cells, 0, 1)[0]
        self.request = (None if limit_price is None else c_limit,
                        None if fallback_price is None else c_fallback, mask)
        count = self._in_play(self.c_side, limit_price is not None, c_limit,
                              fallback_price is not None, c_fallback, mask)
        self.n_play = count
        for k in range(count):
            lots[k] = 0
            v = &self.venues[self.play[k].slot]
            if v.fixed_fee != 0 or v.lot_size != 1 or v.min_size > 1:
                proportional = False
        if proportional:
            for k in range(count):
                self.ids[k] = k
                self.caps[k] = self.play[k].cap
            self._greedy(count, self.ids, self.caps, self.c_quantity, lots)
            return GREEDY
        if self._dp(count, self.c_quantity, lots, time_limit_ms / 1000.0, max_cells):
            return DP
        self._fallback(count, self.c_quantity, lots)
        return FALLBACK

    def _pure_in_play(self):
        """The pure twin's view of the venues in play for the last request (cold paths)."""
        limit, fallback_, mask = self.request
        return self._pure._in_play(self.c_side, limit, fallback_, mask)

    cdef int _in_play(self, int side, bint has_limit, int64_t limit, bint has_fallback,
                      int64_t fallback, unsigned long long mask) except -1:
        """Fill ``self.play`` with the venues a route may use; return how many."""
        cdef int book = ASK if side == 1 else BID
        cdef int i, count = 0
        cdef Py_ssize_t n, lo, hi, mid
        cdef Py_ssize_t counts[64]
        cdef bint any_levels = False
        cdef BookSide* s
        cdef VenueC* v
        cdef int64_t worst, cap, lots, fee_num
        cdef int128 per_tick, budget, spent, a
        cdef InPlay* p
        for i in range(self.n_venues):
            counts[i] = 0
            if mask >> i & 1:
                continue
            s = &self.venues[i].sides[book]
            if s.n:
                any_levels = True
            n = s.n
            if has_limit:
                lo, hi = 0, n
                while lo < hi:
                    mid = (lo + hi) >> 1
                    if (s.prices[mid] <= limit) if side == 1 else (s.prices[mid] >= limit):
                        lo = mid + 1
                    else:
                        hi = mid
                n = lo
            counts[i] = n
        if not any_levels:
            self._pure._in_play(side, limit if has_limit else None, None, mask)  # raises
            raise RouteError("no venue has levels to route to")
        if not has_fallback:
            if has_limit:
                fallback = limit
            else:
                fallback = 0
                for i in range(self.n_venues):
                    if counts[i]:
                        worst = self.venues[i].sides[book].prices[counts[i] - 1]
                        if fallback == 0 or (worst > fallback if side == 1 else worst < fallback):
                            fallback = worst
        for i in range(self.n_venues):
            n = counts[i]
            v = &self.venues[i]
            s = &v.sides[book]
            cap = s.cum[n]
            if side == -1 and v.base_balance >= 0 and v.base_balance < cap:
                cap = v.base_balance
            if side == 1 and v.quote_balance >= 0:
                budget = v.quote_balance - v.fixed_fee
                if budget <= 0:
                    cap = 0
                else:
                    per_tick = <int128>(C_FEE_SCALE + v.fee) * C_PROB_SCALE
                    lo, hi = 0, n
                    while lo < hi:
                        mid = (lo + hi + 1) >> 1
                        if s.notional[mid] * per_tick <= budget:
                            lo = mid
                        else:
                            hi = mid - 1
                    lots = s.cum[lo]
                    if lo < n:
                        spent = s.notional[lo] * per_tick
                        a = (budget - spent) // (s.prices[lo] * per_tick)
                        lots += <int64_t>min(<int128>(s.cum[lo + 1] - s.cum[lo]), a)
                    if lots < cap:
                        cap = lots
            if cap <= 0:
                continue
            p = &self.play[count]
            p.slot = i
            p.levels = n
            p.cap = cap
            p.book = s
            p.latency_us = v.latency_us
            if side == 1:
                p.a = <int128>v.probability * (C_FEE_SCALE + v.fee)
            else:
                p.a = -(<int128>v.probability * (C_FEE_SCALE - v.fee))
            p.b = <int128>side * (C_PROB_SCALE - v.probability) * fallback * C_FEE_SCALE
            count += 1
        return count

    cdef int _greedy(self, int count, int* ids, int64_t* caps, int64_t quantity,
                     int64_t* lots) except -1:
        """Lots for the venues in play ``ids[0..count)`` capped at ``caps``, cheapest lots
        first (see the module docstring); ``lots[j]`` is for ``ids[j]``."""
        cdef Py_ssize_t lo[64]
        cdef Py_ssize_t hi[64]
        cdef Py_ssize_t up[64]
        cdef int k, j, t, m
        cdef int order[64]
        cdef int64_t total = 0, target, reached, below, room
        cdef int128 high, pivot, key
        cdef int128 keys[64]
        cdef Py_ssize_t widths[64]
        cdef Py_ssize_t width, mid, weight_total
        cdef InPlay* v
        if count == 0:
            return 0
        high = 0
        for k in range(count):
            total += caps[k]
        target = quantity if quantity < total else total
        for k in range(count):
            v = &self.play[ids[k]]
            # Only the levels up to the one that reaches the cap (or the whole order) count.
            lo[k] = 0
            hi[k] = _level_of(v.book.cum, v.levels, caps[k] if caps[k] < target else target) + 1
            key = v.a * v.book.prices[hi[k] - 1] + v.b
            if k == 0 or key > high:
                high = key
        # Invariants: the cost t* sought is in (low, high]; lo[k] levels of venue k cost at most
        # low, hi[k] at most high, so the candidates for t* are the keys of levels [lo, hi).
        # Each pivot is the width-weighted median of the venues' middle candidates, so every
        # count removes about a quarter of the candidates left.
        while True:
            m = 0
            weight_total = 0
            for k in range(count):
                v = &self.play[ids[k]]
                width = hi[k] - lo[k]
                if width <= 0 or v.a * v.book.prices[lo[k]] + v.b >= high:
                    continue
                mid = lo[k] + (width >> 1)
                key = v.a * v.book.prices[mid] + v.b
                if key >= high:
                    key = v.a * v.book.prices[lo[k]] + v.b
                # Insertion into (key, width) sorted by key.
                j = m - 1
                while j >= 0 and keys[j] > key:
                    keys[j + 1] = keys[j]
                    widths[j + 1] = widths[j]
                    j -= 1
                keys[j + 1] = key
                widths[j + 1] = width
                m += 1
                weight_total += width
            if m == 0:
                break
            j = 0
            width = widths[0]
            while 2 * width < weight_total:
                j += 1
                width += widths[j]
            pivot = keys[j]
            reached = 0
            for k in range(count):
                up[k] = _upper(&self.play[ids[k]], pivot, lo[k], hi[k])
                reached += _lots_to(&self.play[ids[k]], caps[k], up[k])
            if reached >= target:
                high = pivot
                for k in range(count):
                    hi[k] = up[k]
            else:
                for k in range(count):
                    lo[k] = up[k]
        # Every lot cheaper than t* = high is taken; lots at t* go by latency, then venue.
        below = 0
        for k in range(count):
            v = &self.play[ids[k]]
            lots[k] = _lots_to(v, caps[k], _upper(v, high - 1, 0, hi[k]))
            below += lots[k]
        for k in range(count):
            order[k] = k
        for k in range(1, count):  # insertion sort by (latency, k): a stable sort by latency
            t = order[k]
            j = k - 1
            while j >= 0 and self.play[ids[order[j]]].latency_us > self.play[ids[t]].latency_us:
                order[j + 1] = order[j]
                j -= 1
            order[j + 1] = t
        for j in range(count):
            if below >= target:
                break
            k = order[j]
            v = &self.play[ids[k]]
            room = _lots_to(v, caps[k], _upper(v, high, 0, v.levels)) - lots[k]
            if room > target - below:
                room = target - below
            lots[k] += room
            below += room
        return 0

    cdef int _dp(self, int count, int64_t quantity, int64_t* lots, double seconds,
                 int64_t max_cells) except -1:
        """Exact lots per venue in play (the pure twin's ``dp``: the same plans, order and
        ties); 0 when past ``max_cells`` or ``seconds`` (or predicted to be)."""
        cdef double deadline = _now() + seconds
        cdef int64_t units = 0, total = 0, n, a_, b_, lot, cells = 0, width
        cdef int64_t step[64]
        cdef int64_t jmin[64]
        cdef int64_t jmax[64]
        cdef int64_t wlo[64]
        cdef int64_t whi[64]
        cdef int64_t rlo[64]
        cdef int64_t rhi[64]
        cdef int128 offsets[64]
        cdef bint zero[64]
        cdef int128 lam = 0, cutoff = 0
        cdef bint bounded
        cdef double steps = 0
        cdef int k
        cdef VenueC* c
        if count == 0:
            return 1
        if max_cells < count:  # every stage keeps a state at least
            return 0
        for k in range(count):
            a_, b_ = units, self.venues[self.play[k].slot].lot_size
            while b_:
                a_, b_ = b_, a_ % b_
            units = a_
        for k in range(count):
            c = &self.venues[self.play[k].slot]
            lot = c.lot_size
            jmin[k] = max(1, (c.min_size + lot - 1) // lot)
            jmax[k] = self.play[k].cap // lot
            if jmin[k] <= jmax[k]:
                total += jmax[k] * lot
        n = (quantity if quantity < total else total) // units
        for k in range(count):
            step[k] = self.venues[self.play[k].slot].lot_size // units
            if n // step[k] < jmax[k]:
                jmax[k] = n // step[k]
        bounded = self._bounded_plan(count, n, units, step, jmin, jmax, offsets, zero, wlo, whi,
                                     &lam, &cutoff)
        if not bounded:
            lam = 0
            for k in range(count):
                offsets[k] = 0
                zero[k] = True
                wlo[k], whi[k] = jmin[k], jmax[k]
                if jmin[k] > jmax[k]:
                    wlo[k], whi[k] = 1, 0
        _ranges(count, n, step, zero, wlo, whi, bounded, rlo, rhi)
        for k in range(count):
            width = rhi[k] - rlo[k] + 1
            cells += width
            steps += width * log2(max(whi[k] - wlo[k], 0) + 3)
        if cells > max_cells or n >= 2**31 - 1:
            return 0
        if steps * DP_NS_PER_STEP / 1e9 > seconds:
            return 0
        return self._run_plan(count, n, step, wlo, whi, zero, offsets, lam, bounded, cutoff,
                              rlo, rhi, lots, deadline)

    cdef bint _bounded_plan(self, int count, int64_t n, int64_t units, int64_t* step,
                            int64_t* jmin, int64_t* jmax, int128* offsets, bint* zero,
                            int64_t* wlo, int64_t* whi, int128* lam_out,
                            int128* cutoff) except -1:
        """The pure twin's ``bounded_plan``: False when it does not apply."""
        cdef bint active[64]
        cdef int64_t trial[64]
        cdef int128 spare[64]
        cdef int128 upper, lower, lo = 0, hi = 0, mid, key, fixed_max = 0, slack, limit
        cdef int128 value, reach, b_lo, b_hi, cross, top, price, width
        cdef int64_t filled, excess, e_lo, e_hi, in_play = 0, lot, middle, first, a, b, j
        cdef bint halve, cut
        cdef int k
        cdef InPlay* v
        cdef VenueC* c
        for k in range(count):
            active[k] = True
        filled = self._rounded_greedy(count, active, n * units, trial, &upper)
        if filled != n * units:
            return False
        for k in range(count):
            v = &self.play[k]
            c = &self.venues[v.slot]
            key = v.a * v.book.prices[0] + v.b
            if k == 0 or key < lo:
                lo = key
            key = v.a * v.book.prices[v.levels - 1] + v.b
            if k == 0 or key > hi:
                hi = key
            if c.fixed_fee > fixed_max:
                fixed_max = c.fixed_fee
            if jmin[k] <= jmax[k]:
                in_play += jmax[k] * c.lot_size
        lo -= 1
        hi += fixed_max + 1
        if in_play:  # max(|lo|, |hi|) * in_play >= 2**120, without overflowing
            reach = ((<int128>1 << 120) + in_play - 1) // in_play
            if (lo if lo >= 0 else -lo) >= reach or (hi if hi >= 0 else -hi) >= reach:
                return False
        # The pure twin's best_price: cutting planes, safeguarded by halving.
        b_lo = self._lagrangian(count, n * units, lo, jmin, jmax, spare, &e_lo)
        b_hi = self._lagrangian(count, n * units, hi, jmin, jmax, offsets, &e_hi)
        lower, lam_out[0] = b_hi, hi
        if b_lo >= b_hi:
            lower, lam_out[0] = b_lo, lo
            for k in range(count):
                offsets[k] = spare[k]
        halve = False
        while hi - lo > 1:
            cut = False
            if not halve and e_lo > e_hi and hi - lo < (<int128>1 << 78):
                cross = lo + _floordiv128(b_hi - b_lo - e_hi * (hi - lo), e_lo - e_hi)
                top = _envelope(b_lo, e_lo, lo, b_hi, e_hi, hi, cross)
                value = _envelope(b_lo, e_lo, lo, b_hi, e_hi, hi, cross + 1)
                if value > top:
                    top = value
                if lower >= top:
                    break
                cut = True
                price = cross
                if price < lo + 1:
                    price = lo + 1
                if price > hi - 1:
                    price = hi - 1
            if not cut:
                price = lo + ((hi - lo) >> 1)
            value = self._lagrangian(count, n * units, price, jmin, jmax, spare, &excess)
            if value > lower:
                lower, lam_out[0] = value, price
                for k in range(count):
                    offsets[k] = spare[k]
            width = hi - lo
            if excess > 0:
                lo, b_lo, e_lo = price, value, excess
            else:
                hi, b_hi, e_hi = price, value, excess
            halve = cut and 2 * (hi - lo) > width
        slack = upper - lower
        cutoff[0] = slack
        for k in range(count):
            zero[k] = -offsets[k] <= slack
            wlo[k], whi[k] = 1, 0
            if jmin[k] > jmax[k]:
                continue
            v = &self.play[k]
            lot = self.venues[v.slot].lot_size
            limit = slack + offsets[k] - self.venues[v.slot].fixed_fee
            middle = _lowest(v, lot, jmin[k], jmax[k], lam_out[0], &value)
            if value > limit:
                continue
            a, b = jmin[k], middle
            while a < b:
                j = (a + b) >> 1
                if _phi(v, lot, j, lam_out[0]) <= limit:
                    b = j
                else:
                    a = j + 1
            first = a
            a, b = middle, jmax[k]
            while a < b:
                j = (a + b + 1) >> 1
                if _phi(v, lot, j, lam_out[0]) <= limit:
                    a = j
                else:
                    b = j - 1
            wlo[k], whi[k] = first, a
        return True

    cdef int128 _lagrangian(self, int count, int64_t target, int128 lam, int64_t* jmin,
                            int64_t* jmax, int128* offsets, int64_t* excess) except? -1:
        """The pure twin's ``lagrangian``: returns the bound, sets offsets and excess."""
        cdef int128 bound = lam * target, value
        cdef int64_t taken = 0, j, lot
        cdef int k
        cdef InPlay* v
        for k in range(count):
            offsets[k] = 0
            if jmin[k] > jmax[k]:
                continue
            v = &self.play[k]
            lot = self.venues[v.slot].lot_size
            j = _lowest(v, lot, jmin[k], jmax[k], lam, &value)
            value += self.venues[v.slot].fixed_fee
            if value < 0:
                offsets[k] = value
                bound += value
                taken += j * lot
        excess[0] = target - taken
        return bound

    cdef int _run_plan(self, int count, int64_t n, int64_t* step, int64_t* wlo, int64_t* whi,
                       bint* zero, int128* offsets, int128 lam, bint bounded, int128 cutoff,
                       int64_t* rlo, int64_t* rhi, int64_t* lots, double deadline) except -1:
        """The pure twin's ``run_plan``."""
        cdef int64_t start[65]
        cdef int64_t widest = 1, window = 1, k64, x, lo, hi, prev_lo = 0, prev_hi = 0, first
        cdef int64_t last, j, lot, residue, i
        cdef int k
        cdef int128 fixed
        cdef InPlay* v
        start[0] = 0
        for k in range(count):
            start[k + 1] = start[k] + rhi[k] - rlo[k] + 1
            widest = max(widest, rhi[k] - rlo[k] + 1)
            window = max(window, whi[k] - wlo[k] + 1)
        cdef int128* buffers = <int128*>malloc(2 * (widest + 1) * sizeof(int128))
        cdef int128* g = <int128*>malloc(window * sizeof(int128))
        cdef int32_t* choices = <int32_t*>malloc(max(start[count], 1) * sizeof(int32_t))
        cdef int128* prev
        cdef int128* values
        cdef int32_t* choice
        cdef int flip = 0
        try:
            if buffers == NULL or g == NULL or choices == NULL:
                raise MemoryError()
            prev = buffers
            prev[0] = 0
            for k in range(count):
                if _now() > deadline:
                    return 0
                v = &self.play[k]
                lo, hi = rlo[k], rhi[k]
                flip ^= 1
                values = buffers + flip * (widest + 1)
                choice = choices + start[k]
                for i in range(hi - lo + 1):
                    values[i] = C_UNREACHABLE
                    choice[i] = 0
                if zero[k]:
                    for x in range(max(lo, prev_lo), min(hi, prev_hi) + 1):
                        values[x - lo] = prev[x - prev_lo] - offsets[k]
                if wlo[k] <= whi[k]:
                    lot = self.venues[v.slot].lot_size
                    fixed = self.venues[v.slot].fixed_fee - offsets[k]
                    for j in range(wlo[k], whi[k] + 1):
                        g[j - wlo[k]] = fixed + _cost(v, j * lot) - lam * (j * lot)
                    for residue in range(min(step[k], hi - lo + 1)):
                        _convolve(prev, prev_lo, prev_hi, lo + residue, hi, step[k], g, wlo[k],
                                  whi[k], values, choice, residue)
                if bounded:
                    first, last = -1, -1
                    for i in range(hi - lo + 1):
                        if values[i] <= cutoff:
                            if first < 0:
                                first = i
                            last = i
                        else:
                            values[i] = C_UNREACHABLE
                    if first < 0:  # cannot happen: the rounded greedy's split is always kept
                        raise RouteError("internal: the bounded programme kept no split")
                    prev = values + first
                    prev_lo, prev_hi = lo + first, lo + last
                else:
                    prev = values
                    prev_lo, prev_hi = lo, hi
            if bounded:
                x = n
            else:
                x = 0
                for i in range(prev_hi, prev_lo - 1, -1):
                    if prev[i - prev_lo] < C_FEASIBLE:
                        x = i
                        break
            for k in range(count - 1, -1, -1):
                j = choices[start[k] + x - rlo[k]]
                lots[k] = j * self.venues[self.play[k].slot].lot_size
                x -= j * step[k]
            return 1
        finally:
            free(buffers)
            free(g)
            free(choices)

    cdef int _fallback(self, int count, int64_t quantity, int64_t* lots) except -1:
        """The pure twin's ``fallback`` over the venues in play, in C."""
        cdef bint active[64]
        cdef int64_t trial[64]
        cdef int64_t best_filled, filled, improved_filled = 0
        cdef int128 best_cost, cost, improved_cost = 0
        cdef int k, j, drop
        cdef bint better
        for k in range(count):
            active[k] = True
        best_filled = self._rounded_greedy(count, active, quantity, lots, &best_cost)
        while True:
            drop = -1
            for k in range(count):
                if not active[k] or not lots[k]:
                    continue
                active[k] = False
                filled = self._rounded_greedy(count, active, quantity, trial, &cost)
                active[k] = True
                if drop < 0:
                    better = filled > best_filled or (filled == best_filled and cost < best_cost)
                else:
                    better = filled > improved_filled or (
                        filled == improved_filled and cost < improved_cost)
                if better:
                    drop, improved_filled, improved_cost = k, filled, cost
                    for j in range(count):
                        self.spare[j] = trial[j]
            if drop < 0:
                return 0
            active[drop] = False
            best_filled, best_cost = improved_filled, improved_cost
            for j in range(count):
                lots[j] = self.spare[j]

    cdef int64_t _rounded_greedy(self, int count, bint* active, int64_t quantity,
                                 int64_t* lots, int128* cost) except -1:
        """The pure twin's ``_rounded_greedy``: fills ``lots``, returns the lots filled and
        sets ``cost``."""
        cdef int ids[64]
        cdef int64_t caps[64]
        cdef int64_t shares[64]
        cdef int64_t smallest[64]
        cdef int m = 0, k, j, pick
        cdef int64_t lot, cap, total = 0, target, remaining, size, q, best_size = 0, worst
        cdef int64_t filled = 0
        cdef int128 delta, quotient, rest, best_quotient = 0, best_rest = 0
        cdef InPlay* v
        cdef VenueC* c
        for k in range(count):
            lots[k] = 0
            c = &self.venues[self.play[k].slot]
            lot = c.lot_size
            smallest[k] = max(lot, (c.min_size + lot - 1) // lot * lot)
            if not active[k]:
                continue
            cap = self.play[k].cap // lot * lot
            if cap >= smallest[k]:
                ids[m] = k
                caps[m] = cap
                total += cap
                m += 1
        self._greedy(m, ids, caps, quantity, shares)
        target = quantity if quantity < total else total
        remaining = target
        for j in range(m):
            k = ids[j]
            lot = self.venues[self.play[k].slot].lot_size
            q = shares[j] // lot * lot
            lots[k] = q if q >= smallest[k] else 0
            remaining -= lots[k]
        while remaining > 0:
            pick = -1
            for j in range(m):
                k = ids[j]
                v = &self.play[k]
                c = &self.venues[v.slot]
                size = c.lot_size if lots[k] else smallest[k]
                if size > remaining or lots[k] + size > caps[j]:
                    continue
                delta = _cost(v, lots[k] + size) - _cost(v, lots[k])
                if not lots[k]:
                    delta += c.fixed_fee
                # delta / size as floor quotient and remainder: exact, and the cross products
                # of remainders and sizes stay within 80 bits.
                quotient = delta // size
                rest = delta - quotient * size
                if rest < 0:
                    quotient -= 1
                    rest += size
                if pick >= 0:
                    if quotient > best_quotient:
                        continue
                    if quotient == best_quotient:
                        if rest * best_size > best_rest * size:
                            continue
                        if (rest * best_size == best_rest * size
                                and v.latency_us >= self.play[pick].latency_us):
                            continue
                pick, best_quotient, best_rest, best_size = k, quotient, rest, size
            if pick < 0:
                break
            lots[pick] += best_size
            remaining -= best_size
        cost[0] = 0
        for k in range(count):
            if lots[k]:
                cost[0] += _cost(&self.play[k], lots[k]) + self.venues[self.play[k].slot].fixed_fee
                filled += lots[k]
        return filled

    cdef object _assemble(self, int side, int64_t quantity, int count, int64_t* lots,
                          object method):
        cdef int k
        cdef int64_t latency = 0, filled = 0, worst
        cdef int128 notional, fee, cost, sum_notional = 0, sum_fee = 0, sum_cost = 0
        cdef InPlay* v
        cdef VenueC* c
        for k in range(count):
            if lots[k] and self.play[k].latency_us > latency:
                latency = self.play[k].latency_us
        children = []
        for k in range(count):
            if not lots[k]:
                continue
            v = &self.play[k]
            c = &self.venues[v.slot]
            notional = _notional_of(v.book, lots[k], &worst)
            fee = notional * c.fee * C_PROB_SCALE + c.fixed_fee
            cost = v.a * notional + v.b * lots[k] + c.fixed_fee
            filled += lots[k]
            sum_notional += notional
            sum_fee += fee
            sum_cost += cost
            children.append(_record(Child, (
                v.slot, self.names[v.slot], lots[k], worst, _from_i128(notional),
                _from_i128(fee), _from_i128(cost), latency - v.latency_us)))
        return _record(Route, (side, quantity, filled, tuple(children), _from_i128(sum_notional),
                               _from_i128(sum_fee), _from_i128(sum_cost), method))


cdef inline int64_t _floordiv(int64_t a, int64_t b) noexcept nogil:
    """a // b rounded down (b > 0), as Python's //."""
    cdef int64_t q = a // b
    if a % b != 0 and a < 0:
        q -= 1
    return q


cdef inline int128 _floordiv128(int128 a, int128 b) noexcept nogil:
    """a // b rounded down (b > 0), as Python's //."""
    cdef int128 q = a / b
    if a % b != 0 and a < 0:
        q -= 1
    return q


cdef inline int128 _envelope(int128 b_lo, int128 e_lo, int128 lo, int128 b_hi, int128 e_hi,
                             int128 hi, int128 x) noexcept nogil:
    """The lower of the two supergradient lines at x."""
    cdef int128 left = b_lo + e_lo * (x - lo), right = b_hi + e_hi * (x - hi)
    return left if left < right else right


cdef inline int128 _phi(InPlay* v, int64_t lot, int64_t j, int128 lam) noexcept nogil:
    return _cost(v, j * lot) - lam * (j * lot)


cdef int64_t _lowest(InPlay* v, int64_t lot, int64_t jmin, int64_t jmax, int128 lam,
                     int128* value) noexcept nogil:
    """The pure twin's ``_lowest``: returns j and sets its value."""
    cdef int64_t below = v.book.cum[_upper(v, lam - 1, 0, v.levels)], j, best_j = 0, t
    cdef int128 val, best = 0
    if below > v.cap:
        below = v.cap
    below //= lot
    for t in range(2):
        j = below + t
        if j < jmin:
            j = jmin
        if j > jmax:
            j = jmax
        val = _phi(v, lot, j, lam)
        if t == 0 or val < best:
            best, best_j = val, j
    value[0] = best
    return best_j


cdef void _ranges(int count, int64_t n, int64_t* step, bint* zero, int64_t* wlo, int64_t* whi,
                  bint exact_target, int64_t* rlo, int64_t* rhi) noexcept nogil:
    """The pure twin's ``_ranges``."""
    cdef int64_t low = 0, high = 0, rest_low = 0, rest_high = 0, a, b
    cdef int k
    for k in range(count):
        rest_low += 0 if zero[k] else wlo[k] * step[k]
        rest_high += whi[k] * step[k] if wlo[k] <= whi[k] else 0
    for k in range(count):
        a = 0 if zero[k] else wlo[k] * step[k]
        b = whi[k] * step[k] if wlo[k] <= whi[k] else 0
        low += a
        high += b
        rest_low -= a
        rest_high -= b
        if exact_target:
            rlo[k] = max(low, n - rest_high)
            rhi[k] = min(high, n - rest_low)
        else:
            rlo[k] = 0
            rhi[k] = min(high, n)


cdef void _convolve(int128* prev, int64_t prev_lo, int64_t prev_hi, int64_t base, int64_t hi,
                    int64_t step, int128* g, int64_t wlo, int64_t whi, int128* values,
                    int32_t* choice, int64_t offset) noexcept nogil:
    """The pure twin's ``convolve`` (one residue class of a stage)."""
    cdef int64_t stack[4 * 130]
    cdef int depth
    cdef int64_t tlo = -_floordiv(base - prev_lo, step), thi = _floordiv(prev_hi - base, step)
    cdef int64_t ulo, uhi, shift = base - prev_lo, a, b, ilo, ihi, u, first, last, t, best_t
    cdef int128 best, value
    if tlo > thi:
        return
    ulo = tlo + wlo if tlo + wlo > 0 else 0
    uhi = (hi - base) // step
    if thi + whi < uhi:
        uhi = thi + whi
    stack[0], stack[1], stack[2], stack[3] = ulo, uhi, tlo, thi
    depth = 1
    while depth:
        depth -= 1
        a = stack[4 * depth]
        b = stack[4 * depth + 1]
        ilo = stack[4 * depth + 2]
        ihi = stack[4 * depth + 3]
        if a > b:
            continue
        u = (a + b) >> 1
        first = ilo if ilo > u - whi else u - whi
        last = ihi if ihi < u - wlo else u - wlo
        best_t = first
        best = prev[shift + step * first] + g[u - first - wlo]
        for t in range(first + 1, last + 1):
            value = prev[shift + step * t] + g[u - t - wlo]
            if value < best:
                best_t = t
                best = value
        t = offset + step * u
        if best < values[t]:
            values[t] = best
            choice[t] = <int32_t>(u - best_t)
        # Each row depends only on the bounds its parent gave it, so the order rows are solved
        # in does not change the result; one pending sibling per level keeps the stack O(log n).
        stack[4 * depth] = a
        stack[4 * depth + 1] = u - 1
        stack[4 * depth + 2] = ilo
        stack[4 * depth + 3] = best_t
        depth += 1
        stack[4 * depth] = u + 1
        stack[4 * depth + 1] = b
        stack[4 * depth + 2] = best_t
        stack[4 * depth + 3] = ihi
        depth += 1
