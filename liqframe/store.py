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

Every write is committed within moments (WAL journal), so a process killed even with SIGKILL
loses at most the writes of its last millisecond or so; the host queues a fill here *before*
it counts it anywhere else. None of it runs on the host's event loop. The store's
:class:`Writer` thread owns the one writing connection: writes are queued in order and
committed by the batch, and nothing on the loop waits for a commit (whether a fill is new is
decided in memory, from the file's latest 100,000 fills and those recorded since; the file is
asked only once it holds more). The commits do not wait for the disk (SQLite's
``synchronous = NORMAL``); a second thread, the :class:`Syncer`, syncs the write-ahead log
after each batch holding a fill (``fsync``) and copies the log into the database file (a
checkpoint) once a second. So a fill survives a crash of the process once
its batch is committed, and a power loss once the syncer has synced it (:meth:`Store.synced`
waits for that; :meth:`Store.end_run` and :meth:`Store.close` wait for every fill). A fill a
crash or a power loss did take is fetched again from the venue when the host restarts: the
catch-up starts after the last trade id *in the file*, and fills reach the file in the order
they were recorded, so none after it is missing. Reads see every write queued before them
(they wait for the writer to catch up).
"""

import asyncio
import collections
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
#: Fills remembered in memory (the file's latest at opening, then each as recorded): far more
#: than the writer can have queued, so an older one is in the file. While the file holds no
#: more, a fill is new exactly when it is not in memory, and the file is not asked.
RECENT_FILLS = 100_000
FILL_INSERT = (
    "INSERT OR IGNORE INTO fills (run_id, venue, trade_id, order_id, symbol, side, price, "
    "size, fee, fee_currency, liquidity, event_ns, recorded_ns) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
TRANSFER_UPSERT = (
    "INSERT INTO transfers (id, run_id, ts_ns, asset, amount, source, destination, status) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET ts_ns = excluded.ts_ns, "
    "amount = excluded.amount, source = excluded.source, "
    "destination = excluded.destination, status = excluded.status")


class _Worker:
    """A daemon thread running ``_work`` until :meth:`close`; ``_cond`` guards its state."""

    name = "liqframe-store"

    def _start(self):
        self._closing = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._work, name=self.name, daemon=True)
        self._thread.start()

    def close(self):
        """Finish what is pending, then end the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join()


class _Waiter:
    """One queued write somebody waits for: its row count and last row id once committed."""

    __slots__ = ("done", "rowcount", "lastrowid", "error")

    def __init__(self):
        self.done = threading.Event()
        self.rowcount = self.lastrowid = self.error = None


class Writer(_Worker):
    """The store's writing connection, in a thread of its own. :meth:`put` queues a statement
    (run once per row of parameters); the thread runs what is queued in order and commits it
    as one batch; :meth:`call` queues one and blocks until it is committed. After a batch that
    holds a fill it asks ``syncer`` to sync. A statement that fails is reported in
    :attr:`error` (and raised to its caller if it waits); the rest of the batch is kept."""

    name = "liqframe-store-write"

    def __init__(self, path, syncer):
        self.path, self.syncer = path, syncer
        self.batches = 0
        self.error = None
        #: The syncer's ticket covering every fill committed so far.
        self.ticket = 0
        self._queue = collections.deque()
        self._start()

    def put(self, sql, rows, *, fill=False, waiter=None):
        with self._cond:
            if self._closing:
                raise RuntimeError("the store is closed")
            self._queue.append((sql, rows, fill, waiter))
            self._cond.notify()

    def call(self, sql, params, *, fill=False):
        """Run ``sql`` once with ``params`` and wait for its commit; the waiter has its row
        count and last row id (``sql`` None: only wait for everything queued before)."""
        waiter = _Waiter()
        self.put(sql, [params] if sql is not None else None, fill=fill, waiter=waiter)
        waiter.done.wait()
        if waiter.error is not None:
            raise waiter.error
        return waiter

    def flush(self):
        """Block until everything queued so far is committed."""
        self.call(None, None)

    def _work(self):
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA wal_autocheckpoint=0")  # the syncer's, off this thread too
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._queue or self._closing)
                    batch = list(self._queue)
                    self._queue.clear()
                    if not batch and self._closing:
                        return
                self._run(db, batch)
        finally:
            db.close()

    def _run(self, db, batch):
        waiters, fills = [], False
        for sql, rows, fill, waiter in batch:
            try:
                if sql is not None:
                    cursor = db.execute(sql, rows[0]) if len(rows) == 1 else \
                        db.executemany(sql, rows)
                    if waiter is not None:
                        waiter.rowcount, waiter.lastrowid = cursor.rowcount, cursor.lastrowid
                    fills = fills or fill
            except sqlite3.Error as error:
                self.error = error
                if waiter is not None:
                    waiter.error = error
            if waiter is not None:
                waiters.append(waiter)
        try:
            db.commit()
        except sqlite3.Error as error:
            self.error = error
            for waiter in waiters:
                waiter.error = waiter.error or error
        if fills:
            self.ticket = self.syncer.request()
        self.batches += 1
        for waiter in waiters:
            waiter.done.set()


