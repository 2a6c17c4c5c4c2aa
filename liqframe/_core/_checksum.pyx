# cython: language_level=3
# cython: binding=False
"""Exchange book checksums computed from an L2Book (compiled).

Same names, results and errors as the pure twin liqframe/_core/checksum.py, which documents
each venue's rule. Here the book's top levels are copied once into int64 arrays
(straight from the compiled book's levels, ``L2Book.top_into`` for any other book), every number is printed into a small C buffer in the venue's format and
fed straight to a table-driven CRC32 (the zlib polynomial), so no Python string is made. The
formatter factories (``fixed_text``, ``trimmed_text``, ``js_text``) and the generic
``interleaved_text``/``interleaved_checksum``, which take Python callables, are the twin's.
"""
import numpy as np

cimport numpy as cnp
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from libc.math cimport fabs
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.string cimport memcpy, memmove, memset, strlen

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

BID = 0
ASK = 1

cdef enum:
    C_BID = 0
    C_ASK = 1

cdef enum Format:
    FIXED = 0     # exactly `places` places
    TRIMMED = 1   # shortest exact decimal
    JS = 2        # JavaScript's Number#toString
    DIGITS = 3    # Kraken: the fixed-places digits without point or leading zeros

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


cdef uint32_t _crc32(const unsigned char* data, Py_ssize_t n) noexcept:
    cdef uint32_t crc = 0xFFFFFFFF, low, high
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
    return crc ^ 0xFFFFFFFF


cdef class Text:
    """The checksum string being printed, in a buffer sized up front for ``levels`` levels
    of two numbers of up to ``places`` places; each number is printed straight into it."""

    def __cinit__(self, Py_ssize_t levels, Py_ssize_t places):
        # A number is at most a sign, 20 digits, a point and the places; then a separator.
        self.data = <char*>PyMem_Malloc(levels * 2 * (places + 24) + 16)
        if self.data == NULL:
            raise MemoryError()

    def __dealloc__(self):
        PyMem_Free(self.data)

    cdef object result(self, bint text):
        """The text, or its CRC32."""
        if text:
            return self.data[:self.length].decode("ascii") if self.length else ""
        return _crc32(<const unsigned char*>self.data, self.length)


cdef uint64_t POW10[20]
POW10[0] = 1
for _i in range(1, 20):
    POW10[_i] = POW10[_i - 1] * 10


cdef const char* PAIRS = (b"00010203040506070809101112131415161718192021222324252627282930313233"
                         b"343536373839404142434445464748495051525354555657585960616263646566"
                         b"6768697071727374757677787980818283848586878889909192939495969798"
                         b"99")


cdef inline Py_ssize_t _digit_count(uint64_t value) noexcept:
    cdef Py_ssize_t n = 1
    while n < 20 and value >= POW10[n]:
        n += 1
    return n


cdef Py_ssize_t _uint_digits(char* out, uint64_t value) noexcept:
    """Write ``value`` in decimal (no leading zeros; "0" for 0); returns the length."""
    cdef Py_ssize_t n = _digit_count(value), position = n
    cdef uint64_t pair
    while value >= 100:  # two digits a step
        pair = (value % 100) * 2
        value //= 100
        position -= 2
        out[position], out[position + 1] = PAIRS[pair], PAIRS[pair + 1]
    if value >= 10:
        out[0], out[1] = PAIRS[value * 2], PAIRS[value * 2 + 1]
    else:
        out[0] = <char>(48 + value)
    return n


cdef inline uint64_t _magnitude(int64_t units) noexcept:
    return <uint64_t>(-(units + 1)) + 1 if units < 0 else <uint64_t>units


cdef inline Py_ssize_t _zeros(char* out, Py_ssize_t count) noexcept:
    cdef Py_ssize_t i
    for i in range(count):
        out[i] = c'0'
    return count


