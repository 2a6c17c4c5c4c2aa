"""Plain-data views of a running host for the API and the dashboard (read only).

Prices and sizes leave as decimal strings in the instrument's increments (never floats), so a
client can parse them exactly; PnL, fees and notionals are floats, as in
:meth:`liqframe.host.Host.snapshot` (display only). A tier's ``min_size`` (base-asset units) is
turned into lots of each book's grid, rounded up, so a level is shown only when it holds at
least ``min_size``.
"""

import math
import time
from decimal import Decimal

from liqframe.core import ASK, BID, from_units
from liqframe.host.scheduling import give_way
from liqframe.model import Side, order_fields

VIEWS = ("raw", "weighted", "fees")


def min_lots(min_size: Decimal, instrument):
    """``min_size`` base units in lots of ``instrument``, rounded up (at least 1)."""
    return max(1, math.ceil(min_size / instrument.size_increment))


def _text_of(increment):
    """count -> decimal text on the grid of ``increment``, the same text as
    :meth:`~liqframe.model.Instrument.price_text` but with the scale worked out once."""
    exponent = increment.normalize().as_tuple().exponent
    decimals = max(0, -exponent)
    step = int(increment.scaleb(decimals))
    if step == 1:
        return lambda count: from_units(count, decimals)
    return lambda count: from_units(count * step, decimals)


class _Texts(dict):
    """count -> text, remembered: the prices and sizes of a book's top levels come back push
    after push, and a lookup costs a sixth of working the text out again. Starts afresh when
    full."""

    __slots__ = ("convert", "limit")

    def __init__(self, convert, limit=4096):
        super().__init__()
        self.convert, self.limit = convert, limit

    def __missing__(self, count):
        if len(self) >= self.limit:
            self.clear()
        text = self[count] = self.convert(count)
        return text


_FORMATTERS = {}


def formatters(instrument):
    """``(price_text, size_text)`` of ``instrument``, made once per instrument."""
    entry = _FORMATTERS.get(id(instrument))
    if entry is None or entry[0] is not instrument:
        entry = (instrument, _Texts(_text_of(instrument.price_increment)).__getitem__,
                 _Texts(_text_of(instrument.size_increment)).__getitem__)
        _FORMATTERS[id(instrument)] = entry
    return entry[1], entry[2]


def assets(host):
    return list(host.market.groups)


def _venue_names(group):
    """Consolidated-book venue id -> venue name."""
    return {venue_id: venue for (venue, _), venue_id in group.ids.items()}


def consolidated(host, asset, depth, min_size=Decimal(0), view="raw"):
    """The consolidated book of ``asset``: ``depth`` levels a side, each with its venues'
    sizes, on the grid of the reference instrument; levels under ``min_size`` hidden."""
    result, add_side = _consolidated(host, asset, depth, min_size, view)
    add_side(BID)
    add_side(ASK)
    return result


async def consolidated_in_turns(host, asset, depth, min_size=Decimal(0), view="raw"):
    """:func:`consolidated`, a side a unit of work (:func:`give_way` between them): a side
    costs up to a few tenths of a millisecond of a busy loop."""
    result, add_side = _consolidated(host, asset, depth, min_size, view)
    add_side(BID)
    await give_way()
    add_side(ASK)
    return result


def _consolidated(host, asset, depth, min_size, view):
    """The consolidated book's answer without its levels, and a function that adds a side's."""
    group = host.market.groups[asset]
    instrument = group.instrument
    price_text, size_text = formatters(instrument)
    names = _venue_names(group)
    threshold = min_lots(min_size, instrument)
    book = group.book
    weighted, fees = view == "weighted", view == "fees"
    bid, ask = book.best()
    result = {"asset": asset, "symbol": group.symbol, "currency": group.currency(),
              "view": view, "ts_ns": time.time_ns(), "bids": [], "asks": [],
              "bid": None if bid is None else price_text(bid),
              "ask": None if ask is None else price_text(ask)}

    def add_side(side):
        top = book.top_n(side, depth, weighted=weighted, fees=fees, min_size=threshold)
        venues = [names[v] for v in top.venues]
        result["bids" if side == BID else "asks"] = [
            {"price": price_text(price), "size": size_text(size),
             "venues": {name: size_text(s) for name, s in zip(venues, row) if s}}
            for price, size, row in zip(top.prices.tolist(), top.sizes.tolist(),
                                        top.by_venue.tolist())]

    return result, add_side


