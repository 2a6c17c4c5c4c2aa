"""Serve a recorded exchange session over a real WebSocket and HTTP on loopback.

:class:`ReplayServer` listens on ``127.0.0.1`` (port 0: the system picks one) and plays a
recording from ``shared/data`` (any format :mod:`liqframe.testing.recordings` reads) to the
connector under test, which connects to it unchanged through its configurable URL:

- the WebSocket accepts any path; :attr:`ReplayServer.ws_url` is the recorded URL moved to
  loopback. Streaming starts when the client sends its first message (its subscription), or at
  once for venues that subscribe in the URL (Binance). Frames of channels the client has not
  subscribed are withheld; a subscription for a channel whose recorded snapshot has already
  gone by is answered with the venue's acknowledgement and a fresh snapshot of the true book
  (:mod:`liqframe.testing.replay_exchanges`), as the venue would after a resubscribe or a
  reconnect. The recording's position is kept across connections.
- HTTP GETs get the recorded REST reply for their path and query (Binance's depth snapshots,
  Kraken's AssetPairs, Coinbase's products), and later snapshot requests a synthesised one.
- ``speed``: None plays as fast as the socket takes it; 1.0 at the recorded pace; 10.0 ten
  times faster.
- ``faults``: :class:`Fault` entries keyed by the index of a received frame in the recording:
  ``drop`` (lost on the way, though the exchange's state moves on), ``reorder`` (swapped with
  the next frame delivered), ``corrupt`` (a digit of the first level's size changed, or a
  function of the frame's bytes) and ``disconnect`` (the server closes the connection before
  the frame; the client must reconnect and resubscribe).

Use it as an async context manager::

    async with ReplayServer(load(path)) as server:
        connector = KrakenConnector(venue="kraken", url=server.ws_url, markets=...)
        ...
"""

import asyncio
import re
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import orjson
from aiohttp import WSMsgType, web

from liqframe.testing.recordings import Recording, load
from liqframe.testing.replay_exchanges import exchange_for

FAULT_KINDS = ("drop", "reorder", "corrupt", "disconnect")
_FIRST_SIZE = re.compile(rb'\[\s*"[0-9.eE+-]+"\s*,\s*"([0-9.]+)"')


def corrupt_first_size(data):
    """Change the last digit of the first level's size in a frame (still valid JSON, still a
    decimal on the same grid, but a different value): what a venue checksum exists to catch."""
    match = _FIRST_SIZE.search(data)
    if match is None:
        raise ValueError(f"corrupt: no [price, size] level in frame {data[:80]!r}")
    size = match[1]
    digit = (size[-1] - 48 + 1) % 10
    if size == b"0":
        digit = 1
    return data[:match.end(1) - 1] + bytes([48 + digit]) + data[match.end(1):]


@dataclass(frozen=True)
class Fault:
    """A fault injected at received frame ``index``; ``corrupt`` may transform the bytes."""

    kind: str
    index: int
    corrupt: object = corrupt_first_size

    def __post_init__(self):
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind {self.kind!r}: use one of {', '.join(FAULT_KINDS)}")


class _Connection:
    def __init__(self, ws, channels):
        self.ws = ws
        self.subscribed = set(channels)
        self.ready = asyncio.Event()
        self.numbered = 0  # per-connection numbering (Coinbase sequence_num)
        self.renumbered = 0


