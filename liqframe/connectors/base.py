"""The skeleton every streaming market-data connector shares.

:class:`StreamingConnector` implements :class:`~liqframe.interfaces.VenueConnector` for a
venue reached over one WebSocket: it builds a :class:`~liqframe.connectors.feed.BookFeed` per
configured market, keeps the :class:`~liqframe.connectors.session.WebSocketSession` alive,
counts everything in :attr:`StreamingConnector.stats`, and resynchronises books. A venue
plugin subclasses it and supplies only the venue's rules:

- :meth:`~StreamingConnector.subscription` -- the frame that subscribes or unsubscribes some
  markets; with it the base subscribes every market after each (re)connection and
  resubscribes one market for a fresh snapshot (unsubscribe, then subscribe). A venue whose
  protocol differs overrides :meth:`~StreamingConnector.subscribe` and
  :meth:`~StreamingConnector.resubscribe` instead;
- :meth:`~StreamingConnector.handle` -- parse one frame and drive the feeds;
- ``replay_options(recording)`` (classmethod, optional) -- the factory options that replay a
  recording of this venue, used by ``liqframe replay --venue``.

Trading goes through the venue's REST client (:mod:`liqframe.connectors.trading`) named by
``trader_class`` when the connector is given the option ``trading`` (credentials and REST
options); otherwise the order methods raise :class:`~liqframe.errors.OrderError` naming the
venue.
"""

import asyncio

from liqframe.connectors.feed import BookFeed
from liqframe.connectors.markets import markets_from_options
from liqframe.connectors.session import Backoff, WebSocketSession
from liqframe.connectors.stats import FeedStats
from liqframe.core import Frame
from liqframe.errors import BookError, ConfigError, OrderError

#: What a malformed frame raises while it is parsed (orjson's JSONDecodeError is a ValueError).
PARSE_ERRORS = (ValueError, KeyError, TypeError, IndexError, AttributeError, BookError)


class StreamingConnector:
    """Base of the WebSocket market-data connectors; see the module docstring."""

    #: The venue's name in messages and docs (the plugin's registered connector name).
    kind = "venue"

    #: The venue's :class:`~liqframe.connectors.trading.RestTrader` (None: market data only).
    trader_class = None

    def __init__(self, *, venue, instruments=(), url, markets, verify_checksums=True,
                 reconnect_delay=0.25, max_reconnect_delay=30.0, trading=None):
        if not isinstance(url, str) or "://" not in url:
            raise ConfigError(f"venue {venue!r}: url {url!r} must be a ws:// or wss:// URL")
        self.venue, self.url = venue, url
        self.markets = markets_from_options(venue, instruments, markets)
        self.verify_checksums = bool(verify_checksums)
        self.backoff = Backoff(reconnect_delay, max_reconnect_delay)
        self.stats = FeedStats()
        #: The :class:`~liqframe.core.Frame` a venue's :meth:`handle` parses each frame into
        #: (one, reused: a frame is read whole before the next arrives).
        self.frame = Frame()
        self.feeds = {}
        self.events = None
        self.session = None
        self._tasks = set()
        #: The REST trading client, when the option ``trading`` gives credentials.
        self.trader = None
        if trading is not None:
            if self.trader_class is None:
                raise ConfigError(f"venue {venue!r}: the {self.kind} connector does not trade; "
                                  "remove the option 'trading'")
            if not isinstance(trading, dict):
                raise ConfigError(f"venue {venue!r}: option 'trading' must be a table "
                                  "{api_key, api_secret, ...}")
            self.trader = self.trader_class(venue, self.markets, **trading)

    # -- lifecycle -------------------------------------------------------------------------

    def attach(self, events):
        """Make a book feed per market reporting into ``events`` (``start`` does this first;
        a benchmark or a test can then call :meth:`handle` with frames directly)."""
        self.events = events
        self.feeds = {venue_symbol: BookFeed(self.venue, market, events, self.stats)
                      for venue_symbol, market in self.markets.items()}

    async def start(self, events):
        self.attach(events)
        self.session = WebSocketSession(self.stream_url(), on_open=self._opened,
                                        on_message=self._received, on_close=self._closed,
                                        backoff=self.backoff, name=self.venue)
        await self.session.start()

    async def stop(self):
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.session is not None:
            await self.session.close()
        if self.trader is not None:
            await self.trader.close()

    def stream_url(self):
        """The WebSocket URL to open (Binance puts its streams in it)."""
        return self.url

    async def _opened(self, session):
        if session.connections > 1:
            self.stats.reconnects += 1
        await self.subscribe(session)
        self.events.on_status(True, f"connected to {self.url}")

    def _closed(self, reason):
        for feed in self.feeds.values():
            if feed.invalidate(reason):
                self.stats.resyncs += 1
        self.connection_lost()
        self.events.on_status(False, reason)

    def _received(self, data, received_ns):
        self.stats.messages += 1
        try:
            self.handle(data, received_ns)
        except PARSE_ERRORS as error:
            self.bad_message(error)

    # -- what a venue supplies ---------------------------------------------------------------

    def subscription(self, op, symbols):
        """The frame (bytes) that does ``op`` ("subscribe" or "unsubscribe") for the venue
        symbols ``symbols``."""
        raise NotImplementedError

    async def subscribe(self, session):
        """Subscribe every market, after each (re)connection."""
        await session.send(self.subscription("subscribe", list(self.feeds)))

    def handle(self, data, received_ns):
        raise NotImplementedError

    async def resubscribe(self, feed):
        """Fetch a fresh snapshot of ``feed``: unsubscribe its market, then subscribe it."""
        symbols = [feed.market.venue_symbol]
        await self.session.send(self.subscription("unsubscribe", symbols))
        await self.session.send(self.subscription("subscribe", symbols))

    def connection_lost(self):
        """Forget per-connection state (channel ids, connection sequence numbers)."""

    # -- resynchronisation ------------------------------------------------------------------

    def resync(self, feed, reason):
        """Mark ``feed`` stale and ask the venue for a new snapshot of it."""
        if feed.resyncing:
            return
        feed.invalidate(reason)
        feed.resyncing = True
        self.stats.resyncs += 1
        self.spawn(self.resubscribe(feed))

    def gap(self, feed, error):
        self.stats.gaps += 1
        self.resync(feed, str(error))

    def checksum_failed(self, feed, published, computed):
        self.resync(feed, f"checksum mismatch: venue {published}, book {computed}")

    def bad_message(self, error):
        """A frame that does not parse: every book may be wrong, so start over."""
        self.events.on_status(False, f"malformed message ({type(error).__name__}: {error}); "
                                     "reconnecting")
        self.spawn(self.session.drop())

    def spawn(self, coroutine):
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def settled(self):
        """True when every book is in sync and no resync or fetch is under way."""
        return not self._tasks and all(feed.synced for feed in self.feeds.values())

    # -- trading: through the venue's RestTrader when the option 'trading' is given -----------

    def _no_trading(self):
        raise OrderError(f"venue {self.venue!r}: the {self.kind} connector streams market data "
                         "only; give it the option 'trading' (api_key, api_secret) for orders")

    async def place_order(self, order):
        if self.trader is None:
            self._no_trading()
        return await self.trader.place_order(order)

    async def cancel_order(self, venue_order_id):
        if self.trader is None:
            self._no_trading()
        await self.trader.cancel_order(venue_order_id)

    async def open_orders(self):
        return [] if self.trader is None else await self.trader.open_orders()

    async def balances(self):
        return [] if self.trader is None else await self.trader.balances()
