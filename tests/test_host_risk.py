"""Risk end to end: the host quotes on simulated venues (real servers on loopback), a limit is
breached for real (the test trades against our quotes, or the host routes a taker order), and
the venues themselves, over their REST API, must then list no open order of ours, and receive
none afterwards. Venue health and exposure are checked the same way, on the venues."""

import asyncio
import sqlite3
import time
from decimal import Decimal

import pytest

from liqframe.model import Order, ParentOrder, Side
from liqframe.testing.world import QUIET, SimWorld, wait_for

SYMBOL = "BTC/USDT"
BUY, SELL = 1, -1


def quoting(size_lots=1000):
    return ('[[strategies]]\nname = "mm"\nplugin = "fixedspread"\ninstrument = "BTC/USDT"\n'
            f'options = {{ spread_bps = "6", size_lots = {size_lots} }}\n')


def limits(**options):
    body = ", ".join(f'{k} = "{v}"' for k, v in options.items())
    return f'[[risk]]\nplugin = "limits"\noptions = {{ {body} }}\n'


@pytest.fixture
async def world():
    w = SimWorld()
    yield w
    await w.stop()


async def started(world, tmp_path, strategies, risk, venues="ab", host=""):
    for name in venues:
        await world.add(name, flow=QUIET)
    lines = []
    host_ = world.host(world.config(strategies, risk, host), tmp_path / "h.db", lines)
    run = asyncio.create_task(host_.run(None))
    quoted = await wait_for(lambda: all(world.resting(v, BUY) and world.resting(v, SELL)
                                        for v in venues), 10)
    assert quoted, lines
    return host_, run, lines


async def check_everything_cancelled_and_stays_so(world, host, run, tmp_path, venues="ab"):
    """After the kill: no open order on any venue (their REST says so), and for a while no
    new order reaches any venue, while the host keeps running."""
    assert host.kill is not None

    async def none_open():
        return all([not await world.open_orders(v) for v in venues])

    assert await wait_for(none_open, 10), [await world.open_orders(v) for v in venues]
    killed_at, cleared_at = host.kill["ts_ns"], time.time_ns()
    await asyncio.sleep(1.5)
    assert not run.done()
    for venue in venues:
        assert await world.open_orders(venue) == []
        assert world.orders_since(venue, cleared_at) == []
    assert all(h.status == "up" for h in host.market.health.values())
    snapshot = host.snapshot()
    assert snapshot["kill_switch"]["reason"] == host.kill["reason"]
    host.stop()
    await run
    with sqlite3.connect(tmp_path / "h.db") as db:
        messages = [m for (m,) in db.execute("select message from events where kind = 'kill'")]
        late = db.execute("select count(*) from orders where created_ns > ? and status != "
                          "'rejected'", (killed_at,)).fetchone()[0]
    assert messages[0].startswith("KILL SWITCH: ") and late == 0
    return messages


def hit_our_bid(world, venue):
    [bid] = world.resting(venue, BUY)
    remaining = bid.size - bid.filled
    order = world.take(venue, SELL, bid.price, remaining)
    assert order.filled == remaining and bid.status == "filled"
    return remaining


async def test_position_on_one_venue_trips_the_kill_switch(world, tmp_path):
    host, run, lines = await started(world, tmp_path, quoting(1000),
                                     limits(max_position="0.005"))
    hit_our_bid(world, "a")  # we buy 0.01 BTC on a
    assert await wait_for(lambda: host.kill is not None, 5), lines
    assert "position of 0.01000 BTC on a exceeds max_position 0.005" in host.kill["reason"]
    assert any("KILL SWITCH" in line for line in lines)
    await check_everything_cancelled_and_stays_so(world, host, run, tmp_path)


async def test_total_position_trips_it_when_no_single_venue_does(world, tmp_path):
    host, run, lines = await started(world, tmp_path, quoting(1000),
                                     limits(max_position="0.015", max_total_position="0.015"))
    hit_our_bid(world, "a")
    await asyncio.sleep(1)
    assert host.kill is None  # 0.01 on a is within both limits
    assert await wait_for(lambda: world.resting("b", BUY), 5)
    hit_our_bid(world, "b")
    assert await wait_for(lambda: host.kill is not None, 5), lines
    assert "total position of 0.02000 BTC exceeds max_total_position" in host.kill["reason"]
    await check_everything_cancelled_and_stays_so(world, host, run, tmp_path)
    # reset while the position is still over the limit: it trips again at once
    # (checked on a fresh host reading the same fills)
    host2 = world.host(host.config_text, tmp_path / "h.db", [])
    run2 = asyncio.create_task(host2.run(None))
    assert await wait_for(lambda: host2.kill is not None, 10)
    assert "total position" in host2.kill["reason"]
    host2.reset_kill_switch()
    await asyncio.sleep(0.3)
    assert host2.kill is not None and "total position" in host2.kill["reason"]
    host2.stop()
    await run2
    for venue in "ab":
        assert await world.open_orders(venue) == []


