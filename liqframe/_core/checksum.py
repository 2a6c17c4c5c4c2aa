"""Exchange book checksums computed from an :class:`~liqframe._core.book.L2Book`.

Venues publish a CRC32 of the top of their book so that a client can tell when its copy has
drifted (a lost or misapplied message): on a mismatch the connector marks the book stale and
resubscribes. The CRC is taken over the *decimal strings* the venue prints, while the book
holds integers, so each function takes the decimals of the book's units and reproduces the
venue's formatting rule from them:

- Kraken (WebSocket v1 and v2): top 10 asks then top 10 bids, each price and size printed with
  the venue's fixed number of places, the ``.`` removed and leading zeros stripped, all
  concatenated; unsigned CRC32. v1 prints the places its book strings carry (which can be more
  than the pair's ``pair_decimals``); v2 prints the instrument's ``price_precision`` and
  ``qty_precision``.
- OKX: up to 25 levels interleaved ``bid:size:ask:size:...`` as the strings were sent, which
  is the shortest form (no trailing zeros: ``"30261"``, ``"0.059"``); signed CRC32.
- Bitget (v1): the OKX algorithm over strings with the instrument's fixed places
  (``"3.040"``, ``"2.000"``).
- Bitfinex (P0 books): up to 25 levels interleaved ``price:amount`` with ask amounts negative,
  each number printed as JavaScript's ``Number#toString`` prints it (``"7e-7"``,
  ``"0.0000886"``); signed CRC32.

Each rule was checked on every checksum in the recorded feeds of ``tests/data``. This is the
pure twin: the compiled ``liqframe._core._checksum`` (which :data:`liqframe.core.checksum`
is when built) prints the numbers in C, with the same results and errors. The formatting
helpers are public so that a connector for a venue with another rule can combine them with
:func:`interleaved_checksum`.
"""

import zlib

from liqframe.errors import BookError

BID, ASK = 0, 1


def _check_places(decimals, places):
    if places is None:
        return decimals
    if places < decimals:
        raise BookError(f"places: {places!r} is fewer than the book's {decimals} decimals")
    return places


def fixed_text(decimals, places=None):
    """A formatter printing units of ``10**-decimals`` with exactly ``places`` places.

    ``places`` defaults to ``decimals``; more places append zeros (a venue printing more
    digits than its tick needs).
    """
    places = _check_places(decimals, places)
    scale = 10 ** (places - decimals)

    def text(units):
        digits = str(abs(units) * scale)
        sign = "-" if units < 0 else ""
        if places == 0:
            return sign + digits
        digits = digits.rjust(places + 1, "0")
        return f"{sign}{digits[:-places]}.{digits[-places:]}"

    return text


def trimmed_text(decimals):
    """A formatter printing the shortest exact decimal: no trailing zeros, no bare point."""
    fixed = fixed_text(decimals)

    def text(units):
        printed = fixed(units)
        return printed.rstrip("0").rstrip(".") if "." in printed else printed

    return text


def js_text(decimals):
    """A formatter printing the value as JavaScript's ``Number#toString`` does.

    JavaScript holds numbers as IEEE doubles and prints the shortest digits that read back to
    the same double; Python's ``repr`` picks the same digits, so only the layout (ECMA-262
    Number::toString: plain between 1e-7 and 1e21, else ``d.ddde-7``) is redone here.
    """
    fixed = fixed_text(decimals)

    def text(units):
        value = float(fixed(units))  # the double the venue's JavaScript holds
        if value == 0:
            return "0"
        mantissa, _, exponent = repr(abs(value)).partition("e")
        whole, _, fraction = mantissa.partition(".")
        every = whole + fraction
        significant = every.lstrip("0")
        # The value is 0.<digits> * 10**n: n counts the places from the point to the right
        # of the first significant digit.
        n = len(whole) - (len(every) - len(significant)) + (int(exponent) if exponent else 0)
        sign = "-" if value < 0 else ""
        return sign + _js_layout(significant.rstrip("0"), n)

    return text


def _js_layout(digits, n):
    """Lay out significant ``digits`` with value ``0.digits * 10**n`` per ECMA-262."""
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return f"{digits[:n]}.{digits[n:]}"
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    exponent = n - 1
    sign = "+" if exponent >= 0 else "-"
    head = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{head}e{sign}{abs(exponent)}"


def _signed(crc):
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def _top(book, side, depth):
    prices, sizes = book.top(side, depth)
    return prices.tolist(), sizes.tolist()


def interleaved_text(book, price_text, size_text, depth=25, negative_asks=False):
    """The string ``bid price:size:ask price:size:...`` over the ``depth`` best levels.

    Where one side runs out, the other's levels follow on their own (OKX, Bitget and Bitfinex
    all build their checksum string this way). ``price_text`` and ``size_text`` turn units
    into the venue's strings; ``negative_asks`` prints ask sizes negative (Bitfinex amounts).
    """
    bid_prices, bid_sizes = _top(book, BID, depth)
    ask_prices, ask_sizes = _top(book, ASK, depth)
    parts = []
    for i in range(max(len(bid_prices), len(ask_prices))):
        if i < len(bid_prices):
            parts += (price_text(bid_prices[i]), size_text(bid_sizes[i]))
        if i < len(ask_prices):
            size = -ask_sizes[i] if negative_asks else ask_sizes[i]
            parts += (price_text(ask_prices[i]), size_text(size))
    return ":".join(parts)


