"""The built-in ``limits`` risk model: hard caps on order size and on each quote.

Fuller models (volatility scaling, venue health, kill switch) are plugins of their own; this
one is the floor every host gets, so that no order bigger than the operator allowed leaves it.
"""

import attrs

from liqframe.hookspecs import hookimpl


class SizeLimits:
    """Refuse orders above ``max_order_lots`` and clip quotes to it (0 means no limit)."""

    def __init__(self, *, max_order_lots: int = 0):
        if isinstance(max_order_lots, bool) or not isinstance(max_order_lots, int) \
                or max_order_lots < 0:
            raise ValueError(f"max_order_lots: {max_order_lots!r} must be a non-negative integer")
        self.max_order_lots = max_order_lots

    def adjust(self, quotes, state):
        if not self.max_order_lots:
            return list(quotes)
        return [attrs.evolve(q, bid_size=min(q.bid_size, self.max_order_lots),
                             ask_size=min(q.ask_size, self.max_order_lots)) for q in quotes]

    def veto(self, order, state):
        if self.max_order_lots and order.size > self.max_order_lots:
            return f"order size {order.size} lots exceeds max_order_lots {self.max_order_lots}"
        return None

    def venue_weights(self, state):
        return {}


@hookimpl
def liqframe_risk_models():
    return {"limits": SizeLimits}
