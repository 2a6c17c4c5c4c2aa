"""The simulated exchange: matching and fees in process, then the real server on loopback."""

import asyncio
import contextlib
from decimal import Decimal

import aiohttp
import attrs
import orjson
import pytest
from liqframe_simvenue import SimulatedVenue, SimVenueConnector
from liqframe_simvenue.exchange import BUY, SELL, Exchange, Rejected
from liqframe_simvenue.server import KEY_HEADER, VenueServer

from liqframe.errors import OrderError
from liqframe.model import Instrument, Order, Side

BTC = Instrument(base="BTC", quote="USDT", price_increment="0.01", size_increment="0.00001")


def exchange(**kwargs):
    return Exchange(name="x", symbol="BTC/USDT", instrument=BTC,
                    accounts={"k": {"BTC": "1", "USDT": "100000"}}, **kwargs)


def test_registered_through_its_entry_point(liqframe_registry):
    registry = liqframe_registry(autoload=True)
    assert registry.resolve("venue", "simvenue", "test") is SimVenueConnector


def test_maker_and_taker_fees_and_balances():
    ex = exchange(maker_fee_bps="1", taker_fee_bps="10")
    me = ex.account("k")
    resting = ex.submit(me.owner, SELL, 6_000_000, 50_000, client_id="ask")  # 0.5 BTC @ 60000
    assert resting.status == "acknowledged" and me.available("BTC") == 50_000
    ex.submit(2000, BUY, 6_000_000, 20_000)  # a background buyer takes 0.2 BTC
    assert resting.status == "partially_filled" and resting.filled == 20_000
    [fill] = me.fills
    # notional 0.2 * 60000 = 12000 USDT = 120_000_000_000 tick-lots; maker fee 1 bp = 1.2 USDT
    assert (fill["liquidity"], fill["price"], fill["size"], Decimal(fill["fee"])) == (
        "maker", "60000.00", "0.20000", Decimal("1.2"))
    assert me.total["BTC"] == 80_000
    assert me.total["USDT"] * BTC.asset_unit("USDT") == Decimal("100000") + 12000 - \
        Decimal("1.2")
    taker = ex.submit(me.owner, BUY, 6_000_000, 1_000, client_id="self")
    # self-trade prevention cancels our own resting ask instead of trading with it
    assert resting.status == "cancelled" and taker.status == "acknowledged"
    assert me.available("BTC") == me.total["BTC"]


def test_refuses_orders_the_balance_does_not_cover():
    ex = exchange()
    me = ex.account("k")
    with pytest.raises(Rejected, match="insufficient BTC"):
        ex.submit(me.owner, SELL, 100, 200_000, client_id="big")
    assert ex.order_by_client(me, "big").status == "rejected"
    # a retried request with the same client id is the same order, not a second one
    first = ex.submit(me.owner, BUY, 100, 10, client_id="same")
    assert ex.submit(me.owner, BUY, 100, 10, client_id="same") is first


def test_book_messages_carry_consecutive_sequence_numbers():
    ex = exchange()
    messages = []
    ex.listen(messages.append)
    ex.submit(2000, BUY, 100, 5)
    with ex.batch():
        ex.submit(2000, BUY, 99, 5)
        ex.submit(2001, SELL, 105, 5)
    ex.submit(2002, BUY, 105, 5)  # takes the ask: that level goes
    books = [m for m in messages if m["type"] == "book"]
    assert [m["first"] for m in books] == [1, 2, 4]
    assert books[1]["changes"] == [["buy", "0.99", "0.00005"], ["sell", "1.05", "0.00005"]]
    assert books[2]["changes"] == [["sell", "1.05", "0"]]
    assert ex.snapshot()["sequence"] == 4


async def test_server_authenticates_and_serves_orders():
    ex = exchange()
    server = VenueServer(ex)
    url = await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{url}/api/balances", headers={KEY_HEADER: "bad"}) as r:
                assert r.status == 401
            async with session.ws_connect(f"{url}/ws") as ws:  # public stream, no key
                snapshot = orjson.loads((await ws.receive()).data)
                assert snapshot["type"] == "snapshot" and snapshot["sequence"] == 0
            headers = {KEY_HEADER: "k"}
            body = orjson.dumps({"client_id": "c1", "side": "buy", "price": "100.00",
                                 "size": "0.01000"})
            async with session.post(f"{url}/api/orders", data=body, headers=headers) as r:
                order = await r.json()
            assert (r.status, order["status"], order["client_id"]) == (200, "acknowledged", "c1")
            async with session.get(f"{url}/api/orders", headers=headers) as r:
                assert [o["client_id"] for o in await r.json()] == ["c1"]
            async with session.delete(f"{url}/api/orders/{order['order_id']}",
                                      headers=headers) as r:
                assert (await r.json())["status"] == "cancelled"
            async with session.delete(f"{url}/api/orders/{order['order_id']}",
                                      headers=headers) as r:
                assert r.status == 400
    finally:
        await server.stop()


