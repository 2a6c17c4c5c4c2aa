"""OKX v5 public order books (``books``, ``books5``, ``books50-l2-tbt``, ``books-l2-tbt``).

Protocol rules (OKX API v5, WebSocket order book channel):

- subscribe ``{"op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]}``;
- a book message is ``{"arg": {...}, "action": "snapshot"|"update", "data": [{"asks": [[px,
  sz, "0", orders]], "bids": ..., "ts", "checksum", "seqId", "prevSeqId"}]}``, size 0 deletes;
- ``seqId``/``prevSeqId`` (where present; older feeds lack them): each update's ``prevSeqId``
  is the previous message's ``seqId``; a snapshot has ``prevSeqId`` -1; ``seqId`` may equal
  ``prevSeqId`` (no change) or drop below it after a sequence reset, while the chain holds.
  This is :meth:`liqframe.core.L2Book.advance` with ``first = last = seqId`` and ``previous =
  prevSeqId``; a break resubscribes the instrument;
- ``checksum`` (where present): signed CRC32 of the top 25 levels interleaved
  ``bid:size:ask:size``, numbers in the shortest form OKX sends
  (:func:`liqframe.core.checksum.okx_checksum`); a mismatch resubscribes the instrument.
"""

import orjson

from liqframe.connectors import Market, StreamingConnector, significant_places
from liqframe.core import MISMATCH, NO_SEQUENCE, to_units
from liqframe.errors import SequenceGap

URL = "wss://ws.okx.com:8443/ws/v5/public"


class OkxConnector(StreamingConnector):
    """OKX v5 books; ``channel`` is the book channel to subscribe (default ``books``)."""

    kind = "okx"

    def __init__(self, *, venue, instruments=(), markets, url=URL, channel="books", **options):
        super().__init__(venue=venue, instruments=instruments, url=url, markets=markets,
                         **options)
        self.channel = channel

    def _request(self, op, ids):
        return orjson.dumps({"op": op, "args": [{"channel": self.channel, "instId": i}
                                                for i in ids]})

    def attach(self, events):
        super().attach(events)
        for feed in self.feeds.values():
            feed.pipe.checksum = feed.market.checksum("okx")

    async def subscribe(self, session):
        await session.send(self._request("subscribe", list(self.feeds)))

    async def resubscribe(self, feed):
        ids = [feed.market.venue_symbol]
        await self.session.send(self._request("unsubscribe", ids))
        await self.session.send(self._request("subscribe", ids))

    def handle(self, data, received_ns):
        if data == "pong":
            return
        message = orjson.loads(data)
        arg = message.get("arg")
        if arg is None or arg.get("channel") != self.channel or "data" not in message:
            if message.get("event") == "error":
                self.events.on_status(False, f"okx: {message.get('msg')}")
            return
        feed = self.feeds.get(arg["instId"])
        if feed is None:
            return
        snapshot = message.get("action") == "snapshot"
        verify = self.verify_checksums
        for entry in message["data"]:
            sequence = entry.get("seqId", NO_SEQUENCE)
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
            try:
                result = feed.apply_message(entry["bids"], entry["asks"], sequence, sequence,
                                            entry.get("prevSeqId", NO_SEQUENCE), event_ns,
                                            received_ns, published)
            except SequenceGap as error:
                self.gap(feed, error)
                return
            if result == MISMATCH:
                self.checksum_failed(feed, published, feed.pipe.computed)
                return

    @classmethod
    def replay_options(cls, recording, server):
        """Options replaying a recorded OKX session: its ``books`` instruments, with the
        increments the recorded strings show (OKX prints the shortest form, so the most
        significant places seen per instrument)."""
        found = recorded_places(recording, "books")
        markets = {i: Market.from_places(i, i, *found[i]).as_option() for i in found}
        return {"venue": "okx", "url": server.ws_url, "markets": markets,
                "reconnect_delay": 0.05}


def recorded_places(recording, channel):
    """``instId -> (price places, size places)`` over every level of ``channel`` recorded."""
    found = {}
    for frame in recording.received:
        message = orjson.loads(frame.data)
        if not isinstance(message, dict) or message.get("arg", {}).get("channel") != channel:
            continue
        instrument = message["arg"]["instId"]
        for entry in message.get("data", ()):
            for level in entry["asks"] + entry["bids"]:
                p, s = found.get(instrument, (0, 0))
                found[instrument] = (max(p, significant_places(level[0])),
                                     max(s, significant_places(level[1])))
    return found
