"""Kraken's public ``book`` channel, WebSocket v1 and v2.

Protocol rules (Kraken's WebSocket documentation):

- v1 (``wss://ws.kraken.com``): ``{"event": "subscribe", "pair": [...], "subscription":
  {"name": "book", "depth": N}}``. A book message is ``[channelID, part(s), "book-N", pair]``:
  a snapshot part has ``as``/``bs``, an update has ``a`` and/or ``b`` parts, the last carrying
  ``c``, the CRC32 of the book after the update. Levels are ``[price, volume, timestamp]``
  decimal strings (``"r"`` marks a republished level); volume 0 deletes.
- v2 (``wss://ws.kraken.com/v2``): ``{"method": "subscribe", "params": {"channel": "book",
  "symbol": [...], "depth": N}}``; ``{"channel": "book", "type": "snapshot"|"update", "data":
  [{"symbol", "bids": [{"price", "qty"}], "asks", "checksum", "timestamp"}]}``. Prices and
  quantities are JSON *numbers*: they are decoded with the standard library keeping each
  number's text, so they reach the book exactly, never through float.
- Kraken keeps only the subscribed depth and does not send the deletion of a level pushed
  below it: the book is truncated to the depth after every update.
- The checksum covers the top 10 asks then bids, each price and size printed with fixed places
  (v1: the places of the book's strings, taken from the snapshot; v2: the pair's
  ``price_precision``/``qty_precision``, which are the market's increments here) with the point
  and leading zeros removed (:func:`liqframe.core.checksum.kraken_checksum`). Every update is
  checked; a mismatch unsubscribes and resubscribes the pair for a new snapshot.
"""

import json

import orjson

from liqframe.connectors import Market, StreamingConnector, places
from liqframe.core import ASK, BID, MISMATCH, NO_SEQUENCE
from liqframe_kraken.trading import KrakenTrader

V1_URL = "wss://ws.kraken.com"

# Paths in a v1 book message [channelID, part(s), "book-N", pair].
PAIR, STATUS, ERROR = (-1,), ("status",), ("errorMessage",)
SNAPSHOT_PART, SNAPSHOT = (1,), (1, "as")
#: By the message's length (one part or two): where its bids, asks, the first bid's and the
#: first ask's timestamps and the checksum are.
UPDATE_PATHS = {
    length: ((last, "b"), (1, "a"), (last, "b", 0, 2), (1, "a", 0, 2), (last, "c"))
    for length, last in ((4, 1), (5, 2))
}


