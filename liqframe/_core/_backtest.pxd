# Contract of the compiled queue-position replay; the pure twin liqframe/_core/backtest.py
# documents the model, the accounting and the result.
from libc.stdint cimport int64_t, uint8_t


# One row of EVENT_DTYPE (packed, 34 bytes): the replay reads the caller's array in place.
cdef packed struct Event:
    uint8_t kind
    uint8_t side
    int64_t exch_ts
    int64_t local_ts
    int64_t px
    int64_t qty

# Rows of FILL_DTYPE and EQUITY_DTYPE (all 8-byte fields, so no padding to match).
cdef struct FillRow:
    int64_t ts
    int64_t side
    int64_t px
    int64_t qty
    int64_t mid2
    int64_t position
    double fee
    int64_t sent_ts

cdef struct EquityRow:
    int64_t ts
    int64_t position
    int64_t cash
    int64_t mid2
    int64_t spread2
    int64_t inventory2
    double fees

# One side of a book over level indexes (price - lo, or the rank among the feed's prices).
cdef struct Side:
    int64_t* qty
    Py_ssize_t best        # -1: empty
    Py_ssize_t count       # non-empty levels
    bint bid

# An order or cancel on its way to the exchange.
cdef struct Action:
    int64_t at
    int64_t px
    int64_t size
    int64_t sent_ts
    bint has_px

# A side's in-flight actions, oldest first (a ring that grows when full).
cdef struct Actions:
    Action* items
    Py_ssize_t head
    Py_ssize_t n
    Py_ssize_t capacity

cdef struct Order:
    bint live
    int64_t px
    int64_t qty
    int64_t sent_ts
    int64_t traded
    double ahead
