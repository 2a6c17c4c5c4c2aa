"""Persistence in one SQLite file through sqlite-utils.

Every run of the host is a row of ``runs`` with the exact configuration it used, so any
result in the file can be traced to the settings that produced it. The other tables:

``orders``
    one row per order the host sent (keyed by its client id), updated in place as its state
    moves from new to acknowledged, partly filled, filled, cancelled or rejected;
``fills``
    every fill of our orders, unique by ``(venue, trade_id)``: the same fill reported twice (on
    the stream and again by a catch-up after a reconnect or a restart) is stored once;
``balances``
    snapshots of each venue's balances as the venue reported them (a time series);
``transfers``
    movements of assets between venues planned or made by a rebalancer;
``metrics``
    a time series of numbers (best prices, inventory, PnL) per venue;
``events``
    what happened: venues up and down, resyncs, rejections, reconciliations.

Every write is committed at once (WAL journal), so a process killed even with SIGKILL loses
nothing it had written; the host writes a fill here *before* it counts it anywhere else. The
commits themselves do not wait for the disk (SQLite's ``synchronous = NORMAL``): they run on
the host's event loop as plain prepared statements, tens of microseconds each. Waiting for the
disk is the job of a thread of the store's own, the :class:`Syncer`: every fill asks it to sync
the write-ahead log (``fsync``), which it does moments later, off the loop; it also copies the
log into the database file (a checkpoint) once a second. So a fill survives a crash of the
process as soon as :meth:`Store.record_fill` returns, and a power loss once the syncer has
synced it (:meth:`Store.synced` waits for that; :meth:`Store.end_run` and :meth:`Store.close`
wait for every fill). A fill a power loss did take is fetched again from the venue when the host
restarts: the catch-up starts after the last trade id *in the file*.
"""

import asyncio
import os
import sqlite3
import threading
import time
from decimal import Decimal

import orjson
import sqlite_utils

from liqframe.model import Fill, Order, OrderStatus, Side

ORDER_COLUMNS = {"id": str, "run_id": int, "venue": str, "symbol": str, "side": str,
                 "price": int, "size": int, "filled": int, "status": str,
                 "venue_order_id": str, "reason": str, "created_ns": int, "updated_ns": int}
#: An order row inserted, or updated in place keeping the run that sent it and its creation time.
ORDER_UPSERT = (
    f"INSERT INTO orders ({', '.join(ORDER_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(ORDER_COLUMNS))}) ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in ORDER_COLUMNS
                if c not in ("id", "run_id", "created_ns")))
OPEN_STATUSES = (OrderStatus.NEW.value, OrderStatus.ACKNOWLEDGED.value,
                 OrderStatus.PARTIALLY_FILLED.value)


