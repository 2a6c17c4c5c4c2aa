"""Bitfinex WebSocket v2 ``book`` channel: price-aggregated books (``P0``..``P4``) and the raw,
order-by-order book (``R0``).

Protocol rules (Bitfinex API v2, "Books" and "Raw Books" public channels, "Configuration"):

- ``{"event": "conf", "flags": F}`` first: flag ``65536`` (SEQ_ALL) appends a sequence number
  to every channel message of the connection, flag ``131072`` (OB_CHECKSUM) adds
  ``[chanId, "cs", checksum]`` messages after book updates;
- ``{"event": "subscribe", "channel": "book", "symbol": "tBTCUSD", "prec": "P0", "freq":
  "F0", "len": "25"}`` is answered by ``{"event": "subscribed", "chanId": N, ...}``; then
  ``[N, [entries...]]`` (snapshot), ``[N, entry]`` (one change) and ``[N, "hb"]``
  (heartbeat), each followed by its sequence number under SEQ_ALL;
- a ``P`` entry is ``[price, count, amount]``: count > 0 sets the level (amount > 0 a bid, < 0
  an ask, size ``|amount|``); count 0 deletes it (amount 1 a bid, -1 an ask);
- an ``R0`` entry is ``[order_id, price, amount]``: price 0 deletes the order, anything else
  adds it or replaces it (it may move to another price). The connector keeps the orders in
  an :class:`~liqframe.core.L3Book` and reports each touched level's new total; deleting an
  order the book does not hold means a lost message: a gap, and the channel is resubscribed;
- SEQ_ALL numbers run over the whole connection, so a break may have hit any book: it counts
  one gap and every book is resubscribed (:class:`~liqframe.connectors.ConnectionSequence`);
- the ``cs`` checksum (P books) is the signed CRC32 of the top 25 bids and asks interleaved as
  ``price:amount`` with JavaScript number text, ask amounts negative
  (:func:`liqframe.core.checksum.bitfinex_checksum`); a mismatch resubscribes the channel.
  Raw-book checksums are not verified.
- ``{"event": "info", "code": 20051}`` (server restart) and ``20060`` (maintenance) ask the
  client to reconnect. Numbers are JSON numbers, read from their text.
"""

import orjson

from liqframe.connectors import ConnectionSequence, Market, StreamingConnector
from liqframe.connectors.numbers import decimal_places, loads_exact
from liqframe.core import ASK, BID, L3Book, checksum
from liqframe.errors import SequenceGap

URL = "wss://api-pub.bitfinex.com/ws/2"
SEQ_ALL, OB_CHECKSUM = 65536, 131072
RECONNECT_CODES = ("20051", "20060")
#: L3Book's side numbers for liqframe's book sides.
_L3_SIDE = {BID: 1, ASK: -1}


def _side_and_size(amount, size):
    """``(side, lots)`` of a signed amount text: positive a bid, negative an ask."""
    if amount[0] == "-":
        return ASK, size(amount[1:])
    return BID, size(amount)


