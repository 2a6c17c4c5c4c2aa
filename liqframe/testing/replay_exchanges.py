"""The exchange side of a replay: what each venue does besides sending its recorded frames.

A recording holds one client's view of one session. To let a connector resubscribe, reconnect
or re-fetch a snapshot in the middle of it, the replay server keeps, per venue, a model of the
exchange that watches every recorded frame go by (sent or not) and maintains the venue's true
book from the venue's own strings. From it the model answers:

- which subscription a frame belongs to (:meth:`Exchange.channel`), so frames of channels the
  client has not (or no longer) subscribed are withheld;
- what a client message asks for (:meth:`Exchange.requests`) and the venue's acknowledgement;
- a fresh snapshot of a book at the current point (:meth:`Exchange.snapshot`), in the venue's
  format, with its checksum where the venue sends one (computed here from the strings, as the
  venue documents it, independently of liqframe's book);
- REST replies (:meth:`Exchange.rest`): the recorded one first, then synthesised ones.

These models are test fixtures: they follow each venue's documented behaviour closely enough to
exercise a connector's recovery, not every corner of the venue.
"""

import json
import re
import zlib
from decimal import Decimal
from urllib.parse import parse_qs, urlparse


def _dumps(message):
    return json.dumps(message, separators=(",", ":")).encode()


class LevelBook:
    """A venue book held as the venue's own strings: ``{price text: (value, level)}`` per
    side, where ``level`` is the venue's whole level entry (a list, or a dict for Coinbase)."""

    def __init__(self):
        self.bids, self.asks = {}, {}

    def set(self, side, price, level, size):
        levels = self.bids if side == "bid" else self.asks
        if Decimal(size) == 0:
            levels.pop(price, None)
        else:
            levels[price] = (Decimal(price), level)

    def sorted(self, side, depth=None):
        levels = self.bids if side == "bid" else self.asks
        ordered = sorted(levels.values(), key=lambda entry: entry[0], reverse=side == "bid")
        return [level for _, level in ordered[:depth]]

    def truncate(self, depth):
        """Drop the levels beyond the ``depth`` best of each side."""
        for levels, worst in ((self.bids, min), (self.asks, max)):
            while len(levels) > depth:
                del levels[worst(levels, key=lambda price: levels[price][0])]


class Exchange:
    """A venue that only replays: every frame always delivered, nothing to resubscribe."""

    #: True when the subscription is in the WebSocket URL (Binance): streaming starts at once.
    url_subscribes = False

    def __init__(self, recording):
        self.recording = recording

    def channel(self, message):
        """The subscription a received message belongs to; None for one always delivered."""
        return None

    def observe(self, key, message):
        """Watch a recorded message go by (delivered or not) to keep the true state; may
        return the frame's bytes as this venue would send them now (else None)."""

    def book(self, symbol):
        """The true :class:`LevelBook` of the venue's ``symbol`` at this point (KeyError
        when there is none)."""
        return self.books[symbol]

    def requests(self, message):
        """``[(op, key)]`` asked for by a client message (op is subscribe or unsubscribe)."""
        return []

    def url_channels(self, url):
        return []

    def ack(self, op, key, message):
        """Frames acknowledging ``op`` on ``key`` (``message`` is the client's request)."""
        return []

    def snapshot(self, key):
        """Frames carrying a fresh snapshot of ``key``; empty when it is not a book."""
        return []

    def rest(self, path, query):
        """A synthesised REST reply, or None to serve the recorded one."""
        return None

    def rewrite(self, data, connection):
        """The frame as sent on ``connection`` (per-connection numbering); default: as is."""
        return data


# -- Kraken WebSocket v1 -----------------------------------------------------------------------


class KrakenV1(Exchange):
    """Kraken v1 ``book``: ``[channelID, {"as"/"bs"} or {"a"}/{"b"} updates, "book-N", pair]``.
    Kraken keeps only the subscribed depth: a level pushed below it is dropped silently."""

    def __init__(self, recording):
        super().__init__(recording)
        self.books, self.depth, self.channel_ids = {}, {}, {}

    def channel(self, message):
        if isinstance(message, list):
            return message[-1] if str(message[-2]).startswith("book") else None
        if message.get("event") == "subscriptionStatus":
            self.channel_ids.setdefault(message["pair"], message.get("channelID"))
            return message["pair"]
        return None

    def observe(self, key, message):
        if not isinstance(message, list) or key is None:
            return
        self.depth[key] = int(message[-2].split("-")[1])
        for part in message[1:-2]:
            if "as" in part:
                book = self.books[key] = LevelBook()
                for level in part["as"]:
                    book.set("ask", level[0], level, level[1])
                for level in part["bs"]:
                    book.set("bid", level[0], level, level[1])
                return
            book = self.books[key]
            for level in part.get("a", ()):
                book.set("ask", level[0], level[:3], level[1])
            for level in part.get("b", ()):
                book.set("bid", level[0], level[:3], level[1])
        self.books[key].truncate(self.depth[key])

    def requests(self, message):
        if not isinstance(message, dict) or message.get("event") not in ("subscribe",
                                                                          "unsubscribe"):
            return []
        if message.get("subscription", {}).get("name") != "book":
            return []
        return [(message["event"], pair) for pair in message.get("pair", [])]

    def ack(self, op, key, message):
        depth = message.get("subscription", {}).get("depth", 10)
        return [_dumps({"channelID": self.channel_ids.get(key, 0),
                        "channelName": f"book-{depth}", "event": "subscriptionStatus",
                        "pair": key, "status": f"{op}d",
                        "subscription": {"depth": depth, "name": "book"}})]

    def snapshot(self, key):
        book = self.books.get(key)
        if book is None:
            return []
        depth = self.depth[key]
        return [_dumps([self.channel_ids.get(key, 0),
                        {"as": book.sorted("ask", depth), "bs": book.sorted("bid", depth)},
                        f"book-{depth}", key])]


