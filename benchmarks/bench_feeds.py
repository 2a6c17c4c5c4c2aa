"""Exchange feeds: raw frames through JSON decode, the connector's parse, its L2Book and a
ConsolidatedBook, beside cryptofeed processing the same recordings.

    python benchmarks/run.py feeds [--quick] [--json]

For each recording in ``tests/data/cryptofeed`` the frames of the book channel are taken as a
socket delivers them (text). Every repeat starts from fresh books: the frames up to the last
snapshot (Binance: the recorded REST snapshots) are applied untimed, then every following book
update is timed on one core, one after the other, as the connector's ``handle`` receives it:
orjson decode, decimal strings straight to ticks and lots, the sequence check, the L2Book, and
the host side, here a ConsolidatedBook per instrument fed through a
:class:`~liqframe.core.BookSink` (``apply_many`` over the message's int64 columns, called in C).

- ``liqframe`` verifies no checksum (cryptofeed's default too); ``liqframe+checksum`` checks
  the venue's CRC32 on every update where the venue sends one (Kraken, OKX, Bitget).
- ``cryptofeed+checksum`` is cryptofeed with ``checksum_validation=True`` (its C order book
  computes the venue's checksum on every update), the same work as ``liqframe+checksum``.
- ``cryptofeed`` is cryptofeed 2.4's own feed class for the venue, driven offline: its symbol
  table is filled from the recording, Binance's REST snapshot is answered from the recorded
  reply, and each frame goes through ``await feed.message_handler(frame, None, ts)``, its
  whole path from the raw string to its order book and the book callback (a no-op).
- ``orjson`` alone decodes the same frames: the floor for any Python connector.

Per recording the figures are microseconds per update message (median of the repeats), and
three targets, each printed as met or NOT met (``"met"`` in ``--json``): at least 3x
cryptofeed's throughput for the same work (both without checksums, and both verifying them
where the venue sends them; the ratio of liqframe verifying to cryptofeed not verifying is
printed too);
messages of at most three levels in at most 3 us; larger ones in at most twice orjson's decode
of the same messages (both per message, checksums verified where sent).
"""

import asyncio
import gc
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import orjson  # noqa: E402
from common import figure  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from liqframe.core import BookSink, ConsolidatedBook  # noqa: E402
from liqframe.testing.recordings import load  # noqa: E402

DATA = ROOT / "tests" / "data" / "cryptofeed"


class _Server:
    """What ``replay_options`` reads from a replay server; no server runs here."""

    ws_url = "ws://127.0.0.1:9/"
    http_url = "http://127.0.0.1:9"
    base = "127.0.0.1:9"


class ConsolidatedSink:
    """The host side of the benchmark: each instrument's ConsolidatedBook, venue 0."""

    def __init__(self):
        self.books = {}

    def _book(self, symbol):
        book = self.books.get(symbol)
        if book is None:
            book = self.books[symbol] = ConsolidatedBook()
            book.add_venue(0, "venue")
        return book

    def on_snapshot(self, symbol, bids, asks, sequence, event_ns):
        book = self._book(symbol)
        book.clear_venue(0)
        book.apply_snapshot(0, bids, asks)

    def book_sink(self, symbol):
        return BookSink(self._book(symbol), 0, lag=False)

    def on_delta(self, delta):
        raise AssertionError("the fast path is used")

    def on_fill(self, fill):
        pass

    def on_order(self, order):
        pass

    def on_status(self, up, reason):
        pass


# -- the recordings ------------------------------------------------------------------------


def _kraken_book(m):
    return isinstance(m, list) and str(m[-2]).startswith("book")


def _kraken_snapshot(m):
    return "as" in m[1]


def _okx_book(m):
    return isinstance(m, dict) and m.get("arg", {}).get("channel") == "books" and "data" in m


def _okx_snapshot(m):
    return m["action"] == "snapshot"


def _binance_book(m):
    return m.get("data", {}).get("e") == "depthUpdate"


