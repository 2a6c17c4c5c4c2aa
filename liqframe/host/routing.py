"""Taker orders through the smart order router, over the consolidated book.

A strategy's :class:`~liqframe.model.ParentOrder` (a hedge, a taker order) is routed on the
grid of its base asset's consolidated book (:mod:`liqframe.host.books`): every venue trading
the base that is ready, in sync, priced and not weighted out enters a fresh
:class:`~liqframe.core.Router` with its own book converted to that grid (prices by the exact
FX factor, rounded against us; sizes in consolidated lots), its taker fee, its lot size, its
risk weight and the balance it holds. The router's split becomes one immediate-or-cancel child
order per venue in the venue's own ticks and lots: the child's limit is the venue's own price
of the worst level the router counted, so no rounding of the conversion can make it take less.
"""

import math
from decimal import Decimal
from fractions import Fraction

import attrs

from liqframe.core import ASK, BID, BUY, SELL, Router
from liqframe.model import Side

#: A cost unit is a tick times a lot of the consolidated grid over 10**12 (see the router's
#: how-to); balances a buy may spend are given to the router in cost units.
COST_SCALE = 10**12
#: Levels of each venue's book the router sees.
DEPTH = 50


@attrs.frozen
class ChildPlan:
    """One child order to send: in the venue's own ticks and lots."""

    venue: str
    symbol: str
    side: Side
    price: int
    size: int


@attrs.frozen
class RoutePlan:
    """A routed parent: the children to send and the router's answer (``route``), both in
    consolidated units, and ``unrouted`` lots of the parent (in its own lots) no venue took."""

    children: tuple
    route: object
    unrouted: int


def _converted(prices, sizes, factor, side, multiplier):
    """Native levels on the consolidated grid, merged where two convert to one price; and,
    per converted price, the worst native price merged into it."""
    merged, worst = {}, {}
    for price, size in zip(prices, sizes):
        scaled = Fraction(price) * factor
        key = math.floor(scaled) if side == BID else math.ceil(scaled)
        if key <= 0 or size <= 0:
            continue
        merged[key] = merged.get(key, 0) + size * multiplier
        worst[key] = min(worst.get(key, price), price) if side == BID else \
            max(worst.get(key, price), price)
    rows = sorted(merged.items(), reverse=side == BID)
    return rows, worst


class OrderRouter:
    """Plans :class:`~liqframe.model.ParentOrder` s over ``market``; ``fees`` maps venue ->
    taker fee in bps (decimal)."""

    def __init__(self, market, fees):
        self.market, self.fees = market, dict(fees)

    def plan(self, parent, ready):
        """Route ``parent`` over the venues in ``ready``; returns a :class:`RoutePlan`.
        Raises :class:`~liqframe.errors.RouteError` when no venue can take it."""
        market = self.market
        group = market.group(parent.symbol)
        instrument = market.instrument(parent.symbol)
        lots_per_parent_lot = Fraction(instrument.size_increment) / \
            Fraction(group.instrument.size_increment)
        book_side = ASK if parent.side is Side.BID else BID
        router, keys, worst = Router(), [], []
        for key, venue_id in group.ids.items():
            venue, symbol = key
            if venue not in ready or (parent.venues and venue not in parent.venues):
                continue
            factor, book = group.fx[key], market.books[key]
            weight = market.weight(venue)
            if factor is None or book.stale or weight <= 0:
                continue
            multiplier = group.book.venue_state(venue_id)["lot_multiplier"]
            prices, sizes = book.top(book_side, DEPTH)
            rows, native = _converted(prices.tolist(), sizes.tolist(), factor, book_side,
                                      multiplier)
            router.add_venue(venue, taker_fee_bps=str(self.fees.get(venue, 0)),
                             lot_size=multiplier, weight=repr(weight),
                             **self._balance(key, parent.side, factor, multiplier))
            router.set_levels(venue, book_side, rows)
            keys.append(key)
            worst.append(native)
        limit = None
        if parent.limit_price is not None:
            factor = market.rates.rate(instrument.quote, group.currency())
            if factor is not None:
                scaled = Fraction(parent.limit_price) * factor * \
                    Fraction(instrument.price_increment) / \
                    Fraction(group.instrument.price_increment)
                limit = math.floor(scaled) if parent.side is Side.BID else math.ceil(scaled)
        quantity = parent.size * lots_per_parent_lot
        route = router.route(BUY if parent.side is Side.BID else SELL,
                             int(quantity), limit_price=limit)
        children = []
        for child in route.children:
            venue, symbol = keys[child.venue]
            multiplier = router.venue(child.venue).lot_size
            children.append(ChildPlan(venue, symbol, parent.side,
                                      worst[child.venue][child.limit_price],
                                      child.quantity // multiplier))
        unrouted = (int(quantity) - route.filled) / lots_per_parent_lot
        return RoutePlan(tuple(children), route, int(unrouted))

    def _balance(self, key, side, factor, multiplier):
        """What the venue's balance lets the router use, in consolidated units."""
        venue, symbol = key
        instrument = self.market.instrument(symbol)
        if side is Side.ASK:
            return {"base_balance": max(0, self.market.inventory(venue, instrument.base))
                    * multiplier}
        units = max(0, self.market.inventory(venue, instrument.quote))
        # quote units are venue tick-lots: a venue tick is `factor` consolidated ticks and a
        # venue lot `multiplier` consolidated lots
        cost = Fraction(units) * factor * multiplier * COST_SCALE
        return {"quote_balance": int(cost)}


def fee_bps(venues):
    """Taker fees of the configured venues, venue name -> Decimal."""
    return {v.name: Decimal(v.taker_fee_bps) for v in venues}
