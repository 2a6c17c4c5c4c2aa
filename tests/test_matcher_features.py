"""Matching-engine scenarios transcribed from outside Gherkin specifications.

The .feature files (copied byte for byte into tests/data/features, see ATTRIBUTION there) are
the oracle: each table below is their table, row for row, with prices written as in the file
and converted to ticks (0.1 for MultiBitExchange, 1 for exchange-core) by :func:`ticks`.
Brokers and clients become owners; each submission gets the next order id unless the
scenario names one. What the specifications check beyond matching (exchange-core balances and
reserve prices, which are margin rules) is outside the matcher and not transcribed.
"""

import pytest

from liqframe.core import to_units
from liqframe.testing.twins import twin_modules

pytestmark = pytest.mark.parametrize("twin", twin_modules("matcher"), indirect=True)

BUY, SELL = 1, -1
SIDES = {"Buy": BUY, "Sell": SELL, "BID": BUY, "ASK": SELL}


def ticks(text):
    """MultiBitExchange prices have one decimal; they are matched in 0.1 ticks."""
    return to_units(text, 1)


class Desk:
    """Drives a matcher the way a scenario's steps read: brokers submit, we look at trades
    and the book in the scenario's own terms."""

    def __init__(self, twin):
        self.matcher = twin.Matcher()
        self.twin = twin
        self.broker_of = {}
        self.owners = {}
        self.next_id = 1

    def owner(self, broker):
        return self.owners.setdefault(broker, len(self.owners) + 1)

    def submit(self, broker, side, qty, price):
        order_id, self.next_id = self.next_id, self.next_id + 1
        self.broker_of[order_id] = broker
        if price == "M":
            self.matcher.market(order_id, SIDES[side], qty, owner=self.owner(broker))
        else:
            self.matcher.submit(order_id, SIDES[side], ticks(price), qty,
                                owner=self.owner(broker))

    def trades(self):
        """``(buying broker, selling broker, qty, price)`` per fill, in order."""
        out = []
        for fill in self.matcher.take_fills().tolist():
            maker, taker, price, qty, taker_side = fill[0], fill[1], fill[4], fill[5], fill[11]
            buyer, seller = (taker, maker) if taker_side == BUY else (maker, taker)
            out.append((self.broker_of[buyer], self.broker_of[seller], qty, price))
        return out

    def book(self):
        """``(bids, asks)``, each a list of ``(broker, qty, price)`` in priority order."""
        return tuple(
            [(self.broker_of[i], qty, price) for i, qty, price in side_orders(self.matcher,
                                                                                 self.broker_of,
                                                                                 side)]
            for side in (BUY, SELL))


def side_orders(matcher, ids, side):
    """Resting orders of ``side`` among ``ids`` as ``(id, open qty, price)``, best first, oldest
    first within a price, read through the book's public queue_position."""
    rows = []
    for order_id in ids:
        if order_id in matcher:
            o_side, price, visible, reserve = matcher.book.order(order_id)[:4]
            if o_side == side:
                ahead = matcher.book.queue_position(order_id)[0]
                rows.append((-price * side, ahead, order_id, visible + reserve, price))
    return [(order_id, qty, price) for _, _, order_id, qty, price in sorted(rows)]


def expected_book(rows):
    """A MultiBit book table ``Broker | Qty | Price | Price | Qty | Broker`` as (bids, asks)."""
    bids = [(b, int(q), ticks(p)) for b, q, p, _, _, _ in rows if b]
    asks = [(b, int(q), ticks(p)) for _, _, _, p, q, b in rows if b]
    return bids, asks


def expected_trades(rows):
    return [(buyer, seller, int(qty), ticks(price)) for buyer, seller, qty, price in rows]


# -- OrderBook.LimitOrder.Matching.feature -----------------------------------------------------

LIMIT_BACKGROUND = [("A", "Buy", 100, "10.4"), ("B", "Buy", 200, "10.3"),
                    ("C", "Sell", 100, "10.7"), ("D", "Sell", 200, "10.8")]
LIMIT_BACKGROUND_BOOK = [("A", "100", "10.4", "10.7", "100", "C"),
                         ("B", "200", "10.3", "10.8", "200", "D")]


def limit_desk(twin):
    desk = Desk(twin)
    for order in LIMIT_BACKGROUND:
        desk.submit(*order)
    assert desk.trades() == []  # Then no trades are generated
    assert desk.book() == expected_book(LIMIT_BACKGROUND_BOOK)
    return desk


@pytest.mark.parametrize(("buy_limit", "trade_price"), [("10.7", "10.7"), ("10.8", "10.7")])
def test_buy_matches_identical_quantity_sell(twin, buy_limit, trade_price):
    desk = limit_desk(twin)
    desk.submit("E", "Buy", 100, buy_limit)
    assert desk.trades() == expected_trades([("E", "C", "100", trade_price)])
    assert desk.book() == expected_book([("A", "100", "10.4", "10.8", "200", "D"),
                                         ("B", "200", "10.3", "", "", "")])


@pytest.mark.parametrize(("sell_limit", "trade_price"), [("10.4", "10.4"), ("10.3", "10.4")])
def test_sell_matches_identical_quantity_buy(twin, sell_limit, trade_price):
    desk = limit_desk(twin)
    desk.submit("E", "Sell", 100, sell_limit)
    assert desk.trades() == expected_trades([("A", "E", "100", trade_price)])
    assert desk.book() == expected_book([("B", "200", "10.3", "10.7", "100", "C"),
                                         ("", "", "", "10.8", "200", "D")])