def _coinbase_book(m):
    # sequence_num counts every channel of the connection, so every frame goes through.
    return True


def _coinbase_snapshot(m):
    return m["events"][0]["type"] == "snapshot"


def _levels(m):
    if isinstance(m, list):
        return sum(len(p.get("a", ())) + len(p.get("b", ())) for p in m[1:-2])
    if "data" in m and isinstance(m["data"], dict):
        return len(m["data"]["b"]) + len(m["data"]["a"])
    if "events" in m:
        return sum(len(e.get("updates", ())) for e in m["events"]) \
            if m.get("channel") == "l2_data" else 0
    return sum(len(d["asks"]) + len(d["bids"]) for d in m["data"])


def _coinbase_snapshot_frame(m):
    return m.get("channel") == "l2_data" and _coinbase_snapshot(m)


def cases():
    from liqframe_binance import BinanceConnector, BinanceFuturesConnector
    from liqframe_bitget import BitgetConnector
    from liqframe_coinbase import CoinbaseConnector
    from liqframe_kraken import KrakenConnector
    from liqframe_okx import OkxConnector

    return [
        ("kraken", "KRAKEN.ws.50.0", KrakenConnector, _kraken_book, _kraken_snapshot, True),
        ("okx", "OKX.ws.1.0", OkxConnector, _okx_book, _okx_snapshot, True),
        ("bitget", "BITGET.ws.1.0", BitgetConnector, _okx_book, _okx_snapshot, True),
        ("binance", "BINANCE.ws.1.0", BinanceConnector, _binance_book, None, False),
        ("binance-futures", "BINANCE_FUTURES.ws.1.0", BinanceFuturesConnector, _binance_book,
         None, False),
        ("coinbase", "COINBASE.jsonl.zst", CoinbaseConnector, _coinbase_book,
         _coinbase_snapshot_frame, False),
    ]


def split(recording, is_book, is_snapshot):
    """``(warm, timed)``: book frames up to the last snapshot, then the updates after it."""
    frames = [(f.data.decode(), orjson.loads(f.data)) for f in recording.received]
    frames = [(text, m) for text, m in frames if is_book(m)]
    last = max((i for i, (_, m) in enumerate(frames) if is_snapshot and is_snapshot(m)),
               default=-1)
    return [t for t, _ in frames[:last + 1]], [(t, _levels(m)) for t, m in frames[last + 1:]]


# -- liqframe --------------------------------------------------------------------------------


def liqframe_setup(connector_class, recording, warm, verify):
    options = connector_class.replay_options(recording, _Server())
    options["verify_checksums"] = verify
    connector = connector_class(**options)
    connector.attach(ConsolidatedSink())
    for text in warm:
        connector.handle(text, 0)
    if recording.http and hasattr(connector, "syncs"):
        for url, _, body in recording.http:
            symbol = url.split("symbol=")[1].split("&")[0]
            reply = orjson.loads(body)
            feed = connector.feeds[symbol]
            price, size = feed.market.price, feed.market.size
            feed.snapshot([(price(p), size(s)) for p, s in reply["bids"]],
                          [(price(p), size(s)) for p, s in reply["asks"]],
                          reply["lastUpdateId"] - (1 if connector.futures else 0))
    return connector


def _nothing(state, text):
    pass


def per_message_ns(handle, texts, repeats, setup):
    """Median over ``repeats`` of each message's own time (ns), state rebuilt each repeat,
    less the timing loop's own cost (the median time of calling a function that does nothing
    in the same loop: two clock reads and a call)."""
    samples = [[] for _ in texts]
    idle = []
    clock = time.perf_counter_ns
    for _ in range(repeats):
        state = setup()
        gc.collect()
        gc.disable()
        try:
            for i, text in enumerate(texts):
                start = clock()
                handle(state, text)
                samples[i].append(clock() - start)
            for text in texts:
                start = clock()
                _nothing(state, text)
                idle.append(clock() - start)
        finally:
            gc.enable()
    loop = statistics.median(idle)
    return [max(statistics.median(s) - loop, 0) for s in samples]


