# cython: language_level=3
# cython: binding=False
# cython: boundscheck=False, wraparound=False, cdivision=True
"""A venue's JSON frame read in place (compiled).

Same names, behaviour and errors as the pure twin liqframe/_core/frames.py, which documents
them. ``parse`` validates the whole text in one pass and records each value as a token of a
flat tape (kind, byte span, index of the token after its subtree, member count) without making
a Python object; a query walks the tape from the root, comparing object keys as bytes, and
makes only the object it returns. Prices and sizes go from their bytes straight into a
:class:`~liqframe._core._levels.LevelBatch`, so a book message costs no str, list or dict.
"""
import json
import re

from liqframe._core.frames import _plan

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItem, PyDict_Next
from cpython.long cimport PyLong_AsLongAndOverflow, PyLong_AsLongLongAndOverflow, PyLong_CheckExact
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_CheckExact, PyTuple_GET_SIZE, PyTuple_New, PyTuple_SET_ITEM
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t
from libc.string cimport memcmp, strlen

from liqframe._core._fixed cimport parse_units
from liqframe._core._levels cimport BookPipe, LevelBatch, check_side, span_units

cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX
    const char* PyUnicode_AsUTF8AndSize(object text, Py_ssize_t* size) except NULL
    object PyUnicode_DecodeUTF8(const char* data, Py_ssize_t size, const char* errors)
    bint PyUnicode_CheckExact(object value)
    bint PyBytes_CheckExact(object value)

cdef enum:
    K_OBJECT = 1
    K_ARRAY = 2
    K_STRING = 3
    K_NUMBER = 4
    K_TRUE = 5
    K_FALSE = 6
    K_NULL = 7
    MAX_DEPTH = 512
    NOT_FOUND = -1

KINDS = (None, "object", "array", "string", "number", "true", "false", "null")

cdef object _MISSING = object()
MISSING = _MISSING


cdef enum:
    SIDE_NAMES = 8

# The side names of a levels_sided call (their UTF-8 stays valid while the dict holds them).
ctypedef struct SideNames:
    Py_ssize_t count
    const char* texts[SIDE_NAMES]
    Py_ssize_t lengths[SIDE_NAMES]
    PyObject* values[SIDE_NAMES]


ctypedef struct Token:
    int32_t start   # strings: the byte after the opening quote; others: the first byte
    int32_t end     # strings: the closing quote; others: one past the last byte
    int32_t next    # index of the token after this value and everything inside it
    int32_t count   # object members or array elements
    uint8_t kind
    uint8_t flag    # strings: holds an escape; numbers: integral (no fraction, no exponent)


cdef inline bint _space(uint8_t c) noexcept:
    return c == 32 or c == 10 or c == 13 or c == 9


cdef inline bint _digit(uint8_t c) noexcept:
    return 48 <= c <= 57


cdef inline int _hex(uint8_t c) noexcept:
    return (48 <= c <= 57) or (65 <= c <= 70) or (97 <= c <= 102)


cdef Py_ssize_t _utf8(const uint8_t* s, Py_ssize_t i, Py_ssize_t n) noexcept:
    """Length of the valid UTF-8 sequence at ``s[i]`` (a byte >= 0x80), or 0."""
    cdef uint8_t c = s[i], c1
    cdef Py_ssize_t need
    if 0xC2 <= c <= 0xDF:
        need = 1
    elif 0xE0 <= c <= 0xEF:
        need = 2
    elif 0xF0 <= c <= 0xF4:
        need = 3
    else:
        return 0
    if i + need >= n:
        return 0
    c1 = s[i + 1]
    if c == 0xE0 and c1 < 0xA0 or c == 0xED and c1 > 0x9F:  # overlong; surrogates
        return 0
    if c == 0xF0 and c1 < 0x90 or c == 0xF4 and c1 > 0x8F:  # overlong; above U+10FFFF
        return 0
    for k in range(1, need + 1):
        if s[i + k] & 0xC0 != 0x80:
            return 0
    return need + 1


cdef extern from *:
    """
    #include <string.h>
    #include <stdint.h>
    /* Eight bytes at once: the index of the first that needs a look (a quote, a backslash,
       a control character or a non-ASCII byte), 8 when none does. The classic
       has-zero-byte tests: a borrow only runs from a byte that matches into the bytes after
       it, so the lowest byte they report is exact. */
    static inline int liqframe_first_special(const unsigned char* p) {
        uint64_t w;
        memcpy(&w, p, 8);
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);  /* the first byte lowest, as the borrows need */
    #endif
        const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
        uint64_t q = w ^ (ones * 0x22), b = w ^ (ones * 0x5C);
        uint64_t found = (((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w) | w)
                         & high;
        return found ? __builtin_ctzll(found) >> 3 : 8;
    }
    """
    int liqframe_first_special(const uint8_t* p) noexcept nogil


cdef inline bint _same(const uint8_t* text, const char* key, Py_ssize_t length) noexcept:
    """The ``length`` bytes at ``text`` are those at ``key`` (keys are short: a loop beats a
    call to memcmp)."""
    cdef Py_ssize_t i
    for i in range(length):
        if text[i] != <uint8_t>key[i]:
            return False
    return True


