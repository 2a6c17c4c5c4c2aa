"""Public entry to the core: the compiled modules, or their pure-Python twins.

Set ``LIQFRAME_NO_EXTENSIONS=1`` to use the pure twins (slower, same results). Otherwise the
compiled modules are used when they were built, and :data:`EXTENSIONS_LOADED` says whether
they were; ``LIQFRAME_REQUIRE_EXTENSIONS=1`` turns a missing build into an ImportError instead
of a silent fallback.
"""

import importlib
import os

#: Each core module and the public names it exports. The compiled twin of ``name`` is
#: ``liqframe._core._name``; the pure one is ``liqframe._core.name``.
MODULES = {
    "fixed": ("to_units", "from_units"),
    "book": ("L2Book", "BID", "ASK", "NO_SEQUENCE"),
    "consolidated": ("ConsolidatedBook", "Levels", "Crossing", "DUPLICATE", "CROSSED",
                     "BookSink"),
    "l3book": ("L3Book",),
    "matcher": ("Matcher", "FILL_DTYPE", "venue_totals"),
    "router": ("Router", "Rerouter", "Route", "Child", "BUY", "SELL"),
    "backtest": ("replay_events", "QuoteTouch", "EVENT_DTYPE", "QUEUE_FILL_DTYPE",
                 "EQUITY_DTYPE"),
    "levels": ("LevelBatch", "BookPipe", "MISMATCH"),
    "frames": ("Frame", "UpdatePlan"),
    # Exported as the module itself: ``core.checksum.kraken_checksum(...)``.
    "checksum": (),
}

NO_EXTENSIONS = os.environ.get("LIQFRAME_NO_EXTENSIONS", "") not in ("", "0")
REQUIRE_EXTENSIONS = os.environ.get("LIQFRAME_REQUIRE_EXTENSIONS", "") not in ("", "0")


def load(name, *, compiled):
    """Import core module ``name``: the compiled build when ``compiled`` is true, else the twin."""
    return importlib.import_module(f"liqframe._core.{'_' if compiled else ''}{name}")


def _select():
    if NO_EXTENSIONS:
        return {name: load(name, compiled=False) for name in MODULES}, False
    try:
        return {name: load(name, compiled=True) for name in MODULES}, True
    except ImportError:
        if REQUIRE_EXTENSIONS:
            raise
        return {name: load(name, compiled=False) for name in MODULES}, False


_modules, EXTENSIONS_LOADED = _select()
checksum = _modules["checksum"]

for _name, _exports in MODULES.items():
    for _export in _exports:
        globals()[_export] = getattr(_modules[_name], _export)

__all__ = ["EXTENSIONS_LOADED", "MODULES", "checksum", "load"]
__all__ += [name for exports in MODULES.values() for name in exports]
