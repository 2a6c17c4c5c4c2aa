"""Wiring: configuration in, running components out, and the host's main loop.

:func:`build_components` resolves every plugin name of the configuration and calls each
factory with its options, so that every configuration mistake surfaces before anything starts
(and names its field). :class:`Host` then runs them on one event loop, data flowing one way::

    connector -> normaliser (VenueFeed) -> books (Market) -> strategies -> risk
              -> order manager -> connector;   fills -> store -> orders, portfolio
    fills -> strategies' on_fill -> parent orders -> risk -> router (routing.py)
              -> order manager (child orders) -> connectors

The risk models' venue weights go to the consolidated book and scale quote sizes; their kill
switches stop everything (:meth:`Host.trip_kill_switch`).

The dashboard and API (and tests) read :meth:`Host.snapshot` and subscribe to
:attr:`Host.hub`; they never write.
"""

import asyncio
import contextlib
import inspect
import time

import attrs

from liqframe.config import Config
from liqframe.errors import ConfigError, LiqframeError
from liqframe.host.books import Market
from liqframe.host.garbage import Collector
from liqframe.host.hub import EventHub
from liqframe.host.normaliser import VenueFeed
from liqframe.host.orders import OrderManager
from liqframe.host.portfolio import Portfolio
from liqframe.host.routing import OrderRouter, fee_bps
from liqframe.host.scheduling import RealtimePolicy, give_way
from liqframe.model import Instrument, Order, ParentOrder, TimeInForce
from liqframe.plugins import Registry
from liqframe.store import Store
from liqframe.web import start_web

#: Seconds a connector gets to connect before the host reports it and goes on without it.
START_TIMEOUT = 15


@attrs.define
class Components:
    instruments: dict
    venues: dict
    strategies: dict
    risk: list
    rebalancer: object | None
    transport: object


def _make(registry, kind, name, options, field, optional=None, **given):
    factory = registry.resolve(kind, name, f"{field}.plugin" if kind != "venue"
                               else f"{field}.connector")
    # Extras a factory may take: passed only when its signature names them.
    for key, value in (optional or {}).items():
        if key not in options and _accepts(factory, key):
            given[key] = value
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


def _accepts(factory, name):
    try:
        return name in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False


def _parameters(factory):
    try:
        names = [p.name for p in inspect.signature(factory).parameters.values()
                 if p.kind is p.KEYWORD_ONLY]
    except ValueError:
        return "unknown"
    return ", ".join(names) or "none"


