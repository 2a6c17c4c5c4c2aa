"""The normaliser: the one place venue events enter the host.

One :class:`VenueFeed` per venue is the :class:`~liqframe.interfaces.VenueEvents` its connector
reports into. It

* keeps the venue's :class:`~liqframe.core.L2Book` per instrument and feeds the consolidated
  book (:mod:`liqframe.host.books`), in the venue's own ticks: the consolidated book converts;
* drops duplicates (a change whose sequence number is not above the book's);
* turns a sequence gap into a resync: the book turns stale, the venue leaves the consolidated
  view and the connector is asked for a fresh snapshot (``resync``), after which it returns;
* tracks latency: the venue's event time against our receive time, per change (the
  consolidated book drops a venue whose lag passes ``[host] max_lag_ms``);
* keeps FX rates the venues publish (``on_rate``) and re-prices the consolidated books;
* writes every new fill to the store *before* anything counts it, then hands it to the order
  manager and the portfolio; a fill already stored is ignored.
"""

import asyncio
import time

import attrs
import numpy as np

from liqframe.core import NO_SEQUENCE
from liqframe.errors import BookError, SequenceGap
from liqframe.model import Side


def _levels(levels):
    """``[(price, size), ...]`` as one int64 array of rows (the books read its columns)."""
    return np.array(levels, dtype=np.int64).reshape(-1, 2)


