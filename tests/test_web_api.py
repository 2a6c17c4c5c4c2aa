"""The API over loopback HTTP against a real host trading on simulated exchanges (aiohttp
servers in this loop). Books are checked against the exchanges' own order books, fills,
orders and balances against the exchanges' accounts: never against the code under test."""

import asyncio
import itertools
import os
import socket
from decimal import Decimal

import aiohttp
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from liqframe_simvenue import SimulatedVenue
from liqframe_simvenue.exchange import BUY

from liqframe import config as config_module
from liqframe.host import Host, build_components
from liqframe.model import Instrument
from liqframe.plugins import Registry, get_plugin_manager
from liqframe.testing.web import web_section
from liqframe.testing.world import wait_for
from liqframe.web import views
from liqframe.web.api import ANSWERS, STREAM
from liqframe.web.stream import message

USDT = Instrument(base="BTC", quote="USDT", price_increment="0.01", size_increment="0.00001")
NAMES = ("a", "b", "c")
KEYS = (("full-key", "full"), ("retail-key", "retail"), ("slow-key", "slow"))
TIERS = (("full", "0", 50, 100000), ("retail", "0.2", 5, 1000), ("slow", "0", 10, 2))
_markets = itertools.count()


async def start_venues():
    market = f"web-{os.getpid()}-{next(_markets)}"
    venues = {}
    for seed, name in enumerate(NAMES, 1):
        venues[name] = SimulatedVenue(name, "BTC/USDT", USDT, api_key=f"{name}-key",
                                      taker_fee_bps="5", maker_fee_bps="1", market=market,
                                      reference={"seed": 3, "step_ms": 50}, seed=seed)
        await venues[name].start()
    return venues


def config_text(venues, strategies=False, web=""):
    parts = ['[[instruments]]\nsymbol = "BTC/USDT"\nbase = "BTC"\nquote = "USDT"\n'
             'price_increment = "0.01"\nsize_increment = "0.00001"\n']
    for name, venue in venues.items():
        parts.append(f'[[venues]]\nname = "{name}"\nconnector = "simvenue"\n'
                     f'instruments = ["BTC/USDT"]\ntaker_fee_bps = "5"\n'
                     f'options = {{ url = "{venue.url}", api_key = "{name}-key" }}\n')
    if strategies:
        parts.append('[[strategies]]\nname = "mm"\nplugin = "fixedspread"\n'
                     'instrument = "BTC/USDT"\noptions = { spread_bps = "4", size_lots = 1000 }\n')
    parts.append("[host]\ntick_ms = 50\nreconcile_s = 1\n")
    parts.append(web or f"[web]\nport = 0\n{web_section(KEYS, TIERS)}")
    return "\n".join(parts)


class Running:
    def __init__(self, venues, host, task, session):
        self.venues, self.host, self.task, self.session = venues, host, task, session

    @property
    def url(self):
        return self.host.web.url.rstrip("/")

    async def get(self, path, key="full-key"):
        headers = {"X-API-Key": key} if key else {}
        async with self.session.get(self.url + path, headers=headers) as answer:
            return answer.status, orjson.loads(await answer.read()), answer.headers


async def run_host(tmp_path, strategies=False, freeze=True, web=""):
    venues = await start_venues()
    await asyncio.sleep(0.6)  # background traders build the books
    if freeze:  # no more background flow and no quoting: the books hold still
        for venue in venues.values():
            venue.market.detach(venue.flow)
    text = config_text(venues, strategies, web)
    cfg = config_module.parse(text)
    host = Host(cfg, text, build_components(cfg, Registry.collect(get_plugin_manager())),
                db_path=tmp_path / "h.db", report=lambda line: None)
    task = asyncio.create_task(host.run(None))
    assert await wait_for(lambda: host.market is not None and all(
        h.ready for h in host.market.health.values()), 15)
    return Running(venues, host, task, aiohttp.ClientSession())


@pytest.fixture
async def frozen(tmp_path):
    running = await run_host(tmp_path)
    yield running
    await stop(running)


async def stop(running):
    await running.session.close()
    running.host.stop()
    await running.task
    for venue in running.venues.values():
        await venue.stop()


def ticks(text):
    return int(Decimal(text) / USDT.price_increment)


def lots(text):
    return int(Decimal(text) / USDT.size_increment)


def exchange_books(venues):
    """Per side: price -> {venue: size}, from the exchanges' own matching books."""
    sides = ({}, {})
    for name, venue in venues.items():
        for side, levels in enumerate(venue.exchange._levels()):
            for price, size in levels.items():
                sides[side].setdefault(price, {})[name] = size
    return sides


