"""Order-by-order (L3) book: every resting order, its queue and its level (pure-Python twin).

The compiled twin is ``liqframe/_core/_l3book.pyx``; both have the same public names, the same
behaviour and the same error messages. Prices and sizes are ``int64`` ticks and lots.

What the book holds, and why:

* **Orders** keyed by a venue-unique ``int64`` id, each with a side (:data:`BUY` ``1`` or
  :data:`SELL` ``-1``, LOBSTER's direction convention), a price, and a size split into a
  *visible* part and a *reserve*. A plain order is all visible. An **iceberg** (``display > 0``)
  shows at most ``display`` lots; when a visible execution empties the slice, the next slice
  comes out of the reserve and goes to the **back** of its level's queue, as exchanges do,
  because the new slice is a new display to the market. A **hidden** order is all reserve:
  it is in the book (it can be executed and deleted) but never in the depth view.
* **Levels** per price and side, each a FIFO of its orders (time priority) plus an
  *unattributed* quantity at the front of the queue: size known to be resting at that price
  from a snapshot, but not by order. Recorded L3 streams never start from an empty book (the
  LOBSTER samples start mid-day), so a replay seeds each visible level with its aggregate
  (:meth:`L3Book.seed`), and executions or deletes of orders the stream never submitted take
  their size out of it (:meth:`L3Book.take_unattributed`, or ``unknown=UNKNOWN_UNATTRIBUTED``
  in :meth:`L3Book.replay`).
* The book is a **record**, not a matcher: it applies what a venue says happened, so it accepts
  a crossed book (feeds do publish transient crosses). :mod:`liqframe._core.matcher` builds
  price-time matching on top of it.

Every method validates before it changes anything: a call that raises leaves the book exactly
as it was. Errors are :class:`~liqframe.errors.OrderError` for an order (naming its id and the
field) and :class:`~liqframe.errors.BookError` for a level.
"""

import operator
import sys
from bisect import bisect_left

import numpy as np

from liqframe.errors import BookError, OrderError

BUY = 1
SELL = -1

#: Message types of :meth:`L3Book.replay`; the numbers are LOBSTER's event types.
ADD = 1
CANCEL = 2
DELETE = 3
EXECUTE = 4
EXECUTE_HIDDEN = 5
CROSS_TRADE = 6
HALT = 7

#: What :meth:`L3Book.replay` does with a message about an id it does not hold.
UNKNOWN_RAISE = 0
UNKNOWN_UNATTRIBUTED = 1

_SIDE_NAME = {BUY: "buy", SELL: "sell"}


class _Order:
    __slots__ = ("id", "side", "price", "visible", "reserve", "display", "hidden", "owner",
                 "venue", "level")


class _Level:
    """One price on one side. ``queue`` is a dict id -> order: insertion order is time
    priority, and deleting or re-inserting a key is O(1)."""

    __slots__ = ("price", "side", "visible", "reserve", "unattributed", "queue")

    def __init__(self, price, side):
        self.price, self.side = price, side
        self.visible = self.reserve = self.unattributed = 0
        self.queue = {}


def _check_side(order_id, side):
    if side != BUY and side != SELL:
        raise OrderError(f"order {order_id}: side must be 1 (buy) or -1 (sell), got {side}")


def _check_size(order_id, size):
    if size <= 0:
        raise OrderError(f"order {order_id}: size must be positive, got {size}")


def _int32(value, field):
    """Venues are int32 ids in the compiled twin; refuse what it would have to truncate."""
    value = operator.index(value)
    if not -(2**31) <= value < 2**31:
        raise OverflowError(f"{field} {value} is out of the int32 range")
    return value


def _index(value):
    """Integers only: a float price or size is a bug upstream, never something to round."""
    return operator.index(value)


