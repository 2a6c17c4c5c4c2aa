"""The world the simulated exchanges share: a reference price and FX rates that move.

A :class:`SimulatedMarket` walks the price of the base asset in a numeraire currency (a
geometric random walk) and the value of each quote currency in the numeraire (slower walks),
from a seeded RNG, one step every ``step_ms``. Every exchange attached to it is driven by its
:class:`~liqframe_simvenue.flow.BackgroundFlow` on each step, so all venues see one price
and arbitrageurs can trade quotes that stray from it. The walk is generated ``lookahead`` steps
ahead so that informed traders can act on where the price is going.

Markets are shared by name within a process (:func:`shared_market`), so every venue a host
serves itself joins the same market.
"""

import asyncio
import math
import random
from collections import deque
from decimal import Decimal


def _positive(name, value):
    number = Decimal(str(value))
    if not number.is_finite() or number <= 0:
        raise ValueError(f"reference.{name}: {value!r} must be a positive decimal")
    return float(number)


class SimulatedMarket:
    """Reference price and FX rates; ``rates`` maps currency -> its value in ``numeraire``
    (decimal strings)."""

    def __init__(self, *, seed=7, price="60000", numeraire="USD", volatility_bps="2",
                 rates=None, fx_volatility_bps="0.5", step_ms=100, lookahead=20):
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"reference.seed: {seed!r} must be an integer")
        if not isinstance(step_ms, int) or step_ms < 5:
            raise ValueError(f"reference.step_ms: {step_ms!r} must be an integer >= 5")
        self.settings = {"seed": seed, "price": str(price), "numeraire": numeraire,
                         "volatility_bps": str(volatility_bps), "rates": dict(rates or {}),
                         "fx_volatility_bps": str(fx_volatility_bps), "step_ms": step_ms,
                         "lookahead": lookahead}
        self.rng = random.Random(seed)
        self.numeraire = numeraire
        self.step_s = step_ms / 1000
        self.sigma = _positive("volatility_bps", volatility_bps) / 10_000
        self.fx_sigma = float(Decimal(str(fx_volatility_bps))) / 10_000
        self.rates = {numeraire: 1.0, "USDT": 1.0, "USDC": 1.0, "EUR": 1.08, "GBP": 1.27}
        self.rates.update({c: _positive(f"rates.{c}", v) for c, v in (rates or {}).items()})
        self.rates[numeraire] = 1.0
        self._fixed = {numeraire, "USDT", "USDC"} - set(rates or {})
        self.path = deque([_positive("price", price)])
        for _ in range(max(1, lookahead)):
            self.path.append(self._next(self.path[-1]))
        self.flows = []
        self.steps = 0
        self._task = None
        self._users = 0

    def _next(self, price):
        return price * math.exp(self.rng.gauss(0, self.sigma))

    @property
    def price(self):
        """The reference price of the base asset in the numeraire now."""
        return self.path[0]

    def future(self, steps):
        """The reference price ``steps`` steps ahead (what informed traders know)."""
        return self.path[min(steps, len(self.path) - 1)]

    def rate(self, currency):
        """The value of ``currency`` in the numeraire (1.0 for unknown currencies)."""
        return self.rates.get(currency, 1.0)

    def rate_text(self, currency):
        return f"{self.rate(currency):.6f}"

    def step(self):
        """Advance the walks one step and drive every attached exchange's flow."""
        self.path.popleft()
        self.path.append(self._next(self.path[-1]))
        for currency in self.rates:
            if currency not in self._fixed and self.fx_sigma:
                self.rates[currency] *= math.exp(self.rng.gauss(0, self.fx_sigma))
        self.steps += 1
        for flow in list(self.flows):
            flow.step(self)

    def attach(self, flow):
        self.flows.append(flow)
        flow.exchange.set_rate(flow.exchange.instrument.quote, self.numeraire,
                               self.rate_text(flow.exchange.instrument.quote))
        flow.step(self)

    def detach(self, flow):
        if flow in self.flows:
            self.flows.remove(flow)

    async def start(self):
        """Start stepping (reference counted: the last :meth:`stop` ends it)."""
        self._users += 1
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="simulated-market")

    async def stop(self):
        self._users -= 1
        if self._users <= 0 and self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _run(self):
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            next_at += self.step_s
            self.step()
            await asyncio.sleep(max(0.0, next_at - loop.time()))


_MARKETS = {}


def shared_market(name="default", **settings):
    """The process's market called ``name``, made with ``settings`` the first time; later
    callers must ask for the same settings (or none)."""
    market = _MARKETS.get(name)
    if market is None:
        market = _MARKETS[name] = SimulatedMarket(**settings)
    elif settings and SimulatedMarket(**settings).settings != market.settings:
        raise ValueError(f"reference: market {name!r} already runs with other settings "
                         f"{market.settings}; give every venue of a market the same "
                         "reference table, or name another market")
    return market


def release_market(name, market):
    """Forget ``name`` once nothing uses it, so a later host starts a fresh market."""
    if market._users <= 0 and _MARKETS.get(name) is market:
        del _MARKETS[name]
