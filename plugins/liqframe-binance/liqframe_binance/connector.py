"""Binance spot and USD-M futures depth: REST snapshot plus the diff stream.

Protocol rules ("How to manage a local order book correctly", Binance spot and futures docs):

- streams ``<symbol>@depth@100ms`` on the combined endpoint ``/stream?streams=a/b``; each
  ``depthUpdate`` has ``U`` (first update id), ``u`` (last), futures also ``pu`` (the previous
  event's ``u``); ``b``/``a`` are ``[price, quantity]`` strings, quantity 0 deletes;
- buffer the events, GET ``/api/v3/depth`` (futures ``/fapi/v1/depth``) ``?symbol=&limit=1000``
  for ``lastUpdateId``; drop the buffered events with ``u`` below the snapshot (spot ``u <=
  lastUpdateId``, futures ``u < lastUpdateId``); the first applied event must bridge it (spot
  ``U <= lastUpdateId + 1 <= u``, futures ``U <= lastUpdateId <= u``); then each event must
  follow the previous (spot ``U == previous u + 1``, futures ``pu == previous u``); anything
  else is a gap: fetch a new snapshot and start over.

:class:`~liqframe.connectors.sync.SnapshotSync` runs that procedure over
:meth:`liqframe.core.L2Book.advance`: a spot snapshot is given sequence ``lastUpdateId`` and a
futures one ``lastUpdateId - 1``, which turns both bridge rules into the book's own. Binance
sends no checksum.
"""

from urllib.parse import parse_qs, urlparse

import orjson

from liqframe.connectors import Market, SnapshotSync, StreamingConnector, significant_places
from liqframe.core import ASK, BID, NO_SEQUENCE
from liqframe_binance.trading import BinanceTrader

# Where a depthUpdate event's fields are in a combined-stream frame.
EVENT_TYPE, SYMBOL, EVENT_TIME = ("data", "e"), ("data", "s"), ("data", "E")
FIRST, LAST, PREVIOUS = ("data", "U"), ("data", "u"), ("data", "pu")
BIDS, ASKS = ("data", "b"), ("data", "a")


class BinanceConnector(StreamingConnector):
    """Binance spot depth; ``url`` is the combined-stream endpoint and ``rest_url`` the REST
    base the snapshots come from. ``limit`` is the snapshot depth (up to 5000)."""

    kind = "binance"
    futures = False
    trader_class = BinanceTrader  # spot orders when given the option 'trading'
    URL = "wss://stream.binance.com:9443/stream"
    REST_URL = "https://api.binance.com"
    DEPTH_PATH = "/api/v3/depth"

    def __init__(self, *, venue, instruments=(), markets, url=None, rest_url=None, limit=1000,
                 update_speed="100ms", snapshot_retry=0.5, **options):
        super().__init__(venue=venue, instruments=instruments, url=url or self.URL,
                         markets=markets, **options)
        self.rest_url = (rest_url or self.REST_URL).rstrip("/")
        self.limit, self.update_speed, self.snapshot_retry = limit, update_speed, snapshot_retry
        self.syncs = {}

    def stream_url(self):
        streams = "/".join(f"{s.lower()}@depth@{self.update_speed}" for s in self.markets)
        return f"{self.url}?streams={streams}"

    def attach(self, events):
        super().attach(events)
        self.syncs = {symbol: SnapshotSync(feed, self, self._fetcher(feed),
                                           retry=self.snapshot_retry,
                                           bridges=self._bridges if self.futures else None)
                      for symbol, feed in self.feeds.items()}

    async def subscribe(self, session):
        """The streams are in the URL; each book syncs from its first buffered event."""

    def connection_lost(self):
        for sync in self.syncs.values():
            sync.restart("connection lost")

    def _fetcher(self, feed):
        symbol = feed.market.venue_symbol
        url = f"{self.rest_url}{self.DEPTH_PATH}?symbol={symbol}&limit={self.limit}"
        offset = 1 if self.futures else 0

        async def fetch():
            reply = orjson.loads(await self.session.get(url))
            levels = feed.market.batch()
            levels.add(BID, reply["bids"])
            levels.add(ASK, reply["asks"])
            return levels.levels(BID), levels.levels(ASK), reply["lastUpdateId"] - offset

        return fetch

    def handle(self, data, received_ns):
        # The combined endpoint wraps each event: {"stream": ..., "data": {event}}.
        frame = self.frame
        frame.parse(data)
        if frame.text(EVENT_TYPE, None) != "depthUpdate":
            return
        sync = self.syncs.get(frame.text(SYMBOL))
        if sync is None:
            return
        feed = sync.feed
        levels = feed.batch()
        frame.sides(levels, BIDS, ASKS)
        sync.diff((levels, frame.integer(FIRST), frame.integer(LAST),
                   frame.integer(PREVIOUS, NO_SEQUENCE), frame.integer(EVENT_TIME) * 1_000_000,
                   received_ns))
        if not feed.synced:
            feed.keep()  # the diff waits in the sync's buffer with this batch

    @staticmethod
    def _bridges(diff, sequence):
        # A futures snapshot has sequence lastUpdateId - 1: pu == lastUpdateId chains onto it.
        return diff[3] == sequence + 1

    async def resubscribe(self, feed):
        sync = self.syncs[feed.market.venue_symbol]
        sync.restart("resynchronising")

    @classmethod
    def replay_options(cls, recording, server):
        """Options replaying a recorded Binance session: the symbols of its ``@depth`` streams
        and the increments their recorded strings show (REST snapshots included)."""
        streams = parse_qs(urlparse(recording.url).query)["streams"][0].split("/")
        symbols = [s.split("@")[0].upper() for s in streams if "@depth" in s]
        found = {s: (0, 0) for s in symbols}

        def widen(symbol, levels):
            p, q = found[symbol]
            for price, size in levels:
                p, q = max(p, significant_places(price)), max(q, significant_places(size))
            found[symbol] = (p, q)

        for frame in recording.received:
            event = orjson.loads(frame.data).get("data", {})
            if event.get("e") == "depthUpdate" and event["s"] in found:
                widen(event["s"], event["b"] + event["a"])
        for url, _, body in recording.http:
            symbol = parse_qs(urlparse(url).query).get("symbol", [""])[0]
            if symbol in found:
                reply = orjson.loads(body)
                widen(symbol, reply["bids"] + reply["asks"])
        futures = "fstream" in recording.url
        markets = {s: Market.from_places(s, s, *found[s]).as_option() for s in symbols}
        return {"venue": "binance-futures" if futures else "binance",
                "url": f"ws://{server.base}/stream", "rest_url": server.http_url,
                "markets": markets, "reconnect_delay": 0.05, "snapshot_retry": 0.05}


class BinanceFuturesConnector(BinanceConnector):
    """Binance USD-M futures depth (``pu`` chains the events)."""

    kind = "binance-futures"
    futures = True
    trader_class = None  # futures orders (/fapi/v1) are not implemented
    URL = "wss://fstream.binance.com/stream"
    REST_URL = "https://fapi.binance.com"
    DEPTH_PATH = "/fapi/v1/depth"
