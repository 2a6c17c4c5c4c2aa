# cython: language_level=3
"""Order-by-order (L3) book (compiled twin).

Same public names, behaviour and errors as the pure twin liqframe/_core/l3book.py, which
documents them. This file documents the layout, which is chosen for the replay rate and the
memory per resting order:

* orders are 64-byte C structs in one pool, addressed by slot, with a free-slot chain, so an
  add or a delete never calls the allocator in the steady state;
* each level keeps an intrusive doubly linked FIFO through the orders' ``prev``/``next`` slots,
  so a delete anywhere in the queue is O(1) and an iceberg's new slice moves to the back in O(1);
* the id -> slot map is an open-addressing table of int32 slots (the key is read from the order
  itself, 4 bytes per table cell, at most half full) with linear probing and backward-shift
  deletion, so there are no tombstones to clean up;
* each side keeps its levels sorted by key in two parallel arrays (key, level slot) with the best
  level last: prices of crypto instruments are too sparse for a price-indexed array, and most
  changes are near the touch, so the memmove on a new or emptied level is short.

All memory comes from ``PyMem_Malloc``, so ``tracemalloc`` sees it, and :meth:`memory_bytes`
reports it exactly.
"""
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from liqframe._core._ints cimport _int, _int32
from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.string cimport memmove

import numpy as np

from liqframe.errors import BookError, OrderError

BUY = 1
SELL = -1
ADD = 1
CANCEL = 2
DELETE = 3
EXECUTE = 4
EXECUTE_HIDDEN = 5
CROSS_TRADE = 6
HALT = 7
UNKNOWN_RAISE = 0
UNKNOWN_UNATTRIBUTED = 1

cdef dict _SIDE_NAME = {1: "buy", -1: "sell"}


cdef inline uint64_t _mix(int64_t key) noexcept nogil:
    """splitmix64's finaliser: exchange ids are sequential, so they need scattering."""
    cdef uint64_t z = <uint64_t>key
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL
    return z ^ (z >> 31)


cdef inline int _sidx(int side) noexcept nogil:
    return 0 if side == 1 else 1


cdef inline int64_t _key(int side, int64_t price) noexcept nogil:
    return price if side == 1 else -price


