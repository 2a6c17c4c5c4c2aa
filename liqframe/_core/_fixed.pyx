# cython: language_level=3
"""Decimal strings to fixed-point integers and back, never through float (compiled).

Same behaviour and errors as the pure twin liqframe/_core/fixed.py, which documents it.
"""
from libc.stdint cimport int64_t, uint64_t
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE

cdef long EXPONENT_CAP = 100000
MAX_DECIMALS = 18
cdef uint64_t INT64_MAX = 9223372036854775807ULL
cdef uint64_t POW10[20]
POW10[0] = 1
for _i in range(1, 20):
    POW10[_i] = POW10[_i - 1] * 10


cdef inline int _check_decimals(int decimals) except -1:
    if decimals < 0 or decimals > MAX_DECIMALS:
        raise ValueError(f"decimals must be between 0 and {MAX_DECIMALS}, got {decimals}")
    return 0


cdef int64_t parse_units(const unsigned char* data, Py_ssize_t length, int decimals,
                         object text) except? -1:
    """Parse ``length`` ASCII bytes; ``text`` is only used to word the error."""
    cdef Py_ssize_t i = 0
    cdef bint negative = False
    cdef uint64_t mant = 0
    cdef uint64_t step
    cdef long zeros = 0, fraction_len = 0, exponent = 0, shift
    cdef bint overflow = False, in_fraction = False, seen_digit = False
    cdef bint exp_negative = False
    cdef unsigned char c
    if length > 0 and (data[0] == c'+' or data[0] == c'-'):
        negative = data[0] == c'-'
        i = 1
    while i < length:
        c = data[i]
        if c'0' <= c <= c'9':
            seen_digit = True
            if in_fraction:
                fraction_len += 1
            if c == c'0':
                if mant != 0:  # leading zeros carry no value
                    zeros += 1
            else:
                if not overflow:
                    if zeros >= 19:
                        overflow = True
                    else:
                        step = POW10[zeros + 1]
                        if mant > (0xFFFFFFFFFFFFFFFFULL - (c - c'0')) // step:
                            overflow = True
                        else:
                            mant = mant * step + (c - c'0')
                if overflow and mant == 0:
                    mant = 1  # only "non-zero" matters once the value has overflowed
                zeros = 0
        elif c == c'.' and not in_fraction:
            in_fraction = True
        else:
            break
        i += 1
    if not seen_digit:
        raise ValueError(f"{text!r} is not a decimal number")
    if i < length:
        if data[i] != c'e' and data[i] != c'E':
            raise ValueError(f"{text!r} is not a decimal number")
        i += 1
        if i < length and (data[i] == c'+' or data[i] == c'-'):
            exp_negative = data[i] == c'-'
            i += 1
        if i >= length:
            raise ValueError(f"{text!r} is not a decimal number")
        while i < length:
            c = data[i]
            if not (c'0' <= c <= c'9'):
                raise ValueError(f"{text!r} is not a decimal number")
            if exponent < EXPONENT_CAP:
                exponent = exponent * 10 + (c - c'0')
            i += 1
        if exponent > EXPONENT_CAP:
            exponent = EXPONENT_CAP
        if exp_negative:
            exponent = -exponent
    if mant == 0:
        return 0
    shift = exponent - fraction_len + decimals + zeros
    if shift < 0:
        raise ValueError(f"{text!r} has more than {decimals} decimal places")
    if overflow or shift > 19 or mant > INT64_MAX // POW10[shift]:
        raise ValueError(f"{text!r} is out of the 64-bit range at {decimals} decimal places")
    mant *= POW10[shift]
    return -<int64_t>mant if negative else <int64_t>mant


cpdef int64_t to_units(object text, int decimals) except? -1:
    """Return ``text`` (a decimal str or ASCII bytes) times ``10**decimals`` as an int."""
    cdef bytes raw
    _check_decimals(decimals)
    if isinstance(text, str):
        raw = (<str>text).encode("utf-8", "surrogatepass")
    elif isinstance(text, bytes):
        raw = <bytes>text
    elif isinstance(text, bytearray):
        raw = bytes(text)
    else:
        raise TypeError(f"expected a decimal string, got {type(text).__name__}")
    return parse_units(<const unsigned char*>PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw),
                       decimals, text)


cpdef str from_units(int64_t units, int decimals):
    """Return the decimal string of ``units / 10**decimals`` with exactly ``decimals`` places."""
    _check_decimals(decimals)
    sign = "-" if units < 0 else ""
    digits = str(abs(<object>units))
    if decimals == 0:
        return sign + digits
    digits = digits.rjust(decimals + 1, "0")
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"
