# Contract of the compiled L2 book; the pure twin is liqframe/_core/book.py, which documents
# the behaviour. Other core modules (the consolidated book) cimport this to call the book
# without going through Python.
from libc.stdint cimport int64_t, uint64_t


cdef struct Level:
    # Sort key: the price on the bid side, minus the price on the ask side. Both sides then
    # sort ascending with the best level last, and a higher key is a better price.
    int64_t key
    int64_t size


cdef struct Chunk:
    # A run of the levels below the window, ascending by key: count of them in a block of
    # capacity (16 .. CHUNK of _book.pyx). low is the first key, kept here so that finding a
    # chunk searches one array instead of reading every block.
    int64_t low
    Level* levels
    Py_ssize_t count
    Py_ssize_t capacity


cdef struct Side:
    # Levels below the window (every key < lo) in chunks ascending by key, best chunk last;
    # count is how many levels they hold together (count + in_window: the side's levels).
    Chunk* chunks
    Py_ssize_t chunk_count
    Py_ssize_t chunk_capacity
    Py_ssize_t count
    # The window: sizes of the keys lo .. lo + span - 1 by direct address (0: no level), and
    # one bit per slot set where there is a level. span is 0 (no window, all levels in the
    # array) until the side holds enough levels for the window to pay for its memory.
    # Whenever the side has levels and a window, the best level is in the window.
    int64_t* window
    uint64_t* bits
    int64_t lo
    Py_ssize_t span
    Py_ssize_t in_window
    # Best key, INT64_MIN when the side is empty (keys of positive prices never are).
    int64_t best


cdef class L2Book:
    cdef Side _sides[2]
    cdef int64_t _sequence
    cdef bint _stale
    cdef bint _bridging
    # The (best_bid, best_ask) tuple last returned, reused while both keys are unchanged.
    cdef object _best_cache
    cdef int64_t _cache_keys[2]

    # One validated change: side is BID or ASK, price > 0, size >= 0 (0 deletes).
    cdef int set_level(self, int side, int64_t price, int64_t size) except -1
    # Validate every change, check the message's sequence ids (INT64_MIN: none) with
    # advance_to, then apply them all: returns 1 when applied, 0 when the message was dropped,
    # and raises with the book unchanged when a change is bad or the sequence has a gap.
    # Strides are in elements, so columns of a 2-D array can be passed directly.
    cdef int apply_changes(self, const int64_t* sides, Py_ssize_t side_stride,
                           const int64_t* prices, Py_ssize_t price_stride,
                           const int64_t* sizes, Py_ssize_t size_stride, Py_ssize_t count,
                           int64_t first, int64_t last, int64_t previous) except -1
    cdef int apply_views(self, const int64_t[:] sides, const int64_t[:] prices,
                         const int64_t[:] sizes) except -1
    # The sequence rule of advance(); 1 to apply the message, 0 to drop it, raises on a gap.
    cdef int advance_to(self, int64_t first, int64_t last, int64_t previous) except -1
    # Copy up to n best levels of a side, best first; returns how many were copied.
    cdef Py_ssize_t copy_top(self, int side, int64_t* prices, int64_t* sizes,
                             Py_ssize_t n) noexcept
    # Best price of a side, or 0 when the side is empty (prices are positive).
    cdef int64_t best_price(self, int side) noexcept
    cdef int64_t best_size(self, int side) noexcept
