"""A market of simulated venues (liqframe-simvenue) in the test's event loop, and a host to
run on it: for end-to-end tests of risk, routing and strategies.

The venues are real aiohttp servers on 127.0.0.1; the test reads them back over their own
REST API (:meth:`SimWorld.open_orders`) and trades against our quotes as another market
participant (:meth:`SimWorld.take`).
"""

import asyncio
import inspect
import itertools
import os
import time

import aiohttp

from liqframe import config as config_module
from liqframe.model import Instrument

USDT = Instrument(base="BTC", quote="USDT", price_increment="0.01", size_increment="0.00001")
#: Background flow with no takers: only the venues' liquidity providers (and the test) trade.
QUIET = {"noise_rate": "0", "informed_rate": "0", "arbitrage_bps": "0"}
#: A reference price that barely moves, so PnL and prices are predictable in a test.
STILL = {"seed": 11, "step_ms": 50, "volatility_bps": "0.01"}
#: The owner id the test trades under on a venue (not an account: no balances checked).
TAKER = 4242
_markets = itertools.count()


class SimWorld:
    """Simulated BTC/USDT venues sharing one reference price; ``add`` them, then ``config``."""

    def __init__(self, reference=None):
        self.market = f"world-{os.getpid()}-{next(_markets)}"
        self.reference = reference or STILL
        self.venues = {}

    async def add(self, name, *, flow=None, balances=None, **server):
        from liqframe_simvenue import SimulatedVenue

        venue = SimulatedVenue(name, "BTC/USDT", USDT, api_key=f"{name}-key",
                               taker_fee_bps="5", maker_fee_bps="1", market=self.market,
                               reference=self.reference, flow=flow, balances=balances,
                               server=server)
        await venue.start()
        self.venues[name] = venue
        return venue

    def config(self, strategies, risk, host=""):
        """A host configuration over every venue added; ``strategies`` and ``risk`` are TOML
        text of [[strategies]] and [[risk]] tables."""
        parts = ['[[instruments]]\nsymbol = "BTC/USDT"\nbase = "BTC"\nquote = "USDT"\n'
                 'price_increment = "0.01"\nsize_increment = "0.00001"\n']
        for name, venue in self.venues.items():
            parts.append(f'[[venues]]\nname = "{name}"\nconnector = "simvenue"\n'
                         'instruments = ["BTC/USDT"]\ntaker_fee_bps = "5"\nmaker_fee_bps = "1"\n'
                         f'options = {{ url = "{venue.url}", api_key = "{name}-key", '
                         'reconnect_max_s = 0.3 }\n')
        parts += [strategies, risk, f"[host]\ntick_ms = 50\nreconcile_s = 1\n{host}"]
        return "\n".join(parts)

    def host(self, text, db, lines):
        from liqframe.host import Host, build_components
        from liqframe.plugins import Registry, get_plugin_manager

        cfg = config_module.parse(text)
        registry = Registry.collect(get_plugin_manager())
        return Host(cfg, text, build_components(cfg, registry), db_path=db,
                    report=lines.append)

    def account(self, name):
        exchange = self.venues[name].exchange
        return exchange, exchange.account(f"{name}-key")

    async def open_orders(self, name):
        """Our open orders as the venue lists them over its REST API."""
        venue = self.venues[name]
        async with aiohttp.ClientSession(headers={"X-API-KEY": f"{name}-key"}) as session:
            async with session.get(f"{venue.url}/api/orders") as response:
                response.raise_for_status()
                return await response.json()

    def resting(self, name, side):
        """Our resting orders on ``side`` (1 buy, -1 sell) as the venue's engine holds them."""
        exchange, account = self.account(name)
        return [o for o in exchange.open_orders(account) if o.side == side]

    def take(self, name, side, price, size):
        """Trade against the book of ``name`` as another participant: an immediate-or-cancel
        order of ``size`` lots at ``price`` (side 1 buys, -1 sells)."""
        from liqframe_simvenue.exchange import IOC

        return self.venues[name].exchange.submit(TAKER, side, price, size, IOC)

    def orders_since(self, name, ns):
        """Orders of our account the venue received after wall time ``ns``."""
        exchange, account = self.account(name)
        return [o for o in exchange.orders.values()
                if o.owner == account.owner and o.created_ns > ns]

    async def stop(self):
        for venue in self.venues.values():
            await venue.stop()


async def wait_for(predicate, timeout, interval=0.05):
    """Poll ``predicate`` (plain or async) until it is true or ``timeout`` seconds pass;
    returns its last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(interval)