class Events:
    def __init__(self):
        self.snapshots, self.deltas, self.fills, self.orders = [], [], [], []
        self.status, self.rates = [], []

    def on_snapshot(self, symbol, bids, asks, sequence, event_ns):
        self.snapshots.append((symbol, bids, asks, sequence))

    def on_delta(self, delta):
        self.deltas.append(delta)

    def on_fill(self, fill):
        self.fills.append(fill)

    def on_order(self, order):
        self.orders.append(order)

    def on_status(self, up, reason):
        self.status.append((up, reason))

    def on_rate(self, currency, numeraire, rate):
        self.rates.append((currency, numeraire, rate))


async def test_connector_streams_trades_and_reconnects():
    venue = SimulatedVenue("v", "BTC/USDT", BTC, api_key="k", market="plugin-test",
                           taker_fee_bps="10")
    url = await venue.start()
    connector = SimVenueConnector(venue="v", instruments=["BTC/USDT"], url=url, api_key="k",
                                  reconnect_max_s=0.2)
    events = Events()
    try:
        await connector.start(events)
        while not events.status:
            await asyncio.sleep(0.02)
        assert events.status[0] == (True, "connected")
        _, bids, asks, sequence = events.snapshots[0]
        assert bids and asks and bids[0][0] < asks[0][0]
        assert events.rates[0][:2] == ("USDT", "USD")
        ask = venue.exchange.best()[1]
        venue_id = await connector.place_order(Order(
            id="t1", venue="v", symbol="BTC/USDT", side="buy", size=100, price=ask))
        assert venue_id
        [fill] = await connector.recent_fills()
        assert (fill.order_id, fill.price, fill.size, fill.liquidity) == ("t1", ask, 100, "taker")
        with pytest.raises(OrderError, match="HTTP 404"):
            await connector.cancel_order("999999")
        await venue.server.drop_connections()
        while len(events.status) < 3:
            await asyncio.sleep(0.02)
        assert [up for up, _ in events.status] == [True, False, True]
        assert events.status[2] == (True, "reconnected")
        deltas = [d.sequence for d in events.deltas]
        assert deltas == sorted(deltas)
    finally:
        await connector.stop()
        await venue.stop()


class ColumnEvents(Events):
    """A host that takes a whole message of book changes as int64 columns."""

    def __init__(self):
        super().__init__()
        self.messages = []

    def on_book_columns(self, symbol, sides, prices, sizes, sequence, event_ns, received_ns):
        self.messages.append((symbol, sides.tolist(), prices.tolist(), sizes.tolist(),
                              sequence))


@contextlib.asynccontextmanager
async def connected(server_options=None, events=None, **options):
    """A venue server on ``exchange()`` and a connector streaming from it (snapshot in)."""
    ex = exchange()
    server = VenueServer(ex, **(server_options or {}))
    url = await server.start()
    connector = SimVenueConnector(venue="v", instruments=["BTC/USDT"], url=url, api_key="k",
                                 **options)
    events = events or Events()
    try:
        await connector.start(events)
        while not events.snapshots:
            await asyncio.sleep(0.02)
        yield ex, server, connector, events
    finally:
        await connector.stop()
        await server.stop()


async def test_orders_go_on_the_stream_while_it_is_up_and_over_rest_otherwise():
    async with connected() as (ex, server, connector, _):
        order = Order(id="s1", venue="v", symbol="BTC/USDT", side="buy", size=100, price=5000)
        venue_id = await connector.place_order(order)
        assert ex.order_by_client(ex.account("k"), "s1").status == "acknowledged"
        await connector.cancel_order(venue_id)
        assert ex.orders[int(venue_id)].status == "cancelled"
        with pytest.raises(OrderError, match="DELETE .*HTTP 400: order is cancelled"):
            await connector.cancel_order(venue_id)  # the venue's refusal, as over REST
        with pytest.raises(OrderError, match="POST /api/orders: HTTP 400: insufficient USDT"):
            await connector.place_order(attrs.evolve(order, id="s2", size=10**12))
        assert server.stream_trades == 4 and not connector._replies
        rest = server.requests
        await connector.ws.close()  # the stream is down: REST carries the order instead
        assert await connector.place_order(attrs.evolve(order, id="s3"))
        assert server.stream_trades == 4 and server.requests == rest + 1


async def test_a_reply_lost_with_the_stream_fails_its_order_operation():
    # the reply is still on its way when the venue drops the connection
    async with connected({"latency_ms": 300}, reconnect_max_s=0.2) as (_, server, connector,
                                                                        _):
        order = Order(id="l1", venue="v", symbol="BTC/USDT", side="buy", size=100, price=5000)
        placing = asyncio.create_task(connector.place_order(order))
        while not connector._replies:
            await asyncio.sleep(0.01)
        await server.drop_connections()
        with pytest.raises(ConnectionError, match="v: POST /api/orders on the stream"):
            async with asyncio.timeout(5):  # failed at once, not by the reply's timeout
                await placing
        assert not connector._replies