def venue_book(host, venue, symbol, depth, min_size=Decimal(0)):
    """``venue``'s own book of ``symbol`` in its prices; levels under ``min_size`` hidden."""
    book = host.market.books[(venue, symbol)]
    instrument = host.market.instruments[symbol]
    price_text, size_text = formatters(instrument)
    threshold = min_lots(min_size, instrument)
    result = {"venue": venue, "symbol": symbol, "stale": book.stale,
              "status": host.market.health[venue].status, "ts_ns": time.time_ns()}
    for side, key in ((BID, "bids"), (ASK, "asks")):
        # read a little deeper than asked so hidden small levels do not shorten the answer
        prices, sizes = book.top(side, depth if threshold <= 1 else depth * 4 + 16)
        levels = [[price_text(p), size_text(s)]
                  for p, s in zip(prices.tolist(), sizes.tolist()) if s >= threshold]
        result[key] = levels[:depth]
    return result


def venue_symbols(host):
    return [(venue, symbol) for venue, symbol in host.market.books]


def bbo(host):
    """Best bid and offer of every venue (its prices) and of each consolidated book."""
    venues = [{"venue": r["venue"], "symbol": r["symbol"], "bid": r["bid"], "ask": r["ask"],
               "status": r["status"], "stale": r["stale"]} for r in host.market.venue_rows()]
    books = {}
    for asset, group in host.market.groups.items():
        bid, ask = group.book.best()
        text = group.instrument.price_text
        books[asset] = {"symbol": group.symbol, "currency": group.currency(),
                        "bid": None if bid is None else text(bid),
                        "ask": None if ask is None else text(ask),
                        "mid": None if bid is None or ask is None else
                        _text((Decimal(text(bid)) + Decimal(text(ask))) / 2)}
    return {"ts_ns": time.time_ns(), "venues": venues, "consolidated": books}


def _order(order, instrument):
    data = order_fields(order)
    for name in ("type", "time_in_force", "status"):
        data[name] = data[name].value
    data["side"] = "buy" if order.side is Side.BID else "sell"
    data["price"] = None if order.price is None else instrument.price_text(order.price)
    data["size"], data["filled"] = instrument.size_text(order.size), \
        instrument.size_text(order.filled)
    return data


def open_orders(host, venue=None):
    instruments = host.market.instruments
    return [_order(o, instruments[o.symbol]) for o in host.orders.open_orders(venue)]


def _stored(host, table, columns, where, params, order, limit):
    """Rows of ``table`` as dicts, newest first, ticks and lots turned into decimal text."""
    cursor = host.store.db.execute(
        f"SELECT {', '.join(columns)} FROM {table} {where} ORDER BY {order} DESC LIMIT ?",
        [*params, limit])
    instruments = host.market.instruments
    rows = []
    for values in cursor.fetchall():
        row = dict(zip(columns, values))
        instrument = instruments.get(row["symbol"])
        for name, text in (("price", "price_text"), ("size", "size_text"),
                           ("filled", "size_text")):
            if name in row:
                row[name] = getattr(instrument, text)(row[name]) if instrument \
                    else str(row[name])
        if "fee" in row:
            row["fee"] = _text(Decimal(row["fee"]))
        rows.append(row)
    return rows


