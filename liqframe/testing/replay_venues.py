"""Replay exchange models for Deribit, BitMEX, Bitfinex and Bybit (see
:mod:`liqframe.testing.replay_exchanges` for what a model does and for the other venues).

Deribit, BitMEX and Bitfinex print prices and sizes as JSON numbers; a model keeps each level
as the ``[price, size]`` texts (``repr`` of the decoded number, the shortest form that reads
back the same) so :func:`liqframe.testing.replay.book_mismatches` can compare books, and writes
its snapshots back as JSON numbers.
"""

import json
import re
from decimal import Decimal

from liqframe.testing.replay_exchanges import Exchange, LevelBook, _dumps


def _text(number):
    return number if isinstance(number, str) else repr(number)


def _number(text):
    return float(text) if "." in text or "e" in text.lower() else int(text)


# -- Deribit -------------------------------------------------------------------------------------


class Deribit(Exchange):
    """Deribit JSON-RPC: ``public/subscribe`` of ``book.<instrument>.<interval>`` channels;
    book notifications carry ``change_id`` (and ``prev_change_id`` on changes). A snapshot
    after a resubscribe carries the last ``change_id`` that went by."""

    def __init__(self, recording):
        super().__init__(recording)
        self.books, self.change_id, self.timestamp = {}, {}, {}

    def channel(self, message):
        if isinstance(message, dict) and message.get("method") == "subscription":
            return message["params"]["channel"]
        return None

    def observe(self, key, message):
        if key is None or not key.startswith("book."):
            return
        data = message["params"]["data"]
        name = data["instrument_name"]
        if data["type"] == "snapshot":
            self.books[name] = LevelBook()
        book = self.books[name]
        for side, levels in (("bid", data["bids"]), ("ask", data["asks"])):
            for action, price, amount in levels:
                size = "0" if action == "delete" else _text(amount)
                book.set(side, _text(price), [_text(price), size], size)
        self.change_id[name], self.timestamp[name] = data["change_id"], data["timestamp"]

    def requests(self, message):
        method = message.get("method") if isinstance(message, dict) else None
        if method not in ("public/subscribe", "public/unsubscribe"):
            return []
        op = method.partition("/")[2]
        return [(op, channel) for channel in message.get("params", {}).get("channels", ())]

    def ack(self, op, key, message):
        return [_dumps({"jsonrpc": "2.0", "id": message.get("id"), "result": [key]})]

    def snapshot(self, key):
        kind, name, _ = key.split(".")
        if kind != "book" or name not in self.books:
            return []
        book = self.books[name]

        def levels(side):
            return [["new", _number(p), _number(s)] for p, s in book.sorted(side)]

        data = {"type": "snapshot", "timestamp": self.timestamp[name], "instrument_name": name,
                "change_id": self.change_id[name], "bids": levels("bid"),
                "asks": levels("ask")}
        return [_dumps({"jsonrpc": "2.0", "method": "subscription",
                        "params": {"channel": key, "data": data}})]


# -- BitMEX ------------------------------------------------------------------------------------


class Bitmex(Exchange):
    """BitMEX ``orderBookL2``: ``{"op": "subscribe", "args": ["orderBookL2:XBTUSD"]}``; the
    book is a table of levels keyed by ``id`` (partial, insert, update, delete), and a new
    subscription gets a ``partial`` of the table as it stands."""

    def __init__(self, recording):
        super().__init__(recording)
        self.tables, self.partials = {}, {}

    def channel(self, message):
        if not isinstance(message, dict) or "table" not in message:
            return None
        data = message["data"]
        symbol = data[0]["symbol"] if data else message.get("filter", {}).get("symbol")
        return f"{message['table']}:{symbol}"

    def observe(self, key, message):
        if key is None or not key.startswith("orderBookL2"):
            return
        action = message["action"]
        if action == "partial":
            self.tables[key] = {}
            self.partials[key] = {k: v for k, v in message.items() if k != "data"}
        rows = self.tables[key]
        for entry in message["data"]:
            if action == "delete":
                rows.pop(entry["id"], None)
            elif action == "update":
                rows[entry["id"]] = {**rows[entry["id"]], **entry}
            else:
                rows[entry["id"]] = dict(entry)

    def book(self, symbol):
        rows = self.tables[f"orderBookL2:{symbol}"]
        book = LevelBook()
        for row in rows.values():
            price, size = _text(row["price"]), _text(row["size"])
            book.set("bid" if row["side"] == "Buy" else "ask", price, [price, size], size)
        return book

    def requests(self, message):
        if not isinstance(message, dict) or message.get("op") not in ("subscribe",
                                                                       "unsubscribe"):
            return []
        return [(message["op"], arg) for arg in message.get("args", ())]

    def ack(self, op, key, message):
        return [_dumps({"success": True, op: key, "request": message})]

    def snapshot(self, key):
        if key not in self.tables:
            return []
        rows = sorted(self.tables[key].values(),
                      key=lambda row: (row["side"] != "Sell", -row["price"]))
        return [_dumps({**self.partials[key], "action": "partial", "data": rows})]


