"""The order manager: every order's state, the quotes kept on each venue, reconciliation.

States: ``new`` (stored, being sent) -> ``acknowledged`` (the venue took it) ->
``partially_filled`` -> ``filled``; or ``cancelled`` / ``rejected``. Each change is written to
the store as it happens. A *slot* is one side of one instrument on one venue: the manager keeps
at most one working order per slot and replaces it when the wanted quote moves (or its wanted
size falls below the working order's). Taker orders (:meth:`OrderManager.send` without a slot,
the router's children) are tracked the same way but own no slot.

After a (re)connect, :meth:`OrderManager.reconcile` makes our records agree with the venue:
fills we missed are fetched (and deduplicated by the store), orders we think open but the venue
does not are settled from the venue's answer, orders open on the venue that no slot owns are
cancelled, and balances are re-read.
"""

import asyncio
import collections
import itertools
import time

import attrs

from liqframe.errors import LiqframeError
from liqframe.host.scheduling import give_way
from liqframe.model import Order, OrderStatus, Side, order_fields

OPEN = (OrderStatus.NEW, OrderStatus.ACKNOWLEDGED, OrderStatus.PARTIALLY_FILLED)
TERMINAL = (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)
#: Settled orders (filled, cancelled, rejected) kept in memory for late reports and fills;
#: older ones leave memory (not the store), so a long run does not grow without end.
KEEP_SETTLED = 2000


@attrs.define
class Working:
    """Our record of one order: the frozen :class:`~liqframe.model.Order` plus bookkeeping."""

    order: Order
    filled_by_fills: int = 0
    reason: str = ""
    cancelling: bool = False
    settled: bool = False  # counted among the settled orders kept in memory


