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

from liqframe.connectors import Market, significant_places
from liqframe.connectors.argbooks import ArgBooksConnector

URL = "wss://ws.okx.com:8443/ws/v5/public"


class OkxConnector(ArgBooksConnector):
    """OKX v5 books; ``channel`` is the book channel to subscribe (default ``books``)."""

    kind = "okx"
    sequenced = True

    def __init__(self, *, venue, instruments=(), markets, url=URL, channel="books", **options):
        super().__init__(venue=venue, instruments=instruments, url=url, markets=markets,
                         channel=channel, **options)

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
