"""Bybit v5 public order books (``orderbook.{depth}.{symbol}``).

Protocol rules (Bybit API v5, WebSocket public "Orderbook" topic):

- endpoints ``wss://stream.bybit.com/v5/public/{spot,linear,inverse,option}``; subscribe
  ``{"op": "subscribe", "args": ["orderbook.50.BTCUSDT"]}``, acknowledged by ``{"success":
  true, "op": "subscribe", ...}``; the client sends ``{"op": "ping"}`` every 20 s;
- ``{"topic", "type": "snapshot"|"delta", "ts", "cts", "data": {"s", "b": [[price, size]],
  "a": ..., "u", "seq"}}``; size ``"0"`` deletes a level. A snapshot replaces the book (Bybit
  also sends one unprompted, with ``u`` 1 after a service restart);
- ``u`` is the update id of the book: each delta's ``u`` is the previous message's ``u`` + 1
  (:meth:`liqframe.core.L2Book.advance` with ``first = last = u``); ``seq`` is the
  cross-sequence, which rises from message to message without being contiguous. A delta that
  breaks either is a gap: the topic is unsubscribed and subscribed again for a snapshot.
"""

import asyncio

import orjson

from liqframe.connectors import Market, StreamingConnector, significant_places
from liqframe.core import ASK, BID
from liqframe.errors import SequenceGap

URL = "wss://stream.bybit.com/v5/public/spot"
DEPTHS = (1, 50, 200, 500, 1000)


class BybitConnector(StreamingConnector):
    """Bybit v5 books; ``depth`` is the topic's depth (1, 50, 200, 500 or 1000; which are
    offered depends on the category), ``ping_interval`` seconds between pings (None: none)."""

    kind = "bybit"

    def __init__(self, *, venue, instruments=(), markets, url=URL, depth=50,
                 ping_interval=20.0, **options):
        super().__init__(venue=venue, instruments=instruments, url=url, markets=markets,
                         **options)
        if depth not in DEPTHS:
            raise ValueError(f"depth: {depth!r} is not a Bybit book depth {DEPTHS}")
        self.depth, self.ping_interval = depth, ping_interval
        self._pinger = None

    def topic(self, symbol):
        return f"orderbook.{self.depth}.{symbol}"

    def subscription(self, op, symbols):
        return orjson.dumps({"op": op, "args": [self.topic(s) for s in symbols]})

    async def start(self, events):
        await super().start(events)
        if self.ping_interval:
            self._pinger = asyncio.get_running_loop().create_task(self._ping())

    async def stop(self):
        if self._pinger is not None:
            self._pinger.cancel()
            self._pinger = None
        await super().stop()

    async def _ping(self):
        while True:
            await asyncio.sleep(self.ping_interval)
            await self.session.send(b'{"op":"ping"}')

    def handle(self, data, received_ns):
        message = orjson.loads(data)
        topic = message.get("topic")
        if topic is None or not topic.startswith("orderbook."):
            if message.get("success") is False:
                self.events.on_status(False, f"bybit: {message.get('ret_msg')}")
            return
        book = message["data"]
        feed = self.feeds.get(book["s"])
        if feed is None:
            return
        price, size = feed.market.price, feed.market.size
        update_id, seq = book["u"], book.get("seq")
        event_ns = message.get("ts", 0) * 1_000_000
        if message["type"] == "snapshot":
            feed.snapshot([(price(p), size(s)) for p, s in book["b"]],
                          [(price(p), size(s)) for p, s in book["a"]], update_id, event_ns)
            feed.state = seq
            return
        if not feed.synced:
            return
        try:
            if seq is not None and feed.state is not None and seq <= feed.state:
                feed.invalidate(f"seq {seq} does not rise above {feed.state}")
                raise SequenceGap(f"above {feed.state}", seq,
                                  f"{feed.symbol}: cross sequence {seq} after {feed.state}")
            changes = [(BID, price(p), size(s)) for p, s in book["b"]]
            changes += [(ASK, price(p), size(s)) for p, s in book["a"]]
            feed.apply(changes, update_id, update_id, event_ns=event_ns,
                       received_ns=received_ns)
        except SequenceGap as error:
            self.gap(feed, error)
            return
        feed.state = seq

    @classmethod
    def replay_options(cls, recording, server):
        """Options replaying a recorded Bybit session: its ``orderbook`` topics (depth and
        symbols) and the increments their recorded strings show."""
        found, depth = {}, 50
        for frame in recording.received:
            message = orjson.loads(frame.data)
            topic = message.get("topic", "")
            if not topic.startswith("orderbook."):
                continue
            depth = int(topic.split(".")[1])
            book = message["data"]
            p, s = found.get(book["s"], (0, 0))
            for price, size in book["b"] + book["a"]:
                p, s = max(p, significant_places(price)), max(s, significant_places(size))
            found[book["s"]] = (p, s)
        markets = {s: Market.from_places(s, s, *found[s]).as_option() for s in found}
        return {"venue": "bybit", "url": server.ws_url, "markets": markets, "depth": depth,
                "ping_interval": None, "reconnect_delay": 0.05}
