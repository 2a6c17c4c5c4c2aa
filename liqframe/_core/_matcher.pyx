# cython: language_level=3
"""Price-time priority matching across venues (compiled twin).

Same public names, behaviour and errors as the pure twin liqframe/_core/matcher.py, which
documents them. The configuration parsing, the fill dtype and :func:`venue_totals` (numpy
work, not on the hot path) are imported from the twin so that they exist once.

The matching loop works on the L3Book's pools directly: it reads the best opposite level's
head order, records a fill into a C array of :c:type:`Fill` and lets the book execute it (an
iceberg's new slice goes to the back of the level there). Fees use a 128-bit intermediate
for ``quantity * price * fee_bps`` so a large notional cannot overflow silently.
"""
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from liqframe._core._ints cimport _int, _int32
from libc.stdint cimport INT64_MAX, INT64_MIN, int32_t, int64_t
from libc.string cimport memcpy

from liqframe._core._l3book cimport L3Book, Level, Order

import numpy as np

from liqframe._core.matcher import (  # noqa: F401  (re-exported: the same public names)
    CANCELLED,
    CROSS_VENUE_PRICING,
    FEE_PAYERS,
    FILL_DTYPE,
    FILLED,
    FOK,
    GTC,
    IOC,
    POST_ONLY,
    REJECTED,
    RESTING,
    STP_POLICIES,
    _config,
    venue_totals,
)
from liqframe._core.l3book import BUY, SELL  # noqa: F401
from liqframe.errors import OrderError

cdef extern from *:
    ctypedef long long int128 "__int128"

if FILL_DTYPE.itemsize != sizeof(Fill):
    raise ImportError(f"FILL_DTYPE is {FILL_DTYPE.itemsize} bytes but the C Fill is "
                      f"{sizeof(Fill)}: the two layouts must match")


cdef inline bint _crosses(int side, int64_t level_price, int64_t limit) noexcept:
    return level_price <= limit if side == 1 else level_price >= limit


cdef _check_order(int64_t order_id, int64_t side, int64_t price, int64_t size, int64_t tif,
                  int64_t display, str price_field="price"):
    if side != 1 and side != -1:
        raise OrderError(f"order {order_id}: side must be 1 (buy) or -1 (sell), got {side}")
    if size <= 0:
        raise OrderError(f"order {order_id}: size must be positive, got {size}")
    if price <= 0:
        raise OrderError(f"order {order_id}: {price_field} must be positive, got {price}")
    if tif < 0 or tif > 3:
        raise OrderError(f"order {order_id}: tif must be GTC, IOC, FOK or POST_ONLY "
                         f"(0 to 3), got {tif}")
    if display < 0:
        raise OrderError(f"order {order_id}: display must be 0 (all shown) or positive, "
                         f"got {display}")


