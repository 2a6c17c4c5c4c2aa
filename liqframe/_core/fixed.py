"""Decimal strings to fixed-point integers and back, never through float (pure-Python twin).

``to_units("123.45", 2) == 12345``: the value times ``10**decimals``, which must be a whole
number that fits a signed 64-bit integer. Venues send prices and sizes as decimal strings
(sometimes in exponent form, as JavaScript prints small numbers: ``"7e-7"``); parsing them
straight to integers keeps every book exact.
"""

import re

MAX_DECIMALS = 18
INT64_MAX = 2**63 - 1
_DECIMAL = re.compile(rb"([+-]?)(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))(?:[eE]([+-]?[0-9]+))?")
_EXPONENT_CAP = 100_000


def _check_decimals(decimals):
    if not 0 <= decimals <= MAX_DECIMALS:
        raise ValueError(f"decimals must be between 0 and {MAX_DECIMALS}, got {decimals}")


def to_units(text, int_decimals):
    """Return ``text`` (a decimal ``str`` or ASCII ``bytes``) times ``10**decimals`` as an int.

    Raises :class:`ValueError` for text that is not a decimal number, for a value with more
    fractional digits than ``decimals`` allows, and for a result outside the signed 64-bit
    range (in that order of precedence), and :class:`TypeError` for anything but str/bytes.
    """
    decimals = int_decimals
    _check_decimals(decimals)
    if isinstance(text, str):
        raw = text.encode("utf-8", "surrogatepass")
    elif isinstance(text, bytes | bytearray):
        raw = bytes(text)
    else:
        raise TypeError(f"expected a decimal string, got {type(text).__name__}")
    match = _DECIMAL.fullmatch(raw)
    if match is None:
        raise ValueError(f"{text!r} is not a decimal number")
    sign, whole, fraction, only_fraction, exponent = match.groups()
    if only_fraction is not None:
        whole, fraction = b"", only_fraction
    fraction = fraction or b""
    digits = (whole + fraction).lstrip(b"0")
    if not digits:
        return 0
    stripped = digits.rstrip(b"0")
    zeros = len(digits) - len(stripped)
    exp = int(exponent) if exponent else 0
    exp = max(-_EXPONENT_CAP, min(_EXPONENT_CAP, exp))
    shift = exp - len(fraction) + decimals + zeros
    if shift < 0:
        raise ValueError(f"{text!r} has more than {decimals} decimal places")
    if shift > 19 or len(stripped) > 19:
        raise ValueError(f"{text!r} is out of the 64-bit range at {decimals} decimal places")
    value = int(stripped) * 10**shift
    if value > INT64_MAX:
        raise ValueError(f"{text!r} is out of the 64-bit range at {decimals} decimal places")
    return -value if sign == b"-" else value


def from_units(units, decimals):
    """Return the decimal string of ``units / 10**decimals`` with exactly ``decimals`` places."""
    _check_decimals(decimals)
    units = int(units)
    sign = "-" if units < 0 else ""
    digits = str(abs(units))
    if decimals == 0:
        return sign + digits
    digits = digits.rjust(decimals + 1, "0")
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"
