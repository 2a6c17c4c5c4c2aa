"""LOBSTER files: parse them, replay the messages through an :class:`L3Book`, and check the
rebuilt book against the file's own order-book rows.

LOBSTER (lobsterdata.com) publishes NASDAQ TotalView-ITCH as two CSV files without headers:

* the **message** file, one event per row: ``time`` (seconds after midnight, up to 9 decimals),
  ``type`` (1 submit, 2 partial cancel, 3 delete, 4 visible execution, 5 hidden execution,
  6 cross trade, 7 halt), ``order_id``, ``size``, ``price`` (dollars x 10000), ``direction``
  (1 buy order, -1 sell order);
* the **orderbook** file, row *i* being the book *after* message *i*: ``ask_px_1, ask_sz_1,
  bid_px_1, bid_sz_1, ...`` for N levels; an empty level is ask 9999999999 / bid -9999999999
  with size 0.

How a replay starts and what it compares, and why:

* No sample starts from an empty book, and messages refer to orders submitted before the file
  began. So row 0 (the book after message 0) seeds every visible level as *unattributed*
  quantity, and replay starts at message 1. An execution, cancel or delete of an order the
  file never submitted takes its size out of that level's unattributed quantity.
* A level-N file shows only N levels and carries only the events that touch them, so nothing
  is known about prices outside the window a row shows. Message *i* is therefore checked on
  the prices visible in both row *i-1* and row *i*: there the rebuilt book must equal row *i*
  exactly. A price that comes into view in row *i* (it was outside row *i-1*'s window) is
  resynchronised from row *i*: the book's level there is cleared and reseeded, and orders
  that were on it become unknown ids that later messages take out of the unattributed
  quantity.
"""

import csv
from pathlib import Path

import numpy as np

from liqframe.errors import BookError, InvalidValue, OrderError

MESSAGE_COLUMNS = ("time", "type", "order_id", "size", "price", "direction")
EMPTY_ASK = 9999999999
EMPTY_BID = -9999999999
_BOOK_EFFECT = (1, 2, 3, 4, 5)  # types whose size must be positive


def _to_nanoseconds(text):
    """Seconds after midnight with up to 9 decimals, as int nanoseconds (never through float)."""
    from liqframe.core import to_units

    return to_units(text, 9)


def _integer(where, text):
    try:
        return int(text)
    except ValueError:
        raise InvalidValue(where, text, "is not an integer") from None


def _message_row(name, number, row):
    """Validate one message row; returns (time_ns, type, id, size, price, direction)."""
    if len(row) != len(MESSAGE_COLUMNS):
        raise InvalidValue(f"{name} row {number}", ",".join(row),
                           f"has {len(row)} columns, expected {len(MESSAGE_COLUMNS)}: "
                           + ", ".join(MESSAGE_COLUMNS))
    where = {column: f"{name} row {number}, column {column}" for column in MESSAGE_COLUMNS}
    try:
        time_ns = _to_nanoseconds(row[0])
    except ValueError as error:
        raise InvalidValue(where["time"], row[0], f"is not a time in seconds ({error})") from None
    kind, order_id, size, price, direction = (
        _integer(where[column], text) for column, text in zip(MESSAGE_COLUMNS[1:], row[1:],
                                                              strict=True))
    if not 1 <= kind <= 7:
        raise InvalidValue(where["type"], row[1], "is not a LOBSTER event type (1 to 7)")
    if direction not in (1, -1):
        raise InvalidValue(where["direction"], row[5], "must be 1 (buy) or -1 (sell)")
    if kind in _BOOK_EFFECT and size <= 0:
        raise InvalidValue(where["size"], row[3], f"must be positive for event type {kind}")
    if kind in _BOOK_EFFECT and price <= 0:
        raise InvalidValue(where["price"], row[4], f"must be positive for event type {kind}")
    return time_ns, kind, order_id, size, price, direction


def read_messages(path):
    """Parse a LOBSTER message file into a dict of int64 arrays named by
    :data:`MESSAGE_COLUMNS` (``time`` in nanoseconds after midnight).

    A malformed row raises :class:`~liqframe.errors.InvalidValue` naming the file, the row
    number (1-based) and the column.
    """
    path = Path(path)
    rows = []
    with path.open(newline="") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            rows.append(_message_row(path.name, number, row))
    table = np.array(rows, dtype=np.int64).reshape(-1, len(MESSAGE_COLUMNS))
    return {column: np.ascontiguousarray(table[:, k]) for k, column in enumerate(MESSAGE_COLUMNS)}