def test_sell_larger_than_all_buys_sweeps_and_rests(twin):
    desk = limit_desk(twin)
    desk.submit("Trent", "Sell", 400, "10.2")
    assert desk.trades() == expected_trades([("A", "Trent", "100", "10.4"),
                                             ("B", "Trent", "200", "10.3")])
    assert desk.book() == expected_book([("", "", "", "10.2", "100", "Trent"),
                                         ("", "", "", "10.7", "100", "C"),
                                         ("", "", "", "10.8", "200", "D")])


# -- OrderBook.MarketOrder.Matching.feature ----------------------------------------------------

MARKET_SCENARIOS = {
    "large sell market order fills the book, rest cancelled": (
        [("A", "Buy", 100, "10.7"), ("B", "Buy", 200, "10.6"), ("C", "Buy", 300, "10.5"),
         ("D", "Sell", 650, "M")],
        [("A", "D", "100", "10.7"), ("B", "D", "200", "10.6"), ("C", "D", "300", "10.5")],
        []),
    "small sell market order fills entirely": (
        [("A", "Buy", 100, "10.7"), ("B", "Buy", 200, "10.6"), ("C", "Buy", 300, "10.5"),
         ("D", "Sell", 150, "M")],
        [("A", "D", "100", "10.7"), ("B", "D", "50", "10.6")],
        [("B", "150", "10.6", "", "", ""), ("C", "300", "10.5", "", "", "")]),
    "large buy market order fills the book, rest cancelled": (
        [("A", "Sell", 100, "10.5"), ("B", "Sell", 200, "10.6"), ("C", "Sell", 300, "10.7"),
         ("D", "Buy", 650, "M")],
        [("D", "A", "100", "10.5"), ("D", "B", "200", "10.6"), ("D", "C", "300", "10.7")],
        []),
    "small buy market order fills entirely": (
        [("A", "Sell", 100, "10.5"), ("B", "Sell", 200, "10.6"), ("C", "Sell", 300, "10.7"),
         ("D", "Buy", 150, "M")],
        [("D", "A", "100", "10.5"), ("D", "B", "50", "10.6")],
        [("", "", "", "10.6", "150", "B"), ("", "", "", "10.7", "300", "C")]),
}


@pytest.mark.parametrize("scenario", list(MARKET_SCENARIOS))
def test_market_order_scenarios(twin, scenario):
    orders, trades, book = MARKET_SCENARIOS[scenario]
    desk = Desk(twin)
    for order in orders:
        desk.submit(*order)
    assert desk.trades() == expected_trades(trades)
    assert desk.book() == expected_book(book)
    assert desk.matcher.last_outcome in (twin.FILLED, twin.CANCELLED)


# -- exchange-core basic.feature ---------------------------------------------------------------

ALICE, BOB, CHARLIE = 1, 2, 3


def exchange_core_book(matcher, ids):
    """An exchange-core book table ``bid | price | ask`` as {price: (bid, ask)} per level."""
    levels = {}
    for side in (BUY, SELL):
        for _, qty, price in side_orders(matcher, ids, side):
            bid, ask = levels.get(price, (0, 0))
            levels[price] = (bid + qty, ask) if side == BUY else (bid, ask + qty)
    return levels


def table(rows):
    """Transcribed ``| bid | price | ask |`` rows ('' = empty cell)."""
    return {int(price): (int(bid or 0), int(ask or 0)) for bid, price, ask in rows}


@pytest.mark.parametrize("symbol", ["EUR_USD", "ETH_XBT"])
def test_exchange_core_basic_full_cycle(twin, symbol):
    m = twin.Matcher()
    ids = [101, 102, 201, 202]
    m.submit(101, SELL, 1600, 7, tif=twin.GTC, owner=ALICE)
    m.submit(102, BUY, 1550, 4, tif=twin.GTC, owner=ALICE)
    assert exchange_core_book(m, ids) == table([("", "1600", "7"), ("4", "1550", "")])
    assert len(m.take_fills()) == 0  # And No trade events
    # A client Alice orders: | id | price | size | filled | side |
    assert m.book.order(101)[:3] == (SELL, 1600, 7)
    assert m.book.order(102)[:3] == (BUY, 1550, 4)

    assert m.submit(201, BUY, 1700, 2, tif=twin.IOC, owner=BOB) == 2
    fills = m.take_fills()  # The order 101 is partially matched. LastPx: 1600, LastQty: 2
    assert [(f["maker_id"], f["price"], f["quantity"]) for f in fills] == [(101, 1600, 2)]
    assert 101 in m
    assert exchange_core_book(m, ids) == table([("", "1600", "5"), ("4", "1550", "")])

    assert m.submit(202, BUY, 1583, 4, tif=twin.GTC, owner=BOB) == 0
    assert len(m.take_fills()) == 0
    assert exchange_core_book(m, ids) == table([("", "1600", "5"), ("4", "1583", ""),
                                                ("4", "1550", "")])

    m.amend(101, 5, price=1580)  # Alice moves a price to 1580 of the order 101
    fills = m.take_fills()  # The order 202 is fully matched. LastPx: 1583, LastQty: 4
    assert [(f["maker_id"], f["taker_id"], f["price"], f["quantity"]) for f in fills] == [
        (202, 101, 1583, 4)]
    assert 202 not in m
    assert exchange_core_book(m, ids) == table([("", "1580", "1"), ("4", "1550", "")])


def test_exchange_core_cancel_bid_order(twin):
    m = twin.Matcher()
    m.submit(203, BUY, 18500, 500, tif=twin.GTC, owner=CHARLIE)
    assert m.book.order(203)[:3] == (BUY, 18500, 500)
    assert exchange_core_book(m, [203]) == table([("500", "18500", "")])
    assert m.cancel(203) == 500  # cancels the remaining size 500 of the order 203
    assert 203 not in m and len(m) == 0  # Charlie does not have active orders
