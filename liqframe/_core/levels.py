"""One venue message's book changes as int64 columns, parsed from the venue's strings (pure twin).

Venues send each level as a small array or object of decimal strings (``["5541.30000",
"2.507", "1534614248.45"]``, ``{"price_level": "0.2", "new_quantity": "10"}``). A
:class:`LevelBatch` turns the decoded JSON entries of one message into three int64 columns
(side, price in ticks, size in lots) in one call per side, exactly (never through float), so
that the book takes them in one :meth:`~liqframe._core.book.L2Book.apply_batch`. A connector
keeps one batch per book and clears it for each message.

The compiled twin ``liqframe._core._levels`` reads each string's ASCII buffer in a C loop; both
raise the same errors: :class:`~liqframe.errors.InvalidValue` naming the field (``price`` or
``size``) for text that is not a decimal number, has more places than the increment, is out of
the 64-bit range or is off the increment's grid, and :class:`TypeError` naming the field for a
value that is not a string. A batch that raises is left as it was before the call.
"""

import numpy as np

from liqframe._core.fixed import to_units
from liqframe.errors import InvalidValue

BID, ASK = 0, 1


def _units(text, decimals, step, field):
    """``text`` in units of ``step * 10**-decimals``, or the error naming ``field``."""
    if not isinstance(text, str | bytes):
        raise TypeError(f"{field}: expected a decimal string, got {type(text).__name__}")
    try:
        units = to_units(text, decimals)
    except ValueError as error:
        raise InvalidValue(field, text, str(error).removeprefix(f"{text!r} ")) from None
    if step != 1:
        units, remainder = divmod(units, step)
        if remainder:
            raise InvalidValue(field, text, f"is off the grid of step {step}e-{decimals}")
    return units


def _check_side(side):
    if type(side) is not int or side not in (BID, ASK):
        raise InvalidValue("side", side, "is not BID (0) or ASK (1)")
    return side


class LevelBatch:
    """Changes of one message, parsed at ``price_decimals``/``size_decimals`` places and
    counted in steps of ``price_step``/``size_step`` units of those places (an increment of
    ``0.5`` is decimals 1, step 5).

    ``add(side, entries, price=0, size=1)`` appends one change per entry, the price and size
    read as ``entry[price]`` and ``entry[size]`` (indexes of a JSON array or keys of a JSON
    object); ``add_sided(entries, side, sides, price, size)`` reads each entry's side as
    ``sides[entry[side]]`` (Coinbase's ``"bid"``/``"offer"``). The changes keep their order.
    """

    __slots__ = ("price_decimals", "size_decimals", "price_step", "size_step", "_sides",
                 "_prices", "_sizes")

    def __init__(self, price_decimals, size_decimals, price_step=1, size_step=1):
        for field, value in (("price_decimals", price_decimals),
                             ("size_decimals", size_decimals)):
            if type(value) is not int or not 0 <= value <= 18:
                raise ValueError(f"{field}: {value!r} must be an int from 0 to 18")
        for field, value in (("price_step", price_step), ("size_step", size_step)):
            if type(value) is not int or value < 1:
                raise ValueError(f"{field}: {value!r} must be a positive int")
        self.price_decimals, self.size_decimals = price_decimals, size_decimals
        self.price_step, self.size_step = price_step, size_step
        self._sides, self._prices, self._sizes = [], [], []

    @property
    def count(self):
        """Number of changes held."""
        return len(self._sides)

    def __len__(self):
        return len(self._sides)

    def clear(self):
        """Forget every change (start of a new message)."""
        self._sides.clear()
        self._prices.clear()
        self._sizes.clear()

    def _parsed(self, entry, price, size):
        return (_units(entry[price], self.price_decimals, self.price_step, "price"),
                _units(entry[size], self.size_decimals, self.size_step, "size"))

    def add(self, side, entries, price=0, size=1):
        """Append a change on ``side`` for each of ``entries``; returns how many."""
        _check_side(side)
        parsed = [self._parsed(entry, price, size) for entry in entries]
        self._sides += [side] * len(parsed)
        self._prices += [p for p, _ in parsed]
        self._sizes += [s for _, s in parsed]
        return len(parsed)

    def add_sided(self, entries, side, sides, price, size):
        """Append a change per entry on the side ``sides[entry[side]]``; returns how many."""
        parsed = [(_check_side(sides[entry[side]]), *self._parsed(entry, price, size))
                  for entry in entries]
        self._sides += [s for s, _, _ in parsed]
        self._prices += [p for _, p, _ in parsed]
        self._sizes += [s for _, _, s in parsed]
        return len(parsed)

    def columns(self):
        """``(sides, prices, sizes)``: int64 arrays of the changes, for
        :meth:`L2Book.apply_batch`. Read them before the batch changes again (the compiled
        twin hands out views of its own storage)."""
        return (np.array(self._sides, dtype=np.int64), np.array(self._prices, dtype=np.int64),
                np.array(self._sizes, dtype=np.int64))

    def changes(self):
        """``[(side, price, size), ...]`` in order."""
        return list(zip(self._sides, self._prices, self._sizes, strict=True))

    def levels(self, side):
        """``[(price, size), ...]`` of the changes on ``side``, in order (a snapshot's side)."""
        _check_side(side)
        return [(p, s) for k, p, s in zip(self._sides, self._prices, self._sizes, strict=True)
                if k == side]

    def side_columns(self, side):
        """``(prices, sizes)``: new int64 arrays of the changes on ``side``, in order."""
        levels = self.levels(side)
        return (np.array([p for p, _ in levels], dtype=np.int64),
                np.array([s for _, s in levels], dtype=np.int64))

    def __repr__(self):
        return (f"LevelBatch({self.price_decimals}, {self.size_decimals}, {self.price_step}, "
                f"{self.size_step}; {len(self)} changes)")
