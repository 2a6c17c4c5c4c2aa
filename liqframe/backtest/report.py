"""A queue backtest's results, kept: SQLite tables and a self-contained HTML plot.

SQLite (sqlite-utils), one database can hold many runs:

- ``backtest_runs``: one row per run: ``id``, ``started``, ``scenario``, ``source``, the options
  (``queue_model``, ``latency_ms``, ...), the PnL split, inventory statistics, fill counts and
  rates, mean markouts, and ``summary`` (the whole summary as JSON);
- ``backtest_fills``: one row per fill (``run_id``, time, side, price, size, the mid at the
  fill, the position after it, the fee, when the order was sent) with its markouts;
- ``backtest_equity``: one row per strategy decision (``run_id``, time, position, mid, total
  PnL and its split).

Money is in ticks × lots times ``unit`` (the currency value of one tick on one lot; 1 leaves
it in ticks × lots). The plot is HTML with inline SVG (no plotting library, no scripts): the
mid with the fills, the position, and the PnL split over time.
"""

import html
import time

import orjson

SIDE_NAMES = ("buy", "sell")
MAX_POINTS = 2000  # per plotted line; longer series are sampled evenly


def _flat(summary, unit):
    pnl, inventory, fills = summary["pnl"], summary["inventory"], summary["fills"]
    row = {f"pnl_{key}": value * unit for key, value in pnl.items()}
    row.update({f"inventory_{key}": value for key, value in inventory.items()})
    row.update({key if key.startswith(("fill", "bid", "ask")) else f"fills_{key}": value
                for key, value in fills.items()})
    for horizon, values in summary["markouts"].items():
        row[f"markout_{horizon}_mid_move"] = values["mid_move"]
        row[f"markout_{horizon}_pnl"] = values["pnl"]
    return row


def write_sqlite(path, result, *, scenario, source, options, unit=1.0):
    """Append a run to the SQLite database at ``path``; returns the new run's id."""
    import sqlite_utils

    summary = result.summary()
    db = sqlite_utils.Database(path)
    with db.conn:
        run = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "scenario": scenario,
               "source": source, **options, "events": result.events,
               "decisions": result.decisions, "unit": unit, **_flat(summary, unit),
               "summary": orjson.dumps(summary).decode()}
        run_id = db["backtest_runs"].insert(run, pk="id", alter=True).last_pk
        rows, markouts = result.fill_rows, result.markouts()
        fills = []
        for k, row in enumerate(rows.tolist()):
            ts, side, px, qty, mid2, position, fee, sent_ts = row
            fill = {"run_id": run_id, "ts": ts, "side": SIDE_NAMES[side], "px": px, "qty": qty,
                    "mid": mid2 / 2, "position": position, "fee": fee * unit,
                    "sent_ts": sent_ts}
            for horizon, values in markouts.items():
                move = float(values["mid_move"][k])
                fill[f"markout_{horizon / 1e9:g}s"] = None if move != move else move
            fills.append(fill)
        db["backtest_fills"].insert_all(fills, alter=True)
        equity = [{"run_id": run_id, "ts": ts, "position": position, "mid": mid2 / 2,
                   "pnl": (cash + position * mid2 / 2 - fees) * unit,
                   "spread_capture": spread2 / 2 * unit, "inventory_pnl": inventory2 / 2 * unit,
                   "fees": fees * unit}
                  for ts, position, cash, mid2, spread2, inventory2, fees
                  in result.equity.tolist()]
        db["backtest_equity"].insert_all(equity, alter=True)
    return run_id