def expected_levels(side_levels, side, depth, min_lots=1):
    prices = sorted(side_levels, reverse=side == 0)
    rows = [(p, side_levels[p]) for p in prices if sum(side_levels[p].values()) >= min_lots]
    return rows[:depth]


def answered_levels(levels):
    return [(ticks(level["price"]), {v: lots(s) for v, s in level["venues"].items()})
            for level in levels]


async def test_consolidated_and_venue_books_are_the_exchanges_books(frozen):
    books = exchange_books(frozen.venues)
    status, answer, _ = await frozen.get("/api/book?depth=10")
    assert status == 200
    for side, key in ((0, "bids"), (1, "asks")):
        assert answered_levels(answer[key]) == expected_levels(books[side], side, 10), key
        for level in answer[key]:
            assert lots(level["size"]) == sum(lots(s) for s in level["venues"].values())
    assert {v for level in answer["bids"] + answer["asks"] for v in level["venues"]} == \
        set(NAMES)
    assert ticks(answer["bid"]) == max(books[0]) and ticks(answer["ask"]) == min(books[1])
    # the WebSocket's book channel (built a side a unit of work) says the same
    url = frozen.url.replace("http", "ws") + "/api/ws?key=full-key&channels=book&depth=10"
    async with frozen.session.ws_connect(url) as ws:
        pushed = orjson.loads((await ws.receive(timeout=5)).data)["book"]
    assert list(pushed) == ["BTC"]
    assert {**pushed["BTC"], "ts_ns": 0} == {**answer, "ts_ns": 0}
    for name, venue in frozen.venues.items():
        bids, asks = venue.exchange._levels()
        status, book, _ = await frozen.get(f"/api/venues/{name}/book?depth=3")
        assert status == 200 and book["venue"] == name and not book["stale"]
        assert [(ticks(p), lots(s)) for p, s in book["bids"]] == \
            sorted(bids.items(), reverse=True)[:3]
        assert [(ticks(p), lots(s)) for p, s in book["asks"]] == sorted(asks.items())[:3]
    status, bbo, _ = await frozen.get("/api/bbo")
    assert status == 200
    for row in bbo["venues"]:
        bids, asks = frozen.venues[row["venue"]].exchange._levels()
        assert (ticks(row["bid"]), ticks(row["ask"])) == (max(bids), min(asks))
    consolidated = bbo["consolidated"]["BTC"]
    assert Decimal(consolidated["mid"]) == (Decimal(consolidated["bid"]) +
                                            Decimal(consolidated["ask"])) / 2


async def test_a_tier_hides_levels_below_its_minimum_size_and_limits_depth(frozen):
    books = exchange_books(frozen.venues)
    minimum = lots("0.2")
    status, answer, _ = await frozen.get("/api/book?depth=5", key="retail-key")
    assert status == 200
    for side, key in ((0, "bids"), (1, "asks")):
        expected = expected_levels(books[side], side, 5, minimum)
        assert answered_levels(answer[key]) == expected
        # the hidden levels exist: the tier really filtered something out
        assert len(expected) <= len(expected_levels(books[side], side, 5))
    hidden = [p for side in (0, 1) for p, v in books[side].items() if sum(v.values()) < minimum]
    assert hidden, "the simulated books should hold some small levels"
    status, error, _ = await frozen.get("/api/book?depth=6", key="retail-key")
    assert status == 400 and error["error"] == "depth: 6 is more than tier 'retail' allows (5)"
    status, book, _ = await frozen.get("/api/venues/a/book?depth=5", key="retail-key")
    assert status == 200 and all(lots(s) >= minimum for _, s in book["bids"] + book["asks"])
    status, tier, _ = await frozen.get("/api/tier", key="retail-key")
    assert tier == {"name": "retail", "min_size": "0.2", "depth": 5, "rate": 1000,
                    "burst": 1000}


