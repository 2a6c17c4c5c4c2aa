# cython: language_level=3
# cython: binding=False
"""One venue message's book changes as int64 columns (compiled).

Same names, behaviour and errors as the pure twin liqframe/_core/levels.py, which documents
them. Each string is read where CPython keeps it: an ASCII ``str`` holds its UTF-8 bytes in
place, so :func:`liqframe._core._fixed.parse_units` parses them without a copy, and the
columns live in numpy arrays that grow by doubling. ``columns()`` hands out views of that
storage, made once per count and kept, so a message costs no array allocation.
"""
import numpy as np

cimport numpy as cnp
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_CheckExact, PyDict_GetItem
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.long cimport PyLong_CheckExact
from cpython.object cimport PyObject, PyObject_GetItem
from cpython.sequence cimport PySequence_Fast, PySequence_Fast_GET_ITEM, PySequence_Fast_GET_SIZE
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy

from liqframe._core._book cimport L2Book
from liqframe._core._checksum cimport Checksum
from liqframe._core._consolidated cimport BookSink
from liqframe._core._fixed cimport parse_units

from liqframe.errors import InvalidValue

cnp.import_array()

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object text, Py_ssize_t* size) except NULL
    object PyUnicode_DecodeUTF8(const char* data, Py_ssize_t size, const char* errors)
    bint PyList_CheckExact(object value)
    bint PyTuple_CheckExact(object value)

BID = 0
ASK = 1
NO_SEQUENCE = -(2**63)
DROPPED, APPLIED, MISMATCH = 0, 1, 2
cdef int64_t C_NO_SEQUENCE = -9223372036854775807 - 1

cdef enum:
    # Views of the columns for each count below this are made once and kept.
    VIEWS = 64
cdef Py_ssize_t FIRST_CAPACITY = 16


cdef int check_side(object side) except -1:
    if not PyLong_CheckExact(side) or (side != 0 and side != 1):
        raise InvalidValue("side", side, "is not BID (0) or ASK (1)")
    return side


cdef int _check_decimals(str field, object value) except -1:
    if not PyLong_CheckExact(value) or not 0 <= value <= 18:
        raise ValueError(f"{field}: {value!r} must be an int from 0 to 18")
    return value


cdef int64_t _check_step(str field, object value) except -1:
    if not PyLong_CheckExact(value) or value < 1:
        raise ValueError(f"{field}: {value!r} must be a positive int")
    return value


cdef uint64_t POW10[19]
POW10[0] = 1
for _i in range(1, 19):
    POW10[_i] = POW10[_i - 1] * 10


cdef inline bint _plain(const char* data, Py_ssize_t length, int decimals,
                        int64_t* out) noexcept:
    """Parse the common form venues print, unsigned digits with an optional point and at most
    19 characters, into ``out``; False for anything else (the full parser decides)."""
    cdef uint64_t value = 0
    cdef Py_ssize_t i, places = -1
    cdef bint digits = False
    cdef char c
    if length > 19:
        return False
    for i in range(length):
        c = data[i]
        if c'0' <= c <= c'9':
            value = value * 10 + <uint64_t>(c - c'0')
            digits = True
            if places >= 0:
                places += 1
        elif c == c'.' and places < 0:
            places = 0
        else:
            return False
    if not digits:
        return False
    if places < 0:
        places = 0
    while places > decimals and value % 10 == 0:
        value //= 10
        places -= 1
    if places > decimals or value > 9223372036854775807ULL // POW10[decimals - places]:
        return False
    out[0] = <int64_t>(value * POW10[decimals - places])
    return True


cdef int64_t _units(object text, int decimals, int64_t step, str field) except? -1:
    """``text`` in units of ``step * 10**-decimals``, or the error naming ``field``."""
    cdef const char* data
    cdef Py_ssize_t length
    try:
        if isinstance(text, str):
            data = PyUnicode_AsUTF8AndSize(text, &length)
        elif isinstance(text, bytes):
            data, length = PyBytes_AS_STRING(text), PyBytes_GET_SIZE(text)
        else:
            raise TypeError(f"{field}: expected a decimal string, got {type(text).__name__}")
    except UnicodeEncodeError:  # lone surrogates: no decimal number either
        raise InvalidValue(field, text, "is not a decimal number") from None
    return span_units(data, length, decimals, step, field, text)


cdef int64_t span_units(const char* data, Py_ssize_t length, int decimals, int64_t step,
                        str field, object text) except? -1:
    """The ``length`` bytes at ``data`` in units of ``step * 10**-decimals``; ``text`` (None:
    made from the bytes when needed) words the error naming ``field``."""
    cdef int64_t units
    if not _plain(data, length, decimals, &units):
        if text is None:
            text = PyUnicode_DecodeUTF8(data, length, NULL)
        try:
            units = parse_units(<const unsigned char*>data, length, decimals, text)
        except ValueError as error:
            raise InvalidValue(field, text, str(error).removeprefix(f"{text!r} ")) from None
    if step != 1:
        if units % step:
            if text is None:
                text = PyUnicode_DecodeUTF8(data, length, NULL)
            raise InvalidValue(field, text, f"is off the grid of step {step}e-{decimals}")
        units = units // step
    return units


