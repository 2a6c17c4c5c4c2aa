# Contract of the compiled consolidated book; the pure twin is liqframe/_core/consolidated.py,
# whose docstring documents the semantics.
from libc.stdint cimport int64_t, uint64_t


# Open-addressing hash map int64 -> int64 (linear probing, backward-shift deletion). Keys are
# prices, which are never negative, so INT64_MIN marks an empty slot.
cdef struct PriceMap:
    int64_t* keys
    int64_t* values
    Py_ssize_t capacity        # a power of two
    Py_ssize_t count
    int shift                  # 64 - log2(capacity), for Fibonacci hashing


# One registered venue: settings, feed state and its native levels (price -> native size).
cdef struct Venue:
    int64_t id
    int64_t tick_multiplier
    int64_t lot_multiplier
    int64_t fx_num             # the FX rate, reduced
    int64_t fx_den
    int64_t factor_num         # tick_multiplier * fx_num: consolidated = price * num / den
    int64_t factor_den
    int64_t weight             # billionths
    int64_t fee                # FEE_SCALE units (1e-4 bps)
    int64_t max_lag            # ns; INT64_MAX when unlimited
    int64_t lag                # last sample, when has_lag
    int64_t sequence           # highest applied, when has_sequence
    int64_t duplicates
    bint has_lag
    bint has_sequence
    bint excluded
    bint lagging
    PriceMap native[2]


# One side of the consolidated book: consolidated price -> level index into a pool holding,
# per level, the price, a bit mask of contributing venue slots and each slot's size
# (``contrib[level * stride + slot]``). A level exists while any venue contributes to it.
cdef struct Side:
    PriceMap levels
    int64_t* price
    uint64_t* mask
    int64_t* contrib
    Py_ssize_t* free_levels
    Py_ssize_t used
    Py_ssize_t capacity
    Py_ssize_t n_free
    int64_t best               # EMPTY when no venue in view has a level on this side


cdef class ConsolidatedBook:
    cdef Venue venues[64]
    cdef int n_venues
    cdef Py_ssize_t stride
    cdef Side sides[2]
    cdef uint64_t active       # bit per venue slot in view
    cdef signed char* slot_of_id
    cdef Py_ssize_t id_capacity
    cdef bint is_crossed
    cdef list names
    cdef list events
    cdef tuple shown           # the last tuple best() returned, for shown_bid/shown_ask
    cdef int64_t shown_bid
    cdef int64_t shown_ask

    cpdef int apply(self, object venue, object side, object price, object size,
                    object sequence=*, object event_ns=*, object receive_ns=*) except -1
    cpdef object best_bid(self)
    cpdef object best_ask(self)
    cpdef tuple best(self)
    cdef int _slot(self, object venue) except -1
    cdef int _set_level(self, int slot, int side, int64_t price, int64_t converted,
                        int64_t size, int64_t lots) except -1
    # One message of changes as int64 columns (strides in elements), validated in full into
    # work (3 * n) first; returns 1 without applying when sequence is a duplicate.
    cdef int _apply_columns(self, int slot, const int64_t* sides, Py_ssize_t s_step,
                            const int64_t* prices, Py_ssize_t p_step, const int64_t* sizes,
                            Py_ssize_t q_step, Py_ssize_t n, int64_t* work,
                            int64_t seq) except -1
    cdef int _set_contribution(self, int side, int64_t price, Py_ssize_t level, int slot,
                               int64_t total) except -1
    cdef int64_t _walk(self, int side, int64_t start) except? -2
    cdef int64_t _scan(self, int side)
    cdef bint _is_duplicate(self, Venue* v, int64_t sequence)
    cdef int _after_change(self, int slot, int64_t sequence, bint has_lag, int64_t lag) except -1
    # apply_many from C: one message's columns (strides in elements) for the venue in slot;
    # seq -1: no sequence; lag: the message's lag sample when has_lag.
    cdef int apply_columns(self, int slot, const int64_t* sides, Py_ssize_t s_step,
                           const int64_t* prices, Py_ssize_t p_step, const int64_t* sizes,
                           Py_ssize_t q_step, Py_ssize_t n, int64_t seq, bint has_lag,
                           int64_t lag) except -1
    cdef int _refresh_active(self, int slot) except -1
    cdef int _check_crossing(self) except -1
    cdef int _grow_stride(self) except -1


# One venue's feed into a consolidated book: a BookPipe calls apply() without Python.
cdef class BookSink:
    cdef readonly ConsolidatedBook book
    cdef readonly object venue
    cdef readonly bint lag

    cdef int apply(self, const int64_t* sides, const int64_t* prices, const int64_t* sizes,
                   Py_ssize_t n, int64_t event_ns, int64_t received_ns) except -1
