"""One venue book as a connector keeps it: an :class:`~liqframe.core.L2Book` plus reporting.

A :class:`BookFeed` is the single place where a connector's parsed messages meet the book and
the host: it applies a snapshot or one message of changes under the venue's sequence ids
(:meth:`liqframe.core.L2Book.advance` holds the generic rules), tells the host's
:class:`~liqframe.interfaces.VenueEvents`, compares venue checksums, and counts everything in
the connector's :class:`~liqframe.connectors.stats.FeedStats`.

A connector's hot path is one call per message, :attr:`BookFeed.apply_message` (a
:class:`~liqframe.core.BookPipe`'s ``apply``): the decoded bid and ask entries are parsed into
the feed's :attr:`BookFeed.levels`, a :class:`~liqframe.core.LevelBatch` at the market's
increments, applied to the book as one message under its sequence ids, reported to the host,
the book trimmed to the venue's depth and the venue's checksum compared, all in C when
compiled. A connector sets ``feed.pipe.checksum`` (a :class:`liqframe.core.checksum.Checksum`)
and ``feed.pipe.depth`` once. :meth:`BookFeed.apply` takes a batch parsed otherwise (or a list of
``(side, price, size)`` tuples) and :meth:`BookFeed.load` a snapshot.

Changes reach the host in one of three ways. A host that defines ``book_sink(symbol)`` gets
them in its :class:`~liqframe.core.BookSink`, applied to its consolidated book in C. Hosts that
define the optional
``on_book_columns(symbol, sides, prices, sizes, sequence, event_ns, received_ns)`` get each
message as three int64 arrays (views, valid during the call: what
:meth:`~liqframe.core.ConsolidatedBook.apply_many` takes); otherwise each change becomes a
:class:`~liqframe.model.BookDelta` for ``on_delta``.
"""

import numpy as np

from liqframe.core import ASK, BID, NO_SEQUENCE, BookPipe, L2Book, LevelBatch
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

    __slots__ = ("venue", "market", "symbol", "book", "events", "stats", "synced",
                 "resyncing", "state", "levels", "pipe", "apply_message")

    def __init__(self, venue, market, events, stats):
        self.venue, self.market, self.symbol = venue, market, market.symbol
        self.book = L2Book()
        self.events, self.stats = events, stats
        self.synced = False
        #: True from a resync request until its snapshot arrives (no second request meanwhile).
        self.resyncing = False
        #: Free slot for the connector's per-book protocol state (printed places, channel id).
        self.state = None
        #: The batch a connector parses each message into (cleared by :meth:`batch`).
        self.levels = market.batch()
        self.pipe = BookPipe(self.book, self.levels, stats, self.symbol, self._sink(events))
        #: ``apply_message(bids, asks, first, last, previous, event_ns, received_ns,
        #: published)``: one message in one call, see :class:`~liqframe.core.BookPipe`.
        self.apply_message = self.pipe.apply

    def _sink(self, events):
        """Where each message's changes go: the host's BookSink for the symbol, else its
        ``on_book_columns``, else a BookDelta per change."""
        book_sink = getattr(events, "book_sink", None)
        sink = book_sink(self.symbol) if book_sink is not None else None
        if sink is None:
            sink = getattr(events, "on_book_columns", None)
        return sink if sink is not None else self._report

    def batch(self):
        """:attr:`levels`, emptied for the next message."""
        levels = self.levels
        levels.clear()
        return levels

    def keep(self):
        """Give :attr:`levels` away (a buffered diff holds it) and parse into a new batch."""
        self.levels = self.pipe.levels = self.market.batch()

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

    def load_message(self, bids, asks, sequence=NO_SEQUENCE, event_ns=0, published=None):
        """:meth:`load` from a snapshot message's bid and ask entries (read as the pipe reads
        them); with the venue's ``published`` checksum, compare it (:meth:`check`): False on a
        mismatch, the book's checksum then in ``pipe.computed``."""
        pipe = self.pipe
        levels = self.batch()
        levels.add(BID, bids, pipe.price, pipe.size)
        levels.add(ASK, asks, pipe.price, pipe.size)
        return self.load_checked(levels, sequence, event_ns, published)

    def load_checked(self, levels, sequence=NO_SEQUENCE, event_ns=0, published=None):
        """:meth:`load`, then compare the venue's ``published`` checksum as
        :meth:`load_message` does."""
        pipe = self.pipe
        self.load(levels, sequence, event_ns)
        if published is None or pipe.checksum is None:
            return True
        pipe.computed = pipe.checksum(self.book)
        return self.check(published if type(published) is int else int(published),
                          pipe.computed)

    def apply(self, changes, first=NO_SEQUENCE, last=NO_SEQUENCE, previous=NO_SEQUENCE,
              event_ns=0, received_ns=0):
        """Apply one message's changes, a :class:`~liqframe.core.LevelBatch` (validated in
        full first: all or none) or ``[(side, price, size), ...]``; False when it was dropped
        as already in the book. Raises SequenceGap (book now stale) when it does not follow."""
        if type(changes) is LevelBatch:
            return self.pipe.apply_levels(changes, first, last, previous, event_ns,
                                          received_ns) != 0
        book = self.book
        if not book.advance(first, last, previous):
            self.stats.stale_dropped += 1
            return False
        apply = book.apply
        for side, price, size in changes:
            apply(side, price, size)
        self.stats.applied += 1
        table = np.array(changes, dtype=np.int64).reshape(-1, 3)
        self.pipe.sink(self.symbol, table[:, 0], table[:, 1], table[:, 2],
                       last if last != NO_SEQUENCE else first, event_ns, received_ns)
        return True

    def _report(self, symbol, sides, prices, sizes, sequence, event_ns, received_ns):
        """Each change as a BookDelta, for a host without ``on_book_columns``."""
        on_delta = self.events.on_delta
        for side, price, size in zip(sides.tolist(), prices.tolist(), sizes.tolist()):
            on_delta(BookDelta(venue=self.venue, symbol=symbol, side=_SIDES[side], price=price,
                               size=size, sequence=sequence, event_ns=event_ns,
                               received_ns=received_ns))

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
