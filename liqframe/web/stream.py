"""WebSocket pushes: coalesced frames, the same bytes for every client, slow clients dropped.

:class:`Stream` reads the host's event hub (keeping the latest events for the event log and
``/api/events``) and, at most ``push_hz`` times a second, builds one *frame* per distinct
subscription (tier, channels, depth, asset), serialises it once, wraps it once as a WebSocket
message, and writes those same bytes to the connection of every client with that
subscription: no task, queue or copy per client. Nothing waits for a client: a client whose
connection still holds more than ``send_queue`` unsent frames (its kernel buffer is full and
the rest waits in the host's memory: it reads more slowly than frames come) is disconnected
with close code 1008. A frame is built one channel at a time and written to a few clients at a
time, with a yield to the event loop in between, so a hundred clients never hold the host's
loop for long. A newcomer gets its first frame (the current state and the latest events) with
the next push, built once for every newcomer of the same subscription: a hundred clients
connecting at once cost one frame, not a hundred. Messages go out uncompressed (the
connection negotiates no compression): compressing is work per client.

The stream keeps the heartbeat itself rather than leave it to aiohttp's: a client is pinged
:data:`HEARTBEAT_S` after it connected or last answered, the ping going out with its next frame,
and a client that leaves a ping unanswered for half that long is dropped (close code 1008).
aiohttp rounds every connection's ping deadline up to a whole second of the loop's clock, so
clients that connected together (a dashboard reloaded by a hundred operators, a benchmark) were
all pinged in one turn of the loop: about 3 ms for a hundred of them, every 30 seconds. Here each
ping is part of that client's unit of the push.
"""

import asyncio
import collections
import contextlib
import socket
import struct
import time

import orjson
from aiohttp import WSCloseCode, WSMsgType, web

from liqframe.host.scheduling import give_way
from liqframe.web import views
from liqframe.web.api import CLIENT, check_depth

CHANNELS = ("book", "venue_books", "bbo", "venues", "metrics", "balances", "orders", "fills",
            "events")
DEFAULT_CHANNELS = ("book", "bbo")
#: Events kept for the event log (and sent to a client when it connects).
KEPT_EVENTS = 500
#: Hub kinds not shown in the event log: too many, or carried by channels of their own.
QUIET = {"status", "order"}
#: Kernel send buffer of a WebSocket connection: small enough that a client that stops
#: reading fills it (and then the host's buffer) within seconds, large enough for frames at
#: push_hz.
SEND_BUFFER = 256 * 1024
#: Seconds a dropped client gets to take its close frame before its connection is aborted.
CLOSE_TIMEOUT = 1.0
#: Seconds between a client's answer to a ping (or its connecting) and the next ping; a client
#: that leaves a ping unanswered for half of it is dropped.
HEARTBEAT_S = 30.0
#: A ping as a server sends it (RFC 6455 section 5.5.2): final, unmasked, no payload.
PING = b"\x89\x00"


class Subscription(tuple):
    """(tier name, channels, depth, asset): clients with equal subscriptions share frames."""


def message(payload):
    """``payload`` as one unmasked, final, binary WebSocket frame (RFC 6455 section 5.2), the
    form a server sends: written as is to every client's connection."""
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x82, size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", 0x82, 126, size)
    else:
        head = struct.pack("!BBQ", 0x82, 127, size)
    return head + payload


class WsClient:
    def __init__(self, ws, transport, client, subscription, next_ping):
        self.ws, self.transport = ws, transport
        self.client, self.subscription = client, subscription
        self.first = True  # not yet sent its first frame (the state and the latest events)
        self.dropped = None
        self.sent = 0
        self.next_ping = next_ping  # loop time the next ping is due
        self.pinged = None  # loop time of the ping it has not answered yet


