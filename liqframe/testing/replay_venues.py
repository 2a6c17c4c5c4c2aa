"""Replay exchange models for Deribit, BitMEX, Bitfinex and Bybit (see
:mod:`liqframe.testing.replay_exchanges` for what a model does and for the other venues).

Deribit, BitMEX and Bitfinex print prices and sizes as JSON numbers; a model keeps each level
as the ``[price, size]`` texts (``repr`` of the decoded number, the shortest form that reads
back the same) so :func:`liqframe.testing.replay.book_mismatches` can compare books, and writes
its snapshots back as JSON numbers.
"""

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
