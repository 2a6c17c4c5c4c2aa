# cython: language_level=3
# cython: binding=False
"""The price-level (L2) book of one venue and instrument (compiled).

Same names, behaviour and errors as the pure twin liqframe/_core/book.py, which documents
them. Each side is one C array of ``Level`` (16 bytes) sorted by key with the best level last,
grown by doubling and shrunk by half when a quarter full, so a live level costs 16 to 64 bytes.
From 64 levels on, a side also has a window of 256 directly addressed prices around its best
level (2 KB of sizes and a bitmap), which takes the changes near the touch without searching
or moving anything; see "side storage" below.

Python callers pass numpy arrays to apply_batch and apply_snapshot; the data pointers are
taken with the numpy C API, because acquiring a typed memoryview costs about 150 ns per
array, which would make batches of ten slower than ten single calls. Cython callers can use
the typed-memoryview method ``apply_views`` declared in _book.pxd.

``binding=False`` makes the methods plain method descriptors, as in C extensions: a call then
skips the bound-method and cyfunction layers, about 8 ns of a single change's 60.
"""
import math
import numbers
import operator

cimport numpy as cnp
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_CheckExact
from cpython.mem cimport PyMem_Calloc, PyMem_Free, PyMem_Realloc
from libc.stdint cimport INT64_MIN, int64_t, uint64_t
from libc.stdlib cimport qsort
from libc.string cimport memmove, memset

from liqframe.errors import BookError, SequenceGap

cnp.import_array()

cdef extern from *:
    int _clz "__builtin_clzll"(unsigned long long) nogil
    int _ctz "__builtin_ctzll"(unsigned long long) nogil
    ctypedef unsigned long long uint128 "unsigned __int128"

BID = 0
ASK = 1
NO_SEQUENCE = INT64_MIN
# The same object, so the default of the sequence arguments: recognised by identity, since
# converting -2**63 (three digits) is the slow path of _integer.
cdef object _NO_SEQUENCE = NO_SEQUENCE
STALE_MESSAGE = "book is stale (sequence gap or failed check): apply a snapshot to resync it"

cdef enum:
    C_BID = 0
    C_ASK = 1
    MIN_CAPACITY = 16
    NEAR_LEVELS = 16
    # The window: 256 keys (2 KB of sizes), the best level anchored 64 below its top so the
    # touch can rise that far before the window moves; venue changes mostly land within a
    # few dozen ticks of the touch, well inside the 191 below it.
    WINDOW = 256
    WINDOW_WORDS = WINDOW // 64
    HEADROOM = 64
    WINDOW_FROM = 64
    WINDOW_UNTIL = 16

cdef extern from *:
    """
    #define LIQFRAME_ONE ((uint64_t)1)
    #define LIQFRAME_ALL_BITS (~(uint64_t)0)
    """
    const uint64_t ONE "LIQFRAME_ONE"
    const uint64_t ALL_BITS "LIQFRAME_ALL_BITS"


# -- argument checking (cold paths raise; the messages match the pure twin) ----------------

cdef int64_t _integer_slow(object value, str field) except? -1:
    try:
        value = operator.index(value)
    except TypeError:
        raise BookError(f"{field}: {value!r} is not an integer") from None
    if not -(2**63) <= value <= 2**63 - 1:
        raise BookError(f"{field}: {value!r} is out of the 64-bit range")
    return value


cdef extern from *:
    """
    /* An int of one or two 30-bit digits (below 2**60 in magnitude) read in place: every
       price and size of a venue change is one, and PyLong_AsLongLongAndOverflow is an
       out-of-line call that costs as much again as the rest of a change. */
    static CYTHON_INLINE int liqframe_small_int(PyObject *o, long long *out) {
    #if PY_VERSION_HEX >= 0x030C0000 && !defined(PYPY_VERSION)
        if (PyLong_CheckExact(o) && _PyLong_IsCompact((PyLongObject *)o)) {
            *out = (long long)_PyLong_CompactValue((PyLongObject *)o);
            return 1;
        }
        return 0;
    #elif PY_VERSION_HEX >= 0x030B0000 && !defined(PYPY_VERSION) && PyLong_SHIFT == 30
        /* No branch on the value: a side is 0 or 1 at random (0 has no digits), and a
           switch on the digit count would be mispredicted half the time. A zero may have
           no digit stored, so it reads a static zero through a selected pointer. */
        static const digit zero = 0;
        const digit *d;
        Py_ssize_t n;
        if (!PyLong_CheckExact(o)) return 0;
        d = ((PyLongObject *)o)->ob_digit;
        n = Py_SIZE(o);
        if ((size_t)(n + 1) <= 2) {
            *out = (long long)n * (long long)*(n ? d : &zero);
            return 1;
        }
        if (n == 2 || n == -2) {
            long long magnitude = ((long long)d[1] << 30) | (long long)d[0];
            *out = n > 0 ? magnitude : -magnitude;
            return 1;
        }
        return 0;
    #else
        (void)o; (void)out;
        return 0;
    #endif
    }
    """
    bint _small_int "liqframe_small_int"(object value, long long* out) noexcept