class BitfinexConnector(StreamingConnector):
    """Bitfinex books. ``precision`` is ``P0``..``P4`` or ``R0`` (raw orders), ``length`` the
    book length (1, 25, 100 or 250), ``flags`` the ``conf`` flags (SEQ_ALL and OB_CHECKSUM by
    default; 0 sends no conf)."""

    kind = "bitfinex"

    def __init__(self, *, venue, instruments=(), markets, url=URL, precision="P0", length=25,
                 frequency="F0", flags=SEQ_ALL | OB_CHECKSUM, **options):
        super().__init__(venue=venue, instruments=instruments, url=url, markets=markets,
                         **options)
        if precision not in ("P0", "P1", "P2", "P3", "P4", "R0"):
            raise ValueError(f"precision: {precision!r} must be P0..P4 or R0")
        if int(length) not in (1, 25, 100, 250):
            raise ValueError(f"length: {length!r} must be 1, 25, 100 or 250")
        if frequency not in ("F0", "F1"):
            raise ValueError(f"frequency: {frequency!r} must be F0 or F1")
        self.precision, self.length, self.frequency = precision, int(length), frequency
        self.flags = int(flags)
        self.raw = precision == "R0"
        self.channels = {}  # chanId -> feed, for this connection
        self.sequence = ConnectionSequence()

    # -- subscriptions ----------------------------------------------------------------------

    def _subscription(self, symbol):
        return orjson.dumps({"event": "subscribe", "channel": "book", "symbol": symbol,
                             "prec": self.precision, "freq": self.frequency,
                             "len": str(self.length)})

    async def subscribe(self, session):
        if self.flags:
            await session.send(orjson.dumps({"event": "conf", "flags": self.flags}))
        for symbol in self.feeds:
            await session.send(self._subscription(symbol))

    async def resubscribe(self, feed):
        channel = next((c for c, f in self.channels.items() if f is feed), None)
        if channel is not None:
            del self.channels[channel]
            await self.session.send(orjson.dumps({"event": "unsubscribe", "chanId": channel}))
        await self.session.send(self._subscription(feed.market.venue_symbol))

    def connection_lost(self):
        self.channels.clear()
        self.sequence.reset()

    # -- messages -----------------------------------------------------------------------------

    def handle(self, data, received_ns):
        message = loads_exact(data)
        if type(message) is dict:
            self._event(message)
            return
        kind = message[1]
        numbered = self.flags & SEQ_ALL
        if numbered and not self.sequence.check(int(message[-1])):
            self._connection_gap(message[-1])
            return
        feed = self.channels.get(int(message[0]))
        if feed is None or kind == "hb":
            return
        if kind == "cs":
            if feed.synced and not self.raw and self.verify_checksums:
                market = feed.market
                computed = checksum.bitfinex_checksum(feed.book, market.price_decimals,
                                                      market.size_decimals)
                published = int(message[2])
                if not feed.check(published, computed):
                    self.checksum_failed(feed, published, computed)
            return
        if kind and type(kind[0]) is list or not kind:
            self._snapshot(feed, kind, received_ns)
        elif feed.synced:
            try:
                self._change(feed, kind, received_ns)
            except SequenceGap as error:
                self.gap(feed, error)

    def _event(self, message):
        event = message.get("event")
        if event == "subscribed" and message.get("channel") == "book":
            feed = self.feeds.get(message["symbol"])
            if feed is not None:
                self.channels[int(message["chanId"])] = feed
        elif event == "info" and message.get("code") in RECONNECT_CODES:
            self.events.on_status(False, f"bitfinex: {message.get('msg')}; reconnecting")
            self.spawn(self.session.drop())
        elif event == "error":
            self.events.on_status(False, f"bitfinex: {message.get('msg')}")

    def _connection_gap(self, received):
        """A SEQ_ALL break: any book may have lost a message, so every one resyncs."""
        expected = None if self.sequence.last is None else int(received)
        self.stats.gaps += 1
        for feed in self.feeds.values():
            if feed.synced:
                self.resync(feed, f"connection sequence broken at {received} "
                                  f"(expected after {expected})")

    def _snapshot(self, feed, entries, received_ns):
        price, size = feed.market.price, feed.market.size
        levels = ({}, {})
        if self.raw:
            orders = feed.state = L3Book()
            for order_id, at, amount in entries:
                side, lots = _side_and_size(amount, size)
                at = price(at)
                orders.add(int(order_id), _L3_SIDE[side], at, lots)
                levels[side][at] = levels[side].get(at, 0) + lots
        else:
            for at, _, amount in entries:
                side, lots = _side_and_size(amount, size)
                levels[side][price(at)] = lots
        feed.snapshot(list(levels[BID].items()), list(levels[ASK].items()),
                      event_ns=received_ns)

    def _change(self, feed, entry, received_ns):
        price, size = feed.market.price, feed.market.size
        if not self.raw:
            at, count, amount = entry
            if count == "0":
                changes = [(BID if amount == "1" else ASK, price(at), 0)]
            else:
                side, lots = _side_and_size(amount, size)
                changes = [(side, price(at), lots)]
            feed.apply(changes, received_ns=received_ns)
            return
        orders, order_id = feed.state, int(entry[0])
        changes = []
        if order_id in orders:
            side, at = orders.order(order_id)[:2]
            orders.delete(order_id)
            changes.append((BID if side == 1 else ASK, at))
        elif entry[1] == "0":
            raise SequenceGap("an order the book holds", order_id,
                              f"{feed.symbol}: delete of unknown order {order_id}")
        if entry[1] != "0":
            side, lots = _side_and_size(entry[2], size)
            at = price(entry[1])
            orders.add(order_id, _L3_SIDE[side], at, lots)
            changes.append((side, at))
        feed.apply([(side, at, orders.level(_L3_SIDE[side], at)[0])
                    for side, at in dict.fromkeys(changes)], received_ns=received_ns)

    # -- replaying a recording ------------------------------------------------------------------

    @classmethod
    def replay_options(cls, recording, server):
        """Options replaying a recorded Bitfinex session: its book subscriptions (symbol,
        precision, length), the conf flags it sent, and the increments its numbers show."""
        subscriptions, flags = {}, 0
        for request in recording.sent:
            message = loads_exact(request.data)
            if message.get("event") == "conf":
                flags = int(message["flags"])
            elif message.get("event") == "subscribe" and message.get("channel") == "book":
                subscriptions[message["symbol"]] = message
        channels = {}
        for frame in recording.received:
            message = loads_exact(frame.data)
            if type(message) is dict:
                if message.get("event") == "subscribed" and message.get("channel") == "book":
                    channels[message["chanId"]] = message["symbol"]
                    subscriptions.setdefault(message["symbol"], message)
        found = {symbol: (0, 0) for symbol in subscriptions}
        for frame in recording.received:
            message = loads_exact(frame.data)
            if type(message) is not list or message[0] not in channels:
                continue
            symbol, body = channels[message[0]], message[1]
            if not isinstance(body, list) or not body:
                continue
            raw = subscriptions[symbol].get("prec") == "R0"
            for entry in body if type(body[0]) is list else [body]:
                at, amount = (entry[1], entry[2]) if raw else (entry[0], entry[2])
                p, s = found[symbol]
                found[symbol] = (max(p, decimal_places(at)),
                                 max(s, decimal_places(amount.lstrip("-"))))
        first = next(iter(subscriptions.values()))
        markets = {s: Market.from_places(s, s, *found[s]).as_option() for s in found}
        return {"venue": "bitfinex", "url": server.ws_url, "markets": markets,
                "precision": first.get("prec", "P0"), "length": int(first.get("len", 25)),
                "flags": flags, "reconnect_delay": 0.05}