class Syncer:
    """A thread that syncs the write-ahead log of the SQLite file at ``path`` to the disk when
    asked (:meth:`request` returns a ticket, :meth:`wait` blocks until it is served) and
    checkpoints the log into the database file every ``checkpoint_s`` seconds, through a
    connection of its own. SQLite runs both without the GIL, so the event loop keeps going."""

    def __init__(self, path, checkpoint_s=1.0):
        self.path, self.checkpoint_s = path, checkpoint_s
        self.requested = self.synced = self.checkpoints = 0
        self.error = None
        self._closing = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._work, name="liqframe-store-sync",
                                        daemon=True)
        self._thread.start()

    def request(self):
        """Ask for a sync of everything committed so far; returns the ticket to wait for."""
        with self._cond:
            self.requested += 1
            self._cond.notify()
            return self.requested

    def wait(self, ticket=None, timeout=None):
        """Block until ``ticket`` (default: every request so far) is synced; True if it is."""
        with self._cond:
            ticket = self.requested if ticket is None else ticket
            self._cond.wait_for(lambda: self.synced >= ticket or self.error is not None,
                                timeout)
            return self.synced >= ticket

    def close(self):
        """Serve what is pending, checkpoint once more, and end the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join()

    def _work(self):
        db = sqlite3.connect(self.path, check_same_thread=False)
        try:
            db.execute("PRAGMA synchronous=NORMAL")  # a checkpoint syncs the log, then the file
            synced_directory = False
            next_checkpoint = time.monotonic() + self.checkpoint_s
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self.requested > self.synced or self._closing,
                                        max(0.0, next_checkpoint - time.monotonic()))
                    target, closing = self.requested, self._closing
                try:
                    if target > self.synced:
                        if not synced_directory:  # the log file's own entry, once
                            _fsync(os.path.dirname(os.path.abspath(self.path)))
                            synced_directory = True
                        _fsync(self.path + "-wal")
                    if closing or time.monotonic() >= next_checkpoint:
                        db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                        self.checkpoints += 1
                        next_checkpoint = time.monotonic() + self.checkpoint_s
                except (OSError, sqlite3.Error) as error:
                    with self._cond:
                        self.error = error
                        self._cond.notify_all()
                    return
                with self._cond:
                    self.synced = max(self.synced, target)
                    self._cond.notify_all()
                    if closing and self.requested == self.synced:
                        return
        finally:
            db.close()


def _fsync(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:  # no log yet (nothing written) or already folded in at close
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Store:
    """The host's SQLite file. Writes are committed as they happen: a crash loses nothing
    that was written before it."""

    def __init__(self, path):
        self.path = str(path)
        self.db = sqlite_utils.Database(self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        # checkpoints (which wait for the disk) are the syncer's, off the event loop
        self.db.execute("PRAGMA wal_autocheckpoint=0")
        self.run_id = None
        self._create()
        self.syncer = Syncer(self.path)
        self._ticket = 0  # the latest fill's sync request

    def _write(self, sql, rows):
        """Run ``sql`` once per row (a sequence of parameter sequences) and commit."""
        conn = self.db.conn
        conn.executemany(sql, rows)
        conn.commit()

    def _create(self):
        db = self.db
        db["runs"].create({"id": int, "started_ns": int, "ended_ns": int, "config": str,
                           "status": str}, pk="id", if_not_exists=True)
        db["orders"].create(ORDER_COLUMNS, pk="id", if_not_exists=True)
        db["fills"].create({"id": int, "run_id": int, "venue": str, "trade_id": str,
                            "order_id": str, "symbol": str, "side": str, "price": int,
                            "size": int, "fee": str, "fee_currency": str, "liquidity": str,
                            "event_ns": int, "recorded_ns": int}, pk="id", if_not_exists=True)
        db["balances"].create({"id": int, "run_id": int, "ts_ns": int, "venue": str,
                               "asset": str, "total": int, "available": int}, pk="id",
                              if_not_exists=True)
        db["transfers"].create({"id": str, "run_id": int, "ts_ns": int, "asset": str,
                                "amount": int, "source": str, "destination": str,
                                "status": str}, pk="id", if_not_exists=True)
        db["metrics"].create({"run_id": int, "ts_ns": int, "name": str, "venue": str,
                              "value": float}, if_not_exists=True)
        db["events"].create({"id": int, "run_id": int, "ts_ns": int, "kind": str, "venue": str,
                             "message": str, "data": str}, pk="id", if_not_exists=True)
        db.execute("CREATE UNIQUE INDEX IF NOT EXISTS fills_venue_trade "
                   "ON fills (venue, trade_id)")
        db.execute("CREATE INDEX IF NOT EXISTS orders_status ON orders (status)")
        db.execute("CREATE INDEX IF NOT EXISTS metrics_time ON metrics (ts_ns)")
        db.execute("CREATE INDEX IF NOT EXISTS balances_venue ON balances (venue, asset, id)")

    # -- runs -------------------------------------------------------------------------------

    def start_run(self, config_text):
        table = self.db["runs"]
        table.insert({"started_ns": time.time_ns(), "ended_ns": None, "config": config_text,
                      "status": "running"})
        self.run_id = table.last_pk
        return self.run_id

    def end_run(self, run_id, status):
        self.db["runs"].update(run_id, {"ended_ns": time.time_ns(), "status": status})
        self.syncer.wait(self.syncer.request())

    # -- orders -----------------------------------------------------------------------------

    def save_order(self, order: Order, *, venue_order_id="", reason="", created_ns=None):
        """Insert or update the row of ``order`` (keyed by its client id)."""
        now = time.time_ns()
        self._write(ORDER_UPSERT, [(
            order.id, self.run_id, order.venue, order.symbol,
            "buy" if order.side is Side.BID else "sell", order.price, order.size, order.filled,
            order.status.value, venue_order_id or "", reason or "", created_ns or now, now)])

    def orders(self, *, open_only=False):
        """Every stored order row as a dict (open ones only with ``open_only``)."""
        if open_only:
            marks = ", ".join("?" * len(OPEN_STATUSES))
            return list(self.db.query(f"SELECT * FROM orders WHERE status IN ({marks}) "
                                      "ORDER BY created_ns", OPEN_STATUSES))
        return list(self.db.query("SELECT * FROM orders ORDER BY created_ns"))

    # -- fills ------------------------------------------------------------------------------

    def record_fill(self, fill: Fill) -> bool:
        """Store ``fill`` (committed: safe from a crash of the process when this returns,
        synced to the disk moments later by the :class:`Syncer`, see :meth:`synced`); False
        when ``(venue, trade_id)`` is already stored."""
        conn = self.db.conn
        cursor = conn.execute(
            "INSERT OR IGNORE INTO fills (run_id, venue, trade_id, order_id, symbol, side, "
            "price, size, fee, fee_currency, liquidity, event_ns, recorded_ns) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [self.run_id, fill.venue, fill.trade_id, fill.order_id, fill.symbol,
             "buy" if fill.side is Side.BID else "sell", fill.price, fill.size, str(fill.fee),
             fill.fee_currency, fill.liquidity, fill.event_ns, time.time_ns()])
        inserted = cursor.rowcount == 1
        conn.commit()
        if inserted:
            self._ticket = self.syncer.request()
        return inserted

    async def synced(self):
        """Wait, without holding up the event loop, until every fill recorded so far is synced
        to the disk; True if it is (False if the disk failed: :attr:`Syncer.error`)."""
        if self.syncer.synced >= self._ticket:
            return True
        return await asyncio.to_thread(self.syncer.wait, self._ticket)

    def fills(self, venue=None):
        """Every stored fill as a :class:`~liqframe.model.Fill`, in the order recorded."""
        where, params = ("WHERE venue = ?", [venue]) if venue else ("", [])
        return [Fill(order_id=r["order_id"], venue=r["venue"], symbol=r["symbol"],
                     side=r["side"], price=r["price"], size=r["size"], fee=Decimal(r["fee"]),
                     fee_currency=r["fee_currency"], liquidity=r["liquidity"],
                     trade_id=r["trade_id"], event_ns=r["event_ns"])
                for r in self.db.query(f"SELECT * FROM fills {where} ORDER BY id", params)]

    def last_trade_id(self, venue):
        """The trade id of ``venue``'s latest fill by venue time, or None: where a catch-up
        after a reconnect or a restart starts."""
        row = self.db.execute("SELECT trade_id FROM fills WHERE venue = ? "
                              "ORDER BY event_ns DESC, id DESC LIMIT 1", [venue]).fetchone()
        return row[0] if row else None

    # -- balances, transfers, metrics, events -------------------------------------------

    def record_balances(self, venue, balances):
        now = time.time_ns()
        self._write("INSERT INTO balances (run_id, ts_ns, venue, asset, total, available) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [(self.run_id, now, venue, b.asset, b.total, b.available) for b in balances])

    def latest_balances(self):
        """``{venue: {asset: (total, available)}}`` from each venue's latest snapshot."""
        result = {}
        for row in self.db.query(
                "SELECT venue, asset, total, available FROM balances WHERE id IN "
                "(SELECT max(id) FROM balances GROUP BY venue, asset)"):
            result.setdefault(row["venue"], {})[row["asset"]] = (row["total"], row["available"])
        return result

    def record_transfer(self, transfer):
        self.db["transfers"].upsert({
            "id": transfer.id, "run_id": self.run_id, "ts_ns": time.time_ns(),
            "asset": transfer.asset, "amount": transfer.amount, "source": transfer.source,
            "destination": transfer.destination, "status": transfer.status}, pk="id")

    def record_metrics(self, rows, ts_ns=None):
        """Append ``(name, venue, value)`` rows at one time stamp."""
        ts_ns = ts_ns or time.time_ns()
        self._write("INSERT INTO metrics (run_id, ts_ns, name, venue, value) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [(self.run_id, ts_ns, name, venue, value) for name, venue, value in rows])

    def record_event(self, kind, message, venue="", data=None):
        self._write("INSERT INTO events (run_id, ts_ns, kind, venue, message, data) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [(self.run_id, time.time_ns(), kind, venue, message,
                      orjson.dumps(data or {}).decode())])

    def close(self):
        self.syncer.close()
        self.db.close()
