"""Inventory-aware quoting from the market-making literature, in ticks.

- ``avellaneda-stoikov``: quotes around the reservation price ``mid - q·γ·σ²·τ`` with the spread
  ``γ·σ²·τ + (2/γ)·ln(1 + γ/k)`` (Avellaneda & Stoikov 2008), for a rolling horizon ``τ``.
- ``glft``: the closed-form quotes of Guéant, Lehalle & Fernandez-Tapia (2013), which keep the
  inventory within ``[-max_inventory, max_inventory]``.

Units: prices in ticks, ``sigma`` in ticks per square-root second, ``k`` per tick, ``A`` per
second, ``horizon_seconds`` in seconds; ``q`` is the venue's inventory of the base asset divided
by ``inventory_unit`` (its smallest units per quote-sized lot), rounded towards zero.
"""

import math

from liqframe.backtest.avellaneda import optimal_spread, reservation_price
from liqframe.backtest.glft import glft_quotes
from liqframe.backtest.params import integer, number
from liqframe.hookspecs import hookimpl
from liqframe.model import Quote


class _InventoryQuoter:
    def __init__(self, symbol, venues, size_lots, inventory_unit):
        self.symbol, self.venues = symbol, list(venues)
        self.base = symbol.split("/")[0]
        self.size_lots = integer("size_lots", size_lots, minimum=1)
        self.inventory_unit = integer("inventory_unit", inventory_unit, minimum=1)

    def q(self, state, venue):
        held = state.inventory(venue, self.base)
        return int(held / self.inventory_unit) if held >= 0 else -int(-held / self.inventory_unit)

    def quote(self, venue, mid, bid_depth, ask_depth):
        """A quote ``bid_depth`` below and ``ask_depth`` above ``mid`` (None: no quote on that
        side), rounded outwards to whole ticks. The depths sum to a positive spread, so the
        rounded quotes never cross; a large skew may put both on one side of the mid."""
        bid = math.floor(mid - bid_depth) if bid_depth is not None else None
        ask = math.ceil(mid + ask_depth) if ask_depth is not None else None
        bid = bid if bid is not None and bid > 0 else None
        ask = ask if ask is not None and ask > 0 else None
        if bid is None and ask is None:
            return None
        return Quote(venue=venue, symbol=self.symbol,
                     bid_price=bid, bid_size=self.size_lots if bid is not None else 0,
                     ask_price=ask, ask_size=self.size_lots if ask is not None else 0)

    def quotes(self, state):
        mid = state.mid(self.symbol)
        if mid is None:
            return []
        quotes = (self.quote(venue, mid, *self.depths(self.q(state, venue)))
                  for venue in self.venues)
        return [quote for quote in quotes if quote is not None]


class AvellanedaStoikov(_InventoryQuoter):
    """Avellaneda–Stoikov quotes with a constant time left ``horizon_seconds``."""

    def __init__(self, *, symbol, venues, gamma, k, sigma, horizon_seconds=1.0, size_lots=1,
                 inventory_unit=1):
        super().__init__(symbol, venues, size_lots, inventory_unit)
        self.gamma = number("gamma", gamma, minimum=0)
        self.k = number("k", k, above=0)
        self.sigma = number("sigma", sigma, minimum=0)
        self.tau = number("horizon_seconds", horizon_seconds, minimum=0)

    def depths(self, q):
        """Distances of the bid below and the ask above the mid at inventory ``q``."""
        shift = reservation_price(0.0, q, gamma=self.gamma, sigma=self.sigma, tau=self.tau)
        half = optimal_spread(gamma=self.gamma, sigma=self.sigma, tau=self.tau, k=self.k) / 2
        return half - shift, half + shift


class GLFT(_InventoryQuoter):
    """Guéant–Lehalle–Fernandez-Tapia quotes; no bid at ``max_inventory``, no ask at its
    negative."""

    def __init__(self, *, symbol, venues, gamma, k, A, sigma, max_inventory, size_lots=1,
                 inventory_unit=1):
        super().__init__(symbol, venues, size_lots, inventory_unit)
        self.params = dict(gamma=gamma, k=k, A=A, sigma=sigma, max_inventory=max_inventory)
        glft_quotes(0, **self.params)  # validates every parameter now, not at the first quote
        self.bound = max_inventory

    def depths(self, q):
        q = max(-self.bound, min(self.bound, q))
        found = glft_quotes(q, **self.params)
        return found.bid, found.ask


@hookimpl
def liqframe_quoting_strategies():
    return {"avellaneda-stoikov": AvellanedaStoikov, "glft": GLFT}
