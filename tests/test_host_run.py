"""The host end to end over loopback: simulated exchanges are real aiohttp servers in the
test's event loop, the host trades on them (in this loop, or as a `liqframe run` subprocess
that the test kills), and afterwards everything the host stored is checked against what the
exchanges themselves hold."""

import asyncio
import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from liqframe_simvenue import SimulatedVenue

from liqframe import config as config_module
from liqframe.host import Host, build_components
from liqframe.model import Instrument
from liqframe.plugins import Registry, get_plugin_manager
from liqframe.testing.world import wait_for

INSTRUMENTS = {
    "BTC/USDT": Instrument(base="BTC", quote="USDT", price_increment="0.01",
                           size_increment="0.00001"),
    "BTC/EUR": Instrument(base="BTC", quote="EUR", price_increment="0.01",
                          size_increment="0.00001"),
}
OPEN = ("new", "acknowledged", "partially_filled")
_markets = itertools.count()


class World:
    """Simulated venues in this loop, sharing one market; ``add`` them, then ``config``."""

    def __init__(self):
        self.market = f"test-{os.getpid()}-{next(_markets)}"
        self.venues = {}

    async def add(self, name, symbol, **server):
        venue = SimulatedVenue(name, symbol, INSTRUMENTS[symbol], api_key=f"{name}-key",
                               taker_fee_bps="5", maker_fee_bps="1", market=self.market,
                               reference={"seed": 11, "step_ms": 50}, server=server)
        await venue.start()
        self.venues[name] = venue
        return venue

    def config(self, keys=None, urls=None, host="", strategy_venues=None):
        keys, urls = keys or {}, urls or {}
        parts = []
        for symbol, instrument in INSTRUMENTS.items():
            parts.append(f'[[instruments]]\nsymbol = "{symbol}"\nbase = "BTC"\n'
                         f'quote = "{instrument.quote}"\nprice_increment = "0.01"\n'
                         'size_increment = "0.00001"\n')
        names = list(self.venues) + list(urls)
        for name in names:
            venue = self.venues.get(name)
            url = urls.get(name) or venue.url
            symbol = venue.exchange.symbol if venue else "BTC/USDT"
            key = keys.get(name, f"{name}-key")
            parts.append(f'[[venues]]\nname = "{name}"\nconnector = "simvenue"\n'
                         f'instruments = ["{symbol}"]\ntaker_fee_bps = "5"\n'
                         f'options = {{ url = "{url}", api_key = "{key}", '
                         'reconnect_max_s = 0.3 }\n')
        for symbol in INSTRUMENTS:
            parts.append(f'[[strategies]]\nname = "mm-{symbol[4:].lower()}"\n'
                         f'plugin = "fixedspread"\ninstrument = "{symbol}"\n'
                         'options = { spread_bps = "6", size_lots = 1000 }\n')
        parts.append('[[risk]]\nplugin = "limits"\noptions = { max_order_lots = 100000 }\n')
        parts.append(f"[host]\ntick_ms = 50\nreconcile_s = 1\n{host}")
        return "\n".join(parts)

    async def stop(self):
        for venue in self.venues.values():
            await venue.stop()

    def account(self, name):
        exchange = self.venues[name].exchange
        return exchange, exchange.account(f"{name}-key")


@pytest.fixture
async def world():
    w = World()
    yield w
    await w.stop()


def make_host(text, db, lines):
    cfg = config_module.parse(text)
    registry = Registry.collect(get_plugin_manager())
    return Host(cfg, text, build_components(cfg, registry), db_path=db, report=lines.append)


def stored(db):
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        fills = [dict(r) for r in conn.execute("select * from fills")]
        orders = {r["id"]: dict(r) for r in conn.execute("select * from orders")}
        balances = {(r["venue"], r["asset"]): (r["total"], r["available"]) for r in conn.execute(
            "select * from balances where id in (select max(id) from balances "
            "group by venue, asset)")}
    return fills, orders, balances


def check_agrees_with_venues(world, db, venues):
    """What the host stored is what each exchange holds: the same fills (none lost, none
    twice), the same order states, the same balances, and no order left open."""
    fills, orders, balances = stored(db)
    assert len({(f["venue"], f["trade_id"]) for f in fills}) == len(fills)
    for name in venues:
        exchange, account = world.account(name)
        venue_fills = {f["trade_id"]: f for f in account.fills}
        ours = {f["trade_id"]: f for f in fills if f["venue"] == name}
        assert ours.keys() == venue_fills.keys(), name
        for trade_id, fill in ours.items():
            assert fill["order_id"] == venue_fills[trade_id]["client_id"]
            assert exchange.instrument.size_text(fill["size"]) == venue_fills[trade_id]["size"]
        assert exchange.open_orders(account) == []
        venue_orders = {o.client_id: o for o in exchange.orders.values()
                        if o.owner == account.owner}
        for order_id, row in orders.items():
            if row["venue"] != name:
                continue
            assert row["status"] not in OPEN, row
            known = venue_orders.get(order_id)
            if known is None:
                assert row["status"] == "rejected", row
            else:
                assert (row["status"], row["filled"]) == (known.status, known.filled), row
        for entry in exchange.balances(account):
            assert balances[(name, entry["asset"])] == (entry["total"], entry["available"])
        # the venue's base balance moved exactly by the stored fills
        start = exchange._units("BTC", "10")
        bought = sum(f["size"] for f in ours.values() if f["side"] == "buy")
        sold = sum(f["size"] for f in ours.values() if f["side"] == "sell")
        assert account.total["BTC"] == start + bought - sold
    return fills, orders


