"""A venue's JSON frame, parsed once and read by path (pure twin).

A connector's hot path needs a handful of values from each frame (a symbol, sequence ids, a
checksum) and its book levels as ticks and lots. A :class:`Frame` parses the frame once and
answers those queries by *path*, a tuple of object keys (str) and array indexes (int, negative
from the end), without decoding what is not asked for::

    frame = Frame()
    frame.parse('{"data": {"s": "BTCUSDT", "u": 7, "b": [["100.5", "2"]], "a": []}}')
    frame.text(("data", "s"))                    # 'BTCUSDT'
    frame.integer(("data", "u"))                 # 7
    frame.levels(("data", "b"), batch, BID)      # appends 1 change to a LevelBatch

Rules both twins follow (the compiled one, ``liqframe._core._frames``, reads the UTF-8 bytes in
place and makes no Python object for what it skips):

- ``parse(data)`` takes str or UTF-8 bytes holding one JSON text, validated in full as
  :func:`json.loads` does (no NaN/Infinity, no trailing commas, no control characters in
  strings, valid UTF-8) and nested at most :data:`MAX_DEPTH` deep; anything else raises
  :class:`json.JSONDecodeError` (a ValueError) and leaves the frame empty.
  When an object repeats a key, the last value counts.
- A query's path that leads nowhere (a missing key, an index out of range, a step into a value
  of the wrong kind) returns ``default`` when one is given and raises ``KeyError(path)``
  otherwise; a value of the wrong kind raises TypeError naming the path.
- Numbers keep their text: :meth:`~Frame.integer`, :meth:`~Frame.decimal` and the level
  readers parse it exactly, never through float.
- :meth:`~Frame.levels` reads each level's price and size at an index of an array level or a
  key of an object level; both must be strings or numbers. It raises what
  :meth:`liqframe.core.LevelBatch.add` raises (InvalidValue naming ``price`` or ``size``), and
  leaves the batch as it was.
- :meth:`~Frame.fields` reads several values in one call, each ``(path, kind, default)``, and
  :meth:`~Frame.apply_update` parses a frame and, when it is the book update an
  :class:`UpdatePlan` describes, reads and applies it through the feed's
  :class:`~liqframe.core.BookPipe`: a connector's usual message in one call.
"""

import json
import re

from liqframe._core.fixed import to_units
from liqframe._core.levels import BookPipe, LevelBatch, _check_side, _units

MISSING = object()
#: Deepest nesting of arrays and objects a frame accepts.
MAX_DEPTH = 512
_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
_INT64 = range(-(2**63), 2**63)


class _Number(str):
    """A JSON number's text, as parsed (numbers are read from their text, never a float)."""

    __slots__ = ("integral",)


def _number(text):
    number = _Number(text)
    number.integral = True
    return number


def _real(text):
    number = _Number(text)
    number.integral = False
    return number


def _no_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _too_deep(root):
    """True when arrays and objects nest more than MAX_DEPTH deep in ``root``."""
    level, depth = [root], 0
    while True:
        containers = [value for value in level if type(value) in (dict, list)]
        if not containers:
            return False
        depth += 1
        if depth > MAX_DEPTH:
            return True
        level = [item for value in containers
                 for item in (value.values() if type(value) is dict else value)]


def _kind(value):
    if type(value) is dict:
        return "object"
    if type(value) is list:
        return "array"
    if type(value) is _Number:
        return "number"
    if type(value) is str:
        return "string"
    return {True: "true", False: "false", None: "null"}[value]


def _plain(value):
    """``value`` as json.loads makes it (numbers back to int or float)."""
    if type(value) is _Number:
        return int(value) if value.integral else float(value)
    if type(value) is dict:
        return {key: _plain(item) for key, item in value.items()}
    if type(value) is list:
        return [_plain(item) for item in value]
    return value


