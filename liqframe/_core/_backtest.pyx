# cython: language_level=3
"""Queue-position fill replay over an array of L2 book events (compiled twin).

Same names, results and errors as the pure twin liqframe/_core/backtest.py, which documents the
model; the dtypes, :class:`QuoteTouch` and the checks are imported from it. The event loop is C:
it reads the caller's event rows in place, keeps each book side as an array of sizes indexed by
price (``px - lo``, or the rank among the feed's distinct prices when the span is too wide) with
its best level tracked, and writes fills, equity rows and mid changes into preallocated numpy
arrays. A :class:`QuoteTouch` strategy is evaluated in C; any other callable is called once per
decision, never per event.
"""
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from libc.math cimport fmax, pow
from libc.stdint cimport int64_t
from libc.stdlib cimport calloc, free

from liqframe._core._backtest cimport Action, Actions, EquityRow, Event, FillRow, Order, Side

import numpy as np

from liqframe._core.backtest import (  # noqa: F401  (re-exported: the same public names)
    ASK_SIDE,
    BID_SIDE,
    DEPTH,
    EQUITY_DTYPE,
    EVENT_DTYPE,
    QUEUE_FILL_DTYPE,
    MAX_DECISIONS,
    PROGRESS_EVERY,
    TRADE,
    QuoteTouch,
    check,
    quote,
)

#: Widest price span (in ticks) kept as a direct array; wider feeds index levels by rank.
#: Module-level so a test can force the rank path.
DENSE_LEVELS = 1 << 24

if EVENT_DTYPE.itemsize != sizeof(Event) or QUEUE_FILL_DTYPE.itemsize != sizeof(FillRow) \
        or EQUITY_DTYPE.itemsize != sizeof(EquityRow):
    raise ImportError("the C rows of _backtest do not match the numpy dtypes of backtest.py")


cdef inline int64_t side_set(Side* s, Py_ssize_t j, int64_t qty) noexcept nogil:
    cdef int64_t before = s.qty[j]
    s.qty[j] = qty
    if qty:
        if not before:
            s.count += 1
        if s.best < 0 or (j > s.best if s.bid else j < s.best):
            s.best = j
    elif before:
        s.count -= 1
        if j == s.best:
            if s.count == 0:
                s.best = -1
            elif s.bid:
                j -= 1
                while s.qty[j] == 0:
                    j -= 1
                s.best = j
            else:
                j += 1
                while s.qty[j] == 0:
                    j += 1
                s.best = j
    return before


cdef int push(Actions* q, int64_t at, bint has_px, int64_t px, int64_t size,
              int64_t sent_ts) except -1:
    cdef Action* grown
    cdef Py_ssize_t k
    if q.n == q.capacity:
        grown = <Action*>PyMem_Malloc(2 * q.capacity * sizeof(Action))
        if grown == NULL:
            raise MemoryError()
        for k in range(q.n):
            grown[k] = q.items[(q.head + k) % q.capacity]
        PyMem_Free(q.items)
        q.items, q.head, q.capacity = grown, 0, 2 * q.capacity
    cdef Action* a = &q.items[(q.head + q.n) % q.capacity]
    a.at, a.has_px, a.px, a.size, a.sent_ts = at, has_px, px, size, sent_ts
    q.n += 1
    return 0


cdef class _Levels:
    """Price <-> level index for one feed: ``px - lo`` or the rank in ``prices``."""
    cdef int64_t lo
    cdef Py_ssize_t size
    cdef bint dense
    cdef const int64_t[::1] prices
    cdef const int64_t[::1] rank

    def __init__(self, events, int64_t lo, int64_t hi, Py_ssize_t dense_levels):
        self.lo = lo
        self.dense = hi - lo < dense_levels
        if self.dense:
            self.size = hi - lo + 1
            self.prices = self.rank = np.zeros(0, np.int64)
        else:
            prices = np.unique(events["px"])
            self.prices = prices
            self.rank = np.searchsorted(prices, events["px"]).astype(np.int64)
            self.size = len(prices)

    cdef inline int64_t price(self, Py_ssize_t j) noexcept:
        return self.lo + j if self.dense else self.prices[j]

    cdef Py_ssize_t find(self, int64_t px) noexcept:
        """The index of ``px``, or -1 for a price no event carries (its level is always empty)."""
        cdef Py_ssize_t low = 0, high, mid
        if self.dense:
            return px - self.lo if self.lo <= px < self.lo + self.size else -1
        high = self.size
        while low < high:
            mid = (low + high) >> 1
            if self.prices[mid] < px:
                low = mid + 1
            else:
                high = mid
        return low if low < self.size and self.prices[low] == px else -1


cdef inline object best_price(Side* s, _Levels levels):
    return None if s.best < 0 else levels.price(s.best)