async def test_quotes_trades_and_stores_what_the_venues_hold(world, tmp_path):
    await world.add("a", "BTC/USDT", latency_ms=2)
    await world.add("b", "BTC/USDT")
    await world.add("e", "BTC/EUR", latency_ms=3)
    lines = []
    host = make_host(world.config(), tmp_path / "h.db", lines)
    status = await host.run(5)
    assert status == "completed"
    fills, orders = check_agrees_with_venues(world, tmp_path / "h.db", ["a", "b", "e"])
    assert {o["venue"] for o in orders.values()} == {"a", "b", "e"}
    assert len(fills) >= 3, lines
    # the EUR venue was quoted in euros around the consolidated mid converted at the rate
    eur_orders = [o for o in orders.values() if o["venue"] == "e"]
    reference = world.venues["e"].market.price / world.venues["e"].market.rate("EUR")
    assert all(abs(o["price"] / 100 / reference - 1) < 0.01 for o in eur_orders)
    snapshot = host.snapshot()
    assert {r["venue"] for r in snapshot["venues"]} == {"a", "b", "e"}
    assert sum(r["fills"] for r in snapshot["venues"]) == len(fills)
    with sqlite3.connect(tmp_path / "h.db") as db:
        assert db.execute("select count(*) from metrics").fetchone()[0] > 0
        assert db.execute("select status from runs").fetchall() == [("completed",)]


async def test_settled_orders_leave_memory_but_not_the_store(world, tmp_path, monkeypatch):
    from liqframe.host import orders as orders_module

    monkeypatch.setattr(orders_module, "KEEP_SETTLED", 5)
    await world.add("a", "BTC/USDT")
    await world.add("b", "BTC/USDT")
    lines, unknown, seen_open, statuses = [], [], [], []
    host = make_host(world.config(host="requote_ticks = 0\nmetrics_s = 1\n"), tmp_path / "h.db",
                     lines)
    host.hub.hooks.append(lambda kind, data: unknown.append(data) if kind ==
                          "fill_unknown_order" else None)
    host.hub.hooks.append(lambda kind, data: statuses.append(data) if kind == "status" else None)

    async def watch():  # the open index agrees with the state of every order kept
        while True:
            manager = host.orders
            if manager is not None:
                kept = [w.order for w in manager.orders.values() if w.order.status.value in OPEN]
                seen_open.append(manager.open_orders() == kept)
                assert manager.counts("a") == sum(o.venue == "a" for o in kept)
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch())
    try:
        assert await host.run(4) == "completed"
    finally:
        watcher.cancel()
    manager = host.orders
    settled = [w for w in manager.orders.values() if w.order.status.value not in OPEN]
    assert manager.retired and len(settled) <= 5 + len(manager.slots)
    assert not manager.retired & set(manager.orders)
    assert seen_open and all(seen_open)
    assert unknown == []
    # the housekeeping's status events (made over several turns) hold what snapshot() holds
    assert statuses and set(statuses[-1]) == set(host.snapshot())
    assert {r["venue"] for r in statuses[-1]["venues"]} == {"a", "b"}
    _, orders = check_agrees_with_venues(world, tmp_path / "h.db", ["a", "b"])
    assert manager.retired <= set(orders)  # gone from memory, still in the file


async def test_a_dropped_venue_resyncs_while_the_others_keep_trading(world, tmp_path):
    await world.add("a", "BTC/USDT")
    b = await world.add("b", "BTC/USDT")
    lines = []
    host = make_host(world.config(), tmp_path / "h.db", lines)
    run = asyncio.create_task(host.run(7))
    await asyncio.sleep(2.5)
    sent_before = {v: host.orders.counts(v) for v in "ab"}
    dropped_at = time.time_ns()
    await b.server.outage(1.0)  # connections closed, REST answers 503 for a second
    await asyncio.sleep(0.5)
    assert host.market.health["b"].status == "down"
    assert host.market.health["a"].ready  # a is unaffected
    assert await run == "completed"
    assert "b: down (connection closed by the venue (code 1000))" in lines or any(
        line.startswith("b: down") for line in lines)
    assert "b: up (reconnected)" in lines
    assert host.market.health["b"].connects == 2
    fills, orders = check_agrees_with_venues(world, tmp_path / "h.db", ["a", "b"])
    # a kept quoting while b was out
    assert any(o["venue"] == "a" and o["created_ns"] > dropped_at for o in orders.values())
    # and b came back to quoting after its reconciliation
    assert any(o["venue"] == "b" and o["created_ns"] > dropped_at + 10**9
               for o in orders.values()), sent_before
    with sqlite3.connect(tmp_path / "h.db") as db:
        kinds = [k for (k,) in db.execute("select kind from events where venue = 'b'")]
    assert kinds.count("reconcile") >= 2