@pytest.mark.parametrize("path, message", [
    ("/api/book?depth=0", "depth: 0 is below the minimum of 1"),
    ("/api/book?depth=ten", "depth: 'ten' is not an integer"),
    ("/api/book?depth=1e3", "depth: '1e3' is not an integer"),
    ("/api/book?depth=51", "depth: 51 is above the maximum of 50"),
    ("/api/book?view=best", "view: 'best' is not one of raw, weighted, fees"),
    ("/api/book?asset=ETH", "asset: 'ETH' is not one of BTC"),
    ("/api/book?deph=5", "unknown parameter 'deph'; accepted: asset, depth, view"),
    ("/api/venues/zz/book", "venue: 'zz' is not one of a, b, c"),
    ("/api/venues/a/book?symbol=BTC/EUR", "symbol: 'BTC/EUR' is not one of BTC/USDT"),
    ("/api/orders?status=closed", "status: 'closed' is not one of open, all"),
    ("/api/fills?limit=-1", "limit: -1 is below the minimum of 1"),
    ("/api/fills?after_id=", "after_id: '' is not an integer"),
])
async def test_bad_parameters_are_400_with_a_message(frozen, path, message):
    status, answer, _ = await frozen.get(path)
    assert (status, answer) == (400, {"error": message})


async def test_missing_or_wrong_key_is_401_and_a_spent_bucket_429(frozen):
    status, answer, headers = await frozen.get("/api/book", key=None)
    assert status == 401 and answer["error"].startswith("missing API key")
    assert "X-API-Key" in headers["WWW-Authenticate"]
    status, answer, _ = await frozen.get("/api/book", key="full-key-but-wrong")
    assert status == 401 and answer["error"].startswith("unknown API key")
    async with frozen.session.get(frozen.url + "/api/bbo?key=full-key") as answer:
        assert answer.status == 200  # the key may also come in the query
    statuses = [(await frozen.get("/api/bbo", key="slow-key"))[:3:2] for _ in range(4)]
    assert [s for s, _ in statuses[:2]] == [200, 200]  # a burst of 2
    assert statuses[2][0] == 429 and int(statuses[2][1]["Retry-After"]) >= 1
    await asyncio.sleep(0.6)  # 2 tokens a second: one is back
    assert (await frozen.get("/api/bbo", key="slow-key"))[0] == 200
    # other keys have buckets of their own
    assert (await frozen.get("/api/bbo"))[0] == 200
    status, document, _ = await frozen.get("/api/openapi.json", key=None)
    assert status == 200 and "/api/book" in document["paths"]


async def test_orders_fills_balances_and_metrics_are_the_exchanges(tmp_path):
    running = await run_host(tmp_path, strategies=True, freeze=False)
    try:
        host = running.host
        assert await wait_for(lambda: sum(1 for _ in running.venues["a"].exchange.account(
            "a-key").fills) + sum(1 for _ in running.venues["b"].exchange.account(
                "b-key").fills) >= 2, 20)
        for venue in running.venues.values():  # settle: no more flow, no more quoting
            venue.market.detach(venue.flow)
        host.components.strategies.clear()
        await asyncio.sleep(1.5)
        for name, venue in running.venues.items():
            exchange, account = venue.exchange, venue.exchange.account(f"{name}-key")
            _, fills, _ = await running.get(f"/api/fills?venue={name}&limit=1000")
            assert {f["trade_id"] for f in fills} == {f["trade_id"] for f in account.fills}
            theirs = {f["trade_id"]: f for f in account.fills}
            for fill in fills:
                assert fill["size"] == theirs[fill["trade_id"]]["size"]
                assert fill["order_id"] == theirs[fill["trade_id"]]["client_id"]
            _, orders, _ = await running.get(f"/api/orders?venue={name}")
            assert {o["id"] for o in orders} == {o.client_id for o in
                                                  exchange.open_orders(account)}
        await asyncio.sleep(1.2)  # the host re-reads balances every second
        _, balances, _ = await running.get("/api/balances")
        for row in balances:
            venue = running.venues[row["venue"]]
            entry = next(e for e in venue.exchange.balances(
                venue.exchange.account(f"{row['venue']}-key")) if e["asset"] == row["asset"])
            unit = USDT.asset_unit(row["asset"])
            assert (Decimal(row["total"]), Decimal(row["available"])) == \
                (entry["total"] * unit, entry["available"] * unit)
        _, metrics, _ = await running.get("/api/metrics")
        by_venue = {r["venue"]: r for r in metrics["venues"]}
        for name, venue in running.venues.items():
            account = venue.exchange.account(f"{name}-key")
            assert by_venue[name]["fills"] == len(account.fills)
            assert Decimal(by_venue[name]["volume"]) == sum(Decimal(f["size"])
                                                            for f in account.fills)
        assert metrics["totals"]["USDT"]["fills"] == sum(r["fills"] for r in metrics["venues"])
        _, stored, _ = await running.get("/api/orders?status=all&limit=1000")
        assert len(stored) >= len(orders) and all(o["status"] for o in stored)
    finally:
        await stop(running)