class Stream:
    def __init__(self, host, push_hz, send_queue, heartbeat=HEARTBEAT_S):
        self.host = host
        self.period = 1 / push_hz
        self.send_queue = send_queue
        self.heartbeat = heartbeat
        self.clients = set()
        self.events = collections.deque(maxlen=KEPT_EVENTS)
        self.dropped = 0
        self._event_ids = 0
        self._new_events, self._new_fills = [], []
        self._queue = None
        self._wake = asyncio.Event()
        self._tasks = []
        self.frames = 0

    # -- life -------------------------------------------------------------------------------

    async def start(self):
        self._queue = self.host.hub.subscribe()
        self._tasks = [asyncio.create_task(self._read_hub(), name="web-hub"),
                       asyncio.create_task(self._push(), name="web-push")]

    async def stop(self):
        self.host.hub.unsubscribe(self._queue)
        for task in self._tasks:
            task.cancel()
        for client in list(self.clients):
            self._drop(client, WSCloseCode.GOING_AWAY, b"host stopping")
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- the hub ---------------------------------------------------------------------------

    async def _read_hub(self):
        while True:
            kind, data = await self._queue.get()
            if kind == "fill":
                data = self._fill(data)
                self._new_fills.append(data)
            if kind in QUIET:
                continue
            self._event_ids += 1
            event = {"id": self._event_ids, "kind": kind,
                     "ts_ns": data.get("ts_ns") or time.time_ns(),
                     "venue": data.get("venue", ""),
                     "message": data.get("message") or _describe(kind, data)}
            self.events.append(event)
            self._new_events.append(event)

    def _fill(self, data):
        instrument = self.host.market.instruments.get(data["symbol"])
        fill = dict(data)
        if instrument is not None:
            fill["price"] = instrument.price_text(data["price"])
            fill["size"] = instrument.size_text(data["size"])
        return fill

    def recent_events(self, limit):
        return list(self.events)[-limit:][::-1]

    # -- clients ---------------------------------------------------------------------------

    def add(self, ws, transport, client, channels, depth, asset):
        subscription = Subscription((client.tier.name, tuple(channels), depth, asset))
        next_ping = asyncio.get_running_loop().time() + self.heartbeat
        member = WsClient(ws, transport, client, subscription, next_ping)
        self.clients.add(member)
        self._wake.set()  # its first frame goes with the next push
        return member

    def remove(self, member):
        self.clients.discard(member)

    def answered(self, member):
        """``member`` answered a ping (a pong came): the next one is due a heartbeat from now."""
        member.pinged = None
        member.next_ping = asyncio.get_running_loop().time() + self.heartbeat

    def _drop(self, member, code, message):
        self.remove(member)
        member.dropped = message.decode()

        async def close():
            try:
                await asyncio.wait_for(member.ws.close(code=code, message=message),
                                       CLOSE_TIMEOUT)
            except (TimeoutError, ConnectionError, RuntimeError):
                pass
            if member.transport is not None and not member.transport.is_closing():
                member.transport.abort()

        task = asyncio.create_task(close(), name="web-drop")
        self._tasks.append(task)
        self._tasks = [t for t in self._tasks if not t.done() or t.get_name() != "web-drop"]

    def _offer(self, member, data, now):
        """Write ``data`` (a whole WebSocket message) to the client's connection, with a ping
        when one is due, unless the client left its last ping unanswered for half the
        heartbeat or its connection still holds more than ``send_queue`` such messages: then
        drop the client."""
        transport = member.transport
        if transport is None or transport.is_closing() or member.ws.closed:
            self.remove(member)
            return
        if member.pinged is not None and now - member.pinged > self.heartbeat / 2:
            self._drop(member, WSCloseCode.POLICY_VIOLATION,
                       f"no pong within {self.heartbeat / 2:g} s".encode())
            return
        waiting = transport.get_write_buffer_size()
        if waiting > self.send_queue * len(data):
            self.dropped += 1
            self._drop(member, WSCloseCode.POLICY_VIOLATION,
                       f"client too slow: {waiting // len(data)} messages unread".encode())
            return
        if member.pinged is None and now >= member.next_ping:
            member.pinged = now
            data += PING
        transport.write(data)
        member.sent += 1

    # -- frames ----------------------------------------------------------------------------

    async def frame_bytes(self, subscription, tier, events=None, fills=None):
        """The frame of ``subscription`` (tier name, channels, depth, asset) serialised, built a
        channel at a time (the book a side at a time), giving way in between."""
        frame = {"type": "frame", "ts_ns": time.time_ns()}
        for channel in subscription[1]:
            await give_way()
            if channel == "book":
                frame[channel] = await self._books(subscription, tier)
            else:
                frame[channel] = self._channel(channel, subscription, tier, events, fills)
        return orjson.dumps(frame)

    async def _books(self, subscription, tier):
        """The ``book`` channel: the consolidated books, a side of one a unit of work."""
        _, _, depth, asset = subscription
        books = {}
        for name in (views.assets(self.host) if asset is None else [asset]):
            if books:
                await give_way()
            books[name] = await views.consolidated_in_turns(self.host, name, depth,
                                                            tier.min_size)
        return books

    async def frame_message(self, subscription, tier, events=None, fills=None):
        """:meth:`frame_bytes` as a whole WebSocket message (:func:`message`)."""
        return message(await self.frame_bytes(subscription, tier, events, fills))

    def _channel(self, channel, subscription, tier, events, fills):
        depth, host = subscription[2], self.host
        if channel == "venue_books":
            return [views.venue_book(host, v, s, depth, tier.min_size)
                    for v, s in views.venue_symbols(host)]
        if channel == "bbo":
            return views.bbo(host)
        if channel == "venues":
            return host.market.venue_rows()
        if channel == "metrics":
            return views.metrics(host)
        if channel == "balances":
            return views.balances(host)
        if channel == "orders":
            return views.open_orders(host)
        if channel == "fills":
            return list(fills or [])
        return list(self._new_events if events is None else events)  # "events"

    async def _push(self):
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            next_at = max(next_at + self.period, loop.time())
            await asyncio.sleep(next_at - loop.time())
            if not self.clients:
                self._new_events, self._new_fills = [], []
                self._wake.clear()
                await self._wake.wait()  # idle until a client comes
                next_at = loop.time()
            await self.push_once()

    async def push_once(self):
        """Build this period's frames and write them, a batch of clients at a time: one frame
        per subscription, and one per subscription for the newcomers (with the latest
        events)."""
        fills, self._new_fills = self._new_fills, []
        events, self._new_events = self._new_events, []
        groups = {}
        for member in list(self.clients):
            groups.setdefault((member.subscription, member.first), []).append(member)
        loop = asyncio.get_running_loop()
        for (subscription, first), members in groups.items():
            data = await self.frame_message(
                subscription, members[0].client.tier,
                self.recent_events(50)[::-1] if first else events, fills)
            for member in members:
                if member in self.clients:
                    member.first = False
                    self._offer(member, data, loop.time())
                await give_way()
        self.frames += 1


