"""The Bitfinex v2 ``R0`` (order-by-order) tBTCUSD recording replayed through the L3Book.

Each message is ``[chanId, [order_id, price, amount]]``: price 0 deletes the order, amount > 0
is a bid, amount < 0 an ask; the first data message is a snapshot list of such triples. An id
already in the book with a price is an update: a smaller size at the same price keeps the
queue place (a partial fill or cancel), anything else re-queues the order. Prices and amounts
are parsed from the JSON text straight to 8-decimal integers, never through float.

The file (read from ../shared/data, 3.7 MB) is the oracle: every delete must name an order
the book holds, and the book never holds more than 25 orders a side (the subscription's
``len``). The data README counts 21 transient crossed states.
"""

import json

import pytest

from liqframe.core import to_units
from liqframe.testing.data import recording_path
from liqframe.testing.twins import twin_modules

pytestmark = pytest.mark.parametrize("twin", twin_modules("l3book"), indirect=True)

DECIMALS = 8


def feed():
    """The data messages as ``(order_id, price, amount)`` int triples, snapshot first."""
    text = recording_path("nautilus_trader", "L3_feed.json").read_text()
    messages = json.loads(text, parse_float=str, parse_int=str)
    for message in messages:
        if not isinstance(message, list) or message[1] == "hb":
            continue
        body = message[1]
        for entry in body if isinstance(body[0], list) else [body]:
            order_id, price, amount = entry
            yield int(order_id), to_units(price, DECIMALS), to_units(amount, DECIMALS)


def apply(book, order_id, price, amount):
    if price == 0:
        book.delete(order_id)  # an unknown id raises OrderError and fails the test
        return
    side, size = (1, amount) if amount > 0 else (-1, -amount)
    if order_id in book:
        old_side, old_price, visible = book.order(order_id)[:3]
        if (old_side, old_price) == (side, price) and size < visible:
            book.cancel(order_id, visible - size)
            return
        book.delete(order_id)
    book.add(order_id, side, price, size)


def test_bitfinex_l3_feed_replays_with_no_unknown_ids(twin):
    book = twin.L3Book()
    sides = {1: set(), -1: set()}
    crossed = messages = 0
    for order_id, price, amount in feed():
        apply(book, order_id, price, amount)
        messages += 1
        for ids in sides.values():
            ids.discard(order_id)
        if price:
            sides[1 if amount > 0 else -1].add(order_id)
        assert len(sides[1]) <= 25 and len(sides[-1]) <= 25
        bid, ask = book.best(1), book.best(-1)
        crossed += bid is not None and ask is not None and bid >= ask
    assert messages > 99_000
    assert len(book) == len(sides[1]) + len(sides[-1])
    assert crossed == 21
