"""``liqframe new-plugin``: write an installable plugin package for one plugin kind.

The package has a ``pyproject.toml`` declaring the ``liqframe`` entry point, a module
``liqframe_<name>`` implementing the kind's registration hook with a working example, a test
that passes as generated, and a README. Only the standard library's ``string.Template`` is used,
so the output is easy to read against the templates below.
"""

import keyword
import re
from pathlib import Path
from string import Template

from liqframe.hookspecs import KIND_HOOKS

KINDS = ("venue", "strategy", "risk", "rebalancer")
_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")

PYPROJECT = Template('''\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "liqframe-$name"
version = "0.1.0"
description = "$title: a liqframe $kind plugin"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["liqframe>=0.1"]

[project.optional-dependencies]
test = ["pytest>=8"]

[project.entry-points.liqframe]
$name = "$module"

[tool.setuptools]
packages = ["$module"]
''')

README = Template('''\
# liqframe-$name

A liqframe $kind plugin. It registers the $kind `$name` through the `$hook` hook.

Install it next to liqframe and check that the host sees it:

    pip install .
    liqframe plugins

Use it from a host configuration:

$usage
Run its tests:

    pip install .[test]
    pytest tests
''')

USAGE = {
    "venue": '    [[venues]]\n    name = "my-$name"\n    connector = "$name"\n'
             '    instruments = ["BTC/USDT"]\n',
    "strategy": '    [[strategies]]\n    name = "my-$name"\n    plugin = "$name"\n'
                '    instrument = "BTC/USDT"\n    options = { spread_ticks = 10 }\n',
    "risk": '    [[risk]]\n    plugin = "$name"\n    options = { max_quote_lots = 1000 }\n',
    "rebalancer": '    [rebalancer]\n    plugin = "$name"\n    options = { minimum = 0 }\n',
}

MODULES = {
    "venue": '''\
"""$title: a liqframe venue connector.

It serves a fixed book and fills nothing: replace the bodies with calls to your venue's API,
keeping the method names and types (see liqframe.interfaces.VenueConnector).
"""

from liqframe.hookspecs import hookimpl
from liqframe.model import BookDelta


class $cls:
    def __init__(self, *, venue, instruments, bid=100, ask=101, size=1):
        self.venue, self.instruments = venue, list(instruments)
        self.bid, self.ask, self.size = bid, ask, size
        self.started = False

    async def start(self, events):
        for symbol in self.instruments:
            events.on_snapshot(symbol, [(self.bid, self.size)], [(self.ask, self.size)], 0, 0)
        events.on_status(True, "connected")
        self.started = True

    async def stop(self):
        self.started = False

    async def place_order(self, order):
        raise RuntimeError(f"{self.venue}: order placement is not implemented yet")

    async def cancel_order(self, venue_order_id):
        raise RuntimeError(f"{self.venue}: cancel is not implemented yet")

    async def open_orders(self):
        return []

    async def balances(self):
        return []

    def delta(self, symbol, side, price, size):
        return BookDelta(venue=self.venue, symbol=symbol, side=side, price=price, size=size)


@hookimpl
def liqframe_venue_connectors():
    return {"$name": $cls}
''',
    "strategy": '''\
"""$title: a liqframe quoting strategy.

Quotes a fixed number of ticks either side of the consolidated mid on every venue it is given.
"""

from liqframe.hookspecs import hookimpl
from liqframe.model import Quote


class $cls:
    def __init__(self, *, symbol="BTC/USDT", venues=(), spread_ticks=10, size=1):
        if spread_ticks < 1:
            raise ValueError(f"spread_ticks: {spread_ticks!r} must be at least 1")
        self.symbol, self.venues = symbol, list(venues)
        self.spread_ticks, self.size = spread_ticks, size

    def quotes(self, state):
        mid = state.mid(self.symbol)
        if mid is None:
            return []
        return [Quote(venue=venue, symbol=self.symbol,
                      bid_price=mid - self.spread_ticks, bid_size=self.size,
                      ask_price=mid + self.spread_ticks, ask_size=self.size)
                for venue in self.venues]


@hookimpl
def liqframe_quoting_strategies():
    return {"$name": $cls}
''',
    "risk": '''\
"""$title: a liqframe risk model.

Clips every quote to ``max_quote_lots`` and refuses larger orders.
"""

import attrs

from liqframe.hookspecs import hookimpl


class $cls:
    def __init__(self, *, max_quote_lots=1000):
        if max_quote_lots < 1:
            raise ValueError(f"max_quote_lots: {max_quote_lots!r} must be at least 1")
        self.max_quote_lots = max_quote_lots

    def adjust(self, quotes, state):
        cap = self.max_quote_lots
        return [attrs.evolve(q, bid_size=min(q.bid_size, cap), ask_size=min(q.ask_size, cap))
                for q in quotes]

    def veto(self, order, state):
        if order.size > self.max_quote_lots:
            return f"order of {order.size} lots is above max_quote_lots {self.max_quote_lots}"
        return None

    def venue_weights(self, state):
        return {}


@hookimpl
def liqframe_risk_models():
    return {"$name": $cls}
''',
    "rebalancer": '''\
"""$title: a liqframe rebalancer.

Plans a transfer from the richest to the poorest venue of each asset when they differ by more
than ``minimum``, moving half the difference.
"""

from liqframe.hookspecs import hookimpl
from liqframe.model import Transfer


class $cls:
    def __init__(self, *, minimum=0):
        self.minimum = minimum
        self._count = 0

    def plan(self, balances, state):
        by_asset = {}
        for balance in balances:
            by_asset.setdefault(balance.asset, []).append(balance)
        transfers = []
        for asset, held in sorted(by_asset.items()):
            rich = max(held, key=lambda b: b.available)
            poor = min(held, key=lambda b: b.available)
            gap = rich.available - poor.available
            if rich.venue != poor.venue and gap > self.minimum and gap // 2 > 0:
                self._count += 1
                transfers.append(Transfer(id=f"$name-{self._count}", asset=asset,
                                          amount=gap // 2, source=rich.venue,
                                          destination=poor.venue))
        return transfers


@hookimpl
def liqframe_rebalancers():
    return {"$name": $cls}
''',
}

