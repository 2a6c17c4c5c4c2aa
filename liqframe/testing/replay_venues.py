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
