"""BitMEX ``orderBookL2`` books: levels keyed by id, maintained by partial / insert / update /
delete.

Protocol rules (BitMEX WebSocket API, "orderBookL2" subscription):

- subscribe ``{"op": "subscribe", "args": ["orderBookL2:XBTUSD", ...]}`` (``orderBookL2_25``
  for the top 25 levels); the venue acknowledges each with ``{"success": true, "subscribe":
  ...}``;
- ``{"table": "orderBookL2", "action": ..., "data": [{"symbol", "id", "side", "size",
  "price"}]}``. ``partial`` is the whole book and replaces it; ``insert`` adds new levels
  (with price); ``update`` gives a level's new ``size`` by ``id`` (its price comes from the
  level's insert, or from the update itself where the venue includes it); ``delete`` removes
  levels by ``id``. Messages before the ``partial`` are dropped;
- there are no sequence numbers: the book's consistency is its ids. An ``update`` or
  ``delete`` of an id the book does not hold, or an ``insert`` of one it already holds,
  means a message was lost or damaged: it is counted as a gap and the table is unsubscribed
  and subscribed again for a new ``partial``. Prices are JSON numbers, read from their text.
"""

import orjson

from liqframe.connectors import Market, StreamingConnector
from liqframe.connectors.numbers import decimal_places, loads_exact
from liqframe.core import ASK, BID
from liqframe.errors import SequenceGap

URL = "wss://ws.bitmex.com/realtime"
SIDES = {"Buy": BID, "Sell": ASK}


class BitmexConnector(StreamingConnector):
    """BitMEX books; ``table`` is ``orderBookL2`` (full depth) or ``orderBookL2_25``."""

    kind = "bitmex"

    def __init__(self, *, venue, instruments=(), markets, url=URL, table="orderBookL2",
                 **options):
        super().__init__(venue=venue, instruments=instruments, url=url, markets=markets,
                         **options)
        if table not in ("orderBookL2", "orderBookL2_25"):
            raise ValueError(f"table: {table!r} must be orderBookL2 or orderBookL2_25")
        self.table = table

    def subscription(self, op, symbols):
        return orjson.dumps({"op": op, "args": [f"{self.table}:{s}" for s in symbols]})

    def handle(self, data, received_ns):
        if data == "pong":
            return
        message = loads_exact(data)
        if message.get("table") != self.table:
            if "error" in message:
                self.events.on_status(False, f"bitmex: {message['error']}")
            return
        action, entries = message["action"], message["data"]
        if action == "partial":
            symbol = message.get("filter", {}).get("symbol")
            symbol = entries[0]["symbol"] if entries else symbol
            feed = self.feeds.get(symbol)
            if feed is not None:
                self._partial(feed, entries)
            return
        start = 0
        for end in range(1, len(entries) + 1):  # one run of entries per symbol
            if end == len(entries) or entries[end]["symbol"] != entries[start]["symbol"]:
                feed = self.feeds.get(entries[start]["symbol"])
                if feed is not None and feed.synced:
                    try:
                        self._change(feed, action, entries[start:end], received_ns)
                    except SequenceGap as error:
                        self.gap(feed, error)
                start = end

    @staticmethod
    def _partial(feed, entries):
        price, size = feed.market.price, feed.market.size
        levels = feed.state = {}
        totals = ({}, {})
        for entry in entries:
            side, at = SIDES[entry["side"]], price(entry["price"])
            levels[entry["id"]] = (side, at)
            totals[side][at] = totals[side].get(at, 0) + size(entry["size"])
        feed.snapshot(list(totals[BID].items()), list(totals[ASK].items()),
                      event_ns=0)

    @staticmethod
    def _change(feed, action, entries, received_ns):
        market, levels = feed.market, feed.state
        changes = []
        if action == "insert":
            for entry in entries:
                level_id = entry["id"]
                if level_id in levels:
                    raise SequenceGap("a new level id", level_id,
                                      f"{feed.symbol}: insert of level id {level_id}, "
                                      "which the book already holds")
                side, at = SIDES[entry["side"]], market.price(entry["price"])
                levels[level_id] = (side, at)
                changes.append((side, at, market.size(entry["size"])))
        elif action == "update" or action == "delete":
            for entry in entries:
                level = levels.get(entry["id"])
                if level is None:
                    raise SequenceGap("a level id the book holds", entry["id"],
                                      f"{feed.symbol}: {action} of unknown level id "
                                      f"{entry['id']}")
                side, at = level
                if action == "delete":
                    del levels[entry["id"]]
                    changes.append((side, at, 0))
                else:
                    if "price" in entry:
                        at = market.price(entry["price"])
                        if at != level[1]:
                            changes.append((side, level[1], 0))
                            levels[entry["id"]] = (side, at)
                    changes.append((side, at, market.size(entry["size"])))
        else:
            return
        feed.apply(changes, received_ns=received_ns)

    def gap(self, feed, error):
        # The id table is what went wrong: drop it so the book restarts from the partial.
        feed.state = None
        super().gap(feed, error)

    @classmethod
    def replay_options(cls, recording, server):
        """Options replaying a recorded BitMEX session: the symbols of its ``orderBookL2``
        subscriptions, with the increments their recorded numbers show."""
        found = {}
        for request in recording.sent:
            for arg in loads_exact(request.data).get("args", ()):
                table, _, symbol = arg.partition(":")
                if table.startswith("orderBookL2"):
                    found[symbol] = (0, 0)
        for frame in recording.received:
            message = loads_exact(frame.data)
            if not str(message.get("table", "")).startswith("orderBookL2"):
                continue
            for entry in message["data"]:
                p, s = found.get(entry["symbol"], (0, 0))
                if "price" in entry:
                    p = max(p, decimal_places(entry["price"]))
                if "size" in entry:
                    s = max(s, decimal_places(entry["size"]))
                found[entry["symbol"]] = (p, s)
        markets = {s: Market.from_places(s, s, *found[s]).as_option() for s in found}
        return {"venue": "bitmex", "url": server.ws_url, "markets": markets,
                "reconnect_delay": 0.05}