# -- OKX v5 and Bitget v1 (the same message shape) -------------------------------------------


def interleaved_crc(bids, asks, depth=25):
    """OKX's documented checksum over the strings as sent: ``bid:size:ask:size:...``."""
    parts = []
    for i in range(max(len(bids[:depth]), len(asks[:depth]))):
        if i < len(bids) and i < depth:
            parts += bids[i][:2]
        if i < len(asks) and i < depth:
            parts += asks[i][:2]
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


class OkxV5(Exchange):
    """OKX v5: ``{"arg": {"channel", "instId"}, "action": "snapshot"|"update", "data": [{asks,
    bids, ts, checksum}]}``; subscriptions ``{"op": "subscribe", "args": [...]}``."""

    BOOKS = ("books",)

    def __init__(self, recording, sequenced=False):
        super().__init__(recording)
        self.books, self.args, self.last_ts = {}, {}, {}
        #: With ``sequenced`` each book message gets ``seqId``/``prevSeqId`` as current OKX
        #: sends them (the recordings predate them): per instrument, one up per message.
        self.sequenced, self.seq = sequenced, {}

    def book(self, symbol):
        return self.books[(self.BOOKS[0], symbol)]

    @staticmethod
    def key(arg):
        return (arg.get("channel"), arg.get("instId"))

    def channel(self, message):
        if not isinstance(message, dict) or "arg" not in message:
            return None
        key = self.key(message["arg"])
        self.args.setdefault(key, message["arg"])
        return key

    def observe(self, key, message):
        if key is None or key[0] not in self.BOOKS or "data" not in message:
            return
        for data in message["data"]:
            if message.get("action") == "snapshot":
                self.books[key] = LevelBook()
            book = self.books[key]
            for level in data["asks"]:
                book.set("ask", level[0], level, level[1])
            for level in data["bids"]:
                book.set("bid", level[0], level, level[1])
            self.last_ts[key] = data.get("ts")
        if self.sequenced:
            previous = self.seq.get(key, 1000) if message.get("action") != "snapshot" else -1
            self.seq[key] = self.seq.get(key, 1000) + 1
            for data in message["data"]:
                data["seqId"], data["prevSeqId"] = self.seq[key], previous
            return _dumps(message)
        return None

    def requests(self, message):
        if not isinstance(message, dict) or message.get("op") not in ("subscribe",
                                                                       "unsubscribe"):
            return []
        return [(message["op"], self.key(arg)) for arg in message.get("args", [])]

    def ack(self, op, key, message):
        arg = next((a for a in message.get("args", []) if self.key(a) == key), {})
        return [_dumps({"event": op, "arg": arg})]

    def snapshot(self, key):
        book = self.books.get(key)
        if book is None:
            return []
        asks, bids = book.sorted("ask"), book.sorted("bid")
        data = {"asks": asks, "bids": bids, "ts": self.last_ts.get(key),
                "checksum": interleaved_crc(bids, asks)}
        if self.sequenced:
            data["seqId"], data["prevSeqId"] = self.seq.get(key, 1000), -1
        return [_dumps({"action": "snapshot", "arg": self.args[key], "data": [data]})]


class BitgetV1(OkxV5):
    """Bitget v1 ``books``: OKX's shape and checksum, over fixed-places strings."""


# -- Binance spot and USD-M futures ------------------------------------------------------------


