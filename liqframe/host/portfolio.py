"""What we hold and what we made: balances and positions per venue, PnL and fees.

Balances are in each asset's smallest unit on the venue
(:meth:`liqframe.model.Instrument.asset_unit`): lots of the base, tick-lots of the quote. The
venue's own balance reports replace ours whenever the host reconciles; in between, every new
fill moves them. Positions are built from fills alone (average cost, exact Fractions): realised
PnL when a position shrinks, unrealised PnL against a mark price, fees in the quote currency.
Replaying the stored fills after a restart rebuilds the same positions.
"""

from decimal import Decimal
from fractions import Fraction

import attrs

from liqframe.model import Side


@attrs.define
class Position:
    """One venue's position in one instrument, in lots and quote tick-lots."""

    venue: str
    symbol: str
    lots: int = 0  # signed: long > 0
    cost: Fraction = Fraction(0)  # quote units paid for the open lots (signed like lots)
    realised: Fraction = Fraction(0)  # quote units, fees excluded
    fees: Decimal = Decimal(0)  # in the quote currency
    fills: int = 0
    bought: int = 0
    sold: int = 0

    def apply(self, side, price, size):
        signed = size if side is Side.BID else -size
        if self.lots == 0 or (self.lots > 0) == (signed > 0):
            self.cost += price * signed
        else:
            closing = min(abs(signed), abs(self.lots))
            average = self.cost / self.lots
            # a long sold at price, or a short bought back at price
            self.realised += (price - average) * closing * (1 if self.lots > 0 else -1)
            self.cost -= average * closing * (1 if self.lots > 0 else -1)
            rest = abs(signed) - closing
            if rest:  # flipped through zero: the rest opens a new position at price
                self.cost = Fraction(price * rest * (1 if signed > 0 else -1))
        self.lots += signed
        if self.lots == 0:
            self.cost = Fraction(0)

    def unrealised(self, mark):
        """Quote units gained if the position were closed at ``mark`` ticks."""
        return mark * self.lots - self.cost if mark is not None else Fraction(0)


class Portfolio:
    """Balances and positions of every venue; ``instruments`` maps symbol -> Instrument."""

    def __init__(self, instruments, venue_symbols):
        self.instruments = dict(instruments)
        self.venue_symbols = {v: list(s) for v, s in venue_symbols.items()}
        self.balances = {v: {} for v in venue_symbols}  # venue -> asset -> [total, available]
        self.positions = {(v, s): Position(v, s) for v, ss in venue_symbols.items() for s in ss}

    def inventory(self, venue, asset):
        entry = self.balances.get(venue, {}).get(asset)
        return entry[0] if entry else 0

    def set_balances(self, venue, balances):
        """Replace ``venue``'s balances by what the venue reported."""
        self.balances[venue] = {b.asset: [b.total, b.available] for b in balances}

    def restore_balances(self, latest):
        """Start from the balances last stored (``{venue: {asset: (total, available)}}``)."""
        for venue, assets in latest.items():
            if venue in self.balances:
                self.balances[venue] = {a: list(v) for a, v in assets.items()}

    def on_fill(self, fill, *, move_balances=True):
        """Count a new fill (the store has already recorded it: never call twice for one)."""
        position = self.positions.get((fill.venue, fill.symbol))
        if position is None:
            position = self.positions[(fill.venue, fill.symbol)] = Position(fill.venue,
                                                                             fill.symbol)
        position.apply(fill.side, fill.price, fill.size)
        position.fees += fill.fee
        position.fills += 1
        if fill.side is Side.BID:
            position.bought += fill.size
        else:
            position.sold += fill.size
        instrument = self.instruments.get(fill.symbol)
        if not move_balances or instrument is None:
            return
        fee_units = int(fill.fee / instrument.asset_unit(instrument.quote)) \
            if fill.fee_currency in ("", instrument.quote) else 0
        notional = fill.price * fill.size
        base_change, quote_change = ((fill.size, -notional - fee_units)
                                     if fill.side is Side.BID else
                                     (-fill.size, notional - fee_units))
        assets = self.balances.setdefault(fill.venue, {})
        for asset, change in ((instrument.base, base_change), (instrument.quote, quote_change)):
            entry = assets.setdefault(asset, [0, 0])
            entry[0] += change
            entry[1] += change

    def rows(self, marks, rates=None, currency=None):
        """One dict per (venue, symbol) for display: inventory, PnL and fees as decimal
        numbers in the instrument's quote currency (floats: display only)."""
        rows = []
        for (venue, symbol), position in self.positions.items():
            instrument = self.instruments[symbol]
            unit = instrument.asset_unit(instrument.quote)
            mark = marks.get(symbol)
            realised = float(position.realised * Fraction(unit))
            unrealised = float(position.unrealised(mark) * Fraction(unit))
            rows.append({
                "venue": venue, "symbol": symbol,
                "base": instrument.base, "quote": instrument.quote,
                "inventory": instrument.size_text(self.inventory(venue, instrument.base)),
                "quote_balance": float(self.inventory(venue, instrument.quote) * unit),
                "position": instrument.size_text(abs(position.lots)) if position.lots >= 0
                else "-" + instrument.size_text(-position.lots),
                "fills": position.fills, "bought": position.bought, "sold": position.sold,
                "realised": realised, "unrealised": unrealised, "fees": float(position.fees),
                "pnl": realised + unrealised - float(position.fees)})
        return rows
