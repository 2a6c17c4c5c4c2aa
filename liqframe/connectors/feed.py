"""One venue book as a connector keeps it: an :class:`~liqframe.core.L2Book` plus reporting.

A :class:`BookFeed` is the single place where a connector's parsed messages meet the book and
the host: it applies a snapshot or one message of changes under the venue's sequence ids
(:meth:`liqframe.core.L2Book.advance` holds the generic rules), tells the host's
:class:`~liqframe.interfaces.VenueEvents`, compares venue checksums, and counts everything in
the connector's :class:`~liqframe.connectors.stats.FeedStats`.

A connector parses a message's levels into the feed's :attr:`BookFeed.levels`, a
:class:`~liqframe.core.LevelBatch` at the market's increments (one C loop from the decoded
JSON entries to int64 columns), and hands the batch to :meth:`BookFeed.apply` or
:meth:`BookFeed.load`; the book takes it in one :meth:`~liqframe.core.L2Book.apply_batch`.
Lists of ``(side, price, size)`` tuples are accepted as well.

Changes reach the host in one of two ways. Hosts that define the optional fast path
``on_book_changes(symbol, changes, sequence, event_ns, received_ns)`` get each message's
``[(side, price, size), ...]`` in one call; otherwise each change becomes a
:class:`~liqframe.model.BookDelta` for ``on_delta``.
"""

import numpy as np

from liqframe.core import ASK, BID, NO_SEQUENCE, L2Book, LevelBatch
from liqframe.model import BookDelta, Side

_EMPTY = np.empty(0, dtype=np.int64)
_SIDES = (Side.BID, Side.ASK)


def _columns(levels):
    if not levels:
        return _EMPTY, _EMPTY
    table = np.array(levels, dtype=np.int64)
    return table[:, 0].copy(), table[:, 1].copy()


class BookFeed:
    """The book of ``market`` on ``venue`` and the events it owes the host.

    ``synced`` is False until the first snapshot and again from :meth:`invalidate` until the
    next one; a connector drops (or buffers) changes while it is False.
    """

    __slots__ = ("venue", "market", "symbol", "book", "events", "stats", "synced", "fast",
                 "resyncing", "state", "levels")

    def __init__(self, venue, market, events, stats):
        self.venue, self.market, self.symbol = venue, market, market.symbol
        self.book = L2Book()
        self.events, self.stats = events, stats
        self.synced = False
        #: True from a resync request until its snapshot arrives (no second request meanwhile).
        self.resyncing = False
        self.fast = getattr(events, "on_book_changes", None)
        #: Free slot for the connector's per-book protocol state (printed places, channel id).
        self.state = None
        #: The batch a connector parses each message into (cleared by :meth:`batch`).
        self.levels = market.batch()

    def batch(self):
        """:attr:`levels`, emptied for the next message."""
        levels = self.levels
        levels.clear()
        return levels

    def keep(self):
        """Give :attr:`levels` away (a buffered diff holds it) and parse into a new batch."""
        self.levels = self.market.batch()

    def snapshot(self, bids, asks, sequence=NO_SEQUENCE, event_ns=0):
        """Replace the book with ``bids`` and ``asks`` ((price, size) in ticks and lots)."""
        self.book.apply_snapshot(*_columns(bids), *_columns(asks), sequence)
        self._loaded(bids, asks, sequence, event_ns)

    def _loaded(self, bids, asks, sequence, event_ns):
        was_resyncing, self.synced, self.resyncing = self.resyncing, True, False
        self.stats.snapshots += 1
        self.events.on_snapshot(self.symbol, bids, asks, sequence, event_ns)
        if was_resyncing:
            self.events.on_status(True, f"{self.symbol}: resynchronised")

    def load(self, levels, sequence=NO_SEQUENCE, event_ns=0):
        """:meth:`snapshot` from a :class:`~liqframe.core.LevelBatch` of both sides."""
        self.book.apply_snapshot(*levels.side_columns(BID), *levels.side_columns(ASK), sequence)
        self._loaded(levels.levels(BID), levels.levels(ASK), sequence, event_ns)

    def apply(self, changes, first=NO_SEQUENCE, last=NO_SEQUENCE, previous=NO_SEQUENCE,
              event_ns=0, received_ns=0):
        """Apply one message's changes, a :class:`~liqframe.core.LevelBatch` (validated in
        full first: all or none) or ``[(side, price, size), ...]``; False when it was dropped
        as already in the book. Raises SequenceGap (book now stale) when it does not follow."""
        book = self.book
        if type(changes) is LevelBatch:
            sides, prices, sizes = changes.columns()
            if not book.apply_batch(sides, prices, sizes, first, last, previous):
                self.stats.stale_dropped += 1
                return False
            changes = changes.changes()
        else:
            if not book.advance(first, last, previous):
                self.stats.stale_dropped += 1
                return False
            apply = book.apply
            for side, price, size in changes:
                apply(side, price, size)
        self.stats.applied += 1
        sequence = last if last != NO_SEQUENCE else first
        if self.fast is not None:
            self.fast(self.symbol, changes, sequence, event_ns, received_ns)
        else:
            on_delta = self.events.on_delta
            for side, price, size in changes:
                on_delta(BookDelta(venue=self.venue, symbol=self.symbol, side=_SIDES[side],
                                   price=price,
                                   size=size, sequence=sequence, event_ns=event_ns,
                                   received_ns=received_ns))
        return True

    def check(self, published, computed):
        """Count a venue checksum; True when it matches the book."""
        self.stats.checksums_checked += 1
        if published == computed:
            return True
        self.stats.checksum_failures += 1
        return False

    def invalidate(self, reason):
        """Mark the book stale until the next snapshot; True when it was in sync before."""
        was = self.synced
        self.synced = False
        self.book.mark_stale()
        if was:
            self.events.on_status(False, f"{self.symbol}: {reason}; resynchronising")
        return was
