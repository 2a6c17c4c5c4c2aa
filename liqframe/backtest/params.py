"""Checks for the numeric parameters of the backtest models and quoting formulas.

Each check raises :class:`~liqframe.errors.InvalidValue` naming the parameter, so a bad
``--gamma`` or strategy option is reported as such rather than as a NaN further down.
"""

import math
from decimal import Decimal

from liqframe.errors import InvalidValue


def number(name, value, *, minimum=None, above=None):
    """``value`` as a finite float, at least ``minimum`` or strictly above ``above``."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise InvalidValue(name, value, "must be a number")
    try:
        result = float(value)
    except ValueError:
        raise InvalidValue(name, value, "is not a number") from None
    if not math.isfinite(result):
        raise InvalidValue(name, value, "must be a finite number")
    if minimum is not None and result < minimum:
        raise InvalidValue(name, value, f"must be at least {minimum}")
    if above is not None and result <= above:
        raise InvalidValue(name, value, f"must be greater than {above}")
    return result


def integer(name, value, *, minimum):
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(name, value, "must be an integer")
    if value < minimum:
        raise InvalidValue(name, value, f"must be at least {minimum}")
    return value


def log_term(gamma, k):
    """``ln(1 + γ/k) / γ``, the spread-from-order-flow term, with its limit ``1/k`` at γ = 0."""
    return math.log1p(gamma / k) / gamma if gamma else 1.0 / k