cdef inline int64_t _integer(object value, str field) except? -1:
    """``value`` as int64, or a BookError naming ``field``; exact ints take the fast path."""
    cdef int overflow = 0
    cdef long long result
    if _small_int(value, &result):
        return result
    if PyLong_CheckExact(value):
        result = PyLong_AsLongLongAndOverflow(value, &overflow)
        if not overflow:
            return result
    return _integer_slow(value, field)


cdef inline int64_t _sequence_id(object value, str field) except? -1:
    return INT64_MIN if value is _NO_SEQUENCE else _integer(value, field)


cdef int _check_level(int64_t side, int64_t price, int64_t size, object side_field,
                      object price_field, object size_field) except -1:
    if side != C_BID and side != C_ASK:
        raise BookError(f"{side_field}: {side!r} is not BID (0) or ASK (1)")
    if price <= 0:
        raise BookError(f"{price_field}: {price!r} is not positive")
    if size < 0:
        raise BookError(f"{size_field}: {size!r} is negative")
    return 0


cdef int _side(object value) except -1:
    cdef int64_t side = _integer(value, "side")
    if side != C_BID and side != C_ASK:
        raise BookError(f"side: {side!r} is not BID (0) or ASK (1)")
    return <int>side


cdef str _describe(object value):
    if isinstance(value, cnp.ndarray):
        return f"{value.ndim}-dimensional array of dtype {value.dtype}"
    return type(value).__name__


cdef const int64_t* _int64_data(object value, str field, Py_ssize_t* length,
                                Py_ssize_t* stride) except NULL:
    """Data pointer, length and stride (in elements) of a 1-D native int64 numpy array."""
    cdef cnp.ndarray array
    if (not cnp.PyArray_Check(value) or cnp.PyArray_NDIM(<cnp.ndarray>value) != 1
            or (cnp.PyArray_TYPE(<cnp.ndarray>value) != cnp.NPY_INT64  # else a call
                and not cnp.PyArray_EquivTypenums(cnp.PyArray_TYPE(<cnp.ndarray>value),
                                                  cnp.NPY_INT64))
            or not cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>value)):
        raise BookError(f"{field}: expected a 1-dimensional int64 array, got {_describe(value)}")
    array = <cnp.ndarray>value
    length[0] = cnp.PyArray_DIM(array, 0)
    if cnp.PyArray_STRIDE(array, 0) % sizeof(int64_t) != 0:
        raise BookError(f"{field}: expected a 1-dimensional int64 array, got an unaligned view")
    stride[0] = cnp.PyArray_STRIDE(array, 0) // <Py_ssize_t>sizeof(int64_t)
    return <const int64_t*>cnp.PyArray_DATA(array)


cdef int64_t* _writable_int64(object value, str field, Py_ssize_t* length,
                              Py_ssize_t* stride) except NULL:
    """Like _int64_data, for an array the book writes into."""
    cdef const int64_t* data = _int64_data(value, field, length, stride)
    if not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>value):
        raise BookError(f"{field}: the array is read-only")
    return <int64_t*>data


cdef int _same_length(Py_ssize_t length, str field, Py_ssize_t other, str other_field) except -1:
    if length != other:
        raise BookError(f"{field}: length {length} differs from the {other} of {other_field}")
    return 0


cdef double _check_bps(object bps) except? -1.0:
    if not isinstance(bps, numbers.Real) or not math.isfinite(bps) or bps < 0:
        raise BookError(f"bps: {bps!r} is not a finite number >= 0")
    return float(bps)


# -- side storage -------------------------------------------------------------------------
#
# A side is a window of WINDOW keys around its best level, addressed directly (set, update
# and delete there are a subtraction and a store), in front of a sorted array holding the
# levels below the window. Nearly every venue change lands in the window. A price above the
# window, or a window emptied by deletes, re-anchors it (its levels go back to the array,
# which they extend at its best end, and the levels of the new range come out of it). A side
# gets a window only from WINDOW_FROM levels on, so the window's 2 KB never costs more than
# about 32 bytes a level, and gives it up below WINDOW_UNTIL levels.

cdef inline Py_ssize_t _below(const uint64_t* bits, Py_ssize_t slot) noexcept:
    """The highest occupied window slot at or below ``slot``, or -1."""
    cdef Py_ssize_t word
    cdef uint64_t occupied
    if slot < 0:
        return -1
    word = slot >> 6
    occupied = bits[word] & (ALL_BITS >> (63 - (slot & 63)))
    while not occupied:
        word -= 1
        if word < 0:
            return -1
        occupied = bits[word]
    return (word << 6) + 63 - _clz(occupied)


cdef inline int64_t _slot_key(const Side* side, Py_ssize_t slot) noexcept:
    return <int64_t>(<uint64_t>side.lo + <uint64_t>slot)


