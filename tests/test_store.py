"""The SQLite store: real files, reopened as a restarted host reopens them."""

import sqlite3
from decimal import Decimal

import attrs
import pytest

from liqframe.model import Balance, Fill, Order, OrderStatus, Transfer
from liqframe.store import Store


def fill(trade_id, venue="a", size=5):
    return Fill(order_id="o1", venue=venue, symbol="BTC/USDT", side="buy", price=100, size=size,
                fee="0.0001", fee_currency="USDT", liquidity="maker", trade_id=trade_id,
                event_ns=int(trade_id))


def test_tables_exist_with_the_run_and_its_config(tmp_path):
    store = Store(tmp_path / "x.db")
    run = store.start_run("[store]\npath = 'x.db'\n")
    store.end_run(run, "completed")
    store.close()
    with sqlite3.connect(tmp_path / "x.db") as db:
        tables = {name for (name,) in db.execute("select name from sqlite_master "
                                                 "where type = 'table'")}
        assert {"runs", "orders", "fills", "balances", "transfers", "metrics",
                "events"} <= tables
        assert db.execute("select status, config from runs").fetchone() == (
            "completed", "[store]\npath = 'x.db'\n")


def test_a_fill_is_stored_once_per_venue_and_trade_id(tmp_path):
    store = Store(tmp_path / "x.db")
    store.start_run("")
    assert store.record_fill(fill("1"))
    assert not store.record_fill(fill("1"))  # the same fill again (stream + catch-up)
    assert store.record_fill(fill("1", venue="b"))  # another venue's trade 1
    assert store.record_fill(fill("2"))
    store.close()
    reopened = Store(tmp_path / "x.db")  # a restarted host
    assert not reopened.record_fill(fill("2"))
    fills = reopened.fills()
    assert [(f.venue, f.trade_id) for f in fills] == [("a", "1"), ("b", "1"), ("a", "2")]
    assert fills[0].fee == Decimal("0.0001") and fills[0].liquidity == "maker"
    assert reopened.last_trade_id("a") == "2" and reopened.last_trade_id("c") is None


def test_fill_survives_without_close(tmp_path):
    # committed in a moment: another connection sees it while the writer is still open
    import time

    store = Store(tmp_path / "x.db")
    store.start_run("")
    store.record_fill(fill("7"))
    deadline = time.monotonic() + 5
    with sqlite3.connect(tmp_path / "x.db") as db:
        while not (seen := db.execute("select trade_id from fills").fetchall()) and \
                time.monotonic() < deadline:
            time.sleep(0.01)
    assert seen == [("7",)]


def test_a_duplicate_is_refused_in_the_queue_and_from_the_file(tmp_path, monkeypatch):
    import liqframe.store

    monkeypatch.setattr(liqframe.store, "RECENT_FILLS", 2)
    store = Store(tmp_path / "x.db")
    store.start_run("")
    for trade_id in "123":
        assert store.record_fill(fill(trade_id))
    assert not store.record_fill(fill("3"))  # remembered (perhaps still queued)
    assert ("a", "1") not in store._recent_fills  # pushed out of memory by 2 and 3...
    store.flush()
    assert not store.record_fill(fill("1"))  # ...so found in the file
    assert [f.trade_id for f in store.fills()] == ["1", "2", "3"]
    store.close()


def test_a_new_fill_is_told_from_memory_while_it_holds_every_fill_of_the_file(tmp_path,
                                                                             monkeypatch):
    import liqframe.store

    monkeypatch.setattr(liqframe.store, "RECENT_FILLS", 3)
    store = Store(tmp_path / "x.db")
    store.start_run("")
    for trade_id in "12":
        assert store.record_fill(fill(trade_id))
    store.close()

    reopened = Store(tmp_path / "x.db")  # two fills: the file's every fill is in memory
    statements = []
    reopened.db.conn.set_trace_callback(statements.append)
    assert not reopened.record_fill(fill("1"))
    assert reopened.record_fill(fill("3"))
    assert not [s for s in statements if s.startswith("SELECT 1 FROM fills")]
    assert reopened.record_fill(fill("4"))  # a fourth: "1" leaves memory...
    reopened.flush()
    assert not reopened.record_fill(fill("1"))  # ...and is found in the file
    assert [s for s in statements if s.startswith("SELECT 1 FROM fills")]
    reopened.close()

    again = Store(tmp_path / "x.db")  # four fills, over what memory holds: the file is asked
    assert ("a", "1") not in again._recent_fills and ("a", "2") in again._recent_fills
    assert not again.record_fill(fill("1"))
    assert not again.record_fill(fill("4"))
    assert again.record_fill(fill("5"))
    assert [f.trade_id for f in again.fills()] == ["1", "2", "3", "4", "5"]
    again.close()