class VenueFeed:
    """Receives one venue's events. ``sinks`` are the downstream callables:
    ``fill(fill)``, ``order(order)``, ``up(venue)``, ``down(venue)``."""

    def __init__(self, venue, market, store, hub, sinks):
        self.venue, self.market, self.store, self.hub = venue, market, store, hub
        self.sinks = sinks
        self.health = market.health[venue]
        self.connector = None
        self.counts = {"snapshots": 0, "deltas": 0, "fills": 0, "orders": 0,
                       "duplicate_fills": 0}
        self._resyncing = set()

    # -- books ------------------------------------------------------------------------------

    def on_snapshot(self, symbol, bids, asks, sequence, event_ns):
        key = (self.venue, symbol)
        book = self.market.books.get(key)
        if book is None:
            return
        received = time.time_ns()
        self.counts["snapshots"] += 1
        bids, asks = _levels(bids), _levels(asks)
        try:
            book.apply_snapshot(bids[:, 0], bids[:, 1], asks[:, 0], asks[:, 1],
                                sequence=sequence)
        except BookError as error:
            self._resync(symbol, f"bad snapshot: {error}")
            return
        group = self.market.group(symbol)
        venue_id = group.ids[key]
        group.book.clear_venue(venue_id)
        group.book.apply_snapshot(venue_id, bids, asks, event_ns=event_ns or None,
                                  receive_ns=received if event_ns else None)
        if symbol in self._resyncing:
            self._resyncing.discard(symbol)
            self.health.resyncs += 1
            self.hub.event("resync", f"{self.venue}: {symbol} resynchronised at sequence "
                           f"{sequence}", venue=self.venue)
        self.health.stale = any(self.market.books[(self.venue, s)].stale
                                for s in self.market.venue_symbols[self.venue])
        self._lag(event_ns, received)
        self.market.update_view(key)
        self.market.touch()

    def on_book_columns(self, symbol, sides, prices, sizes, sequence, event_ns, received_ns):
        """One message of changes as int64 columns, already checked against the venue's
        sequence rules by the connector: the venue's book and the consolidated book each take
        it whole (a message at or below the book's sequence is a duplicate)."""
        key = (self.venue, symbol)
        book = self.market.books.get(key)
        if book is None or book.stale:
            return  # waiting for the snapshot of a resync
        self.counts["deltas"] += len(sides)
        if sequence >= 0:
            current = book.sequence
            if current is not None and current >= sequence:
                self.health.duplicates += 1
                return
            book.apply_batch(sides, prices, sizes, sequence, sequence,
                             NO_SEQUENCE if current is None else current)
        else:
            book.apply_batch(sides, prices, sizes)
        group = self.market.group(symbol)
        group.book.apply_many(group.ids[key], sides, prices, sizes,
                              event_ns=event_ns or None,
                              receive_ns=received_ns if event_ns else None)
        self._lag(event_ns, received_ns)
        self.market.touch()

    def on_delta(self, delta):
        key = (self.venue, delta.symbol)
        book = self.market.books.get(key)
        if book is None or book.stale:
            return  # waiting for the snapshot of a resync
        self.counts["deltas"] += 1
        try:
            if delta.sequence >= 0 and not book.advance(delta.sequence):
                self.health.duplicates += 1
                return
        except SequenceGap as error:
            self.health.gaps += 1
            self._resync(delta.symbol, str(error))
            return
        side = int(delta.side)
        book.apply(side, delta.price, delta.size)
        group = self.market.group(delta.symbol)
        group.book.apply(group.ids[key], side, delta.price, delta.size,
                         event_ns=delta.event_ns or None,
                         receive_ns=delta.received_ns if delta.event_ns else None)
        self._lag(delta.event_ns, delta.received_ns)
        self.market.touch()

    def _lag(self, event_ns, received_ns):
        if event_ns and received_ns:
            self.health.lag_ns = received_ns - event_ns
            self.health.last_event_ns = event_ns

    def _resync(self, symbol, reason):
        """Take the venue's book out of view and ask the connector for a snapshot."""
        key = (self.venue, symbol)
        self.market.books[key].mark_stale()
        self.health.stale = True
        self.market.update_view(key)
        self.market.touch()
        self._resyncing.add(symbol)
        self.hub.event("resync", f"{self.venue}: {symbol} out of sync ({reason}); "
                       "resynchronising", venue=self.venue)
        resync = getattr(self.connector, "resync", None)
        if resync is not None:
            task = asyncio.get_running_loop().create_task(resync(symbol))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

    # -- rates ------------------------------------------------------------------------------

    def on_rate(self, currency, numeraire, rate):
        if self.market.rates.set(currency, numeraire, rate):
            self.market.refresh_fx()
            self.market.touch()

    # -- orders and fills ---------------------------------------------------------------

    def on_fill(self, fill):
        """Store first (durably, deduplicated by venue and trade id), then count."""
        if not fill.trade_id:  # a venue without trade ids: the best identity we have
            fill = attrs.evolve(fill, trade_id=f"{fill.order_id}:{fill.event_ns}:{fill.size}")
        if not self.store.record_fill(fill):
            self.counts["duplicate_fills"] += 1
            return False
        self.counts["fills"] += 1
        self.sinks["fill"](fill)
        self.hub.publish("fill", {"venue": fill.venue, "symbol": fill.symbol,
                                  "order_id": fill.order_id, "trade_id": fill.trade_id,
                                  "side": "buy" if fill.side is Side.BID else "sell",
                                  "price": fill.price, "size": fill.size,
                                  "fee": str(fill.fee), "liquidity": fill.liquidity})
        return True

    def on_order(self, order):
        self.counts["orders"] += 1
        self.sinks["order"](order)

    # -- connection ---------------------------------------------------------------------

    def on_status(self, up, reason):
        health = self.health
        if up:
            health.status, health.reason = "up", reason
            health.connects += 1
            for symbol in self.market.venue_symbols[self.venue]:
                self.market.update_view((self.venue, symbol))
            self.hub.event("venue", f"{self.venue}: up ({reason})", venue=self.venue, say=True)
            self.sinks["up"](self.venue)
        else:
            health.status, health.reason, health.ready = "down", reason, False
            for symbol in self.market.venue_symbols[self.venue]:
                self.market.books[(self.venue, symbol)].mark_stale()
                self.market.update_view((self.venue, symbol))
            health.stale = True
            self.hub.event("venue", f"{self.venue}: down ({reason})", venue=self.venue,
                           say=True)
            self.sinks["down"](self.venue)
        self.market.touch()
