# cython: language_level=3
# cython: binding=False
"""Exchange book checksums computed from an L2Book (compiled).

Same names, results and errors as the pure twin liqframe/_core/checksum.py, which documents
each venue's rule. Here the book's top levels are copied into int64 buffers (straight from the
compiled book's levels, ``L2Book.top_into`` for any other book), every number is printed into
a C buffer in the venue's format and fed straight to a table-driven CRC32 (the zlib
polynomial), so no Python string is made. A :class:`Checksum` keeps its buffers between calls,
so checking a compiled book allocates nothing but the result, and keeps each level's printed
text too: a venue update changes a few levels, and the others' text is copied, not printed.
The formatter factories (``fixed_text``, ``trimmed_text``, ``js_text``) and the generic
``interleaved_text``/``interleaved_checksum``, which take Python callables, are the twin's.
"""
import numpy as np

cimport numpy as cnp
from cpython.long cimport PyLong_FromLong, PyLong_FromUnsignedLong
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from libc.math cimport fabs
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset

from liqframe._core._book cimport L2Book

from liqframe._core.checksum import _rule
from liqframe._core.checksum import (  # noqa: F401  (the twin's, re-exported)
    fixed_text,
    interleaved_checksum,
    interleaved_text,
    js_text,
    trimmed_text,
)
from liqframe.errors import BookError

cnp.import_array()

cdef extern from "Python.h":
    double PyOS_string_to_double(const char* s, char** endptr, object overflow) except? -1.0
    char* PyOS_double_to_string(double value, char code, int precision, int flags,
                                int* type) except NULL

cdef extern from *:
    int __builtin_clzll(unsigned long long value) nogil

BID = 0
ASK = 1

cdef enum:
    C_BID = 0
    C_ASK = 1

# Slicing-by-8 tables of the zlib CRC32 polynomial: CRC_TABLE[0] is the classic byte table,
# CRC_TABLE[k][b] the CRC of byte b followed by k zero bytes, so eight bytes take one step.
cdef uint32_t CRC_TABLE[8][256]


cdef void _fill_table() noexcept:
    cdef uint32_t value, i, bit, k
    for i in range(256):
        value = i
        for bit in range(8):
            value = (value >> 1) ^ (0xEDB88320 if value & 1 else 0)
        CRC_TABLE[0][i] = value
    for i in range(256):
        for k in range(1, 8):
            CRC_TABLE[k][i] = (CRC_TABLE[k - 1][i] >> 8) ^ CRC_TABLE[0][CRC_TABLE[k - 1][i] & 0xFF]


_fill_table()