def _describe(kind, data):
    if kind == "fill":
        return (f"{data.get('venue')}: fill {data.get('side')} {data.get('size')} "
                f"{data.get('symbol')} at {data.get('price')}")
    return kind


def parse_channels(text):
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in CHANNELS]
    if unknown or not names:
        raise ValueError(f"channels: {', '.join(unknown) or 'none given'} not known; choose "
                         f"from {', '.join(CHANNELS)}")
    return names


async def websocket(request, stream, context):
    """The /api/ws handler: check the subscription, then keep the client until it leaves or
    is dropped. Client messages (JSON ``{"channels": [...], "depth": n, "asset": a}``) change
    the subscription; each costs a token of the key's bucket."""
    client = request[CLIENT]
    try:
        channels = parse_channels(request.query.get("channels", ",".join(DEFAULT_CHANNELS)))
        depth = check_depth(request.query.get("depth"), client.tier, context)
        asset = request.query.get("asset")
        if asset is not None and asset not in context.assets:
            raise ValueError(f"asset: {asset!r} is not one of {', '.join(context.assets)}")
    except ValueError as problem:
        return web.json_response({"error": str(problem)}, status=400)
    # the handshake and the request before it cost the loop up to a few tenths of a
    # millisecond each: units of their own (a hundred clients may connect at once)
    await give_way()
    sock = request.transport.get_extra_info("socket") if request.transport else None
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
    # pings and pongs are the stream's (see the module's docstring)
    ws = web.WebSocketResponse(timeout=CLOSE_TIMEOUT, max_msg_size=64 * 1024, autoping=False,
                               compress=False)
    await ws.prepare(request)
    await give_way()
    member = stream.add(ws, request.transport, client, channels, depth, asset)
    try:
        async for message in ws:
            if message.type is WSMsgType.PONG:
                stream.answered(member)
                continue
            if message.type is WSMsgType.PING:
                await ws.pong(message.data)
                continue
            if message.type is not WSMsgType.TEXT:
                continue
            reply = _resubscribe(member, message.data, context)
            if reply is not None:
                await ws.send_bytes(orjson.dumps(reply))
    finally:
        stream.remove(member)
    return ws


def _resubscribe(member, text, context):
    client = member.client
    if client.bucket.take():
        return {"type": "error", "error": f"rate limit of tier {client.tier.name!r} reached"}
    try:
        request = orjson.loads(text)
        if not isinstance(request, dict):
            raise ValueError("send a JSON object such as {\"channels\": [\"book\"]}")
        _, channels, depth, asset = member.subscription
        if "channels" in request:
            if not isinstance(request["channels"], list):
                raise ValueError("channels: expected a list of names")
            channels = parse_channels(",".join(map(str, request["channels"])))
        if "depth" in request:
            depth = check_depth(str(request["depth"]), client.tier, context)
        if "asset" in request:
            asset = request["asset"]
            if asset is not None and asset not in context.assets:
                raise ValueError(f"asset: {asset!r} is not one of {', '.join(context.assets)}")
    except (ValueError, orjson.JSONDecodeError) as problem:
        return {"type": "error", "error": str(problem)}
    member.subscription = Subscription((client.tier.name, channels, depth, asset))
    return {"type": "subscribed", "channels": list(channels), "depth": depth, "asset": asset}