def replay_events(events, strategy, *, interval_ns, order_latency_ns=0, probabilistic=False,
           power=2.0, fee_bps=0.0, progress=None):
    """Replay ``events`` against ``strategy`` (see the pure twin for the model and result)."""
    events = check(events, strategy, interval_ns, order_latency_ns, power, fee_bps)
    cdef Py_ssize_t n = len(events), i, j, k, local_i = 0, side, maker
    cdef const unsigned char[::1] raw = events.view(np.uint8) if n else b""
    cdef const Event* ev = <const Event*>&raw[0] if n else NULL
    cdef const Event* e
    cdef int64_t interval = interval_ns, latency = order_latency_ns
    cdef double p = power, fee_rate = fee_bps, front, back, ahead, fee
    cdef bint prob = probabilistic, touch = isinstance(strategy, QuoteTouch)
    cdef int64_t t_size = 0, t_offset = 0, t_limit = -1
    cdef int64_t lo = 0, hi = 0, max_local = 0, n_trades = 0, n_depth = 0
    cdef int64_t t, next_decision, px, qty, before, sign, mid2 = 0, want_px, want_size
    cdef int64_t position = 0, cash = 0, spread2 = 0, inventory2 = 0, n_fills = 0, n_mids = 0
    cdef int64_t n_equity = 0, rejected = 0, decisions_cap
    cdef int64_t orders[2]
    cdef int64_t intended_px[2]
    cdef int64_t intended_size[2]
    cdef bint intended_has[2]
    cdef bint has_mid = False, has_bid, has_ask, has
    cdef int64_t bid_px, ask_px
    cdef double fees = 0.0
    cdef Side book[2]
    cdef Side seen[2]
    cdef Order live[2]
    cdef Actions pending[2]
    cdef Action* a
    cdef Order* o
    cdef _Levels levels
    if touch:
        t_size, t_offset = strategy.size, strategy.offset
        t_limit = -1 if strategy.max_position is None else strategy.max_position
    if n:
        lo = hi = ev[0].px
        max_local = ev[0].local_ts
        for i in range(n):
            e = &ev[i]
            if e.px < lo:
                lo = e.px
            elif e.px > hi:
                hi = e.px
            if e.local_ts > max_local:
                max_local = e.local_ts
            if e.kind == 1:
                n_trades += 1
        n_depth = n - n_trades
        decisions_cap = (max_local - ev[0].local_ts) // interval + 1
    else:
        decisions_cap = 0
    levels = _Levels(events, lo, hi, DENSE_LEVELS)
    cdef bint dense = levels.dense
    cdef const int64_t[::1] rank = levels.rank
    fills_array = np.empty(n_trades, QUEUE_FILL_DTYPE)
    equity_array = np.empty(decisions_cap, EQUITY_DTYPE)
    mid_ts_array = np.empty(n_depth + 1, np.int64)
    mid_array = np.empty(n_depth + 1, np.int64)
    cdef unsigned char[::1] fills_raw = fills_array.view(np.uint8) if n_trades else None
    cdef unsigned char[::1] equity_raw = equity_array.view(np.uint8) if decisions_cap else None
    cdef FillRow* fill_rows = <FillRow*>&fills_raw[0] if n_trades else NULL
    cdef EquityRow* equity_rows = <EquityRow*>&equity_raw[0] if decisions_cap else NULL
    cdef int64_t[::1] mid_ts = mid_ts_array
    cdef int64_t[::1] mid_values = mid_array
    cdef FillRow* f
    cdef EquityRow* q

    for side in range(2):
        orders[side] = 0
        intended_has[side], intended_px[side], intended_size[side] = False, 0, 0
        live[side].live = False
        book[side].qty = seen[side].qty = NULL
        pending[side].items = NULL
    try:
        for side in range(2):
            book[side].qty = <int64_t*>calloc(levels.size + 1, sizeof(int64_t))
            seen[side].qty = <int64_t*>calloc(levels.size + 1, sizeof(int64_t))
            pending[side].items = <Action*>PyMem_Malloc(4 * sizeof(Action))
            if book[side].qty == NULL or seen[side].qty == NULL or pending[side].items == NULL:
                raise MemoryError()
            book[side].best = seen[side].best = -1
            book[side].count = seen[side].count = 0
            book[side].bid = seen[side].bid = side == 0
            pending[side].head = pending[side].n = 0
            pending[side].capacity = 4
        next_decision = ev[0].local_ts + interval if n else 0

        for i in range(n):
            if progress is not None and i and i % PROGRESS_EVERY == 0:
                progress(i)
            e = &ev[i]
            t = e.exch_ts
            while next_decision <= e.local_ts:
                while local_i < n and ev[local_i].local_ts <= next_decision:
                    if ev[local_i].kind == 0:
                        side_set(&seen[ev[local_i].side],
                                 ev[local_i].px - lo if dense else rank[local_i],
                                 ev[local_i].qty)
                    local_i += 1
                if touch:
                    want_size = t_size
                    has_bid = seen[0].best >= 0 and (t_limit < 0 or position < t_limit)
                    has_ask = seen[1].best >= 0 and (t_limit < 0 or position > -t_limit)
                    bid_px = levels.price(seen[0].best) - t_offset if has_bid else 0
                    ask_px = levels.price(seen[1].best) + t_offset if has_ask else 0
                else:
                    bid, ask, want_size = quote(strategy, best_price(&seen[0], levels),
                                                best_price(&seen[1], levels), position)
                    has_bid, has_ask = bid is not None, ask is not None
                    bid_px = bid if has_bid else 0
                    ask_px = ask if has_ask else 0
                for side in range(2):
                    has = has_bid if side == 0 else has_ask
                    want_px = bid_px if side == 0 else ask_px
                    if has != intended_has[side] or (has and (
                            want_px != intended_px[side] or want_size != intended_size[side])):
                        intended_has[side] = has
                        intended_px[side] = want_px if has else 0
                        intended_size[side] = want_size if has else 0
                        push(&pending[side], next_decision + latency, has, want_px, want_size,
                             next_decision)
                        if has:
                            orders[side] += 1
                q = &equity_rows[n_equity]
                q.ts, q.position, q.cash, q.mid2 = next_decision, position, cash, mid2
                q.spread2, q.inventory2, q.fees = spread2, inventory2, fees
                n_equity += 1
                next_decision += interval
            for side in range(2):
                while pending[side].n and pending[side].items[pending[side].head].at <= t:
                    a = &pending[side].items[pending[side].head]
                    pending[side].head = (pending[side].head + 1) % pending[side].capacity
                    pending[side].n -= 1
                    live[side].live = False
                    if not a.has_px:
                        continue
                    j = book[1 - side].best
                    if j >= 0 and (a.px >= levels.price(j) if side == 0
                                   else a.px <= levels.price(j)):
                        rejected += 1
                        if pending[side].n == 0:
                            intended_has[side], intended_px[side] = False, 0
                            intended_size[side] = 0
                        continue
                    o = &live[side]
                    j = levels.find(a.px)
                    o.live, o.px, o.qty, o.sent_ts, o.traded = True, a.px, a.size, a.sent_ts, 0
                    o.ahead = book[side].qty[j] if j >= 0 else 0
            side, px, qty = e.side, e.px, e.qty
            if e.kind == 0:
                before = side_set(&book[side], px - lo if dense else rank[i], qty)
                o = &live[side]
                if o.live and o.px == px:
                    if qty < before:
                        ahead = o.ahead
                        if prob and before - qty - o.traded > 0 and ahead > 0:
                            front = pow(ahead, p)
                            back = pow(fmax(before - ahead, 0.0), p)
                            ahead -= <double>(before - qty - o.traded) * front / (front + back)
                        o.ahead = ahead if ahead <= qty else qty
                    o.traded = 0
                if book[0].best >= 0 and book[1].best >= 0:
                    k = levels.price(book[0].best) + levels.price(book[1].best)
                    if not has_mid or k != mid2:
                        if has_mid:
                            inventory2 += position * (k - mid2)
                        mid2, has_mid = k, True
                        mid_ts[n_mids], mid_values[n_mids] = t, mid2
                        n_mids += 1
            else:
                maker = 1 if side == 0 else 0
                o = &live[maker]
                if not o.live:
                    continue
                if px > o.px if maker == 1 else px < o.px:
                    pass
                elif px == o.px:
                    o.ahead -= qty
                    o.traded += qty
                    if o.ahead >= 0:
                        continue
                else:
                    continue
                if not has_mid:
                    mid2, has_mid = 2 * o.px, True
                    mid_ts[n_mids], mid_values[n_mids] = t, mid2
                    n_mids += 1
                sign = 1 if maker == 0 else -1
                position += sign * o.qty
                cash -= sign * o.px * o.qty
                spread2 += sign * o.qty * (mid2 - 2 * o.px)
                fee = <double>(o.px * o.qty) * fee_rate / 10000.0
                fees += fee
                f = &fill_rows[n_fills]
                f.ts, f.side, f.px, f.qty, f.mid2 = t, maker, o.px, o.qty, mid2
                f.position, f.fee, f.sent_ts = position, fee, o.sent_ts
                n_fills += 1
                o.live = False
                if pending[maker].n == 0:
                    intended_has[maker], intended_px[maker], intended_size[maker] = False, 0, 0
        if progress is not None:
            progress(n)
    finally:
        for side in range(2):
            free(book[side].qty)
            free(seen[side].qty)
            PyMem_Free(pending[side].items)
    return {
        "events": n, "decisions": n_equity, "bid_orders": orders[0], "ask_orders": orders[1],
        "rejected": rejected, "position": position, "cash": cash, "spread2": spread2,
        "inventory2": inventory2, "fees": fees, "mid2": mid2 if has_mid else None,
        "fills": fills_array[:n_fills].copy(), "equity": equity_array[:n_equity].copy(),
        "mid_ts": mid_ts_array[:n_mids].copy(), "mid_mid2": mid_array[:n_mids].copy(),
    }