cdef inline int32_t _lower_bound(const int64_t* keys, int32_t n, int64_t key) noexcept nogil:
    cdef int32_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if keys[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef void* _grow(void* data, Py_ssize_t count, Py_ssize_t item) except NULL:
    cdef void* grown = PyMem_Realloc(data, count * item)
    if grown == NULL:
        raise MemoryError()
    return grown


cdef _check_side(int64_t order_id, int64_t side):
    if side != 1 and side != -1:
        raise OrderError(f"order {order_id}: side must be 1 (buy) or -1 (sell), got {side}")


cdef _check_size(int64_t order_id, int64_t size):
    if size <= 0:
        raise OrderError(f"order {order_id}: size must be positive, got {size}")


cdef _check_level_side(int64_t side, int64_t price):
    if side != 1 and side != -1:
        raise BookError(f"level at {price}: side must be 1 (buy) or -1 (sell), got {side}")


def _at_index(error, index):
    """The same error class, its message prefixed with the batch position, ``index`` set."""
    new = type(error)(f"message {index}: {error}")
    new.index = index
    return new


cdef class L3Book:
    """An order-by-order book for one instrument on one venue (or one network, for the matcher).

    ``capacity`` is a hint for how many orders will rest at once; the book grows past it.
    """

    def __cinit__(self, int32_t capacity=1024):
        cdef int64_t cells = 16, i
        cdef int s
        capacity = max(capacity, 16)
        while cells < 2 * <int64_t>capacity:
            cells <<= 1
        self.orders = <Order*>_grow(NULL, capacity, sizeof(Order))
        self.order_capacity = capacity
        self.free_order = -1
        self.table = <int32_t*>_grow(NULL, cells, sizeof(int32_t))
        self.table_mask = cells - 1
        for i in range(cells):
            self.table[i] = -1
        self.level_capacity = 64
        self.levels = <Level*>_grow(NULL, self.level_capacity, sizeof(Level))
        self.free_level = -1
        for s in range(2):
            self.levels_capacity[s] = 32
            self.keys[s] = <int64_t*>_grow(NULL, 32, sizeof(int64_t))
            self.slots[s] = <int32_t*>_grow(NULL, 32, sizeof(int32_t))

    def __dealloc__(self):
        cdef int s
        PyMem_Free(self.orders)
        PyMem_Free(self.table)
        PyMem_Free(self.levels)
        for s in range(2):
            PyMem_Free(self.keys[s])
            PyMem_Free(self.slots[s])

    # -- the id table ---------------------------------------------------------------------

    cdef int32_t find(self, int64_t order_id) noexcept:
        cdef int64_t i = _mix(order_id) & self.table_mask
        cdef int32_t slot
        while True:
            slot = self.table[i]
            if slot < 0 or self.orders[slot].id == order_id:
                return slot
            i = (i + 1) & self.table_mask

    cdef void _table_put(self, int32_t slot) noexcept:
        cdef int64_t i = _mix(self.orders[slot].id) & self.table_mask
        while self.table[i] >= 0:
            i = (i + 1) & self.table_mask
        self.table[i] = slot

    cdef void _table_erase(self, int64_t order_id) noexcept:
        """Backward-shift deletion: pull later entries of the probe run into the hole."""
        cdef int64_t mask = self.table_mask
        cdef int64_t hole = _mix(order_id) & mask, j, home
        cdef int32_t slot
        while self.orders[self.table[hole]].id != order_id:
            hole = (hole + 1) & mask
        j = hole
        while True:
            j = (j + 1) & mask
            slot = self.table[j]
            if slot < 0:
                break
            home = _mix(self.orders[slot].id) & mask
            if ((j - home) & mask) >= ((j - hole) & mask):
                self.table[hole] = slot
                hole = j
        self.table[hole] = -1

    cdef int _table_reserve(self) except -1:
        """Keep the table at most half full, so probe runs stay short."""
        cdef int64_t old_cells = self.table_mask + 1, cells, i
        cdef int32_t* old = self.table
        cdef int32_t slot
        if 2 * (<int64_t>self.n_orders + 1) <= old_cells:
            return 0
        cells = old_cells * 2
        self.table = <int32_t*>PyMem_Malloc(cells * sizeof(int32_t))
        if self.table == NULL:
            self.table = old
            raise MemoryError()
        self.table_mask = cells - 1
        for i in range(cells):
            self.table[i] = -1
        for i in range(old_cells):
            slot = old[i]
            if slot >= 0:
                self._table_put(slot)
        PyMem_Free(old)
        return 0

    # -- pools ----------------------------------------------------------------------------

    cdef int32_t _alloc_order(self) except -1:
        cdef int32_t slot = self.free_order
        if slot >= 0:
            self.free_order = self.orders[slot].next
            return slot
        if self.order_used == self.order_capacity:
            self.orders = <Order*>_grow(self.orders, 2 * <Py_ssize_t>self.order_capacity,
                                        sizeof(Order))
            self.order_capacity *= 2
        self.order_used += 1
        return self.order_used - 1

    cdef int32_t _new_level(self, int side, int64_t price) except -1:
        cdef int s = _sidx(side)
        cdef int64_t key = _key(side, price)
        cdef int32_t n = self.n_levels[s], pos, slot
        if n == self.levels_capacity[s]:
            self.keys[s] = <int64_t*>_grow(self.keys[s], 2 * <Py_ssize_t>n, sizeof(int64_t))
            self.slots[s] = <int32_t*>_grow(self.slots[s], 2 * <Py_ssize_t>n, sizeof(int32_t))
            self.levels_capacity[s] = 2 * n
        if self.free_level >= 0:
            slot = self.free_level
            self.free_level = self.levels[slot].head
        else:
            if self.level_used == self.level_capacity:
                self.levels = <Level*>_grow(self.levels, 2 * <Py_ssize_t>self.level_capacity,
                                            sizeof(Level))
                self.level_capacity *= 2
            slot = self.level_used
            self.level_used += 1
        cdef Level* level = &self.levels[slot]
        level.price = price
        level.visible = level.reserve = level.unattributed = 0
        level.head = level.tail = -1
        level.count = 0
        level.side = side
        pos = _lower_bound(self.keys[s], n, key)
        memmove(&self.keys[s][pos + 1], &self.keys[s][pos], (n - pos) * sizeof(int64_t))
        memmove(&self.slots[s][pos + 1], &self.slots[s][pos], (n - pos) * sizeof(int32_t))
        self.keys[s][pos] = key
        self.slots[s][pos] = slot
        self.n_levels[s] = n + 1
        return slot

    cdef void _drop_level(self, int32_t slot) noexcept:
        cdef Level* level = &self.levels[slot]
        cdef int s = _sidx(level.side)
        cdef int32_t n = self.n_levels[s]
        cdef int32_t pos = _lower_bound(self.keys[s], n, _key(level.side, level.price))
        memmove(&self.keys[s][pos], &self.keys[s][pos + 1], (n - pos - 1) * sizeof(int64_t))
        memmove(&self.slots[s][pos], &self.slots[s][pos + 1], (n - pos - 1) * sizeof(int32_t))
        self.n_levels[s] = n - 1
        level.head = self.free_level
        self.free_level = slot

    cdef int32_t level_of(self, int side, int64_t price) noexcept:
        cdef int s = _sidx(side)
        cdef int32_t n = self.n_levels[s], pos
        cdef int64_t key = _key(side, price)
        if n == 0:
            return -1
        if self.keys[s][n - 1] == key:
            return self.slots[s][n - 1]
        pos = _lower_bound(self.keys[s], n, key)
        if pos < n and self.keys[s][pos] == key:
            return self.slots[s][pos]
        return -1

    cdef int32_t best_level(self, int side) noexcept:
        cdef int s = _sidx(side)
        if self.n_levels[s] == 0:
            return -1
        return self.slots[s][self.n_levels[s] - 1]

    # -- queue ----------------------------------------------------------------------------

    cdef void _append(self, int32_t level_slot, int32_t slot) noexcept:
        cdef Level* level = &self.levels[level_slot]
        cdef Order* order = &self.orders[slot]
        order.level = level_slot
        order.prev = level.tail
        order.next = -1
        if level.tail >= 0:
            self.orders[level.tail].next = slot
        else:
            level.head = slot
        level.tail = slot

    cdef void _unlink(self, int32_t slot) noexcept:
        cdef Order* order = &self.orders[slot]
        cdef Level* level = &self.levels[order.level]
        if order.prev >= 0:
            self.orders[order.prev].next = order.next
        else:
            level.head = order.next
        if order.next >= 0:
            self.orders[order.next].prev = order.prev
        else:
            level.tail = order.prev

    # -- operations shared with the matcher -----------------------------------------------

    cdef int32_t insert(self, int64_t order_id, int side, int64_t price, int64_t size,
                        int64_t display, bint hidden, int64_t owner, int32_t venue) except -2:
        """Validate and add an order at the back of its level; returns its slot."""
        cdef int32_t level_slot, slot
        cdef bint new_level = False
        cdef Order* order
        _check_side(order_id, side)
        _check_size(order_id, size)
        if display < 0:
            raise OrderError(f"order {order_id}: display must be 0 (all shown) or positive, "
                             f"got {display}")
        if hidden and display:
            raise OrderError(f"order {order_id}: an order is hidden or an iceberg, not both")
        if self.find(order_id) >= 0:
            raise OrderError(f"order {order_id}: id is already in the book")
        self._table_reserve()
        level_slot = self.level_of(side, price)
        if level_slot < 0:
            level_slot = self._new_level(side, price)
            new_level = True
        try:
            slot = self._alloc_order()
        except MemoryError:
            if new_level:
                self._drop_level(level_slot)
            raise
        order = &self.orders[slot]
        order.id = order_id
        order.side = side
        order.display = display
        order.hidden = hidden
        order.owner = owner
        order.venue = venue
        if hidden:
            order.visible = 0
            order.reserve = size
        elif display and display < size:
            order.visible = display
            order.reserve = size - display
        else:
            order.visible = size
            order.reserve = 0
        self._append(level_slot, slot)
        cdef Level* level = &self.levels[level_slot]
        level.visible += order.visible
        level.reserve += order.reserve
        level.count += 1
        self._table_put(slot)
        self.n_orders += 1
        return slot

    cdef int remove(self, int32_t slot) except -1:
        cdef Order* order = &self.orders[slot]
        cdef int32_t level_slot = order.level
        cdef Level* level = &self.levels[level_slot]
        self._unlink(slot)
        self._table_erase(order.id)
        level.visible -= order.visible
        level.reserve -= order.reserve
        level.count -= 1
        order.next = self.free_order
        self.free_order = slot
        self.n_orders -= 1
        if level.count == 0 and level.unattributed == 0:
            self._drop_level(level_slot)
        return 0

    cdef int reduce(self, int32_t slot, int64_t size) except -1:
        """Partial cancel, validated by the caller: reserve goes first, the place is kept."""
        cdef Order* order = &self.orders[slot]
        cdef Level* level = &self.levels[order.level]
        cdef int64_t from_reserve
        if size >= order.visible + order.reserve:
            return self.remove(slot)
        from_reserve = size if size < order.reserve else order.reserve
        order.reserve -= from_reserve
        order.visible -= size - from_reserve
        level.reserve -= from_reserve
        level.visible -= size - from_reserve
        return 0

    cdef int execute_slot(self, int32_t slot, int64_t size) except -1:
        """Visible execution, validated by the caller: an iceberg whose slice empties shows
        the next slice at the back of the queue; a filled order leaves the book."""
        cdef Order* order = &self.orders[slot]
        cdef int32_t level_slot = order.level
        cdef Level* level = &self.levels[level_slot]
        cdef int64_t slice_size
        order.visible -= size
        level.visible -= size
        if order.visible:
            return 0
        if not order.reserve:
            return self.remove(slot)
        slice_size = order.display if order.display < order.reserve else order.reserve
        order.visible = slice_size
        order.reserve -= slice_size
        level.visible += slice_size
        level.reserve -= slice_size
        self._unlink(slot)
        self._append(level_slot, slot)
        return 0

    cdef int take(self, int32_t level_slot, int64_t size) except -1:
        cdef Level* level = &self.levels[level_slot]
        level.unattributed -= size
        level.visible -= size
        if level.count == 0 and level.unattributed == 0:
            self._drop_level(level_slot)
        return 0

    cdef int32_t _get(self, int64_t order_id) except -1:
        cdef int32_t slot = self.find(order_id)
        if slot < 0:
            raise OrderError(f"order {order_id}: not in the book")
        return slot

    cdef int _cancel(self, int64_t order_id, int64_t size) except -1:
        cdef int32_t slot = self._get(order_id)
        cdef int64_t open_size
        _check_size(order_id, size)
        open_size = self.orders[slot].visible + self.orders[slot].reserve
        if size > open_size:
            raise OrderError(f"order {order_id}: cannot cancel {size}, only {open_size} open")
        return self.reduce(slot, size)

    cdef int _execute(self, int64_t order_id, int64_t size) except -1:
        cdef int32_t slot = self._get(order_id)
        _check_size(order_id, size)
        if size > self.orders[slot].visible:
            raise OrderError(f"order {order_id}: cannot execute {size}, only "
                             f"{self.orders[slot].visible} visible")
        return self.execute_slot(slot, size)

    cdef int _execute_hidden(self, int64_t order_id, int64_t size) except -1:
        cdef int32_t slot = self._get(order_id)
        cdef Order* order = &self.orders[slot]
        _check_size(order_id, size)
        if size > order.reserve:
            raise OrderError(f"order {order_id}: cannot execute {size} hidden, only "
                             f"{order.reserve} hidden")
        order.reserve -= size
        self.levels[order.level].reserve -= size
        if order.visible + order.reserve == 0:
            self.remove(slot)
        return 0

    # -- public: orders -------------------------------------------------------------------

    def add(self, order_id, side, price, size,
            display=0, bint hidden=False, owner=0, venue=0):
        """Add an order at the back of its level's queue (see the pure twin)."""
        cdef int64_t c_order_id = _int(order_id)
        cdef int64_t c_side = _int(side)
        cdef int64_t c_price = _int(price)
        cdef int64_t c_size = _int(size)
        cdef int64_t c_display = _int(display)
        cdef int64_t c_owner = _int(owner)
        cdef int32_t c_venue = _int32(venue, "venue")
        _check_side(c_order_id, c_side)
        self.insert(c_order_id, <int>c_side, c_price, c_size, c_display, hidden, c_owner, c_venue)

    def cancel(self, order_id, size):
        """Cancel ``size`` lots of an order; it keeps its queue place."""
        cdef int64_t c_order_id = _int(order_id)
        cdef int64_t c_size = _int(size)
        self._cancel(c_order_id, c_size)

    def delete(self, order_id):
        """Remove an order; returns the size it still had open."""
        cdef int64_t c_order_id = _int(order_id)
        cdef int32_t slot = self._get(c_order_id)
        cdef int64_t open_size = self.orders[slot].visible + self.orders[slot].reserve
        self.remove(slot)
        return open_size

    def execute(self, order_id, size):
        """A visible execution of ``size`` lots against the order's displayed slice."""
        cdef int64_t c_order_id = _int(order_id)
        cdef int64_t c_size = _int(size)
        self._execute(c_order_id, c_size)

    def execute_hidden(self, order_id, size):
        """An execution against the order's undisplayed part."""
        cdef int64_t c_order_id = _int(order_id)
        cdef int64_t c_size = _int(size)
        self._execute_hidden(c_order_id, c_size)

    # -- public: levels -------------------------------------------------------------------

    def seed(self, side, price, size):
        """Add unattributed quantity at the front of a level (liquidity from a snapshot)."""
        cdef int64_t c_side = _int(side)
        cdef int64_t c_price = _int(price)
        cdef int64_t c_size = _int(size)
        cdef int32_t level_slot
        _check_level_side(c_side, c_price)
        if c_size <= 0:
            raise BookError(f"seed {_SIDE_NAME[c_side]} {c_price}: size must be positive, "
                            f"got {c_size}")
        level_slot = self.level_of(<int>c_side, c_price)
        if level_slot < 0:
            level_slot = self._new_level(<int>c_side, c_price)
        self.levels[level_slot].unattributed += c_size
        self.levels[level_slot].visible += c_size

    def take_unattributed(self, side, price, size):
        """Take lots out of a level's unattributed quantity (an order older than the stream)."""
        cdef int64_t c_side = _int(side)
        cdef int64_t c_price = _int(price)
        cdef int64_t c_size = _int(size)
        cdef int32_t level_slot
        cdef int64_t available = 0
        _check_level_side(c_side, c_price)
        if c_size <= 0:
            raise BookError(f"level {_SIDE_NAME[c_side]} {c_price}: size must be positive, "
                            f"got {c_size}")
        level_slot = self.level_of(<int>c_side, c_price)
        if level_slot >= 0:
            available = self.levels[level_slot].unattributed
        if c_size > available:
            raise BookError(f"level {_SIDE_NAME[c_side]} {c_price}: cannot take {c_size} "
                            f"unattributed, only {available}")
        self.take(level_slot, c_size)

    def clear_level(self, side, price):
        """Remove a level with every order on it; returns the ids removed."""
        cdef int64_t c_side = _int(side)
        cdef int64_t c_price = _int(price)
        cdef int32_t level_slot, slot
        _check_level_side(c_side, c_price)
        level_slot = self.level_of(<int>c_side, c_price)
        if level_slot < 0:
            return []
        ids = []
        cdef Level* level = &self.levels[level_slot]
        level.visible -= level.unattributed
        level.unattributed = 0
        if level.count == 0:
            self._drop_level(level_slot)
            return ids
        while True:  # removing the last order drops the level
            slot = level.head
            ids.append(self.orders[slot].id)
            last = level.count == 1
            self.remove(slot)
            if last:
                return ids

    # -- public: reading ------------------------------------------------------------------

    def __len__(self):
        return self.n_orders

    def __contains__(self, order_id):
        return self.find(order_id) >= 0

    def order(self, order_id):
        """``(side, price, visible, reserve, display, hidden, owner, venue)`` of an order."""
        cdef int64_t c_order_id = _int(order_id)
        cdef Order* o = &self.orders[self._get(c_order_id)]
        return (o.side, self.levels[o.level].price, o.visible, o.reserve, o.display,
                bool(o.hidden), o.owner, o.venue)

    def queue_position(self, order_id):
        """``(orders_ahead, visible_quantity_ahead)`` at the order's level."""
        cdef int64_t c_order_id = _int(order_id)
        cdef int32_t slot = self._get(c_order_id)
        cdef int32_t cursor = self.levels[self.orders[slot].level].head
        cdef int64_t ahead = 0
        cdef int64_t quantity = self.levels[self.orders[slot].level].unattributed
        while cursor != slot:
            ahead += 1
            quantity += self.orders[cursor].visible
            cursor = self.orders[cursor].next
        return ahead, quantity

    def level(self, side, price):
        """``(visible, reserve, orders, unattributed)`` at a price; zeros when there is none."""
        cdef int64_t c_side = _int(side)
        cdef int64_t c_price = _int(price)
        cdef int32_t level_slot
        _check_level_side(c_side, c_price)
        level_slot = self.level_of(<int>c_side, c_price)
        if level_slot < 0:
            return (0, 0, 0, 0)
        cdef Level* level = &self.levels[level_slot]
        return (level.visible, level.reserve, level.count, level.unattributed)

    def best(self, side):
        """Best price with visible quantity on ``side``, or None."""
        cdef int64_t c_side = _int(side)
        cdef int s
        cdef int32_t i
        if c_side != 1 and c_side != -1:
            raise BookError(f"best: side must be 1 (buy) or -1 (sell), got {c_side}")
        s = _sidx(<int>c_side)
        for i in range(self.n_levels[s] - 1, -1, -1):
            if self.levels[self.slots[s][i]].visible:
                return self.levels[self.slots[s][i]].price
        return None

    def depth(self, Py_ssize_t n):
        """Top ``n`` levels with visible quantity as four int64 arrays, best first."""
        cdef int s
        cdef int32_t i
        cdef Py_ssize_t k
        cdef Level* level
        cdef int64_t[::1] prices, sizes
        if n < 0:
            raise BookError(f"depth: n must be 0 or positive, got {n}")
        out = []
        for s in range(2):
            prices_array = np.empty(n, dtype=np.int64)
            sizes_array = np.empty(n, dtype=np.int64)
            prices, sizes = prices_array, sizes_array
            k = 0
            i = self.n_levels[s] - 1
            while i >= 0 and k < n:
                level = &self.levels[self.slots[s][i]]
                if level.visible:
                    prices[k] = level.price
                    sizes[k] = level.visible
                    k += 1
                i -= 1
            out += [prices_array[:k], sizes_array[:k]]
        return tuple(out)

    def memory_bytes(self):
        """Bytes allocated for orders, the id table, levels and the sorted level arrays."""
        return (self.order_capacity * sizeof(Order)
                + (self.table_mask + 1) * sizeof(int32_t)
                + self.level_capacity * sizeof(Level)
                + (self.levels_capacity[0] + self.levels_capacity[1])
                * (sizeof(int64_t) + sizeof(int32_t)))

    # -- batch ----------------------------------------------------------------------------

    cdef int apply_message(self, int64_t kind, int64_t order_id, int64_t size, int64_t price,
                           int64_t side, int unknown, int64_t* counts) except -1:
        """One message of :meth:`replay`; ``counts`` accumulates (unknown, shortfall)."""
        cdef int32_t slot, level_slot
        cdef int64_t taken
        if kind == 1:
            _check_side(order_id, side)
            self.insert(order_id, <int>side, price, size, 0, False, 0, 0)
            return 0
        if kind == 6 or kind == 7:
            return 0
        if kind < 1 or kind > 7:
            raise BookError(f"unknown message type {kind}")
        slot = self.find(order_id)
        if slot >= 0:
            if kind == 2:
                return self._cancel(order_id, size)
            if kind == 3:
                return self.remove(slot)
            if kind == 4:
                return self._execute(order_id, size)
            return self._execute_hidden(order_id, size)
        if unknown == 0:
            raise OrderError(f"order {order_id}: not in the book")
        _check_side(order_id, side)
        _check_size(order_id, size)
        counts[0] += 1
        if kind == 5:
            return 0
        level_slot = self.level_of(<int>side, price)
        taken = 0
        if level_slot >= 0:
            taken = min(size, self.levels[level_slot].unattributed)
            if taken:
                self.take(level_slot, taken)
        counts[1] += size - taken
        return 0

    def replay(self, types, ids, sizes, prices, sides, int unknown=UNKNOWN_RAISE):
        """Apply a recorded L3 stream given as equal-length integer arrays (see the twin)."""
        cdef const int64_t[::1] t, d, z, p, s
        cdef Py_ssize_t i = 0, n
        cdef int64_t counts[2]
        t, d, z, p, s = [np.ascontiguousarray(a, dtype=np.int64)
                         for a in (types, ids, sizes, prices, sides)]
        n = t.shape[0]
        if d.shape[0] != n or z.shape[0] != n or p.shape[0] != n or s.shape[0] != n:
            raise BookError("replay: types, ids, sizes, prices and sides must have the same "
                            "length")
        if unknown != 0 and unknown != 1:
            raise BookError(f"replay: unknown must be UNKNOWN_RAISE or UNKNOWN_UNATTRIBUTED, "
                            f"got {unknown}")
        counts[0] = counts[1] = 0
        try:
            while i < n:
                self.apply_message(t[i], d[i], z[i], p[i], s[i], unknown, counts)
                i += 1
        except (OrderError, BookError) as error:
            raise _at_index(error, i) from None
        return {"applied": n, "unknown": counts[0], "shortfall": counts[1]}
