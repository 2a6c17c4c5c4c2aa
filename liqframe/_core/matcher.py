"""Price-time priority matching across venues (pure-Python twin).

The compiled twin is ``liqframe/_core/_matcher.pyx``; both have the same public names,
behaviour and error messages. The resting orders live in an :class:`~.l3book.L3Book`
(:attr:`Matcher.book`), so depth, queue position and iceberg replenishment are the book's.

**Matching.** An incoming order takes the best opposite level first, and within a level the
oldest order first (price-time priority). Every fill trades at the *resting* order's price
(:attr:`price` of the fill). Order kinds (``tif``):

* :data:`GTC` matches what it can, then rests;
* :data:`IOC` matches what it can; the rest is cancelled;
* :data:`FOK` fills completely in this call or does nothing (outcome :data:`REJECTED`);
* :data:`POST_ONLY` rests only if it would not trade at all, else is :data:`REJECTED`;
* :meth:`Matcher.market` takes liquidity up to an optional *protection price* (a market buy
  never pays more, a market sell never gets less); the rest is cancelled.

**Amend** (:meth:`Matcher.amend`): a smaller size at the same price keeps the queue place;
a larger size goes to the back of the level; a new price is a new order for priority and
matches like a GTC order if it now crosses.

**Self-trade prevention** by ``owner`` (``0`` = anonymous, never prevented). When the oldest
crossing resting order has the taker's owner, ``stp`` decides: ``"cancel_resting"``
(default: the resting order is cancelled and matching goes on, so a strategy's new quote
replaces its stale one), ``"cancel_taking"`` (the rest of the incoming order is cancelled) or
``"cancel_both"``.

**Venues and the network fee.** Every order carries its ``venue`` (an int id); the book is
one network-wide book, so a buy resting on venue A and a sell arriving on venue B that cross
are matched. A fill between two venues (``maker_venue != taker_venue``) is priced by
``cross_venue_pricing``:

* ``"resting"`` (the default): both sides at the resting order's price; the network earns
  the fee and can never lose money on a fill.
* ``"best_for_both"`` (the product seed's rule, opt-in): the buyer pays the *lower* of the two
  orders' limit prices and the seller is credited the *higher*, minus the network fee. The
  network itself receives ``(lower - higher) * quantity + fee``: **negative when the fee is
  smaller than the crossing spread**. A market order has no limit of its own, so its fills use
  the resting price on both sides. Two accounts crossing each other across venues would be paid
  the spread by the network, so enable it only where the fee covers the spreads allowed.

The fee of a cross-venue fill is ``ceil(quantity * price * fee_bps / 10000) + fee_fixed``,
in price units times lots, where ``price`` is the per-unit price of the side that pays;
``fee_payer`` is ``"seller"`` (default, per the product rule), ``"buyer"``, ``"taker"`` or
``"maker"``. Fills within one venue carry no network fee and trade both sides at the resting
price.

**Fills** accumulate inside the matcher and are taken as one numpy structured array
(:data:`FILL_DTYPE`) by :meth:`Matcher.take_fills`: creating a Python object per fill would
cost more than the matching. Each fill carries maker and taker ids, owners and venues, the
taker's side, the resting price, the quantity, the buyer's and the seller's per-unit price,
the fee and which side paid it (1 buyer, -1 seller, 0 none). :func:`venue_totals` sums them
per venue.
"""

import operator

import numpy as np

from liqframe._core.l3book import BUY, SELL, L3Book, _int32
from liqframe.errors import InvalidValue, OrderError

GTC = 0
IOC = 1
FOK = 2
POST_ONLY = 3

#: :attr:`Matcher.last_outcome` after a submit, market or amend.
RESTING = 1
FILLED = 2
CANCELLED = 3
REJECTED = 4

STP_POLICIES = ("cancel_resting", "cancel_taking", "cancel_both")
CROSS_VENUE_PRICING = ("best_for_both", "resting")
FEE_PAYERS = ("seller", "buyer", "taker", "maker")

FILL_DTYPE = np.dtype([
    ("maker_id", np.int64), ("taker_id", np.int64),
    ("maker_owner", np.int64), ("taker_owner", np.int64),
    ("price", np.int64), ("quantity", np.int64),
    ("buyer_price", np.int64), ("seller_price", np.int64), ("fee", np.int64),
    ("maker_venue", np.int32), ("taker_venue", np.int32),
    ("taker_side", np.int8), ("fee_payer", np.int8),
], align=True)

INT64_MAX = 2**63 - 1


def _choice(field, value, allowed):
    if value not in allowed:
        raise InvalidValue(field, value, "must be one of " + ", ".join(map(repr, allowed)))
    return allowed.index(value)


