"""The live status of a running host, drawn with rich: progress and one row per venue."""

import asyncio
import contextlib
import sys

from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

COLUMNS = ("venue", "symbol", "status", "weight", "bid", "ask", "open orders", "fills",
           "inventory", "PnL", "fees")


def summary_table(snapshot, title="liqframe"):
    """A rich Table of ``Host.snapshot()``: per venue best bid/ask, orders, fills, inventory
    and PnL (in the venue's quote currency)."""
    kill = snapshot.get("kill_switch")
    if kill:
        title = f"{title}: [bold red]KILL SWITCH[/] {kill['reason']} (trading stopped)"
    table = Table(title=title)
    for column in COLUMNS:
        table.add_column(column, justify="right" if column not in ("venue", "symbol",
                                                                   "status") else "left")
    for row in snapshot.get("venues", []):
        status = row["status"] + ("" if row["ready"] or row["status"] != "up" else " (sync)")
        table.add_row(row["venue"], row["symbol"], status, f"{row.get('weight', 1.0):.2f}",
                      row["bid"] or "-", row["ask"] or "-",
                      str(row["open_orders"]), str(row["fills"]),
                      f"{row['inventory']} {row['base']}" if row["inventory"] else "-",
                      f"{row['pnl']:,.2f} {row['quote']}", f"{row['fees']:,.2f}")
    return table


#: The interpreter's switch interval while the status is drawn in its thread: how long the
#: event loop's thread may wait for the drawing thread to hand over the GIL (default 5 ms).
SWITCH_INTERVAL_S = 0.0005


class LiveStatus:
    """Redraws the status every ``refresh`` seconds while the host runs (terminals only: with
    output to a file or a pipe nothing is drawn). The event loop only reads the host into
    plain rows (tens of microseconds); rich lays out and draws them (about 6 ms) in a thread
    of its own, which hands the GIL back to the loop's thread within
    :data:`SWITCH_INTERVAL_S` whenever that thread wants it."""

    def __init__(self, console, host, duration, refresh=1.0):
        self.console, self.host, self.duration, self.refresh = console, host, duration, refresh
        self.progress = Progress(TextColumn("[bold]liqframe run"), BarColumn(),
                                 TextColumn("{task.description}"), TimeElapsedColumn(),
                                 console=console)
        self.task = self.progress.add_task("starting", total=duration)
        self.draws = 0  # redraws made by the drawing thread

    def read(self):
        """What the display shows, as plain data (on the loop: it reads the host)."""
        host = self.host
        if host.market is None:
            return host.snapshot()
        return {"venues": host.venue_rows(), "elapsed_s": host.elapsed(),
                "orders": {"sent": host.orders.sent},
                "kill_switch": dict(host.kill) if host.kill else None}

    def render(self, snapshot=None):
        """The display of ``snapshot`` (default: :meth:`read` now); reads nothing else."""
        snapshot = self.read() if snapshot is None else snapshot
        elapsed = snapshot.get("elapsed_s", 0.0)
        orders = snapshot.get("orders", {})
        kill = snapshot.get("kill_switch")
        self.progress.update(self.task, completed=elapsed if self.duration else None,
                             description=f"{orders.get('sent', 0)} orders sent, "
                                         f"{sum(r['fills'] for r in snapshot['venues'])} fills"
                                         + (" [bold red]KILL SWITCH[/]" if kill else ""))
        return Group(self.progress, summary_table(snapshot))

    @contextlib.asynccontextmanager
    async def running(self):
        if not self.console.is_terminal:
            yield
            return
        interval = sys.getswitchinterval()
        with Live(self.render(), console=self.console, auto_refresh=False) as live:
            drawing = None

            def draw(snapshot):
                live.update(self.render(snapshot), refresh=True)
                self.draws += 1

            async def redraw():
                nonlocal drawing
                while True:
                    await asyncio.sleep(self.refresh)
                    drawing = asyncio.ensure_future(asyncio.to_thread(draw, self.read()))
                    await asyncio.shield(drawing)

            sys.setswitchinterval(min(interval, SWITCH_INTERVAL_S))
            task = asyncio.create_task(redraw())
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                if drawing is not None:  # a drawing in progress ends before the display does
                    await drawing
                sys.setswitchinterval(interval)