async def test_sequence_gaps_resync_the_book_to_the_venues_own(world, tmp_path):
    a = await world.add("a", "BTC/USDT", drop_probability="0.05")
    lines = []
    host = make_host(world.config(host="max_lag_ms = 0\n"), tmp_path / "h.db", lines)
    run = asyncio.create_task(host.run(None))
    await asyncio.sleep(4)
    health = host.market.health["a"]
    assert health.gaps >= 1 and health.resyncs >= 1
    a.market.detach(a.flow)  # the market stops moving: the books must settle equal
    try:
        book = host.market.books[("a", "BTC/USDT")]
        settled = await wait_for(lambda: not book.stale and _levels(book) == a.exchange._levels(),
                                 4)
        assert settled, (_levels(book), a.exchange._levels())
    finally:
        host.stop()
        await run


def _levels(book):
    return tuple({int(p): int(s) for p, s in zip(*book.top(side, 25))} for side in (0, 1))


async def test_refused_key_and_unreachable_venue_are_reported_and_others_trade(world, tmp_path):
    await world.add("a", "BTC/USDT")
    await world.add("b", "BTC/USDT")
    text = world.config(keys={"b": "wrong-key"}, urls={"dead": "http://127.0.0.1:9"})
    lines = []
    host = make_host(text, tmp_path / "h.db", lines)
    assert await host.run(3) == "completed"
    assert any(line.startswith("b: could not start") and "refused the API key" in line
               for line in lines), lines
    assert any(line.startswith("dead: could not start") and "cannot reach" in line
               for line in lines), lines
    assert host.market.health["b"].status == "failed"
    _, orders, _ = stored(tmp_path / "h.db")
    assert {o["venue"] for o in orders.values()} == {"a"}


def liqframe(*args, **kwargs):
    return [sys.executable, "-P", "-m", "liqframe", *args]


def count(db, sql):
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return 0


async def test_sigkill_then_restart_loses_no_fill_and_counts_none_twice(world, tmp_path):
    await world.add("a", "BTC/USDT")
    await world.add("e", "BTC/EUR")
    (tmp_path / "c.toml").write_text(world.config())
    db = tmp_path / "k.db"
    log = open(tmp_path / "first.log", "w")
    first = await asyncio.create_subprocess_exec(
        *liqframe("run", "--config", "c.toml", "--db", "k.db"), cwd=tmp_path, stdout=log,
        stderr=subprocess.STDOUT)
    try:
        assert await wait_for(lambda: count(db, "select count(*) from fills") >= 3 and count(
            db, "select count(*) from orders where status = 'acknowledged'") >= 2, 40), \
            (tmp_path / "first.log").read_text()
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    assert first.returncode == -signal.SIGKILL
    killed_fills = count(db, "select count(*) from fills")
    # the venues go on trading against the dead host's resting orders
    await asyncio.sleep(2)
    second = await asyncio.create_subprocess_exec(
        *liqframe("run", "--config", "c.toml", "--db", "k.db", "--duration", "4"),
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(second.communicate(), 60)
    assert second.returncode == 0, output.decode()
    fills, orders = check_agrees_with_venues(world, db, ["a", "e"])
    assert len(fills) >= killed_fills
    with sqlite3.connect(db) as conn:
        runs = conn.execute("select id, status from runs order by id").fetchall()
    assert runs == [(1, "running"), (2, "completed")]  # the killed run never ended
    assert {o["run_id"] for o in orders.values()} == {1, 2}


def test_sigterm_cancels_every_order_and_exits_0(tmp_path):
    process = subprocess.Popen(liqframe("run"), cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    db = tmp_path / "liqframe.db"
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and count(
            db, "select count(*) from orders where status = 'acknowledged'") < 4:
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "liqframe: stopped; state saved to liqframe.db" in output
    assert count(db, "select count(*) from orders where status in "
                     "('new', 'acknowledged', 'partially_filled')") == 0
    assert count(db, "select count(*) from orders where status = 'cancelled'") >= 4


def test_bad_venue_option_exits_2_naming_the_field(tmp_path):
    (tmp_path / "c.toml").write_text(
        '[[instruments]]\nsymbol = "BTC/USDT"\nbase = "BTC"\nquote = "USDT"\n'
        'price_increment = "0.01"\nsize_increment = "0.00001"\n'
        '[[venues]]\nname = "x"\nconnector = "simvenue"\ninstruments = ["BTC/USDT"]\n'
        'options = { serve = true, latency_ms = -5 }\n')
    out = subprocess.run(liqframe("run", "--config", "c.toml"), cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "venues[0].options" in out.stderr and "latency_ms" in out.stderr
    assert not (tmp_path / "liqframe.db").exists()
