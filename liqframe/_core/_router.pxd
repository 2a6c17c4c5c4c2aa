# Contract of the compiled smart order router; the pure twin is liqframe/_core/router.py, whose
# docstring documents the model, the units and the methods.
from libc.stdint cimport int32_t, int64_t

cdef extern from *:
    ctypedef long long int128 "__int128"


# One side of one venue's book, mirrored from the pure twin's storage: prices best first and
# running totals before each level of usable (weighted) lots and of notional (ticks*lots).
cdef struct BookSide:
    int64_t* prices
    int64_t* cum           # n + 1 entries
    int128* notional       # n + 1 entries
    Py_ssize_t n


# A venue's routing parameters in core units (see VenueParams) and its two book sides.
cdef struct VenueC:
    int64_t fee            # FEE_SCALE units
    int128 fixed_fee       # cost units
    int64_t min_size
    int64_t lot_size
    int64_t base_balance   # -1: unlimited
    int128 quote_balance   # -1: unlimited
    int64_t probability    # PROB_SCALE units
    int64_t latency_us
    BookSide sides[2]


# A venue in play for one route: its slot, usable level count, cap and per-lot cost line.
cdef struct InPlay:
    int slot
    Py_ssize_t levels
    int64_t cap
    int128 a
    int128 b
    int64_t latency_us
    BookSide* book


cdef class Router:
    cdef object _pure      # the pure twin's Router: validation, storage and the cold paths
    cdef list names        # venue names by slot, for the children
    cdef VenueC venues[64]
    cdef int n_venues
    cdef InPlay play[64]
    cdef int n_play        # the last request's venues in play, its side and quantity
    cdef int c_side
    cdef int64_t c_quantity
    cdef tuple request     # (limit, fallback, exclusion mask) of the last request
    cdef int ids[64]       # scratch for the greedy and the fallback
    cdef int64_t caps[64]
    cdef int64_t spare[64]

    cdef int _sync(self, int slot) except -1
    cdef int _in_play(self, int side, bint has_limit, int64_t limit, bint has_fallback,
                      int64_t fallback, unsigned long long mask) except -1
    cdef object _solve(self, object side, object quantity, object limit_price,
                       object fallback_price, object exclude, object time_limit_ms,
                       object max_cells, int64_t* lots)
    cdef int _greedy(self, int count, int* ids, int64_t* caps, int64_t quantity,
                     int64_t* lots) except -1
    cdef int _dp(self, int count, int64_t quantity, int64_t* lots, double seconds,
                 int64_t max_cells) except -1
    cdef bint _bounded_plan(self, int count, int64_t n, int64_t units, int64_t* step,
                            int64_t* jmin, int64_t* jmax, int128* offsets, bint* zero,
                            int64_t* wlo, int64_t* whi, int128* lam_out,
                            int128* cutoff) except -1
    cdef int128 _lagrangian(self, int count, int64_t target, int128 lam, int64_t* jmin,
                            int64_t* jmax, int128* offsets, int64_t* excess) except? -1
    cdef int _run_plan(self, int count, int64_t n, int64_t* step, int64_t* wlo, int64_t* whi,
                       bint* zero, int128* offsets, int128 lam, bint bounded, int128 cutoff,
                       int64_t* rlo, int64_t* rhi, int64_t* lots, double deadline) except -1
    cdef int _fallback(self, int count, int64_t quantity, int64_t* lots) except -1
    cdef int64_t _rounded_greedy(self, int count, bint* active, int64_t quantity,
                                 int64_t* lots, int128* cost) except -1
    cdef object _assemble(self, int side, int64_t quantity, int count, int64_t* lots,
                          object method)
