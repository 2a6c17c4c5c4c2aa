"""The ``simvenue`` venue connector: talks to a simulated exchange over HTTP and WebSocket.

With ``serve = true`` the connector also starts the exchange itself, on 127.0.0.1, joined to
the process's shared simulated market, so a host runs a whole market from its configuration;
without it, it connects to ``url``.

Orders are placed and cancelled on the stream while it is up (the venue answers each with a
``reply`` message: one WebSocket frame each way instead of an HTTP exchange, a fraction of the
CPU on the host's event loop), over REST otherwise; everything else goes over REST.

A book message that follows on from the one before (or the snapshot) reaches the host whole,
as int64 columns (``on_book_columns``, when the host takes them); any other goes change by
change (``on_delta``) under its own sequence numbers, and the host checks them: a gap makes it
call :meth:`resync`, a change already in the book is dropped. The venue's ``sequence``
messages tell the connector when the last book messages were lost (no later one shows the
gap), and it asks for a fresh snapshot itself. When the connection drops the
connector reports the venue down, reconnects with backoff and reports it up again, and the
host then reconciles orders, fills and balances through REST.
"""

import asyncio
import contextlib
import itertools
import time
from decimal import Decimal

import aiohttp
import orjson

from liqframe.connectors.markets import Market
from liqframe.core import ASK, BID
from liqframe.errors import OrderError
from liqframe.host.scheduling import give_way
from liqframe.model import Balance, BookDelta, Fill, Order, Side
from liqframe_simvenue.server import KEY_HEADER

#: The venue's names of the book's sides.
SIDES = {"buy": BID, "sell": ASK}

#: Seconds an order operation sent on the stream waits for its reply (as REST's timeout).
REPLY_TIMEOUT_S = 10.0


class VenueUnavailable(ConnectionError):
    """The venue cannot be reached, refused the key, or does not trade what it should."""