async def test_the_stream_refuses_order_operations_without_a_key():
    server = VenueServer(exchange())
    url = await server.start()
    try:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{url}/ws") as ws:
            await ws.send_bytes(orjson.dumps({"op": "place", "id": 7, "order": {}}))
            async for message in ws:
                data = orjson.loads(message.data)
                if data["type"] == "reply":
                    break
        assert (data["id"], data["status"]) == (7, 401)
        assert "API key" in data["data"]["error"]
    finally:
        await server.stop()


async def test_lost_last_book_messages_are_noticed_by_the_sequence_beat():
    # no traders: the book moves only when this test says so
    async with connected({"drop_probability": "0.99"}) as (ex, _, _, events):
        assert events.snapshots[0][3] == 0
        for price in (100, 99, 98):  # then the book goes quiet: no later message shows a gap
            ex.submit(2000, BUY, price, 5)
        assert ex.sequence == 3 and len(events.deltas) < 3
        for _ in range(150):  # the next sequence beat (each second) shows what was lost
            if len(events.snapshots) > 1:
                break
            await asyncio.sleep(0.02)
        _, bids, asks, sequence = events.snapshots[-1]
        assert sequence == 3 and [p for p, _ in bids] == [100, 99, 98] and asks == []
        await asyncio.sleep(1.3)  # a beat with nothing lost asks for nothing
        assert len(events.snapshots) == 2


async def test_connector_explains_a_refused_key_and_an_unreachable_venue():
    venue = SimulatedVenue("v", "BTC/USDT", BTC, api_key="k", market="plugin-test-2")
    url = await venue.start()
    try:
        wrong = SimVenueConnector(venue="v", instruments=["BTC/USDT"], url=url, api_key="no")
        with pytest.raises(ConnectionError, match="refused the API key"):
            await wrong.start(Events())
    finally:
        await venue.stop()
    gone = SimVenueConnector(venue="v", instruments=["BTC/USDT"], url=url, api_key="k")
    with pytest.raises(ConnectionError, match="cannot reach"):
        await gone.start(Events())


async def test_python_m_serves_the_configs_venues_in_a_process_of_their_own(tmp_path):
    import json
    import subprocess
    import sys

    config = tmp_path / "venues.toml"
    config.write_text(
        '[[instruments]]\nsymbol = "BTC/USDT"\nbase = "BTC"\nquote = "USDT"\n'
        'price_increment = "0.01"\nsize_increment = "0.00001"\n\n'
        '[[venues]]\nname = "alone"\nconnector = "simvenue"\ninstruments = ["BTC/USDT"]\n'
        'taker_fee_bps = "4"\noptions = { serve = true, api_key = "alone-key" }\n')
    process = subprocess.Popen([sys.executable, "-m", "liqframe_simvenue", "--config",
                                str(config)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    try:
        venue = json.loads(process.stdout.readline())
        assert json.loads(process.stdout.readline()) == {"ready": True}
        assert (venue["venue"], venue["symbol"], venue["api_key"]) == \
            ("alone", "BTC/USDT", "alone-key")
        async with aiohttp.ClientSession() as session:
            async with session.get(venue["url"] + "/api/info") as answer:
                info = await answer.json()
            async with session.get(venue["url"] + "/api/balances") as answer:
                assert answer.status == 401  # no key: the venue is a real one
        assert info["symbol"] == "BTC/USDT" and info["taker_fee"] == "1/2500"
    finally:
        process.stdin.close()  # the end of its standard input stops it
        assert process.wait(20) == 0


async def test_book_messages_that_follow_on_come_whole_the_others_change_by_change():
    async with connected(events=ColumnEvents()) as (ex, _, connector, events):
        assert events.snapshots[0][3] == 0
        ex.submit(2000, BUY, 100, 5)
        ex.submit(2001, SELL, 120, 7)
        for _ in range(250):
            if len(events.messages) == 2:
                break
            await asyncio.sleep(0.02)
        assert events.messages == [("BTC/USDT", [0], [100], [5], 1),
                                   ("BTC/USDT", [1], [120], [7], 2)]
        assert events.deltas == []
        # a message that does not follow on (here: 3 and 4 never came) goes change by change,
        # each under its own sequence number, for the host to find the gap
        connector._dispatch({"type": "book", "first": 5, "ts": 1,
                             "changes": [["buy", "0.99", "0.00003"], ["sell", "1.21", "0"]]})
        assert [(d.side, d.price, d.size, d.sequence) for d in events.deltas] == [
            (Side.BID, 99, 3, 5), (Side.ASK, 121, 0, 6)]
        connector._dispatch({"type": "book", "first": 7, "ts": 1,
                             "changes": [["sell", "1.22", "0.0001"]]})
        assert events.messages[-1] == ("BTC/USDT", [1], [122], [10], 7)
        assert len(events.deltas) == 2