cdef inline int64_t _nanoseconds(object value) except? -1:
    return 0 if value is None else value


cdef inline object _item(object entry, object key, Py_ssize_t index):
    """``entry[key]``; ``index`` is ``key`` when it is a small non-negative int, else -1."""
    cdef PyObject* found
    if index >= 0:
        if PyList_CheckExact(entry) and index < PyList_GET_SIZE(entry):
            return <object>PyList_GET_ITEM(entry, index)
        if PyTuple_CheckExact(entry) and index < PyTuple_GET_SIZE(entry):
            return <object>PyTuple_GET_ITEM(entry, index)
    elif PyDict_CheckExact(entry):
        found = PyDict_GetItem(entry, key)
        if found != NULL:
            return <object>found
    return PyObject_GetItem(entry, key)


cdef inline Py_ssize_t _index_of(object key):
    if PyLong_CheckExact(key) and 0 <= key < 1 << 30:
        return key
    return -1


cdef class LevelBatch:
    """Changes of one message as int64 columns; see liqframe._core.levels.LevelBatch."""

    def __init__(self, price_decimals, size_decimals, price_step=1, size_step=1):
        self.price_decimals = _check_decimals("price_decimals", price_decimals)
        self.size_decimals = _check_decimals("size_decimals", size_decimals)
        self.price_step = _check_step("price_step", price_step)
        self.size_step = _check_step("size_step", size_step)
        self._count = 0
        self._grow(FIRST_CAPACITY)

    cdef int _grow(self, Py_ssize_t needed) except -1:
        cdef Py_ssize_t capacity = max(needed, 2 * self._capacity)
        cdef cnp.ndarray sides = np.empty(capacity, dtype=np.int64)
        cdef cnp.ndarray prices = np.empty(capacity, dtype=np.int64)
        cdef cnp.ndarray sizes = np.empty(capacity, dtype=np.int64)
        if self._count:
            memcpy(cnp.PyArray_DATA(sides), self._sides, self._count * sizeof(int64_t))
            memcpy(cnp.PyArray_DATA(prices), self._prices, self._count * sizeof(int64_t))
            memcpy(cnp.PyArray_DATA(sizes), self._sizes, self._count * sizeof(int64_t))
        self._side_array, self._price_array, self._size_array = sides, prices, sizes
        self._sides = <int64_t*>cnp.PyArray_DATA(sides)
        self._prices = <int64_t*>cnp.PyArray_DATA(prices)
        self._sizes = <int64_t*>cnp.PyArray_DATA(sizes)
        self._capacity = capacity
        self._views = [None] * min(capacity + 1, VIEWS)  # views of the old storage are void
        return 0

    @property
    def count(self):
        """Number of changes held."""
        return self._count

    def __len__(self):
        return self._count

    def clear(self):
        """Forget every change (start of a new message)."""
        self._count = 0

    cdef Py_ssize_t _append(self, object side_or_none, object entries, object side_key,
                            object sides, object price, object size) except -1:
        cdef object fast = PySequence_Fast(entries, "entries: expected a sequence of levels")
        cdef Py_ssize_t n = PySequence_Fast_GET_SIZE(fast), i, start = self._count
        cdef Py_ssize_t price_index = _index_of(price), size_index = _index_of(size)
        cdef int64_t side = 0
        cdef object entry
        if side_or_none is not None:
            side = check_side(side_or_none)
        if start + n > self._capacity:
            self._grow(start + n)
        try:
            for i in range(n):
                entry = <object>PySequence_Fast_GET_ITEM(fast, i)
                if side_or_none is None:
                    side = check_side(sides[_item(entry, side_key, _index_of(side_key))])
                self._sides[start + i] = side
                self._prices[start + i] = _units(_item(entry, price, price_index),
                                                 self.price_decimals, self.price_step, "price")
                self._sizes[start + i] = _units(_item(entry, size, size_index),
                                                self.size_decimals, self.size_step, "size")
        except BaseException:
            self._count = start
            raise
        self._count = start + n
        return n

    def add(self, side, entries, price=0, size=1):
        """Append a change on ``side`` for each of ``entries``; returns how many."""
        return self._append(side, entries, None, None, price, size)

    def add_sided(self, entries, side, sides, price, size):
        """Append a change per entry on the side ``sides[entry[side]]``; returns how many."""
        return self._append(None, entries, side, sides, price, size)

    def columns(self):
        """``(sides, prices, sizes)``: int64 views of the changes (valid until they change)."""
        cdef Py_ssize_t n = self._count
        cdef object views
        if n < VIEWS:
            views = self._views[n]
            if views is None:
                views = self._views[n] = (self._side_array[:n], self._price_array[:n],
                                          self._size_array[:n])
            return views
        return self._side_array[:n], self._price_array[:n], self._size_array[:n]

    def changes(self):
        """``[(side, price, size), ...]`` in order."""
        cdef Py_ssize_t i
        return [(self._sides[i], self._prices[i], self._sizes[i]) for i in range(self._count)]

    def levels(self, side):
        """``[(price, size), ...]`` of the changes on ``side``, in order."""
        cdef int64_t which = check_side(side)
        cdef Py_ssize_t i
        return [(self._prices[i], self._sizes[i]) for i in range(self._count)
                if self._sides[i] == which]

    def side_columns(self, side):
        """``(prices, sizes)``: new int64 arrays of the changes on ``side``, in order."""
        cdef int64_t which = check_side(side)
        cdef Py_ssize_t i, kept = 0
        prices = np.empty(self._count, dtype=np.int64)
        sizes = np.empty(self._count, dtype=np.int64)
        cdef int64_t* p = <int64_t*>cnp.PyArray_DATA(prices)
        cdef int64_t* s = <int64_t*>cnp.PyArray_DATA(sizes)
        for i in range(self._count):
            if self._sides[i] == which:
                p[kept], s[kept] = self._prices[i], self._sizes[i]
                kept += 1
        return prices[:kept].copy(), sizes[:kept].copy()

    def __repr__(self):
        return (f"LevelBatch({self.price_decimals}, {self.size_decimals}, {self.price_step}, "
                f"{self.size_step}; {self._count} changes)")