cdef extern from *:
    """
    #include <stddef.h>
    #include <stdint.h>
    #include <string.h>
    #if defined(__GNUC__) && defined(__x86_64__)
    #include <emmintrin.h>
    #include <wmmintrin.h>
    #define LIQFRAME_CLMUL 1
    /* Carry-less multiplication folding of CRC32 (Gopal et al., "Fast CRC Computation for
       Generic Polynomials Using PCLMULQDQ Instruction", Intel 2009), with the paper's
       constants for the bit-reflected zlib polynomial: x^(4*128+32) and x^(4*128-32) mod P
       fold 64 bytes ahead, x^(128+32) and x^(128-32) mod P fold 16. `data` holds at least
       64 bytes; the register `crc` is folded into its first four. The 16 bytes written to
       `folded` leave the same CRC register as everything consumed (the count returned),
       when fed to the byte-wise CRC from a zero register. */
    __attribute__((target("pclmul,sse2")))
    static inline __m128i liqframe_fold16(__m128i value, __m128i constants, __m128i next) {
        return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(value, constants, 0x00),
                                           _mm_clmulepi64_si128(value, constants, 0x11)),
                             next);
    }
    __attribute__((target("pclmul,sse2")))
    static size_t liqframe_crc_fold(uint32_t crc, const unsigned char* data, size_t n,
                                    unsigned char* folded) {
        const __m128i ahead64 = _mm_set_epi64x(0x1c6e41596LL, 0x154442bd4LL);
        const __m128i ahead16 = _mm_set_epi64x(0x0ccaa009eLL, 0x1751997d0LL);
        __m128i lane0 = _mm_xor_si128(_mm_loadu_si128((const __m128i*)data),
                                      _mm_cvtsi32_si128((int)crc));
        __m128i lane1 = _mm_loadu_si128((const __m128i*)(data + 16));
        __m128i lane2 = _mm_loadu_si128((const __m128i*)(data + 32));
        __m128i lane3 = _mm_loadu_si128((const __m128i*)(data + 48));
        size_t at = 64;
        for (; n - at >= 64; at += 64) {
            lane0 = liqframe_fold16(lane0, ahead64, _mm_loadu_si128((const __m128i*)(data + at)));
            lane1 = liqframe_fold16(lane1, ahead64,
                                    _mm_loadu_si128((const __m128i*)(data + at + 16)));
            lane2 = liqframe_fold16(lane2, ahead64,
                                    _mm_loadu_si128((const __m128i*)(data + at + 32)));
            lane3 = liqframe_fold16(lane3, ahead64,
                                    _mm_loadu_si128((const __m128i*)(data + at + 48)));
        }
        lane0 = liqframe_fold16(lane0, ahead16, lane1);
        lane0 = liqframe_fold16(lane0, ahead16, lane2);
        lane0 = liqframe_fold16(lane0, ahead16, lane3);
        for (; n - at >= 16; at += 16)
            lane0 = liqframe_fold16(lane0, ahead16, _mm_loadu_si128((const __m128i*)(data + at)));
        _mm_storeu_si128((__m128i*)folded, lane0);
        return at;
    }
    static int liqframe_has_clmul(void) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("pclmul");
    }
    #else
    #define LIQFRAME_CLMUL 0
    static size_t liqframe_crc_fold(uint32_t crc, const unsigned char* data, size_t n,
                                    unsigned char* folded) { return 0; }
    static int liqframe_has_clmul(void) { return 0; }
    #endif
    """
    size_t _crc_fold "liqframe_crc_fold"(uint32_t crc, const unsigned char* data, size_t n,
                                         unsigned char* folded) nogil
    int _has_clmul "liqframe_has_clmul"() nogil


cdef bint HAS_CLMUL = _has_clmul()


cdef inline uint32_t _crc_bytes(uint32_t crc, const unsigned char* data, Py_ssize_t n) noexcept:
    """The CRC register after ``n`` bytes, eight a step."""
    cdef uint32_t low, high
    while n >= 8:
        low = crc ^ (<uint32_t>data[0] | <uint32_t>data[1] << 8 | <uint32_t>data[2] << 16
                     | <uint32_t>data[3] << 24)
        high = <uint32_t>data[4] | <uint32_t>data[5] << 8 | <uint32_t>data[6] << 16 \
            | <uint32_t>data[7] << 24
        crc = (CRC_TABLE[7][low & 0xFF] ^ CRC_TABLE[6][(low >> 8) & 0xFF]
               ^ CRC_TABLE[5][(low >> 16) & 0xFF] ^ CRC_TABLE[4][low >> 24]
               ^ CRC_TABLE[3][high & 0xFF] ^ CRC_TABLE[2][(high >> 8) & 0xFF]
               ^ CRC_TABLE[1][(high >> 16) & 0xFF] ^ CRC_TABLE[0][high >> 24])
        data += 8
        n -= 8
    while n > 0:
        crc = CRC_TABLE[0][(crc ^ data[0]) & 0xFF] ^ (crc >> 8)
        data += 1
        n -= 1
    return crc


cdef uint32_t _crc32(const unsigned char* data, Py_ssize_t n) noexcept:
    cdef uint32_t crc = 0xFFFFFFFF
    cdef unsigned char folded[16]
    cdef size_t consumed
    if n >= 64 and HAS_CLMUL:  # 64 bytes a step by carry-less multiplication
        consumed = _crc_fold(crc, data, n, folded)
        crc = _crc_bytes(0, folded, 16)
        data += consumed
        n -= consumed
    return _crc_bytes(crc, data, n) ^ 0xFFFFFFFF


# -- printing numbers --------------------------------------------------------------------------

cdef uint64_t POW10[20]
POW10[0] = 1
for _i in range(1, 20):
    POW10[_i] = POW10[_i - 1] * 10


cdef inline Py_ssize_t _digit_count(uint64_t value) noexcept:
    # bits * 1233 / 4096 is log10(2 ** bits) rounded down, which is the digit count or one
    # less; one comparison settles it ("0" has one digit).
    value |= 1
    cdef int estimate = ((64 - __builtin_clzll(value)) * 1233) >> 12
    return estimate + (value >= POW10[estimate])


cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    /* Eight ASCII digits in memory order from a word built with the first digit lowest. */
    static inline void liqframe_store8(char* out, uint64_t word) {
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        word = __builtin_bswap64(word);
    #endif
        memcpy(out, &word, 8);
    }
    /* value / 10**decimals (decimals 0 to 19): a constant divisor in every case, so a
       multiplication rather than a division. */
    static inline uint64_t liqframe_div_pow10(uint64_t value, int decimals) {
        switch (decimals) {
        case 0: return value;
        case 1: return value / UINT64_C(10);
        case 2: return value / UINT64_C(100);
        case 3: return value / UINT64_C(1000);
        case 4: return value / UINT64_C(10000);
        case 5: return value / UINT64_C(100000);
        case 6: return value / UINT64_C(1000000);
        case 7: return value / UINT64_C(10000000);
        case 8: return value / UINT64_C(100000000);
        case 9: return value / UINT64_C(1000000000);
        case 10: return value / UINT64_C(10000000000);
        case 11: return value / UINT64_C(100000000000);
        case 12: return value / UINT64_C(1000000000000);
        case 13: return value / UINT64_C(10000000000000);
        case 14: return value / UINT64_C(100000000000000);
        case 15: return value / UINT64_C(1000000000000000);
        case 16: return value / UINT64_C(10000000000000000);
        case 17: return value / UINT64_C(100000000000000000);
        case 18: return value / UINT64_C(1000000000000000000);
        default: return value / UINT64_C(10000000000000000000);
        }
    }
    #define LIQFRAME_LANES_7 UINT64_C(0x0000007F0000007F)
    #define LIQFRAME_LANES_4 UINT64_C(0x000F000F000F000F)
    #define LIQFRAME_ASCII_ZEROS UINT64_C(0x3030303030303030)
    #define LIQFRAME_E8 UINT64_C(100000000)
    #define LIQFRAME_E16 UINT64_C(10000000000000000)
    """
    # Constants above what Cython keeps as C literals.
    const uint64_t LANES_7 "LIQFRAME_LANES_7"
    const uint64_t LANES_4 "LIQFRAME_LANES_4"
    const uint64_t ASCII_ZEROS "LIQFRAME_ASCII_ZEROS"
    const uint64_t E8 "LIQFRAME_E8"
    const uint64_t E16 "LIQFRAME_E16"
    void _store8 "liqframe_store8"(char* out, uint64_t word) nogil
    uint64_t _div_pow10 "liqframe_div_pow10"(uint64_t value, int decimals) nogil


cdef inline uint64_t _eight(uint64_t value) noexcept:
    """The eight digits of ``value`` < 10**8 (zero padded) as ASCII bytes of one word, the
    first digit lowest. Both halves of four digits, then their four pairs, are split at once
    in lanes of one word (x * 10486 >> 20 is x // 100 below 43699, x * 103 >> 10 is x // 10
    below 179), so no digit waits on the one before."""
    cdef uint32_t small = <uint32_t>value
    cdef uint64_t halves = (small // 10000) | (<uint64_t>(small % 10000) << 32)
    cdef uint64_t hundreds = ((halves * 10486) >> 20) & LANES_7
    cdef uint64_t pairs = hundreds | ((halves - 100 * hundreds) << 16)
    cdef uint64_t tens = ((pairs * 103) >> 10) & LANES_4
    return (tens | ((pairs - 10 * tens) << 8)) + ASCII_ZEROS


cdef inline Py_ssize_t _zeros_at_end(uint64_t word) noexcept:
    """How many of the eight digits of an :func:`_eight` word are zeros at its end."""
    word ^= ASCII_ZEROS
    return 8 if word == 0 else __builtin_clzll(word) >> 3


cdef inline Py_ssize_t _padded(char* out, uint64_t value, Py_ssize_t count) noexcept:
    """Write the ``count`` (1 to 24) lowest digits of ``value``, zero padded; returns how many
    of them are zeros at the end (unused results cost nothing once inlined). Eight digits are
    stored at a time, so up to 8 bytes past them may be written."""
    cdef uint64_t high, first, middle, last
    cdef Py_ssize_t zeros
    if count <= 8:
        last = _eight(value)
        _store8(out, last >> (8 * (8 - count)))
        return min(_zeros_at_end(last), count)
    if count <= 16:
        high = value // E8
        first, last = _eight(high), _eight(value - high * E8)
        _store8(out, first >> (8 * (16 - count)))
        _store8(out + count - 8, last)
        zeros = _zeros_at_end(last)
        return zeros if zeros < 8 else 8 + min(_zeros_at_end(first), count - 8)
    high = value // E16
    value -= high * E16
    first, middle, last = _eight(high), _eight(value // E8), _eight(value % E8)
    _store8(out, first >> (8 * (24 - count)))
    _store8(out + count - 16, middle)
    _store8(out + count - 8, last)
    zeros = _zeros_at_end(last)
    if zeros == 8:
        zeros += _zeros_at_end(middle)
        if zeros == 16:
            zeros += min(_zeros_at_end(first), count - 16)
    return zeros


cdef inline Py_ssize_t _uint_digits(char* out, uint64_t value) noexcept:
    """Write ``value`` in decimal (no leading zeros; "0" for 0); returns the length. Up to 8
    bytes past it may be written."""
    cdef Py_ssize_t n = _digit_count(value)
    _padded(out, value, n)
    return n


cdef inline uint64_t _magnitude(int64_t units) noexcept:
    return <uint64_t>(-(units + 1)) + 1 if units < 0 else <uint64_t>units


cdef inline Py_ssize_t _decimal(char* out, int64_t units, int decimals, int places,
                                bint trim) noexcept:
    """``units`` of ``10**-decimals`` printed with exactly ``places`` places (``trim``:
    without the trailing zeros and a bare point, OKX's shortest form). Up to 8 bytes past
    the printed length may be written."""
    cdef Py_ssize_t n = 0, zeros
    cdef uint64_t magnitude = _magnitude(units), whole
    if units < 0:
        out[0] = c'-'
        n = 1
    if decimals == 0:
        n += _uint_digits(out + n, magnitude)
        if places == 0 or trim:
            return n
        out[n] = c'.'
        memset(out + n + 1, c'0', places)
        return n + 1 + places
    # The whole part and the places' digits are split by number (each printed straight into
    # place), not by moving printed digits around the point.
    whole = _div_pow10(magnitude, decimals)
    n += _uint_digits(out + n, whole)
    out[n] = c'.'
    zeros = _padded(out + n + 1, magnitude - whole * POW10[decimals], decimals)
    n += 1 + decimals
    if trim:  # without the zeros at the end, and the point when nothing is left after it
        return n - zeros - (zeros == decimals)
    if places > decimals:
        memset(out + n, c'0', places - decimals)
        n += places - decimals
    return n


cdef Py_ssize_t _fixed(char* out, int64_t units, int decimals, int places) noexcept:
    return _decimal(out, units, decimals, places, False)


cdef inline Py_ssize_t _digits(char* out, int64_t units, int extra) noexcept:
    """``units * 10**extra`` in decimal: Kraken's fixed-places string without the point and
    the leading zeros."""
    cdef Py_ssize_t n = 0
    if units < 0:
        out[0] = c'-'
        n = 1
    n += _uint_digits(out + n, _magnitude(units))
    if units != 0 and extra:
        memset(out + n, c'0', extra)
        n += extra
    return n


cdef inline Py_ssize_t _js_layout(char* out, bint negative, const char* significant,
                                  Py_ssize_t k, Py_ssize_t e) noexcept:
    """ECMA-262 Number::toString of ``0.<significant> * 10**e`` (``k`` digits, no trailing
    zero): plain between 1e-7 and 1e21, else ``d.ddde-7``."""
    cdef Py_ssize_t n = 0
    if negative:
        out[0] = c'-'
        n = 1
    if k <= e <= 21:
        memcpy(out + n, significant, k)
        memset(out + n + k, c'0', e - k)
        return n + e
    if 0 < e <= 21:
        memcpy(out + n, significant, e)
        out[n + e] = c'.'
        memcpy(out + n + e + 1, significant + e, k - e)
        return n + k + 1
    if -6 < e <= 0:
        out[n], out[n + 1] = c'0', c'.'
        memset(out + n + 2, c'0', -e)
        memcpy(out + n + 2 - e, significant, k)
        return n + 2 - e + k
    out[n] = significant[0]
    n += 1
    if k > 1:
        out[n] = c'.'
        memcpy(out + n + 1, significant + 1, k - 1)
        n += k
    out[n] = c'e'
    out[n + 1] = c'+' if e - 1 >= 0 else c'-'
    n += 2
    return n + _uint_digits(out + n, <uint64_t>(e - 1 if e - 1 >= 0 else 1 - e))


cdef Py_ssize_t _js(char* out, int64_t units, int decimals) except -1:
    """The double nearest ``units * 10**-decimals`` as JavaScript's Number#toString prints
    it: the shortest digits that read back (Python's repr picks the same)."""
    cdef uint64_t magnitude = _magnitude(units)
    cdef Py_ssize_t zeros = 0, k
    cdef char significant[32]
    if units == 0:
        out[0] = c'0'
        return 1
    while magnitude % 10 == 0:
        magnitude //= 10
        zeros += 1
    k = _digit_count(magnitude)
    if k <= 15:
        # A decimal of at most 15 significant digits (DBL_DIG) is the only one that short
        # reading back to its double, so its own digits are the shortest: no double needed.
        _uint_digits(significant, magnitude)
        return _js_layout(out, units < 0, significant, k, k + zeros - decimals)
    return _js_shortest(out, units, decimals)


cdef Py_ssize_t _js_shortest(char* out, int64_t units, int decimals) except -1:
    """:func:`_js` for more than 15 significant digits: the double is rounded and its
    shortest digits are asked of Python's repr."""
    cdef char fixed[64]
    cdef char significant[32]
    cdef Py_ssize_t length, k = 0, i = 0, point = -1, whole_length = 0, leading = 0
    cdef Py_ssize_t exponent = 0
    cdef double value
    cdef char* shortest
    cdef bint seen = False, negative_exponent = False
    length = _fixed(fixed, units, decimals, decimals)
    fixed[length] = 0
    value = PyOS_string_to_double(fixed, NULL, None)
    shortest = PyOS_double_to_string(fabs(value), c'r', 0, 0, NULL)
    # repr is "digits[.digits][e[+-]exp]": collect the significant digits and the place
    # e of the point such that the value is 0.<digits> * 10**e.
    while shortest[i] != 0 and shortest[i] != c'e':
        if shortest[i] == c'.':
            point = i
        else:
            if point < 0:
                whole_length += 1
            if not seen and shortest[i] == c'0':
                leading += 1
            else:
                seen = True
                significant[k] = shortest[i]
                k += 1
        i += 1
    if shortest[i] == c'e':
        i += 1
        if shortest[i] == c'-' or shortest[i] == c'+':
            negative_exponent = shortest[i] == c'-'
            i += 1
        while shortest[i] != 0:
            exponent = exponent * 10 + (shortest[i] - 48)
            i += 1
        if negative_exponent:
            exponent = -exponent
    PyMem_Free(shortest)
    while k > 0 and significant[k - 1] == c'0':
        k -= 1
    return _js_layout(out, value < 0, significant, k, whole_length - leading + exponent)


cdef int _places(int decimals, object places) except -1:
    if not 0 <= decimals <= 18:
        raise ValueError(f"decimals must be between 0 and 18, got {decimals}")
    if places is None:
        return decimals
    if places < decimals:
        raise BookError(f"places: {places!r} is fewer than the book's {decimals} decimals")
    return places


# -- the book's top levels ---------------------------------------------------------------------

# The `depth` best levels of both sides of a book (BID 0, ASK 1), best first.
cdef struct Top:
    const int64_t* prices[2]
    const int64_t* sizes[2]
    Py_ssize_t count[2]


cdef int _realloc(void** pointer, size_t size) except -1:
    cdef void* grown = PyMem_Realloc(pointer[0], size)
    if grown == NULL:
        raise MemoryError()
    pointer[0] = grown
    return 0


cdef int _grow(Buffers* buffers, Py_ssize_t rows) except -1:
    """Room for ``rows`` levels a side and the text of all of them (four numbers a level)."""
    cdef size_t text_room
    rows = max(rows, 1)
    if rows <= buffers.rows:
        return 0
    # The previous call's levels and pieces are laid out by the old row count: forgotten.
    buffers.last_count[0] = buffers.last_count[1] = 0
    text_room = rows * 4 * buffers.number_room + 64
    _realloc(<void**>&buffers.levels, rows * 4 * sizeof(int64_t))
    _realloc(<void**>&buffers.last_levels, rows * 4 * sizeof(int64_t))
    _realloc(<void**>&buffers.pieces, rows * 4 * sizeof(Py_ssize_t))
    _realloc(<void**>&buffers.last_pieces, rows * 4 * sizeof(Py_ssize_t))
    _realloc(<void**>&buffers.text, text_room)
    _realloc(<void**>&buffers.last_text, text_room)
    buffers.rows = rows
    return 0


cdef void _release(Buffers* buffers) noexcept:
    PyMem_Free(buffers.levels)
    PyMem_Free(buffers.text)
    PyMem_Free(buffers.pieces)
    PyMem_Free(buffers.last_levels)
    PyMem_Free(buffers.last_text)
    PyMem_Free(buffers.last_pieces)
    buffers.levels, buffers.text, buffers.pieces = NULL, NULL, NULL
    buffers.last_levels, buffers.last_text, buffers.last_pieces = NULL, NULL, NULL
    buffers.rows = buffers.last_count[0] = buffers.last_count[1] = 0


cdef void _keep(Buffers* buffers, const Top* top) noexcept:
    """This call's levels, text and pieces become the previous call's (the buffers swap)."""
    cdef int64_t* levels = buffers.levels
    cdef char* text = buffers.text
    cdef Py_ssize_t* pieces = buffers.pieces
    buffers.levels, buffers.last_levels = buffers.last_levels, levels
    buffers.text, buffers.last_text = buffers.last_text, text
    buffers.pieces, buffers.last_pieces = buffers.last_pieces, pieces
    buffers.last_count[0], buffers.last_count[1] = top.count[0], top.count[1]


cdef inline void _point(Top* top, const Buffers* buffers) noexcept:
    cdef int side
    for side in range(2):
        top.prices[side] = buffers.levels + 2 * side * buffers.rows
        top.sizes[side] = buffers.levels + (2 * side + 1) * buffers.rows


cdef int _read_top(Top* top, object book, Py_ssize_t depth, Buffers* buffers) except -1:
    cdef int side
    cdef L2Book compiled
    cdef Py_ssize_t rows
    if depth < 0:
        raise BookError(f"n: {depth!r} is negative")
    if type(book) is L2Book:  # the compiled book: copied in C, no Python call
        compiled = <L2Book>book
        rows = min(depth, max(compiled._sides[C_BID].count + compiled._sides[C_BID].in_window,
                              compiled._sides[C_ASK].count + compiled._sides[C_ASK].in_window))
        _grow(buffers, rows)
        _point(top, buffers)
        for side in range(2):
            top.count[side] = compiled.copy_top(side, <int64_t*>top.prices[side],
                                                <int64_t*>top.sizes[side], rows)
        return 0
    # Any other book fills arrays of its own through top_into; they are copied after both
    # calls, so nothing running meanwhile can see this Checksum's buffers half written.
    arrays = [np.empty(depth, dtype=np.int64) for _ in range(4)]
    counts = [book.top_into(side, arrays[2 * side], arrays[2 * side + 1]) for side in range(2)]
    _grow(buffers, max(counts))
    _point(top, buffers)
    for side in range(2):
        top.count[side] = counts[side]
        memcpy(<int64_t*>top.prices[side], cnp.PyArray_DATA(arrays[2 * side]),
               top.count[side] * sizeof(int64_t))
        memcpy(<int64_t*>top.sizes[side], cnp.PyArray_DATA(arrays[2 * side + 1]),
               top.count[side] * sizeof(int64_t))
    return 0


# -- the venues' strings -----------------------------------------------------------------------

cdef enum Kind:
    KRAKEN = 0
    OKX = 1
    BITGET = 2
    BITFINEX = 3


# One venue's rule: how a level is printed.
cdef struct Rule:
    int code
    int price_decimals, size_decimals, price_places, size_places


cdef Py_ssize_t _print_level(char* out, const Rule* rule, int side, int64_t price,
                             int64_t size) except -1:
    """One level's piece of the venue's string: Kraken's price and size digits, the others'
    ``price:size``. Up to 8 bytes past it may be written."""
    cdef Py_ssize_t n
    if rule.code == KRAKEN:
        n = _digits(out, price, rule.price_places - rule.price_decimals)
        return n + _digits(out + n, size, rule.size_places - rule.size_decimals)
    if rule.code == OKX:
        n = _decimal(out, price, rule.price_decimals, rule.price_decimals, True)
        out[n] = c':'
        return n + 1 + _decimal(out + n + 1, size, rule.size_decimals, rule.size_decimals, True)
    if rule.code == BITGET:
        n = _decimal(out, price, rule.price_decimals, rule.price_places, False)
        out[n] = c':'
        return n + 1 + _decimal(out + n + 1, size, rule.size_decimals, rule.size_places, False)
    if side == C_ASK:  # Bitfinex's asks have negative sizes
        size = -size
    n = _js(out, price, rule.price_decimals)
    out[n] = c':'
    return n + 1 + _js(out + n + 1, size, rule.size_decimals)


cdef inline void _copy(char* out, const char* source, Py_ssize_t n) noexcept:
    """Copy ``n`` bytes 16 at a time (a fixed-size memcpy is two moves, no library call): up
    to 15 bytes past them are read and written, within both text buffers' spare room."""
    while n > 0:
        memcpy(out, source, 16)
        out += 16
        source += 16
        n -= 16


cdef inline Py_ssize_t _level(char* out, Py_ssize_t at, const Rule* rule, Buffers* buffers,
                              const Top* top, int side, Py_ssize_t rank,
                              Py_ssize_t* last) except -1:
    """Put the piece of level ``rank`` of ``side`` at ``out + at``, returning its length:
    copied from the previous call's text when a level there had the same price and size (the
    text depends on nothing else), else printed. ``last`` walks the previous call's levels of
    that side: both tops are best first, so a level's match lies at or after the one before's,
    whichever ranks levels moved by (an unsorted top only finds fewer matches)."""
    cdef int64_t price = top.prices[side][rank], size = top.sizes[side][rank]
    cdef const int64_t* last_prices = buffers.last_levels + 2 * side * buffers.rows
    cdef const int64_t* last_sizes = last_prices + buffers.rows
    cdef Py_ssize_t j = last[0], count = buffers.last_count[side], length
    cdef Py_ssize_t* piece = buffers.pieces + 2 * (side * buffers.rows + rank)
    cdef const Py_ssize_t* kept
    if side == C_BID:
        while j < count and last_prices[j] > price:
            j += 1
    else:
        while j < count and last_prices[j] < price:
            j += 1
    if j < count and last_prices[j] == price and last_sizes[j] == size:
        kept = buffers.last_pieces + 2 * (side * buffers.rows + j)
        length = kept[1]
        _copy(out + at, buffers.last_text + kept[0], length)
        j += 1
    else:
        length = _print_level(out + at, rule, side, price, size)
    last[0] = j
    piece[0], piece[1] = at, length
    return length


cdef Py_ssize_t _kraken_text(const Rule* rule, Buffers* buffers, const Top* top) except -1:
    cdef Py_ssize_t n = 0, i, last
    cdef int side
    for side in range(C_ASK, C_BID - 1, -1):  # asks first
        last = 0
        for i in range(top.count[side]):
            n += _level(buffers.text, n, rule, buffers, top, side, i, &last)
    return n


cdef Py_ssize_t _interleaved_text(const Rule* rule, Buffers* buffers,
                                  const Top* top) except -1:
    cdef Py_ssize_t i, n = 0, rows = max(top.count[C_BID], top.count[C_ASK])
    cdef Py_ssize_t last[2]
    cdef int side
    cdef char* out = buffers.text
    last[0] = last[1] = 0
    for i in range(rows):
        for side in range(2):  # C_BID then C_ASK
            if i >= top.count[side]:
                continue
            n += _level(out, n, rule, buffers, top, side, i, &last[side])
            out[n] = c':'
            n += 1
    return n - 1 if n else 0  # without the last separator


cdef dict _KIND_CODES = {"kraken": KRAKEN, "okx": OKX, "bitget": BITGET, "bitfinex": BITFINEX}


cdef object _compute(int code, object book, int price_decimals, int size_decimals,
                     int price_places, int size_places, Py_ssize_t depth, Buffers* buffers,
                     bint text):
    """The checksum (or, with ``text``, Kraken's string) of ``book`` under a venue's rule."""
    cdef Top top
    cdef Py_ssize_t n
    cdef uint32_t crc
    cdef Rule rule
    rule.code, rule.price_decimals, rule.size_decimals = code, price_decimals, size_decimals
    if code == OKX or code == BITFINEX:  # their numbers have no fixed places
        price_places, size_places = price_decimals, size_decimals
    rule.price_places, rule.size_places = price_places, size_places
    _read_top(&top, book, depth, buffers)
    if code == KRAKEN:
        n = _kraken_text(&rule, buffers, &top)
        if text:
            result = buffers.text[:n].decode("ascii") if n else ""
        else:
            result = PyLong_FromUnsignedLong(_crc32(<const unsigned char*>buffers.text, n))
    else:
        n = _interleaved_text(&rule, buffers, &top)
        crc = _crc32(<const unsigned char*>buffers.text, n)
        result = PyLong_FromLong(<int32_t>crc)  # the venues publish it signed
    _keep(buffers, &top)
    return result


cdef inline void _prepare(Buffers* buffers, int price_places, int size_places) noexcept:
    # A number is at most a sign, 20 digits, a point and its places (a JavaScript number:
    # 17 digits, "0.000000" or an exponent), then a separator; the printing may write 8
    # bytes past the end.
    buffers.levels, buffers.text, buffers.pieces = NULL, NULL, NULL
    buffers.last_levels, buffers.last_text, buffers.last_pieces = NULL, NULL, NULL
    buffers.rows = buffers.last_count[0] = buffers.last_count[1] = 0
    buffers.number_room = max(price_places, size_places) + 40


cdef object _once(int code, object book, int price_decimals, int size_decimals,
                  int price_places, int size_places, Py_ssize_t depth, bint text):
    """:func:`_compute` with buffers of its own, freed after."""
    cdef Buffers buffers
    _prepare(&buffers, price_places, size_places)
    try:
        return _compute(code, book, price_decimals, size_decimals, price_places, size_places,
                        depth, &buffers, text)
    finally:
        _release(&buffers)


# -- the venues --------------------------------------------------------------------------------

def kraken_text(book, price_decimals, size_decimals, price_places=None, size_places=None,
                depth=10):
    """Kraken's checksum string; see liqframe._core.checksum.kraken_text."""
    return _once(KRAKEN, book, price_decimals, size_decimals,
                 _places(price_decimals, price_places), _places(size_decimals, size_places),
                 depth, True)


def kraken_checksum(book, price_decimals, size_decimals, price_places=None, size_places=None,
                    depth=10):
    """Unsigned CRC32 of :func:`kraken_text` (Kraken WebSocket v1 ``c``, v2 ``checksum``)."""
    return _once(KRAKEN, book, price_decimals, size_decimals,
                 _places(price_decimals, price_places), _places(size_decimals, size_places),
                 depth, False)


def okx_checksum(book, price_decimals, size_decimals, depth=25):
    """Signed CRC32 of OKX's ``books`` checksum string (strings in their shortest form)."""
    return _once(OKX, book, price_decimals, size_decimals, _places(price_decimals, None),
                 _places(size_decimals, None), depth, False)


def bitget_checksum(book, price_decimals, size_decimals, price_places=None, size_places=None,
                    depth=25):
    """Signed CRC32 of Bitget's ``books`` checksum: OKX's algorithm over fixed-places strings."""
    return _once(BITGET, book, price_decimals, size_decimals,
                 _places(price_decimals, price_places), _places(size_decimals, size_places),
                 depth, False)


def bitfinex_checksum(book, price_decimals, size_decimals, depth=25):
    """Signed CRC32 of Bitfinex's P0 book checksum (``cs``): JavaScript number strings."""
    return _once(BITFINEX, book, price_decimals, size_decimals, _places(price_decimals, None),
                 _places(size_decimals, None), depth, False)


cdef class Checksum:
    """One venue's checksum rule bound to a market; see liqframe._core.checksum.Checksum."""

    def __cinit__(self):
        _prepare(&self.buffers, 0, 0)

    def __init__(self, kind, price_decimals, size_decimals, price_places=None,
                 size_places=None, depth=None):
        self.price_places, self.size_places, self.depth = _rule(
            kind, price_decimals, size_decimals, price_places, size_places, depth)
        self.kind, self.code = kind, _KIND_CODES[kind]
        self.price_decimals, self.size_decimals = price_decimals, size_decimals
        _release(&self.buffers)
        _prepare(&self.buffers, self.price_places, self.size_places)
        _grow(&self.buffers, min(self.depth, 64))  # a book's usual top; grown when deeper

    def __dealloc__(self):
        _release(&self.buffers)

    cdef object compute(self, object book):
        return _compute(self.code, book, self.price_decimals, self.size_decimals,
                        self.price_places, self.size_places, self.depth, &self.buffers, False)

    def __call__(self, book):
        return self.compute(book)

    def __repr__(self):
        return (f"Checksum({self.kind!r}, {self.price_decimals}, {self.size_decimals}, "
                f"{self.price_places}, {self.size_places}, depth={self.depth})")