cdef class Matcher:
    """A price-time priority matching engine for one instrument across venues (see the twin)."""

    def __init__(self, *, stp="cancel_resting", cross_venue_pricing="resting",
                 fee_bps=0, fee_fixed=0, fee_payer="seller", capacity=1024):
        self.stp, self.pricing, self.fee_payer = _config(stp, cross_venue_pricing, fee_bps,
                                                         fee_fixed, fee_payer)
        self.fee_bps, self.fee_fixed = fee_bps, fee_fixed
        self.book = L3Book(capacity)
        self.n_fills = 0
        self.last_outcome = 0

    def __dealloc__(self):
        PyMem_Free(self.fills)

    def __len__(self):
        return len(self.book)

    def __contains__(self, order_id):
        return order_id in self.book

    # -- public ---------------------------------------------------------------------------

    def submit(self, order_id, side, price, size,
               tif=GTC, owner=0, venue=0, display=0):
        """Submit a limit order; returns the quantity filled now."""
        cdef int64_t c_order_id = _int(order_id)
        cdef int64_t c_side = _int(side)
        cdef int64_t c_price = _int(price)
        cdef int64_t c_size = _int(size)
        cdef int64_t c_tif = _int(tif)
        cdef int64_t c_owner = _int(owner)
        cdef int32_t c_venue = _int32(venue, "venue")
        cdef int64_t c_display = _int(display)
        _check_order(c_order_id, c_side, c_price, c_size, c_tif, c_display)
        if self.book.find(c_order_id) >= 0:
            raise OrderError(f"order {c_order_id}: id is already in the book")
        return self.submit_order(c_order_id, <int>c_side, c_price, c_size, <int>c_tif, c_owner,
                                 c_venue, c_display)

    def market(self, order_id, side, size, protection=None,
               owner=0, venue=0):
        """Take up to ``size`` lots at any price, or at ``protection`` or better."""
        cdef int64_t c_order_id = _int(order_id)
        cdef int64_t c_side = _int(side)
        cdef int64_t c_size = _int(size)
        cdef int64_t c_owner = _int(owner)
        cdef int32_t c_venue = _int32(venue, "venue")
        cdef int64_t limit, remaining
        if protection is None:
            limit = INT64_MAX if c_side == 1 else INT64_MIN
            _check_order(c_order_id, c_side, 1, c_size, 1, 0, "protection")
        else:
            limit = _int(protection)
            _check_order(c_order_id, c_side, limit, c_size, 1, 0, "protection")
        if self.book.find(c_order_id) >= 0:
            raise OrderError(f"order {c_order_id}: id is already in the book")
        remaining = self.take(c_order_id, <int>c_side, limit, c_size, c_owner, c_venue, 0)
        self.last_outcome = FILLED if not remaining else CANCELLED
        return c_size - remaining

    def cancel(self, order_id):
        """Cancel a resting order; returns the size it still had open."""
        cdef int64_t c_order_id = _int(order_id)
        return self.book.delete(c_order_id)

    def amend(self, order_id, size, price=None):
        """Change a resting order's open size and, optionally, its price (see the twin)."""
        cdef int64_t c_order_id = _int(order_id)
        cdef int64_t c_size = _int(size)
        cdef L3Book book = self.book
        cdef int32_t slot = book.find(c_order_id)
        cdef int64_t current, new_price, open_size, owner, display
        cdef int side
        cdef int32_t venue
        if slot < 0:
            raise OrderError(f"order {c_order_id}: not in the book")
        if c_size <= 0:
            raise OrderError(f"order {c_order_id}: size must be positive, got {c_size}")
        current = book.levels[book.orders[slot].level].price
        new_price = current if price is None else _int(price)
        if new_price <= 0:
            raise OrderError(f"order {c_order_id}: price must be positive, got {new_price}")
        open_size = book.orders[slot].visible + book.orders[slot].reserve
        self.last_outcome = RESTING
        if new_price == current and c_size <= open_size:
            if c_size < open_size:
                book.reduce(slot, open_size - c_size)
            return 0
        side = book.orders[slot].side
        owner = book.orders[slot].owner
        venue = book.orders[slot].venue
        display = book.orders[slot].display
        book.remove(slot)
        return self.submit_order(c_order_id, side, new_price, c_size, 0, owner, venue, display)

    def take_fills(self):
        """The fills since the last call, as a FILL_DTYPE array, oldest first."""
        cdef unsigned char[::1] raw
        fills = np.empty(self.n_fills, dtype=FILL_DTYPE)
        if self.n_fills:
            raw = fills.view(np.uint8)
            memcpy(&raw[0], self.fills, self.n_fills * sizeof(Fill))
        self.n_fills = 0
        return fills

    # -- matching -------------------------------------------------------------------------

    cdef int64_t submit_order(self, int64_t order_id, int side, int64_t price, int64_t size,
                              int tif, int64_t owner, int32_t venue, int64_t display) except -1:
        cdef L3Book book = self.book
        cdef int32_t best = book.best_level(-side)
        cdef bint crosses = best >= 0 and _crosses(side, book.levels[best].price, price)
        cdef int64_t remaining = size
        self.taker_cancelled = False
        if (tif == 3 and crosses) or (tif == 2 and not self.fillable(side, price, size, owner)):
            self.last_outcome = REJECTED
            return 0
        if crosses:
            remaining = self.take(order_id, side, price, size, owner, venue, price)
        if not remaining:
            self.last_outcome = FILLED
        elif self.taker_cancelled or tif == 1 or tif == 2:
            self.last_outcome = CANCELLED
        else:
            book.insert(order_id, side, price, remaining, display, False, owner, venue)
            self.last_outcome = RESTING
        return size - remaining

    cdef int64_t take(self, int64_t order_id, int side, int64_t limit, int64_t size,
                      int64_t owner, int32_t venue, int64_t taker_price) except -1:
        """Match against the opposite side; returns the quantity left over. ``taker_price``
        is 0 for a market order (no limit of its own for cross-venue pricing)."""
        cdef L3Book book = self.book
        cdef int32_t level_slot, maker
        cdef int64_t remaining = size, quantity, level_price
        self.taker_cancelled = False
        while remaining:
            level_slot = book.best_level(-side)
            if level_slot < 0:
                break
            level_price = book.levels[level_slot].price
            if not _crosses(side, level_price, limit):
                break
            maker = book.levels[level_slot].head
            if owner and book.orders[maker].owner == owner:
                if self.stp != 1:  # cancel_resting, cancel_both
                    book.remove(maker)
                if self.stp != 0:  # cancel_taking, cancel_both
                    self.taker_cancelled = True
                    break
                continue
            quantity = book.orders[maker].visible
            if remaining < quantity:
                quantity = remaining
            self.record(maker, level_price, order_id, side, owner, venue, taker_price, quantity)
            book.execute_slot(maker, quantity)
            remaining -= quantity
        return remaining

    cdef bint fillable(self, int side, int64_t limit, int64_t size, int64_t owner) noexcept:
        """Whether a FOK order would fill completely (the twin explains the STP simulation)."""
        cdef L3Book book = self.book
        cdef int s = 1 if side == 1 else 0  # the opposite side's index
        cdef int32_t i, cursor
        cdef int64_t available = 0, shown, whole
        cdef Level* level
        cdef Order* order
        for i in range(book.n_levels[s] - 1, -1, -1):
            level = &book.levels[book.slots[s][i]]
            if not _crosses(side, level.price, limit):
                return False
            shown = whole = 0
            cursor = level.head
            while cursor >= 0:
                order = &book.orders[cursor]
                cursor = order.next
                if owner and order.owner == owner:
                    if self.stp == 0:
                        continue
                    return available + shown >= size
                shown += order.visible
                whole += order.visible + order.reserve
            available += whole
            if available >= size:
                return True
        return False

    cdef int record(self, int32_t maker, int64_t price, int64_t taker_id, int side,
                    int64_t owner, int32_t venue, int64_t taker_price,
                    int64_t quantity) except -1:
        cdef Order* order = &self.book.orders[maker]
        cdef Fill* fill
        cdef int128 notional, fee
        cdef Fill* grown
        if self.n_fills == self.fills_capacity:
            self.fills_capacity = max(64, 2 * self.fills_capacity)
            grown = <Fill*>PyMem_Realloc(self.fills, self.fills_capacity * sizeof(Fill))
            if grown == NULL:
                raise MemoryError()
            self.fills = grown
        fill = &self.fills[self.n_fills]
        fill.maker_id = order.id
        fill.taker_id = taker_id
        fill.maker_owner = order.owner
        fill.taker_owner = owner
        fill.price = price
        fill.quantity = quantity
        fill.buyer_price = price
        fill.seller_price = price
        fill.fee = 0
        fill.fee_payer = 0
        fill.maker_venue = order.venue
        fill.taker_venue = venue
        fill.taker_side = side
        if order.venue != venue:
            if self.pricing == 0 and taker_price != 0:
                fill.buyer_price = price if price < taker_price else taker_price
                fill.seller_price = price if price > taker_price else taker_price
            if self.fee_bps or self.fee_fixed:
                fill.fee_payer = self._payer(side)
                notional = <int128>quantity * (fill.buyer_price if fill.fee_payer == 1
                                               else fill.seller_price)
                fee = ((notional // 10000) * self.fee_bps
                       + ((notional % 10000) * self.fee_bps + 9999) // 10000 + self.fee_fixed)
                if fee > <int128>INT64_MAX:
                    raise OverflowError(f"order {taker_id}: the network fee of a fill "
                                        f"overflows int64")
                fill.fee = <int64_t>fee
        self.n_fills += 1
        return 0

    cdef int _payer(self, int taker_side) noexcept:
        if self.fee_payer == 0:
            return -1
        if self.fee_payer == 1:
            return 1
        return taker_side if self.fee_payer == 2 else -taker_side