def stored_orders(host, venue=None, limit=100):
    """The latest ``limit`` orders the store holds (any state), newest first."""
    where, params = ("WHERE venue = ?", [venue]) if venue else ("", [])
    return _stored(host, "orders", ("id", "venue", "symbol", "side", "price", "size", "filled",
                                    "status", "venue_order_id", "reason", "created_ns",
                                    "updated_ns"), where, params, "created_ns", limit)


def fills(host, venue=None, limit=100, after_id=0):
    """Stored fills, newest first (``after_id``: only those stored after that row id)."""
    where, params = "WHERE id > ?", [after_id]
    if venue:
        where, params = where + " AND venue = ?", [after_id, venue]
    return _stored(host, "fills", ("id", "venue", "trade_id", "order_id", "symbol", "side",
                                   "price", "size", "fee", "fee_currency", "liquidity",
                                   "event_ns"), where, params, "id", limit)


def balances(host):
    """Each venue's balances as decimal strings of the asset."""
    units = {}
    for instrument in host.market.instruments.values():
        units.setdefault(instrument.base, instrument.asset_unit(instrument.base))
        units.setdefault(instrument.quote, instrument.asset_unit(instrument.quote))
    result = []
    for venue, assets_ in host.portfolio.balances.items():
        for asset, (total, available) in sorted(assets_.items()):
            unit = units.get(asset, Decimal(1))
            result.append({"venue": venue, "asset": asset,
                           "total": _text(total * unit), "available": _text(available * unit)})
    return result


def _text(value: Decimal):
    return format(value.normalize(), "f")


def metrics(host):
    """Per venue and instrument: traded volume, fees, realised and unrealised PnL, inventory,
    exposure (position at the mark), weight and health; plus order counts and totals."""
    weights = {}
    for group in host.market.groups.values():
        for (venue, _), venue_id in group.ids.items():
            weights[venue] = float(group.book.venue_state(venue_id)["weight"])
    marks = {s: host.market.mid(s) for s in host.market.instruments}
    rows = []
    for row in host.venue_rows(marks):
        instrument = host.market.instruments[row["symbol"]]
        position = host.portfolio.positions.get((row["venue"], row["symbol"]))
        mark = marks.get(row["symbol"])
        lots = position.lots if position else 0
        exposure = 0.0 if mark is None else \
            float(lots * mark * instrument.price_increment * instrument.size_increment)
        volume = (position.bought + position.sold) if position else 0
        rows.append({
            "venue": row["venue"], "symbol": row["symbol"], "base": instrument.base,
            "quote": instrument.quote, "status": row["status"], "ready": row["ready"],
            "stale": row["stale"], "lag_ms": row["lag_ms"], "gaps": row["gaps"],
            "resyncs": row["resyncs"], "connects": row["connects"],
            "open_orders": row["open_orders"], "fills": row["fills"],
            "volume": instrument.size_text(volume),
            "position": instrument.size_text(lots) if lots >= 0
            else "-" + instrument.size_text(-lots),
            "inventory": row["inventory"], "exposure": exposure,
            "realised": row["realised"], "unrealised": row["unrealised"], "fees": row["fees"],
            "pnl": row["pnl"], "weight": weights.get(row["venue"], 1.0)})
    manager = host.orders
    return {"ts_ns": time.time_ns(), "run_id": host.run_id, "elapsed_s": host.elapsed(),
            "venues": rows,
            "orders": {"open": len(manager.open_orders()) if manager else 0,
                       "sent": manager.sent if manager else 0,
                       "rejected": manager.rejected if manager else 0,
                       "cancelled": manager.cancelled if manager else 0},
            "crossings": host.market.crossings,
            "totals": _totals(rows)}


def _totals(rows):
    """Fees, realised PnL and PnL summed per quote currency (never across currencies)."""
    totals = {}
    for row in rows:
        entry = totals.setdefault(row["quote"], {"fees": 0.0, "realised": 0.0, "pnl": 0.0,
                                                 "fills": 0})
        for name in entry:
            entry[name] += row[name]
    return totals
