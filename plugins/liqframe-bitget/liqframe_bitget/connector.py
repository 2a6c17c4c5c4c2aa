"""Bitget v1 public order books (``books``, ``books5``, ``books15``), spot and futures.

Protocol rules (Bitget API v1 WebSocket):

- spot ``wss://ws.bitget.com/spot/v1/stream`` (``instType`` ``SP``), futures
  ``wss://ws.bitget.com/mix/v1/stream`` (``MC``); subscribe ``{"op": "subscribe", "args":
  [{"instType": "SP", "channel": "books", "instId": "BTCUSDT"}]}``; keep-alive ``"ping"`` /
  ``"pong"`` text frames;
- ``{"action": "snapshot"|"update", "arg": {...}, "data": [{"asks": [[px, sz]], "bids",
  "checksum", "ts"}]}``; size 0 deletes;
- ``checksum``: OKX's algorithm (signed CRC32 of the top 25 levels interleaved
  ``bid:size:ask:size``) over Bitget's strings, which print every number with the instrument's
  fixed places (``"3.040"``): :func:`liqframe.core.checksum.bitget_checksum` with the market's
  decimals. Bitget v1 books carry no sequence ids, so the checksum is the only guard; a
  mismatch resubscribes the instrument.
"""

import orjson

from liqframe.connectors import Market, places
from liqframe.connectors.argbooks import ArgBooksConnector

URL = "wss://ws.bitget.com/spot/v1/stream"


class BitgetConnector(ArgBooksConnector):
    """Bitget v1 books; ``inst_type`` is ``SP`` (spot) or ``MC`` (USDT futures)."""

    kind = "bitget"

    def __init__(self, *, venue, instruments=(), markets, url=URL, inst_type="SP",
                 channel="books", **options):
        super().__init__(venue=venue, instruments=instruments, url=url, markets=markets,
                         channel=channel, **options)
        self.inst_type = inst_type

    def arg(self, instrument):
        return {"instType": self.inst_type, "channel": self.channel, "instId": instrument}

    @classmethod
    def replay_options(cls, recording, server):
        """Options replaying a recorded Bitget session: its ``books`` instruments and
        ``instType``, with the fixed places the recorded strings print."""
        sent = next((f.data for f in recording.sent if b'"books"' in f.data), None)
        if sent is None:
            raise ValueError("the recording has no Bitget books subscription")
        request = orjson.loads(sent)
        args = [a for a in request["args"] if a["channel"] == "books"]
        found = recorded_places(recording)
        markets = {a["instId"]: Market.from_places(a["instId"], a["instId"],
                                                   *found[a["instId"]]).as_option()
                   for a in args if a["instId"] in found}
        return {"venue": "bitget", "url": server.ws_url, "markets": markets,
                "inst_type": args[0]["instType"], "reconnect_delay": 0.05}


def recorded_places(recording):
    """``instId -> (price places, size places)`` as Bitget prints them in ``books``."""
    found = {}
    for frame in recording.received:
        if frame.data == b"pong":
            continue
        message = orjson.loads(frame.data)
        if not isinstance(message, dict) or message.get("arg", {}).get("channel") != "books":
            continue
        for entry in message.get("data", ()):
            for level in entry["asks"] + entry["bids"]:
                p, s = found.get(message["arg"]["instId"], (0, 0))
                found[message["arg"]["instId"]] = (max(p, places(level[0])),
                                                   max(s, places(level[1])))
    return found