TESTS = {
    "venue": '''\
import asyncio

from liqframe.interfaces import VenueConnector
from $module import $cls


class Events:
    def __init__(self):
        self.snapshots, self.status = [], []

    def on_snapshot(self, symbol, bids, asks, sequence, event_ns):
        self.snapshots.append((symbol, bids, asks))

    def on_delta(self, delta): ...
    def on_fill(self, fill): ...
    def on_order(self, order): ...

    def on_status(self, up, reason):
        self.status.append(up)


def test_registered(liqframe_registry):
    registry = liqframe_registry(local=["$module"])
    assert registry.resolve("venue", "$name", "test") is $cls


def test_streams_its_book():
    connector = $cls(venue="v", instruments=["BTC/USDT"])
    assert isinstance(connector, VenueConnector)
    events = Events()
    asyncio.run(connector.start(events))
    assert events.snapshots == [("BTC/USDT", [(100, 1)], [(101, 1)])]
    assert events.status == [True]
''',
    "strategy": '''\
from liqframe.interfaces import QuotingStrategy
from $module import $cls


class State:
    def mid(self, symbol):
        return 1000


def test_registered(liqframe_registry):
    registry = liqframe_registry(local=["$module"])
    assert registry.resolve("strategy", "$name", "test") is $cls


def test_quotes_around_mid():
    strategy = $cls(venues=["a", "b"], spread_ticks=5)
    assert isinstance(strategy, QuotingStrategy)
    quotes = strategy.quotes(State())
    assert [(q.venue, q.bid_price, q.ask_price) for q in quotes] == [("a", 995, 1005),
                                                                      ("b", 995, 1005)]
''',
    "risk": '''\
from liqframe.interfaces import RiskModel
from liqframe.model import Order, Quote
from $module import $cls


def test_registered(liqframe_registry):
    registry = liqframe_registry(local=["$module"])
    assert registry.resolve("risk", "$name", "test") is $cls


def test_clips_and_vetoes():
    model = $cls(max_quote_lots=10)
    assert isinstance(model, RiskModel)
    quote = Quote(venue="a", symbol="BTC/USDT", bid_price=1, bid_size=50, ask_price=2, ask_size=5)
    assert [(q.bid_size, q.ask_size) for q in model.adjust([quote], None)] == [(10, 5)]
    order = Order(id="1", venue="a", symbol="BTC/USDT", side="buy", size=11, price=1)
    assert "above max_quote_lots" in model.veto(order, None)
''',
    "rebalancer": '''\
from liqframe.interfaces import Rebalancer
from liqframe.model import Balance
from $module import $cls


def test_registered(liqframe_registry):
    registry = liqframe_registry(local=["$module"])
    assert registry.resolve("rebalancer", "$name", "test") is $cls


def test_moves_half_the_gap():
    rebalancer = $cls()
    assert isinstance(rebalancer, Rebalancer)
    balances = [Balance(venue="a", asset="BTC", total=100, available=100),
                Balance(venue="b", asset="BTC", total=20, available=20)]
    [transfer] = rebalancer.plan(balances, None)
    assert (transfer.source, transfer.destination, transfer.amount) == ("a", "b", 40)
''',
}


def check_name(name):
    """Validate a plugin name: lower-case words joined by hyphens, e.g. ``my-venue``."""
    if not _NAME.fullmatch(name) or keyword.iskeyword(name.replace("-", "_")):
        raise ValueError(f"plugin name {name!r} must be lower-case letters and digits in words "
                         "joined by hyphens, starting with a letter, e.g. 'my-venue'")
    return name


def new_plugin(name: str, kind: str, output: Path) -> Path:
    """Write the package for plugin ``name`` of ``kind`` under ``output``; return its folder.

    Refuses to overwrite an existing folder."""
    check_name(name)
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} must be one of {', '.join(KINDS)}")
    module = "liqframe_" + name.replace("-", "_")
    values = {
        "name": name, "kind": kind, "module": module, "hook": KIND_HOOKS[kind],
        "cls": "".join(part.capitalize() for part in name.split("-")) + {
            "venue": "Connector", "strategy": "Strategy", "risk": "Risk",
            "rebalancer": "Rebalancer"}[kind],
        "title": f"liqframe-{name}",
    }
    values["usage"] = Template(USAGE[kind]).substitute(values)
    root = Path(output) / f"liqframe-{name}"
    if root.exists():
        raise FileExistsError(f"{root} already exists; choose another --output or name")
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README,
        f"{module}/__init__.py": Template(MODULES[kind]),
        f"tests/test_{module}.py": Template(TESTS[kind]),
    }
    for relative, template in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.substitute(values), encoding="utf-8")
    return root