class L3Book:
    """An order-by-order book for one instrument on one venue (or one network, for the matcher).

    ``capacity`` is a hint for how many orders will rest at once; the book grows past it.
    """

    def __init__(self, capacity=1024):
        self._orders = {}
        self._levels = {BUY: {}, SELL: {}}
        # Sorted keys per side, best last: bids by price, asks by -price.
        self._keys = {BUY: [], SELL: []}

    # -- orders ---------------------------------------------------------------------------

    def add(self, order_id, side, price, size, display=0, hidden=False, owner=0, venue=0):
        """Add an order at the back of its level's queue.

        ``display > 0`` makes it an iceberg showing ``display`` lots at a time; ``hidden=True``
        makes it invisible in depth. ``owner`` and ``venue`` are carried for the matcher.
        """
        order_id, side, price, size = _index(order_id), _index(side), _index(price), _index(size)
        display, owner, venue = _index(display), _index(owner), _int32(venue, "venue")
        _check_side(order_id, side)
        _check_size(order_id, size)
        if display < 0:
            raise OrderError(f"order {order_id}: display must be 0 (all shown) or positive, "
                             f"got {display}")
        if hidden and display:
            raise OrderError(f"order {order_id}: an order is hidden or an iceberg, not both")
        if order_id in self._orders:
            raise OrderError(f"order {order_id}: id is already in the book")
        order = _Order()
        order.id, order.side, order.price = order_id, side, price
        order.display, order.hidden, order.owner, order.venue = display, bool(hidden), owner, venue
        if hidden:
            order.visible, order.reserve = 0, size
        elif display and display < size:
            order.visible, order.reserve = display, size - display
        else:
            order.visible, order.reserve = size, 0
        level = self._level(side, price, create=True)
        order.level = level
        level.queue[order_id] = order
        level.visible += order.visible
        level.reserve += order.reserve
        self._orders[order_id] = order

    def cancel(self, order_id, size):
        """Cancel ``size`` lots of an order (a partial cancel); it keeps its queue place.

        An iceberg gives up reserve before its visible slice. Cancelling all that is open
        deletes the order.
        """
        order = self._get(order_id)
        _check_size(order_id, size)
        open_size = order.visible + order.reserve
        if size > open_size:
            raise OrderError(f"order {order_id}: cannot cancel {size}, only {open_size} open")
        self._reduce(order, size)

    def delete(self, order_id):
        """Remove an order; returns the size it still had open."""
        order = self._get(order_id)
        open_size = order.visible + order.reserve
        self._remove(order)
        return open_size

    def execute(self, order_id, size):
        """A visible execution of ``size`` lots against the order's displayed slice.

        An iceberg whose slice empties shows its next slice at the back of the queue.
        """
        order = self._get(order_id)
        _check_size(order_id, size)
        if size > order.visible:
            raise OrderError(f"order {order_id}: cannot execute {size}, only "
                             f"{order.visible} visible")
        self._execute(order, size)

    def execute_hidden(self, order_id, size):
        """An execution against the order's undisplayed part (a hidden order, an iceberg's
        reserve); the visible book does not change."""
        order = self._get(order_id)
        _check_size(order_id, size)
        if size > order.reserve:
            raise OrderError(f"order {order_id}: cannot execute {size} hidden, only "
                             f"{order.reserve} hidden")
        order.reserve -= size
        order.level.reserve -= size
        if order.visible + order.reserve == 0:
            self._remove(order)

    # -- levels ---------------------------------------------------------------------------

    def seed(self, side, price, size):
        """Add ``size`` lots of unattributed quantity at the front of a level: liquidity known
        from a snapshot, resting before any order the stream will tell about."""
        side, price, size = _index(side), _index(price), _index(size)
        self._check_level_side(side, price)
        if size <= 0:
            raise BookError(f"seed {_SIDE_NAME[side]} {price}: size must be positive, "
                            f"got {size}")
        level = self._level(side, price, create=True)
        level.unattributed += size
        level.visible += size

    def take_unattributed(self, side, price, size):
        """Take ``size`` lots out of a level's unattributed quantity: an execution or delete
        of an order that was resting before the stream began."""
        side, price, size = _index(side), _index(price), _index(size)
        self._check_level_side(side, price)
        if size <= 0:
            raise BookError(f"level {_SIDE_NAME[side]} {price}: size must be positive, "
                            f"got {size}")
        level = self._level(side, price, create=False)
        available = level.unattributed if level is not None else 0
        if size > available:
            raise BookError(f"level {_SIDE_NAME[side]} {price}: cannot take {size} "
                            f"unattributed, only {available}")
        self._take(level, size)

    def clear_level(self, side, price):
        """Remove a level with every order on it; returns the ids removed. Used to resync a
        level from a snapshot when the stream could not have told what happened there."""
        side, price = _index(side), _index(price)
        self._check_level_side(side, price)
        level = self._level(side, price, create=False)
        if level is None:
            return []
        ids = list(level.queue)
        for order_id in ids:
            del self._orders[order_id]
        level.queue.clear()
        self._drop_level(level)
        return ids

    # -- reading --------------------------------------------------------------------------

    def __len__(self):
        return len(self._orders)

    def __contains__(self, order_id):
        return order_id in self._orders

    def order(self, order_id):
        """``(side, price, visible, reserve, display, hidden, owner, venue)`` of an order."""
        o = self._get(order_id)
        return (o.side, o.price, o.visible, o.reserve, o.display, o.hidden, o.owner, o.venue)

    def queue_position(self, order_id):
        """``(orders_ahead, visible_quantity_ahead)`` at the order's level; the unattributed
        quantity is ahead of every order."""
        order = self._get(order_id)
        level = order.level
        ahead, quantity = 0, level.unattributed
        for other in level.queue.values():
            if other is order:
                break
            ahead += 1
            quantity += other.visible
        return ahead, quantity

    def level(self, side, price):
        """``(visible, reserve, orders, unattributed)`` at a price; zeros when there is no
        level. ``visible`` includes the unattributed lots."""
        side, price = _index(side), _index(price)
        self._check_level_side(side, price)
        level = self._level(side, price, create=False)
        if level is None:
            return (0, 0, 0, 0)
        return (level.visible, level.reserve, len(level.queue), level.unattributed)

    def best(self, side):
        """Best price with visible quantity on ``side``, or None."""
        side = _index(side)
        if side != BUY and side != SELL:
            raise BookError(f"best: side must be 1 (buy) or -1 (sell), got {side}")
        for level in self._iter_levels(side):
            if level.visible:
                return level.price
        return None

    def depth(self, n):
        """Top ``n`` levels with visible quantity: ``(bid_prices, bid_sizes, ask_prices,
        ask_sizes)``, four int64 arrays, best first, each at most ``n`` long. Levels holding
        only hidden quantity are left out, as a venue's depth feed leaves them out."""
        if n < 0:
            raise BookError(f"depth: n must be 0 or positive, got {n}")
        out = []
        for side in (BUY, SELL):
            prices, sizes = [], []
            for level in self._iter_levels(side):
                if len(prices) >= n:
                    break
                if level.visible:
                    prices.append(level.price)
                    sizes.append(level.visible)
            out += [np.array(prices, dtype=np.int64), np.array(sizes, dtype=np.int64)]
        return tuple(out)

    def memory_bytes(self):
        """Bytes this book holds for its orders and levels (a shallow estimate here; the
        compiled twin reports its exact allocations)."""
        size = sys.getsizeof(self._orders)
        size += sum(sys.getsizeof(o) for o in self._orders.values())
        for side in (BUY, SELL):
            size += sys.getsizeof(self._keys[side]) + sys.getsizeof(self._levels[side])
            size += sum(sys.getsizeof(lv) + sys.getsizeof(lv.queue)
                        for lv in self._levels[side].values())
        return size

    # -- batch ----------------------------------------------------------------------------

    def replay(self, types, ids, sizes, prices, sides, unknown=UNKNOWN_RAISE):
        """Apply a recorded L3 stream given as equal-length integer arrays.

        ``types`` are :data:`ADD` ... :data:`HALT` (LOBSTER's numbering; cross trades and
        halts do not change the book and are skipped). For an execution, cancel or delete,
        ``sizes`` is the size affected; ``prices`` and ``sides`` locate the level, which
        matters only for ids the book does not hold. With ``unknown=UNKNOWN_RAISE`` such an id
        is an error; with ``UNKNOWN_UNATTRIBUTED`` its size comes out of the level's
        unattributed quantity (as much as there is: the rest is counted as a shortfall) and a
        hidden execution of it is skipped, since a hidden order never showed.

        Returns ``{"applied": n, "unknown": u, "shortfall": s}``. On an error the messages
        before it stay applied, the failing one is not, and the error's ``index`` attribute
        (also in its message) is the failing message's position.
        """
        arrays = [np.ascontiguousarray(a, dtype=np.int64) for a in
                  (types, ids, sizes, prices, sides)]
        n = len(arrays[0])
        if any(len(a) != n for a in arrays):
            raise BookError("replay: types, ids, sizes, prices and sides must have the same "
                            "length")
        if unknown not in (UNKNOWN_RAISE, UNKNOWN_UNATTRIBUTED):
            raise BookError(f"replay: unknown must be UNKNOWN_RAISE or UNKNOWN_UNATTRIBUTED, "
                            f"got {unknown}")
        columns = [a.tolist() for a in arrays]
        unknown_count = shortfall = 0
        for i, (kind, order_id, size, price, side) in enumerate(zip(*columns, strict=True)):
            try:
                if kind == ADD:
                    self.add(order_id, side, price, size)
                elif kind == CROSS_TRADE or kind == HALT:
                    continue
                elif kind < ADD or kind > HALT:
                    raise BookError(f"unknown message type {kind}")
                elif order_id in self._orders:
                    self._apply_known(kind, order_id, size)
                elif unknown == UNKNOWN_RAISE:
                    raise OrderError(f"order {order_id}: not in the book")
                else:
                    unknown_count += 1
                    shortfall += self._apply_unknown(kind, order_id, size, price, side)
            except (OrderError, BookError) as error:
                raise _at_index(error, i) from None
        return {"applied": n, "unknown": unknown_count, "shortfall": shortfall}

    def _apply_known(self, kind, order_id, size):
        if kind == CANCEL:
            self.cancel(order_id, size)
        elif kind == DELETE:
            self.delete(order_id)
        elif kind == EXECUTE:
            self.execute(order_id, size)
        else:
            self.execute_hidden(order_id, size)

    def _apply_unknown(self, kind, order_id, size, price, side):
        """Take an unknown order's size out of the unattributed quantity; return the part
        that was not there."""
        _check_side(order_id, side)
        _check_size(order_id, size)
        if kind == EXECUTE_HIDDEN:
            return 0
        level = self._level(side, price, create=False)
        available = level.unattributed if level is not None else 0
        taken = min(size, available)
        if taken:
            self._take(level, taken)
        return size - taken

    # -- internals (the matcher uses these) -----------------------------------------------

    def _get(self, order_id):
        order = self._orders.get(order_id)
        if order is None:
            raise OrderError(f"order {order_id}: not in the book")
        return order

    def _check_level_side(self, side, price):
        if side != BUY and side != SELL:
            raise BookError(f"level at {price}: side must be 1 (buy) or -1 (sell), got {side}")

    def _level(self, side, price, create):
        level = self._levels[side].get(price)
        if level is None and create:
            level = _Level(price, side)
            self._levels[side][price] = level
            keys = self._keys[side]
            key = price if side == BUY else -price
            keys.insert(bisect_left(keys, key), key)
        return level

    def _drop_level(self, level):
        del self._levels[level.side][level.price]
        keys = self._keys[level.side]
        key = level.price if level.side == BUY else -level.price
        del keys[bisect_left(keys, key)]

    def _iter_levels(self, side):
        """Levels of ``side``, best first."""
        levels = self._levels[side]
        for key in reversed(self._keys[side]):
            yield levels[key if side == BUY else -key]

    def _best_level(self, side):
        keys = self._keys[side]
        if not keys:
            return None
        return self._levels[side][keys[-1] if side == BUY else -keys[-1]]

    def _take(self, level, size):
        level.unattributed -= size
        level.visible -= size
        if not level.queue and not level.unattributed:
            self._drop_level(level)

    def _remove(self, order):
        level = order.level
        del level.queue[order.id]
        del self._orders[order.id]
        level.visible -= order.visible
        level.reserve -= order.reserve
        if not level.queue and not level.unattributed:
            self._drop_level(level)

    def _reduce(self, order, size):
        if size >= order.visible + order.reserve:
            self._remove(order)
            return
        from_reserve = min(size, order.reserve)
        order.reserve -= from_reserve
        order.visible -= size - from_reserve
        order.level.reserve -= from_reserve
        order.level.visible -= size - from_reserve

    def _execute(self, order, size):
        """Visible execution, already validated: replenish an iceberg at the back, remove a
        filled order."""
        level = order.level
        order.visible -= size
        level.visible -= size
        if order.visible:
            return
        if not order.reserve:
            self._remove(order)
            return
        slice_size = min(order.display, order.reserve)
        order.visible, order.reserve = slice_size, order.reserve - slice_size
        level.visible += slice_size
        level.reserve -= slice_size
        del level.queue[order.id]
        level.queue[order.id] = order


def _at_index(error, index):
    """The same error class, its message prefixed with the batch position, ``index`` set."""
    new = type(error)(f"message {index}: {error}")
    new.index = index
    return new
