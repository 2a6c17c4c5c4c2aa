"""The live status of a running host, drawn with rich: progress and one row per venue."""

import asyncio
import contextlib

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


class LiveStatus:
    """Redraws the status every ``refresh`` seconds while the host runs (terminals only: with
    output to a file or a pipe nothing is drawn). A redraw costs a few milliseconds of the
    host's event loop (rich lays out the whole table), so it comes at most once a second, and
    its two halves (reading the host, drawing) run in separate turns of the loop."""

    def __init__(self, console, host, duration, refresh=1.0):
        self.console, self.host, self.duration, self.refresh = console, host, duration, refresh
        self.progress = Progress(TextColumn("[bold]liqframe run"), BarColumn(),
                                 TextColumn("{task.description}"), TimeElapsedColumn(),
                                 console=console)
        self.task = self.progress.add_task("starting", total=duration)

    def render(self):
        host = self.host
        if host.market is None:
            snapshot = host.snapshot()
        else:  # what the display shows, without the rest of a whole snapshot
            snapshot = {"venues": host.venue_rows(), "elapsed_s": host.elapsed(),
                        "orders": {"sent": host.orders.sent}, "kill_switch": host.kill}
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
        with Live(self.render(), console=self.console, auto_refresh=False) as live:
            async def redraw():
                while True:
                    await asyncio.sleep(self.refresh)
                    renderable = self.render()
                    await asyncio.sleep(0)
                    live.update(renderable, refresh=True)

            task = asyncio.create_task(redraw())
            try:
                yield
            finally:
                task.cancel()