class Frame:
    """One JSON frame, parsed once and read by path; see the module docstring."""

    __slots__ = ("_root", "_parsed")

    def __init__(self):
        self._root, self._parsed = None, False

    def parse(self, data):
        """Read ``data`` (str or UTF-8 bytes), a whole JSON text; raises
        json.JSONDecodeError (a ValueError) where it is not valid JSON."""
        self._parsed = False
        if isinstance(data, str):
            data.encode("utf-8")  # lone surrogates: UnicodeEncodeError, as the compiled twin
            text = data
        elif isinstance(data, bytes):
            text = data.decode("utf-8")
        else:
            raise TypeError(f"frame: expected str or bytes, got {type(data).__name__}")
        try:
            self._root = json.loads(text, parse_int=_number, parse_float=_real,
                                    parse_constant=_no_constant)
        except RecursionError:
            raise json.JSONDecodeError("Nested too deeply", text, 0) from None
        if _too_deep(self._root):
            raise json.JSONDecodeError("Nested too deeply", text, 0)
        self._parsed = True

    # -- finding values ----------------------------------------------------------------------

    def _find(self, path):
        if type(path) is not tuple:
            raise TypeError(f"path: expected a tuple, got {type(path).__name__}")
        if not self._parsed:
            raise ValueError("frame: nothing parsed (parse failed or was never called)")
        value = self._root
        for step in path:
            if type(step) is str:
                if type(value) is not dict or step not in value:
                    return MISSING
                value = value[step]
            elif type(step) is int:
                if type(value) is not list or not -len(value) <= step < len(value):
                    return MISSING
                value = value[step]
            else:
                raise TypeError(f"path {path!r}: a step must be a str key or an int index, "
                                f"not {type(step).__name__}")
        return value

    def _need(self, path, default):
        value = self._find(path)
        if value is MISSING and default is MISSING:
            raise KeyError(path)
        return value

    # -- queries -----------------------------------------------------------------------------

    def kind(self, path=()):
        """"object", "array", "string", "number", "true", "false" or "null"; None if absent."""
        value = self._find(path)
        return None if value is MISSING else _kind(value)

    def has(self, path):
        """True when ``path`` leads to a value."""
        return self._find(path) is not MISSING

    def length(self, path=(), default=MISSING):
        """Members of the object or elements of the array at ``path``; ``default`` (else
        KeyError) when absent."""
        value = self._need(path, default)
        if value is MISSING:
            return default
        if type(value) not in (dict, list):
            raise TypeError(f"{path!r}: not an object or array")
        return len(value)

    def text(self, path, default=MISSING):
        """The string at ``path``; ``default`` (else KeyError) when absent."""
        value = self._need(path, default)
        if value is MISSING:
            return default
        if type(value) is not str:
            raise TypeError(f"{path!r}: expected a string, got {_kind(value)}")
        return value

    def integer(self, path, default=MISSING):
        """The integer at ``path``, a JSON integer or a string of digits with an optional
        minus, within 64 bits; ``default`` (else KeyError) when absent."""
        value = self._need(path, default)
        if value is MISSING:
            return default
        if type(value) is _Number:
            if not value.integral:
                raise ValueError(f"{path!r}: {value} is not an integer")
        elif type(value) is not str:
            raise TypeError(f"{path!r}: expected an integer, got {_kind(value)}")
        elif _INTEGER.fullmatch(value) is None:
            raise ValueError(f"{path!r}: {value!r} is not an integer")
        number = int(value)
        if number not in _INT64:
            raise ValueError(f"{path!r}: {value} is outside 64 bits")
        return number

    def decimal(self, path, decimals, default=MISSING):
        """The number at ``path`` (a JSON number or a decimal string) times
        ``10**decimals``, exactly (:func:`liqframe.core.to_units`); ``default`` (else KeyError)
        when absent."""
        value = self._need(path, default)
        if value is MISSING:
            return default
        if not isinstance(value, str):
            raise TypeError(f"{path!r}: expected a number, got {_kind(value)}")
        return to_units(str(value), decimals)

    def fields(self, specs):
        """A tuple of one value per ``(path, kind, default)`` of ``specs``: kind "text",
        "integer" or "length" reads as that method does, an int kind is :meth:`decimal`'s
        places; a path of None is not read (its value is ``default``)."""
        if type(specs) is not tuple:
            raise TypeError(f"specs: expected a tuple, got {type(specs).__name__}")
        values = []
        for spec in specs:
            if type(spec) is not tuple or len(spec) != 3:
                raise TypeError(f"fields: a field is (path, kind, default), not {spec!r}")
            path, kind, default = spec
            read = _reader(kind)
            if path is None:
                values.append(default)
            elif read is None:
                values.append(self.decimal(path, kind, default))
            else:
                values.append(read(self, path, default))
        return tuple(values)

    def value(self, path=(), default=MISSING):
        """The value at ``path`` as json.loads makes it; ``default`` (else KeyError) when
        absent."""
        value = self._need(path, default)
        return default if value is MISSING else _plain(value)

    # -- book levels -------------------------------------------------------------------------

    def levels(self, path, batch, side, price=0, size=1):
        """Append the array of levels at ``path`` to ``batch`` on ``side``, each level's price
        and size at ``price`` and ``size`` (indexes of an array, keys of an object); returns
        how many (the batch is left as it was when a level raises)."""
        return self._levels(path, batch, side, None, None, price, size)

    def sides(self, batch, bids, asks, price=0, size=1):
        """:meth:`levels` of the bids at path ``bids``, then of the asks at ``asks``; a path
        that is None or leads nowhere is skipped. Returns how many (all or none)."""
        if type(batch) is not LevelBatch:
            raise TypeError(f"batch: expected a LevelBatch, got {type(batch).__name__}")
        start, count = batch.count, 0
        try:
            for side, path in ((0, bids), (1, asks)):
                if path is not None and self._find(path) is not MISSING:
                    count += self.levels(path, batch, side, price, size)
        except BaseException:
            del batch._sides[start:], batch._prices[start:], batch._sizes[start:]
            raise
        return count

    def apply_update(self, data, plan, feeds, received_ns=0):
        """Parse ``data`` and, when it is a book update ``plan`` describes, apply it; see
        :class:`UpdatePlan`. Returns what :meth:`~liqframe.core.BookPipe.apply_levels`
        returns, or None when the frame is not such an update (it stays parsed, for the
        caller's general path) or ``feeds`` has no synced feed for it."""
        if type(plan) is not UpdatePlan:
            raise TypeError(f"plan: expected an UpdatePlan, got {type(plan).__name__}")
        if type(feeds) is not dict:
            raise TypeError(f"feeds: expected a dict, got {type(feeds).__name__}")
        self.parse(data)
        for path, text in plan.when:
            value = self._find(path)
            if type(value) is not str or value != text:
                return None
        key = self._find(plan.key)
        feed = feeds.get(key) if type(key) is str else None
        if feed is None or not feed.synced:
            return None
        entry = self
        if plan.entries is not None:
            entries = self._find(plan.entries)
            if type(entries) is not list or len(entries) != 1:
                return None
            entry = Frame()  # the one entry, read as a frame of its own (paths from it)
            entry._root, entry._parsed = entries[0], True
        pipe = feed.pipe
        if type(pipe) is not BookPipe:
            raise TypeError(f"pipe: expected a BookPipe, got {type(pipe).__name__}")
        first, last, previous, event_ns, published = entry.fields(plan.fields)
        levels = pipe.levels
        levels.clear()
        entry.sides(levels, plan.bids, plan.asks, pipe.price, pipe.size)
        return pipe.apply_levels(levels, first, last, previous, event_ns, received_ns,
                                 published)

    def levels_sided(self, path, batch, side, sides, price, size):
        """:meth:`levels` where each level's side is ``sides[level[side]]``."""
        if type(sides) is not dict:
            raise TypeError(f"sides: expected a dict, got {type(sides).__name__}")
        return self._levels(path, batch, None, side, sides, price, size)

    def _levels(self, path, batch, side, side_key, sides, price, size):
        if type(batch) is not LevelBatch:
            raise TypeError(f"batch: expected a LevelBatch, got {type(batch).__name__}")
        entries = self._need(path, MISSING)
        if type(entries) is not list:
            raise TypeError(f"{path!r}: expected an array of levels, got {_kind(entries)}")
        if side is not None:
            _check_side(side)
        parsed = []
        for entry in entries:
            if side is None:
                key = _field(entry, side_key, "side")
                if type(key) in (dict, list):
                    raise TypeError(f"side: a level's side must be a string, got {_kind(key)}")
                which = _check_side(sides[key])
            else:
                which = side
            parsed.append((
                which,
                _decimal(_field(entry, price, "price"), batch.price_decimals, batch.price_step,
                         "price"),
                _decimal(_field(entry, size, "size"), batch.size_decimals, batch.size_step,
                         "size")))
        for which, units_price, units_size in parsed:
            batch._sides.append(which)
            batch._prices.append(units_price)
            batch._sizes.append(units_size)
        return len(parsed)