async def test_websocket_frames_are_coalesced_and_follow_the_subscription(frozen):
    url = frozen.url.replace("http", "ws") + "/api/ws"
    async with frozen.session.ws_connect(url + "?key=full-key&channels=book,events&depth=3") \
            as ws:
        first = orjson.loads((await ws.receive()).data)
        assert set(first) == {"type", "ts_ns", "book", "events"}
        assert len(first["book"]["BTC"]["bids"]) == 3
        assert any(e["kind"] == "reconcile" for e in first["events"])
        stamps = []
        for _ in range(10):
            stamps.append(orjson.loads((await ws.receive()).data)["ts_ns"])
        gaps = [(b - a) / 1e9 for a, b in zip(stamps, stamps[1:])]
        assert sum(gaps) / len(gaps) >= 0.08  # at most 10 a second (push_hz = 10)
        await ws.send_str('{"channels": ["bbo"], "depth": 2}')
        while (reply := orjson.loads((await ws.receive()).data))["type"] != "subscribed":
            pass
        assert reply == {"type": "subscribed", "channels": ["bbo"], "depth": 2, "asset": None}
        assert set(orjson.loads((await ws.receive()).data)) == {"type", "ts_ns", "bbo"}
        await ws.send_str('{"depth": 99}')
        while (reply := orjson.loads((await ws.receive()).data))["type"] == "frame":
            pass
        assert reply == {"type": "error", "error": "depth: 99 is above the maximum of 50"}
    for query, status in (("?channels=book", 401), ("?key=full-key&channels=nope", 400),
                          ("?key=retail-key&depth=6", 400)):
        async with frozen.session.get(frozen.url + "/api/ws" + query) as answer:
            assert answer.status == status, query


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_a_pushed_message_is_one_final_unmasked_binary_frame(size):
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    data = message(payload)
    assert data[0] == 0x80 | 0x2  # FIN, binary
    assert data[1] & 0x80 == 0  # a server never masks
    length, start = data[1], 2
    if length == 126:
        length, start = int.from_bytes(data[2:4], "big"), 4
    elif length == 127:
        length, start = int.from_bytes(data[2:10], "big"), 10
    assert length == size and data[start:] == payload
    assert (size < 126) == (start == 2) and (126 <= size < 65536) == (start == 4)


async def test_clients_of_one_subscription_get_the_same_bytes(frozen):
    url = frozen.url.replace("http", "ws") + "/api/ws?key=full-key&channels=book,bbo&depth=4"
    async with frozen.session.ws_connect(url) as one, frozen.session.ws_connect(url) as two:
        seen = [{}, {}]
        for index, ws in enumerate((one, two)):
            for _ in range(6):
                message = await ws.receive(timeout=5)
                assert message.type == aiohttp.WSMsgType.BINARY
                seen[index][orjson.loads(message.data)["ts_ns"]] = message.data
        common = set(seen[0]) & set(seen[1])
        assert len(common) >= 3  # the same pushes reached both
        for stamp in common:
            assert seen[0][stamp] == seen[1][stamp]
            frame = orjson.loads(seen[0][stamp])
            assert set(frame) == {"type", "ts_ns", "book", "bbo"}
            assert len(frame["book"]["BTC"]["asks"]) == 4


