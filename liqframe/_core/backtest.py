"""Queue-position fill replay over an array of L2 book events (pure-Python twin).

The compiled twin is ``liqframe/_core/_backtest.pyx``: same names, same results (fill for fill,
tick for tick), same errors. It shares this module's dtypes, :class:`QuoteTouch` and the
parameter checks. :mod:`liqframe.backtest.queue` is the public entry and turns the raw replay
into PnL, inventory and markout statistics.

**Events** (:data:`EVENT_DTYPE`, in exchange-time order): ``kind`` :data:`DEPTH` (the level
``px`` on ``side`` now holds ``qty`` lots; 0 removes it) or :data:`TRADE` (an aggressor on
``side`` traded ``qty`` at ``px``; a :data:`BID_SIDE` aggressor buys from the asks).
``local_ts`` is when the strategy sees the event (exchange time plus feed latency).

**Decisions.** Every ``interval_ns`` of local time, starting ``interval_ns`` after the first
event's ``local_ts``, the strategy sees the local book (the events whose ``local_ts`` has
passed) and returns ``(bid_px, ask_px, size)`` (prices in ticks or None). A side whose price
or size changed is re-sent: the new order, or the cancel when the price is None, reaches the
exchange ``order_latency_ns`` later. Until then the previous order stays live and can fill
(the cancel travels as slowly as the order). An arriving bid at or above the exchange's best
ask (an ask at or below the best bid) is rejected, as a post-only order is.

**Queue.** An arriving order joins the back of its level (``ahead`` = the level's size then).
A trade at its price takes ``qty`` off ``ahead``; the order fills, whole, when ``ahead`` goes
below zero or when a trade goes through its price. A decrease of the level:

- ``probabilistic=False`` (conservative): only caps ``ahead`` at the new level size;
- ``probabilistic=True``: the decrease not explained by the trades seen at that price since the
  level's last update is a cancel, and a share ``front**power / (front**power +
  back**power)`` of it comes from in front of the order (``front = ahead``, ``back = level
  before - ahead``); then the same cap.

**Accounting**, in ticks × lots, exact integers: ``mid2`` is best bid + best ask of the exchange
book (twice the mid, so it stays an integer). At a fill of ``s`` (+1 buy, -1 sell) ``qty`` at
``px``, ``spread2 += s·qty·(mid2 - 2·px)`` (the edge against the mid, doubled); whenever
``mid2`` changes, ``inventory2 += position·Δmid2``. So ``spread2 + inventory2 == 2·cash +
position·mid2`` exactly. Fees are ``px·qty·fee_bps/10000`` per fill, a float (negative for a
rebate). Before the first two-sided book a fill takes its own price as the mid.

Each replay returns a dict: counters (``events``, ``decisions``, ``bid_orders``, ``ask_orders``,
``rejected``, ``position``, ``cash``, ``spread2``, ``inventory2``, ``fees``, ``mid2`` — None
before any mid) and arrays ``fills`` (:data:`QUEUE_FILL_DTYPE`), ``equity`` (:data:`EQUITY_DTYPE`,
one row per decision) and ``mid_ts`` / ``mid_mid2`` (every change of the mid, for markouts).
Cash and positions are int64 in the compiled twin: ``|px·qty|`` summed must fit.
"""

import attrs
import numpy as np

from liqframe.errors import InvalidValue

DEPTH, TRADE = 0, 1
BID_SIDE, ASK_SIDE = 0, 1
EVENT_DTYPE = np.dtype([("kind", "u1"), ("side", "u1"), ("exch_ts", "i8"), ("local_ts", "i8"),
                        ("px", "i8"), ("qty", "i8")])
QUEUE_FILL_DTYPE = np.dtype([("ts", "i8"), ("side", "i8"), ("px", "i8"), ("qty", "i8"),
                       ("mid2", "i8"), ("position", "i8"), ("fee", "f8"), ("sent_ts", "i8")])
EQUITY_DTYPE = np.dtype([("ts", "i8"), ("position", "i8"), ("cash", "i8"), ("mid2", "i8"),
                         ("spread2", "i8"), ("inventory2", "i8"), ("fees", "f8")])
#: The replay reports progress to its ``progress`` callable every this many events.
PROGRESS_EVERY = 1 << 16
MAX_DECISIONS = 50_000_000