def _book_row(name, number, row, levels):
    if len(row) != 4 * levels:
        raise InvalidValue(f"{name} row {number}", ",".join(row[:8]) + ("..." if len(row) > 8
                                                                         else ""),
                           f"has {len(row)} columns, expected {4 * levels} for {levels} levels")
    values = [_integer(f"{name} row {number}, column {k + 1}", text) for k, text in enumerate(row)]
    for level in range(levels):
        ask_px, ask_sz, bid_px, bid_sz = values[4 * level:4 * level + 4]
        for side, px, sz, empty in (("ask", ask_px, ask_sz, EMPTY_ASK),
                                    ("bid", bid_px, bid_sz, EMPTY_BID)):
            if px == empty and sz == 0:
                continue
            where = f"{name} row {number}, {side} level {level + 1}"
            if px <= 0:
                raise InvalidValue(f"{where} price", px, "must be positive (or the empty marker)")
            if sz <= 0:
                raise InvalidValue(f"{where} size", sz, "must be positive on a non-empty level")
    return values


def read_orderbook(path, levels):
    """Parse a LOBSTER orderbook file of ``levels`` levels into an int64 array of shape
    ``(rows, 4 * levels)``; malformed rows raise :class:`~liqframe.errors.InvalidValue`."""
    path = Path(path)
    _check_levels(levels)
    with path.open(newline="") as handle:
        rows = [_book_row(path.name, number, row, levels)
                for number, row in enumerate(csv.reader(handle), start=1)]
    return np.array(rows, dtype=np.int64).reshape(-1, 4 * levels)


def _check_levels(levels):
    if not isinstance(levels, int) or isinstance(levels, bool) or levels <= 0:
        raise InvalidValue("levels", levels, "must be a positive integer")


def _sides(row):
    """One orderbook row as ``{1: [(price, size), ...] bids, -1: [...] asks}``, best first,
    empty levels left out."""
    bids, asks = [], []
    for k in range(0, len(row), 4):
        ask_px, ask_sz, bid_px, bid_sz = (int(v) for v in row[k:k + 4])
        if ask_sz:
            asks.append((ask_px, ask_sz))
        if bid_sz:
            bids.append((bid_px, bid_sz))
    return {1: bids, -1: asks}


def _window(levels_shown, depth):
    """The worst price a row lets us see on one side, or None when the side shows fewer than
    ``depth`` levels (then the whole side is visible)."""
    return levels_shown[-1][0] if len(levels_shown) == depth else None


def _in_window(side, price, bound):
    """Whether ``price`` is at or better than ``bound`` on ``side``."""
    return bound is None or (price >= bound if side == 1 else price <= bound)


def _tighter(side, a, b):
    """The narrower of two windows (the one that shows less)."""
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b) if side == 1 else min(a, b)


def _book_sides(book, bounds, count):
    """The book's visible levels per side, best first, at least down to each side's bound
    (None: the whole side): one ``depth`` call of ``count`` levels, more only when needed."""
    while True:
        bid_px, bid_sz, ask_px, ask_sz = book.depth(count)
        sides = {1: (bid_px.tolist(), bid_sz.tolist()), -1: (ask_px.tolist(), ask_sz.tolist())}
        if all(len(prices) < count or not _in_window(side, prices[-1], bounds[side])
               for side, (prices, _) in sides.items()):
            return {side: list(zip(prices, sizes, strict=True))
                    for side, (prices, sizes) in sides.items()}
        count *= 2