class SimVenueConnector:
    """Connector to one simulated exchange. Options (``[venues.options]``):

    ``url``: the exchange's base URL (when not serving); ``api_key``; ``serve``: start the
    exchange in this process; ``port``: its port when serving (0 picks one); ``latency_ms``,
    ``drop_probability``, ``outage_every_s``, ``outage_s``: the server's realism knobs;
    ``balances``: starting balances of the key's account when serving (asset -> decimal
    string); ``flow``: background traders (see :mod:`liqframe_simvenue.flow`); ``market``
    and ``reference``: the name and settings of the shared simulated market."""

    def __init__(self, *, venue, instruments, url=None, api_key="demo-key", serve=False,
                 port=0, latency_ms=0, drop_probability="0", outage_every_s="0", outage_s="2",
                 balances=None, flow=None, market="default", reference=None, seed=1,
                 instrument_details=None, maker_fee_bps="0", taker_fee_bps="0",
                 reconnect_max_s=2.0):
        if len(instruments) != 1:
            raise ValueError(f"instruments: a simulated venue trades exactly one instrument, "
                             f"got {list(instruments)}")
        if not serve and not url:
            raise ValueError("url: give the venue's URL, or serve = true to start it here")
        self.venue, self.symbol = venue, instruments[0]
        self.url, self.api_key, self.serve = (url or "").rstrip("/"), str(api_key), serve
        self.instrument = (instrument_details or {}).get(self.symbol)
        if serve:
            if self.instrument is None:
                raise ValueError("serve: the host must pass instrument_details to serve")
            from liqframe_simvenue.simulation import SimulatedVenue

            self.simulation = SimulatedVenue(
                venue, self.symbol, self.instrument, api_key=self.api_key,
                balances=balances, maker_fee_bps=maker_fee_bps, taker_fee_bps=taker_fee_bps,
                flow=flow, market=market, reference=reference, seed=seed,
                server={"port": port, "latency_ms": latency_ms,
                        "drop_probability": drop_probability,
                        "outage_every_s": outage_every_s, "outage_s": outage_s})
        else:
            self.simulation = None
        self.reconnect_max = float(reconnect_max_s)
        self.events = self.session = self.ws = None
        self._reader = None
        self._stopping = False
        self.connects = 0
        self._sequence = None  # of the latest book change received on this connection
        self._asked = False  # a snapshot asked for and not yet received
        self._levels_batch = None  # set once the venue's increments are known
        self._columns = None  # the host's on_book_columns, if it has one (see start)
        self._replies = {}  # id of an order operation sent on the stream -> its future
        self._reply_ids = itertools.count(1)

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self, events):
        self.events = events
        self._stopping = False
        if self.simulation is not None:
            self.url = await self.simulation.start()
        self.session = aiohttp.ClientSession(
            headers={KEY_HEADER: self.api_key},
            timeout=aiohttp.ClientTimeout(total=10, sock_connect=3))
        try:
            await self._check_venue()  # sets the batch the columns are parsed into
            self._columns = getattr(events, "on_book_columns", None)
            await self._connect()
        except BaseException:
            await self.stop()
            raise
        self._reader = asyncio.create_task(self._read_forever(), name=f"{self.venue}-stream")

    async def stop(self):
        self._stopping = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
            self._reader = None
        if self.ws is not None:
            await self.ws.close()
            self.ws = None
        self._fail_replies("the connector stopped")
        if self.session is not None:
            await self.session.close()
            self.session = None
        if self.simulation is not None:
            await self.simulation.stop()

    async def _check_venue(self):
        info = await self._request("GET", "/api/info")
        if info["symbol"] != self.symbol:
            raise VenueUnavailable(f"{self.venue}: {self.url} trades {info['symbol']}, "
                                   f"not {self.symbol}: check venues.instruments and url")
        if self.instrument is None:
            from liqframe.model import Instrument

            self.instrument = Instrument(base=info["base"], quote=info["quote"],
                                         price_increment=info["price_increment"],
                                         size_increment=info["size_increment"])
        elif (str(self.instrument.price_increment), str(self.instrument.size_increment)) != (
                info["price_increment"], info["size_increment"]):
            raise VenueUnavailable(
                f"{self.venue}: the venue's increments ({info['price_increment']}, "
                f"{info['size_increment']}) differ from the configured instrument's")
        #: each book message's changes, parsed at the instrument's increments
        self._levels_batch = Market(self.symbol, self.symbol, info["price_increment"],
                                    info["size_increment"]).batch()
        await self._request("GET", "/api/balances")  # checks the key

    async def _connect(self):
        try:
            self.ws = await self.session.ws_connect(f"{self.url}/ws", heartbeat=10)
        except aiohttp.WSServerHandshakeError as error:
            if error.status == 401:
                raise VenueUnavailable(f"{self.venue}: the venue refused the API key (HTTP "
                                       "401): check api_key in the venue's options") from None
            raise VenueUnavailable(f"{self.venue}: WebSocket refused: HTTP {error.status}") \
                from None
        except (aiohttp.ClientError, OSError) as error:
            raise VenueUnavailable(f"{self.venue}: cannot reach {self.url}: {error}") from None
        self.connects += 1

    async def _read_forever(self):
        backoff = 0.05
        while not self._stopping:
            reason = await self._read()
            self._fail_replies(reason)
            if self._stopping:
                return
            self.events.on_status(False, reason)
            while not self._stopping:
                await asyncio.sleep(backoff)
                backoff = min(self.reconnect_max, backoff * 2)
                try:
                    await self._connect()
                except VenueUnavailable:
                    continue
                backoff = 0.05
                break

    async def _read(self):
        """Read messages until the connection ends; returns why it ended."""
        first = True
        try:
            async for message in self.ws:
                if message.type != aiohttp.WSMsgType.BINARY and \
                        message.type != aiohttp.WSMsgType.TEXT:
                    break
                # messages already received come without a suspension: each waits for room
                # in a turn of the loop, so a burst is not handled all in one turn
                await give_way()
                data = orjson.loads(message.data)
                if self._dispatch(data):  # True: ask for a fresh snapshot
                    await self.resync(self.symbol)
                if first and data["type"] == "snapshot":
                    first = False
                    self.events.on_status(True, "connected" if self.connects == 1
                                          else "reconnected")
        except (aiohttp.ClientError, OSError) as error:
            return f"connection lost: {error}"
        code = self.ws.close_code if self.ws is not None else None
        return f"connection closed by the venue (code {code})"

    def _dispatch(self, data):
        """Hand one message to the host; True when a fresh snapshot should be asked for."""
        kind, events, instrument = data["type"], self.events, self.instrument
        received = time.time_ns()
        if kind == "book":
            first, changes = data["first"], data["changes"]
            follows = self._sequence is not None and first == self._sequence + 1
            self._sequence = first + len(changes) - 1
            if follows and self._columns is not None:
                # the usual case, in one call: the host applies the message whole
                levels = self._levels_batch
                levels.clear()
                levels.add_sided(changes, 0, SIDES, 1, 2)
                self._columns(self.symbol, *levels.columns(), self._sequence, data["ts"],
                              received)
                return False
            # after a snapshot, a gap or a duplicate, or for a host without columns: a delta
            # per change, each under its own sequence number, for the host to check
            for index, (side, price, size) in enumerate(changes):
                events.on_delta(BookDelta(
                    venue=self.venue, symbol=self.symbol, side=side,
                    price=instrument.price_ticks(price), size=instrument.size_lots(size),
                    sequence=first + index, event_ns=data["ts"], received_ns=received))
        elif kind == "snapshot":
            self._sequence, self._asked = data["sequence"], False
            events.on_snapshot(self.symbol, self._levels(data["bids"]),
                               self._levels(data["asks"]), data["sequence"], data["ts"])
        elif kind == "reply":
            reply = self._replies.pop(data["id"], None)
            if reply is not None and not reply.done():
                reply.set_result((data["status"], data["data"]))
        elif kind == "order":
            events.on_order(self._order(data))
        elif kind == "fill":
            events.on_fill(self._fill(data))
        elif kind == "sequence":
            if self._sequence is not None and data["sequence"] > self._sequence \
                    and not self._asked:  # the latest book messages were lost
                self._asked = True
                return True
        elif kind == "rate":
            on_rate = getattr(events, "on_rate", None)
            if on_rate is not None:
                on_rate(data["currency"], data["numeraire"], Decimal(data["rate"]))

    def _levels(self, rows):
        return [(self.instrument.price_ticks(p), self.instrument.size_lots(s)) for p, s in rows]

    def _order(self, data):
        instrument = self.instrument
        return Order(id=data["client_id"], venue=self.venue, symbol=data["symbol"],
                     side=data["side"], size=instrument.size_lots(data["size"]),
                     price=instrument.price_ticks(data["price"]) if data["price"] else None,
                     status=data["status"], filled=instrument.size_lots(data["filled"]),
                     venue_order_id=data["order_id"])

    def _fill(self, data):
        instrument = self.instrument
        return Fill(order_id=data["client_id"], venue=self.venue, symbol=data["symbol"],
                    side=data["side"], price=instrument.price_ticks(data["price"]),
                    size=instrument.size_lots(data["size"]), fee=data["fee"],
                    fee_currency=data["fee_currency"], liquidity=data["liquidity"],
                    trade_id=data["trade_id"], event_ns=data["ts"])

    # -- REST, and order operations on the stream ----------------------------------------

    async def _request(self, method, path, body=None, *, ok=(200,)):
        if self.session is None:
            raise VenueUnavailable(f"{self.venue}: not connected")
        try:
            async with self.session.request(method, f"{self.url}{path}",
                                            data=orjson.dumps(body) if body else None) as reply:
                payload = await reply.read()
                status = reply.status
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise VenueUnavailable(f"{self.venue}: cannot reach {self.url}: "
                                   f"{error or type(error).__name__}") from None
        return self._answer(method, path, status, orjson.loads(payload) if payload else None,
                            ok)

    async def _trade(self, method, path, message, body=None):
        """An order operation: ``message`` on the stream while it is up, otherwise ``method
        path`` with ``body`` over REST; the venue's answer either way."""
        ws = self.ws
        if ws is None or ws.closed:
            return await self._request(method, path, body)
        message["id"] = request_id = next(self._reply_ids)
        reply = self._replies[request_id] = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(REPLY_TIMEOUT_S):
                await ws.send_bytes(orjson.dumps(message))
                status, data = await reply
        except (TimeoutError, aiohttp.ClientError, ConnectionError, OSError) as error:
            raise VenueUnavailable(f"{self.venue}: {method} {path} on the stream: "
                                   f"{error or type(error).__name__}") from None
        finally:
            self._replies.pop(request_id, None)
        return self._answer(method, path, status, data)

    def _fail_replies(self, reason):
        replies, self._replies = self._replies, {}
        for reply in replies.values():
            if not reply.done():
                reply.set_exception(ConnectionError(reason))

    def _answer(self, method, path, status, data, ok=(200,)):
        """``data`` when ``status`` is in ``ok``, otherwise the error it means."""
        if status == 401:
            raise VenueUnavailable(f"{self.venue}: the venue refused the API key (HTTP 401): "
                                   "check api_key in the venue's options")
        if status == 503:
            raise VenueUnavailable(f"{self.venue}: venue unavailable (HTTP 503)")
        if status not in ok:
            message = data.get("error") if isinstance(data, dict) else data
            raise OrderError(f"{self.venue}: {method} {path}: HTTP {status}: {message}")
        return data

    async def place_order(self, order):
        body = {"client_id": order.id, "side": "buy" if order.side is Side.BID else "sell",
                "price": self.instrument.price_text(order.price),
                "size": self.instrument.size_text(order.size),
                "tif": order.time_in_force.value}
        data = await self._trade("POST", "/api/orders", {"op": "place", "order": body}, body)
        return data["order_id"]

    async def cancel_order(self, venue_order_id):
        await self._trade("DELETE", f"/api/orders/{venue_order_id}",
                          {"op": "cancel", "order_id": str(venue_order_id)})

    async def open_orders(self):
        return [self._order(o) for o in await self._request("GET", "/api/orders")]

    async def query_order(self, order_id):
        """The venue's view of our order ``order_id`` (client id), or None if it never saw it."""
        data = await self._request("GET", f"/api/orders/{order_id}", ok=(200, 404))
        return None if "error" in data else self._order(data)

    async def balances(self):
        return [Balance(venue=self.venue, asset=b["asset"], total=b["total"],
                        available=b["available"])
                for b in await self._request("GET", "/api/balances")]

    async def recent_fills(self, after=None):
        """Our fills after trade id ``after`` (all when None), oldest first."""
        data = await self._request("GET", f"/api/fills?after={after or 0}")
        return [self._fill(f) for f in data]

    async def resync(self, symbol):
        """Ask for a fresh snapshot on the open stream (after a sequence gap)."""
        if self.ws is not None and not self.ws.closed:
            await self.ws.send_bytes(orjson.dumps({"op": "snapshot"}))