cdef Py_ssize_t _fixed(char* out, int64_t units, int decimals, int places) noexcept:
    """``units`` of ``10**-decimals`` printed with exactly ``places`` places (``trim``:
    without the trailing zeros and a bare point, OKX's shortest form)."""
    return _decimal(out, units, decimals, places, False)


cdef Py_ssize_t _decimal(char* out, int64_t units, int decimals, int places,
                         bint trim) noexcept:
    # The magnitude's digits are printed once and the point placed among them: no division
    # by a power of ten that is not a constant (the slow part of printing).
    cdef char digits[24]
    cdef Py_ssize_t n = 0, length, start, end
    if units < 0:
        out[0] = c'-'
        n = 1
    length = _uint_digits(digits, _magnitude(units))
    start = length - decimals  # digits before the point
    if start > 0:
        memcpy(out + n, digits, start)
        n += start
    else:
        out[n] = c'0'
        n += 1
        start = 0
    end = length
    if trim:
        while end > start and digits[end - 1] == c'0':
            end -= 1
        if end == start:
            return n
    elif places == 0:
        return n
    out[n] = c'.'
    n += 1
    n += _zeros(out + n, decimals - (length - start))
    memcpy(out + n, digits + start, end - start)
    n += end - start
    if not trim:
        n += _zeros(out + n, places - decimals)
    return n


cdef Py_ssize_t _trimmed(char* out, int64_t units, int decimals) noexcept:
    return _decimal(out, units, decimals, decimals, True)


cdef Py_ssize_t _digits(char* out, int64_t units, int extra) noexcept:
    """``units * 10**extra`` in decimal: Kraken's fixed-places string without the point and
    the leading zeros."""
    cdef Py_ssize_t n = 0, i
    if units < 0:
        out[n] = c'-'
        n += 1
    n += _uint_digits(out + n, _magnitude(units))
    if units != 0:
        for i in range(extra):
            out[n] = c'0'
            n += 1
    return n


cdef Py_ssize_t _js(char* out, int64_t units, int decimals) except -1:
    """The double nearest ``units * 10**-decimals`` as JavaScript's Number#toString prints
    it: the shortest digits that read back (Python's repr picks the same), ECMA-262 layout."""
    cdef char fixed[48]
    cdef Py_ssize_t length, n = 0, k, i, point
    cdef Py_ssize_t whole_length, leading = 0, exponent_value = 0, e
    cdef double value
    cdef char* shortest
    cdef char significant[32]
    cdef bint seen = False
    length = _fixed(fixed, units, decimals, decimals)
    fixed[length] = 0
    value = PyOS_string_to_double(fixed, NULL, None)
    if value == 0:
        out[0] = c'0'
        return 1
    shortest = PyOS_double_to_string(fabs(value), c'r', 0, 0, NULL)
    try:
        # repr is "digits[.digits][e[+-]exp]": collect the significant digits and the place
        # n of the point such that the value is 0.<digits> * 10**n.
        k = 0
        whole_length = 0
        point = -1
        i = 0
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
            exponent_value = int(shortest[i + 1:strlen(shortest)].decode())
    finally:
        PyMem_Free(shortest)
    while k > 0 and significant[k - 1] == c'0':
        k -= 1
    e = whole_length - leading + exponent_value
    if value < 0:
        out[n] = c'-'
        n += 1
    if k <= e <= 21:
        memcpy(out + n, significant, k)
        n += k
        for i in range(e - k):
            out[n] = c'0'
            n += 1
    elif 0 < e <= 21:
        memcpy(out + n, significant, e)
        n += e
        out[n] = c'.'
        n += 1
        memcpy(out + n, significant + e, k - e)
        n += k - e
    elif -6 < e <= 0:
        out[n], out[n + 1] = c'0', c'.'
        n += 2
        for i in range(-e):
            out[n] = c'0'
            n += 1
        memcpy(out + n, significant, k)
        n += k
    else:
        out[n] = significant[0]
        n += 1
        if k > 1:
            out[n] = c'.'
            n += 1
            memcpy(out + n, significant + 1, k - 1)
            n += k - 1
        out[n] = c'e'
        out[n + 1] = c'+' if e - 1 >= 0 else c'-'
        n += 2
        n += _uint_digits(out + n, <uint64_t>(e - 1 if e - 1 >= 0 else 1 - e))
    return n