def _config(stp, cross_venue_pricing, fee_bps, fee_fixed, fee_payer):
    """Validate the matcher's configuration; returns the policies as small ints."""
    for field, value in (("fee_bps", fee_bps), ("fee_fixed", fee_fixed)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= INT64_MAX:
            raise InvalidValue(field, value, "must be an integer, 0 or more")
    if fee_bps > 10000:
        raise InvalidValue("fee_bps", fee_bps, "must be at most 10000 (100%)")
    return (_choice("stp", stp, STP_POLICIES),
            _choice("cross_venue_pricing", cross_venue_pricing, CROSS_VENUE_PRICING),
            _choice("fee_payer", fee_payer, FEE_PAYERS))


def _check_order(order_id, side, price, size, tif, display, price_field="price"):
    if side != BUY and side != SELL:
        raise OrderError(f"order {order_id}: side must be 1 (buy) or -1 (sell), got {side}")
    if size <= 0:
        raise OrderError(f"order {order_id}: size must be positive, got {size}")
    if price <= 0:
        raise OrderError(f"order {order_id}: {price_field} must be positive, got {price}")
    if tif < GTC or tif > POST_ONLY:
        raise OrderError(f"order {order_id}: tif must be GTC, IOC, FOK or POST_ONLY "
                         f"(0 to 3), got {tif}")
    if display < 0:
        raise OrderError(f"order {order_id}: display must be 0 (all shown) or positive, "
                         f"got {display}")


def _crosses(side, level_price, limit):
    """Whether a taker on ``side`` with ``limit`` (None: no limit) can trade at a level."""
    if limit is None:
        return True
    return level_price <= limit if side == BUY else level_price >= limit


class Matcher:
    """A price-time priority matching engine for one instrument across venues.

    Keyword arguments configure self-trade prevention and the cross-venue price and fee
    rules described in the module docstring; ``capacity`` is a hint for resting orders.
    """

    def __init__(self, *, stp="cancel_resting", cross_venue_pricing="resting", fee_bps=0,
                 fee_fixed=0, fee_payer="seller", capacity=1024):
        self._stp, self._pricing, self._fee_payer = _config(stp, cross_venue_pricing, fee_bps,
                                                            fee_fixed, fee_payer)
        self._fee_bps, self._fee_fixed = fee_bps, fee_fixed
        self.book = L3Book(capacity)
        self._fills = []
        self.last_outcome = 0

    def __len__(self):
        return len(self.book)

    def __contains__(self, order_id):
        return order_id in self.book

    # -- orders ---------------------------------------------------------------------------

    def submit(self, order_id, side, price, size, tif=GTC, owner=0, venue=0, display=0):
        """Submit a limit order; returns the quantity filled now (see the module docstring).

        ``display > 0`` makes a resting remainder an iceberg. :attr:`last_outcome` tells
        whether it rests, filled, had its rest cancelled or was rejected.
        """
        order_id, side, price, size = map(operator.index, (order_id, side, price, size))
        tif, owner, display = map(operator.index, (tif, owner, display))
        venue = _int32(venue, "venue")
        _check_order(order_id, side, price, size, tif, display)
        if order_id in self.book:
            raise OrderError(f"order {order_id}: id is already in the book")
        return self._submit(order_id, side, price, size, tif, owner, venue, display)

    def market(self, order_id, side, size, protection=None, owner=0, venue=0):
        """Take up to ``size`` lots at any price, or at ``protection`` or better; the rest is
        cancelled. Returns the quantity filled."""
        order_id, side, size = map(operator.index, (order_id, side, size))
        owner, venue = operator.index(owner), _int32(venue, "venue")
        limit = None if protection is None else operator.index(protection)
        _check_order(order_id, side, 1 if limit is None else limit, size, IOC, 0, "protection")
        if order_id in self.book:
            raise OrderError(f"order {order_id}: id is already in the book")
        remaining = self._take(order_id, side, limit, size, owner, venue, None)
        self.last_outcome = FILLED if not remaining else CANCELLED
        return size - remaining

    def cancel(self, order_id):
        """Cancel a resting order; returns the size it still had open."""
        return self.book.delete(order_id)

    def amend(self, order_id, size, price=None):
        """Change a resting order's open ``size`` and, optionally, its ``price``.

        A decrease at the same price keeps the queue place; an increase goes to the back of
        the level; a new price is a new order for priority and matches if it crosses.
        Returns the quantity filled now (only a price change can fill).
        """
        order = self.book._get(order_id)
        size = operator.index(size)
        if size <= 0:
            raise OrderError(f"order {order_id}: size must be positive, got {size}")
        price = order.price if price is None else operator.index(price)
        if price <= 0:
            raise OrderError(f"order {order_id}: price must be positive, got {price}")
        open_size = order.visible + order.reserve
        self.last_outcome = RESTING
        if price == order.price and size <= open_size:
            if size < open_size:
                self.book._reduce(order, open_size - size)
            return 0
        side, owner, venue, display = order.side, order.owner, order.venue, order.display
        self.book._remove(order)
        return self._submit(order_id, side, price, size, GTC, owner, venue, display)

    def take_fills(self):
        """The fills since the last call, as a :data:`FILL_DTYPE` array, oldest first."""
        fills, self._fills = self._fills, []
        return np.array(fills, dtype=FILL_DTYPE)

    # -- matching -------------------------------------------------------------------------

    def _submit(self, order_id, side, price, size, tif, owner, venue, display):
        self._taker_cancelled = False
        best = self.book._best_level(-side)
        crosses = best is not None and _crosses(side, best.price, price)
        if (tif == POST_ONLY and crosses) or (
                tif == FOK and not self._fillable(side, price, size, owner)):
            self.last_outcome = REJECTED
            return 0
        remaining = self._take(order_id, side, price, size, owner, venue, price) if crosses \
            else size
        if not remaining:
            self.last_outcome = FILLED
        elif self._taker_cancelled or tif == IOC or tif == FOK:
            self.last_outcome = CANCELLED
        else:
            self.book.add(order_id, side, price, remaining, display, False, owner, venue)
            self.last_outcome = RESTING
        return size - remaining

    def _take(self, order_id, side, limit, size, owner, venue, taker_price):
        """Match against the opposite side; returns the quantity left over."""
        book = self.book
        remaining = size
        self._taker_cancelled = False
        while remaining:
            level = book._best_level(-side)
            if level is None or not _crosses(side, level.price, limit):
                break
            maker = next(iter(level.queue.values()))
            if owner and maker.owner == owner:
                if self._stp != 1:  # cancel_resting, cancel_both
                    book._remove(maker)
                if self._stp != 0:  # cancel_taking, cancel_both
                    self._taker_cancelled = True
                    break
                continue
            quantity = min(remaining, maker.visible)
            self._record(maker, level.price, order_id, side, owner, venue, taker_price,
                         quantity)
            book._execute(maker, quantity)
            remaining -= quantity
        return remaining

    def _fillable(self, side, limit, size, owner):
        """Whether a FOK order would fill completely, simulating self-trade prevention: under
        cancel_resting the owner's orders are skipped; otherwise matching stops at the first,
        and icebergs ahead of it give only their shown slice (a new slice goes behind it)."""
        available = 0
        for level in self.book._iter_levels(-side):
            if not _crosses(side, level.price, limit):
                return False
            shown = whole = 0
            for order in level.queue.values():
                if owner and order.owner == owner:
                    if self._stp == 0:
                        continue
                    return available + shown >= size
                shown += order.visible
                whole += order.visible + order.reserve
            available += whole
            if available >= size:
                return True
        return False

    def _record(self, maker, price, taker_id, side, owner, venue, taker_price, quantity):
        buyer_price = seller_price = price
        fee = payer = 0
        if maker.venue != venue:
            if self._pricing == 0 and taker_price is not None:
                buyer_price, seller_price = min(price, taker_price), max(price, taker_price)
            if self._fee_bps or self._fee_fixed:
                payer = self._payer(side)
                fee = self._fee(quantity, buyer_price if payer == BUY else seller_price,
                                taker_id)
        self._fills.append((maker.id, taker_id, maker.owner, owner, price, quantity, buyer_price,
                            seller_price, fee, maker.venue, venue, side, payer))

    def _payer(self, taker_side):
        """The side paying the network fee: 1 buyer, -1 seller."""
        if self._fee_payer == 0:
            return SELL
        if self._fee_payer == 1:
            return BUY
        return taker_side if self._fee_payer == 2 else -taker_side

    def _fee(self, quantity, price, taker_id):
        notional = quantity * price
        fee = -(-notional * self._fee_bps // 10000) + self._fee_fixed
        if fee > INT64_MAX:
            raise OverflowError(f"order {taker_id}: the network fee of a fill overflows int64")
        return fee


def venue_totals(fills):
    """Sum a :data:`FILL_DTYPE` array per venue: ``{venue: {"bought", "sold", "paid",
    "received", "fees"}}`` where ``paid``/``received`` are price units times lots, fees
    included (a buyer pays its fee on top, a seller's is deducted)."""
    totals = {}

    def entry(venue):
        return totals.setdefault(int(venue), {"bought": 0, "sold": 0, "paid": 0, "received": 0,
                                              "fees": 0})

    for fill in fills.tolist():
        (_, _, _, _, _, quantity, buyer_price, seller_price, fee, maker_venue, taker_venue,
         taker_side, payer) = fill
        buyer_venue, seller_venue = ((taker_venue, maker_venue) if taker_side == BUY
                                     else (maker_venue, taker_venue))
        buyer, seller = entry(buyer_venue), entry(seller_venue)
        buyer["bought"] += quantity
        buyer["paid"] += quantity * buyer_price + (fee if payer == BUY else 0)
        seller["sold"] += quantity
        seller["received"] += quantity * seller_price - (fee if payer == SELL else 0)
        (buyer if payer == BUY else seller)["fees"] += fee
    return totals