class ReplayServer:
    """Serve ``recording`` (a :class:`Recording` or a path) on loopback; see the module doc."""

    def __init__(self, recording, *, speed=None, faults=(), exchange=None):
        self.recording = recording if isinstance(recording, Recording) else load(recording)
        self.exchange = exchange or exchange_for(self.recording)
        self.speed = speed
        self.faults = {}
        for fault in faults:
            self.faults.setdefault(fault.index, []).append(fault)
        self.frames = [frame.data for frame in self.recording.received]
        self.times = [frame.time for frame in self.recording.received]
        self.messages = []
        for data in self.frames:
            try:
                self.messages.append(orjson.loads(data))
            except orjson.JSONDecodeError:
                self.messages.append(None)
        self.cursor = 0
        #: Frames sent over WebSocket on every connection, synthesised ones included.
        self.sent = 0
        self.connections = 0
        self.renumbered = 0
        self.rest_requests = 0
        self.done = asyncio.Event()
        self._seen = set()
        self._fired = set()
        self._held = None
        self._current = None
        self._runner = None
        self.port = None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self):
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def close(self):
        if self._current is not None and not self._current.ws.closed:
            await self._current.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, *exc):
        await self.close()

    @property
    def base(self):
        return f"127.0.0.1:{self.port}"

    @property
    def ws_url(self):
        """The recorded WebSocket URL with its host moved to this server."""
        parsed = urlparse(self.recording.url or "ws://x/")
        query = f"?{parsed.query}" if parsed.query else ""
        return f"ws://{self.base}{parsed.path or '/'}{query}"

    @property
    def http_url(self):
        """``http://127.0.0.1:PORT``: prefix a recorded REST path with it."""
        return f"http://{self.base}"

    # -- HTTP ------------------------------------------------------------------------------

    async def _handle(self, request):
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request)
        self.rest_requests += 1
        query = parse_qs(request.query_string)
        body = self.exchange.rest(request.path, query)
        if body is None:
            body = self._recorded_rest(request.path, request.query_string)
        if body is None:
            return web.Response(status=404, text=f"no recorded reply for {request.path_qs}")
        return web.Response(body=body, content_type="application/json")

    def _recorded_rest(self, path, query):
        for url, _, body in self.recording.http:
            parsed = urlparse(url)
            if parsed.path == path and (not query or parse_qs(parsed.query) == parse_qs(query)):
                return body
        return None

    # -- WebSocket -------------------------------------------------------------------------

    async def _websocket(self, request):
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        self.connections += 1
        if self._current is not None and not self._current.ws.closed:
            await self._current.ws.close()
        channels = self.exchange.url_channels(str(request.rel_url))
        connection = self._current = _Connection(ws, channels)
        if self.exchange.url_subscribes or not self.recording.sent:
            connection.ready.set()
        streamer = asyncio.get_running_loop().create_task(self._stream(connection))
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    await self._client_message(connection, message.data)
        finally:
            streamer.cancel()
            try:
                await streamer
            except asyncio.CancelledError:
                pass
            self.renumbered += connection.renumbered
        return ws

    async def _client_message(self, connection, text):
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            return
        for op, key in self.exchange.requests(message):
            if op == "unsubscribe":
                connection.subscribed.discard(key)
                await self._send_all(connection, self.exchange.ack(op, key, message))
                continue
            connection.subscribed.add(key)
            if key in self._seen:
                # The recorded acknowledgement and snapshot have gone by: answer as the venue.
                await self._send_all(connection, self.exchange.ack(op, key, message))
                await self._send_all(connection, self.exchange.snapshot(key))
        connection.ready.set()

    async def _send_all(self, connection, frames):
        for data in frames:
            await self._send(connection, data)

    async def _send(self, connection, data, rewritten=False):
        if not rewritten:
            data = self.exchange.rewrite(data, connection)
        await connection.ws.send_str(data.decode())
        self.sent += 1

    async def _stream(self, connection):
        await connection.ready.wait()
        started, origin = time.monotonic(), None
        total = len(self.frames)
        while self.cursor < total:
            index = self.cursor
            faults = self.faults.get(index, ())
            kinds = {f.kind for f in faults if (f.kind, index) not in self._fired}
            if "disconnect" in kinds:
                self._fired.add(("disconnect", index))
                await connection.ws.close()
                return
            if self.speed and self.times[index]:
                if origin is None:
                    origin = self.times[index]
                delay = (self.times[index] - origin) / self.speed - (time.monotonic() - started)
                if delay > 0:
                    await asyncio.sleep(delay)
            self.cursor += 1
            message = self.messages[index]
            key = self.exchange.channel(message) if message is not None else None
            if key is not None:
                self._seen.add(key)
            data = self.exchange.observe(key, message) or self.frames[index]
            if key is not None and key not in connection.subscribed:
                continue
            # Numbered as the venue sends it; what happens on the way comes after.
            data = self.exchange.rewrite(data, connection)
            if "drop" in kinds:
                continue
            if "corrupt" in kinds:
                for fault in faults:
                    if fault.kind == "corrupt":
                        data = fault.corrupt(data)
            if "reorder" in kinds and self._held is None:
                self._held = data
                continue
            await self._send(connection, data, rewritten=True)
            if self._held is not None:
                held, self._held = self._held, None
                await self._send(connection, held, rewritten=True)
            if self.speed is None:
                await asyncio.sleep(0)  # let the client's requests in, as a network would
        if self._held is not None:
            held, self._held = self._held, None
            await self._send(connection, held, rewritten=True)
        self.done.set()


