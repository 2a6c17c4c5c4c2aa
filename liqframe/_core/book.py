"""The price-level (L2) book of one venue and instrument (pure-Python twin).

Prices and sizes are ``int64`` ticks and lots (see :mod:`liqframe._core.fixed`); a level is a
price with the total size resting there. Venues stream a snapshot and then changes that set a
level's size, where size 0 deletes the level. The compiled twin ``liqframe._core._book`` has
the same names, behaviour and error messages, and is the one to use for speed.

Both sides are kept as arrays sorted so that the best level is *last*: bids by price, asks by
minus the price. Venue changes concentrate near the touch, so an insert or delete there moves
only the few levels above it, and a lookup gallops down from the best level before bisecting.

Bad input raises :class:`~liqframe.errors.BookError` naming the field and the value, and the
book is left exactly as it was: batches and snapshots are validated in full before anything
is changed.

Sequence numbers: every venue numbers its messages differently (Binance ``U``/``u``/``pu``,
OKX ``seqId``/``prevSeqId``, Coinbase ``sequence_num``, Deribit ``change_id`` /
``prev_change_id``), so the book offers one generic check that connectors drive, described
in :meth:`L2Book.advance`. A message that does not follow raises
:class:`~liqframe.errors.SequenceGap` and marks the book *stale*: a stale book refuses every
change until :meth:`L2Book.apply_snapshot` resynchronises it.
"""

import math
import numbers
import operator
from bisect import bisect_left

import numpy as np

from liqframe.errors import BookError, SequenceGap

#: Side of a bid (buy order) level.
BID = 0
#: Side of an ask (sell order) level.
ASK = 1
#: A message or snapshot that carries no sequence number.
NO_SEQUENCE = -(2**63)

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
STALE_MESSAGE = "book is stale (sequence gap or failed check): apply a snapshot to resync it"


def _integer(value, field):
    """``value`` as an int in the signed 64-bit range, or a BookError naming ``field``."""
    if type(value) is not int:
        try:
            value = operator.index(value)
        except TypeError:
            raise BookError(f"{field}: {value!r} is not an integer") from None
    if not INT64_MIN <= value <= INT64_MAX:
        raise BookError(f"{field}: {value!r} is out of the 64-bit range")
    return value


def _check_level(side, price, size, side_field, price_field, size_field):
    """Raise for a side that is not BID/ASK, a price that is not positive or a negative size."""
    if side != BID and side != ASK:
        raise BookError(f"{side_field}: {side!r} is not BID (0) or ASK (1)")
    if price <= 0:
        raise BookError(f"{price_field}: {price!r} is not positive")
    if size < 0:
        raise BookError(f"{size_field}: {size!r} is negative")


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"{value.ndim}-dimensional array of dtype {value.dtype}"
    return type(value).__name__


def _int64_array(value, field):
    """``value`` if it is a 1-dimensional numpy array of native int64, else a BookError."""
    if not (isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype == np.int64):
        raise BookError(f"{field}: expected a 1-dimensional int64 array, got {_describe(value)}")
    return value


def _same_length(array, field, other, other_field):
    if len(array) != len(other):
        raise BookError(
            f"{field}: length {len(array)} differs from the {len(other)} of {other_field}"
        )


def _check_bps(bps):
    if not isinstance(bps, numbers.Real) or not math.isfinite(bps) or bps < 0:
        raise BookError(f"bps: {bps!r} is not a finite number >= 0")
    return float(bps)