@attrs.frozen(kw_only=True)
class QuoteTouch:
    """Quote ``size`` lots ``offset`` ticks behind the best bid and ask seen; with
    ``max_position``, no bid once the position reaches it and no ask at ``-max_position``.
    Both twins recognise it and run it without calling Python."""

    size: int = 1
    offset: int = 0
    max_position: int | None = None

    def __attrs_post_init__(self):
        _integer("size", self.size, 1)
        _integer("offset", self.offset, 0)
        if self.max_position is not None:
            _integer("max_position", self.max_position, 1)

    def __call__(self, best_bid, best_ask, position):
        limit = self.max_position
        bid = None if best_bid is None or (limit is not None and position >= limit) \
            else best_bid - self.offset
        ask = None if best_ask is None or (limit is not None and position <= -limit) \
            else best_ask + self.offset
        return bid, ask, self.size


def _integer(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidValue(name, value, "must be an integer")
    if value < minimum:
        raise InvalidValue(name, value, f"must be at least {minimum}")
    return int(value)


def check(events, strategy, interval_ns, order_latency_ns, power, fee_bps):
    """Validate the replay's arguments; return the events as a contiguous array."""
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE or events.ndim != 1:
        raise InvalidValue("events", getattr(events, "dtype", type(events).__name__),
                           "must be a 1-d array of EVENT_DTYPE")
    if not callable(strategy):
        raise InvalidValue("strategy", strategy, "must be callable or a QuoteTouch")
    _integer("interval_ns", interval_ns, 1)
    _integer("order_latency_ns", order_latency_ns, 0)
    for name, value in (("power", power), ("fee_bps", fee_bps)):
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value \
                or value in (float("inf"), float("-inf")):
            raise InvalidValue(name, value, "must be a finite number")
    if power <= 0:
        raise InvalidValue("power", power, "must be greater than 0")
    if len(events):
        bad = (events["kind"] > TRADE) | (events["side"] > ASK_SIDE) | (events["qty"] < 0)
        if bad.any():
            row = int(np.argmax(bad))
            raise InvalidValue("events", row, "has a kind, side or qty out of range at this row")
        span = int(events["local_ts"].max()) - int(events["local_ts"][0])
        if span // interval_ns > MAX_DECISIONS:
            raise InvalidValue("interval_ns", interval_ns,
                               f"makes more than {MAX_DECISIONS:,} decisions over this feed")
    return np.ascontiguousarray(events)


def quote(strategy, best_bid, best_ask, position):
    """Call a Python strategy and check what it returns."""
    try:
        bid, ask, size = strategy(best_bid, best_ask, position)
    except (TypeError, ValueError) as error:
        raise InvalidValue("strategy", strategy,
                           f"must return (bid_px, ask_px, size): {error}") from None
    size = _integer("size", size, 1)
    bid = None if bid is None else _integer("bid_px", bid, -(1 << 62))
    ask = None if ask is None else _integer("ask_px", ask, -(1 << 62))
    return bid, ask, size


class _Side:
    """One side of a book: levels, and the best price kept up to date."""

    __slots__ = ("levels", "best", "bid")

    def __init__(self, bid):
        self.levels, self.best, self.bid = {}, None, bid

    def set(self, px, qty):
        levels = self.levels
        before = levels.get(px, 0)
        if qty:
            levels[px] = qty
            if self.best is None or (px > self.best if self.bid else px < self.best):
                self.best = px
        elif before:
            del levels[px]
            if px == self.best:
                self.best = (max(levels) if self.bid else min(levels)) if levels else None
        return before


class _Order:
    __slots__ = ("px", "qty", "ahead", "traded", "sent_ts")

    def __init__(self, px, qty, ahead, sent_ts):
        self.px, self.qty, self.ahead, self.traded, self.sent_ts = px, qty, ahead, 0, sent_ts


def replay_events(events, strategy, *, interval_ns, order_latency_ns=0, probabilistic=False,
           power=2.0, fee_bps=0.0, progress=None):
    """Replay ``events`` against ``strategy``; see the module docstring for the result."""
    events = check(events, strategy, interval_ns, order_latency_ns, power, fee_bps)
    power, fee_bps = float(power), float(fee_bps)
    kinds, sides = events["kind"].tolist(), events["side"].tolist()
    exch, local = events["exch_ts"].tolist(), events["local_ts"].tolist()
    pxs, qtys = events["px"].tolist(), events["qty"].tolist()
    n = len(kinds)
    book = (_Side(True), _Side(False))  # the exchange's
    seen = (_Side(True), _Side(False))  # the strategy's, at local time
    live = [None, None]
    pending = ([], [])  # per side: [arrival_ts, px or None, size, sent_ts], oldest first
    intended = [(None, 0), (None, 0)]
    fills, equity, mid_ts, mid_values = [], [], [], []
    orders = [0, 0]
    st = {"position": 0, "cash": 0, "spread2": 0, "inventory2": 0, "fees": 0.0, "mid2": None,
          "rejected": 0}
    local_i = 0
    next_decision = local[0] + interval_ns if n else 0

    def set_mid(t, mid2):
        if mid2 != st["mid2"]:
            if st["mid2"] is not None:
                st["inventory2"] += st["position"] * (mid2 - st["mid2"])
            st["mid2"] = mid2
            mid_ts.append(t)
            mid_values.append(mid2)

    def fill(t, side, order):
        if st["mid2"] is None:
            set_mid(t, 2 * order.px)
        sign = 1 if side == BID_SIDE else -1
        st["position"] += sign * order.qty
        st["cash"] -= sign * order.px * order.qty
        st["spread2"] += sign * order.qty * (st["mid2"] - 2 * order.px)
        fee = float(order.px * order.qty) * fee_bps / 10000.0
        st["fees"] += fee
        fills.append((t, side, order.px, order.qty, st["mid2"], st["position"], fee,
                      order.sent_ts))
        live[side] = None
        if not pending[side]:
            intended[side] = (None, 0)  # quote again at the next decision

    for i in range(n):
        if progress is not None and i and i % PROGRESS_EVERY == 0:
            progress(i)
        t = exch[i]
        while next_decision <= local[i]:
            while local_i < n and local[local_i] <= next_decision:
                if kinds[local_i] == DEPTH:
                    seen[sides[local_i]].set(pxs[local_i], qtys[local_i])
                local_i += 1
            if isinstance(strategy, QuoteTouch):
                bid, ask, size = strategy(seen[0].best, seen[1].best, st["position"])
            else:
                bid, ask, size = quote(strategy, seen[0].best, seen[1].best, st["position"])
            for side, px in ((BID_SIDE, bid), (ASK_SIDE, ask)):
                want = (px, 0 if px is None else size)
                if want != intended[side]:
                    intended[side] = want
                    pending[side].append((next_decision + order_latency_ns, px, size,
                                          next_decision))
                    if px is not None:
                        orders[side] += 1
            equity.append((next_decision, st["position"], st["cash"], st["mid2"] or 0,
                           st["spread2"], st["inventory2"], st["fees"]))
            next_decision += interval_ns
        for side in (BID_SIDE, ASK_SIDE):
            queue = pending[side]
            while queue and queue[0][0] <= t:
                _, px, size, sent_ts = queue.pop(0)
                live[side] = None  # the cancel of the previous order arrives with this one
                if px is None:
                    continue
                opposite = book[1 - side].best
                if opposite is not None and (px >= opposite if side == BID_SIDE
                                             else px <= opposite):
                    st["rejected"] += 1
                    # A rejected order leaves nothing live: quote again at the next decision.
                    if not queue:
                        intended[side] = (None, 0)
                    continue
                live[side] = _Order(px, size, book[side].levels.get(px, 0), sent_ts)
        side, px, qty = sides[i], pxs[i], qtys[i]
        if kinds[i] == DEPTH:
            before = book[side].set(px, qty)
            order = live[side]
            if order is not None and order.px == px:
                if qty < before:
                    ahead = order.ahead
                    cancel = before - qty - order.traded
                    if probabilistic and cancel > 0 and ahead > 0:
                        front, back = ahead ** power, max(before - ahead, 0) ** power
                        ahead -= cancel * front / (front + back)
                    order.ahead = min(ahead, qty)
                order.traded = 0
            bid, ask = book[0].best, book[1].best
            if bid is not None and ask is not None:
                set_mid(t, bid + ask)
        else:
            maker = ASK_SIDE if side == BID_SIDE else BID_SIDE
            order = live[maker]
            if order is not None:
                if px > order.px if maker == ASK_SIDE else px < order.px:
                    fill(t, maker, order)
                elif px == order.px:
                    order.ahead -= qty
                    order.traded += qty
                    if order.ahead < 0:
                        fill(t, maker, order)
    if progress is not None:
        progress(n)
    return {
        "events": n, "decisions": len(equity), "bid_orders": orders[0], "ask_orders": orders[1],
        "rejected": st["rejected"], "position": st["position"], "cash": st["cash"],
        "spread2": st["spread2"], "inventory2": st["inventory2"], "fees": st["fees"],
        "mid2": st["mid2"],
        "fills": np.array(fills, QUEUE_FILL_DTYPE), "equity": np.array(equity, EQUITY_DTYPE),
        "mid_ts": np.array(mid_ts, np.int64), "mid_mid2": np.array(mid_values, np.int64),
    }