cdef inline Py_ssize_t _locate(const Level* levels, Py_ssize_t count, int64_t key) noexcept:
    """Index of the first array level whose key is >= ``key``.

    Changes that miss the window still tend to land near its lower edge, the end of the
    array. The last NEAR_LEVELS keys are compared without branching (keys >= ``key`` form a
    suffix, so their count gives the index), which avoids the mispredicted exit of a scan;
    past them the search gallops down in doubling steps, then bisects.
    """
    cdef Py_ssize_t lo, hi, step = NEAR_LEVELS, mid, j, above = 0
    cdef const Level* near
    if count <= NEAR_LEVELS:
        for j in range(count):
            above += levels[j].key >= key
        return count - above
    near = levels + count - NEAR_LEVELS
    for j in range(NEAR_LEVELS):  # a fixed count, which the compiler unrolls
        above += near[j].key >= key
    if above < NEAR_LEVELS:
        return count - above
    hi = count - NEAR_LEVELS
    lo = hi - step
    while lo >= 0 and levels[lo].key >= key:
        hi = lo
        step <<= 1
        lo -= step
    if lo < 0:
        lo = -1
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if levels[mid].key >= key:
            hi = mid
        else:
            lo = mid
    return hi


cdef int _reserve(Side* side, Py_ssize_t needed) except -1:
    cdef Py_ssize_t capacity
    cdef Level* grown
    if needed <= side.capacity:
        return 0
    capacity = side.capacity * 2 if side.capacity else MIN_CAPACITY
    if capacity < needed:
        capacity = needed
    grown = <Level*>PyMem_Realloc(side.levels, capacity * sizeof(Level))
    if grown == NULL:
        raise MemoryError()
    side.levels, side.capacity = grown, capacity
    return 0


cdef void _shrink(Side* side) noexcept:
    """Halve the array once it is under a quarter full, so memory follows the book."""
    cdef Py_ssize_t capacity = side.capacity >> 1
    cdef Level* shrunk
    if side.count * 4 >= side.capacity or capacity < MIN_CAPACITY:
        return
    shrunk = <Level*>PyMem_Realloc(side.levels, capacity * sizeof(Level))
    if shrunk != NULL:  # keeping the larger block is harmless
        side.levels, side.capacity = shrunk, capacity


cdef int _array_set(Side* side, int64_t key, int64_t size) except -1:
    cdef Py_ssize_t i = _locate(side.levels, side.count, key), j
    cdef Level* levels = side.levels
    if i < side.count and levels[i].key == key:
        if size:
            levels[i].size = size
        else:
            # Plain loops, not memmove: the few levels above a change near the end move
            # faster inline than through a library call.
            for j in range(i, side.count - 1):
                levels[j] = levels[j + 1]
            side.count -= 1
            if side.count * 4 < side.capacity:
                _shrink(side)
    elif size:
        if side.count == side.capacity:
            _reserve(side, side.count + 1)
            levels = side.levels
        j = side.count
        while j > i:
            levels[j] = levels[j - 1]
            j -= 1
        levels[i].key = key
        levels[i].size = size
        side.count += 1
    return 0


cdef inline int64_t _array_best(const Side* side) noexcept:
    return side.levels[side.count - 1].key if side.count else INT64_MIN


cdef int _flush(Side* side) except -1:
    """Move every window level to the array, whose best end it extends; raises (MemoryError)
    with nothing moved."""
    cdef Py_ssize_t word, slot
    cdef uint64_t occupied
    cdef Level* level
    if not side.in_window:
        return 0
    _reserve(side, side.count + side.in_window)
    level = side.levels + side.count
    for word in range(WINDOW_WORDS):
        occupied = side.bits[word]
        while occupied:
            slot = (word << 6) + _ctz(occupied)
            level.key = _slot_key(side, slot)
            level.size = side.window[slot]
            side.window[slot] = 0
            level += 1
            occupied &= occupied - 1
        side.bits[word] = 0
    side.count += side.in_window
    side.in_window = 0
    return 0


cdef void _pull(Side* side, int64_t key) noexcept:
    """Place the empty window so ``key`` (at least every array key) sits HEADROOM slots below
    its top, and move the array levels it covers into it."""
    cdef Py_ssize_t slot, i = side.count
    if key < INT64_MIN + (WINDOW - HEADROOM - 1):
        side.lo = INT64_MIN
    else:
        side.lo = key - (WINDOW - HEADROOM - 1)
    while i and side.levels[i - 1].key >= side.lo:
        i -= 1
        slot = <Py_ssize_t>(<uint64_t>side.levels[i].key - <uint64_t>side.lo)
        side.window[slot] = side.levels[i].size
        side.bits[slot >> 6] |= ONE << (slot & 63)
    side.in_window = side.count - i
    side.best = side.levels[side.count - 1].key if side.in_window else INT64_MIN
    side.count = i
    _shrink(side)


