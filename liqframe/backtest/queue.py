"""A queue-aware fill backtest over an array of L2 book events, with latency.

Events (:data:`EVENT_DTYPE`, sorted by ``exch_ts``): ``kind`` is :data:`DEPTH` (the level
``px`` on ``side`` now holds ``qty`` lots, 0 removes it) or :data:`TRADE` (an aggressor on
``side`` traded ``qty`` at ``px``: a BID aggressor buys from asks). ``local_ts`` is when the
strategy sees the event (exchange time plus feed latency).

Every ``interval_ns`` of local time the strategy is called with the local view and returns the
bid and ask it wants (prices in ticks, None for none); changed quotes are cancelled and sent
again, and reach the exchange ``order_latency_ns`` later. A resting order joins the back of its
level's queue. Fills are whole orders, when the volume traded at the order's price exceeds the
queue ahead of it, or when a trade goes through its price. Cancels at the level move the order
up depending on the queue model:

- ``"conservative"``: a cancel is behind us unless the level becomes smaller than our queue
  position (only trades advance us);
- ``"probabilistic"``: a share ``f(front) / (f(front) + f(back))`` of each decrease is taken
  from in front of us, ``f(x) = x**power`` (the power queue-position model).
"""

import attrs
import numpy as np

from liqframe.backtest.params import integer, number
from liqframe.errors import InvalidValue

DEPTH, TRADE = 0, 1
BID, ASK = 0, 1
EVENT_DTYPE = np.dtype([("kind", "u1"), ("side", "u1"), ("exch_ts", "i8"), ("local_ts", "i8"),
                        ("px", "i8"), ("qty", "i8")])
QUEUE_MODELS = ("conservative", "probabilistic")


@attrs.frozen(kw_only=True)
class QueueResult:
    events: int
    fills: int
    position: int
    cash: int
    last_mid: float | None

    @property
    def pnl(self):
        """Cash plus position at the last mid, in ticks × lots."""
        return self.cash + self.position * (self.last_mid or 0.0)


class _Order:
    __slots__ = ("side", "px", "qty", "active_ts", "ahead")

    def __init__(self, side, px, qty, active_ts):
        self.side, self.px, self.qty, self.active_ts, self.ahead = side, px, qty, active_ts, None


def quote_touch(size):
    """A strategy that quotes ``size`` at the best bid and ask it sees."""
    def strategy(best_bid, best_ask, position):
        return best_bid, best_ask, size
    return strategy


def run(events, strategy, *, interval_ns, order_latency_ns=0, queue_model="conservative",
        power=2.0):
    """Replay ``events`` and return a :class:`QueueResult`."""
    if events.dtype != EVENT_DTYPE:
        raise InvalidValue("events", events.dtype, "must have liqframe's EVENT_DTYPE")
    integer("interval_ns", interval_ns, minimum=1)
    integer("order_latency_ns", order_latency_ns, minimum=0)
    if queue_model not in QUEUE_MODELS:
        raise InvalidValue("queue_model", queue_model, f"must be one of {QUEUE_MODELS}")
    power = number("power", power, above=0)
    probabilistic = queue_model == "probabilistic"
    kinds, sides = events["kind"].tolist(), events["side"].tolist()
    exch, local = events["exch_ts"].tolist(), events["local_ts"].tolist()
    pxs, qtys = events["px"].tolist(), events["qty"].tolist()
    n = len(kinds)
    exchange = ({}, {})  # side -> {px: qty}, as the exchange sees it
    seen = ({}, {})  # as the strategy sees it (applied at local_ts)
    orders = [None, None]
    position = cash = fills = 0
    local_i = 0
    next_decision = local[0] + interval_ns if n else 0

    def fill(order):
        nonlocal position, cash, fills
        fills += 1
        if order.side == BID:
            position += order.qty
            cash -= order.px * order.qty
        else:
            position -= order.qty
            cash += order.px * order.qty
        orders[order.side] = None

    for i in range(n):
        t = exch[i]
        # Strategy decisions due before this exchange event, on the local view up to then.
        while next_decision <= t + (local[i] - exch[i]):
            while local_i < n and local[local_i] <= next_decision:
                if kinds[local_i] == DEPTH:
                    book = seen[sides[local_i]]
                    if qtys[local_i]:
                        book[pxs[local_i]] = qtys[local_i]
                    else:
                        book.pop(pxs[local_i], None)
                local_i += 1
            bids, asks = seen
            want_bid, want_ask, size = strategy(max(bids) if bids else None,
                                                min(asks) if asks else None, position)
            for side, px in ((BID, want_bid), (ASK, want_ask)):
                current = orders[side]
                if current is not None and current.px == px:
                    continue
                orders[side] = None if px is None else _Order(
                    side, px, size, next_decision + order_latency_ns)
            next_decision += interval_ns
        side, px, qty = sides[i], pxs[i], qtys[i]
        for order in orders:
            if order is not None and order.ahead is None and order.active_ts <= t:
                order.ahead = exchange[order.side].get(order.px, 0)
        if kinds[i] == DEPTH:
            book = exchange[side]
            before = book.get(px, 0)
            if qty:
                book[px] = qty
            else:
                book.pop(px, None)
            order = orders[side]
            if order is not None and order.ahead is not None and order.px == px and qty < before:
                ahead = order.ahead
                if probabilistic and ahead > 0:
                    front, back = ahead ** power, max(before - ahead, 0) ** power
                    ahead -= (before - qty) * front / (front + back)
                order.ahead = min(ahead, qty)
        else:
            # A BID aggressor trades against resting asks, and so against our ask.
            order = orders[ASK if side == BID else BID]
            if order is not None and order.ahead is not None:
                through = px > order.px if order.side == ASK else px < order.px
                if through:
                    fill(order)
                elif px == order.px:
                    order.ahead -= qty
                    if order.ahead < 0:
                        fill(order)
    bids, asks = exchange
    last_mid = (max(bids) + min(asks)) / 2 if bids and asks else None
    return QueueResult(events=n, fills=fills, position=position, cash=cash, last_mid=last_mid)