class KrakenConnector(StreamingConnector):
    """Kraken order books over WebSocket v1 or v2 (chosen by ``version``, or by a URL path
    ending in ``/v2``). ``depth`` is the subscribed book depth (10, 25, 100, 500 or 1000)."""

    kind = "kraken"
    trader_class = KrakenTrader  # spot orders when given the option 'trading'

    def __init__(self, *, venue, instruments=(), markets, url=V1_URL, depth=10, version=None,
                 **options):
        super().__init__(venue=venue, instruments=instruments, url=url, markets=markets,
                         **options)
        if depth not in (10, 25, 100, 500, 1000):
            raise ValueError(f"depth: {depth!r} is not a Kraken book depth (10, 25, 100, 500, "
                             "1000)")
        self.depth = depth
        self.version = version or (2 if url.rstrip("/").endswith("/v2") else 1)
        if self.version not in (1, 2):
            raise ValueError(f"version: {version!r} must be 1 or 2")
        self.handle = self._handle_v1 if self.version == 1 else self._handle_v2

    def attach(self, events):
        super().attach(events)
        for feed in self.feeds.values():
            feed.pipe.depth = self.depth
            if self.version == 2:  # v1 takes the places of its snapshot's strings
                feed.pipe.price, feed.pipe.size = "price", "qty"
                feed.pipe.checksum = feed.market.checksum("kraken")

    # -- subscriptions -------------------------------------------------------------------------

    def subscription(self, op, pairs):
        if self.version == 1:
            return orjson.dumps({"event": op, "pair": pairs,
                                 "subscription": {"name": "book", "depth": self.depth}})
        params = {"channel": "book", "symbol": pairs, "depth": self.depth}
        if op == "subscribe":
            params["snapshot"] = True
        return orjson.dumps({"method": op, "params": params})

    # -- v1 ------------------------------------------------------------------------------------

    def _handle_v1(self, data, received_ns):
        frame = self.frame
        frame.parse(data)
        feed = self.feeds.get(frame.text(PAIR, None))
        if feed is None:
            if frame.kind() == "object" and frame.text(STATUS, None) == "error":
                self.events.on_status(False, f"kraken: {frame.text(ERROR, None)}")
            return
        if frame.has(SNAPSHOT):
            self._snapshot_v1(feed, frame.value(SNAPSHOT_PART), received_ns)
            return
        if not feed.synced:
            return
        # One part ({"a"|"b", "c"}) or two ({"a"}, {"b", "c"}); "c" comes last.
        bids, asks, bid_time, ask_time, published = UPDATE_PATHS[frame.length()]
        levels = feed.batch()
        frame.sides(levels, bids, asks)
        event_ns = frame.decimal(bid_time, 9, None)
        if event_ns is None:
            event_ns = frame.decimal(ask_time, 9, 0)
        if feed.pipe.apply_levels(
                levels, NO_SEQUENCE, NO_SEQUENCE, NO_SEQUENCE, event_ns, received_ns,
                frame.integer(published, None) if self.verify_checksums else None) == MISMATCH:
            self.checksum_failed(feed, frame.integer(published), feed.pipe.computed)

    def _snapshot_v1(self, feed, first, received_ns):
        asks, bids = first["as"], first["bs"]
        sample = (asks or bids)[0] if asks or bids else ["0", "0"]
        feed.state = (places(sample[0]), places(sample[1]))
        feed.pipe.checksum = feed.market.checksum("kraken", *feed.state)
        levels = feed.batch()
        levels.add(BID, bids)
        levels.add(ASK, asks)
        feed.load(levels, event_ns=received_ns)

    # -- v2 ------------------------------------------------------------------------------------

    def _handle_v2(self, data, received_ns):
        # Numbers keep their text: Kraken v2 sends prices and sizes as JSON numbers.
        message = json.loads(data, parse_float=str, parse_int=str)
        if message.get("channel") != "book":
            if message.get("success") is False:
                self.events.on_status(False, f"kraken: {message.get('error')}")
            return
        snapshot = message.get("type") == "snapshot"
        for entry in message["data"]:
            feed = self.feeds.get(entry["symbol"])
            if feed is None:
                continue
            published = entry.get("checksum") if self.verify_checksums else None
            if snapshot:
                if not feed.load_message(entry["bids"], entry["asks"], NO_SEQUENCE,
                                         received_ns, published):
                    self.checksum_failed(feed, published, feed.pipe.computed)
            elif feed.synced and feed.apply_message(
                    entry["bids"], entry["asks"], NO_SEQUENCE, NO_SEQUENCE, NO_SEQUENCE,
                    received_ns, received_ns, published) == MISMATCH:
                self.checksum_failed(feed, published, feed.pipe.computed)

    # -- replaying a recording ----------------------------------------------------------------

    @classmethod
    def replay_options(cls, recording, server):
        """Options replaying a recorded Kraken v1 session: the pairs and depth of its
        subscription, increments from the ``KRAKEN.0`` AssetPairs reply beside it (or, without
        one, the places of the recorded strings)."""
        request = next((json.loads(f.data) for f in recording.sent
                        if b'"subscribe"' in f.data and b'"book"' in f.data), None)
        if request is None:
            raise ValueError("the recording has no Kraken book subscription")
        pairs = request.get("pair") or request.get("params", {}).get("symbol")
        depth = request.get("subscription", request.get("params", {})).get("depth", 10)
        decimals = asset_pair_decimals(recording) or recorded_places(recording)
        markets = {pair: Market.from_places(pair, pair, *decimals[pair]).as_option()
                   for pair in pairs}
        return {"venue": "kraken", "url": server.ws_url, "markets": markets, "depth": depth,
                "reconnect_delay": 0.05}


def asset_pair_decimals(recording):
    """``wsname -> (pair_decimals, lot_decimals)`` from the ``KRAKEN.0`` AssetPairs recording
    beside the recording, or None when there is none."""
    path = recording.path.parent / "KRAKEN.0" if recording.path else None
    if path is None or not path.exists():
        return None
    with open(path, encoding="utf-8") as lines:
        body = lines.readline().partition(" -> ")[2].partition(": ")[2]
    return {p["wsname"]: (p["pair_decimals"], p["lot_decimals"])
            for p in json.loads(body)["result"].values() if "wsname" in p}


def recorded_places(recording):
    """``pair -> (price places, size places)``: the most places any recorded level prints."""
    found = {}
    for frame in recording.received:
        message = json.loads(frame.data)
        if not isinstance(message, list):
            continue
        pair = message[-1]
        for part in message[1:-2]:
            for key in ("as", "bs", "a", "b"):
                for level in part.get(key, ()):
                    p, s = found.get(pair, (0, 0))
                    found[pair] = (max(p, places(level[0])), max(s, places(level[1])))
    return found