cdef void _open_window(Side* side) noexcept:
    """Give the side its window (nothing happens when the memory is not there)."""
    cdef char* block = <char*>PyMem_Calloc(1, WINDOW * sizeof(int64_t) + WINDOW_WORDS * 8)
    if block == NULL:
        return
    side.window = <int64_t*>block
    side.bits = <uint64_t*>(block + WINDOW * sizeof(int64_t))
    side.span = WINDOW
    _pull(side, _array_best(side))


cdef void _close_window(Side* side) noexcept:
    """Put every level back in the array and free the window (kept when that fails)."""
    if side.span == 0:
        return
    try:
        _flush(side)
    except MemoryError:
        return
    PyMem_Free(side.window)
    side.window, side.bits, side.span = NULL, NULL, 0
    side.best = _array_best(side)


cdef void _free_side(Side* side) noexcept:
    PyMem_Free(side.levels)
    PyMem_Free(side.window)
    side.levels, side.window, side.bits = NULL, NULL, NULL
    side.count = side.capacity = side.span = side.in_window = 0
    side.best = INT64_MIN


cdef void _settle(Side* side) noexcept:
    """After the array changed wholesale: open or close the window to suit the level count,
    and re-anchor it on the best level."""
    if side.span:
        if side.count + side.in_window < WINDOW_UNTIL:
            _close_window(side)
            return
        try:
            _flush(side)
        except MemoryError:
            return
        _pull(side, _array_best(side))
    else:
        side.best = _array_best(side)
        if side.count >= WINDOW_FROM:
            _open_window(side)


cdef void _best_deleted(Side* side, Py_ssize_t slot) noexcept:
    """The best level (window ``slot``) is gone: find the next one."""
    slot = _below(side.bits, slot - 1)
    if slot >= 0:
        side.best = _slot_key(side, slot)
    elif side.count + side.in_window < WINDOW_UNTIL:
        _close_window(side)
    elif side.count:
        _pull(side, side.levels[side.count - 1].key)
    else:
        side.best = INT64_MIN


cdef inline int64_t _key(int64_t side, int64_t price) noexcept:
    """The sort key of ``price`` on ``side`` (0 or 1), without a branch on the side."""
    return (price ^ -side) + side


cdef inline int _set(Side* side, int64_t key, int64_t size) except -1:
    """Set the size of ``key`` (0 deletes; deleting a missing level does nothing)."""
    cdef uint64_t slot = <uint64_t>key - <uint64_t>side.lo, mask
    cdef int64_t old, best
    cdef bint present = size != 0
    if slot < <uint64_t>side.span:
        # Without branches: whether a level comes, stays or goes is a coin toss to the CPU.
        # The one branch left, a delete of the best level, is rare.
        old = side.window[slot]
        side.window[slot] = size
        mask = ONE << (slot & 63)
        side.bits[slot >> 6] = (side.bits[slot >> 6] & ~mask) | (mask & -<uint64_t>present)
        side.in_window += present - (old != 0)
        best = side.best
        side.best = key if present & (key > best) else best
        if (not present) & (key == best):
            _best_deleted(side, <Py_ssize_t>slot)
        return 0
    return _set_outside(side, key, size)


cdef int _set_outside(Side* side, int64_t key, int64_t size) except -1:
    if side.span == 0:
        _array_set(side, key, size)
        side.best = _array_best(side)
        if side.count >= WINDOW_FROM:
            _open_window(side)
        return 0
    if key > side.lo or not side.in_window:
        # Above the window (so above every level), or the side is empty: a delete finds no
        # level; a new level becomes the best and the window moves to it.
        if not size:
            return 0
        _flush(side)
        _pull(side, key)
        return _set(side, key, size)
    return _array_set(side, key, size)  # below the window: the best is unchanged


cdef struct Cursor:
    # Walks a side from its best level: the next window slot to look at (or below), then the
    # next array index; -1 when that part is done.
    Py_ssize_t slot
    Py_ssize_t index


cdef inline void _start(const Side* side, Cursor* cursor) noexcept:
    cursor.slot = (<Py_ssize_t>(<uint64_t>side.best - <uint64_t>side.lo)
                   if side.span and side.in_window else -1)
    cursor.index = side.count - 1


cdef inline bint _next(const Side* side, Cursor* cursor, int64_t* key, int64_t* size) noexcept:
    """The next level from the best outwards into ``key`` and ``size``; False when done."""
    cdef Py_ssize_t slot
    if cursor.slot >= 0:
        slot = _below(side.bits, cursor.slot)
        if slot >= 0:
            key[0], size[0] = _slot_key(side, slot), side.window[slot]
            cursor.slot = slot - 1
            return True
        cursor.slot = -1
    if cursor.index >= 0:
        key[0], size[0] = side.levels[cursor.index].key, side.levels[cursor.index].size
        cursor.index -= 1
        return True
    return False


cdef inline Py_ssize_t _count(const Side* side) noexcept:
    return side.count + side.in_window


