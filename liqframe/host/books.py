"""The host's view of the market: per-venue books, consolidated books, FX rates, venue health.

:class:`Market` is the :class:`~liqframe.interfaces.MarketState` strategies, risk models and
rebalancers read. The normaliser is the only writer; everything else reads.

Each base asset (BTC) has one :class:`~liqframe.core.ConsolidatedBook` across every venue and
instrument that trades it (BTC/USDT, BTC/USD, BTC/EUR). Its grid is the *reference instrument*:
the first configured instrument with that base. A venue's prices enter it converted by the
exact rate of its quote currency into the reference's (``fx`` in the core book, changed as the
rate moves), and :meth:`Market.mid` converts the consolidated mid back into any instrument's
ticks, so a strategy quoting BTC/EUR gets its mid in euro ticks.
"""

import time
from decimal import Decimal
from fractions import Fraction

import attrs
import numpy as np

from liqframe.core import ASK, BID, ConsolidatedBook, L2Book
from liqframe.errors import ConfigError


@attrs.define
class VenueHealth:
    """What the host knows about one venue's connection; read by the status display and API."""

    venue: str
    status: str = "starting"  # starting, up, down, failed, stopped
    reason: str = ""
    ready: bool = False  # up, in sync, and reconciled: the host may send orders
    stale: bool = True
    lag_ns: int | None = None
    connects: int = 0
    gaps: int = 0
    duplicates: int = 0
    resyncs: int = 0
    reconciled_ns: int = 0
    last_event_ns: int = 0
    orders_sent: int = 0
    orders_rejected: int = 0  # refused by the venue (risk vetoes are not the venue's fault)
    errors: int = 0  # orders or cancels that failed on the connection

    def as_dict(self):
        return attrs.asdict(self)


class RateTable:
    """Values of currencies in numeraires, as venues report them (``on_rate``)."""

    def __init__(self):
        self.values = {}  # currency -> (numeraire, Decimal)
        # (source, target) -> rate: Fractions of Decimals cost microseconds, asked every tick
        self._known = {}

    def set(self, currency, numeraire, value):
        value = Decimal(value)
        if not value.is_finite() or value <= 0:
            return False
        old = self.values.get(currency)
        self.values[currency] = (numeraire, value)
        if old == (numeraire, value):
            return False
        self._known.clear()
        return True

    def rate(self, source, target):
        """The exact price of one ``source`` in ``target`` as a Fraction, or None if unknown."""
        key = (source, target)
        if key not in self._known:
            self._known[key] = self._rate(source, target)
        return self._known[key]

    def _rate(self, source, target):
        if source == target:
            return Fraction(1)
        a, b = self.values.get(source), self.values.get(target)
        if a is None and source in {v[0] for v in self.values.values()}:
            a = (source, Decimal(1))
        if b is None and target in {v[0] for v in self.values.values()}:
            b = (target, Decimal(1))
        if a is None or b is None or a[0] != b[0]:
            return None
        return Fraction(a[1]) / Fraction(b[1])

    def as_dict(self):
        return {c: {"numeraire": n, "rate": str(v)} for c, (n, v) in self.values.items()}


class Group:
    """One base asset's consolidated book and the venues (and instruments) feeding it."""

    def __init__(self, base, reference_symbol, reference):
        self.base, self.symbol, self.instrument = base, reference_symbol, reference
        self.book = ConsolidatedBook()
        self.ids = {}  # (venue, symbol) -> venue id in the consolidated book
        self.fx = {}  # (venue, symbol) -> Fraction in use, None while the rate is unknown

    def currency(self):
        return self.instrument.quote