class _Replay:
    """The state of one replay: the book, the previous row, and the running counts."""

    def __init__(self, book, depth):
        self.book, self.depth = book, depth
        self.matched = self.resynced = 0
        self.first_mismatch = None

    def seed(self, row):
        self.previous = _sides(row)
        for side, shown in self.previous.items():
            for price, size in shown:
                self.book.seed(side, price, size)

    def check(self, number, row):
        """Compare the book with ``row`` where both rows are visible, then resync the rest."""
        current = _sides(row)
        before = {side: _window(self.previous[side], self.depth) for side in (1, -1)}
        now = {side: _window(current[side], self.depth) for side in (1, -1)}
        book = _book_sides(self.book, now, self.depth + 1)
        ok = True
        for side in (1, -1):
            both = _tighter(side, before[side], now[side])
            have = [lv for lv in book[side] if _in_window(side, lv[0], both)]
            want = [lv for lv in current[side] if _in_window(side, lv[0], both)]
            if have != want:
                ok = False
                if self.first_mismatch is None:
                    self.first_mismatch = {"row": number, "side": "bid" if side == 1 else "ask",
                                           "expected": want, "book": have}
            if before[side] is not None:
                self._resync(side, current[side], book[side], before[side], now[side])
        self.matched += ok
        self.previous = current

    def _resync(self, side, shown, book_levels, before, now):
        """Set every level newly in view (outside the previous row's window) to the row."""
        wanted = {p: s for p, s in shown if not _in_window(side, p, before)}
        stale = [p for p, _ in book_levels
                 if not _in_window(side, p, before) and _in_window(side, p, now)]
        for price in set(stale) | set(wanted):
            # Even a level whose total already agrees is reseeded: which orders make it up is
            # unknown, and a later message about any of them must find its size unattributed.
            size = wanted.get(price, 0)
            self.book.clear_level(side, price)
            if size:
                self.book.seed(side, price, size)
            self.resynced += 1


def _default_book_class():
    """The L3Book picked by :mod:`liqframe.core` (compiled when built, else the pure twin)."""
    from liqframe import core

    book_class = getattr(core, "L3Book", None)
    if book_class is not None:
        return book_class
    if not core.NO_EXTENSIONS:
        try:
            return core.load("l3book", compiled=True).L3Book
        except ImportError:
            if core.REQUIRE_EXTENSIONS:
                raise
    return core.load("l3book", compiled=False).L3Book


def replay_lobster(message_csv, orderbook_csv, levels, *, book_class=None, limit=None):
    """Replay a LOBSTER message file order by order and check it against its orderbook file.

    ``message_csv`` and ``orderbook_csv`` are the two paths of one LOBSTER sample, ``levels``
    the N of the orderbook file (it must have ``4 * levels`` columns). The book is seeded from
    the first orderbook row and every later message is applied and compared, as the module
    docstring explains. ``book_class`` picks the L3Book twin (default: the one
    :mod:`liqframe.core` selects); ``limit`` replays only the first ``limit`` messages.

    Returns a dict: ``messages`` (rows read), ``rows_compared`` (messages checked: all but the
    first), ``rows_matched`` (of those, how many produced their row exactly on every level
    visible in both rows), ``unknown_orders`` (messages about orders the file never
    submitted), ``shortfall`` (lots those messages took beyond the seeded quantity: nonzero
    means the seed was wrong), ``levels_resynced`` and ``first_mismatch`` (None, or the row,
    side, expected and rebuilt levels of the first difference).

    Raises :class:`~liqframe.errors.InvalidValue` for a malformed row (naming the file, row and
    column), when the two files differ in length, and for a bad ``levels``.
    """
    _check_levels(levels)
    messages = read_messages(message_csv)
    rows = read_orderbook(orderbook_csv, levels)
    if len(rows) != len(messages["type"]):
        raise InvalidValue("orderbook_csv", str(orderbook_csv),
                           f"has {len(rows)} rows but the message file has "
                           f"{len(messages['type'])}; row i must be the book after message i")
    count = len(rows) if limit is None else min(limit, len(rows))
    replay = _Replay((book_class or _default_book_class())(), levels)
    if count:
        replay.seed(rows[0])
    columns = [messages[c][:count].tolist() for c in MESSAGE_COLUMNS[1:]]
    unknown = shortfall = 0
    for i in range(1, count):
        kind, order_id, size, price, direction = (column[i] for column in columns)
        try:
            stats = replay.book.replay(*[np.array([v], dtype=np.int64) for v in
                                         (kind, order_id, size, price, direction)], unknown=1)
        except (OrderError, BookError) as error:
            raise type(error)(f"{Path(message_csv).name} row {i + 1}: "
                              f"{str(error).removeprefix('message 0: ')}") from None
        unknown += stats["unknown"]
        shortfall += stats["shortfall"]
        replay.check(i + 1, rows[i])
    return {"messages": count, "rows_compared": max(count - 1, 0),
            "rows_matched": replay.matched, "unknown_orders": unknown, "shortfall": shortfall,
            "levels_resynced": replay.resynced, "first_mismatch": replay.first_mismatch}