cdef class BookPipe:
    """One venue book's per-message path in one call; see liqframe._core.levels.BookPipe."""

    def __init__(self, book, LevelBatch levels, stats, symbol, sink=None, *, checksum=None,
                 depth=0, price=0, size=1):
        if not PyLong_CheckExact(depth) or depth < 0:
            raise ValueError(f"depth: {depth!r} must be a non-negative int (0: keep all)")
        self.book, self.levels, self.stats, self.symbol = book, levels, stats, symbol
        self.sink, self.checksum, self.depth = sink, checksum, depth
        self.price, self.size = price, size
        self.computed = None

    def apply(self, bids, asks, int64_t first=C_NO_SEQUENCE, int64_t last=C_NO_SEQUENCE,
              int64_t previous=C_NO_SEQUENCE, event_ns=0, received_ns=0, published=None):
        """Parse ``bids`` then ``asks`` into :attr:`levels` and apply them as one message."""
        cdef LevelBatch levels = self.levels
        levels._count = 0
        if bids:
            levels._append(0, bids, None, None, self.price, self.size)
        if asks:
            levels._append(1, asks, None, None, self.price, self.size)
        return self._run(levels, first, last, previous, event_ns, received_ns, published)

    def apply_levels(self, LevelBatch levels, int64_t first=C_NO_SEQUENCE,
                     int64_t last=C_NO_SEQUENCE, int64_t previous=C_NO_SEQUENCE, event_ns=0,
                     received_ns=0, published=None):
        """apply() for a message already parsed into ``levels``."""
        return self._run(levels, first, last, previous, event_ns, received_ns, published)

    cdef int _run(self, LevelBatch levels, int64_t first, int64_t last, int64_t previous,
                  object event_ns, object received_ns, object published) except -1:
        cdef object book = self.book, stats = self.stats, computed
        cdef bint applied
        cdef tuple columns = None
        if type(book) is L2Book:
            applied = (<L2Book>book).apply_changes(levels._sides, 1, levels._prices, 1,
                                                   levels._sizes, 1, levels._count, first,
                                                   last, previous)
        else:
            columns = levels.columns()
            applied = book.apply_batch(*columns, first, last, previous)
        if not applied:
            stats.stale_dropped += 1
            return 0
        stats.applied += 1
        if type(self.sink) is BookSink:  # straight into the consolidated book, in C
            (<BookSink>self.sink).apply(levels._sides, levels._prices, levels._sizes,
                                        levels._count, _nanoseconds(event_ns),
                                        _nanoseconds(received_ns))
        elif self.sink is not None:
            if columns is None:
                columns = levels.columns()
            self.sink(self.symbol, columns[0], columns[1], columns[2],
                      last if last != C_NO_SEQUENCE else first, event_ns, received_ns)
        if self.depth:
            book.truncate(self.depth)
        if published is None or self.checksum is None:
            return 1
        if type(self.checksum) is Checksum:
            computed = (<Checksum>self.checksum).compute(book)
        else:
            computed = self.checksum(book)
        self.computed = computed
        stats.checksums_checked += 1
        if not PyLong_CheckExact(published):
            published = int(published)
        if computed == published:
            return 1
        stats.checksum_failures += 1
        return 2