cdef inline Py_ssize_t _plain_run(const uint8_t* s, Py_ssize_t i, Py_ssize_t n) noexcept:
    """Skip the string bytes from ``s[i]`` that need no look, eight at a time."""
    cdef int plain
    while i + 8 <= n:
        plain = liqframe_first_special(s + i)
        i += plain
        if plain < 8:
            return i
    while i < n and 32 <= s[i] < 128 and s[i] != 34 and s[i] != 92:
        i += 1
    return i


# -- fields: (path, kind, default) -------------------------------------------------------

cdef enum:
    F_DECIMAL = 0
    F_TEXT = 1
    F_INTEGER = 2
    F_LENGTH = 3


cdef int _kind_code(object kind, int* decimals) except -1:
    """The reader a field's kind names; an int kind's places in ``decimals`` (-1 when out
    of range, refused once a value is found, as :meth:`Frame.decimal` does)."""
    cdef long places
    cdef int overflow = 0
    if PyLong_CheckExact(kind):
        places = PyLong_AsLongAndOverflow(kind, &overflow)
        decimals[0] = places if overflow == 0 and 0 <= places <= 18 else -1
        return F_DECIMAL
    if kind is _TEXT or kind == _TEXT:  # the literals are interned: mostly the same object
        return F_TEXT
    if kind is _INTEGER_KIND or kind == _INTEGER_KIND:
        return F_INTEGER
    if kind is _LENGTH or kind == _LENGTH:
        return F_LENGTH
    raise ValueError(f"fields: kind {kind!r} is not 'text', 'integer', 'length' or a number "
                     "of decimals")


cdef str _TEXT = "text", _INTEGER_KIND = "integer", _LENGTH = "length"


cdef tuple _spec(object spec):
    if not PyTuple_CheckExact(spec) or PyTuple_GET_SIZE(spec) != 3:
        raise TypeError(f"fields: a field is (path, kind, default), not {spec!r}")
    return <tuple>spec


# One step of a path as a plan keeps it: a key's UTF-8 (the plan holds the key) or an index.
ctypedef struct Step:
    const char* name    # NULL for an index
    Py_ssize_t value    # the key's length, or the index
    PyObject* key


# One path of a plan: ``count`` steps from ``first``; count -1 for None (nothing to read).
ctypedef struct Walk:
    Py_ssize_t first, count


cdef enum:
    # The walks of a plan: its five fields, then these, then one per condition of ``when``.
    P_BIDS = 5
    P_ASKS = 6
    P_KEY = 7
    P_ENTRIES = 8
    P_WHEN = 9


cdef class UpdatePlan:
    """Where a venue's book update keeps what Frame.apply_update needs; see
    liqframe._core.frames.UpdatePlan. Its paths are kept as C steps, walked without touching
    a Python object."""

    cdef readonly tuple when, key, entries, fields, bids, asks
    cdef tuple _texts   # the UTF-8 of each text of ``when``
    cdef int codes[5]   # what _kind_code makes of each field's kind
    cdef int decimals[5]
    cdef int64_t ids[3]  # the sequence ids' defaults, when id_given (an int of 64 bits)
    cdef bint id_given[3]
    cdef Step* steps
    cdef Walk* walks

    def __cinit__(self):
        self.steps, self.walks = NULL, NULL

    def __dealloc__(self):
        PyMem_Free(self.steps)
        PyMem_Free(self.walks)

    def __init__(self, when, key, entries, fields, bids, asks):
        self.when, self.key, self.entries, self.fields, self.bids, self.asks = _plan(
            when, key, entries, fields, bids, asks)
        self._texts = tuple(text.encode("utf-8", "surrogatepass") for _, text in self.when)
        for k in range(5):
            self.codes[k] = _kind_code(self.fields[k][1], &self.decimals[k])
        for k in range(3):
            default = self.fields[k][2]
            self.id_given[k] = PyLong_CheckExact(default) and -2**63 <= default < 2**63
            if self.id_given[k]:
                self.ids[k] = default
        self._compile([spec[0] for spec in self.fields] + [self.bids, self.asks, self.key,
                                                           self.entries]
                      + [path for path, _ in self.when])

    cdef int _compile(self, list paths) except -1:
        cdef Py_ssize_t total = sum(len(path) for path in paths if path is not None), n = 0
        cdef long long index
        cdef int overflow
        PyMem_Free(self.steps)
        PyMem_Free(self.walks)
        self.steps = <Step*>PyMem_Malloc(max(total, 1) * sizeof(Step))
        self.walks = <Walk*>PyMem_Malloc(len(paths) * sizeof(Walk))
        if self.steps == NULL or self.walks == NULL:
            raise MemoryError()
        for w, path in enumerate(paths):
            self.walks[w].first, self.walks[w].count = n, -1 if path is None else len(path)
            for step in path or ():
                self.steps[n].key = <PyObject*>step
                if PyUnicode_CheckExact(step):
                    self.steps[n].name = PyUnicode_AsUTF8AndSize(step, &self.steps[n].value)
                else:  # an int (_plan checked): one too large is never in range
                    index = PyLong_AsLongLongAndOverflow(step, &overflow)
                    self.steps[n].name = NULL
                    self.steps[n].value = PY_SSIZE_T_MAX if overflow else <Py_ssize_t>index
                n += 1
        return 0

    def __repr__(self):
        return (f"UpdatePlan({self.when!r}, {self.key!r}, {self.entries!r}, {self.fields!r}, "
                f"{self.bids!r}, {self.asks!r})")