cdef int64_t _size_of(const Side* side, int64_t key) noexcept:
    cdef uint64_t slot = <uint64_t>key - <uint64_t>side.lo
    cdef Py_ssize_t i
    if slot < <uint64_t>side.span:
        return side.window[slot]
    i = _locate(side.levels, side.count, key)
    return side.levels[i].size if i < side.count and side.levels[i].key == key else 0


cdef int _compare_levels(const void* a, const void* b) noexcept nogil:
    cdef int64_t x = (<const Level*>a).key, y = (<const Level*>b).key
    return (x > y) - (x < y)


cdef int _build_side(Side* side, const int64_t* prices, Py_ssize_t price_stride,
                     const int64_t* sizes, Py_ssize_t size_stride, Py_ssize_t length,
                     int which, str name) except -1:
    """Fill ``side`` (empty, owned by the caller) from validated-or-not snapshot arrays."""
    cdef Py_ssize_t i, kept = 0
    cdef int64_t price, size, sign = 1 if which == C_BID else -1
    cdef bint ascending = True, descending = True
    for i in range(length):
        price, size = prices[i * price_stride], sizes[i * size_stride]
        if price <= 0:
            raise BookError(f"{name}_prices[{i}]: {price!r} is not positive")
        if size < 0:
            raise BookError(f"{name}_sizes[{i}]: {size!r} is negative")
        if i:
            ascending = ascending and prices[(i - 1) * price_stride] < price
            descending = descending and prices[(i - 1) * price_stride] > price
    if not ascending and not descending:
        _check_duplicates(prices, price_stride, length, name)
    for i in range(length):
        if sizes[i * size_stride]:
            kept += 1
    _reserve(side, kept if kept > MIN_CAPACITY else MIN_CAPACITY)
    for i in range(length):
        size = sizes[i * size_stride]
        if size:
            side.levels[side.count].key = sign * prices[i * price_stride]
            side.levels[side.count].size = size
            side.count += 1
    # Venues send sorted snapshots: keys come out ascending (done) or descending (reversed).
    if (ascending and which == C_ASK) or (descending and not ascending and which == C_BID):
        _reverse(side)
    elif not ascending and not descending:
        qsort(side.levels, side.count, sizeof(Level), _compare_levels)
    return 0


cdef int _check_duplicates(const int64_t* prices, Py_ssize_t stride, Py_ssize_t length,
                           str name) except -1:
    """Raise for the first price (in input order) seen before; only for unsorted input."""
    cdef Py_ssize_t i
    seen = set()
    for i in range(length):
        price = prices[i * stride]
        if price in seen:
            raise BookError(f"{name}_prices[{i}]: {price!r} appears twice")
        seen.add(price)
    return 0


cdef void _reverse(Side* side) noexcept:
    cdef Py_ssize_t i = 0, j = side.count - 1
    cdef Level swap
    while i < j:
        swap = side.levels[i]
        side.levels[i] = side.levels[j]
        side.levels[j] = swap
        i += 1
        j -= 1


cdef object _uint128_to_int(uint128 value):
    return (<object>(<uint64_t>(value >> 64)) << 64) | <object>(<uint64_t>value)


cdef Py_ssize_t _copy_top(const Side* side, int which, int64_t* prices, Py_ssize_t price_stride,
                          int64_t* sizes, Py_ssize_t size_stride, Py_ssize_t n) noexcept:
    cdef Cursor cursor
    cdef Py_ssize_t taken = 0
    cdef int64_t key, size, sign = 1 if which == C_BID else -1
    _start(side, &cursor)
    while taken < n and _next(side, &cursor, &key, &size):
        prices[taken * price_stride] = sign * key
        sizes[taken * size_stride] = size
        taken += 1
    return taken


cdef inline int _apply(L2Book book, object side, object price, object size) except -1:
    cdef int64_t s, p, z
    if book._stale:
        raise BookError(STALE_MESSAGE)
    s = _integer(side, "side")
    if <uint64_t>s > 1:
        raise BookError(f"side: {s!r} is not BID (0) or ASK (1)")
    p = _integer(price, "price")
    if p <= 0:
        raise BookError(f"price: {p!r} is not positive")
    z = _integer(size, "size")
    if z < 0:
        raise BookError(f"size: {z!r} is negative")
    return _set(&book._sides[s], _key(s, p), z)


cdef inline object _best_prices(L2Book book):
    # Callers poll after every change while the touch rarely moves: the tuple of the last
    # poll is returned again while both keys are the same.
    cdef int64_t bid = book._sides[C_BID].best, ask = book._sides[C_ASK].best
    if (book._best_cache is not None and bid == book._cache_keys[C_BID]
            and ask == book._cache_keys[C_ASK]):
        return book._best_cache
    book._best_cache = (bid if bid != INT64_MIN else None, -ask if ask != INT64_MIN else None)
    book._cache_keys[C_BID], book._cache_keys[C_ASK] = bid, ask
    return book._best_cache