class OrderManager:
    """Sends, cancels and tracks orders; ``connectors`` maps venue -> connector."""

    def __init__(self, connectors, store, hub, market, risk, *, prefix, requote_ticks=0):
        self.connectors, self.store, self.hub = connectors, store, hub
        self.market, self.risk = market, list(risk)
        self.prefix, self.requote_ticks = prefix, requote_ticks
        self.orders = {}  # client id -> Working (the open ones and the latest settled)
        self.slots = {}  # (venue, symbol, side) -> client id of the working order
        self._open = {}  # client id -> Working, the open orders alone
        self._settled = collections.deque()  # ids of the settled orders kept, oldest first
        #: Ids of settled orders no longer kept in memory (a fill of one is not a stranger's).
        self.retired = set()
        self._busy = set()
        self._tasks = set()
        self._ids = itertools.count(1)
        self.sent = self.rejected = self.cancelled = 0
        #: Set by the kill switch: every new order is refused with this reason.
        self.halted = None
        #: Called with (order, reason) after a risk model vetoed an order.
        self.on_veto = None

    # -- reads ------------------------------------------------------------------------------

    def open_orders(self, venue=None):
        return [w.order for w in self._open.values()
                if venue is None or w.order.venue == venue]

    def snapshot(self):
        """Open orders and counts, for the status display and the API."""
        return {"open": [order_fields(o) for o in self.open_orders()],
                "sent": self.sent, "rejected": self.rejected, "cancelled": self.cancelled}

    def counts(self, venue):
        return sum(1 for w in self._open.values() if w.order.venue == venue)

    def knows(self, order_id):
        """True if ``order_id`` is one of this host's orders (kept in memory or retired)."""
        return order_id in self.orders or order_id in self.retired

    def _track(self, working):
        """Keep the open index and the settled orders in step with ``working``'s state."""
        order = working.order
        if order.status in OPEN:
            self._open[order.id] = working
            return
        self._open.pop(order.id, None)
        if working.settled:
            return
        working.settled = True
        self._settled.append(order.id)
        if len(self._settled) > KEEP_SETTLED:
            oldest = self._settled.popleft()
            kept = self.orders.get(oldest)
            if kept is not None and self.slots.get(
                    (kept.order.venue, kept.order.symbol, kept.order.side)) == oldest:
                self._settled.append(oldest)  # still its slot's latest: later
            elif kept is not None:
                del self.orders[oldest]
                self.retired.add(oldest)

    # -- resume -----------------------------------------------------------------------------

    def restore(self, rows):
        """Load stored open orders after a restart (they are reconciled once venues are up)."""
        for row in rows:
            order = Order(id=row["id"], venue=row["venue"], symbol=row["symbol"],
                          side=row["side"], size=row["size"], price=row["price"],
                          status=row["status"], filled=row["filled"],
                          venue_order_id=row["venue_order_id"] or "")
            self.orders[order.id] = working = Working(order, filled_by_fills=row["filled"])
            self._track(working)
            self.slots[(order.venue, order.symbol, order.side)] = order.id

    # -- state changes ------------------------------------------------------------------

    def _update(self, working, **changes):
        order = attrs.evolve(working.order, **changes)
        if order == working.order:
            return
        working.order = order
        self._track(working)
        self.store.save_order(order, venue_order_id=order.venue_order_id,
                              reason=working.reason)
        self.hub.publish("order", order_fields(order))

    def on_venue_order(self, report: Order):
        """The venue's report of one of our orders (stream or reconciliation)."""
        working = self.orders.get(report.id)
        if working is None:
            return
        current = working.order
        if current.status in TERMINAL and report.status in OPEN:
            return  # an old report overtaken by what we already know
        filled = max(current.filled, min(report.filled, current.size))
        status = report.status
        if status in OPEN:
            status = OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.ACKNOWLEDGED
        self._update(working, status=status, filled=filled,
                     venue_order_id=report.venue_order_id or current.venue_order_id)

    def on_fill(self, fill):
        """A new fill (already stored); updates the order's filled size and state."""
        working = self.orders.get(fill.order_id)
        if working is None:
            return
        working.filled_by_fills += fill.size
        order = working.order
        filled = max(order.filled, min(working.filled_by_fills, order.size))
        status = order.status
        if filled >= order.size:
            status = OrderStatus.FILLED
        elif status in OPEN:
            status = OrderStatus.PARTIALLY_FILLED
        self._update(working, filled=filled, status=status)

    # -- quoting ----------------------------------------------------------------------------

    def sync(self, quotes, ready):
        """Make the working orders follow ``quotes`` on the ``ready`` venues: place what is
        missing, replace what moved, cancel what is no longer wanted."""
        wanted = {}
        for quote in quotes:
            if quote.venue not in ready:
                continue
            wanted[(quote.venue, quote.symbol, Side.BID)] = (quote.bid_price, quote.bid_size)
            wanted[(quote.venue, quote.symbol, Side.ASK)] = (quote.ask_price, quote.ask_size)
        for slot in set(wanted) | {s for s in self.slots if s[0] in ready}:
            if slot in self._busy:
                continue
            price, size = wanted.get(slot, (None, 0))
            current = self._slot_order(slot)
            if current is None and (price is None or not size):
                continue
            # a quote within requote_ticks is kept, unless the wanted size fell below it (a
            # risk model scaled it down: that must reach the venue now)
            if current is not None and price is not None and size and \
                    abs(current.price - price) <= self.requote_ticks and size >= current.size:
                continue
            self._spawn(slot, self._replace(slot, current, price, size))

    def _slot_order(self, slot):
        working = self.orders.get(self.slots.get(slot))
        if working is None or working.order.status not in OPEN:
            return None
        return working.order

    def _spawn(self, slot, coroutine):
        self._busy.add(slot)
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)

        def done(task):
            self._tasks.discard(task)
            self._busy.discard(slot)
            if not task.cancelled() and task.exception() is not None:
                error = task.exception()
                self.hub.event("error", f"{slot[0]}: {type(error).__name__}: {error}",
                               venue=slot[0])

        task.add_done_callback(done)

    async def _replace(self, slot, current, price, size):
        if current is not None:
            if not await self.cancel(current.id):
                return
        if price is not None and size:
            await self.place(slot, price, size)

    async def place(self, slot, price, size):
        """Place the quote of ``slot`` (venue, symbol, side); returns its id or None."""
        venue, symbol, side = slot
        order = Order(id=self.new_id(), venue=venue, symbol=symbol, side=side, size=size,
                      price=price)
        return await self.send(order, slot)

    def new_id(self):
        return f"{self.prefix}-{next(self._ids)}"

    def refusal(self, order):
        """Why ``order`` may not be sent (the kill switch, a risk veto), or None."""
        if self.halted:
            return f"kill switch: {self.halted}"
        for model in self.risk:
            reason = model.veto(order, self.market)
            if reason:
                if self.on_veto is not None:
                    self.on_veto(order, reason)
                return f"risk: {reason}"
        return None

    async def send(self, order, slot=None):
        """Send ``order`` (a quote owning ``slot``, or a taker order when None) after the
        kill switch and the risk models let it through; returns its id or None."""
        # a unit of its own: apart from a cancel's reply before it, and from other orders'
        # requests (each costs the loop 0.05-0.3 ms)
        await give_way()
        working = Working(order)
        reason = self.refusal(order)
        if reason:
            working.reason = reason
            self._reject(working, order, working.reason)
            return None
        self.orders[order.id] = working
        self._track(working)
        if slot is not None:
            self.slots[slot] = order.id
        self.store.save_order(order)  # stored before it leaves: a crash cannot lose it
        self.sent += 1
        health = self.market.health[order.venue]
        health.orders_sent += 1
        try:
            venue_order_id = await self.connectors[order.venue].place_order(order)
        except (TimeoutError, LiqframeError, ConnectionError, OSError) as error:
            if isinstance(error, LiqframeError):
                health.orders_rejected += 1
            else:
                health.errors += 1
            if working.order.status is OrderStatus.NEW:
                working.reason = str(error)
                self._reject(working, working.order, working.reason)
            return None
        await give_way()  # the reply's bookkeeping: apart from whatever woke up with it
        if working.order.status is OrderStatus.NEW:
            self._update(working, status=OrderStatus.ACKNOWLEDGED,
                         venue_order_id=str(venue_order_id))
        elif not working.order.venue_order_id:
            self._update(working, venue_order_id=str(venue_order_id))
        return order.id

    def _reject(self, working, order, reason):
        self.orders[order.id] = working
        self.rejected += 1
        working.order = attrs.evolve(order, status=OrderStatus.REJECTED)
        self._track(working)
        self.store.save_order(working.order, reason=reason)
        self.hub.event("rejected", f"{order.venue}: order {order.id} rejected: {reason}",
                       venue=order.venue)

    async def cancel(self, order_id):
        """Cancel one order; True once it is no longer open (cancelled or filled)."""
        working = self.orders[order_id]
        order = working.order
        if order.status not in OPEN:
            return True
        if not order.venue_order_id:
            return False  # not acknowledged yet: cancel on a later tick
        connector = self.connectors[order.venue]
        working.cancelling = True
        try:
            await give_way()  # a request costs 0.1-0.3 ms: not all in one turn
            await connector.cancel_order(order.venue_order_id)
        except LiqframeError:
            # already gone on the venue: learn how it ended
            await self._settle_from_venue(working)
            return working.order.status not in OPEN
        except (TimeoutError, ConnectionError, OSError):
            self.market.health[order.venue].errors += 1
            return False
        finally:
            working.cancelling = False
        await give_way()  # the reply's bookkeeping: apart from whatever woke up with it
        if working.order.status in OPEN:
            self.cancelled += 1
            self._update(working, status=OrderStatus.CANCELLED)
        return True

    async def _settle_from_venue(self, working):
        query = getattr(self.connectors[working.order.venue], "query_order", None)
        report = await query(working.order.id) if query is not None else None
        if report is not None:
            self.on_venue_order(report)
        elif working.order.status in OPEN:
            working.reason = "the venue does not know it"
            status = OrderStatus.CANCELLED if working.order.venue_order_id else \
                OrderStatus.REJECTED
            self._update(working, status=status)

    async def wait_idle(self, timeout=5.0):
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def cancel_all(self, venues):
        """Cancel every open order on ``venues`` (ours and any the venue lists as open)."""
        await self.wait_idle()
        for venue in venues:
            connector = self.connectors[venue]
            try:
                listed = await connector.open_orders()
            except (TimeoutError, LiqframeError, ConnectionError, OSError):
                listed = []
            for report in listed:
                working = self.orders.get(report.id)
                if working is not None and working.order.status in OPEN:
                    self.on_venue_order(report)
                elif await self._cancel_foreign(venue, report) and working is not None \
                        and working.order.status is not OrderStatus.FILLED:
                    self._update(working, status=OrderStatus.CANCELLED)
            for order in self.open_orders(venue):
                await self.cancel(order.id)

    async def _cancel_foreign(self, venue, report):
        try:
            await self.connectors[venue].cancel_order(report.venue_order_id)
        except (TimeoutError, LiqframeError, ConnectionError, OSError):
            return False
        self.hub.event("reconcile", f"{venue}: cancelled open order {report.id} that no "
                       "quote owns", venue=venue)
        return True

    # -- reconciliation -----------------------------------------------------------------

    async def reconcile_orders(self, venue):
        """Make our open orders on ``venue`` agree with the venue's; returns counts."""
        connector = self.connectors[venue]
        listed = {o.id: o for o in await connector.open_orders()}
        settled = orphans = 0
        for order in self.open_orders(venue):
            if order.id in listed:
                self.on_venue_order(listed[order.id])
            else:
                await self._settle_from_venue(self.orders[order.id])
                settled += 1
        owners = set(self.slots.values())
        for order_id, report in listed.items():
            if order_id in owners and order_id in self.orders:
                continue
            # open on the venue but not one we keep (an extra, or one we gave up on)
            if await self._cancel_foreign(venue, report):
                working = self.orders.get(order_id)
                if working is not None and working.order.status is not OrderStatus.FILLED:
                    self._update(working, status=OrderStatus.CANCELLED)
            orphans += 1
        return {"open": len(listed), "settled": settled, "cancelled": orphans,
                "ts_ns": time.time_ns()}
