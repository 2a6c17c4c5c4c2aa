"""A WebSocket connection that comes back: connect, subscribe, read, and on any loss reconnect
after an exponential backoff.

:class:`WebSocketSession` owns one aiohttp client session (also used for the venue's REST
calls through :meth:`WebSocketSession.get`) and one reader task. The connector gives it three
callbacks: ``on_open(session)`` (a coroutine: send the subscriptions), ``on_message(data,
received_ns)`` (plain function, called for every text or binary frame in order) and
``on_close(reason)`` (the connection is gone; books must resynchronise after the reconnect).
"""

import asyncio
import time

import aiohttp

from liqframe.errors import LiqframeError
from liqframe.host.scheduling import give_way


class Backoff:
    """Delays between reconnection attempts: ``initial`` doubling up to ``maximum``.

    :meth:`reset` after a connection that worked, so a venue that drops one connection is
    re-joined at once while one that keeps refusing is not hammered.
    """

    def __init__(self, initial=0.25, maximum=30.0, factor=2.0):
        if initial < 0 or maximum < initial or factor < 1:
            raise ValueError(f"backoff: need 0 <= initial ({initial}) <= maximum ({maximum}) "
                             f"and factor ({factor}) >= 1")
        self.initial, self.maximum, self.factor = initial, maximum, factor
        self.current = initial

    def next(self):
        delay = self.current
        self.current = min(self.maximum, self.current * self.factor)
        return delay

    def reset(self):
        self.current = self.initial


class ConnectionFailed(LiqframeError, ConnectionError):
    """The venue could not be reached on the first attempt (start() raises it)."""


class WebSocketSession:
    """A self-healing WebSocket to ``url``; see the module docstring for the callbacks."""

    def __init__(self, url, *, on_open, on_message, on_close, backoff=None, name="venue",
                 max_msg_size=0):
        self.url, self.name = url, name
        self.on_open, self.on_message, self.on_close = on_open, on_message, on_close
        self.backoff = backoff or Backoff()
        self.max_msg_size = max_msg_size
        self.http = None
        self.ws = None
        self.connections = 0
        self._task = None
        self._stopping = False

    async def start(self):
        """Open the first connection and subscribe; raise ConnectionFailed when it fails."""
        self.http = aiohttp.ClientSession()
        try:
            await self._connect()
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            await self.http.close()
            raise ConnectionFailed(f"{self.name}: cannot connect to {self.url}: {error}") \
                from None
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _connect(self):
        self.ws = await self.http.ws_connect(self.url, max_msg_size=self.max_msg_size,
                                             autoping=True)
        self.connections += 1
        await self.on_open(self)

    async def _run(self):
        while not self._stopping:
            reason = await self._read()
            if self._stopping:
                break
            self.on_close(reason)
            while not self._stopping:
                await asyncio.sleep(self.backoff.next())
                try:
                    await self._connect()
                    break
                except (TimeoutError, aiohttp.ClientError, OSError):
                    continue

    async def _read(self):
        ws, on_message = self.ws, self.on_message
        text, binary = aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY
        clock = time.time_ns
        received = 0
        try:
            while True:
                message = await ws.receive()
                kind = message.type
                if kind is text or kind is binary:
                    at = clock()
                    # messages already received come without a suspension: each waits for
                    # room in a turn of the loop, so a burst is not handled all in one turn
                    await give_way()
                    on_message(message.data, at)
                    received += 1
                    if received == 1:
                        self.backoff.reset()
                elif kind is aiohttp.WSMsgType.ERROR:
                    return f"connection error: {ws.exception()}"
                else:  # CLOSE, CLOSING, CLOSED
                    return f"connection closed by the venue (code {ws.close_code})"
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            return f"connection lost: {error}"
        finally:
            if not ws.closed:
                await ws.close()

    async def send(self, payload):
        """Send a text frame (``str``) or the UTF-8 ``bytes`` of one; dropped when closed."""
        ws = self.ws
        if ws is None or ws.closed:
            return
        await ws.send_str(payload.decode() if isinstance(payload, bytes) else payload)

    async def get(self, url):
        """GET ``url`` over the session's HTTP client; returns the body bytes (raises
        aiohttp.ClientResponseError on an HTTP error status)."""
        async with self.http.get(url) as response:
            response.raise_for_status()
            return await response.read()

    async def drop(self):
        """Close the current connection; the reader reconnects (used to resubscribe all)."""
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()

    async def close(self):
        """Stop reconnecting and close everything; idempotent."""
        self._stopping = True
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: S110 - shutting down
                pass
            self._task = None
        if self.http is not None and not self.http.closed:
            await self.http.close()