def test_orders_are_upserted_and_open_ones_listed(tmp_path):
    store = Store(tmp_path / "x.db")
    store.start_run("")
    order = Order(id="r1-1", venue="a", symbol="BTC/USDT", side="sell", size=10, price=50)
    store.save_order(order)
    store.save_order(Order(id="r1-2", venue="a", symbol="BTC/USDT", side="buy", size=1,
                           price=40, status="rejected"), reason="risk: too big")
    store.save_order(attrs.evolve(order, status="partially_filled", filled=4),
                     venue_order_id="77")
    [row] = store.orders(open_only=True)
    assert (row["id"], row["status"], row["filled"], row["venue_order_id"], row["side"]) == (
        "r1-1", OrderStatus.PARTIALLY_FILLED.value, 4, "77", "sell")
    assert {r["id"]: r["reason"] for r in store.orders()}["r1-2"] == "risk: too big"


def test_balances_metrics_transfers_events(tmp_path):
    store = Store(tmp_path / "x.db")
    store.start_run("")
    store.record_balances("a", [Balance(venue="a", asset="BTC", total=10, available=8)])
    store.record_balances("a", [Balance(venue="a", asset="BTC", total=12, available=12)])
    assert store.latest_balances() == {"a": {"BTC": (12, 12)}}
    store.record_metrics([("pnl:USDT", "a", 1.5), ("open_orders", "a", 2.0)])
    store.record_transfer(Transfer(id="t1", asset="BTC", amount=3, source="a",
                                   destination="b"))
    store.record_event("venue", "a: up", "a", {"x": 1})
    store.flush()  # the writer thread has committed them
    db = store.db
    assert db["metrics"].count == 2 and db["transfers"].count == 1
    assert next(db["events"].rows)["data"] == '{"x":1}'


KILLED_WRITER = """
import sys
from liqframe.model import Fill
from liqframe.store import Store

store = Store(sys.argv[1])
store.start_run("")
inserted = store.record_fill(Fill(order_id="o1", venue="a", symbol="BTC/USDT", side="buy",
                                  price=100, size=5, fee="0", fee_currency="USDT",
                                  liquidity="maker", trade_id="42", event_ns=1))
store.flush()  # committed: what the writer does within a moment on its own
print("recorded" if inserted else "refused", flush=True)
sys.stdin.read()  # killed while waiting here: no close, no checkpoint, no atexit
"""


def test_a_committed_fill_is_in_the_file_after_the_process_is_killed(tmp_path):
    import signal
    import subprocess
    import sys

    path = tmp_path / "killed.db"
    child = subprocess.Popen([sys.executable, "-P", "-c", KILLED_WRITER, str(path)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "recorded"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    reopened = Store(path)  # as a restarted host opens it
    assert [(f.venue, f.trade_id, f.size) for f in reopened.fills()] == [("a", "42", 5)]
    assert reopened.last_trade_id("a") == "42"
    reopened.close()


async def test_fills_are_synced_off_the_loop_and_checkpointed_into_the_file(tmp_path):
    import shutil

    store = Store(tmp_path / "x.db")
    store.start_run("")
    assert store.record_fill(fill("1")) and store.record_fill(fill("2"))
    assert not store.record_fill(fill("2"))  # a duplicate asks for no sync
    assert await store.synced()
    assert store.syncer.synced >= store.writer.ticket >= 1 and store.syncer.error is None
    # the syncer's checkpoints (once a second) copy the log into the database file itself:
    # soon a copy of that file alone, without its -wal, holds both fills
    from liqframe.testing.world import wait_for

    def file_alone():
        shutil.copy(tmp_path / "x.db", tmp_path / "alone.db")
        with sqlite3.connect(tmp_path / "alone.db") as db:
            try:
                return db.execute("select trade_id from fills order by id").fetchall()
            except sqlite3.OperationalError:  # not even the tables are in the file yet
                return None

    assert await wait_for(lambda: file_alone() == [("1",), ("2",)], timeout=5, interval=0.2)
    assert store.syncer.checkpoints >= 1
    store.close()
    assert not store.syncer._thread.is_alive() and not store.writer._thread.is_alive()


def test_the_writer_keeps_order_and_reports_a_failed_write_without_losing_the_rest(tmp_path):
    store = Store(tmp_path / "x.db")
    store.start_run("")
    order = Order(id="r1-1", venue="a", symbol="BTC/USDT", side="sell", size=10, price=50)
    for filled in range(1, 6):  # queued, not waited for: the last state wins, as sent
        store.save_order(attrs.evolve(order, status="partially_filled", filled=filled))
    store.writer.put("INSERT INTO no_such_table VALUES (?)", [(1,)])
    store.record_event("venue", "a: up", "a")
    [row] = store.orders()  # a read waits for the writes queued before it
    assert row["filled"] == 5
    assert "no_such_table" in str(store.writer.error)
    assert [r["message"] for r in store.db["events"].rows] == ["a: up"]
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        store.writer.call("INSERT INTO no_such_table VALUES (?)", (1,))
    assert store.record_fill(fill("9"))  # and the writer goes on
    store.close()