class Syncer(_Worker):
    """A thread that syncs the write-ahead log of the SQLite file at ``path`` to the disk when
    asked (:meth:`request` returns a ticket, :meth:`wait` blocks until it is served) and
    checkpoints the log into the database file every ``checkpoint_s`` seconds, through a
    connection of its own. SQLite runs both without the GIL, so the event loop keeps going."""

    name = "liqframe-store-sync"

    def __init__(self, path, checkpoint_s=1.0):
        self.path, self.checkpoint_s = path, checkpoint_s
        self.requested = self.synced = self.checkpoints = 0
        self.error = None
        self._start()

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
    """The host's SQLite file. Writes are queued and committed within moments, in order."""

    def __init__(self, path):
        self.path = str(path)
        self.db = sqlite_utils.Database(self.path)  # the tables, then reads only
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        # checkpoints (which wait for the disk) are the syncer's, off the event loop
        self.db.execute("PRAGMA wal_autocheckpoint=0")
        self.run_id = None
        #: (venue, trade id) of the latest fills recorded: whether a fill is new, without
        #: waiting for the writer (older ones are committed, and looked up in the file).
        self._recent_fills = set()
        self._recent_order = collections.deque()
        self._create()
        self._remember_latest_fills()
        self.syncer = Syncer(self.path)
        self.writer = Writer(self.path, self.syncer)

    def _remember_latest_fills(self):
        latest = self.db.execute("SELECT venue, trade_id FROM fills ORDER BY id DESC LIMIT ?",
                                 [RECENT_FILLS + 1]).fetchall()
        #: True while every fill of the file is in memory too: then a new fill needs no SELECT
        self._all_fills_in_memory = len(latest) <= RECENT_FILLS
        for key in reversed(latest[:RECENT_FILLS]):
            self._remember(tuple(key))

    def _remember(self, key):
        self._recent_fills.add(key)
        self._recent_order.append(key)
        if len(self._recent_order) > RECENT_FILLS:
            self._recent_fills.discard(self._recent_order.popleft())
            self._all_fills_in_memory = False

    def _write(self, sql, rows):
        """Queue ``sql`` to run once per row (a sequence of parameter sequences)."""
        self.writer.put(sql, rows)

    def flush(self):
        """Wait until every write queued so far is committed (reads do it themselves)."""
        self.writer.flush()

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
        self.run_id = self.writer.call(
            "INSERT INTO runs (started_ns, ended_ns, config, status) VALUES (?, ?, ?, ?)",
            (time.time_ns(), None, config_text, "running")).lastrowid
        return self.run_id

    def end_run(self, run_id, status):
        self.writer.call("UPDATE runs SET ended_ns = ?, status = ? WHERE id = ?",
                         (time.time_ns(), status, run_id))
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
        self.flush()
        if open_only:
            marks = ", ".join("?" * len(OPEN_STATUSES))
            return list(self.db.query(f"SELECT * FROM orders WHERE status IN ({marks}) "
                                      "ORDER BY created_ns", OPEN_STATUSES))
        return list(self.db.query("SELECT * FROM orders ORDER BY created_ns"))

    # -- fills ------------------------------------------------------------------------------

    def record_fill(self, fill: Fill) -> bool:
        """Queue ``fill`` for the file (committed in a moment, then synced to the disk by the
        :class:`Syncer`, see :meth:`synced`); False when ``(venue, trade_id)`` was recorded
        already, in this run or before."""
        key = (fill.venue, fill.trade_id)
        if key in self._recent_fills or not self._all_fills_in_memory and self.db.execute(
                "SELECT 1 FROM fills WHERE venue = ? AND trade_id = ?", key).fetchone():
            return False
        self._remember(key)
        self.writer.put(FILL_INSERT, [(
            self.run_id, fill.venue, fill.trade_id, fill.order_id, fill.symbol,
            "buy" if fill.side is Side.BID else "sell", fill.price, fill.size, str(fill.fee),
            fill.fee_currency, fill.liquidity, fill.event_ns, time.time_ns())], fill=True)
        return True

    async def synced(self):
        """Wait, without holding up the event loop, until every fill recorded so far is
        committed and synced to the disk; True if it is (False if the disk failed:
        :attr:`Syncer.error`)."""
        return await asyncio.to_thread(self._synced)

    def _synced(self):
        self.writer.flush()
        return self.syncer.wait(self.writer.ticket)

    def fills(self, venue=None):
        """Every stored fill as a :class:`~liqframe.model.Fill`, in the order recorded."""
        where, params = ("WHERE venue = ?", [venue]) if venue else ("", [])
        self.flush()
        return [Fill(order_id=r["order_id"], venue=r["venue"], symbol=r["symbol"],
                     side=r["side"], price=r["price"], size=r["size"], fee=Decimal(r["fee"]),
                     fee_currency=r["fee_currency"], liquidity=r["liquidity"],
                     trade_id=r["trade_id"], event_ns=r["event_ns"])
                for r in self.db.query(f"SELECT * FROM fills {where} ORDER BY id", params)]

    def last_trade_id(self, venue):
        """The trade id of ``venue``'s latest fill by venue time, or None: where a catch-up
        after a reconnect or a restart starts."""
        self.flush()
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
        self.flush()
        for row in self.db.query(
                "SELECT venue, asset, total, available FROM balances WHERE id IN "
                "(SELECT max(id) FROM balances GROUP BY venue, asset)"):
            result.setdefault(row["venue"], {})[row["asset"]] = (row["total"], row["available"])
        return result

    def record_transfer(self, transfer):
        self._write(TRANSFER_UPSERT, [(
            transfer.id, self.run_id, time.time_ns(), transfer.asset, transfer.amount,
            transfer.source, transfer.destination, transfer.status)])

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
        self.writer.close()
        self.syncer.close()
        self.db.close()