async def test_order_notional_trips_it(world, tmp_path):
    host, run, lines = await started(world, tmp_path, quoting(100),
                                     limits(max_order_notional="300", currency="USDT"))
    # quotes of 0.001 BTC (about 60 USDT) pass; a routed taker buy of 0.05 BTC does not
    await host.submit([ParentOrder(symbol=SYMBOL, side=Side.BID, size=5000, tag="test")])
    assert host.kill is not None, lines
    assert "exceeds max_order_notional 300" in host.kill["reason"]
    await check_everything_cancelled_and_stays_so(world, host, run, tmp_path)
    for venue in "ab":
        exchange, account = world.account(venue)
        assert account.fills == []  # the big order never reached a venue


async def test_daily_loss_trips_it(world, tmp_path):
    host, run, lines = await started(world, tmp_path, quoting(100),
                                     limits(max_daily_loss="0.5", currency="USDT"))
    await asyncio.sleep(0.3)
    assert host.kill is None
    # a taker buy of 0.2 BTC crosses the spread and pays 5 bps: about 10 USDT lost at the mid
    sent = await host.submit([ParentOrder(symbol=SYMBOL, side=Side.BID, size=20_000)])
    assert sent
    assert await wait_for(lambda: host.kill is not None, 5), lines
    assert "today exceeds max_daily_loss 0.5" in host.kill["reason"]
    assert host.market.pnl("USDT") < Decimal("-0.5")
    await check_everything_cancelled_and_stays_so(world, host, run, tmp_path)
    taken = sum(world.account(v)[0].instrument.size_lots(f["size"]) for v in "ab"
                for f in world.account(v)[1].fills)
    assert 0 < taken <= 20_000


async def test_venue_health_weight_drops_with_a_disconnect_and_recovers(tmp_path):
    world = SimWorld(reference={"seed": 5, "step_ms": 50, "volatility_bps": "2"})
    try:
        await _venue_health(world, tmp_path)
    finally:
        await world.stop()


async def _venue_health(world, tmp_path):
    risk = ('[[risk]]\nplugin = "venue-health"\n'
            'options = { window_s = "4", disconnect_penalty = "0.75" }\n')
    host, run, lines = await started(world, tmp_path, quoting(1000), risk)
    group = host.market.group(SYMBOL)
    b_id = group.ids[("b", SYMBOL)]
    assert host.market.weight("b") == 1.0
    outage = asyncio.create_task(world.venues["b"].server.outage(1.0))
    assert await wait_for(lambda: host.market.health["b"].status == "down", 3)
    assert await wait_for(lambda: host.market.weight("b") == 0.0, 2)
    assert group.book.venue_state(b_id)["excluded"]
    assert host.market.weight("a") == 1.0
    await outage
    assert await wait_for(lambda: host.market.health["b"].ready, 5), lines
    assert await wait_for(lambda: 0 < host.market.weight("b") < 1, 2)
    penalised = host.market.weight("b")
    assert penalised <= 0.75  # about 1 - 0.75 * (1 - age / 4 s) just after the return
    assert not group.book.venue_state(b_id)["excluded"]
    assert group.book.venue_state(b_id)["weight"] < 1
    # quotes on b are sized down by the weight while it is penalised
    assert await wait_for(lambda: any(o.size < 1000 for o in world.resting("b", BUY)), 3)
    assert await wait_for(lambda: host.market.weight("b") == 1.0, 6)
    assert group.book.venue_state(b_id)["weight"] == 1
    assert await wait_for(lambda: [o.size for o in world.resting("b", BUY)] == [1000], 5)
    host.stop()
    await run


async def test_exposure_limit_stops_quoting_on_that_venue(world, tmp_path):
    # each venue holds 10 BTC and 1,000,000 USDT (about 1.6 million): a's limit is below that
    risk = ('[[risk]]\nplugin = "exposure"\n'
            'options = { currency = "USDT", venues = { a = "1000000", b = "5000000" } }\n')
    for name in "ab":
        await world.add(name, flow=QUIET)
    lines = []
    host = world.host(world.config(quoting(1000), risk), tmp_path / "h.db", lines)
    run = asyncio.create_task(host.run(None))
    assert await wait_for(lambda: world.resting("b", BUY) and world.resting("b", SELL), 10)
    await asyncio.sleep(1.5)
    exchange, account = world.account("a")
    assert [o for o in exchange.orders.values() if o.owner == account.owner] == []
    assert await world.open_orders("a") == []
    # an order sent to a directly is refused by the model, not by the venue
    sent = await host.submit([Order(id="x", venue="a", symbol=SYMBOL, side=Side.BID,
                                    size=100, price=1)])
    assert sent == []
    rejected = [o for o in host.orders.orders.values() if o.order.venue == "a"]
    assert len(rejected) == 1 and "exposure on a of" in rejected[0].reason
    host.stop()
    await run