# -- Bitfinex ----------------------------------------------------------------------------------


_TRAILING_NUMBER = re.compile(rb",\s*(\d+)\s*\]\s*$")


class Bitfinex(Exchange):
    """Bitfinex v2 ``book`` channels, price (``P0``..) and raw (``R0``) books. A new
    connection starts with every recorded channel open (so a clean replay delivers every
    recorded frame and its sequence number unchanged); an unsubscribe closes one, a
    subscribe after its recorded ``subscribed`` event gets the same ``chanId`` back with a
    snapshot of the true book. With SEQ_ALL in the recorded ``conf``, each channel message
    sent is renumbered per connection from 1 (a clean replay keeps the recorded numbers)."""

    def __init__(self, recording):
        super().__init__(recording)
        self.keys, self.subscribed, self.levels, self.orders = {}, {}, {}, {}
        self.numbered = False
        for frame in recording.sent:
            message = json.loads(frame.data)
            if message.get("event") == "conf":
                self.numbered = bool(int(message.get("flags", 0)) & 65536)
        self.recorded_keys = []
        for frame in recording.received:
            if b'"subscribed"' in frame.data:
                message = json.loads(frame.data)
                self.recorded_keys.append((message["channel"], message["symbol"]))

    def channel(self, message):
        if isinstance(message, dict):
            if message.get("event") != "subscribed":
                return None
            key = (message["channel"], message["symbol"])
            self.keys[message["chanId"]] = key
            self.subscribed[key] = message
            return key
        return self.keys.get(message[0])

    def url_channels(self, url):
        return list(self.recorded_keys)

    def observe(self, key, message):
        if key is None or key[0] != "book" or not isinstance(message, list):
            return
        body, symbol = message[1], key[1]
        if not isinstance(body, list):
            return  # hb, cs
        raw = self.subscribed[key].get("prec") == "R0"
        if not body or isinstance(body[0], list):
            self.levels[symbol], self.orders[symbol] = {}, {}
            entries = body
        else:
            entries = [body]
        for entry in entries:
            if raw:
                order_id, price, amount = entry
                if price == 0:
                    self.orders[symbol].pop(order_id, None)
                else:
                    self.orders[symbol][order_id] = (_text(price), _text(amount))
            else:
                price, count, amount = entry
                if count == 0:
                    self.levels[symbol].pop(_text(price), None)
                else:
                    self.levels[symbol][_text(price)] = (count, _text(amount))

    def book(self, symbol):
        book, totals = LevelBook(), {}
        if self.subscribed[("book", symbol)].get("prec") == "R0":
            for price, amount in self.orders[symbol].values():
                totals[price] = totals.get(price, Decimal(0)) + Decimal(amount)
        else:
            totals = {price: Decimal(amount) for price, (_, amount) in
                      self.levels[symbol].items()}
        for price, amount in totals.items():
            size = str(abs(amount))
            book.set("bid" if amount > 0 else "ask", price, [price, size], size)
        return book

    def requests(self, message):
        if not isinstance(message, dict):
            return []
        if message.get("event") == "subscribe":
            return [("subscribe", (message["channel"], message["symbol"]))]
        if message.get("event") == "unsubscribe" and message.get("chanId") in self.keys:
            return [("unsubscribe", self.keys[message["chanId"]])]
        return []

    def ack(self, op, key, message):
        if op == "unsubscribe":
            return [_dumps({"event": "unsubscribed", "status": "OK",
                            "chanId": self.subscribed[key]["chanId"]})]
        return [_dumps(self.subscribed[key])] if key in self.subscribed else []

    def snapshot(self, key):
        if key[0] != "book" or key not in self.subscribed:
            return []
        symbol, channel = key[1], self.subscribed[key]["chanId"]
        if self.subscribed[key].get("prec") == "R0":
            orders = self.orders[symbol].items()
            entries = [[order_id, _number(p), _number(a)] for order_id, (p, a) in orders]
        else:
            def best_first(item):
                ask = Decimal(item[1][1]) < 0
                return ask, Decimal(item[0]) if ask else -Decimal(item[0])

            ordered = sorted(self.levels[symbol].items(), key=best_first)
            entries = [[_number(p), count, _number(a)] for p, (count, a) in ordered]
        message = [channel, entries] + ([0] if self.numbered else [])
        return [_dumps(message)]

    def rewrite(self, data, connection):
        if not self.numbered or not data.startswith(b"["):
            return data
        connection.numbered += 1
        match = _TRAILING_NUMBER.search(data)
        if int(match[1]) == connection.numbered:
            return data
        connection.renumbered += 1
        return data[:match.start(1)] + str(connection.numbered).encode() + data[match.end(1):]


