# Contract of the compiled level parser; the pure twin is liqframe/_core/levels.py, which
# documents the behaviour.
cimport numpy as cnp
from libc.stdint cimport int64_t


# The ``length`` bytes at ``data`` as a decimal in units of ``step * 10**-decimals``, with the
# errors of LevelBatch.add naming ``field`` (``text``: the value to name, None to decode it).
cdef int64_t span_units(const char* data, Py_ssize_t length, int decimals, int64_t step,
                        str field, object text) except? -1


# ``side`` when it is BID (0) or ASK (1), else InvalidValue naming the field "side".
cdef int check_side(object side) except -1


cdef class LevelBatch:
    cdef readonly int price_decimals, size_decimals
    cdef readonly int64_t price_step, size_step
    cdef Py_ssize_t _count, _capacity
    cdef cnp.ndarray _side_array, _price_array, _size_array
    cdef int64_t* _sides
    cdef int64_t* _prices
    cdef int64_t* _sizes
    # Views of the columns for each small count, made once (None until first asked for).
    cdef list _views

    cdef int _grow(self, Py_ssize_t needed) except -1
    # Append one change per entry: on side_or_none, or (when it is None) on
    # sides[entry[side_key]]; leaves the batch as it was when an entry raises.
    cdef Py_ssize_t _append(self, object side_or_none, object entries, object side_key,
                            object sides, object price, object size) except -1


# A book's per-message path: parse, apply under the sequence ids, sink, truncate, checksum.
cdef class BookPipe:
    cdef public object book, stats, symbol, sink, checksum, price, size, computed
    cdef public LevelBatch levels
    cdef public Py_ssize_t depth

    # DROPPED (0), APPLIED (1) or MISMATCH (2) for one parsed message.
    cdef int _run(self, LevelBatch levels, int64_t first, int64_t last, int64_t previous,
                  object event_ns, object received_ns, object published) except -1