class Binance(Exchange):
    """Binance combined streams (``/stream?streams=a@depth@100ms/...``) and REST depth
    snapshots. The first ``/depth`` request of a symbol gets the recorded reply; later ones a
    snapshot of the true book with ``lastUpdateId`` the last ``u`` that went by."""

    url_subscribes = True

    def __init__(self, recording):
        super().__init__(recording)
        self.books, self.last, self.recorded, self.served = {}, {}, {}, set()
        for url, _, body in recording.http:
            parsed = urlparse(url)
            if parsed.path.endswith("/depth"):
                symbol = parse_qs(parsed.query)["symbol"][0]
                reply = json.loads(body)
                self.recorded[symbol] = body
                book = self.books[symbol] = LevelBook()
                for level in reply["bids"]:
                    book.set("bid", level[0], level, level[1])
                for level in reply["asks"]:
                    book.set("ask", level[0], level, level[1])
                self.last[symbol] = reply["lastUpdateId"]

    def channel(self, message):
        return message.get("stream") if isinstance(message, dict) else None

    def url_channels(self, url):
        streams = parse_qs(urlparse(url).query).get("streams", [""])[0]
        return [s for s in streams.split("/") if s]

    def observe(self, key, message):
        data = message.get("data") if isinstance(message, dict) else None
        if not data or data.get("e") != "depthUpdate" or data["s"] not in self.books:
            return
        symbol = data["s"]
        if data["u"] <= self.last[symbol]:
            return
        book = self.books[symbol]
        for level in data["b"]:
            book.set("bid", level[0], level, level[1])
        for level in data["a"]:
            book.set("ask", level[0], level, level[1])
        self.last[symbol] = data["u"]

    def requests(self, message):
        if isinstance(message, dict) and message.get("method") in ("SUBSCRIBE", "UNSUBSCRIBE"):
            return [(message["method"].lower(), s) for s in message.get("params", [])]
        return []

    def ack(self, op, key, message):
        return [_dumps({"result": None, "id": message.get("id")})]

    def rest(self, path, query):
        if not path.endswith("/depth"):
            return None
        symbol = query.get("symbol", [""])[0]
        if symbol not in self.books:
            return None
        if symbol not in self.served:
            self.served.add(symbol)
            return self.recorded[symbol]
        limit = int(query.get("limit", ["1000"])[0])
        book = self.books[symbol]
        return _dumps({"lastUpdateId": self.last[symbol], "bids": book.sorted("bid", limit),
                       "asks": book.sorted("ask", limit)})


# -- Coinbase Advanced Trade -----------------------------------------------------------------


_SEQUENCE_NUM = re.compile(rb'"sequence_num":(\d+)')


class CoinbaseAdvanced(Exchange):
    """Coinbase Advanced Trade: ``{"channel", "sequence_num", "events": [...]}``; ``l2_data``
    carries ``snapshot``/``update`` events per product. ``sequence_num`` counts every message
    of a connection from 0, so each frame is renumbered as it is sent (a clean replay of the
    recording's single connection leaves every number as recorded)."""

    CHANNELS = {"l2_data": "level2"}

    def __init__(self, recording):
        super().__init__(recording)
        self.books, self.timestamp = {}, ""

    def channel(self, message):
        channel = self.CHANNELS.get(message.get("channel"), message.get("channel"))
        if channel == "level2":
            return ("level2", message["events"][0]["product_id"])
        if channel in (None, "subscriptions"):
            return None
        return (channel,)

    def observe(self, key, message):
        self.timestamp = message.get("timestamp", self.timestamp)
        if key is None or key[0] != "level2":
            return
        for event in message["events"]:
            product = event["product_id"]
            if event["type"] == "snapshot":
                self.books[product] = LevelBook()
            book = self.books[product]
            for update in event["updates"]:
                book.set("bid" if update["side"] == "bid" else "ask", update["price_level"],
                         update, update["new_quantity"])

    def requests(self, message):
        if message.get("type") not in ("subscribe", "unsubscribe"):
            return []
        channel = message.get("channel")
        if channel == "level2":
            return [(message["type"], ("level2", p)) for p in message.get("product_ids", [])]
        return [(message["type"], (channel,))]

    def ack(self, op, key, message):
        return [_dumps({"channel": "subscriptions", "timestamp": self.timestamp,
                        "sequence_num": 0,
                        "events": [{"subscriptions": {key[0]: message.get("product_ids", [])}}]})]

    def snapshot(self, key):
        if key[0] != "level2" or key[1] not in self.books:
            return []
        book = self.books[key[1]]
        updates = book.sorted("bid") + book.sorted("ask")
        event = {"type": "snapshot", "product_id": key[1], "updates": updates}
        return [_dumps({"channel": "l2_data", "client_id": "", "timestamp": self.timestamp,
                        "sequence_num": 0, "events": [event]})]

    def rewrite(self, data, connection):
        number = connection.numbered
        connection.numbered += 1
        match = _SEQUENCE_NUM.search(data)
        if match is None or int(match[1]) == number:
            return data
        connection.renumbered += 1
        return data[:match.start(1)] + str(number).encode() + data[match.end(1):]


def exchange_for(recording):
    """The exchange model for a recording, chosen from its file name (generic otherwise)."""
    name = recording.name.upper()
    for prefix, model in (("KRAKEN.WS", KrakenV1), ("OKX.WS", OkxV5), ("BITGET.WS", BitgetV1),
                          ("BINANCE", Binance), ("COINBASE.JSONL", CoinbaseAdvanced)):
        if name.startswith(prefix):
            return model(recording)
    from liqframe.testing.replay_venues import model_for  # imports this module

    model = model_for(recording)
    return model if model is not None else Exchange(recording)