def total_ns(run, repeats, setup):
    best = []
    for _ in range(repeats):
        state = setup()
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter_ns()
            run(state)
            best.append(time.perf_counter_ns() - start)
        finally:
            gc.enable()
    return statistics.median(best)


def measure_liqframe(connector_class, recording, warm, texts, repeats, verify):
    def setup():
        return liqframe_setup(connector_class, recording, warm, verify)

    def run(connector):
        handle = connector._received
        for text in texts:
            handle(text, 0)

    connector = setup()
    run(connector)
    stats = connector.stats
    assert stats.gaps == stats.checksum_failures == stats.resyncs == 0, stats
    return total_ns(run, repeats, setup) / len(texts)


# -- cryptofeed ------------------------------------------------------------------------------


def cryptofeed_feed(venue, recording, checksum=False):
    from cryptofeed.defines import L2_BOOK
    from cryptofeed.exchanges import OKX, Binance, BinanceFutures, Bitget, Coinbase, Kraken
    from cryptofeed.symbols import Symbols

    classes = {"kraken": Kraken, "okx": OKX, "bitget": Bitget, "binance": Binance,
               "binance-futures": BinanceFutures, "coinbase": Coinbase}
    cls = classes[venue]
    symbols = list(_symbols(venue, recording))
    Symbols.set(cls.id, {s: s for s in symbols},
                {"tick_size": {}, "instrument_type": {s: "spot" for s in symbols}})

    async def callback(book, receipt):
        pass

    kwargs = {"max_depth": 1000} if venue == "kraken" else {}
    kwargs["checksum_validation"] = checksum
    feed = cls(symbols=symbols, channels=[L2_BOOK], callbacks={L2_BOOK: callback}, **kwargs)
    bodies = {u.split("symbol=")[1].split("&")[0]: b.decode() for u, _, b in recording.http
              if "symbol=" in u}

    class RecordedRest:
        async def read(self, url, **_):
            return bodies[url.split("symbol=")[1].split("&")[0]]

    feed.http_conn = RecordedRest()
    return feed


def _symbols(venue, recording):
    import json

    for frame in recording.sent:
        request = json.loads(frame.data)
        if venue == "kraken":
            yield from request["pair"]
            return
        if venue == "coinbase" and request.get("channel") == "level2":
            yield from request["product_ids"]
            return
        if venue in ("okx", "bitget"):
            ids = [a["instId"] for a in request["args"] if a["channel"] == "books"]
            if ids:
                yield from ids
                return
    if venue.startswith("binance"):
        for url, _, _ in recording.http:
            yield url.split("symbol=")[1].split("&")[0]


def measure_cryptofeed(venue, recording, warm, texts, repeats, checksum=False):
    try:
        import cryptofeed  # noqa: F401
    except ImportError:
        return None

    async def one():
        feed = cryptofeed_feed(venue, recording, checksum)
        handler = feed.message_handler
        for text in warm:
            await handler(text, None, 0.0)
        if venue.startswith("binance"):
            for text in texts[:1]:  # its first event fetches the (recorded) snapshot
                await handler(text, None, 0.0)
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter_ns()
            for text in texts:
                await handler(text, None, 0.0)
            return time.perf_counter_ns() - start
        finally:
            gc.enable()

    import logging

    logging.getLogger("feedhandler").setLevel(logging.ERROR)
    return statistics.median(asyncio.run(one()) for _ in range(repeats)) / len(texts)


# -- the area --------------------------------------------------------------------------------


def _verdict(target, met):
    return f"{target}: {'met' if met else 'NOT met'}"


