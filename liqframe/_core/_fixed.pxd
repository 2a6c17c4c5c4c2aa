# Contract of the compiled fixed-point parser; the pure twin is liqframe/_core/fixed.py.
from libc.stdint cimport int64_t

cdef int64_t parse_units(const unsigned char* data, Py_ssize_t length, int decimals,
                         object text) except? -1
cpdef int64_t to_units(object text, int decimals) except? -1
cpdef str from_units(int64_t units, int decimals)