cdef class Frame:
    """One JSON frame, parsed once and read by path; see liqframe._core.frames.Frame."""

    cdef Token* tokens
    cdef Py_ssize_t capacity, used
    cdef object data        # keeps the bytes the tokens point into alive
    cdef const uint8_t* raw
    cdef bint parsed

    def __cinit__(self):
        self.tokens = NULL
        self.capacity = self.used = 0
        self.parsed = False

    def __dealloc__(self):
        PyMem_Free(self.tokens)

    # -- parsing ---------------------------------------------------------------------------

    def parse(self, data):
        """Read ``data`` (str or UTF-8 bytes), a whole JSON text; raises
        json.JSONDecodeError (a ValueError) where it is not valid JSON."""
        self._parse(data)

    cdef int _parse(self, object data) except -1:
        cdef Py_ssize_t length
        cdef const char* raw
        self.parsed = False
        self.used = 0
        if PyUnicode_CheckExact(data) or isinstance(data, str):
            raw = PyUnicode_AsUTF8AndSize(data, &length)
        elif PyBytes_CheckExact(data) or isinstance(data, bytes):
            raw, length = PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data)
        else:
            raise TypeError(f"frame: expected str or bytes, got {type(data).__name__}")
        if length > 0x7FFFFFF0:
            raise ValueError("frame: longer than 2 GiB")
        self.data, self.raw = data, <const uint8_t*>raw
        self._scan(length, not isinstance(data, str))
        self.parsed = True
        return 0

    cdef int _reserve(self) except -1:
        cdef Py_ssize_t capacity
        cdef Token* grown
        if self.used < self.capacity:
            return 0
        capacity = max(64, 2 * self.capacity)
        grown = <Token*>PyMem_Realloc(self.tokens, capacity * sizeof(Token))
        if grown == NULL:
            raise MemoryError()
        self.tokens, self.capacity = grown, capacity
        return 0

    cdef int _fail(self, str problem, Py_ssize_t at) except -1:
        doc = self.data if isinstance(self.data, str) else \
            bytes(self.data).decode("utf-8", "replace")
        raise json.JSONDecodeError(problem, doc, at)

    cdef int _scan(self, Py_ssize_t n, bint check_utf8) except -1:
        cdef const uint8_t* s = self.raw
        cdef Py_ssize_t i = 0, t, k
        cdef int32_t stack[MAX_DEPTH]
        cdef int depth = 0
        cdef uint8_t c
        cdef Token* token
        cdef bint key = False   # the string about to be read is an object key
        cdef const char* word
        cdef Py_ssize_t size
        while True:
            # -- a value (or, after '{' or ',', an object key) starts at s[i] ---------------
            while i < n and _space(s[i]):
                i += 1
            if i >= n:
                return self._fail("Expecting value", i)
            c = s[i]
            if self.used == self.capacity:
                self._reserve()
            t = self.used
            token = &self.tokens[t]
            token.count = 0
            token.flag = 0
            if key and c != 34:
                return self._fail("Expecting property name enclosed in double quotes", i)
            if c == 34:  # '"'
                token.kind = K_STRING
                i += 1
                token.start = <int32_t>i
                while True:
                    i = _plain_run(s, i, n)
                    if i >= n:
                        return self._fail("Unterminated string", token.start - 1)
                    c = s[i]
                    if c == 34:
                        break
                    if c == 92:  # backslash
                        token.flag = 1
                        if i + 1 >= n:
                            return self._fail("Unterminated string", token.start - 1)
                        c = s[i + 1]
                        if c == 117:  # \uXXXX
                            if i + 5 >= n or not (_hex(s[i + 2]) and _hex(s[i + 3])
                                                  and _hex(s[i + 4]) and _hex(s[i + 5])):
                                return self._fail("Invalid \\uXXXX escape", i)
                            i += 6
                        elif c in b'"\\/bfnrt':
                            i += 2
                        else:
                            return self._fail("Invalid \\escape", i)
                    elif c < 32:
                        return self._fail("Invalid control character", i)
                    elif c < 128 or not check_utf8:
                        i += 1
                    else:
                        k = _utf8(s, i, n)
                        if k == 0:
                            return self._fail("Invalid UTF-8", i)
                        i += k
                token.end = <int32_t>i
                i += 1
                self.used = t + 1
                token.next = <int32_t>(t + 1)
                if key:
                    key = False
                    while i < n and _space(s[i]):
                        i += 1
                    if i >= n or s[i] != 58:  # ':'
                        return self._fail("Expecting ':' delimiter", i)
                    i += 1
                    continue
            elif c == 123 or c == 91:  # '{' '['
                if depth >= MAX_DEPTH:
                    return self._fail("Nested too deeply", i)
                token.kind = K_OBJECT if c == 123 else K_ARRAY
                token.start = <int32_t>i
                self.used = t + 1
                stack[depth] = <int32_t>t
                depth += 1
                i += 1
                while i < n and _space(s[i]):
                    i += 1
                if i < n and s[i] == (125 if c == 123 else 93):  # empty
                    depth -= 1
                    token.end = <int32_t>(i + 1)
                    token.next = <int32_t>(t + 1)
                    i += 1
                else:
                    key = c == 123
                    continue
            elif c == 45 or _digit(c):  # number
                token.kind = K_NUMBER
                token.start = <int32_t>i
                token.flag = 1
                if c == 45:
                    i += 1
                if i < n and s[i] == 48:
                    i += 1
                elif i < n and _digit(s[i]):
                    while i < n and _digit(s[i]):
                        i += 1
                else:
                    return self._fail("Expecting value", token.start)
                if i < n and s[i] == 46:  # '.'
                    token.flag = 0
                    i += 1
                    if i >= n or not _digit(s[i]):
                        return self._fail("Expecting digits after the point", i)
                    while i < n and _digit(s[i]):
                        i += 1
                if i < n and (s[i] == 101 or s[i] == 69):  # 'e' 'E'
                    token.flag = 0
                    i += 1
                    if i < n and (s[i] == 43 or s[i] == 45):
                        i += 1
                    if i >= n or not _digit(s[i]):
                        return self._fail("Expecting exponent digits", i)
                    while i < n and _digit(s[i]):
                        i += 1
                token.end = <int32_t>i
                self.used = t + 1
                token.next = <int32_t>(t + 1)
            elif c == 116 or c == 102 or c == 110:  # true, false, null
                if c == 116:
                    token.kind, word = K_TRUE, b"true"
                elif c == 102:
                    token.kind, word = K_FALSE, b"false"
                else:
                    token.kind, word = K_NULL, b"null"
                size = strlen(word)
                if i + size > n or memcmp(s + i, word, size) != 0:
                    return self._fail("Expecting value", i)
                token.start, token.end = <int32_t>i, <int32_t>(i + size)
                i += size
                self.used = t + 1
                token.next = <int32_t>(t + 1)
            else:
                return self._fail("Expecting value", i)
            # -- a value ended: close containers, or find the next member -----------------
            while True:
                while i < n and _space(s[i]):
                    i += 1
                if depth == 0:
                    if i != n:
                        return self._fail("Extra data", i)
                    return 0
                token = &self.tokens[stack[depth - 1]]
                token.count += 1
                if i >= n:
                    return self._fail("Unterminated " + ("object" if token.kind == K_OBJECT
                                                         else "array"), token.start)
                c = s[i]
                if c == 44:  # ','
                    i += 1
                    key = token.kind == K_OBJECT
                    break
                if c == (125 if token.kind == K_OBJECT else 93):
                    i += 1
                    token.end = <int32_t>i
                    token.next = <int32_t>self.used
                    depth -= 1
                    continue
                return self._fail("Expecting ',' delimiter", i)

    # -- finding values ----------------------------------------------------------------------

    cdef Py_ssize_t _member(self, Py_ssize_t at, object key) except -2:
        """Tape index of the value of ``key`` in the object at ``at`` (the last one when a
        key repeats, as json.loads keeps), or NOT_FOUND."""
        cdef Py_ssize_t length
        cdef const char* name = PyUnicode_AsUTF8AndSize(key, &length)
        return self._member_utf8(at, name, length, key)

    cdef Py_ssize_t _member_utf8(self, Py_ssize_t at, const char* name, Py_ssize_t length,
                                 object key) except -2:
        """:meth:`_member` of ``key``, whose UTF-8 is the ``length`` bytes at ``name``."""
        cdef Py_ssize_t j, m, found = NOT_FOUND
        cdef Token* k
        j = at + 1
        for m in range(self.tokens[at].count):
            k = &self.tokens[j]
            if k.flag:
                if self._string(j) == key:
                    found = j + 1
            elif k.end - k.start == length and _same(self.raw + k.start, name, length):
                found = j + 1
            j = self.tokens[j + 1].next
        return found

    cdef Py_ssize_t _find(self, tuple path) except -2:
        return self._find_from(0, path)

    cdef Py_ssize_t _find_from(self, Py_ssize_t at, tuple path) except -2:
        """Tape index of the value at ``path`` from the value at ``at``, or NOT_FOUND."""
        cdef Py_ssize_t count
        cdef long long index
        cdef int overflow
        cdef object step
        if not self.parsed:
            raise ValueError("frame: nothing parsed (parse failed or was never called)")
        for step in path:
            if PyUnicode_CheckExact(step):
                if self.tokens[at].kind != K_OBJECT:
                    return NOT_FOUND
                at = self._member(at, step)
                if at == NOT_FOUND:
                    return NOT_FOUND
            elif PyLong_CheckExact(step):
                if self.tokens[at].kind != K_ARRAY:
                    return NOT_FOUND
                index = PyLong_AsLongLongAndOverflow(step, &overflow)
                count = self.tokens[at].count
                if overflow or not -count <= index < count:
                    return NOT_FOUND
                at = self._find_in(at, <Py_ssize_t>index)
            else:
                raise TypeError(f"path {path!r}: a step must be a str key or an int index, "
                                f"not {type(step).__name__}")
        return at

    cdef Py_ssize_t _walk(self, Py_ssize_t at, UpdatePlan plan, Py_ssize_t w) except -2:
        """:meth:`_find_from` of the plan's path ``w`` (not None)."""
        cdef Walk* walk = &plan.walks[w]
        cdef Step* step
        cdef Py_ssize_t k, count
        for k in range(walk.count):
            step = &plan.steps[walk.first + k]
            if step.name != NULL:
                if self.tokens[at].kind != K_OBJECT:
                    return NOT_FOUND
                at = self._member_utf8(at, step.name, step.value, <object>step.key)
                if at == NOT_FOUND:
                    return NOT_FOUND
            else:
                count = self.tokens[at].count
                if self.tokens[at].kind != K_ARRAY or not -count <= step.value < count:
                    return NOT_FOUND
                at = self._find_in(at, step.value)
        return at

    cdef Py_ssize_t _need(self, tuple path, object default) except -2:
        cdef Py_ssize_t at = self._find(path)
        if at == NOT_FOUND and default is _MISSING:
            raise KeyError(path)
        return at

    cdef object _string(self, Py_ssize_t at):
        cdef Token* token = &self.tokens[at]
        if token.flag:  # escapes: json decodes them exactly as the pure twin does
            return json.loads(PyUnicode_DecodeUTF8(<const char*>self.raw + token.start - 1,
                                                   token.end - token.start + 2, NULL))
        return PyUnicode_DecodeUTF8(<const char*>self.raw + token.start,
                                    token.end - token.start, NULL)

    cdef object _span(self, Py_ssize_t at):
        cdef Token* token = &self.tokens[at]
        return PyUnicode_DecodeUTF8(<const char*>self.raw + token.start,
                                    token.end - token.start, NULL)

    # -- queries -----------------------------------------------------------------------------

    def kind(self, tuple path=()):
        """"object", "array", "string", "number", "true", "false" or "null"; None if absent."""
        cdef Py_ssize_t at = self._find(path)
        return None if at == NOT_FOUND else KINDS[self.tokens[at].kind]

    def has(self, tuple path):
        """True when ``path`` leads to a value."""
        return self._find(path) != NOT_FOUND

    def length(self, tuple path=(), default=_MISSING):
        """Members of the object or elements of the array at ``path``; ``default`` (else
        KeyError) when absent."""
        cdef Py_ssize_t at = self._need(path, default)
        return default if at == NOT_FOUND else self._length_at(at, path)

    def text(self, tuple path, default=_MISSING):
        """The string at ``path``; ``default`` (else KeyError) when absent."""
        cdef Py_ssize_t at = self._need(path, default)
        return default if at == NOT_FOUND else self._text_at(at, path)

    def integer(self, tuple path, default=_MISSING):
        """The integer at ``path``, a JSON integer or a string of digits with an optional
        minus, within 64 bits; ``default`` (else KeyError) when absent."""
        cdef Py_ssize_t at = self._need(path, default)
        return default if at == NOT_FOUND else self._integer_at(at, path)

    def decimal(self, tuple path, int decimals, default=_MISSING):
        """The number at ``path`` (a JSON number or a decimal string) times
        ``10**decimals``, exactly (:func:`liqframe.core.to_units`); ``default`` (else KeyError)
        when absent."""
        cdef Py_ssize_t at = self._need(path, default)
        return default if at == NOT_FOUND else self._decimal_at(at, path, decimals, decimals)

    def fields(self, tuple specs):
        """A tuple of one value per ``(path, kind, default)`` of ``specs``: kind "text",
        "integer" or "length" reads as that method does, an int kind is :meth:`decimal`'s
        places; a path of None is not read (its value is ``default``)."""
        cdef Py_ssize_t count = len(specs), k
        cdef tuple spec, values = PyTuple_New(count)
        cdef object value
        cdef int decimals, code
        for k in range(count):
            spec = _spec(specs[k])
            code = _kind_code(spec[1], &decimals)
            value = spec[2] if spec[0] is None else \
                self._field_at(self._find(spec[0]), spec, code, decimals)
            Py_INCREF(value)
            PyTuple_SET_ITEM(values, k, value)
        return values

    cdef object _plan_field(self, Py_ssize_t base, UpdatePlan plan, Py_ssize_t k):
        """The plan's ``k``-th field, read from the value at ``base``."""
        if plan.walks[k].count < 0:
            return plan.fields[k][2]
        return self._field_at(self._walk(base, plan, k), plan.fields[k], plan.codes[k],
                              plan.decimals[k])

    cdef object _field_at(self, Py_ssize_t at, tuple spec, int code, int decimals):
        """The value of field ``spec``, whose path found ``at`` (maybe NOT_FOUND): ``code``
        and ``decimals`` are what :func:`_kind_code` makes of its kind."""
        cdef object path = spec[0], default = spec[2]
        if at == NOT_FOUND:
            if default is _MISSING:
                raise KeyError(path)
            return default
        if code == F_DECIMAL:
            return self._decimal_at(at, path, decimals, spec[1])
        if code == F_TEXT:
            return self._text_at(at, path)
        if code == F_INTEGER:
            return self._integer_at(at, path)
        return self._length_at(at, path)

    cdef object _length_at(self, Py_ssize_t at, tuple path):
        if self.tokens[at].kind != K_OBJECT and self.tokens[at].kind != K_ARRAY:
            raise TypeError(f"{path!r}: not an object or array")
        return self.tokens[at].count

    cdef object _text_at(self, Py_ssize_t at, tuple path):
        if self.tokens[at].kind != K_STRING:
            raise TypeError(f"{path!r}: expected a string, got {KINDS[self.tokens[at].kind]}")
        return self._string(at)

    cdef int64_t _integer_at(self, Py_ssize_t at, tuple path) except? -1:
        """:meth:`integer` of the value at ``at``."""
        cdef Token* token = &self.tokens[at]
        cdef const uint8_t* s
        cdef Py_ssize_t i, end
        cdef bint negative
        cdef uint64_t value = 0, limit
        if token.kind == K_NUMBER:
            if not token.flag:
                raise ValueError(f"{path!r}: {self._span(at)} is not an integer")
        elif token.kind == K_STRING:
            if token.flag:
                return _integer_text(self._string(at), path)
        else:
            raise TypeError(f"{path!r}: expected an integer, got {KINDS[token.kind]}")
        s, i, end = self.raw, token.start, token.end
        negative = i < end and s[i] == 45
        if negative:
            i += 1
        if i == end:
            raise ValueError(f"{path!r}: {self._span(at)!r} is not an integer")
        limit = 9223372036854775808ULL if negative else 9223372036854775807ULL
        while i < end:
            if not _digit(s[i]):
                raise ValueError(f"{path!r}: {self._span(at)!r} is not an integer")
            if value > (limit - (s[i] - 48)) // 10:
                raise ValueError(f"{path!r}: {self._span(at)} is outside 64 bits")
            value = value * 10 + (s[i] - 48)
            i += 1
        if negative:
            return -<int64_t>(value - 1) - 1
        return <int64_t>value

    cdef object _decimal_at(self, Py_ssize_t at, tuple path, int decimals, object places):
        """:meth:`decimal` of the value at ``at``; ``places`` is ``decimals`` as given (it
        names it in the error when ``decimals`` is out of range)."""
        cdef Token* token = &self.tokens[at]
        cdef const char* data
        cdef Py_ssize_t length
        if token.kind != K_STRING and token.kind != K_NUMBER:
            raise TypeError(f"{path!r}: expected a number, got {KINDS[token.kind]}")
        if not 0 <= decimals <= 18:
            raise ValueError(f"decimals must be between 0 and 18, got {places}")
        if token.flag and token.kind == K_STRING:  # escapes: read the decoded text
            text = self._string(at)
            data = PyUnicode_AsUTF8AndSize(text, &length)
            return parse_units(<const uint8_t*>data, length, decimals, text)
        try:  # the text is only made to word an error
            return parse_units(self.raw + token.start, token.end - token.start, decimals, None)
        except ValueError:
            return parse_units(self.raw + token.start, token.end - token.start, decimals,
                               self._span(at))

    def value(self, tuple path=(), default=_MISSING):
        """The value at ``path`` as json.loads makes it; ``default`` (else KeyError) when
        absent."""
        cdef Py_ssize_t at = self._need(path, default)
        return default if at == NOT_FOUND else self.value_at(at)

    # -- book levels -------------------------------------------------------------------------

    cdef Py_ssize_t _entry_field(self, Py_ssize_t entry, object field, str name) except -1:
        """Tape index of ``field`` (an index or a key) of the level entry at ``entry``."""
        cdef Token* token = &self.tokens[entry]
        cdef Py_ssize_t at
        if token.kind == K_ARRAY:
            if not PyLong_CheckExact(field):
                raise TypeError(f"{name}: a level array needs an int index, not {field!r}")
            at = self._find_in(entry, field)
            if at == NOT_FOUND:
                raise IndexError(f"{name}: a level has no element {field!r}")
        elif token.kind == K_OBJECT:
            if not PyUnicode_CheckExact(field):
                raise KeyError(field)
            at = self._member(entry, field)
            if at == NOT_FOUND:
                raise KeyError(field)
        else:
            raise TypeError(f"{name}: a level must be an array or an object, got "
                            f"{KINDS[token.kind]}")
        return at

    cdef Py_ssize_t _find_in(self, Py_ssize_t array, Py_ssize_t index) noexcept:
        cdef Py_ssize_t count = self.tokens[array].count, j
        if index < 0:
            index += count
        if not 0 <= index < count:
            return NOT_FOUND
        j = array + 1
        while index:
            j = self.tokens[j].next
            index -= 1
        return j

    cdef int64_t _units(self, Py_ssize_t at, int decimals, int64_t step, str field) except? -1:
        cdef Token* token = &self.tokens[at]
        if token.kind == K_STRING and not token.flag or token.kind == K_NUMBER:
            return span_units(<const char*>self.raw + token.start, token.end - token.start,
                              decimals, step, field, None)
        cdef Py_ssize_t length
        cdef const char* data
        if token.kind == K_STRING:
            text = self._string(at)
            data = PyUnicode_AsUTF8AndSize(text, &length)
            return span_units(data, length, decimals, step, field, text)
        raise TypeError(f"{field}: expected a decimal string, got "
                        f"{_PY_TYPES[token.kind]}")

    cdef Py_ssize_t _levels(self, tuple path, LevelBatch batch, object side, object side_key,
                            dict sides, object price, object size) except -1:
        return self._levels_at(self._need(path, _MISSING), path, batch, side, side_key, sides,
                               price, size)

    cdef Py_ssize_t _levels_at(self, Py_ssize_t at, tuple path, LevelBatch batch, object side,
                               object side_key, dict sides, object price,
                               object size) except -1:
        cdef Py_ssize_t entry, n, m, start = batch._count
        cdef Py_ssize_t field_at
        cdef int64_t fixed_side = 0
        cdef Token* token
        cdef PyObject* found
        if self.tokens[at].kind != K_ARRAY:
            raise TypeError(f"{path!r}: expected an array of levels, got "
                            f"{KINDS[self.tokens[at].kind]}")
        n = self.tokens[at].count
        cdef SideNames names
        names.count = -1
        if side is not None:
            fixed_side = check_side(side)
        else:
            _side_names(sides, &names)
        if start + n > batch._capacity:
            batch._grow(start + n)
        entry = at + 1
        try:
            for m in range(n):
                if side is None:
                    field_at = self._entry_field(entry, side_key, "side")
                    token = &self.tokens[field_at]
                    if token.kind == K_OBJECT or token.kind == K_ARRAY:
                        raise TypeError(f"side: a level's side must be a string, got "
                                        f"{KINDS[token.kind]}")
                    batch._sides[start + m] = self._side(field_at, sides, &names)
                else:
                    batch._sides[start + m] = fixed_side
                batch._prices[start + m] = self._units(
                    self._entry_field(entry, price, "price"), batch.price_decimals,
                    batch.price_step, "price")
                batch._sizes[start + m] = self._units(
                    self._entry_field(entry, size, "size"), batch.size_decimals,
                    batch.size_step, "size")
                entry = self.tokens[entry].next
        except BaseException:
            batch._count = start
            raise
        batch._count = start + n
        return n

    cdef int64_t _side(self, Py_ssize_t at, dict sides, SideNames* names) except -1:
        """``sides[level side]`` for the side value at ``at``."""
        cdef Token* token = &self.tokens[at]
        cdef Py_ssize_t length = token.end - token.start, k
        if token.kind == K_STRING and not token.flag and names.count >= 0:
            for k in range(names.count):  # found without making the str
                if names.lengths[k] == length and \
                        memcmp(names.texts[k], self.raw + token.start, length) == 0:
                    return check_side(<object>names.values[k])
            raise KeyError(self._string(at))
        if token.kind == K_OBJECT or token.kind == K_ARRAY:
            raise TypeError(f"side: a level's side must be a string, got {KINDS[token.kind]}")
        # A number is looked up by its text, as the pure twin's str-like numbers.
        return check_side(sides[self._span(at) if token.kind == K_NUMBER
                                 else self.value_at(at)])

    cdef object value_at(self, Py_ssize_t at):
        if self.tokens[at].kind == K_STRING:
            return self._string(at)
        return json.loads(self._span(at))

    def levels(self, tuple path, LevelBatch batch, side, price=0, size=1):
        """Append the array of levels at ``path`` to ``batch`` on ``side``, each level's price
        and size at ``price`` and ``size`` (indexes of an array, keys of an object); returns
        how many (the batch is left as it was when a level raises)."""
        return self._levels(path, batch, side, None, None, price, size)

    def sides(self, LevelBatch batch, bids, asks, price=0, size=1):
        """:meth:`levels` of the bids at path ``bids``, then of the asks at ``asks``; a path
        that is None or leads nowhere is skipped. Returns how many (all or none)."""
        return self._sides(0, batch, bids, asks, price, size)

    cdef Py_ssize_t _sides(self, Py_ssize_t base, LevelBatch batch, object bids, object asks,
                           object price, object size) except -1:
        cdef Py_ssize_t start = batch._count, at, count = 0
        try:
            if bids is not None:
                at = self._find_from(base, bids)
                if at != NOT_FOUND:
                    count += self._levels_at(at, bids, batch, 0, None, None, price, size)
            if asks is not None:
                at = self._find_from(base, asks)
                if at != NOT_FOUND:
                    count += self._levels_at(at, asks, batch, 1, None, None, price, size)
        except BaseException:
            batch._count = start
            raise
        return count

    def apply_update(self, data, UpdatePlan plan, dict feeds, received_ns=0):
        """Parse ``data`` and, when it is a book update ``plan`` describes, apply it: see
        liqframe._core.frames.Frame.apply_update."""
        cdef Py_ssize_t at, entry = 0, k
        cdef PyObject* found
        cdef BookPipe pipe
        cdef LevelBatch levels
        cdef int64_t ids[3]
        if plan.walks == NULL:
            raise ValueError("plan: made without UpdatePlan.__init__")
        self._parse(data)
        for k in range(len(plan.when)):
            at = self._walk(0, plan, P_WHEN + k)
            if at == NOT_FOUND or not self._is_text(at, plan._texts[k], plan.when[k][1]):
                return None
        at = self._walk(0, plan, P_KEY)
        if at == NOT_FOUND or self.tokens[at].kind != K_STRING:
            return None
        found = PyDict_GetItem(feeds, self._string(at))
        if found == NULL or not (<object>found).synced:
            return None
        if plan.entries is not None:
            at = self._walk(0, plan, P_ENTRIES)
            if at == NOT_FOUND or self.tokens[at].kind != K_ARRAY or self.tokens[at].count != 1:
                return None
            entry = at + 1
        pipe = (<object>found).pipe
        for k in range(3):
            ids[k] = self._sequence(entry, plan, k)
        event_ns = self._plan_field(entry, plan, 3)
        published = self._plan_field(entry, plan, 4)
        levels = pipe.levels
        levels._count = 0
        try:
            for k in range(2):  # bids, then asks
                if plan.walks[P_BIDS + k].count >= 0:
                    at = self._walk(entry, plan, P_BIDS + k)
                    if at != NOT_FOUND:
                        self._levels_at(at, plan.asks if k else plan.bids, levels, k, None,
                                        None, pipe.price, pipe.size)
        except BaseException:
            levels._count = 0
            raise
        return pipe._run(levels, ids[0], ids[1], ids[2], event_ns, received_ns, published)

    cdef int64_t _sequence(self, Py_ssize_t base, UpdatePlan plan, int k) except? -1:
        """The ``k``-th field of ``plan`` (a sequence id) from the value at ``base``, read
        straight to an int64 when it is an integer (no int object made)."""
        cdef tuple spec = plan.fields[k]
        cdef Py_ssize_t at = NOT_FOUND
        if plan.codes[k] != F_INTEGER:
            return self._plan_field(base, plan, k)
        if plan.walks[k].count >= 0:
            at = self._walk(base, plan, k)
            if at != NOT_FOUND:
                return self._integer_at(at, spec[0])
            if spec[2] is _MISSING:
                raise KeyError(spec[0])
        return plan.ids[k] if plan.id_given[k] else spec[2]

    cdef bint _is_text(self, Py_ssize_t at, bytes utf8, str text) except -1:
        """True when the value at ``at`` is the string ``text`` (``utf8`` its UTF-8)."""
        cdef Token* token = &self.tokens[at]
        cdef Py_ssize_t length = PyBytes_GET_SIZE(utf8)
        if token.kind != K_STRING:
            return False
        if token.flag:  # escapes: compare what they decode to
            return self._string(at) == text
        return token.end - token.start == length and \
            _same(self.raw + token.start, PyBytes_AS_STRING(utf8), length)

    def levels_sided(self, tuple path, LevelBatch batch, side, dict sides, price, size):
        """:meth:`levels` where each level's side is ``sides[level[side]]``."""
        return self._levels(path, batch, None, side, sides, price, size)


cdef int _side_names(dict sides, SideNames* names) except -1:
    """Fill ``names`` with the str keys of ``sides`` and their values; ``count`` -1
    when the dict is too large or has another key (each side is then looked up in it)."""
    cdef Py_ssize_t position = 0, k = 0
    cdef PyObject* key
    cdef PyObject* value
    names.count = -1
    if len(sides) > SIDE_NAMES:
        return 0
    while PyDict_Next(sides, &position, &key, &value):
        if not PyUnicode_CheckExact(<object>key):
            return 0
        names.texts[k] = PyUnicode_AsUTF8AndSize(<object>key, &names.lengths[k])
        names.values[k] = value
        k += 1
    names.count = k
    return 0


_PY_TYPES = (None, "dict", "list", "str", "number", "bool", "bool", "NoneType")


_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)


def _integer_text(text, path):
    if _INTEGER.fullmatch(text) is None:
        raise ValueError(f"{path!r}: {text!r} is not an integer")
    value = int(text)
    if not -2**63 <= value < 2**63:
        raise ValueError(f"{path!r}: {text} is outside 64 bits")
    return value