def run(quick=False):
    repeats = 3 if quick else 7
    results = {}
    for venue, name, connector_class, is_book, is_snapshot, has_checksum in cases():
        recording = load(DATA / name)
        warm, timed = split(recording, is_book, is_snapshot)
        texts = [t for t, _ in timed]
        ours = measure_liqframe(connector_class, recording, warm, texts, repeats, False)
        by = {"liqframe": ours / 1000}
        if has_checksum:
            checked = measure_liqframe(connector_class, recording, warm, texts, repeats, True)
            by["liqframe+checksum"] = checked / 1000
        theirs = measure_cryptofeed(venue, recording, warm, texts, repeats)
        by["cryptofeed"] = None if theirs is None else theirs / 1000
        if has_checksum and theirs is not None:
            by["cryptofeed+checksum"] = measure_cryptofeed(
                venue, recording, warm, texts, repeats, checksum=True) / 1000
        decode = total_ns(lambda frames: [orjson.loads(t) for t in frames], repeats,
                          lambda texts=texts: texts)
        by["orjson decode alone"] = decode / len(texts) / 1000
        fig = figure("us/update", {k: v for k, v in by.items() if k != "orjson decode alone"})
        fig["by"]["orjson decode alone"] = by["orjson decode alone"]
        # Same work on both sides: without checksums, and (where the venue sends them) both
        # verifying every one. The strictest pairing, liqframe verifying against cryptofeed
        # not verifying, is printed beside them.
        if by["cryptofeed"] is not None:
            fig["ratio"] = ratio = round(by["cryptofeed"] / by["liqframe"], 2)
            ratios = [f"{ratio}x"]
            if has_checksum:
                fig["ratio_with_checksum"] = checked_ratio = round(
                    by["cryptofeed+checksum"] / by["liqframe+checksum"], 2)
                fig["ratio_checksum_vs_none"] = round(
                    by["cryptofeed"] / by["liqframe+checksum"], 2)
                ratios.append(f"{checked_ratio}x both verifying checksums; "
                              f"{fig['ratio_checksum_vs_none']}x verifying against not")
                ratio = min(ratio, checked_ratio)
            fig["met"] = ratio >= 3
            fig["target"] = _verdict(f">= 3x cryptofeed (here {'; '.join(ratios)})",
                                     fig["met"])
        fig["messages"] = len(texts)
        fig["levels_per_message"] = round(sum(n for _, n in timed) / len(texts), 2)
        results[f"{venue}: {name}"] = fig
        results.update(_size_targets(venue, connector_class, recording, warm, timed,
                                     repeats, has_checksum))
    return results


def _size_targets(venue, connector_class, recording, warm, timed, repeats, verify):
    """Per message, checksum verified where the venue sends one: small messages (<= 3
    levels) against 3 us, larger ones against 2x orjson's decode of the same messages."""
    texts = [t for t, _ in timed]
    ours = per_message_ns(lambda c, t: c._received(t, 0), texts, repeats,
                          lambda: liqframe_setup(connector_class, recording, warm, verify))
    decode = per_message_ns(lambda _, t: orjson.loads(t), texts, repeats, lambda: None)
    small = [i for i, (_, n) in enumerate(timed) if 0 < n <= 3]
    large = [i for i, (_, n) in enumerate(timed) if n > 3]
    name = "liqframe+checksum" if verify else "liqframe"
    out = {}
    if small:
        value = statistics.mean(ours[i] for i in small) / 1000
        out[f"{venue}: <= 3 levels"] = {"unit": "us/message", "by": {name: value},
                                        "value": value, "met": value <= 3,
                                        "target": _verdict("<= 3", value <= 3),
                                        "messages": len(small)}
    if large:
        ratio = sum(ours[i] for i in large) / sum(decode[i] for i in large)
        out[f"{venue}: > 3 levels"] = {"unit": "x orjson decode", "by": {name: ratio},
                                       "value": ratio, "met": ratio <= 2,
                                       "target": _verdict("<= 2", ratio <= 2),
                                       "messages": len(large)}
    return out