class L2Book:
    """Price levels of one venue's book for one instrument.

    Create it empty, load a snapshot with :meth:`apply_snapshot`, then apply the venue's
    changes with :meth:`apply` (one level), :meth:`apply_and_best` (one level, returning the
    touch after it) or :meth:`apply_batch` (numpy arrays, cheaper per change from about ten
    changes on). A new book has no sequence number and is not stale.
    """

    __slots__ = ("_keys", "_sizes", "_sequence", "_stale", "_bridging")

    def __init__(self):
        # _keys[side] ascending (bid price, or minus the ask price), best last.
        self._keys = ([], [])
        self._sizes = ([], [])
        self._sequence = NO_SEQUENCE
        self._stale = False
        self._bridging = False

    # -- changes ---------------------------------------------------------------------------

    def apply(self, side, price, size):
        """Set the size at ``price`` on ``side`` (BID or ASK); size 0 deletes the level.

        Deleting a level that is not there is not an error: venues send deletes for levels
        beyond the depth they showed. Raises BookError when the book is stale (nothing is
        checked against sequence numbers here: call :meth:`advance` first, or use
        :meth:`apply_batch` with the message's ids) and for bad values.
        """
        if self._stale:
            raise BookError(STALE_MESSAGE)
        side = _integer(side, "side")
        if side != BID and side != ASK:
            raise BookError(f"side: {side!r} is not BID (0) or ASK (1)")
        price = _integer(price, "price")
        if price <= 0:
            raise BookError(f"price: {price!r} is not positive")
        size = _integer(size, "size")
        if size < 0:
            raise BookError(f"size: {size!r} is negative")
        self._set(side, price, size)

    def apply_and_best(self, side, price, size):
        """:meth:`apply`, then return :meth:`best_prices`: ``(best_bid, best_ask)``.

        For callers that read the touch after every change: one call instead of two, and the
        compiled twin returns the same tuple object again while the touch has not moved.
        """
        self.apply(side, price, size)
        return self.best_bid, self.best_ask

    def apply_batch(
        self, sides, prices, sizes, first=NO_SEQUENCE, last=NO_SEQUENCE, previous=NO_SEQUENCE
    ):
        """Apply the changes ``(sides[i], prices[i], sizes[i])`` in order, as one message.

        The three arguments are 1-dimensional numpy ``int64`` arrays of equal length. All
        changes are validated before any is applied. ``first``, ``last`` and ``previous`` are
        the message's sequence ids, checked by :meth:`advance` after validation and before
        applying. Returns True when the changes were applied, False when the message was
        dropped as already contained in the book (see :meth:`advance`). Raises BookError for
        bad input or a stale book and SequenceGap for a gap, with the book unchanged.
        """
        if self._stale:
            raise BookError(STALE_MESSAGE)
        sides = _int64_array(sides, "sides")
        prices = _int64_array(prices, "prices")
        sizes = _int64_array(sizes, "sizes")
        _same_length(prices, "prices", sides, "sides")
        _same_length(sizes, "sizes", sides, "sides")
        first, last = _integer(first, "first"), _integer(last, "last")
        previous = _integer(previous, "previous")
        sides, prices, sizes = sides.tolist(), prices.tolist(), sizes.tolist()
        for i, (side, price, size) in enumerate(zip(sides, prices, sizes, strict=True)):
            _check_level(side, price, size, f"sides[{i}]", f"prices[{i}]", f"sizes[{i}]")
        if not self._advance(first, last, previous):
            return False
        for side, price, size in zip(sides, prices, sizes, strict=True):
            self._set(side, price, size)
        return True

    def apply_snapshot(self, bid_prices, bid_sizes, ask_prices, ask_sizes, sequence=NO_SEQUENCE):
        """Replace the whole book with these levels, in any order; zero sizes are skipped.

        ``sequence`` is the venue's id of the snapshot (Binance ``lastUpdateId``, OKX
        ``seqId``, Deribit ``change_id``) or NO_SEQUENCE. The snapshot clears the stale mark,
        and the first message after it may straddle ``sequence`` (see :meth:`advance`).
        Raises BookError for arrays that are not int64 or differ in length, a price that is
        not positive, a negative size, a price given twice on a side, and a crossed book (best
        bid >= best ask); the book is then unchanged.
        """
        bid_prices = _int64_array(bid_prices, "bid_prices")
        bid_sizes = _int64_array(bid_sizes, "bid_sizes")
        ask_prices = _int64_array(ask_prices, "ask_prices")
        ask_sizes = _int64_array(ask_sizes, "ask_sizes")
        _same_length(bid_sizes, "bid_sizes", bid_prices, "bid_prices")
        _same_length(ask_sizes, "ask_sizes", ask_prices, "ask_prices")
        sequence = _integer(sequence, "sequence")
        bids = _snapshot_side(bid_prices.tolist(), bid_sizes.tolist(), "bid")
        asks = _snapshot_side(ask_prices.tolist(), ask_sizes.tolist(), "ask")
        if bids and asks and bids[-1][0] >= asks[0][0]:
            raise BookError(f"snapshot: crossed, best bid {bids[-1][0]} >= best ask {asks[0][0]}")
        self._keys = ([p for p, _ in bids], [-p for p, _ in reversed(asks)])
        self._sizes = ([s for _, s in bids], [s for _, s in reversed(asks)])
        self._sequence = sequence
        self._stale = False
        self._bridging = sequence != NO_SEQUENCE

    def truncate(self, depth):
        """Keep only the ``depth`` best levels of each side.

        Venues such as Kraken publish a fixed depth and do not delete the levels that fall
        out of it, so their connectors trim the book after each message.
        """
        depth = _integer(depth, "depth")
        if depth < 0:
            raise BookError(f"depth: {depth!r} is negative")
        for side in (BID, ASK):
            excess = len(self._keys[side]) - depth
            if excess > 0:
                del self._keys[side][:excess]
                del self._sizes[side][:excess]

    def _set(self, side, price, size):
        keys, sizes = self._keys[side], self._sizes[side]
        key = price if side == BID else -price
        i = _locate(keys, key)
        if i < len(keys) and keys[i] == key:
            if size:
                sizes[i] = size
            else:
                del keys[i]
                del sizes[i]
        elif size:
            keys.insert(i, key)
            sizes.insert(i, size)

    # -- sequence numbers ------------------------------------------------------------------

    def advance(self, first, last=NO_SEQUENCE, previous=NO_SEQUENCE):
        """Check a message's sequence ids against the book; True to apply it, False to drop it.

        ``first`` and ``last`` are the ids of the message's first and last update (Binance
        ``U`` and ``u``; a venue with one id per message passes it as ``first`` alone), and
        ``previous`` is the venue's own statement of the previous message's last id (Binance
        futures ``pu``, OKX ``prevSeqId``, Deribit ``prev_change_id``). In order:

        - a stale book raises BookError;
        - a message without ids (``first`` is NO_SEQUENCE) is applied unchecked, as is any
          message while the book has no sequence yet (it adopts ``last``);
        - ``previous`` equal to the book's sequence chains on: applied (even when ``last`` is
          lower, as after an OKX sequence reset);
        - ``last`` at or below the book's sequence is already in it: dropped (False);
        - the first message after a snapshot applies when ``first <= sequence + 1``: it
          straddles the snapshot's id (Binance spot's bridge of ``lastUpdateId``; Binance
          futures states its bridge as ``U <= lastUpdateId <= u``, which is this rule for a
          snapshot given ``sequence=lastUpdateId - 1``);
        - without ``previous``, ``first == sequence + 1`` is contiguous: applied;
        - anything else is a gap: the book turns stale and SequenceGap is raised.

        An applied message sets the book's sequence to ``last``. Exchange-specific rules that
        are stricter than these belong in the connector.
        """
        if self._stale:
            raise BookError(STALE_MESSAGE)
        first, last = _integer(first, "first"), _integer(last, "last")
        return self._advance(first, last, _integer(previous, "previous"))

    def _advance(self, first, last, previous):
        """The rule of :meth:`advance` on ids already checked to be int64."""
        if self._stale:
            raise BookError(STALE_MESSAGE)
        if first == NO_SEQUENCE:
            return True
        if last == NO_SEQUENCE:
            last = first
        elif last < first:
            raise BookError(f"last: {last!r} is below first {first!r}")
        sequence = self._sequence
        if not (sequence == NO_SEQUENCE or (previous != NO_SEQUENCE and previous == sequence)):
            if last <= sequence:
                return False
            if not (
                (self._bridging and first <= sequence + 1)
                or (previous == NO_SEQUENCE and first == sequence + 1)
            ):
                self._stale = True
                if previous != NO_SEQUENCE:
                    raise SequenceGap(
                        sequence,
                        previous,
                        f"sequence gap: previous id {previous} does not follow the book's"
                        f" {sequence}",
                    )
                raise SequenceGap(sequence + 1, first)
        self._sequence = last
        self._bridging = False
        return True

    def mark_stale(self):
        """Mark the book stale, e.g. after a checksum mismatch; a snapshot clears it."""
        self._stale = True

    @property
    def stale(self):
        """True after a sequence gap (or :meth:`mark_stale`) until the next snapshot."""
        return self._stale

    @property
    def sequence(self):
        """The last applied sequence id, or None when the venue has given none yet."""
        return None if self._sequence == NO_SEQUENCE else self._sequence

    # -- reads -----------------------------------------------------------------------------

    @property
    def best_bid(self):
        """The highest bid price, or None when there are no bids."""
        keys = self._keys[BID]
        return keys[-1] if keys else None

    @property
    def best_ask(self):
        """The lowest ask price, or None when there are no asks."""
        keys = self._keys[ASK]
        return -keys[-1] if keys else None

    def best(self, side):
        """``(price, size)`` of the best level of ``side``, or None when the side is empty."""
        side = _side(side)
        keys = self._keys[side]
        if not keys:
            return None
        return (keys[-1] if side == BID else -keys[-1]), self._sizes[side][-1]

    def best_prices(self):
        """``(best_bid, best_ask)`` in one call; an empty side gives None."""
        return self.best_bid, self.best_ask

    @property
    def crossed(self):
        """True when the best bid is at or above the best ask (a venue's transient state)."""
        bid, ask = self.best_bid, self.best_ask
        return bid is not None and ask is not None and bid >= ask

    def count(self, side):
        """Number of levels on ``side``."""
        return len(self._keys[_side(side)])

    def __len__(self):
        return len(self._keys[BID]) + len(self._keys[ASK])

    def size_at(self, side, price):
        """Size resting at ``price`` on ``side``; 0 when there is no level."""
        side = _side(side)
        key = _integer(price, "price")
        if side == ASK:
            key = -key
        keys = self._keys[side]
        i = _locate(keys, key)
        return self._sizes[side][i] if i < len(keys) and keys[i] == key else 0

    def top(self, side, n):
        """The ``n`` best levels of ``side``, best first, as two int64 arrays (prices, sizes).

        Fewer are returned when the side has fewer levels.
        """
        side = _side(side)
        n = _integer(n, "n")
        if n < 0:
            raise BookError(f"n: {n!r} is negative")
        keys, sizes = self._keys[side], self._sizes[side]
        start = max(len(keys) - n, 0)
        prices = keys[start:][::-1]
        if side == ASK:
            prices = [-k for k in prices]
        return np.array(prices, dtype=np.int64), np.array(sizes[start:][::-1], dtype=np.int64)

    def top_into(self, side, prices, sizes):
        """Write the best levels of ``side``, best first, into two int64 arrays of one length.

        Returns how many levels were written (at most the arrays' length): the read for a
        caller that polls the top of the book and keeps its arrays, with no allocation.
        """
        side = _side(side)
        prices = _int64_array(prices, "prices")
        if not prices.flags.writeable:
            raise BookError("prices: the array is read-only")
        sizes = _int64_array(sizes, "sizes")
        if not sizes.flags.writeable:
            raise BookError("sizes: the array is read-only")
        _same_length(sizes, "sizes", prices, "prices")
        top_prices, top_sizes = self.top(side, len(prices))
        taken = len(top_prices)
        prices[:taken] = top_prices
        sizes[:taken] = top_sizes
        return taken

    def levels(self, side):
        """All levels of ``side``, best first, as two int64 arrays (prices, sizes)."""
        return self.top(side, self.count(side))

    def depth(self, side, bps):
        """Total size on ``side`` priced within ``bps`` basis points of the mid price.

        The mid is the average of the best bid and ask; a bid counts when its price is at
        least ``mid * (1 - bps / 10000)``, an ask when at most ``mid * (1 + bps / 10000)``,
        compared in double precision (the band is a risk measure, not a price). Returns 0
        when either side is empty, as there is no mid.
        """
        side = _side(side)
        bps = _check_bps(bps)
        bid, ask = self.best_bid, self.best_ask
        if bid is None or ask is None:
            return 0
        mid = (float(bid) + float(ask)) * 0.5
        total = 0
        keys, sizes = self._keys[side], self._sizes[side]
        if side == BID:
            limit = mid * (1.0 - bps / 10000.0)
            for i in range(len(keys) - 1, -1, -1):
                if float(keys[i]) < limit:
                    break
                total += sizes[i]
        else:
            limit = mid * (1.0 + bps / 10000.0)
            for i in range(len(keys) - 1, -1, -1):
                if float(-keys[i]) > limit:
                    break
                total += sizes[i]
        return total

    def fill(self, side, size):
        """Walk ``side`` from its best level to take ``size``: returns ``(filled, cost)``.

        ``side`` is the side of the book that is taken: ASK to buy, BID to sell. ``cost`` is
        the exact sum of price times size over the levels taken (ticks times lots), and
        ``filled`` is less than ``size`` when the side runs out.
        """
        side = _side(side)
        size = _integer(size, "size")
        if size < 0:
            raise BookError(f"size: {size!r} is negative")
        keys, sizes = self._keys[side], self._sizes[side]
        sign = 1 if side == BID else -1
        remaining, cost = size, 0
        for i in range(len(keys) - 1, -1, -1):
            if remaining == 0:
                break
            take = min(remaining, sizes[i])
            cost += sign * keys[i] * take
            remaining -= take
        return size - remaining, cost

    def average_price(self, side, size):
        """Average price (ticks, as a float) of taking ``size`` from ``side``; see :meth:`fill`.

        Returns None when nothing can be filled.
        """
        filled, cost = self.fill(side, size)
        return cost / filled if filled else None

    def __repr__(self):
        return (
            f"L2Book(bids={len(self._keys[BID])}, asks={len(self._keys[ASK])}, "
            f"best_bid={self.best_bid}, best_ask={self.best_ask}, "
            f"sequence={self.sequence}, stale={self._stale})"
        )