def interleaved_checksum(book, price_text, size_text, depth=25, negative_asks=False):
    """Signed CRC32 of :func:`interleaved_text`, as OKX, Bitget and Bitfinex publish it."""
    text = interleaved_text(book, price_text, size_text, depth, negative_asks)
    return _signed(zlib.crc32(text.encode()))


def kraken_text(book, price_decimals, size_decimals, price_places=None, size_places=None, depth=10):
    """Kraken's checksum string: ``depth`` asks then bids, fixed-places digits run together.

    ``price_places``/``size_places`` are the places Kraken prints (v1: the places of its book
    strings; v2: ``price_precision``/``qty_precision``); they default to the book's decimals.
    """
    price_scale = 10 ** (_check_places(price_decimals, price_places) - price_decimals)
    size_scale = 10 ** (_check_places(size_decimals, size_places) - size_decimals)
    parts = []
    for side in (ASK, BID):
        prices, sizes = _top(book, side, depth)
        for price, size in zip(prices, sizes, strict=True):
            # Removing the point and the leading zeros of a fixed-places string leaves the
            # integer of units at those places.
            parts += (str(price * price_scale), str(size * size_scale))
    return "".join(parts)


def kraken_checksum(
    book, price_decimals, size_decimals, price_places=None, size_places=None, depth=10
):
    """Unsigned CRC32 of :func:`kraken_text` (Kraken WebSocket v1 ``c``, v2 ``checksum``)."""
    text = kraken_text(book, price_decimals, size_decimals, price_places, size_places, depth)
    return zlib.crc32(text.encode())


def okx_checksum(book, price_decimals, size_decimals, depth=25):
    """Signed CRC32 of OKX's ``books`` checksum string (strings in their shortest form)."""
    return interleaved_checksum(
        book, trimmed_text(price_decimals), trimmed_text(size_decimals), depth
    )


def bitget_checksum(
    book, price_decimals, size_decimals, price_places=None, size_places=None, depth=25
):
    """Signed CRC32 of Bitget's ``books`` checksum: OKX's algorithm over fixed-places strings.

    ``price_places``/``size_places`` default to the book's decimals.
    """
    return interleaved_checksum(
        book,
        fixed_text(price_decimals, price_places),
        fixed_text(size_decimals, size_places),
        depth,
    )


def bitfinex_checksum(book, price_decimals, size_decimals, depth=25):
    """Signed CRC32 of Bitfinex's P0 book checksum (``cs``): JavaScript number strings."""
    return interleaved_checksum(
        book, js_text(price_decimals), js_text(size_decimals), depth, negative_asks=True
    )


_KINDS = {"kraken": (kraken_checksum, 10, True), "okx": (okx_checksum, 25, False),
          "bitget": (bitget_checksum, 25, True), "bitfinex": (bitfinex_checksum, 25, False)}


def _rule(kind, price_decimals, size_decimals, price_places, size_places, depth):
    """``(price_places, size_places, depth)`` of a :class:`Checksum`, checked (both twins)."""
    if kind not in _KINDS:
        raise ValueError(f"kind: {kind!r} is not one of {', '.join(_KINDS)}")
    _, default_depth, takes_places = _KINDS[kind]
    for field, decimals in (("price_decimals", price_decimals),
                            ("size_decimals", size_decimals)):
        if type(decimals) is not int or not 0 <= decimals <= 18:
            raise ValueError(f"{field}: {decimals!r} must be an int from 0 to 18")
    if not takes_places and (price_places is not None or size_places is not None):
        raise ValueError(f"{kind} checksums print the book's own decimals: give no places")
    depth = default_depth if depth is None else depth
    if type(depth) is not int or depth < 0:
        raise ValueError(f"depth: {depth!r} must be a non-negative int")
    return (_check_places(price_decimals, price_places),
            _check_places(size_decimals, size_places), depth)


class Checksum:
    """One venue's checksum rule bound to a market: ``Checksum("okx", 1, 8)(book)`` is
    ``okx_checksum(book, 1, 8)``. ``kind`` is ``"kraken"``, ``"okx"``, ``"bitget"`` or
    ``"bitfinex"``; ``price_places``/``size_places`` (Kraken and Bitget only) and ``depth``
    default as in those functions. A connector builds one per book (Kraken v1: again after each
    snapshot, whose strings give the places), and the compiled twin computes it from the
    compiled book without a Python call."""

    __slots__ = ("kind", "price_decimals", "size_decimals", "price_places", "size_places",
                 "depth", "_function")

    def __init__(self, kind, price_decimals, size_decimals, price_places=None,
                 size_places=None, depth=None):
        self.price_places, self.size_places, self.depth = _rule(
            kind, price_decimals, size_decimals, price_places, size_places, depth)
        self.kind, self.price_decimals, self.size_decimals = kind, price_decimals, size_decimals
        function, takes_places = _KINDS[kind][0], _KINDS[kind][2]
        if takes_places:
            self._function = lambda book: function(book, price_decimals, size_decimals,
                                                   self.price_places, self.size_places,
                                                   self.depth)
        else:
            self._function = lambda book: function(book, price_decimals, size_decimals,
                                                   self.depth)

    def __call__(self, book):
        return self._function(book)

    def __repr__(self):
        return (f"Checksum({self.kind!r}, {self.price_decimals}, {self.size_decimals}, "
                f"{self.price_places}, {self.size_places}, depth={self.depth})")
