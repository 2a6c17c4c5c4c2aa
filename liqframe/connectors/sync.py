"""Snapshot-and-diff synchronisation for venues whose snapshot comes over REST (Binance).

The venue streams diffs; the client buffers them, fetches a snapshot carrying the id of the
last change it contains, drops the buffered diffs already in it, and applies the rest in
order, each checked against the previous one. :class:`SnapshotSync` does this for one
:class:`~liqframe.connectors.feed.BookFeed`, with the drop and chain rules of
:meth:`liqframe.core.L2Book.advance`; the venue supplies ``fetch()``, a coroutine returning
``(bids, asks, sequence)`` in ticks and lots, where ``sequence`` is already mapped onto
``advance``'s rule (for instance Binance futures' ``lastUpdateId - 1``).

A diff is ``(changes, first, last, previous, event_ns, received_ns)``. On a gap the book turns
stale, the buffer restarts with the diff that broke the chain, and a new snapshot is fetched.

``bridges(diff, sequence)``, when given, says that the first diff after a snapshot of
``sequence`` chains directly onto it although ``advance`` would not see it (Binance futures:
``pu == lastUpdateId`` when the snapshot ended exactly where an event already seen ended).
"""

import asyncio

from liqframe.core import NO_SEQUENCE
from liqframe.errors import SequenceGap


class SnapshotSync:
    """Buffer ``feed``'s diffs until a fetched snapshot bridges them; see the module docstring.

    ``connector`` is the owning :class:`~liqframe.connectors.base.StreamingConnector` (for its
    stats, task spawning and status reports); ``max_buffer`` bounds the diffs held while a
    snapshot is on its way (the oldest are discarded: the snapshot will be newer anyway).
    """

    __slots__ = ("feed", "connector", "fetch", "buffer", "max_buffer", "fetching", "retry",
                 "bridges", "fresh", "generation")

    def __init__(self, feed, connector, fetch, max_buffer=10_000, retry=0.5, bridges=None):
        self.feed, self.connector, self.fetch = feed, connector, fetch
        self.buffer = []
        self.max_buffer, self.retry = max_buffer, retry
        self.fetching = False
        self.bridges = bridges
        self.fresh = False  # a snapshot was applied and no diff since
        self.generation = 0  # bumped by restart(): a snapshot fetched before is worthless

    def diff(self, diff):
        """One diff from the stream, in arrival order."""
        if self.feed.synced:
            self._apply(diff)
            return
        self.buffer.append(diff)
        if len(self.buffer) > self.max_buffer:
            del self.buffer[0]
        if not self.fetching:
            self.fetching = True
            self.connector.spawn(self._resync())

    def restart(self, reason):
        """Throw the book away (a reconnect, a bad message) and sync again from the stream;
        a snapshot already on its way is discarded, as it may predate the new stream."""
        self.generation += 1
        self.buffer.clear()
        return self.feed.invalidate(reason)

    def _apply(self, diff):
        changes, first, last, previous, event_ns, received_ns = diff
        if self.fresh:
            sequence = self.feed.book.sequence
            if self.bridges is not None and sequence is not None and last > sequence \
                    and self.bridges(diff, sequence):
                first, previous = sequence + 1, NO_SEQUENCE
        try:
            if self.feed.apply(changes, first, last, previous, event_ns, received_ns):
                self.fresh = False
        except SequenceGap as error:
            stats = self.connector.stats
            stats.gaps += 1
            stats.resyncs += 1
            self.feed.invalidate(str(error))
            self.feed.resyncing = True
            self.buffer = [diff]
            if not self.fetching:
                self.fetching = True
                self.connector.spawn(self._resync())

    async def _resync(self):
        try:
            while True:
                generation = self.generation
                try:
                    bids, asks, sequence = await self.fetch()
                except Exception as error:  # noqa: BLE001 - any failure: report and retry
                    self.connector.events.on_status(
                        False, f"{self.feed.symbol}: snapshot request failed ({error}); retrying")
                    await asyncio.sleep(self.retry)
                    continue
                if generation != self.generation:
                    if not self.buffer:
                        return  # the next diff starts a new fetch
                    continue
                self.feed.snapshot(bids, asks, sequence)
                self.fresh = True
                pending, self.buffer = self.buffer, []
                for diff in pending:
                    if not self.feed.synced:
                        self.buffer.append(diff)
                    else:
                        self._apply(diff)
                if self.feed.synced:
                    return
                # A buffered diff did not follow the snapshot: fetch again, a little later.
                await asyncio.sleep(self.retry)
        finally:
            self.fetching = False
