"""The queue-position fill backtest on small hand-written event arrays."""

import numpy as np
import pytest

from liqframe.backtest.queue import ASK, BID, DEPTH, EVENT_DTYPE, TRADE, quote_touch, run
from liqframe.errors import InvalidValue


def events(*rows):
    array = np.zeros(len(rows), EVENT_DTYPE)
    array[:] = [(kind, side, ts, ts, px, qty) for kind, side, ts, px, qty in rows]
    return array


BOOK = [(DEPTH, BID, 0, 99, 5), (DEPTH, ASK, 1, 101, 5)]


def bid_only(best_bid, best_ask, position):
    return best_bid, None, 1


def test_fills_once_the_queue_ahead_has_traded():
    feed = events(*BOOK, (TRADE, ASK, 50, 99, 5), (TRADE, ASK, 60, 99, 1))
    result = run(feed, bid_only, interval_ns=10)
    # Joined behind 5 lots at 10 ns; 5 traded (queue now 0, not filled), then 1 more fills us.
    assert (result.fills, result.position, result.cash) == (1, 1, -99)


def test_latency_delays_joining_the_queue():
    feed = events(*BOOK, (DEPTH, BID, 30, 99, 10), (TRADE, ASK, 80, 99, 6))
    # Without latency the bid joins at 10 ns behind 5 lots: 6 traded fill it.
    assert run(feed, bid_only, interval_ns=10).fills == 1
    # 25 ns of order latency: it joins at 35 ns, behind the 10 lots there by then.
    assert run(feed, bid_only, interval_ns=10, order_latency_ns=25).fills == 0


def test_a_trade_through_the_price_fills():
    feed = events(*BOOK, (TRADE, ASK, 50, 98, 1))
    assert run(feed, bid_only, interval_ns=10).fills == 1


def test_conservative_ignores_cancels_probabilistic_moves_up():
    feed = events((DEPTH, BID, 0, 99, 10), (DEPTH, ASK, 1, 101, 5),
                  (DEPTH, BID, 20, 99, 20), (DEPTH, BID, 30, 99, 12),
                  (TRADE, ASK, 40, 99, 7))
    # Our bid joins at 10 ns behind 10 lots; 10 join behind us (level 20); 8 cancel (level 12).
    conservative = run(feed, bid_only, interval_ns=10, order_latency_ns=0)
    assert conservative.fills == 0  # still 10 ahead, 7 traded
    # Power 2: front 10, back 10 -> half of the 8 came from in front: 6 ahead, 7 traded.
    probabilistic = run(feed, bid_only, interval_ns=10, queue_model="probabilistic")
    assert probabilistic.fills == 1


def test_level_shrinking_below_the_queue_caps_it():
    feed = events(*BOOK, (DEPTH, BID, 20, 99, 2), (TRADE, ASK, 30, 99, 3))
    assert run(feed, bid_only, interval_ns=10).fills == 1


def test_quote_touch_round_trip_marks_to_the_mid():
    feed = events(*BOOK, (TRADE, ASK, 50, 98, 1), (TRADE, BID, 60, 102, 1))
    result = run(feed, quote_touch(1), interval_ns=10)
    assert (result.fills, result.position, result.pnl) == (2, 0, 2)


@pytest.mark.parametrize(("options", "field"), [
    ({"interval_ns": 0}, "interval_ns"), ({"order_latency_ns": -1}, "order_latency_ns"),
    ({"queue_model": "fifo"}, "queue_model"), ({"power": 0}, "power"),
])
def test_bad_parameters_name_the_parameter(options, field):
    with pytest.raises(InvalidValue) as caught:
        run(events(*BOOK), bid_only, **({"interval_ns": 10} | options))
    assert caught.value.field == field
