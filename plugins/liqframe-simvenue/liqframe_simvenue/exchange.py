"""One simulated exchange: an instrument's matching engine, accounts with balances and fees,
and the messages it publishes (book changes with sequence numbers, our orders and fills).

Everything here is synchronous and deterministic; :mod:`liqframe_simvenue.server` puts it on
the network and :mod:`liqframe_simvenue.flow` sends it background orders.

Units: prices are ticks and sizes lots of the instrument; balances are counted in each
asset's smallest unit (:meth:`liqframe.model.Instrument.asset_unit`): lots of the base asset,
tick-lots of the quote asset, so a fill of ``q`` lots at ``p`` ticks moves ``q`` base units and
``p * q`` quote units. Fees are charged in the quote asset, rounded up to a whole unit.
"""

import contextlib
import time
from decimal import Decimal
from fractions import Fraction

from liqframe.core import Matcher
from liqframe.errors import InvalidValue
from liqframe.model import Instrument

BUY, SELL = 1, -1
GTC, IOC, FOK, POST_ONLY = 0, 1, 2, 3
TIF = {"gtc": GTC, "ioc": IOC, "fok": FOK, "post_only": POST_ONLY}
SIDE = {"buy": BUY, "sell": SELL}
SIDE_TEXT = {BUY: "buy", SELL: "sell"}
# Matcher.last_outcome values
RESTING, FILLED, CANCELLED, REJECTED = 1, 2, 3, 4
OPEN = ("acknowledged", "partially_filled")


class Rejected(Exception):
    """An order the exchange refuses; the message says why."""


class SimOrder:
    __slots__ = ("id", "client_id", "owner", "side", "price", "size", "filled", "status",
                 "reason", "locked", "created_ns")

    def __init__(self, order_id, client_id, owner, side, price, size):
        self.id, self.client_id, self.owner = order_id, client_id, owner
        self.side, self.price, self.size = side, price, size
        self.filled, self.status, self.reason, self.locked = 0, "new", "", 0
        self.created_ns = time.time_ns()


class Account:
    """An API key's owner id and balances (asset -> total units, and units locked by orders)."""

    def __init__(self, key, owner, balances):
        self.key, self.owner = key, owner
        self.total = dict(balances)
        self.locked = dict.fromkeys(balances, 0)
        self.fills = []
        self.open = {}  # order id -> SimOrder still open

    def available(self, asset):
        return self.total.get(asset, 0) - self.locked.get(asset, 0)


def _fee_fraction(bps, field):
    if isinstance(bps, float):
        raise InvalidValue(field, bps, "must be a decimal string, not a float")
    value = Fraction(Decimal(str(bps)))
    if value < 0:
        raise InvalidValue(field, bps, "must not be negative")
    return value / 10_000