async def settle(server, connector, timeout=30.0, quiet=0.3):
    """Wait until ``server`` has played everything and ``connector`` has taken it all in with
    every book in sync (or nothing more happened for ``quiet`` seconds once both are idle).
    Raises TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last, still_since = -1, time.monotonic()
    while True:
        now = time.monotonic()
        if now > deadline:
            raise TimeoutError(f"replay of {server.recording.name} did not settle: "
                               f"{server.cursor}/{len(server.frames)} frames played, "
                               f"{connector.stats.as_dict()}")
        seen = connector.stats.messages
        if seen != last:
            last, still_since = seen, now
        if server.done.is_set() and connector.settled:
            if seen == server.sent or now - still_since > quiet:
                return
        await asyncio.sleep(0.01)


class CountingEvents:
    """A :class:`~liqframe.interfaces.VenueEvents` that counts what a connector reports and
    keeps the status lines; with ``deltas=True`` changes arrive as BookDelta objects through
    ``on_delta``, otherwise as int64 columns through ``on_book_columns``, as the host takes
    them."""

    def __init__(self, deltas=False):
        self.snapshots, self.changes, self.fills, self.orders = 0, 0, 0, 0
        self.status = []
        if not deltas:
            self.on_book_columns = self._book_columns

    def on_snapshot(self, symbol, bids, asks, sequence, event_ns):
        self.snapshots += 1

    def _book_columns(self, symbol, sides, prices, sizes, sequence, event_ns, received_ns):
        self.changes += len(sides)

    def on_delta(self, delta):
        self.changes += 1

    def on_fill(self, fill):
        self.fills += 1

    def on_order(self, order):
        self.orders += 1

    def on_status(self, up, reason):
        self.status.append((up, reason))


async def replay_connector(connector_class, recording, *, faults=(), speed=None, events=None,
                           exchange=None, timeout=60.0, **options):
    """Play ``recording`` through a connector built by ``connector_class.replay_options`` and
    return ``(connector, server, events)`` once everything settled; the connector is stopped.

    ``options`` override the factory options (``verify_checksums=False``...); ``exchange``
    replaces the venue model chosen from the file name.
    """
    recording = recording if isinstance(recording, Recording) else load(recording)
    events = events if events is not None else CountingEvents()
    exchange = exchange(recording) if isinstance(exchange, type) else exchange
    async with ReplayServer(recording, speed=speed, faults=faults, exchange=exchange) as server:
        kwargs = connector_class.replay_options(recording, server)
        kwargs.update(options)
        connector = connector_class(**kwargs)
        await connector.start(events)
        try:
            await settle(server, connector, timeout=timeout)
        finally:
            await connector.stop()
    return connector, server, events


def book_mismatches(connector, server, depth=None):
    """The venue symbols whose book in ``connector`` differs from the replay exchange's true
    book (the ``depth`` best levels of both sides, default all): empty once every book
    recovered."""
    from liqframe.core import ASK, BID

    wrong = []
    for venue_symbol, feed in connector.feeds.items():
        truth = server.exchange.book(venue_symbol)
        market = feed.market
        for side, name in ((BID, "bid"), (ASK, "ask")):
            prices, sizes = feed.book.levels(side)
            expected = book_levels(truth, name, market.price_decimals, market.size_decimals)
            if list(zip(prices.tolist(), sizes.tolist(), strict=True))[:depth] != \
                    expected[:depth]:
                wrong.append(venue_symbol)
                break
    return wrong


def book_levels(levels, side, price_decimals, size_decimals):
    """A replay exchange's true levels of ``side`` ("bid"/"ask") as (price, size) units, best
    first: what a connector's book must hold after it recovered."""
    from liqframe.core import to_units

    result = []
    for level in levels.sorted(side):
        if isinstance(level, dict):
            price, size = level["price_level"], level["new_quantity"]
        else:
            price, size = level[0], level[1]
        result.append((to_units(price, price_decimals), to_units(size, size_decimals)))
    return result
