"""Deribit public order books over JSON-RPC WebSocket (API v2).

Protocol rules (Deribit API v2, "book.{instrument_name}.{interval}" subscription):

- subscribe with ``{"jsonrpc": "2.0", "id": n, "method": "public/subscribe", "params":
  {"channels": ["book.BTC-PERPETUAL.raw", ...]}}``; notifications are ``{"method":
  "subscription", "params": {"channel", "data"}}``;
- the first notification is ``"type": "snapshot"`` with ``change_id``; each later one is
  ``"type": "change"`` with ``change_id`` and ``prev_change_id``, which must equal the
  ``change_id`` of the notification before it. Levels are ``[action, price, amount]`` with
  action ``new``, ``change`` or ``delete`` (amount 0). Prices and amounts are JSON numbers:
  decoded keeping their text (:func:`liqframe.connectors.numbers.loads_exact`);
- a broken chain means a lost notification: unsubscribe and subscribe the channel again,
  which brings a new snapshot. This is :meth:`liqframe.core.L2Book.advance` with ``first =
  last = change_id`` and ``previous = prev_change_id``;
- with ``heartbeat`` set, ``public/set_heartbeat`` asks the venue for ``test_request``
  heartbeats, each answered with ``public/test`` (Deribit closes a silent connection).
"""

import itertools

import orjson

from liqframe.connectors import Market, StreamingConnector
from liqframe.connectors.numbers import decimal_places, loads_exact
from liqframe.core import ASK, BID
from liqframe.errors import SequenceGap

URL = "wss://www.deribit.com/ws/api/v2"


class DeribitConnector(StreamingConnector):
    """Deribit books; ``interval`` is ``raw`` (every change) or ``100ms`` (grouped)."""

    kind = "deribit"

    def __init__(self, *, venue, instruments=(), markets, url=URL, interval="raw",
                 heartbeat=None, **options):
        super().__init__(venue=venue, instruments=instruments, url=url, markets=markets,
                         **options)
        if interval not in ("raw", "100ms", "agg2"):
            raise ValueError(f"interval: {interval!r} is not a Deribit book interval "
                             "(raw, 100ms, agg2)")
        if heartbeat is not None and not 10 <= heartbeat <= 3600:
            raise ValueError(f"heartbeat: {heartbeat!r} must be 10 to 3600 seconds or None")
        self.interval, self.heartbeat = interval, heartbeat
        self._ids = itertools.count(1)

    def channel_of(self, instrument):
        return f"book.{instrument}.{self.interval}"

    def _request(self, method, params):
        return orjson.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method,
                             "params": params})

    def subscription(self, op, symbols):
        return self._request(f"public/{op}", {"channels": [self.channel_of(s) for s in symbols]})

    async def subscribe(self, session):
        if self.heartbeat is not None:
            await session.send(self._request("public/set_heartbeat",
                                             {"interval": self.heartbeat}))
        await super().subscribe(session)

    def handle(self, data, received_ns):
        message = loads_exact(data)
        method = message.get("method")
        if method != "subscription":
            if method == "heartbeat":
                if message["params"].get("type") == "test_request":
                    self.spawn(self.session.send(self._request("public/test", {})))
            elif "error" in message:
                self.events.on_status(False, f"deribit: {message['error'].get('message')}")
            return
        book = message["params"]["data"]
        feed = self.feeds.get(book.get("instrument_name"))
        if feed is None or not message["params"]["channel"].startswith("book."):
            return
        market = feed.market
        price, size = market.price, market.size
        change_id = int(book["change_id"])
        event_ns = int(book["timestamp"]) * 1_000_000
        if book["type"] == "snapshot":
            feed.snapshot([(price(p), size(a)) for _, p, a in book["bids"]],
                          [(price(p), size(a)) for _, p, a in book["asks"]],
                          change_id, event_ns)
            return
        if not feed.synced:
            return
        changes = [(BID, price(p), 0 if action == "delete" else size(a))
                   for action, p, a in book["bids"]]
        changes += [(ASK, price(p), 0 if action == "delete" else size(a))
                    for action, p, a in book["asks"]]
        try:
            feed.apply(changes, change_id, change_id, int(book["prev_change_id"]), event_ns,
                       received_ns)
        except SequenceGap as error:
            self.gap(feed, error)

    @classmethod
    def replay_options(cls, recording, server):
        """Options replaying a recorded Deribit session: the instruments of its ``book``
        channels, with the increments their recorded numbers show."""
        found = recorded_places(recording)
        markets = {i: Market.from_places(i, i, *found[i]).as_option() for i in found}
        return {"venue": "deribit", "url": server.ws_url, "markets": markets,
                "reconnect_delay": 0.05}


def recorded_places(recording):
    """``instrument -> (price places, amount places)`` over every recorded book level."""
    found = {}
    for request in recording.sent:
        for channel in loads_exact(request.data).get("params", {}).get("channels", ()):
            kind, instrument, _ = channel.split(".")
            if kind == "book":
                found.setdefault(instrument, (0, 0))
    for frame in recording.received:
        message = loads_exact(frame.data)
        params = message.get("params", {})
        if not str(params.get("channel", "")).startswith("book."):
            continue
        book = params["data"]
        for _, p, a in book["bids"] + book["asks"]:
            pp, ap = found.get(book["instrument_name"], (0, 0))
            found[book["instrument_name"]] = (max(pp, decimal_places(p)),
                                              max(ap, decimal_places(a)))
    return found
