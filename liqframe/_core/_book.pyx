# cython: language_level=3
# cython: binding=False
"""The price-level (L2) book of one venue and instrument (compiled).

Same names, behaviour and errors as the pure twin liqframe/_core/book.py, which documents
them. Each side keeps its levels (``Level``, 16 bytes) sorted by key with the best level last,
in chunks of at most 64, so that a change at any depth moves at most one chunk; a live level
costs about 16 to 64 bytes. From 64 levels on, a side also has a window of 256 directly
addressed prices around its best level (2 KB of sizes and a bitmap), which takes the changes
near the touch without searching or moving anything; see "side storage" below.

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
from cpython.mem cimport PyMem_Calloc, PyMem_Free, PyMem_Malloc, PyMem_Realloc
from libc.stdint cimport INT64_MIN, int64_t, uint64_t
from libc.stdlib cimport qsort
from libc.string cimport memcpy, memmove, memset

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
    # Below the window: chunks of at most CHUNK levels (1 KB), listed in an array that starts
    # with room for MIN_CHUNKS of them.
    CHUNK = 64
    MIN_CHUNKS = 4
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
# and delete there are a subtraction and a store), in front of the levels below the window,
# kept sorted in chunks. Nearly every venue change lands in the window. A price above the
# window, or a window emptied by deletes, re-anchors it (its levels go below it, where they
# extend the best chunk, and the levels of the new range come out of the best chunks). A
# side gets a window only from WINDOW_FROM levels on, so the window's 2 KB never costs more
# than about 32 bytes a level, and gives it up below WINDOW_UNTIL levels.
#
# Below the window, the levels are runs of at most CHUNK ascending levels, each in its own
# block, listed in order in one array that also holds each run's lowest key. A change there
# bisects that array, then one chunk, and moves at most the levels of that chunk, so its cost
# hardly grows with the level's rank: in one sorted array it moved every level between it
# and the best end (7 us a delete and insert at rank 10,000 of a Coinbase book of 19,000
# bids). A full chunk splits into halves; after a delete, two neighbouring chunks that hold
# CHUNK // 2 levels or fewer between them merge, so chunks are over a quarter full on
# average. A block grows by doubling from MIN_CAPACITY levels and halves when a quarter full:
# memory follows the level count, about 16 to 64 bytes a level as with one array.

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
    """Index of the first level of a chunk whose key is >= ``key``.

    Changes that miss the window still tend to land near its lower edge, the end of the best
    chunk. The last NEAR_LEVELS keys are compared without branching (keys >= ``key`` form a
    suffix, so their count gives the index), which avoids the mispredicted exit of a scan;
    the rest of the chunk is bisected, also without branching (a conditional move per step),
    since which half a key is in is a coin toss.
    """
    cdef Py_ssize_t base = 0, n, half, j, above = 0
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
    n = count - NEAR_LEVELS
    while n > 1:
        half = n >> 1
        base = base + half if levels[base + half].key < key else base
        n -= half
    return base + (levels[base].key < key)


cdef inline Py_ssize_t _find_chunk(const Side* side, int64_t key) noexcept:
    """The chunk where ``key`` is or belongs (the side has chunks): the last one whose lowest
    key is at most ``key``, else the first. The best chunk, where most changes below the
    window land, is tried first; the others are bisected without branching."""
    cdef const Chunk* chunks = side.chunks
    cdef Py_ssize_t base = 0, n = side.chunk_count - 1, half
    if chunks[n].low <= key:
        return n
    while n > 1:
        half = n >> 1
        base = base + half if chunks[base + half].low <= key else base
        n -= half
    return base


cdef inline Py_ssize_t _capacity_for(Py_ssize_t count) noexcept:
    cdef Py_ssize_t capacity = MIN_CAPACITY
    while capacity < count:
        capacity <<= 1
    return capacity


cdef bint _fit(Chunk* chunk, Py_ssize_t needed) noexcept:
    """Grow the chunk's block to hold ``needed`` levels (at most CHUNK); False, with the chunk
    unchanged, when the memory is not there."""
    cdef Py_ssize_t capacity
    cdef Level* grown
    if needed <= chunk.capacity:
        return True
    capacity = _capacity_for(needed)
    grown = <Level*>PyMem_Realloc(chunk.levels, capacity * sizeof(Level))
    if grown == NULL:
        return False
    chunk.levels, chunk.capacity = grown, capacity
    return True


cdef void* _halved(void* block, Py_ssize_t count, Py_ssize_t* capacity, size_t item,
                   Py_ssize_t least) noexcept:
    """``block`` (``capacity`` items) halved once under a quarter full, so memory follows the
    book; the same block when it stays or the realloc fails (keeping it is harmless)."""
    cdef void* shrunk
    if count * 4 >= capacity[0] or (capacity[0] >> 1) < least:
        return block
    shrunk = PyMem_Realloc(block, (capacity[0] >> 1) * item)
    if shrunk == NULL:
        return block
    capacity[0] >>= 1
    return shrunk


cdef inline void _shrink(Chunk* chunk) noexcept:
    chunk.levels = <Level*>_halved(chunk.levels, chunk.count, &chunk.capacity, sizeof(Level),
                                   MIN_CAPACITY)


cdef int _reserve_chunks(Side* side, Py_ssize_t needed) except -1:
    cdef Py_ssize_t capacity
    cdef Chunk* grown
    if needed <= side.chunk_capacity:
        return 0
    capacity = side.chunk_capacity * 2 if side.chunk_capacity else MIN_CHUNKS
    if capacity < needed:
        capacity = needed
    grown = <Chunk*>PyMem_Realloc(side.chunks, capacity * sizeof(Chunk))
    if grown == NULL:
        raise MemoryError()
    side.chunks, side.chunk_capacity = grown, capacity
    return 0


cdef inline void _shrink_chunks(Side* side) noexcept:
    side.chunks = <Chunk*>_halved(side.chunks, side.chunk_count, &side.chunk_capacity,
                                  sizeof(Chunk), MIN_CHUNKS)


cdef bint _give_block(Chunk* chunk, Py_ssize_t count) noexcept:
    """Make ``chunk`` empty with a block sized for ``count`` levels; False (chunk untouched)
    when the memory is not there."""
    cdef Py_ssize_t capacity = _capacity_for(count)
    cdef Level* levels = <Level*>PyMem_Malloc(capacity * sizeof(Level))
    if levels == NULL:
        return False
    chunk.levels, chunk.count, chunk.capacity, chunk.low = levels, 0, capacity, INT64_MIN
    return True


cdef int _new_chunk(Side* side, Py_ssize_t at, Py_ssize_t room) except -1:
    """Insert an empty chunk with room for ``room`` levels before chunk ``at``; raises
    (MemoryError) with nothing changed."""
    cdef Chunk made
    _reserve_chunks(side, side.chunk_count + 1)
    if not _give_block(&made, room):
        raise MemoryError()
    memmove(&side.chunks[at + 1], &side.chunks[at], (side.chunk_count - at) * sizeof(Chunk))
    side.chunks[at] = made
    side.chunk_count += 1
    return 0


cdef void _drop_chunk(Side* side, Py_ssize_t at) noexcept:
    """Free chunk ``at`` (its levels no longer counted) and close the gap."""
    PyMem_Free(side.chunks[at].levels)
    side.chunk_count -= 1
    memmove(&side.chunks[at], &side.chunks[at + 1], (side.chunk_count - at) * sizeof(Chunk))
    _shrink_chunks(side)


cdef int _split(Side* side, Py_ssize_t at) except -1:
    """Move the upper half of full chunk ``at`` to a new chunk after it; raises (MemoryError)
    with nothing changed."""
    cdef Chunk* lower
    cdef Chunk* upper
    _new_chunk(side, at + 1, CHUNK)
    lower, upper = &side.chunks[at], &side.chunks[at + 1]
    memcpy(upper.levels, lower.levels + (CHUNK - CHUNK // 2), (CHUNK // 2) * sizeof(Level))
    upper.count, lower.count = CHUNK // 2, CHUNK - CHUNK // 2
    upper.low = upper.levels[0].key
    return 0


cdef bint _merge(Side* side, Py_ssize_t at) noexcept:
    """Append chunk ``at + 1`` to chunk ``at`` and drop it; False (nothing changed) when the
    block cannot grow, which only costs memory."""
    cdef Chunk* lower = &side.chunks[at]
    cdef Chunk* upper = &side.chunks[at + 1]
    if not _fit(lower, lower.count + upper.count):
        return False
    memcpy(lower.levels + lower.count, upper.levels, upper.count * sizeof(Level))
    lower.count += upper.count
    _drop_chunk(side, at + 1)
    return True


cdef void _tidy(Side* side, Py_ssize_t at) noexcept:
    """After deletes from chunk ``at`` (not emptied): merge it with a neighbour while the two
    hold CHUNK // 2 levels or fewer, and fit its block to what it holds."""
    if (at + 1 < side.chunk_count
            and side.chunks[at].count + side.chunks[at + 1].count <= CHUNK // 2):
        _merge(side, at)
    if (at > 0 and side.chunks[at - 1].count + side.chunks[at].count <= CHUNK // 2
            and _merge(side, at - 1)):
        at -= 1
    _shrink(&side.chunks[at])


cdef int _array_set(Side* side, int64_t key, int64_t size) except -1:
    """Set ``key`` below the window (or on a side without one)."""
    cdef Py_ssize_t at, i, j
    cdef Chunk* chunk
    cdef Level* levels
    if not side.chunk_count:
        if size:
            _new_chunk(side, 0, MIN_CAPACITY)
            chunk = &side.chunks[0]
            chunk.levels[0].key, chunk.levels[0].size = key, size
            chunk.count, chunk.low = 1, key
            side.count = 1
        return 0
    at = _find_chunk(side, key)
    chunk = &side.chunks[at]
    levels = chunk.levels
    i = _locate(levels, chunk.count, key)
    if i < chunk.count and levels[i].key == key:
        if size:
            levels[i].size = size
            return 0
        # Plain loops, not memmove: the few levels above a change near a chunk's end move
        # faster inline than through a library call.
        for j in range(i, chunk.count - 1):
            levels[j] = levels[j + 1]
        chunk.count -= 1
        side.count -= 1
        if chunk.count:
            chunk.low = levels[0].key
            _tidy(side, at)
        else:
            _drop_chunk(side, at)
        return 0
    if not size:
        return 0
    if chunk.count == chunk.capacity:
        if chunk.capacity < CHUNK:
            if not _fit(chunk, chunk.count + 1):
                raise MemoryError()
        else:
            _split(side, at)
            if i > CHUNK - CHUNK // 2:
                at += 1
                i -= CHUNK - CHUNK // 2
            chunk = &side.chunks[at]
        levels = chunk.levels
    j = chunk.count
    while j > i:
        levels[j] = levels[j - 1]
        j -= 1
    levels[i].key = key
    levels[i].size = size
    chunk.count += 1
    chunk.low = levels[0].key
    side.count += 1
    return 0


cdef inline int64_t _array_best(const Side* side) noexcept:
    """The best key below the window, INT64_MIN when there is none."""
    cdef const Chunk* chunk
    if not side.chunk_count:
        return INT64_MIN
    chunk = &side.chunks[side.chunk_count - 1]
    return chunk.levels[chunk.count - 1].key


cdef int _flush(Side* side) except -1:
    """Move every window level below the window, where they fill up the best chunk and then
    new ones; raises (MemoryError) with nothing moved."""
    cdef Py_ssize_t word, slot, room = 0, fresh, left, k, at
    cdef uint64_t occupied
    cdef Chunk* chunk
    if not side.in_window:
        return 0
    if side.chunk_count:
        chunk = &side.chunks[side.chunk_count - 1]
        room = min(CHUNK - chunk.count, side.in_window)
        if not _fit(chunk, chunk.count + room):
            raise MemoryError()
    left = side.in_window - room
    fresh = (left + CHUNK - 1) // CHUNK
    _reserve_chunks(side, side.chunk_count + fresh)
    # The new chunks are made in the array's spare room and counted once all of them are.
    for k in range(fresh):
        if not _give_block(&side.chunks[side.chunk_count + k], min(left - k * CHUNK, CHUNK)):
            for at in range(k):
                PyMem_Free(side.chunks[side.chunk_count + at].levels)
            raise MemoryError()
    at = side.chunk_count - 1 if room else side.chunk_count
    side.chunk_count += fresh
    chunk = &side.chunks[at]
    for word in range(WINDOW_WORDS):
        occupied = side.bits[word]
        while occupied:
            slot = (word << 6) + _ctz(occupied)
            if chunk.count == chunk.capacity:
                at += 1
                chunk = &side.chunks[at]
            if not chunk.count:
                chunk.low = _slot_key(side, slot)
            chunk.levels[chunk.count].key = _slot_key(side, slot)
            chunk.levels[chunk.count].size = side.window[slot]
            chunk.count += 1
            side.window[slot] = 0
            occupied &= occupied - 1
        side.bits[word] = 0
    side.count += side.in_window
    side.in_window = 0
    return 0


cdef void _pull(Side* side, int64_t key) noexcept:
    """Place the empty window so ``key`` (at least every key below the window) sits HEADROOM
    slots below its top, and move the levels it covers out of the best chunks into it."""
    cdef Py_ssize_t slot, i, moved = 0
    cdef int64_t best = _array_best(side)
    cdef Chunk* chunk
    if key < INT64_MIN + (WINDOW - HEADROOM - 1):
        side.lo = INT64_MIN
    else:
        side.lo = key - (WINDOW - HEADROOM - 1)
    while side.chunk_count:
        chunk = &side.chunks[side.chunk_count - 1]
        i = chunk.count
        while i and chunk.levels[i - 1].key >= side.lo:
            i -= 1
            slot = <Py_ssize_t>(<uint64_t>chunk.levels[i].key - <uint64_t>side.lo)
            side.window[slot] = chunk.levels[i].size
            side.bits[slot >> 6] |= ONE << (slot & 63)
        moved += chunk.count - i
        chunk.count = i
        if i:
            _tidy(side, side.chunk_count - 1)
            break
        _drop_chunk(side, side.chunk_count - 1)
    side.in_window = moved
    side.count -= moved
    side.best = best if moved else INT64_MIN


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
    """Put every level below the window and free it (kept when that fails)."""
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
    cdef Py_ssize_t at
    for at in range(side.chunk_count):
        PyMem_Free(side.chunks[at].levels)
    PyMem_Free(side.chunks)
    PyMem_Free(side.window)
    side.chunks, side.window, side.bits = NULL, NULL, NULL
    side.chunk_count = side.chunk_capacity = side.count = side.span = side.in_window = 0
    side.best = INT64_MIN


cdef void _drop_lowest(Side* side, Py_ssize_t n) noexcept:
    """Delete the ``n`` lowest levels below the window (n <= count)."""
    cdef Py_ssize_t gone = 0
    cdef Chunk* first
    side.count -= n
    while gone < side.chunk_count and side.chunks[gone].count <= n:
        n -= side.chunks[gone].count
        PyMem_Free(side.chunks[gone].levels)
        gone += 1
    side.chunk_count -= gone
    memmove(side.chunks, side.chunks + gone, side.chunk_count * sizeof(Chunk))
    if n:
        first = &side.chunks[0]
        first.count -= n
        memmove(first.levels, first.levels + n, first.count * sizeof(Level))
        first.low = first.levels[0].key
    if side.chunk_count:
        _tidy(side, 0)
    _shrink_chunks(side)


cdef void _settle(Side* side) noexcept:
    """After the levels changed wholesale: open or close the window to suit the level count,
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
        _pull(side, _array_best(side))
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
    # chunk and index of the next level below the window; index -1 when that part is done.
    Py_ssize_t slot
    Py_ssize_t chunk
    Py_ssize_t index


cdef inline void _start(const Side* side, Cursor* cursor) noexcept:
    cursor.slot = (<Py_ssize_t>(<uint64_t>side.best - <uint64_t>side.lo)
                   if side.span and side.in_window else -1)
    cursor.chunk = side.chunk_count - 1
    cursor.index = side.chunks[cursor.chunk].count - 1 if side.chunk_count else -1


cdef inline bint _next(const Side* side, Cursor* cursor, int64_t* key, int64_t* size) noexcept:
    """The next level from the best outwards into ``key`` and ``size``; False when done."""
    cdef Py_ssize_t slot
    cdef const Level* level
    if cursor.slot >= 0:
        slot = _below(side.bits, cursor.slot)
        if slot >= 0:
            key[0], size[0] = _slot_key(side, slot), side.window[slot]
            cursor.slot = slot - 1
            return True
        cursor.slot = -1
    if cursor.index >= 0:
        level = &side.chunks[cursor.chunk].levels[cursor.index]
        key[0], size[0] = level.key, level.size
        cursor.index -= 1
        if cursor.index < 0 and cursor.chunk:
            cursor.chunk -= 1
            cursor.index = side.chunks[cursor.chunk].count - 1
        return True
    return False


cdef inline Py_ssize_t _count(const Side* side) noexcept:
    return side.count + side.in_window


cdef int64_t _size_of(const Side* side, int64_t key) noexcept:
    cdef uint64_t slot = <uint64_t>key - <uint64_t>side.lo
    cdef Py_ssize_t i
    cdef const Chunk* chunk
    if slot < <uint64_t>side.span:
        return side.window[slot]
    if not side.chunk_count:
        return 0
    chunk = &side.chunks[_find_chunk(side, key)]
    i = _locate(chunk.levels, chunk.count, key)
    return chunk.levels[i].size if i < chunk.count and chunk.levels[i].key == key else 0


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
    cdef Level* levels
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
    if not kept:
        return 0
    # Sorted in one array first, then cut into chunks.
    levels = <Level*>PyMem_Malloc(kept * sizeof(Level))
    if levels == NULL:
        raise MemoryError()
    try:
        kept = 0
        for i in range(length):
            size = sizes[i * size_stride]
            if size:
                levels[kept].key = sign * prices[i * price_stride]
                levels[kept].size = size
                kept += 1
        # Venues send sorted snapshots: keys come out ascending (done) or descending
        # (reversed).
        if (ascending and which == C_ASK) or (descending and not ascending and which == C_BID):
            _reverse(levels, kept)
        elif not ascending and not descending:
            qsort(levels, kept, sizeof(Level), _compare_levels)
        _cut(side, levels, kept)
    finally:
        PyMem_Free(levels)
    return 0


cdef int _cut(Side* side, const Level* levels, Py_ssize_t count) except -1:
    """Fill the empty ``side`` with ``count`` ascending levels in full chunks; raises
    (MemoryError) with what was made left to the caller to free."""
    cdef Py_ssize_t start, take
    cdef Chunk* chunk
    _reserve_chunks(side, (count + CHUNK - 1) // CHUNK)
    for start in range(0, count, CHUNK):
        take = min(CHUNK, count - start)
        chunk = &side.chunks[side.chunk_count]
        if not _give_block(chunk, take):
            raise MemoryError()
        memcpy(chunk.levels, levels + start, take * sizeof(Level))
        chunk.count, chunk.low = take, levels[start].key
        side.chunk_count += 1
        side.count += take
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


cdef void _reverse(Level* levels, Py_ssize_t count) noexcept:
    cdef Py_ssize_t i = 0, j = count - 1
    cdef Level swap
    while i < j:
        swap = levels[i]
        levels[i] = levels[j]
        levels[j] = swap
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
                best_bid = _array_best(&bids)
                best_ask = -_array_best(&asks)
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
                _drop_lowest(side, side.count - keep)
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