class Exchange:
    """A venue with one instrument. ``accounts`` maps API keys to starting balances
    (asset -> decimal string); background traders trade without balances."""

    def __init__(self, *, name, symbol, instrument: Instrument, accounts, maker_fee_bps="0",
                 taker_fee_bps="0", depth=25):
        self.name, self.symbol, self.instrument = name, symbol, instrument
        self.maker_fee = _fee_fraction(maker_fee_bps, "maker_fee_bps")
        self.taker_fee = _fee_fraction(taker_fee_bps, "taker_fee_bps")
        self.depth = depth
        self.matcher = Matcher(stp="cancel_resting")
        self.accounts = {}
        for owner, (key, balances) in enumerate(accounts.items(), start=1):
            units = {asset: self._units(asset, text) for asset, text in balances.items()}
            for asset in (instrument.base, instrument.quote):
                units.setdefault(asset, 0)
            self.accounts[key] = Account(key, owner, units)
        self._by_owner = {a.owner: a for a in self.accounts.values()}
        self.orders = {}
        self._by_client = {}
        self._next_id = 1
        self._next_fill = 1
        self.sequence = 0
        self._published = ({}, {})
        self._listeners = []
        self.rates = {}
        self._holding = False

    def _units(self, asset, text):
        unit = self.instrument.asset_unit(asset)
        amount = Decimal(str(text)) / unit
        if amount != amount.to_integral_value() or amount < 0:
            raise InvalidValue(f"balances.{asset}", text,
                               f"must be a non-negative multiple of {unit}")
        return int(amount)

    # -- subscriptions ------------------------------------------------------------------

    def listen(self, callback, owner=None):
        """Call ``callback(message)`` for every public message, and for the private messages
        of ``owner`` (an account's owner id) when given. Returns a function that unsubscribes."""
        entry = (owner, callback)
        self._listeners.append(entry)
        return lambda: self._listeners.remove(entry) if entry in self._listeners else None

    def _publish(self, message, owner=None):
        for who, callback in list(self._listeners):
            if owner is None or who == owner:
                callback(message)

    def snapshot(self):
        bids, asks = self._levels()
        text = self.instrument
        return {"type": "snapshot", "symbol": self.symbol, "sequence": self.sequence,
                "ts": time.time_ns(),
                "bids": [[text.price_text(p), text.size_text(s)] for p, s in
                         sorted(bids.items(), reverse=True)],
                "asks": [[text.price_text(p), text.size_text(s)] for p, s in
                         sorted(asks.items())]}

    def set_rate(self, currency, numeraire, rate_text):
        """Publish the value of ``currency`` in ``numeraire`` (a decimal string)."""
        self.rates[currency] = (numeraire, rate_text)
        self._publish({"type": "rate", "currency": currency, "numeraire": numeraire,
                       "rate": rate_text, "ts": time.time_ns()})

    def rate_messages(self):
        return [{"type": "rate", "currency": c, "numeraire": n, "rate": r, "ts": time.time_ns()}
                for c, (n, r) in self.rates.items()]

    # -- reads ------------------------------------------------------------------------------

    def _levels(self):
        bid_prices, bid_sizes, ask_prices, ask_sizes = self.matcher.book.depth(self.depth)
        return (dict(zip(bid_prices.tolist(), bid_sizes.tolist())),
                dict(zip(ask_prices.tolist(), ask_sizes.tolist())))

    def best(self):
        book = self.matcher.book
        return book.best(BUY), book.best(SELL)

    def level_size(self, side, price):
        return self.matcher.book.level(side, price)[0]

    def account(self, key):
        return self.accounts.get(key)

    def open_orders(self, account):
        return list(account.open.values())

    def order_by_client(self, account, client_id):
        return self._by_client.get((account.owner, client_id))

    # -- orders -----------------------------------------------------------------------------

    def submit(self, owner, side, price, size, tif=GTC, client_id=None, protection=None):
        """Enter a limit order (``price`` None: a market order, never trading beyond
        ``protection``); returns the :class:`SimOrder`.

        Raises :class:`Rejected` when an account's order is malformed or not covered by its
        available balance; the order is then recorded as rejected."""
        account = self._by_owner.get(owner)
        if account is not None and client_id is not None:
            known = self._by_client.get((owner, client_id))
            if known is not None:  # a retried request: the same order, not a second one
                return known
        order = SimOrder(self._next_id, client_id or str(self._next_id), owner, side, price, size)
        self._next_id += 1
        self.orders[order.id] = order
        if account is not None:
            self._by_client[(owner, order.client_id)] = order
            problem = self._check(account, order)
            if problem:
                order.status, order.reason = "rejected", problem
                self._publish_order(order)
                raise Rejected(problem)
            self._lock(account, order)
        if price is None:
            self.matcher.market(order.id, side, size, protection, owner=owner)
        else:
            self.matcher.submit(order.id, side, price, size, tif, owner)
        outcome = self.matcher.last_outcome
        self._settle()
        if outcome == RESTING:
            order.status = "partially_filled" if order.filled else "acknowledged"
        elif outcome == FILLED:
            order.status = "filled"
        elif outcome == REJECTED:
            order.status, order.reason = "rejected", "would trade (post only) or not fill (FOK)"
        else:
            order.status = "filled" if order.filled == order.size else "cancelled"
        if account is not None and order.status not in OPEN:
            self._unlock(account, order)
        self._after(order)
        if order.status in OPEN and account is not None:
            account.open[order.id] = order
        self._forget(order)
        return order

    def _forget(self, order):
        """Drop a background order once it is done, so memory stays flat over long runs."""
        if order.status not in OPEN and order.owner not in self._by_owner:
            self.orders.pop(order.id, None)

    def cancel(self, order_id):
        """Cancel an open order; raises KeyError when it is unknown or no longer open."""
        order = self.orders.get(order_id)
        if order is None or order.status not in OPEN:
            raise KeyError(order_id)
        self.matcher.cancel(order_id)
        order.status = "cancelled"
        account = self._by_owner.get(order.owner)
        if account is not None:
            self._unlock(account, order)
            account.open.pop(order.id, None)
        self._after(order)
        self._forget(order)
        return order

    def withdraw(self, order_id):
        """Cancel ``order_id`` if it still rests; forget it either way (for background
        traders, whose orders self-trade prevention may already have removed)."""
        order = self.orders.get(order_id)
        if order is not None and order.status in OPEN and order_id in self.matcher:
            self.cancel(order_id)
        elif order is not None and order.owner not in self._by_owner:
            self.orders.pop(order_id, None)

    def _check(self, account, order):
        if order.size <= 0:
            return "size must be positive"
        if order.price is None or order.price <= 0:
            return "price must be positive (accounts send limit orders)"
        if order.side == BUY:
            need = order.price * order.size
            need += _ceil(need * self.taker_fee)
            if account.available(self.instrument.quote) < need:
                return (f"insufficient {self.instrument.quote}: need {need} units, "
                        f"{account.available(self.instrument.quote)} available")
        elif account.available(self.instrument.base) < order.size:
            return (f"insufficient {self.instrument.base}: need {order.size} units, "
                    f"{account.available(self.instrument.base)} available")
        return ""

    def _lock(self, account, order):
        asset, amount = self._lock_amount(order, order.size)
        account.locked[asset] += amount
        order.locked = amount

    def _lock_amount(self, order, size):
        if order.side == BUY:
            notional = order.price * size
            return self.instrument.quote, notional + _ceil(notional * self.taker_fee)
        return self.instrument.base, size

    def _unlock(self, account, order):
        asset = self.instrument.quote if order.side == BUY else self.instrument.base
        account.locked[asset] -= order.locked
        order.locked = 0

    def _settle(self):
        """Book the matcher's fills: orders' filled sizes, accounts' balances and fills."""
        fills = self.matcher.take_fills()
        if not len(fills):
            return
        for maker_id, taker_id, _, _, price, quantity, taker_side in zip(
                fills["maker_id"].tolist(), fills["taker_id"].tolist(),
                fills["maker_owner"].tolist(), fills["taker_owner"].tolist(),
                fills["price"].tolist(), fills["quantity"].tolist(),
                fills["taker_side"].tolist()):
            for order_id, liquidity in ((maker_id, "maker"), (taker_id, "taker")):
                order = self.orders[order_id]
                order.filled += quantity
                if liquidity == "maker" and order.filled == order.size:
                    order.status = "filled"
                elif liquidity == "maker":
                    order.status = "partially_filled"
                account = self._by_owner.get(order.owner)
                if account is not None:
                    self._book_fill(account, order, price, quantity, liquidity)
                    if order.status == "filled":
                        self._unlock(account, order)
                        account.open.pop(order.id, None)
                    if liquidity == "maker":
                        self._publish_order(order)
                elif liquidity == "maker":
                    self._forget(order)
            del taker_side

    def _book_fill(self, account, order, price, quantity, liquidity):
        base, quote = self.instrument.base, self.instrument.quote
        notional = price * quantity
        fee = _ceil(notional * (self.maker_fee if liquidity == "maker" else self.taker_fee))
        if order.side == BUY:
            account.total[base] += quantity
            account.total[quote] -= notional + fee
        else:
            account.total[base] -= quantity
            account.total[quote] += notional - fee
        if order.status != "filled":
            # release the lock of the filled part (at the order's limit price)
            asset, amount = self._lock_amount(order, quantity)
            amount = min(amount, order.locked)
            account.locked[asset] -= amount
            order.locked -= amount
        fill = {"type": "fill", "trade_id": str(self._next_fill), "order_id": str(order.id),
                "client_id": order.client_id, "symbol": self.symbol,
                "side": SIDE_TEXT[order.side], "price": self.instrument.price_text(price),
                "size": self.instrument.size_text(quantity),
                "fee": str(fee * self.instrument.asset_unit(quote)), "fee_currency": quote,
                "liquidity": liquidity, "ts": time.time_ns()}
        self._next_fill += 1
        account.fills.append(fill)
        self._publish(fill, account.owner)

    def _after(self, order):
        """Publish the book's changes and the order's state; catch orders the matcher removed
        by self-trade prevention."""
        for account in self.accounts.values():
            for other in self.open_orders(account):
                if other.id not in self.matcher:
                    other.status, other.reason = "cancelled", "self-trade prevention"
                    self._unlock(account, other)
                    account.open.pop(other.id, None)
                    self._publish_order(other)
        if order.owner in self._by_owner:
            self._publish_order(order)
        self._publish_book()

    def _publish_order(self, order):
        self._publish(self.order_message(order), order.owner)

    def order_message(self, order):
        text = self.instrument
        return {"type": "order", "order_id": str(order.id), "client_id": order.client_id,
                "symbol": self.symbol, "side": SIDE_TEXT[order.side],
                "price": text.price_text(order.price) if order.price else None,
                "size": text.size_text(order.size), "filled": text.size_text(order.filled),
                "status": order.status, "reason": order.reason, "ts": time.time_ns()}

    @contextlib.contextmanager
    def batch(self):
        """Publish the book's changes of several operations as one message at the end."""
        self._holding = True
        try:
            yield self
        finally:
            self._holding = False
            self._publish_book()

    def _publish_book(self):
        if self._holding:
            return
        changes = []
        text = self.instrument
        for side, name, now in zip((0, 1), ("buy", "sell"), self._levels()):
            before = self._published[side]
            for price, size in now.items():
                if before.get(price) != size:
                    changes.append([name, text.price_text(price), text.size_text(size)])
            for price in before.keys() - now.keys():
                changes.append([name, text.price_text(price), "0"])
            self._published = (now, self._published[1]) if side == 0 else \
                (self._published[0], now)
        if not changes:
            return
        first = self.sequence + 1
        self.sequence += len(changes)
        self._publish({"type": "book", "symbol": self.symbol, "first": first,
                       "changes": changes, "ts": time.time_ns()})

    def balances(self, account):
        return [{"asset": asset, "total": total,
                 "available": max(0, min(total, total - account.locked.get(asset, 0)))}
                for asset, total in sorted(account.total.items())]


def _ceil(value):
    """Round a non-negative Fraction (or int) up to a whole unit."""
    return -(-value.numerator // value.denominator) if isinstance(value, Fraction) else value
