"""Timing and reporting shared by the benchmark areas."""

import gc
import statistics
import time

from rich.console import Console
from rich.table import Table


def median_ns(fn, operations, repeats=5):
    """Median nanoseconds per operation of ``fn()`` (which performs ``operations`` of them)."""
    samples = []
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter_ns()
            fn()
            samples.append((time.perf_counter_ns() - start) / operations)
        finally:
            gc.enable()
    return statistics.median(samples)


def figure(unit, by, *, ours=("liqframe",), lower_is_better=True, target=None):
    """A figure measured for several implementations, with ours compared to the best peer.

    ``by`` maps implementation names to values, or to None when not installed."""
    measured = {k: v for k, v in by.items() if v is not None}
    peers = {k: v for k, v in measured.items() if not any(k.startswith(o) for o in ours)}
    ours_values = {k: v for k, v in measured.items() if any(k.startswith(o) for o in ours)}
    best_ours = (min if lower_is_better else max)(ours_values.values()) if ours_values else None
    result = {"unit": unit, "by": by, "value": best_ours}
    if peers and best_ours:
        fastest = (min if lower_is_better else max)(peers, key=peers.get)
        ratio = peers[fastest] / best_ours if lower_is_better else best_ours / peers[fastest]
        result.update(fastest_peer=fastest, ratio_to_fastest_peer=round(ratio, 2))
    if target is not None:
        result["target"] = target
    return result


def print_table(area, results):
    table = Table(title=f"liqframe benchmark: {area}", show_lines=False)
    table.add_column("figure")
    table.add_column("implementation")
    table.add_column("value", justify="right")
    table.add_column("unit")
    table.add_column("speed-up vs fastest peer", justify="right")
    for name, fig in results.items():
        if not isinstance(fig, dict) or "by" not in fig:
            table.add_row(name, "", str(fig), "", "")
            continue
        first = True
        for impl, value in fig["by"].items():
            shown = "not installed" if value is None else f"{value:,.1f}"
            ratio = ""
            if first and "ratio_to_fastest_peer" in fig:
                ratio = f"{fig['ratio_to_fastest_peer']}x (vs {fig['fastest_peer']})"
            table.add_row(name if first else "", impl, shown, fig["unit"], ratio)
            first = False
        if "target" in fig:
            table.add_row("", "target", str(fig["target"]), fig["unit"], "")
    Console().print(table)