def _side(side):
    side = _integer(side, "side")
    if side != BID and side != ASK:
        raise BookError(f"side: {side!r} is not BID (0) or ASK (1)")
    return side


def _locate(keys, key):
    """Index of the first key >= ``key``: gallop down from the best (last) level, then bisect.

    Changes concentrate near the touch, so the answer is usually within a few steps of the end.
    """
    hi = len(keys)
    lo = hi - 1
    step = 1
    while lo >= 0 and keys[lo] >= key:
        hi = lo
        lo -= step
        step <<= 1
    return bisect_left(keys, key, max(lo, 0), hi)


def _snapshot_side(prices, sizes, name):
    """Validated ``(price, size)`` pairs of one snapshot side, ascending by price, no zeros."""
    for i, (price, size) in enumerate(zip(prices, sizes, strict=True)):
        if price <= 0:
            raise BookError(f"{name}_prices[{i}]: {price!r} is not positive")
        if size < 0:
            raise BookError(f"{name}_sizes[{i}]: {size!r} is negative")
    seen = set()
    for i, price in enumerate(prices):
        if price in seen:
            raise BookError(f"{name}_prices[{i}]: {price!r} appears twice")
        seen.add(price)
    return sorted((p, s) for p, s in zip(prices, sizes, strict=True) if s)
