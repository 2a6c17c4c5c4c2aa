"""Coinbase Advanced Trade ``level2`` order books.

Protocol rules (Coinbase Advanced Trade WebSocket docs):

- ``wss://advanced-trade-ws.coinbase.com``; one subscription per channel: ``{"type":
  "subscribe", "product_ids": [...], "channel": "level2"}`` (``heartbeats`` keeps a quiet
  connection open);
- every message has ``sequence_num``, counting all messages of the connection from 0 whatever
  their channel: a number that is not the previous plus one means a message was lost, and as
  it could have been any book's, every book is resubscribed (``unsubscribe`` then
  ``subscribe``, which brings a new snapshot);
- ``{"channel": "l2_data", "events": [{"type": "snapshot"|"update", "product_id", "updates":
  [{"side": "bid"|"offer", "price_level", "new_quantity", "event_time"}]}]}``; quantity 0
  deletes. There is no checksum.
"""

import orjson

from liqframe.connectors import ConnectionSequence, Market, StreamingConnector
from liqframe.core import ASK, BID, NO_SEQUENCE
from liqframe_coinbase.trading import CoinbaseTrader

URL = "wss://advanced-trade-ws.coinbase.com"
SIDES = {"bid": BID, "offer": ASK, "ask": ASK}
SEQUENCE_NUM, CHANNEL, EVENTS = ("sequence_num",), ("channel",), ("events",)


def _event_paths(index):
    return ("events", index, "product_id"), ("events", index, "updates"), ("events", index, "type")


_EVENT_PATHS = [_event_paths(index) for index in range(8)]


def event_paths(index):
    """Where the ``index``-th event's product, updates and type are."""
    return _EVENT_PATHS[index] if index < 8 else _event_paths(index)


class CoinbaseConnector(StreamingConnector):
    """Coinbase Advanced Trade books; ``channels`` are the channels subscribed on the one
    connection (their messages all count in ``sequence_num``)."""

    kind = "coinbase"
    trader_class = CoinbaseTrader  # orders when given the option 'trading' (CDP key, ES256)

    def __init__(self, *, venue, instruments=(), markets, url=URL,
                 channels=("level2", "heartbeats"), **options):
        super().__init__(venue=venue, instruments=instruments, url=url, markets=markets,
                         **options)
        if "level2" not in channels:
            raise ValueError(f"channels: {list(channels)!r} must include 'level2'")
        self.channels = list(channels)
        self.chain = ConnectionSequence()

    def subscription(self, op, products, channel="level2"):
        return orjson.dumps({"type": op, "product_ids": products, "channel": channel})

    async def subscribe(self, session):
        for channel in self.channels:
            await session.send(self.subscription("subscribe", list(self.feeds), channel))

    def connection_lost(self):
        self.chain.reset()

    def handle(self, data, received_ns):
        frame = self.frame
        frame.parse(data)
        number = frame.integer(SEQUENCE_NUM, None)
        if number is not None and not self.chain.check(number):
            self.stats.gaps += 1
            for feed in self.feeds.values():
                self.resync(feed, f"message lost before sequence_num {number}")
        if frame.text(CHANNEL, None) != "l2_data":
            return
        for index in range(frame.length(EVENTS)):
            product, updates, kind = event_paths(index)
            feed = self.feeds.get(frame.text(product))
            if feed is None:
                continue
            levels = feed.batch()
            frame.levels_sided(updates, levels, "side", SIDES, "price_level", "new_quantity")
            if frame.text(kind) == "snapshot":
                feed.load(levels, event_ns=received_ns)
            elif feed.synced:
                feed.pipe.apply_levels(levels, NO_SEQUENCE, NO_SEQUENCE, NO_SEQUENCE, 0,
                                       received_ns)

    @classmethod
    def replay_options(cls, recording, server):
        """Options replaying a recorded Advanced Trade session: the channels and products it
        subscribed, with the increments of the recorded ``products`` REST reply."""
        requests = [orjson.loads(f.data) for f in recording.sent]
        channels = [r["channel"] for r in requests if r.get("type") == "subscribe"]
        level2 = next((r for r in requests if r.get("channel") == "level2"), None)
        if level2 is None:
            raise ValueError("the recording has no Coinbase level2 subscription")
        increments = {}
        for url, _, body in recording.http:
            if url.endswith("/products"):
                for product in orjson.loads(body)["products"]:
                    increments[product["product_id"]] = (product["price_increment"],
                                                         product["base_increment"])
        markets = {p: Market(p, p, *increments[p]).as_option() for p in level2["product_ids"]}
        return {"venue": "coinbase", "url": server.ws_url, "markets": markets,
                "channels": channels, "reconnect_delay": 0.05}
