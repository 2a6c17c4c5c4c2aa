# Contract of the compiled order-by-order book; the pure twin is liqframe/_core/l3book.py,
# which documents the behaviour. The matcher (_matcher.pyx) cimports this class and works on
# its pools directly.
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t

# One resting order: 64 bytes. Orders live in one pool indexed by slot; free slots are chained
# through ``next``. ``prev``/``next`` link the order into its level's FIFO (-1 ends the list).
ctypedef struct Order:
    int64_t id
    int64_t visible      # displayed lots (0 for a hidden order)
    int64_t reserve      # undisplayed lots: all of a hidden order, an iceberg's rest
    int64_t display      # iceberg slice size; 0 for a plain or hidden order
    int64_t owner
    int32_t venue
    int32_t level        # slot in the level pool (stable while the level exists)
    int32_t prev
    int32_t next
    int8_t side          # 1 buy, -1 sell
    uint8_t hidden

# One price on one side: 48 bytes, pooled like orders.
ctypedef struct Level:
    int64_t price
    int64_t visible      # displayed lots of its orders plus the unattributed lots
    int64_t reserve      # undisplayed lots of its orders
    int64_t unattributed # lots known from a snapshot, ahead of every order
    int32_t head
    int32_t tail
    int32_t count
    int8_t side


cdef class L3Book:
    cdef Order* orders
    cdef int32_t order_capacity
    cdef int32_t order_used         # slots ever handed out (high-water mark)
    cdef int32_t free_order         # head of the free-slot chain, -1 when empty
    cdef int32_t n_orders
    cdef int32_t* table             # open addressing id -> slot, -1 empty, linear probing
    cdef int64_t table_mask
    cdef Level* levels
    cdef int32_t level_capacity
    cdef int32_t level_used
    cdef int32_t free_level
    # Per side (0 bids, 1 asks): levels sorted by key ascending, best last, where the key is
    # the price for bids and -price for asks; keys and slots are parallel arrays.
    cdef int64_t* keys[2]
    cdef int32_t* slots[2]
    cdef int32_t n_levels[2]
    cdef int32_t levels_capacity[2]

    cdef int32_t find(self, int64_t order_id) noexcept
    cdef int32_t level_of(self, int side, int64_t price) noexcept
    cdef int32_t best_level(self, int side) noexcept
    cdef int32_t insert(self, int64_t order_id, int side, int64_t price, int64_t size,
                        int64_t display, bint hidden, int64_t owner, int32_t venue) except -2
    cdef int remove(self, int32_t slot) except -1
    cdef int reduce(self, int32_t slot, int64_t size) except -1
    cdef int execute_slot(self, int32_t slot, int64_t size) except -1
    cdef int take(self, int32_t level, int64_t size) except -1
    cdef int apply_message(self, int64_t kind, int64_t order_id, int64_t size, int64_t price,
                           int64_t side, int unknown, int64_t* counts) except -1

    # Internal helpers (declared here because a cdef class's C methods must all be).
    cdef void _table_put(self, int32_t slot) noexcept
    cdef void _table_erase(self, int64_t order_id) noexcept
    cdef int _table_reserve(self) except -1
    cdef int32_t _alloc_order(self) except -1
    cdef int32_t _new_level(self, int side, int64_t price) except -1
    cdef void _drop_level(self, int32_t slot) noexcept
    cdef void _append(self, int32_t level_slot, int32_t slot) noexcept
    cdef void _unlink(self, int32_t slot) noexcept
    cdef int32_t _get(self, int64_t order_id) except -1
    cdef int _cancel(self, int64_t order_id, int64_t size) except -1
    cdef int _execute(self, int64_t order_id, int64_t size) except -1
    cdef int _execute_hidden(self, int64_t order_id, int64_t size) except -1