def _sample(values, limit=MAX_POINTS):
    step = max(1, -(-len(values) // limit))
    return values[::step]


class _Panel:
    """One chart: a y range mapped into a box of the SVG, x shared across panels."""

    def __init__(self, top, height, x_range, ys, width):
        self.top, self.height, self.width = top, height, width
        self.x0, self.x1 = x_range
        finite = [y for y in ys if y == y]
        self.y0, self.y1 = (min(finite), max(finite)) if finite else (0.0, 1.0)
        if self.y0 == self.y1:
            self.y0, self.y1 = self.y0 - 1, self.y1 + 1

    def xy(self, x, y):
        left, right = 70, self.width - 10
        px = left + (x - self.x0) / ((self.x1 - self.x0) or 1) * (right - left)
        py = self.top + self.height - (y - self.y0) / (self.y1 - self.y0) * self.height
        return f"{px:.1f},{py:.1f}"

    def frame(self, title):
        return (f'<rect x="70" y="{self.top}" width="{self.width - 80}" height="{self.height}" '
                f'fill="none" stroke="#ccc"/>'
                f'<text x="70" y="{self.top - 6}" font-size="13">{html.escape(title)}</text>'
                f'<text x="64" y="{self.top + 10}" font-size="10" text-anchor="end">'
                f'{self.y1:,.6g}</text>'
                f'<text x="64" y="{self.top + self.height}" font-size="10" text-anchor="end">'
                f'{self.y0:,.6g}</text>')

    def line(self, xs, ys, color, label=None):
        points = " ".join(self.xy(x, y) for x, y in zip(xs, ys, strict=True))
        title = f"<title>{html.escape(label)}</title>" if label else ""
        return (f'<polyline fill="none" stroke="{color}" stroke-width="1.2" '
                f'points="{points}">{title}</polyline>')


def plot_html(path, result, *, title, unit=1.0):
    """Write the run's plot: mid and fills, position, PnL split (time in seconds)."""
    equity = result.equity
    if len(equity):
        t0 = int(equity["ts"][0])
        x_range = (0.0, (int(equity["ts"][-1]) - t0) / 1e9)
    else:
        t0, x_range = 0, (0.0, 1.0)
    sample = _sample(equity)
    xs = ((sample["ts"] - t0) / 1e9).tolist()
    width, height, gap = 960, 170, 40
    parts = []
    mids = (sample["mid2"] / 2).tolist()
    fills = _sample(result.fill_rows)
    fx = ((fills["ts"] - t0) / 1e9).tolist()
    prices = fills["px"].tolist()
    mid_panel = _Panel(30, height, x_range, mids + prices, width)
    parts += [mid_panel.frame("mid (ticks); fills: ▲ buy, ▼ sell"),
              mid_panel.line(xs, mids, "#444", "mid")]
    for x, px, side in zip(fx, prices, fills["side"].tolist(), strict=True):
        if x_range[0] <= x <= x_range[1]:
            sx, sy = (float(v) for v in mid_panel.xy(x, px).split(","))
            shape = (f"{sx},{sy - 4} {sx - 4},{sy + 3} {sx + 4},{sy + 3}" if side == 0
                     else f"{sx},{sy + 4} {sx - 4},{sy - 3} {sx + 4},{sy - 3}")
            parts.append(f'<polygon points="{shape}" fill="{"#2a7" if side == 0 else "#c33"}"/>')
    positions = sample["position"].tolist()
    position_panel = _Panel(30 + height + gap, height, x_range, positions, width)
    parts += [position_panel.frame("position (lots)"),
              position_panel.line(xs, positions, "#36c", "position")]
    spread = (sample["spread2"] / 2 * unit).tolist()
    inventory = (sample["inventory2"] / 2 * unit).tolist()
    fees = (-sample["fees"] * unit).tolist()
    total = [s + i + f for s, i, f in zip(spread, inventory, fees, strict=True)]
    pnl_panel = _Panel(30 + 2 * (height + gap), height, x_range,
                       total + spread + inventory + fees, width)
    parts.append(pnl_panel.frame("PnL: total (black), spread capture (green), inventory "
                                 "(blue), −fees (red)"))
    for series, color, label in ((spread, "#2a7", "spread capture"),
                                 (inventory, "#36c", "inventory"), (fees, "#c33", "-fees"),
                                 (total, "#000", "total")):
        parts.append(pnl_panel.line(xs, series, color, label))
    bottom = 30 + 3 * height + 2 * gap
    parts.append(f'<text x="70" y="{bottom + 18}" font-size="11">0 s</text>'
                 f'<text x="{width - 10}" y="{bottom + 18}" font-size="11" text-anchor="end">'
                 f'{x_range[1]:,.1f} s</text>')
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{bottom + 30}" '
           f'font-family="sans-serif">{"".join(parts)}</svg>')
    summary = orjson.dumps(result.summary(), option=orjson.OPT_INDENT_2).decode()
    document = (f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}'
                f'</title></head><body><h1 style="font-family:sans-serif;font-size:18px">'
                f'{html.escape(title)}</h1>{svg}<pre>{html.escape(summary)}</pre></body></html>')
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(document)