class Market:
    """Books and health of every venue; implements :class:`~liqframe.interfaces.MarketState`.

    ``venues`` maps venue name -> symbols; ``portfolio`` answers :meth:`inventory`."""

    def __init__(self, instruments, venues, portfolio, *, max_lag_ns=None, fees=None):
        self.instruments = dict(instruments)
        self.venue_symbols = {v: list(s) for v, s in venues.items()}
        self.portfolio = portfolio
        self.books = {(v, s): L2Book() for v, symbols in venues.items() for s in symbols}
        self.health = {v: VenueHealth(v) for v in venues}
        self.rates = RateTable()
        self._mid_factors = {}  # symbol -> (rate, its (numerator, denominator) for mid())
        self.groups = {}
        self.crossings = 0
        for symbol, instrument in self.instruments.items():
            self.groups.setdefault(instrument.base, Group(instrument.base, symbol, instrument))
        for venue_id, key in enumerate(self.books):
            venue, symbol = key
            group = self.group(symbol)
            lots = Fraction(self.instruments[symbol].size_increment) / \
                Fraction(group.instrument.size_increment)
            if lots.denominator != 1:
                raise ConfigError(
                    f"instruments: {symbol}'s size_increment must be a whole multiple of "
                    f"{group.symbol}'s ({group.instrument.size_increment}), the grid of the "
                    f"consolidated {group.base} book; list the finer instrument first")
            group.book.add_venue(venue_id, f"{venue}:{symbol}", lot_multiplier=int(lots),
                                 taker_fee_bps=str((fees or {}).get(venue, 0)),
                                 max_lag_ns=max_lag_ns)
            group.book.exclude_venue(venue_id)  # until it has a snapshot and a rate
            group.ids[key] = venue_id
            group.fx[key] = None
        self.weights = {}  # venue -> weight in [0, 1] from the risk models (absent: 1)
        self.changed = None  # an asyncio.Event the host sets up; set on every book change
        #: Counts changes of what the books show (books, views, weights, rates, health):
        #: readers keep an answer made from the market for as long as it stays the same.
        self.version = 0

    def group(self, symbol):
        return self.groups[self.instruments[symbol].base]

    def touch(self):
        self.version += 1
        if self.changed is not None:
            self.changed.set()

    def bump(self):
        """Note a change readers must see without waking the strategies (see ``version``)."""
        self.version += 1

    # -- MarketState --------------------------------------------------------------------

    def best(self, venue, symbol):
        """Best bid and ask on ``venue`` in its ticks; (None, None) while it is stale or down."""
        book = self.books.get((venue, symbol))
        if book is None or book.stale or self.health[venue].status != "up":
            return None, None
        return book.best_bid, book.best_ask

    def mid(self, symbol):
        """Consolidated mid of ``symbol``'s base across venues, in ``symbol``'s ticks (rounded
        down); None when the consolidated book is one-sided or ``symbol``'s rate is unknown."""
        instrument = self.instruments.get(symbol)
        if instrument is None:
            return None
        group = self.groups[instrument.base]
        bid, ask = group.book.best()
        if bid is None or ask is None:
            return None
        rate = self.rates.rate(instrument.quote, group.currency())
        if rate is None:
            return None
        known = self._mid_factors.get(symbol)
        if known is None or known[0] is not rate:  # the rates table makes a new one on a change
            # reference ticks -> reference currency -> symbol currency -> symbol ticks
            factor = Fraction(group.instrument.price_increment) / rate / \
                Fraction(instrument.price_increment)
            known = self._mid_factors[symbol] = (rate, factor.as_integer_ratio())
        numerator, denominator = known[1]
        return (bid + ask) * numerator // (2 * denominator)

    def inventory(self, venue, asset):
        return self.portfolio.inventory(venue, asset)

    # -- RiskState: the extras risk models read ------------------------------------------

    def venues(self):
        return self.venue_symbols

    def instrument(self, symbol):
        return self.instruments[symbol]

    def position(self, venue, symbol):
        position = self.portfolio.positions.get((venue, symbol))
        return position.lots if position is not None else 0

    def value(self, amount, currency, target):
        """``amount`` of ``currency`` in ``target`` (a Decimal), None while the rate is unknown."""
        rate = self.rates.rate(currency, target)
        if rate is None:
            return None
        return Decimal(amount) * rate.numerator / rate.denominator

    def pnl(self, currency):
        """Realised plus unrealised PnL less fees of every position, in ``currency``."""
        total = Decimal(0)
        for (_, symbol), position in self.portfolio.positions.items():
            instrument = self.instruments[symbol]
            gross = (position.realised + position.unrealised(self.mid(symbol))) * \
                Fraction(instrument.asset_unit(instrument.quote))
            amount = Decimal(gross.numerator) / gross.denominator - position.fees
            converted = self.value(amount, instrument.quote, currency)
            if converted is None:
                return None
            total += converted
        return total

    def holdings(self, venue, currency):
        """What we hold on ``venue`` valued in ``currency``; None while a price is unknown."""
        total = Decimal(0)
        for asset, (units, _) in self.portfolio.balances.get(venue, {}).items():
            symbol = next((s for s in self.venue_symbols.get(venue, ())
                           if asset in (self.instruments[s].base, self.instruments[s].quote)),
                          None)
            if symbol is None:
                continue
            instrument = self.instruments[symbol]
            amount = Decimal(units) * instrument.asset_unit(asset)
            if asset == instrument.base:
                mid = self.mid(symbol)
                if mid is None:
                    return None
                amount *= mid * instrument.price_increment
            converted = self.value(amount, instrument.quote, currency)
            if converted is None:
                return None
            total += converted
        return total

    def venue_health(self, venue):
        return self.health[venue].as_dict()

    # -- writers (the normaliser) -------------------------------------------------------

    def refresh_fx(self):
        """Re-price venues whose quote-currency rate changed; bring venues into view once
        their rate is known. Returns the keys whose rate is still unknown."""
        unknown = []
        for group in self.groups.values():
            for key, venue_id in group.ids.items():
                instrument = self.instruments[key[1]]
                rate = self.rates.rate(instrument.quote, group.currency())
                if rate is None:
                    unknown.append(key)
                    continue
                factor = rate * Fraction(instrument.price_increment) / \
                    Fraction(group.instrument.price_increment)
                if factor != group.fx[key]:
                    group.book.set_fx(venue_id, factor)
                    group.fx[key] = factor
                    self.version += 1
                    self.update_view(key)
        return unknown

    def update_view(self, key):
        """Put ``(venue, symbol)`` in the consolidated view when it is up, in sync and priced;
        take it out otherwise."""
        venue, symbol = key
        group = self.group(symbol)
        venue_id = group.ids[key]
        usable = (self.health[venue].status == "up" and not self.books[key].stale
                  and group.fx[key] is not None and self.weights.get(venue, 1) > 0)
        if usable and group.book.venue_state(venue_id)["excluded"]:
            group.book.include_venue(venue_id)
            self.version += 1
        elif not usable and not group.book.venue_state(venue_id)["excluded"]:
            group.book.exclude_venue(venue_id)
            self.version += 1

    def set_weights(self, weights):
        """Apply risk models' venue weights (venue -> [0, 1]): each scales the venue's
        contribution to the weighted view; a venue at 0 leaves the consolidated book."""
        weights = {v: min(1.0, max(0.0, float(w))) for v, w in weights.items()}
        if weights == self.weights:
            return
        self.weights = weights
        self.version += 1
        for group in self.groups.values():
            for key, venue_id in group.ids.items():
                group.book.set_weight(venue_id, repr(weights.get(key[0], 1.0)))
                self.update_view(key)

    def weight(self, venue):
        return self.weights.get(venue, 1.0)

    def drain_crossings(self):
        for group in self.groups.values():
            self.crossings += len(group.book.crossings())

    # -- snapshots for the status display, metrics and the API ---------------------------

    def venue_rows(self):
        """One dict per (venue, symbol): best prices as decimal text, health and lag."""
        rows = []
        for (venue, symbol), book in self.books.items():
            instrument = self.instruments[symbol]
            bid, ask = book.best_bid, book.best_ask  # last known, also while down
            health = self.health[venue]
            rows.append({
                "venue": venue, "symbol": symbol, "status": health.status,
                "ready": health.ready, "stale": book.stale, "reason": health.reason,
                "bid": None if bid is None else instrument.price_text(bid),
                "ask": None if ask is None else instrument.price_text(ask),
                "bid_ticks": bid, "ask_ticks": ask,
                "lag_ms": None if health.lag_ns is None else health.lag_ns / 1e6,
                "weight": self.weights.get(venue, 1.0),
                "gaps": health.gaps, "resyncs": health.resyncs, "connects": health.connects})
        return rows

    def consolidated_rows(self, depth=5):
        """Per base asset: the consolidated best bid/ask and top levels, in the reference
        instrument's prices."""
        result = {}
        for base, group in self.groups.items():
            bid, ask = group.book.best()
            text = group.instrument.price_text
            levels = {}
            for side, name in ((BID, "bids"), (ASK, "asks")):
                top = group.book.top_n(side, depth)
                levels[name] = [[text(int(p)), int(s)] for p, s in
                                zip(np.asarray(top.prices).tolist(),
                                    np.asarray(top.sizes).tolist())]
            result[base] = {"symbol": group.symbol, "currency": group.currency(),
                            "bid": None if bid is None else text(bid),
                            "ask": None if ask is None else text(ask), **levels}
        return result

    def snapshot(self):
        return {"ts_ns": time.time_ns(), "venues": self.venue_rows(),
                "consolidated": self.consolidated_rows(), "rates": self.rates.as_dict(),
                "health": {v: h.as_dict() for v, h in self.health.items()}}
