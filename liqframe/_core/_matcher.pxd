# Contract of the compiled matcher; the pure twin liqframe/_core/matcher.py documents the
# behaviour. Resting orders live in an L3Book, whose pools the matcher walks directly.
from libc.stdint cimport int8_t, int32_t, int64_t

from liqframe._core._l3book cimport L3Book

# One fill; the layout is FILL_DTYPE's (numpy, align=True), so take_fills is one memcpy.
ctypedef struct Fill:
    int64_t maker_id
    int64_t taker_id
    int64_t maker_owner
    int64_t taker_owner
    int64_t price          # the resting order's price
    int64_t quantity
    int64_t buyer_price    # per unit, before the fee
    int64_t seller_price
    int64_t fee            # price units x lots; paid by fee_payer
    int32_t maker_venue
    int32_t taker_venue
    int8_t taker_side
    int8_t fee_payer       # 1 buyer, -1 seller, 0 no fee


cdef class Matcher:
    cdef readonly L3Book book
    cdef Fill* fills
    cdef Py_ssize_t n_fills
    cdef Py_ssize_t fills_capacity
    cdef int stp                # 0 cancel_resting, 1 cancel_taking, 2 cancel_both
    cdef int pricing            # 0 best_for_both, 1 resting
    cdef int fee_payer          # 0 seller, 1 buyer, 2 taker, 3 maker
    cdef int64_t fee_bps
    cdef int64_t fee_fixed
    cdef bint taker_cancelled
    cdef readonly int last_outcome

    cdef int64_t submit_order(self, int64_t order_id, int side, int64_t price, int64_t size,
                              int tif, int64_t owner, int32_t venue, int64_t display) except -1
    cdef int64_t take(self, int64_t order_id, int side, int64_t limit, int64_t size,
                      int64_t owner, int32_t venue, int64_t taker_price) except -1
    cdef bint fillable(self, int side, int64_t limit, int64_t size, int64_t owner) noexcept
    cdef int record(self, int32_t maker, int64_t price, int64_t taker_id, int side,
                    int64_t owner, int32_t venue, int64_t taker_price,
                    int64_t quantity) except -1
    cdef int _payer(self, int taker_side) noexcept