_READERS = {"text": Frame.text, "integer": Frame.integer, "length": Frame.length}


def _reader(kind):
    """The Frame method a field's kind names; None for an int kind (places of
    :meth:`Frame.decimal`)."""
    read = _READERS.get(kind) if type(kind) is str else None
    if read is None and type(kind) is not int:
        raise ValueError(f"fields: kind {kind!r} is not 'text', 'integer', 'length' or a "
                         "number of decimals")
    return read


class UpdatePlan:
    """Where a venue's book update message keeps what :meth:`Frame.apply_update` needs.

    - ``when``: ``((path, text), ...)``, each path leading to a string equal to ``text``
      (``(("arg", "channel"), "books")``), else the frame is not such an update;
    - ``key``: the path of the string naming the book, its feed's key in the ``feeds`` dict
      given to :meth:`Frame.apply_update` (a feed has ``synced`` and ``pipe``, a
      :class:`~liqframe.core.BookPipe`, as :class:`~liqframe.connectors.feed.BookFeed`);
    - ``entries``: the path of an array whose one element holds the changes (an array of
      another length is not such an update), or None when the frame itself holds them;
    - ``fields``: five :meth:`Frame.fields` specs read from that element, the first and last
      sequence ids, the previous one, the event time and the venue's checksum that
      :meth:`~liqframe.core.BookPipe.apply_levels` takes;
    - ``bids``, ``asks``: the paths from that element that :meth:`Frame.sides` reads.
    """

    __slots__ = ("when", "key", "entries", "fields", "bids", "asks")

    def __init__(self, when, key, entries, fields, bids, asks):
        self.when, self.key, self.entries, self.fields, self.bids, self.asks = _plan(
            when, key, entries, fields, bids, asks)

    def __repr__(self):
        return (f"UpdatePlan({self.when!r}, {self.key!r}, {self.entries!r}, {self.fields!r}, "
                f"{self.bids!r}, {self.asks!r})")


