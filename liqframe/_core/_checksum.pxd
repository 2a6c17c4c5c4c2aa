# Contract of the compiled exchange checksums; the pure twin is liqframe/_core/checksum.py,
# which documents each venue's rule.
from libc.stdint cimport int64_t, uint32_t


# CRC32 of zlib (polynomial 0xEDB88320): carry-less multiplication folding where the CPU
# has it, slicing by 8 for the rest.
cdef uint32_t _crc32(const unsigned char* data, Py_ssize_t n) noexcept


# Room for a book's top levels and the text printed from them, grown on demand and kept
# between calls (a checksum is then computed without allocating). The previous call's levels
# and text are kept too, with where each level's piece of text lies in it: a level with the
# same price and size is copied from there rather than printed again.
cdef struct Buffers:
    Py_ssize_t rows           # levels a side the buffers hold
    Py_ssize_t number_room    # bytes one printed number (and its separator) may take
    int64_t* levels           # 4 * rows: bid prices, bid sizes, ask prices, ask sizes
    char* text
    Py_ssize_t* pieces        # 4 * rows: start and length in text of each bid's, then ask's
    int64_t* last_levels      # the same three from the previous call
    char* last_text
    Py_ssize_t* last_pieces
    Py_ssize_t last_count[2]  # levels a side of the previous call (none after growing)


# One venue's checksum rule bound to a market's decimals (and printed places).
cdef class Checksum:
    cdef readonly str kind
    cdef readonly int price_decimals, size_decimals, price_places, size_places
    cdef readonly Py_ssize_t depth
    cdef int code
    cdef Buffers buffers
    cdef object compute(self, object book)