cdef class L2Book:
    """Price levels of one venue's book for one instrument; see liqframe._core.book.L2Book."""

    def __cinit__(self):
        self._sequence = INT64_MIN
        self._stale = False
        self._bridging = False
        self._sides[C_BID].best = self._sides[C_ASK].best = INT64_MIN

    def __dealloc__(self):
        _free_side(&self._sides[C_BID])
        _free_side(&self._sides[C_ASK])

    # -- changes (C level, also the contract in _book.pxd) --------------------------------

    cdef int set_level(self, int side, int64_t price, int64_t size) except -1:
        if self._stale:
            raise BookError(STALE_MESSAGE)
        _check_level(side, price, size, "side", "price", "size")
        return _set(&self._sides[side], price if side == C_BID else -price, size)

    cdef int apply_views(self, const int64_t[:] sides, const int64_t[:] prices,
                         const int64_t[:] sizes) except -1:
        _same_length(prices.shape[0], "prices", sides.shape[0], "sides")
        _same_length(sizes.shape[0], "sizes", sides.shape[0], "sides")
        return self.apply_changes(
            &sides[0] if sides.shape[0] else NULL, sides.strides[0] // sizeof(int64_t),
            &prices[0] if sides.shape[0] else NULL, prices.strides[0] // sizeof(int64_t),
            &sizes[0] if sides.shape[0] else NULL, sizes.strides[0] // sizeof(int64_t),
            sides.shape[0], INT64_MIN, INT64_MIN, INT64_MIN)

    cdef int apply_changes(self, const int64_t* sides, Py_ssize_t side_stride,
                           const int64_t* prices, Py_ssize_t price_stride,
                           const int64_t* sizes, Py_ssize_t size_stride, Py_ssize_t count,
                           int64_t first, int64_t last, int64_t previous) except -1:
        """Validate all changes, check the sequence, then apply: 1 applied, 0 dropped."""
        cdef Py_ssize_t i
        cdef int64_t side, price, size
        cdef bint bad = False
        if self._stale:
            raise BookError(STALE_MESSAGE)
        # One branch-free pass to see whether any change is bad, a second to name it.
        for i in range(count):
            bad |= ((<uint64_t>sides[i * side_stride] > 1) | (prices[i * price_stride] <= 0)
                    | (sizes[i * size_stride] < 0))
        if bad:
            for i in range(count):
                side, price = sides[i * side_stride], prices[i * price_stride]
                size = sizes[i * size_stride]
                if (side != C_BID and side != C_ASK) or price <= 0 or size < 0:
                    _check_level(side, price, size, f"sides[{i}]", f"prices[{i}]",
                                 f"sizes[{i}]")
        if not self.advance_to(first, last, previous):
            return 0
        for i in range(count):
            side = sides[i * side_stride]
            _set(&self._sides[side], _key(side, prices[i * price_stride]),
                 sizes[i * size_stride])
        return 1

    # -- changes (Python level) -----------------------------------------------------------

    def apply(self, side, price, size):
        """Set the size at ``price`` on ``side`` (BID or ASK); size 0 deletes the level."""
        _apply(self, side, price, size)

    def apply_and_best(self, side, price, size):
        """:meth:`apply`, then return :meth:`best_prices` (one call instead of two)."""
        _apply(self, side, price, size)
        return _best_prices(self)

    def apply_batch(self, sides, prices, sizes, first=NO_SEQUENCE, last=NO_SEQUENCE,
                    previous=NO_SEQUENCE):
        """Apply the changes of one message from int64 arrays; True applied, False dropped."""
        cdef Py_ssize_t n_sides, n_prices, n_sizes, s_sides, s_prices, s_sizes
        cdef const int64_t* p_sides
        cdef const int64_t* p_prices
        cdef const int64_t* p_sizes
        if self._stale:
            raise BookError(STALE_MESSAGE)
        p_sides = _int64_data(sides, "sides", &n_sides, &s_sides)
        p_prices = _int64_data(prices, "prices", &n_prices, &s_prices)
        p_sizes = _int64_data(sizes, "sizes", &n_sizes, &s_sizes)
        _same_length(n_prices, "prices", n_sides, "sides")
        _same_length(n_sizes, "sizes", n_sides, "sides")
        return self.apply_changes(p_sides, s_sides, p_prices, s_prices, p_sizes, s_sizes,
                                   n_sides, _sequence_id(first, "first"),
                                   _sequence_id(last, "last"),
                                   _sequence_id(previous, "previous")) == 1

    def apply_snapshot(self, bid_prices, bid_sizes, ask_prices, ask_sizes,
                       sequence=NO_SEQUENCE):
        """Replace the whole book with these levels (any order, zero sizes skipped)."""
        cdef Py_ssize_t n_bp, n_bs, n_ap, n_as, s_bp, s_bs, s_ap, s_as
        cdef const int64_t* bp = _int64_data(bid_prices, "bid_prices", &n_bp, &s_bp)
        cdef const int64_t* bs = _int64_data(bid_sizes, "bid_sizes", &n_bs, &s_bs)
        cdef const int64_t* ap = _int64_data(ask_prices, "ask_prices", &n_ap, &s_ap)
        cdef const int64_t* az = _int64_data(ask_sizes, "ask_sizes", &n_as, &s_as)
        cdef int64_t seq, best_bid, best_ask
        cdef Side bids, asks
        cdef int which
        _same_length(n_bs, "bid_sizes", n_bp, "bid_prices")
        _same_length(n_as, "ask_sizes", n_ap, "ask_prices")
        seq = _integer(sequence, "sequence")
        memset(&bids, 0, sizeof(Side))
        memset(&asks, 0, sizeof(Side))
        try:
            _build_side(&bids, bp, s_bp, bs, s_bs, n_bp, C_BID, "bid")
            _build_side(&asks, ap, s_ap, az, s_as, n_ap, C_ASK, "ask")
            if bids.count and asks.count:
                best_bid = bids.levels[bids.count - 1].key
                best_ask = -asks.levels[asks.count - 1].key
                if best_bid >= best_ask:
                    raise BookError(f"snapshot: crossed, best bid {best_bid} >= best ask {best_ask}")
        except BaseException:
            _free_side(&bids)
            _free_side(&asks)
            raise
        _free_side(&self._sides[C_BID])
        _free_side(&self._sides[C_ASK])
        self._sides[C_BID] = bids
        self._sides[C_ASK] = asks
        for which in range(2):
            _settle(&self._sides[which])
        self._sequence = seq
        self._stale = False
        self._bridging = seq != INT64_MIN

    def truncate(self, depth):
        """Keep only the ``depth`` best levels of each side."""
        cdef int64_t keep = _integer(depth, "depth")
        cdef Side* side
        cdef int which
        if keep < 0:
            raise BookError(f"depth: {keep!r} is negative")
        for which in range(2):
            side = &self._sides[which]
            if _count(side) > keep:
                _flush(side)
                memmove(side.levels, &side.levels[side.count - keep], keep * sizeof(Level))
                side.count = keep
                _shrink(side)
                _settle(side)

    # -- sequence numbers -----------------------------------------------------------------

    cdef int advance_to(self, int64_t first, int64_t last, int64_t previous) except -1:
        cdef int64_t sequence = self._sequence
        if self._stale:
            raise BookError(STALE_MESSAGE)
        if first == INT64_MIN:
            return 1
        if last == INT64_MIN:
            last = first
        elif last < first:
            raise BookError(f"last: {last!r} is below first {first!r}")
        if not (sequence == INT64_MIN or (previous != INT64_MIN and previous == sequence)):
            if last <= sequence:
                return 0
            if not ((self._bridging and first <= sequence + 1)
                    or (previous == INT64_MIN and first == sequence + 1)):
                self._stale = True
                if previous != INT64_MIN:
                    raise SequenceGap(
                        sequence, previous,
                        f"sequence gap: previous id {previous} does not follow the book's"
                        f" {sequence}")
                raise SequenceGap(sequence + 1, first)
        self._sequence = last
        self._bridging = False
        return 1

    def advance(self, first, last=NO_SEQUENCE, previous=NO_SEQUENCE):
        """Check a message's sequence ids; True to apply it, False to drop it (see the twin)."""
        if self._stale:
            raise BookError(STALE_MESSAGE)
        return self.advance_to(_integer(first, "first"), _sequence_id(last, "last"),
                               _sequence_id(previous, "previous")) == 1

    def mark_stale(self):
        """Mark the book stale, e.g. after a checksum mismatch; a snapshot clears it."""
        self._stale = True

    @property
    def stale(self):
        """True after a sequence gap (or mark_stale) until the next snapshot."""
        return self._stale

    @property
    def sequence(self):
        """The last applied sequence id, or None when the venue has given none yet."""
        return None if self._sequence == INT64_MIN else self._sequence

    # -- reads ----------------------------------------------------------------------------

    cdef Py_ssize_t copy_top(self, int side, int64_t* prices, int64_t* sizes,
                             Py_ssize_t n) noexcept:
        return _copy_top(&self._sides[side], side, prices, 1, sizes, 1, n)

    cdef int64_t best_price(self, int side) noexcept:
        cdef int64_t key = self._sides[side].best
        if key == INT64_MIN:
            return 0
        return key if side == C_BID else -key

    cdef int64_t best_size(self, int side) noexcept:
        cdef const Side* s = &self._sides[side]
        return _size_of(s, s.best) if s.best != INT64_MIN else 0

    @property
    def best_bid(self):
        """The highest bid price, or None when there are no bids."""
        cdef int64_t key = self._sides[C_BID].best
        return key if key != INT64_MIN else None

    @property
    def best_ask(self):
        """The lowest ask price, or None when there are no asks."""
        cdef int64_t key = self._sides[C_ASK].best
        return -key if key != INT64_MIN else None

    def best(self, side):
        """``(price, size)`` of the best level of ``side``, or None when the side is empty."""
        cdef int which = _side(side)
        if self._sides[which].best == INT64_MIN:
            return None
        return self.best_price(which), self.best_size(which)

    def best_prices(self):
        """``(best_bid, best_ask)`` in one call; an empty side gives None."""
        return _best_prices(self)

    @property
    def crossed(self):
        """True when the best bid is at or above the best ask (a venue's transient state)."""
        if self._sides[C_BID].best == INT64_MIN or self._sides[C_ASK].best == INT64_MIN:
            return False
        return self.best_price(C_BID) >= self.best_price(C_ASK)

    def count(self, side):
        """Number of levels on ``side``."""
        return _count(&self._sides[_side(side)])

    def __len__(self):
        return _count(&self._sides[C_BID]) + _count(&self._sides[C_ASK])

    def size_at(self, side, price):
        """Size resting at ``price`` on ``side``; 0 when there is no level."""
        cdef int which = _side(side)
        cdef int64_t key = _integer(price, "price")
        if which == C_ASK:
            if key == INT64_MIN:
                return 0
            key = -key
        return _size_of(&self._sides[which], key)

    def top(self, side, n):
        """The ``n`` best levels of ``side``, best first, as two int64 arrays (prices, sizes)."""
        cdef int which = _side(side)
        cdef int64_t wanted = _integer(n, "n")
        cdef cnp.npy_intp length
        cdef cnp.ndarray prices, sizes
        if wanted < 0:
            raise BookError(f"n: {wanted!r} is negative")
        length = min(wanted, _count(&self._sides[which]))
        prices = cnp.PyArray_EMPTY(1, &length, cnp.NPY_INT64, 0)
        sizes = cnp.PyArray_EMPTY(1, &length, cnp.NPY_INT64, 0)
        self.copy_top(which, <int64_t*>cnp.PyArray_DATA(prices),
                      <int64_t*>cnp.PyArray_DATA(sizes), length)
        return prices, sizes

    def top_into(self, side, prices, sizes):
        """Write the best levels of ``side`` into two int64 arrays; returns how many."""
        cdef int which = _side(side)
        cdef Py_ssize_t n_prices, n_sizes, s_prices, s_sizes
        cdef int64_t* out_prices = _writable_int64(prices, "prices", &n_prices, &s_prices)
        cdef int64_t* out_sizes = _writable_int64(sizes, "sizes", &n_sizes, &s_sizes)
        _same_length(n_sizes, "sizes", n_prices, "prices")
        return _copy_top(&self._sides[which], which, out_prices, s_prices, out_sizes, s_sizes,
                         n_prices)

    def levels(self, side):
        """All levels of ``side``, best first, as two int64 arrays (prices, sizes)."""
        return self.top(side, self.count(side))

    def depth(self, side, bps):
        """Total size on ``side`` priced within ``bps`` basis points of the mid price."""
        cdef int which = _side(side)
        cdef double band = _check_bps(bps), mid, limit
        cdef const Side* s = &self._sides[which]
        cdef Cursor cursor
        cdef int64_t key, size
        cdef uint128 total = 0
        if self._sides[C_BID].best == INT64_MIN or self._sides[C_ASK].best == INT64_MIN:
            return 0
        mid = (<double>self.best_price(C_BID) + <double>self.best_price(C_ASK)) * 0.5
        _start(s, &cursor)
        if which == C_BID:
            limit = mid * (1.0 - band / 10000.0)
            while _next(s, &cursor, &key, &size):
                if <double>key < limit:
                    break
                total += <uint64_t>size
        else:
            limit = mid * (1.0 + band / 10000.0)
            while _next(s, &cursor, &key, &size):
                if <double>(-key) > limit:
                    break
                total += <uint64_t>size
        return _uint128_to_int(total)

    def fill(self, side, size):
        """Walk ``side`` from its best level to take ``size``: returns ``(filled, cost)``."""
        cdef int which = _side(side)
        cdef int64_t wanted = _integer(size, "size"), remaining, take, key, level_size
        cdef const Side* s = &self._sides[which]
        cdef Cursor cursor
        # At most an int64 size at int64 prices: the cost is below 2**126 and fits.
        cdef uint128 cost = 0
        if wanted < 0:
            raise BookError(f"size: {wanted!r} is negative")
        remaining = wanted
        _start(s, &cursor)
        while remaining and _next(s, &cursor, &key, &level_size):
            take = remaining if remaining < level_size else level_size
            cost += <uint128><uint64_t>(key if which == C_BID else -key) * <uint64_t>take
            remaining -= take
        return wanted - remaining, _uint128_to_int(cost)

    def average_price(self, side, size):
        """Average price (ticks, as a float) of taking ``size`` from ``side``, or None."""
        filled, cost = self.fill(side, size)
        return cost / filled if filled else None

    def __repr__(self):
        return (f"L2Book(bids={_count(&self._sides[C_BID])}, "
                f"asks={_count(&self._sides[C_ASK])}, "
                f"best_bid={self.best_bid}, best_ask={self.best_ask}, "
                f"sequence={self.sequence}, stale={self._stale})")