cdef Py_ssize_t _format(char* out, int kind, int64_t units, int decimals, int places) except -1:
    if kind == FIXED:
        return _fixed(out, units, decimals, places)
    if kind == TRIMMED:
        return _trimmed(out, units, decimals)
    if kind == DIGITS:
        return _digits(out, units, places - decimals)
    return _js(out, units, decimals)


cdef int _places(int decimals, object places) except -1:
    if not 0 <= decimals <= 18:
        raise ValueError(f"decimals must be between 0 and 18, got {decimals}")
    if places is None:
        return decimals
    if places < decimals:
        raise BookError(f"places: {places!r} is fewer than the book's {decimals} decimals")
    return places


# -- the book's top levels ---------------------------------------------------------------------

cdef dict _ARRAYS = {}  # depth -> the four int64 arrays top_into writes (kept: no allocation)


cdef int _read_top(Top* top, object book, Py_ssize_t depth) except -1:
    cdef int side
    cdef tuple arrays
    if depth < 0:
        raise BookError(f"n: {depth!r} is negative")
    arrays = _ARRAYS.get(depth) if depth <= 1000 else None
    if arrays is None:
        arrays = tuple(np.empty(depth, dtype=np.int64) for _ in range(4))
        if depth <= 1000:
            _ARRAYS[depth] = arrays
    if type(book) is L2Book:  # the compiled book: copied in C, no Python call
        for side in range(2):
            prices, sizes = arrays[2 * side], arrays[2 * side + 1]
            top.prices[side] = <const int64_t*>cnp.PyArray_DATA(prices)
            top.sizes[side] = <const int64_t*>cnp.PyArray_DATA(sizes)
            top.count[side] = (<L2Book>book).copy_top(
                side, <int64_t*>cnp.PyArray_DATA(prices), <int64_t*>cnp.PyArray_DATA(sizes),
                depth)
        return 0
    top_into = book.top_into
    for side in range(2):
        prices, sizes = arrays[2 * side], arrays[2 * side + 1]
        top.count[side] = top_into(side, prices, sizes)
        top.prices[side] = <const int64_t*>cnp.PyArray_DATA(prices)
        top.sizes[side] = <const int64_t*>cnp.PyArray_DATA(sizes)
    return 0


cdef object _kraken(book, int price_decimals, int size_decimals, object price_places,
                    object size_places, Py_ssize_t depth, bint text):
    cdef int pp = _places(price_decimals, price_places), sp = _places(size_decimals, size_places)
    cdef Top top
    cdef Text out
    _read_top(&top, book, depth)
    out = Text(top.count[C_BID] + top.count[C_ASK], max(pp, sp))
    cdef Py_ssize_t i
    cdef int side
    for side in (C_ASK, C_BID):
        for i in range(top.count[side]):
            out.length += _digits(out.data + out.length, top.prices[side][i],
                                  pp - price_decimals)
            out.length += _digits(out.data + out.length, top.sizes[side][i], sp - size_decimals)
    return out.result(text)


cdef object _interleaved(book, int kind, int price_decimals, int size_decimals,
                         int price_places, int size_places, Py_ssize_t depth,
                         bint negative_asks, bint text):
    cdef Top top
    cdef Text out
    _places(price_decimals, None)  # checks the decimals
    _places(size_decimals, None)
    _read_top(&top, book, depth)
    out = Text(top.count[C_BID] + top.count[C_ASK], max(price_places, size_places))
    cdef Py_ssize_t i, rows = max(top.count[C_BID], top.count[C_ASK])
    cdef int side
    cdef int64_t size
    for i in range(rows):
        for side in range(2):  # C_BID then C_ASK
            if i >= top.count[side]:
                continue
            size = top.sizes[side][i]
            if negative_asks and side == C_ASK:
                size = -size
            if out.length:
                out.data[out.length] = c':'
                out.length += 1
            out.length += _format(out.data + out.length, kind, top.prices[side][i],
                                  price_decimals, price_places)
            out.data[out.length] = c':'
            out.length += 1
            out.length += _format(out.data + out.length, kind, size, size_decimals,
                                  size_places)
    return out.result(text)


