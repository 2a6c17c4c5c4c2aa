"""A simulated exchange on the network: an aiohttp server, normally on 127.0.0.1.

Protocol (JSON; prices and sizes are decimal strings):

``GET /ws`` (WebSocket)
    On connect the server sends the book ``snapshot`` (with its ``sequence``) and the venue's
    ``rate`` messages, then ``book`` messages: ``first`` is the sequence number of the first
    of its ``changes`` (``[side, price, size]``, size ``"0"`` removes the level), each change
    one number higher. Connecting with the ``X-API-KEY`` header also streams that account's
    ``order`` and ``fill`` messages; a wrong key is refused with HTTP 401. Every
    :data:`SEQUENCE_EVERY_S` seconds a ``{"type": "sequence", "sequence": n}`` message (never
    dropped, in order with the others) gives the sequence number of the latest book change,
    so that a client can tell that the last book messages before a quiet spell were lost. The
    client may send ``{"op": "snapshot"}`` to get a fresh snapshot (after a sequence gap).
    A client connected with a key may also trade on the socket, as venues' WebSocket order
    entry does: ``{"op": "place", "id": n, "order": {client_id, side, price, size, tif}}``
    and ``{"op": "cancel", "id": n, "order_id": ...}`` are answered in order with the other
    messages by ``{"type": "reply", "id": n, "status": s, "data": ...}``, ``s`` and ``data``
    being what the REST call would have answered.
``GET /api/info``
    symbol, increments and fees (no key needed).
REST with the ``X-API-KEY`` header (HTTP 401 without a valid one):
    ``POST /api/orders`` ``{client_id, side, price, size, tif}``; ``GET /api/orders`` (open
    ones); ``GET /api/orders/{client_id}``; ``DELETE /api/orders/{order_id}``;
    ``GET /api/balances``; ``GET /api/fills?after=TRADE_ID``.

Realism knobs: ``latency_ms`` delays every REST request and every WebSocket message by that
much (in order); ``drop_probability`` silently drops that share of book messages per
connection (the client sees a sequence gap); ``outage_every_s``/``outage_s`` take the venue
down at random (mean interval) for a while: connections are closed and REST answers 503.
"""

import asyncio
import random
import time
import zlib

import orjson
from aiohttp import WSMsgType, web

from liqframe_simvenue.exchange import OPEN, SIDE, TIF, Rejected

KEY_HEADER = "X-API-KEY"
#: Seconds between two ``sequence`` messages on a WebSocket.
SEQUENCE_EVERY_S = 1.0


def _json(data, status=200):
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


class _Connection:
    """One WebSocket client: a queue that sends each message ``latency`` after it was made."""

    def __init__(self, ws, latency, rng, drop_probability):
        self.ws, self.latency = ws, latency
        self.rng, self.drop_probability = rng, drop_probability
        self.queue = asyncio.Queue()
        self.task = None

    def push(self, message):
        if message["type"] == "book" and self.drop_probability \
                and self.rng.random() < self.drop_probability:
            return
        self.queue.put_nowait((time.monotonic() + self.latency, message))

    async def pump(self):
        while True:
            due, message = await self.queue.get()
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await self.ws.send_bytes(orjson.dumps(message))