def _plan(when, key, entries, fields, bids, asks):
    """The parts of an UpdatePlan, checked (both twins construct through this)."""
    if type(when) is not tuple or not all(
            type(condition) is tuple and len(condition) == 2 and type(condition[0]) is tuple
            and type(condition[1]) is str for condition in when):
        raise TypeError(f"when: expected ((path, text), ...), got {when!r}")
    for name, path, optional in (("key", key, False), ("entries", entries, True),
                                 ("bids", bids, True), ("asks", asks, True)):
        if type(path) is not tuple and not (optional and path is None):
            raise TypeError(f"{name}: expected a path (a tuple){' or None' * optional}, "
                            f"got {path!r}")
    for path in (key, entries, bids, asks, *(condition[0] for condition in when)):
        _check_steps(path)
    if type(fields) is not tuple or len(fields) != 5:
        raise ValueError("fields: expected five specs (first, last, previous, event_ns, "
                         f"published), got {fields!r}")
    for spec in fields:
        if type(spec) is not tuple or len(spec) != 3:
            raise TypeError(f"fields: a field is (path, kind, default), not {spec!r}")
        if type(spec[0]) is not tuple and spec[0] is not None:
            raise TypeError(f"fields: a field's path is a tuple or None, not {spec[0]!r}")
        _check_steps(spec[0])
        _reader(spec[1])
    return when, key, entries, fields, bids, asks


def _check_steps(path):
    for step in path or ():
        if type(step) not in (str, int):
            raise TypeError(f"path {path!r}: a step must be a str key or an int index, "
                            f"not {type(step).__name__}")


def _field(entry, field, name):
    """``entry[field]`` of a level: an index of an array, a key of an object."""
    if type(entry) is list:
        if type(field) is not int:
            raise TypeError(f"{name}: a level array needs an int index, not {field!r}")
        if not -len(entry) <= field < len(entry):
            raise IndexError(f"{name}: a level has no element {field!r}")
        return entry[field]
    if type(entry) is dict:
        if type(field) is not str or field not in entry:
            raise KeyError(field)
        return entry[field]
    raise TypeError(f"{name}: a level must be an array or an object, got {_kind(entry)}")


def _decimal(value, decimals, step, field):
    if not isinstance(value, str):
        raise TypeError(f"{field}: expected a decimal string, got {type(value).__name__}")
    return _units(str(value), decimals, step, field)