cdef inline object _signed(object crc):
    return crc - (1 << 32) if crc >= 1 << 31 else crc


# -- the venues --------------------------------------------------------------------------------

def kraken_text(book, price_decimals, size_decimals, price_places=None, size_places=None,
                depth=10):
    """Kraken's checksum string; see liqframe._core.checksum.kraken_text."""
    return _kraken(book, price_decimals, size_decimals, price_places, size_places, depth, True)


def kraken_checksum(book, price_decimals, size_decimals, price_places=None, size_places=None,
                    depth=10):
    """Unsigned CRC32 of :func:`kraken_text` (Kraken WebSocket v1 ``c``, v2 ``checksum``)."""
    return _kraken(book, price_decimals, size_decimals, price_places, size_places, depth, False)


def okx_checksum(book, price_decimals, size_decimals, depth=25):
    """Signed CRC32 of OKX's ``books`` checksum string (strings in their shortest form)."""
    return _signed(_interleaved(book, TRIMMED, price_decimals, size_decimals, price_decimals,
                                size_decimals, depth, False, False))


def bitget_checksum(book, price_decimals, size_decimals, price_places=None, size_places=None,
                    depth=25):
    """Signed CRC32 of Bitget's ``books`` checksum: OKX's algorithm over fixed-places strings."""
    return _signed(_interleaved(book, FIXED, price_decimals, size_decimals,
                                _places(price_decimals, price_places),
                                _places(size_decimals, size_places), depth, False, False))


def bitfinex_checksum(book, price_decimals, size_decimals, depth=25):
    """Signed CRC32 of Bitfinex's P0 book checksum (``cs``): JavaScript number strings."""
    return _signed(_interleaved(book, JS, price_decimals, size_decimals, price_decimals,
                                size_decimals, depth, True, False))


cdef enum Kind:
    KRAKEN = 0
    OKX = 1
    BITGET = 2
    BITFINEX = 3

cdef dict _KIND_CODES = {"kraken": KRAKEN, "okx": OKX, "bitget": BITGET, "bitfinex": BITFINEX}


cdef class Checksum:
    """One venue's checksum rule bound to a market; see liqframe._core.checksum.Checksum."""

    def __init__(self, kind, price_decimals, size_decimals, price_places=None,
                 size_places=None, depth=None):
        self.price_places, self.size_places, self.depth = _rule(
            kind, price_decimals, size_decimals, price_places, size_places, depth)
        self.kind, self.code = kind, _KIND_CODES[kind]
        self.price_decimals, self.size_decimals = price_decimals, size_decimals

    cdef object compute(self, object book):
        if self.code == KRAKEN:
            return _kraken(book, self.price_decimals, self.size_decimals, self.price_places,
                           self.size_places, self.depth, False)
        if self.code == OKX:
            return _signed(_interleaved(book, TRIMMED, self.price_decimals,
                                        self.size_decimals, self.price_decimals,
                                        self.size_decimals, self.depth, False, False))
        if self.code == BITGET:
            return _signed(_interleaved(book, FIXED, self.price_decimals, self.size_decimals,
                                        self.price_places, self.size_places, self.depth,
                                        False, False))
        return _signed(_interleaved(book, JS, self.price_decimals, self.size_decimals,
                                    self.price_decimals, self.size_decimals, self.depth, True,
                                    False))

    def __call__(self, book):
        return self.compute(book)

    def __repr__(self):
        return (f"Checksum({self.kind!r}, {self.price_decimals}, {self.size_decimals}, "
                f"{self.price_places}, {self.size_places}, depth={self.depth})")