def build_components(config: Config, registry: Registry) -> Components:
    """Instantiate everything the configuration names, or raise the first problem found.

    Venue connector factories get ``venue`` and ``instruments`` (symbols), and also
    ``instrument_details`` (symbol -> :class:`~liqframe.model.Instrument`),
    ``maker_fee_bps`` and ``taker_fee_bps`` when their signature names them. Strategy
    factories get ``symbol`` and ``venues``, and ``venue_maker_fees_bps`` and
    ``venue_taker_fees_bps`` (venue -> decimal string) when their signature names them."""
    instruments = {
        i.symbol: Instrument(base=i.base, quote=i.quote, price_increment=i.price_increment,
                             size_increment=i.size_increment)
        for i in config.instruments
    }
    venues = {
        v.name: _make(registry, "venue", v.connector, v.options, f"venues[{n}]",
                      optional={"instrument_details": {s: instruments[s]
                                                       for s in v.instruments},
                                "maker_fee_bps": str(v.maker_fee_bps),
                                "taker_fee_bps": str(v.taker_fee_bps)},
                      venue=v.name, instruments=v.instruments)
        for n, v in enumerate(config.venues) if v.enabled
    }
    fees = {"venue_maker_fees_bps": {v.name: str(v.maker_fee_bps) for v in config.venues},
            "venue_taker_fees_bps": {v.name: str(v.taker_fee_bps) for v in config.venues}}
    strategies = {
        s.name: _make(registry, "strategy", s.plugin, s.options, f"strategies[{n}]",
                      optional=fees, symbol=s.instrument, venues=[
                          v for v in (s.venues or [v.name for v in config.venues
                                                   if s.instrument in v.instruments])
                          if v in venues])
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


class Host:
    """Runs the components of one configuration until ``duration`` passes or it is stopped.

    While it runs, :attr:`market` (the :class:`~liqframe.interfaces.MarketState`),
    :attr:`orders`, :attr:`portfolio` and :attr:`hub` are live; :meth:`snapshot` gives
    everything a status display or the API needs as plain data."""

    def __init__(self, config: Config, config_text: str, components: Components, *, db_path,
                 report=print):
        self.config, self.config_text, self.components = config, config_text, components
        self.db_path, self.report = db_path, report
        self._stop = asyncio.Event()
        self.hub = EventHub(report=report)
        self.store = self.market = self.orders = self.portfolio = None
        self.feeds = {}
        self.run_id = None
        self.started = None
        self._tasks = []
        self._reconciling = {}
        self._catchup = {}
        self._reported_errors = set()
        self.router = None
        #: None, or {"reason", "ts_ns", "cancelled"} once the kill switch has tripped.
        self.kill = None
        self.web = None  # the dashboard and API server while running ([web] enabled)
        self.collector = Collector()

    def describe(self):
        c = self.components
        return [
            f"instruments: {', '.join(c.instruments) or 'none'}",
            f"venues: {', '.join(c.venues) or 'none'}",
            f"strategies: {', '.join(c.strategies) or 'none'}",
            f"risk models: {', '.join(r.plugin for r in self.config.risk) or 'none'}",
            f"transport: {self.config.transport.plugin}",
            f"store: {self.db_path}",
        ]

    def stop(self):
        self._stop.set()

    # -- set-up -----------------------------------------------------------------------------

    def _venue_symbols(self):
        return {v.name: list(v.instruments) for v in self.config.venues
                if v.name in self.components.venues}

    def _build_state(self):
        c, cfg = self.components, self.config
        symbols = self._venue_symbols()
        self.portfolio = Portfolio(c.instruments, symbols)
        self.portfolio.restore_balances(self.store.latest_balances())
        for fill in self.store.fills():  # rebuild positions and PnL from the file
            if fill.venue in symbols:
                self.portfolio.on_fill(fill, move_balances=False)
        fees = {v.name: v.taker_fee_bps for v in cfg.venues}
        self.market = Market(c.instruments, symbols, self.portfolio,
                             max_lag_ns=cfg.host.max_lag_ms * 1_000_000 or None, fees=fees)
        self.market.changed = asyncio.Event()
        self.orders = OrderManager(c.venues, self.store, self.hub, self.market, c.risk,
                                   prefix=f"r{self.run_id}",
                                   requote_ticks=cfg.host.requote_ticks)
        self.orders.restore([r for r in self.store.orders(open_only=True)
                             if r["venue"] in symbols])
        self.orders.on_veto = lambda order, reason: self.check_kill_switch()
        self.router = OrderRouter(self.market, fee_bps(cfg.venues), self.orders.open_orders)
        for venue in symbols:
            self._catchup[venue] = self.store.last_trade_id(venue)
            self.feeds[venue] = VenueFeed(venue, self.market, self.store, self.hub, {
                "fill": self._on_fill, "order": self.orders.on_venue_order,
                "up": self._on_up, "down": self._on_down})
            self.feeds[venue].connector = c.venues[venue]

    def _on_fill(self, fill):
        self.orders.on_fill(fill)
        self.portfolio.on_fill(fill)
        if not self.orders.knows(fill.order_id):
            self.hub.event("fill_unknown_order", f"{fill.venue}: fill {fill.trade_id} of an "
                           f"order this host does not know ({fill.order_id})", venue=fill.venue)
        wanted = []
        for name, strategy in self.components.strategies.items():
            on_fill = getattr(strategy, "on_fill", None)
            if on_fill is None:
                continue
            try:
                wanted.extend(on_fill(fill, self.market) or ())
            except Exception as error:
                self._report_once(f"strategy {name} on_fill", error)
        if wanted:
            self._spawn(self.submit(wanted), f"orders-after-{fill.trade_id}")
        self.check_kill_switch()

    def _on_up(self, venue):
        self._spawn(self.reconcile(venue), f"reconcile-{venue}")

    def _on_down(self, venue):
        if self._catchup.get(venue) is None:
            self._catchup[venue] = self.store.last_trade_id(venue)

    def _spawn(self, coroutine, name):
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.append(task)
        self._tasks = [t for t in self._tasks if not t.done()]
        return task

    async def _start_venue(self, name, connector):
        health = self.market.health[name]
        try:
            await asyncio.wait_for(connector.start(self.feeds[name]), START_TIMEOUT)
        except Exception as error:  # a venue's failure must not stop the healthy ones
            health.status, health.reason = "failed", f"{type(error).__name__}: {error}"
            self.market.bump()
            self.hub.event("venue", f"{name}: could not start: {error}", venue=name, say=True)
            return False
        return True

    # -- reconciliation -----------------------------------------------------------------

    async def reconcile(self, venue):
        """After a (re)connect: missed fills, then orders, then balances; then quote again."""
        lock = self._reconciling.setdefault(venue, asyncio.Lock())
        async with lock:
            health = self.market.health[venue]
            connector = self.components.venues[venue]
            for attempt in range(5):
                if health.status != "up":
                    return
                try:
                    fetched = await self._catch_up_fills(venue, connector)
                    counts = await self.orders.reconcile_orders(venue)
                    await self._refresh_balances(venue, connector)
                except (TimeoutError, LiqframeError, ConnectionError, OSError) as error:
                    self.hub.event("error", f"{venue}: reconciliation failed (attempt "
                                   f"{attempt + 1}): {error}", venue=venue)
                    await asyncio.sleep(0.5)
                    continue
                self._catchup[venue] = None
                if self.kill is not None:  # tripped while this venue was away
                    await self.orders.cancel_all([venue])
                health.reconciled_ns = time.time_ns()
                health.ready = health.status == "up"
                self.hub.event("reconcile", f"{venue}: reconciled: {fetched} fills fetched, "
                               f"{counts['open']} open on the venue, {counts['settled']} "
                               f"settled, {counts['cancelled']} cancelled", venue=venue,
                               data={"fills": fetched, **counts})
                self.market.touch()
                return

    async def _catch_up_fills(self, venue, connector):
        recent = getattr(connector, "recent_fills", None)
        if recent is None:
            return 0
        new = 0
        after = self._catchup.get(venue) or self.store.last_trade_id(venue)
        for fill in await recent(after):
            new += bool(self.feeds[venue].on_fill(fill))
        return new

    async def _refresh_balances(self, venue, connector):
        balances = list(await connector.balances())
        self.portfolio.set_balances(venue, balances)
        self.store.record_balances(venue, balances)

    # -- the loop -------------------------------------------------------------------------

    async def _tick(self):
        """One strategy tick: quotes from every strategy, through every risk model, to the
        order manager for the venues that are ready. Each strategy and each risk model is a
        unit of work of its own (:func:`give_way` between them): together they take a few
        tenths of a millisecond."""
        market = self.market
        await give_way()
        market.drain_crossings()
        if self.kill is not None:
            return
        quotes = []
        for name, strategy in self.components.strategies.items():
            await give_way()
            try:
                quotes.extend(strategy.quotes(market))
            except Exception as error:  # a broken strategy must not stop the others
                self._report_once(f"strategy {name}", error)
        weights = {}
        for model in self.components.risk:
            await give_way()
            try:
                quotes = list(model.adjust(quotes, market))
                for venue, weight in model.venue_weights(market).items():
                    weights[venue] = min(weights.get(venue, 1), weight)
            except Exception as error:
                self._report_once(f"risk model {type(model).__name__}", error)
                quotes = []  # never quote around a risk model that failed
        await give_way()
        market.set_weights(weights)
        if self.check_kill_switch():
            return
        self.orders.sync(_weighted(quotes, market.weights), self._ready())

    def _ready(self):
        return {v for v, h in self.market.health.items() if h.ready}

    # -- taker orders: the router --------------------------------------------------------

    async def submit(self, orders):
        """Send taker orders: each :class:`~liqframe.model.ParentOrder` through the router
        (immediate-or-cancel children per venue), each :class:`~liqframe.model.Order` to its
        venue as given. Returns the ids of the orders sent."""
        sent = []
        for order in orders:
            if isinstance(order, ParentOrder):
                sent += await self._route(order)
            elif isinstance(order, Order):
                fresh = attrs.evolve(order, id=self.orders.new_id())
                if fresh.venue in self._ready() and await self.orders.send(fresh):
                    sent.append(fresh.id)
        return sent

    async def _route(self, parent):
        what = f"{parent.tag or 'taker'} {parent.side.name.lower()} {parent.size} {parent.symbol}"
        if self.kill is not None:
            self.hub.event("route", f"{what}: not routed: kill switch", data={"routed": 0})
            return []
        try:
            plan = self.router.plan(parent, self._ready())
        except (LiqframeError, ValueError) as error:
            self.hub.event("route", f"{what}: not routed: {error}", data={"routed": 0})
            return []
        children = [Order(id=self.orders.new_id(), venue=c.venue, symbol=c.symbol,
                          side=c.side, size=c.size, price=c.price,
                          time_in_force=TimeInForce.IOC) for c in plan.children]
        self.hub.event("route", f"{what}: {len(children)} child orders "
                       f"({', '.join(f'{c.venue} {c.size}@{c.price}' for c in children)}), "
                       f"{plan.unrouted} lots unrouted ({plan.route.method})",
                       data={"tag": parent.tag, "symbol": parent.symbol,
                             "side": parent.side.name.lower(), "size": parent.size,
                             "unrouted": plan.unrouted, "method": plan.route.method,
                             "children": [{"id": c.id, "venue": c.venue, "symbol": c.symbol,
                                           "price": c.price, "size": c.size}
                                          for c in children]})
        ids = await asyncio.gather(*(self.orders.send(child) for child in children))
        return [i for i in ids if i]

    # -- the kill switch ----------------------------------------------------------------

    def check_kill_switch(self):
        """Ask every risk model with a kill switch; trip on the first reason. True if
        tripped (now or before)."""
        if self.kill is not None:
            return True
        if self.market is None:
            return False
        for model in self.components.risk:
            ask = getattr(model, "kill_switch", None)
            if ask is None:
                continue
            try:
                reason = ask(self.market)
            except Exception as error:  # a broken model stops trading rather than guard nothing
                reason = f"{type(model).__name__}.kill_switch failed: {error}"
            if reason:
                self.trip_kill_switch(reason)
                return True
        return False

    def trip_kill_switch(self, reason):
        """Stop trading: refuse every new order, cancel every open order on every venue,
        stop quoting, until :meth:`reset_kill_switch` (or a restart)."""
        if self.kill is not None:
            return
        self.kill = {"reason": reason, "ts_ns": time.time_ns(), "cancelled": None}
        self.orders.halted = reason
        self.hub.event("kill", f"KILL SWITCH: {reason}; cancelling every open order and "
                       "refusing new ones until reset", data={"reason": reason}, say=True)
        self._spawn(self._cancel_everything(), "kill-switch")

    async def _cancel_everything(self):
        up = [v for v, h in self.market.health.items() if h.status == "up"]
        before = {v: self.orders.counts(v) for v in up}
        for attempt in range(5):  # an order still unacknowledged is cancelled on a retry
            await self.orders.cancel_all(up)
            left = {v: self.orders.counts(v) for v in up if self.orders.counts(v)}
            if not left:
                break
            await asyncio.sleep(0.2 * (attempt + 1))
        if self.kill is not None:
            self.kill["cancelled"] = sum(before.values()) - sum(left.values())
        self.hub.event("kill", f"kill switch: cancelled open orders on {', '.join(up) or 'no'} "
                       f"venues{f'; still open: {left}' if left else ''}",
                       data={"venues": up, "open_before": before, "still_open": left})

    def reset_kill_switch(self):
        """Let trading resume after the kill switch (risk models forget their breach; a limit
        still breached trips it again at once)."""
        if self.kill is None:
            return
        for model in self.components.risk:
            reset = getattr(model, "reset", None)
            if reset is not None:
                reset()
        self.kill = None
        self.orders.halted = None
        self.hub.event("kill", "kill switch reset: trading resumes", data={"reason": None})
        self.market.touch()

    def _report_once(self, what, error):
        key = (what, type(error).__name__)
        if key not in self._reported_errors:
            self._reported_errors.add(key)
            self.hub.event("error", f"{what} failed: {type(error).__name__}: {error}",
                           say=True)

    async def _ticker(self):
        interval = self.config.host.tick_ms / 1000
        while True:
            await self.market.changed.wait()
            self.market.changed.clear()
            await self._tick()
            await asyncio.sleep(interval)

    async def _housekeeping(self):
        interval = self.config.host.metrics_s
        last_balances = last_sweep = time.monotonic()
        while True:
            await asyncio.sleep(interval)
            await self._record_metrics()
            await give_way()
            self.hub.publish("status", await self._snapshot_in_turns())
            if time.monotonic() - last_balances >= self.config.host.reconcile_s:
                last_balances = time.monotonic()
                for venue, health in self.market.health.items():
                    if health.ready:
                        await give_way()  # a request: a unit of its own
                        with contextlib.suppress(LiqframeError, ConnectionError, OSError,
                                                 asyncio.TimeoutError):
                            await self._refresh_balances(venue, self.components.venues[venue])
            if self.components.rebalancer is not None:
                await give_way()
                self._plan_transfers()
            sweep_s = self.config.host.gc_sweep_s
            if sweep_s and time.monotonic() - last_sweep >= sweep_s:
                await give_way()
                last_sweep = time.monotonic()
                found, took = self.collector.sweep()
                self.hub.event("gc", f"full garbage collection: {found} unreachable objects "
                                     f"freed in {took * 1e3:.0f} ms")

    def _plan_transfers(self):
        from liqframe.model import Balance

        balances = [Balance(venue=v, asset=a, total=max(0, t), available=max(0, min(t, av)))
                    for v, assets in self.portfolio.balances.items()
                    for a, (t, av) in assets.items()]
        try:
            transfers = self.components.rebalancer.plan(balances, self.market)
        except Exception as error:
            self._report_once("rebalancer", error)
            return
        for transfer in transfers:
            self.store.record_transfer(transfer)

    def _marks(self):
        return {s: self.market.mid(s) for s in self.components.instruments}

    async def _record_metrics(self):
        """The metrics of now to the store, in three units (:func:`give_way` before each): the
        market's rows, the portfolio's, the order counts."""
        rows = []
        await give_way()
        for row in self.market.venue_rows():
            for name in ("bid", "ask"):
                if row[name] is not None:
                    rows.append((f"{name}:{row['symbol']}", row["venue"], float(row[name])))
            if row["lag_ms"] is not None:
                rows.append(("lag_ms", row["venue"], row["lag_ms"]))
        await give_way()
        for row in self.portfolio.rows(self._marks()):
            rows.append((f"inventory:{row['base']}", row["venue"], float(row["inventory"])))
            rows.append((f"pnl:{row['quote']}", row["venue"], row["pnl"]))
            rows.append((f"fees:{row['quote']}", row["venue"], row["fees"]))
        await give_way()
        for venue in self.market.health:
            rows.append(("open_orders", venue, float(self.orders.counts(venue))))
        self.store.record_metrics(rows)

    # -- reads for the status display and the API ---------------------------------------

    def elapsed(self):
        """Seconds since the venues were started (0.0 before)."""
        return time.monotonic() - self.started if self.started else 0.0

    def venue_rows(self, marks=None):
        """``snapshot()["venues"]`` alone: per venue and instrument its market row, open
        orders, fills, inventory, PnL and fees (what the metrics need, at a fraction of the
        cost of a whole snapshot). ``marks`` (symbol -> mid in ticks) saves working them out
        again when the caller has them."""
        return self._venue_rows(marks)[0] if self.market is not None else []

    def _venue_rows(self, marks=None):
        marks = self._marks() if marks is None else marks
        positions = {(r["venue"], r["symbol"]): r for r in self.portfolio.rows(marks)}
        venues = []
        for row in self.market.venue_rows():
            position = positions.get((row["venue"], row["symbol"]), {})
            venues.append({**row, "open_orders": self.orders.counts(row["venue"]),
                           "fills": position.get("fills", 0),
                           "inventory": position.get("inventory"),
                           "base": position.get("base"), "quote": position.get("quote"),
                           "pnl": position.get("pnl", 0.0), "fees": position.get("fees", 0.0),
                           "realised": position.get("realised", 0.0),
                           "unrealised": position.get("unrealised", 0.0)})
        return venues, positions

    def snapshot(self):
        """Plain data describing the whole host now (venues, books, orders, portfolio)."""
        if self.market is None:
            return {"run_id": self.run_id, "venues": []}
        return self._snapshot(*self._venue_rows(), self.market.snapshot())

    def _snapshot(self, venues, positions, market):
        return {"run_id": self.run_id, "elapsed_s": self.elapsed(), "venues": venues,
                "kill_switch": dict(self.kill) if self.kill else None,
                "weights": dict(self.market.weights), "market": market,
                "orders": self.orders.snapshot(), "portfolio": list(positions.values())}

    async def _snapshot_in_turns(self):
        """:meth:`snapshot` in three parts (each costs a few hundred microseconds), giving way
        in between: the ``status`` event's, where a part may be a turn newer than the one
        before."""
        rows = self._venue_rows()
        await give_way()
        market = self.market.snapshot()
        await give_way()
        return self._snapshot(*rows, market)

    # -- run ----------------------------------------------------------------------------

    async def run(self, duration: float | None = None) -> str:
        """Run; return how it ended: "completed", "stopped" or "idle" (nothing to trade)."""
        self.store = store = Store(self.db_path)
        self.run_id = store.start_run(self.config_text)
        self.hub.store = store
        transport = self.components.transport
        await transport.start()
        status = "stopped"
        scheduling = RealtimePolicy(self.config.host.realtime_priority)
        try:
            if not self.components.venues:
                self.report("No venues are configured, so there is nothing to trade: add "
                            "[[venues]] tables to a config file and pass it with --config "
                            "(see the getting-started tutorial).")
                status = "idle"
                return status
            self._build_state()
            self.web = await start_web(self)
            self.collector.start(asyncio.get_running_loop())
            problem = scheduling.apply()
            if problem:
                self.report(problem)
            self.started = time.monotonic()
            starts = await asyncio.gather(*(self._start_venue(name, connector)
                                            for name, connector in
                                            self.components.venues.items()))
            running = [n for n, ok in zip(self.components.venues, starts) if ok]
            self._tasks += [asyncio.create_task(self._ticker(), name="ticker"),
                            asyncio.create_task(self._housekeeping(), name="housekeeping")]
            try:
                remaining = None if duration is None else \
                    max(0.0, duration - (time.monotonic() - self.started))
                await asyncio.wait_for(self._stop.wait(), remaining)
            except TimeoutError:
                status = "completed"
            finally:
                await self._shut_down(running)
                if self.web is not None:
                    await self.web.stop()
            return status
        finally:
            await transport.stop()
            if self.market is not None:
                self.hub.event("run", f"run {self.run_id} {status}")
            await store.synced()  # every fill on the disk before the run is marked ended
            store.end_run(self.run_id, status)
            store.close()
            scheduling.restore()
            self.collector.stop()

    async def _shut_down(self, running):
        """Stop quoting, cancel every open order, take final fills and balances, stop."""
        for task in self._tasks:
            if task.get_name() in ("ticker", "housekeeping"):
                task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        up = [v for v in running if self.market.health[v].status == "up"]
        for venue in up:
            self.market.health[venue].ready = False
        try:
            await asyncio.wait_for(self.orders.cancel_all(up), 15)
        except TimeoutError:
            self.report("could not cancel every open order within 15 s")
        for venue in up:
            connector = self.components.venues[venue]
            with contextlib.suppress(LiqframeError, ConnectionError, OSError,
                                     asyncio.TimeoutError):
                await self._catch_up_fills(venue, connector)
                await self._refresh_balances(venue, connector)
        await self._record_metrics()
        for name in running:
            with contextlib.suppress(Exception):
                await self.components.venues[name].stop()
            self.market.health[name].status = "stopped"
            self.market.bump()


def _weighted(quotes, weights):
    """Quotes with sizes scaled by their venue's weight (rounded down; 0 drops the quote)."""
    if not weights:
        return quotes
    out = []
    for quote in quotes:
        weight = weights.get(quote.venue, 1.0)
        if weight >= 1:
            out.append(quote)
        elif weight > 0:
            bid, ask = int(quote.bid_size * weight), int(quote.ask_size * weight)
            if bid or ask:
                out.append(attrs.evolve(quote, bid_size=bid, ask_size=ask))
    return out
