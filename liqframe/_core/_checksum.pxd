# Contract of the compiled exchange checksums; the pure twin is liqframe/_core/checksum.py,
# which documents each venue's rule.
from libc.stdint cimport int64_t, uint32_t


# The `depth` best levels of both sides of a book (BID 0, ASK 1), best first.
cdef struct Top:
    const int64_t* prices[2]
    const int64_t* sizes[2]
    Py_ssize_t count[2]


cdef class Text:
    cdef char* data
    cdef Py_ssize_t length
    cdef object result(self, bint text)


# CRC32 of zlib (polynomial 0xEDB88320), slicing by 8.
cdef uint32_t _crc32(const unsigned char* data, Py_ssize_t n) noexcept
cdef int _read_top(Top* top, object book, Py_ssize_t depth) except -1


# One venue's checksum rule bound to a market's decimals (and printed places).
cdef class Checksum:
    cdef readonly str kind
    cdef readonly int price_decimals, size_decimals, price_places, size_places
    cdef readonly Py_ssize_t depth
    cdef int code
    cdef object compute(self, object book)
