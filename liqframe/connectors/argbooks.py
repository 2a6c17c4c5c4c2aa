"""The book protocol OKX v5 and Bitget v1 share: ``{"op": "subscribe", "args": [{...,
"channel", "instId"}]}`` requests, ``{"arg": {...}, "action": "snapshot"|"update", "data":
[{"bids", "asks", "ts", "checksum", ...}]}`` messages, ``"ping"``/``"pong"`` text frames, and a
checksum over the top of the book that resubscribes the instrument when it fails.

A venue's connector sets :attr:`ArgBooksConnector.kind` (also the checksum rule),
:attr:`~ArgBooksConnector.sequenced` (whether entries carry ``seqId``/``prevSeqId``) and, when
its subscription arguments hold more than channel and instrument, overrides
:meth:`~ArgBooksConnector.arg`.

Nearly every message is an update of one entry to a book in sync: :attr:`update_plan` says
where its parts are, and :meth:`liqframe.core.Frame.apply_update` parses, reads and applies it
in one call. Everything else (snapshots, several entries, a book out of sync, error events,
other channels) goes through :meth:`~ArgBooksConnector.handle_parsed` on the parsed frame.
"""

import orjson

from liqframe.connectors.base import StreamingConnector
from liqframe.core import MISMATCH, NO_SEQUENCE, UpdatePlan
from liqframe.errors import SequenceGap


class ArgBooksConnector(StreamingConnector):
    #: Entries carry ``seqId``/``prevSeqId``: each update's ``prevSeqId`` is the previous
    #: entry's ``seqId`` (checked by :meth:`liqframe.core.L2Book.advance`).
    sequenced = False

    def __init__(self, *, venue, instruments=(), markets, url, channel="books", **options):
        super().__init__(venue=venue, instruments=instruments, url=url, markets=markets,
                         **options)
        self.channel = channel
        fields, bids, asks = self.entry((), snapshot=False)
        #: Where an update of one entry keeps its parts, for Frame.apply_update.
        self.update_plan = UpdatePlan(((CHANNEL, channel), (ACTION, "update")), INSTRUMENT,
                                      DATA, fields, bids, asks)
        # The entries a message usually has, worked out once for the general path.
        self._snapshot_entries = [self.entry(("data", i), snapshot=True) for i in range(4)]
        self._update_entries = [self.entry(("data", i), snapshot=False) for i in range(4)]

    def arg(self, instrument):
        """One subscription argument."""
        return {"channel": self.channel, "instId": instrument}

    def subscription(self, op, symbols):
        return orjson.dumps({"op": op, "args": [self.arg(s) for s in symbols]})

    def attach(self, events):
        super().attach(events)
        for feed in self.feeds.values():
            feed.pipe.checksum = feed.market.checksum(self.kind)

    def entry(self, at, snapshot):
        """``(fields, bids, asks)`` of the data entry at path ``at``: the
        :class:`~liqframe.core.UpdatePlan` fields (``seqId`` as first and last sequence id,
        ``prevSeqId`` of an update, ``ts`` in nanoseconds, ``checksum``; each read only when
        this connector uses it) and the paths of its bids and asks."""
        sequence = (*at, "seqId") if self.sequenced else None
        previous = (*at, "prevSeqId") if self.sequenced and not snapshot else None
        return (((sequence, "integer", NO_SEQUENCE), (sequence, "integer", NO_SEQUENCE),
                 (previous, "integer", NO_SEQUENCE), ((*at, "ts"), 6, 0),
                 ((*at, "checksum") if self.verify_checksums else None, "integer", None)),
                (*at, "bids"), (*at, "asks"))

    def handle(self, data, received_ns):
        if data == "pong":
            return
        frame = self.frame
        try:
            result = frame.apply_update(data, self.update_plan, self.feeds, received_ns)
        except SequenceGap as error:
            self.gap(self.feeds[frame.text(INSTRUMENT)], error)
            return
        if result is None:
            self.handle_parsed(frame, received_ns)
        elif result == MISMATCH:
            feed = self.feeds[frame.text(INSTRUMENT)]
            self.checksum_failed(feed, frame.integer(("data", 0, "checksum")),
                                 feed.pipe.computed)

    def handle_parsed(self, frame, received_ns):
        """Whatever :meth:`handle` did not apply at once: snapshots, error events, updates
        of several entries or to a book out of sync (dropped), other channels (ignored)."""
        channel, instrument, action, count = frame.fields(HEADER)
        if channel != self.channel or count is None:
            if frame.text(EVENT, None) == "error":
                self.events.on_status(False, f"{self.kind}: {frame.value(MESSAGE, None)}")
            return
        feed = self.feeds.get(instrument)
        if feed is None:
            return
        snapshot = action == "snapshot"
        entries = self._snapshot_entries if snapshot else self._update_entries
        for index in range(count):
            fields, bids, asks = entries[index] if index < len(entries) else \
                self.entry(("data", index), snapshot)
            sequence, _, previous, event_ns, published = frame.fields(fields)
            if not snapshot and not feed.synced:
                return
            levels = feed.batch()
            frame.sides(levels, bids, asks)
            if snapshot:
                if not feed.load_checked(levels, sequence, event_ns, published):
                    self.checksum_failed(feed, published, feed.pipe.computed)
                    return
                continue
            try:
                result = feed.pipe.apply_levels(levels, sequence, sequence, previous, event_ns,
                                                received_ns, published)
            except SequenceGap as error:
                self.gap(feed, error)
                return
            if result == MISMATCH:
                self.checksum_failed(feed, published, feed.pipe.computed)
                return


# Where the fields of a book message are.
CHANNEL, INSTRUMENT, ACTION, DATA = ("arg", "channel"), ("arg", "instId"), ("action",), ("data",)
HEADER = ((CHANNEL, "text", None), (INSTRUMENT, "text", None), (ACTION, "text", None),
          (DATA, "length", None))
EVENT, MESSAGE = ("event",), ("msg",)
