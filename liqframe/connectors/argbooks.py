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
from liqframe.core import MISMATCH, NO_SEQUENCE, to_units
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
        message = orjson.loads(data)
        arg = message.get("arg")
        if arg is None or arg.get("channel") != self.channel or "data" not in message:
            if message.get("event") == "error":
                self.events.on_status(False, f"{self.kind}: {message.get('msg')}")
            return
        feed = self.feeds.get(arg["instId"])
        if feed is None:
            return
        snapshot = message.get("action") == "snapshot"
        verify = self.verify_checksums
        for entry in message["data"]:
            sequence = entry.get("seqId", NO_SEQUENCE) if self.sequenced else NO_SEQUENCE
            event_ns = to_units(entry["ts"], 6) if "ts" in entry else 0
            published = entry.get("checksum") if verify else None
            if snapshot:
                if not feed.load_message(entry["bids"], entry["asks"], sequence, event_ns,
                                         published):
                    self.checksum_failed(feed, published, feed.pipe.computed)
                    return
                continue
            if not feed.synced:
                return
            previous = entry.get("prevSeqId", NO_SEQUENCE) if self.sequenced else NO_SEQUENCE
            try:
                result = feed.apply_message(entry["bids"], entry["asks"], sequence, sequence,
                                            previous, event_ns, received_ns, published)
            except SequenceGap as error:
                self.gap(feed, error)
                return
            if result == MISMATCH:
                self.checksum_failed(feed, published, feed.pipe.computed)
                return