# -- Bybit v5 ----------------------------------------------------------------------------------


class Bybit(Exchange):
    """Bybit v5 ``orderbook.{depth}.{symbol}`` topics: ``{"op": "subscribe", "args": [...]}``;
    a subscription after the recorded snapshot gets a snapshot of the true book carrying the
    last ``u`` and ``seq`` that went by (the depth's levels)."""

    def __init__(self, recording):
        super().__init__(recording)
        self.books, self.last = {}, {}

    def channel(self, message):
        return message.get("topic") if isinstance(message, dict) else None

    def book(self, symbol):
        return next(book for topic, book in self.books.items() if topic.endswith(f".{symbol}"))

    def observe(self, key, message):
        if key is None or not key.startswith("orderbook."):
            return
        data = message["data"]
        if message["type"] == "snapshot":
            self.books[key] = LevelBook()
        book = self.books[key]
        for side, levels in (("bid", data["b"]), ("ask", data["a"])):
            for level in levels:
                book.set(side, level[0], level, level[1])
        book.truncate(int(key.split(".")[1]))
        self.last[key] = (data["s"], data["u"], data.get("seq"), message.get("ts"),
                          message.get("cts"))

    def requests(self, message):
        if not isinstance(message, dict) or message.get("op") not in ("subscribe",
                                                                       "unsubscribe"):
            return []
        return [(message["op"], topic) for topic in message.get("args", ())]

    def ack(self, op, key, message):
        return [_dumps({"success": True, "ret_msg": "", "conn_id": "replay", "op": op})]

    def snapshot(self, key):
        if key not in self.books:
            return []
        symbol, update_id, seq, ts, cts = self.last[key]
        book, depth = self.books[key], int(key.split(".")[1])
        data = {"s": symbol, "b": book.sorted("bid", depth), "a": book.sorted("ask", depth),
                "u": update_id, "seq": seq}
        return [_dumps({"topic": key, "type": "snapshot", "ts": ts, "data": data, "cts": cts})]


def model_for(recording):
    """The model of this module for a recording, chosen from its file name, or None."""
    name = recording.name.upper()
    for prefix, model in (("DERIBIT.WS", Deribit), ("BITMEX.WS", Bitmex),
                          ("BITFINEX.WS", Bitfinex), ("L3_FEED", Bitfinex)):
        if name.startswith(prefix):
            return model(recording)
    if "OB500" in name or name.endswith(".DATA.ZIP"):
        return Bybit(recording)
    return None