class VenueServer:
    """Serves ``exchange`` over HTTP and WebSocket; :meth:`start` returns its base URL."""

    def __init__(self, exchange, *, host="127.0.0.1", port=0, latency_ms=0,
                 drop_probability="0", outage_every_s="0", outage_s="2", seed=1):
        self.exchange, self.host, self.port = exchange, host, port
        if isinstance(latency_ms, bool) or not isinstance(latency_ms, int | float) \
                or latency_ms < 0:
            raise ValueError(f"latency_ms: {latency_ms!r} must be a non-negative number")
        self.latency = latency_ms / 1000
        self.drop_probability = float(drop_probability)
        if not 0 <= self.drop_probability < 1:
            raise ValueError(f"drop_probability: {drop_probability!r} must be in [0, 1)")
        self.outage_every, self.outage_length = float(outage_every_s), float(outage_s)
        self.rng = random.Random(seed ^ zlib.crc32(exchange.name.encode()) ^ 0x5EED)
        self.connections = set()
        self.down_until = 0.0
        self.url = None
        self._runner = self._outages = None
        self.requests = 0
        self.stream_trades = 0  # of the requests, order operations sent on a socket

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self):
        app = web.Application()
        app.add_routes([
            web.get("/ws", self.websocket),
            web.get("/api/info", self.info),
            web.post("/api/orders", self.place),
            web.get("/api/orders", self.open_orders),
            web.get("/api/orders/{client_id}", self.order),
            web.delete("/api/orders/{order_id}", self.cancel),
            web.get("/api/balances", self.balances),
            web.get("/api/fills", self.fills),
        ])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://{self.host}:{self.port}"
        if self.outage_every > 0:
            self._outages = asyncio.create_task(self._outage_loop())
        return self.url

    async def stop(self):
        if self._outages is not None:
            self._outages.cancel()
        await self.drop_connections("venue stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def drop_connections(self, reason="dropped by the venue"):
        """Close every WebSocket connection (clients must reconnect and resync)."""
        for connection in list(self.connections):
            await connection.ws.close(message=reason.encode())

    async def outage(self, seconds):
        """Go down for ``seconds``: drop connections, refuse new ones, answer REST with 503."""
        self.down_until = time.monotonic() + seconds
        await self.drop_connections("venue outage")

    async def _outage_loop(self):
        while True:
            await asyncio.sleep(self.rng.expovariate(1 / self.outage_every))
            await self.outage(self.outage_length)

    @property
    def down(self):
        return time.monotonic() < self.down_until

    # -- helpers ------------------------------------------------------------------------

    async def _account(self, request):
        """The request's account after the simulated latency, or an HTTP error."""
        self.requests += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.down:
            raise web.HTTPServiceUnavailable(text="venue outage")
        account = self.exchange.account(request.headers.get(KEY_HEADER, ""))
        if account is None:
            raise web.HTTPUnauthorized(text='{"error": "invalid API key"}',
                                       content_type="application/json")
        return account

    # -- handlers -----------------------------------------------------------------------

    async def info(self, request):
        ex = self.exchange
        return _json({"venue": ex.name, "symbol": ex.symbol, "base": ex.instrument.base,
                      "quote": ex.instrument.quote,
                      "price_increment": str(ex.instrument.price_increment),
                      "size_increment": str(ex.instrument.size_increment),
                      "maker_fee": str(ex.maker_fee), "taker_fee": str(ex.taker_fee)})

    async def place(self, request):
        account = await self._account(request)
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError as error:
            return _json({"error": f"malformed order: {error}"}, 400)
        return _json(*self._place(account, body))

    def _place(self, account, body):
        """(answer, HTTP status) of placing the order ``body`` for ``account``."""
        try:
            side = SIDE[body["side"]]
            tif = TIF[body.get("tif", "gtc")]
            price = self.exchange.instrument.price_ticks(body["price"])
            size = self.exchange.instrument.size_lots(body["size"])
            client_id = str(body["client_id"])
        except (KeyError, ValueError, TypeError, AttributeError) as error:
            return {"error": f"malformed order: {error}"}, 400
        try:
            order = self.exchange.submit(account.owner, side, price, size, tif, client_id)
        except Rejected as error:
            order = self.exchange.order_by_client(account, client_id)
            return {"error": str(error), "order": self.exchange.order_message(order)}, 400
        return self.exchange.order_message(order), 200

    async def open_orders(self, request):
        account = await self._account(request)
        return _json([self.exchange.order_message(o) for o in self.exchange.open_orders(account)])

    async def order(self, request):
        account = await self._account(request)
        order = self.exchange.order_by_client(account, request.match_info["client_id"])
        if order is None:
            return _json({"error": "unknown order"}, 404)
        return _json(self.exchange.order_message(order))

    async def cancel(self, request):
        account = await self._account(request)
        return _json(*self._cancel(account, request.match_info["order_id"]))

    def _cancel(self, account, order_id):
        """(answer, HTTP status) of cancelling ``account``'s order ``order_id`` (text)."""
        try:
            order_id = int(order_id)
        except (TypeError, ValueError):
            return {"error": "unknown order"}, 404
        order = self.exchange.orders.get(order_id)
        if order is None or order.owner != account.owner:
            return {"error": "unknown order"}, 404
        if order.status not in OPEN:
            return {"error": f"order is {order.status}",
                    "order": self.exchange.order_message(order)}, 400
        self.exchange.cancel(order_id)
        return self.exchange.order_message(order), 200

    async def balances(self, request):
        account = await self._account(request)
        return _json(self.exchange.balances(account))

    async def fills(self, request):
        account = await self._account(request)
        try:
            after = int(request.query.get("after") or 0)
        except ValueError:
            return _json({"error": "after: must be a trade id"}, 400)
        return _json([f for f in account.fills if int(f["trade_id"]) > after])

    async def websocket(self, request):
        if self.down:
            raise web.HTTPServiceUnavailable(text="venue outage")
        key = request.headers.get(KEY_HEADER)
        account = None
        if key is not None:
            account = self.exchange.account(key)
            if account is None:
                raise web.HTTPUnauthorized(text="invalid API key")
        ws = web.WebSocketResponse(heartbeat=10)
        await ws.prepare(request)
        connection = _Connection(ws, self.latency, self.rng, self.drop_probability)
        connection.push(self.exchange.snapshot())
        for message in self.exchange.rate_messages():
            connection.push(message)
        unlisten = self.exchange.listen(connection.push, account.owner if account else None)
        connection.task = asyncio.create_task(connection.pump())
        beat = asyncio.create_task(self._sequence_beat(connection))
        self.connections.add(connection)
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT and message.type != WSMsgType.BINARY:
                    continue
                try:
                    data = orjson.loads(message.data)
                    op = data.get("op")
                except (orjson.JSONDecodeError, AttributeError):
                    continue
                if op == "snapshot":
                    connection.push(self.exchange.snapshot())
                elif op in ("place", "cancel"):
                    connection.push(self._trade(account, op, data))
        finally:
            unlisten()
            connection.task.cancel()
            beat.cancel()
            self.connections.discard(connection)
        return ws

    def _trade(self, account, op, data):
        """The ``reply`` message to a ``place`` or ``cancel`` sent on the socket."""
        self.requests += 1
        self.stream_trades += 1
        if account is None:
            answer, status = {"error": "connect with an API key to trade"}, 401
        elif op == "place":
            answer, status = self._place(account, data.get("order"))
        else:
            answer, status = self._cancel(account, data.get("order_id"))
        return {"type": "reply", "id": data.get("id"), "status": status, "data": answer}

    async def _sequence_beat(self, connection):
        while True:
            await asyncio.sleep(SEQUENCE_EVERY_S)
            connection.push({"type": "sequence", "sequence": self.exchange.sequence})
