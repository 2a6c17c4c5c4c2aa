"""Wiring: configuration in, running components out.

:func:`build_components` resolves every plugin name of the configuration and calls each
factory with its options, so that every configuration mistake surfaces before anything starts
(and names its field). :class:`Host` then runs them on one event loop.
"""

import asyncio
import inspect
import time

import attrs

from liqframe.config import Config
from liqframe.errors import ConfigError
from liqframe.model import Instrument
from liqframe.plugins import Registry
from liqframe.store import Store


@attrs.define
class Components:
    instruments: dict
    venues: dict
    strategies: dict
    risk: list
    rebalancer: object | None
    transport: object


def _make(registry, kind, name, options, field, **given):
    factory = registry.resolve(kind, name, f"{field}.plugin" if kind != "venue"
                               else f"{field}.connector")
    try:
        inspect.signature(factory).bind(**given, **options)
    except TypeError as error:
        raise ConfigError(f"{field}.options: {error} for {kind} {name!r}; accepted: "
                          f"{_parameters(factory)}") from None
    except ValueError:  # no introspectable signature: let the call decide
        pass
    try:
        return factory(**given, **options)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{field}.options: {kind} {name!r} refused its options: {error}") \
            from None


def _parameters(factory):
    try:
        names = [p.name for p in inspect.signature(factory).parameters.values()
                 if p.kind is p.KEYWORD_ONLY]
    except ValueError:
        return "unknown"
    return ", ".join(names) or "none"


def build_components(config: Config, registry: Registry) -> Components:
    """Instantiate everything the configuration names, or raise the first problem found."""
    instruments = {
        i.symbol: Instrument(base=i.base, quote=i.quote, price_increment=i.price_increment,
                             size_increment=i.size_increment)
        for i in config.instruments
    }
    venues = {
        v.name: _make(registry, "venue", v.connector, v.options, f"venues[{n}]",
                      venue=v.name, instruments=v.instruments)
        for n, v in enumerate(config.venues) if v.enabled
    }
    strategies = {
        s.name: _make(registry, "strategy", s.plugin, s.options, f"strategies[{n}]",
                      symbol=s.instrument, venues=s.venues or [
                          v.name for v in config.venues if s.instrument in v.instruments])
        for n, s in enumerate(config.strategies)
    }
    risk = [_make(registry, "risk", r.plugin, r.options, f"risk[{n}]")
            for n, r in enumerate(config.risk)]
    rebalancer = None
    if config.rebalancer is not None:
        rebalancer = _make(registry, "rebalancer", config.rebalancer.plugin,
                           config.rebalancer.options, "rebalancer")
    transport = _make(registry, "transport", config.transport.plugin, config.transport.options,
                      "transport")
    return Components(instruments, venues, strategies, risk, rebalancer, transport)


class EventCounter:
    """Receives a connector's events and counts them; the normaliser replaces it (issue 6)."""

    def __init__(self, venue, report):
        self.venue, self.report = venue, report
        self.counts = {"snapshots": 0, "deltas": 0, "fills": 0, "orders": 0}
        self.up = False

    def on_snapshot(self, symbol, bids, asks, sequence, event_ns):
        self.counts["snapshots"] += 1

    def on_delta(self, delta):
        self.counts["deltas"] += 1

    def on_fill(self, fill):
        self.counts["fills"] += 1

    def on_order(self, order):
        self.counts["orders"] += 1

    def on_status(self, up, reason):
        self.up = up
        self.report(f"{self.venue}: {'up' if up else 'down'} ({reason})")


class Host:
    """Runs the components of one configuration until ``duration`` passes or it is stopped."""

    def __init__(self, config: Config, config_text: str, components: Components, *, db_path,
                 report=print):
        self.config, self.config_text, self.components = config, config_text, components
        self.db_path, self.report = db_path, report
        self._stop = asyncio.Event()

    def describe(self):
        c = self.components
        lines = [
            f"instruments: {', '.join(c.instruments) or 'none'}",
            f"venues: {', '.join(c.venues) or 'none'}",
            f"strategies: {', '.join(c.strategies) or 'none'}",
            f"risk models: {', '.join(r.plugin for r in self.config.risk) or 'none'}",
            f"transport: {self.config.transport.plugin}",
            f"store: {self.db_path}",
        ]
        return lines

    def stop(self):
        self._stop.set()

    async def _start_venues(self):
        """Start each connector; one that fails is reported and the others keep running."""
        started = {}
        for name, connector in self.components.venues.items():
            counter = EventCounter(name, self.report)
            try:
                await connector.start(counter)
            except Exception as error:  # a venue's failure must not stop the healthy ones
                self.report(f"{name}: could not start: {type(error).__name__}: {error}")
                continue
            started[name] = counter
        return started

    async def run(self, duration: float | None = None) -> str:
        """Run; return how it ended: "completed", "stopped" or "idle" (nothing to trade)."""
        store = Store(self.db_path)
        run_id = store.start_run(self.config_text)
        transport = self.components.transport
        await transport.start()
        status = "stopped"
        try:
            if not self.components.venues:
                self.report("No venues are configured, so there is nothing to trade: add "
                            "[[venues]] tables to a config file and pass it with --config "
                            "(see the getting-started tutorial).")
                status = "idle"
                return status
            started = time.monotonic()
            events = await self._start_venues()
            try:
                timeout = None if duration is None else max(0.0, duration)
                await asyncio.wait_for(self._stop.wait(), timeout)
            except TimeoutError:
                status = "completed"
            finally:
                for name, connector in self.components.venues.items():
                    if name in events:
                        await connector.stop()
            for name, counter in events.items():
                counts = ", ".join(f"{v} {k}" for k, v in counter.counts.items())
                self.report(f"{name}: {counts}")
            self.report(f"ran {time.monotonic() - started:.1f} s")
            return status
        finally:
            await transport.stop()
            store.end_run(run_id, status)
            store.close()
