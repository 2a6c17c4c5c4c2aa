# Integer conversion shared by the compiled core: inline, so it costs nothing to share.
from cpython.long cimport PyLong_AsLongLong, PyLong_CheckExact
from cpython.number cimport PyNumber_Index
from libc.stdint cimport int32_t, int64_t


cdef inline int64_t _int(object value) except? -1:
    """An int64 from an int or anything with ``__index__`` (numpy integers), never from a
    float: Cython's own conversion would truncate 100.5 to 100 without a word."""
    if PyLong_CheckExact(value):
        return PyLong_AsLongLong(value)
    return PyLong_AsLongLong(PyNumber_Index(value))


cdef inline int32_t _int32(object value, str field) except? -1:
    """An int32 from an integer, refusing what would be truncated."""
    cdef int64_t wide = _int(value)
    if wide < -2147483648 or wide > 2147483647:
        raise OverflowError(f"{field} {wide} is out of the int32 range")
    return <int32_t>wide
