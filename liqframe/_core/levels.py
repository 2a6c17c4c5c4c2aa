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


NO_SEQUENCE = -(2**63)
#: What :meth:`BookPipe.apply` returns: the message was dropped as already in the book,
#: applied, or applied and the venue's checksum did not match (see :attr:`BookPipe.computed`).
DROPPED, APPLIED, MISMATCH = 0, 1, 2


class BookPipe:
    """One venue book's whole per-message path in one call (a connector's hot path).

    :meth:`apply` parses a message's bid and ask entries into :attr:`levels` (a
    :class:`LevelBatch`, entries read at ``price``/``size``), applies them to ``book`` as one
    message under its sequence ids (:meth:`~liqframe._core.book.L2Book.apply_batch`), counts
    it in ``stats`` (``applied`` or ``stale_dropped``), hands the columns to ``sink(symbol,
    sides, prices, sizes, sequence, event_ns, received_ns)`` (views valid during the call;
    ``sequence`` is ``last``, else ``first``), keeps the ``depth`` best levels when ``depth``
    is set (venues that do not delete levels pushed below their depth), and, when the venue
    published a checksum, compares it with ``checksum(book)`` (``checksums_checked``,
    ``checksum_failures``). Errors of the parse (nothing applied) and of the book
    (SequenceGap: the book is stale) propagate. The compiled twin does all of it in C,
    calling Python only for the sink (and for a checksum or book that is not compiled).
    """

    __slots__ = ("book", "levels", "stats", "symbol", "sink", "checksum", "depth", "price",
                 "size", "computed")

    def __init__(self, book, levels, stats, symbol, sink=None, *, checksum=None, depth=0,
                 price=0, size=1):
        if type(depth) is not int or depth < 0:
            raise ValueError(f"depth: {depth!r} must be a non-negative int (0: keep all)")
        self.book, self.levels, self.stats, self.symbol = book, levels, stats, symbol
        self.sink, self.checksum, self.depth = sink, checksum, depth
        self.price, self.size = price, size
        #: The checksum computed for the last message that was checked.
        self.computed = None

    def apply(self, bids, asks, first=NO_SEQUENCE, last=NO_SEQUENCE, previous=NO_SEQUENCE,
              event_ns=0, received_ns=0, published=None):
        """Parse ``bids`` then ``asks`` (either may be None) into :attr:`levels` and apply
        them as one message; returns DROPPED, APPLIED or MISMATCH."""
        levels = self.levels
        levels.clear()
        if bids:
            levels.add(BID, bids, self.price, self.size)
        if asks:
            levels.add(ASK, asks, self.price, self.size)
        return self.apply_levels(levels, first, last, previous, event_ns, received_ns,
                                 published)

    def apply_levels(self, levels, first=NO_SEQUENCE, last=NO_SEQUENCE, previous=NO_SEQUENCE,
                     event_ns=0, received_ns=0, published=None):
        """:meth:`apply` for a message already parsed into ``levels``."""
        book, stats = self.book, self.stats
        sides, prices, sizes = levels.columns()
        if not book.apply_batch(sides, prices, sizes, first, last, previous):
            stats.stale_dropped += 1
            return DROPPED
        stats.applied += 1
        if self.sink is not None:
            self.sink(self.symbol, sides, prices, sizes,
                      last if last != NO_SEQUENCE else first, event_ns, received_ns)
        if self.depth:
            book.truncate(self.depth)
        if published is None or self.checksum is None:
            return APPLIED
        self.computed = computed = self.checksum(book)
        stats.checksums_checked += 1
        if computed == (published if type(published) is int else int(published)):
            return APPLIED
        stats.checksum_failures += 1
        return MISMATCH
