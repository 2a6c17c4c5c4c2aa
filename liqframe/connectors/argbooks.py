"""The book protocol OKX v5 and Bitget v1 share: ``{"op": "subscribe", "args": [{...,
"channel", "instId"}]}`` requests, ``{"arg": {...}, "action": "snapshot"|"update", "data":
[{"bids", "asks", "ts", "checksum", ...}]}`` messages, ``"ping"``/``"pong"`` text frames, and a
checksum over the top of the book that resubscribes the instrument when it fails.

A venue's connector sets :attr:`ArgBooksConnector.kind` (also the checksum rule),
:attr:`~ArgBooksConnector.sequenced` (whether entries carry ``seqId``/``prevSeqId``) and, when
its subscription arguments hold more than channel and instrument, overrides
:meth:`~ArgBooksConnector.arg`.
"""

import orjson

from liqframe.connectors.base import StreamingConnector
from liqframe.core import MISMATCH, NO_SEQUENCE
from liqframe.errors import SequenceGap


class ArgBooksConnector(StreamingConnector):
    #: Entries carry ``seqId``/``prevSeqId``: each update's ``prevSeqId`` is the previous
    #: entry's ``seqId`` (checked by :meth:`liqframe.core.L2Book.advance`).
    sequenced = False

    def __init__(self, *, venue, instruments=(), markets, url, channel="books", **options):
        super().__init__(venue=venue, instruments=instruments, url=url, markets=markets,
                         **options)
        self.channel = channel

    def arg(self, instrument):
        """One subscription argument."""
        return {"channel": self.channel, "instId": instrument}

    def subscription(self, op, symbols):
        return orjson.dumps({"op": op, "args": [self.arg(s) for s in symbols]})

    def attach(self, events):
        super().attach(events)
        for feed in self.feeds.values():
            feed.pipe.checksum = feed.market.checksum(self.kind)

    def handle(self, data, received_ns):
        if data == "pong":
            return
        frame = self.frame
        frame.parse(data)
        if frame.text(CHANNEL, None) != self.channel or not frame.has(DATA):
            if frame.text(EVENT, None) == "error":
                self.events.on_status(False, f"{self.kind}: {frame.value(MESSAGE, None)}")
            return
        feed = self.feeds.get(frame.text(INSTRUMENT))
        if feed is None:
            return
        snapshot = frame.text(ACTION, None) == "snapshot"
        verify, sequenced = self.verify_checksums, self.sequenced
        for index in range(frame.length(DATA)):
            bids, asks, seq_id, prev_seq_id, ts, checksum = entry_paths(index)
            sequence = frame.integer(seq_id, NO_SEQUENCE) if sequenced else NO_SEQUENCE
            event_ns = frame.decimal(ts, 6, 0)
            published = frame.integer(checksum, None) if verify else None
            if not snapshot and not feed.synced:
                return
            levels = feed.batch()
            frame.sides(levels, bids, asks)
            if snapshot:
                if not feed.load_checked(levels, sequence, event_ns, published):
                    self.checksum_failed(feed, published, feed.pipe.computed)
                    return
                continue
            previous = frame.integer(prev_seq_id, NO_SEQUENCE) if sequenced else NO_SEQUENCE
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
CHANNEL, INSTRUMENT, ACTION = ("arg", "channel"), ("arg", "instId"), ("action",)
DATA, EVENT, MESSAGE = ("data",), ("event",), ("msg",)


def _entry_paths(index):
    return tuple(("data", index, field) for field in
                 ("bids", "asks", "seqId", "prevSeqId", "ts", "checksum"))


_ENTRY_PATHS = [_entry_paths(index) for index in range(4)]


def entry_paths(index):
    """Where the ``index``-th data entry's bids, asks, seqId, prevSeqId, ts and checksum are."""
    return _ENTRY_PATHS[index] if index < 4 else _entry_paths(index)