async def test_a_client_that_reads_too_slowly_is_dropped_and_others_keep_up(tmp_path):
    web = f"[web]\nport = 0\npush_hz = 50\nsend_queue = 2\n{web_section(KEYS, TIERS)}"
    running = await run_host(tmp_path, web=web)
    try:
        stream = running.host.web.app[STREAM]
        port = running.host.web.port
        # a raw socket that completes the handshake and then never reads
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.sock_connect(slow, ("127.0.0.1", port))
        await loop.sock_sendall(slow, (
            "GET /api/ws?key=full-key&depth=50&channels=book,venue_books,metrics,bbo,venues "
            f"HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        url = running.url.replace("http", "ws") + "/api/ws?key=full-key&channels=bbo"
        async with running.session.ws_connect(url) as ws:
            received = 0
            loop_start = loop.time()
            while stream.dropped == 0 and loop.time() - loop_start < 20:
                message = await ws.receive(timeout=2)
                received += message.type == aiohttp.WSMsgType.BINARY
            assert stream.dropped == 1
            assert len(stream.clients) == 1  # the reader stays
            assert loop.time() - loop_start < 5  # its socket's buffers are kept small
            before, deadline = received, loop.time() + 1
            while loop.time() < deadline:
                await ws.receive(timeout=1)
                received += 1
            assert received - before >= 25  # still about 50 a second
        slow.close()
    finally:
        await stop(running)


async def test_clients_are_pinged_and_one_that_never_answers_is_dropped(frozen):
    stream = frozen.host.web.app[STREAM]
    stream.heartbeat = 0.4  # a ping 0.4 s after connecting or answering; 0.2 s to answer
    url = frozen.url.replace("http", "ws") + "/api/ws?key=full-key&channels=bbo"
    loop = asyncio.get_running_loop()
    async with frozen.session.ws_connect(url, autoping=False) as polite, \
            frozen.session.ws_connect(url, autoping=False) as silent:
        pings, start = 0, loop.time()
        while loop.time() - start < 2:  # the polite one answers every ping it gets
            message = await polite.receive(timeout=1)
            if message.type is aiohttp.WSMsgType.PING:
                pings += 1
                await polite.pong(message.data)
            else:
                assert message.type is aiohttp.WSMsgType.BINARY
        assert 3 <= pings <= 5  # one each 0.4 s and a push (0.1 s)
        kinds = []  # the silent one reads everything and never answers
        while (message := await silent.receive(timeout=1)).type is not \
                aiohttp.WSMsgType.CLOSE:
            kinds.append(message.type)
        assert aiohttp.WSMsgType.PING in kinds
        assert message.data == 1008 and message.extra == "no pong within 0.2 s"
        assert len(stream.clients) == 1  # the polite one stays
        assert (await polite.receive(timeout=1)).type in (aiohttp.WSMsgType.BINARY,
                                                          aiohttp.WSMsgType.PING)


async def test_the_host_answers_a_clients_ping(frozen):
    url = frozen.url.replace("http", "ws") + "/api/ws?key=full-key&channels=bbo"
    async with frozen.session.ws_connect(url, autoping=False) as ws:
        await ws.ping(b"are you there")
        while (message := await ws.receive(timeout=2)).type is aiohttp.WSMsgType.BINARY:
            pass
        assert message.type is aiohttp.WSMsgType.PONG and message.data == b"are you there"


# -- cached book answers ---------------------------------------------------------------

async def raw(running, path, key="full-key"):
    async with running.session.get(running.url + path, headers={"X-API-Key": key}) as answer:
        assert answer.status == 200
        return await answer.read()


async def test_the_answer_is_kept_until_a_book_changes(frozen):
    cache = frozen.host.web.app[ANSWERS]
    first = await raw(frozen, "/api/book?depth=5")
    hits = cache.hits
    assert await raw(frozen, "/api/book?depth=5") == first  # the kept bytes, ts_ns included
    assert cache.hits == hits + 1
    # a new bid on venue a, 0.3 BTC at the highest free price below the best ask
    books = exchange_books(frozen.venues)
    price = next(p for p in range(min(books[1]) - 1, 0, -1) if p not in books[0])
    frozen.venues["a"].exchange.submit(2000, BUY, price, 30_000)

    async def shows_it():
        answer = orjson.loads(await raw(frozen, "/api/book?depth=5"))
        return (price, {"a": 30_000}) in answered_levels(answer["bids"]) and answer

    answer = await wait_for(shows_it, 5)
    assert answer, "the new level never appeared"
    assert answered_levels(answer["bids"]) == \
        expected_levels(exchange_books(frozen.venues)[0], 0, 5)


async def test_tiers_do_not_share_answers(frozen):
    full = orjson.loads(await raw(frozen, "/api/book?depth=5"))
    retail = orjson.loads(await raw(frozen, "/api/book?depth=5", key="retail-key"))
    books = exchange_books(frozen.venues)
    assert answered_levels(retail["asks"]) == expected_levels(books[1], 1, 5, 20_000)
    assert answered_levels(full["asks"]) == expected_levels(books[1], 1, 5)


@given(st.lists(st.integers(min_value=0, max_value=10**15), max_size=50),
       st.sampled_from(["0.01", "0.5", "1", "0.00001", "25"]))
def test_view_texts_match_the_instruments_own_before_and_after_the_cache_fills(counts,
                                                                               increment):
    instrument = Instrument(base="BTC", quote="USD", price_increment=increment,
                            size_increment=increment)
    price_text, size_text = views.formatters(instrument)
    texts = price_text.__self__
    texts.limit = 7  # the cache starts afresh several times over the list
    for count in counts + counts[::-1]:
        assert price_text(count) == instrument.price_text(count)
        assert size_text(count) == instrument.size_text(count)
        assert len(texts) <= 7
