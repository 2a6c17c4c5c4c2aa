"""Taker orders through the smart order router, over the consolidated book.

A strategy's :class:`~liqframe.model.ParentOrder` (a hedge, a taker order) is routed on the
grid of its base asset's consolidated book (:mod:`liqframe.host.books`): every venue trading
the base that is ready, in sync, priced and not weighted out enters a fresh
:class:`~liqframe.core.Router` with its own book converted to that grid (prices by the exact
FX factor, rounded against us; sizes in consolidated lots), its taker fee, its lot size, its
risk weight and the balance it holds (for a sell the base it holds; for a buy its asks are cut
to what its quote balance pays for, fee included, in the venue's own units). Our own resting
quotes are taken out of the levels first: they are not liquidity for us. The router's split
becomes one immediate-or-cancel child order per venue in the venue's own ticks and lots: the
child's limit is the venue's own price of the worst level the router counted, so no rounding
of the conversion can make it take less.
"""

import math
from decimal import Decimal
from fractions import Fraction

import attrs

from liqframe.core import ASK, BID, BUY, SELL, Router
from liqframe.model import Side

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


def _affordable(levels, units, fee_bps):
    """The ask levels (best first) a buy can pay for with ``units`` of the venue's quote asset
    (tick-lots), its taker fee included: the venue would refuse more."""
    budget, kept = Fraction(max(0, units)), []
    rate = 1 + Fraction(fee_bps) / 10_000
    for price, size in levels:
        lots = min(size, int(budget / (price * rate)))
        if lots <= 0:
            break
        kept.append((price, lots))
        budget -= price * lots * rate
    return kept


def _converted(levels, factor, side, multiplier):
    """Native levels on the consolidated grid, merged where two convert to one price; and,
    per converted price, the worst native price merged into it."""
    merged, worst = {}, {}
    for price, size in levels:
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
    taker fee in bps (decimal); ``own_orders(venue)`` gives our open orders there."""

    def __init__(self, market, fees, own_orders=lambda venue: ()):
        self.market, self.fees, self.own_orders = market, dict(fees), own_orders

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
            ours = {}
            for order in self.own_orders(venue):
                if order.symbol == symbol and int(order.side) == book_side:
                    ours[order.price] = ours.get(order.price, 0) + order.size - order.filled
            levels = [(p, s - ours.get(p, 0)) for p, s in zip(prices.tolist(), sizes.tolist())
                      if s > ours.get(p, 0)]
            fee = Decimal(self.fees.get(venue, 0))
            if parent.side is Side.BID:
                levels = _affordable(levels, market.inventory(venue, market.instrument(
                    symbol).quote), fee)
            rows, native = _converted(levels, factor, book_side, multiplier)
            router.add_venue(venue, taker_fee_bps=str(fee), lot_size=multiplier,
                             weight=repr(weight), base_balance=None if parent.side is Side.BID
                             else max(0, market.inventory(venue, market.instrument(
                                 symbol).base)) * multiplier)
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



def fee_bps(venues):
    """Taker fees of the configured venues, venue name -> Decimal."""
    return {v.name: Decimal(v.taker_fee_bps) for v in venues}
