"""The queue-position fill backtest on small hand-written event arrays."""

import numpy as np
import pytest

from liqframe import core
from liqframe.backtest.queue import (
    ASK,
    BID,
    DEPTH,
    EVENT_DTYPE,
    TRADE,
    QuoteTouch,
    quote_touch,
    run,
)
from liqframe.errors import InvalidValue
from liqframe.testing.twins import resolve_twin, twin_modules


@pytest.fixture(autouse=True, params=twin_modules("backtest"))
def both_twins(request, monkeypatch):
    """Every test here runs on the pure and on the compiled replay."""
    monkeypatch.setattr(core, "replay_events", resolve_twin(request.param).replay_events)


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
    ({"interval_ns": 0}, "interval_ns"), ({"interval_ns": 1.5}, "interval_ns"),
    ({"order_latency_ns": -1}, "order_latency_ns"), ({"queue_model": "fifo"}, "queue_model"),
    ({"power": 0}, "power"), ({"power": float("nan")}, "power"),
    ({"fee_bps": float("inf")}, "fee_bps"), ({"fee_bps": "1"}, "fee_bps"),
    ({"markout_ns": (0,)}, "markout_ns"), ({"strategy": "touch"}, "strategy"),
    ({"strategy": lambda b, a, q: (b, a)}, "strategy"),
    ({"strategy": lambda b, a, q: (b, a, 0)}, "size"),
    ({"strategy": lambda b, a, q: (99.5, a, 1)}, "bid_px"),
    ({"events": np.zeros(3, [("px", "i8")])}, "events"),
    ({"events": events((DEPTH, 2, 0, 99, 5))}, "events"),
    ({"events": events((DEPTH, BID, 0, 99, -5))}, "events"),
    ({"events": events(*BOOK), "interval_ns": 1, "order_latency_ns": 0}, None),
])
def test_bad_parameters_name_the_parameter(options, field):
    # A decision at 10 ns, before the row at 20, calls the strategy.
    options = {"events": events(*BOOK, (DEPTH, BID, 20, 99, 5)), "strategy": bid_only,
               "interval_ns": 10} | options
    if field is None:  # the valid baseline
        run(options.pop("events"), options.pop("strategy"), **options)
        return
    with pytest.raises(InvalidValue) as caught:
        run(options.pop("events"), options.pop("strategy"), **options)
    assert caught.value.field == field


@pytest.mark.parametrize(("options", "field"), [
    ({"size": 0}, "size"), ({"size": 1.0}, "size"), ({"offset": -1}, "offset"),
    ({"max_position": 0}, "max_position"),
])
def test_quote_touch_checks_its_options(options, field):
    with pytest.raises(InvalidValue) as caught:
        QuoteTouch(**options)
    assert caught.value.field == field


def test_max_position_stops_the_side_that_adds_to_it():
    feed = events(*BOOK, (TRADE, ASK, 15, 98, 1), (TRADE, ASK, 25, 98, 1),
                  (TRADE, ASK, 35, 98, 1))
    # Each trade through 99 fills the bid; at position 2 no bid is sent again.
    result = run(feed, QuoteTouch(size=1, max_position=2), interval_ns=10)
    assert (result.fills, result.position, result.bid_orders) == (2, 2, 2)


# A hand-worked stream (times in ns, exchange time = local time): orders sent at a decision
# arrive 5 ns later, cancels too, so a replaced order can still fill in between.
HAND = [
    (DEPTH, BID, 0, 99, 4), (DEPTH, ASK, 1, 101, 6),
    # decision 10: bid 99 and ask 101, 2 lots each, arriving at 15
    (DEPTH, BID, 12, 99, 7),    # 3 join before our bid arrives: it joins behind 7
    (TRADE, ASK, 16, 99, 3),    # ahead 7 -> 4
    (DEPTH, BID, 18, 99, 4),    # the trade's own decrease: not a cancel in either model
    (DEPTH, BID, 19, 99, 6),    # 2 join behind us
    (DEPTH, BID, 21, 99, 2),    # 4 cancel: conservative ahead min(4, 2) = 2; probabilistic
                                # front 4², back 2² -> 0.8 of 4 from in front: ahead 0.8
    (TRADE, ASK, 23, 99, 2),    # probabilistic fills (0.8 - 2 < 0); conservative ahead 0
    (TRADE, ASK, 24, 99, 1),    # conservative fills: buy 2 @ 99, mid 100
    (DEPTH, ASK, 26, 100, 5),   # mid 99.5; decision 30 re-sends bid 99, moves the ask to 100
    (TRADE, BID, 32, 101, 10),  # the old ask at 101 is still live (6 ahead): sell 2 @ 101
    (DEPTH, BID, 36, 100, 3),   # the new orders are in (bid behind 2, ask behind 5)
    # decision 40: bid to 100, arriving at 45 when the ask is 100: rejected (post-only)
    (DEPTH, ASK, 46, 100, 0),   # our ask at 100 is now first in line; mid 100.5
    # decision 50: bid 100, ask 101 (the old ask at 100 lives until 55)
    (TRADE, BID, 52, 100, 1),   # sell 2 @ 100
    (DEPTH, ASK, 60, 101, 8),   # the bid 100 and the ask 101 arrive
]


@pytest.mark.parametrize("model", ["conservative", "probabilistic"])
def test_hand_worked_stream(model):
    result = run(events(*HAND), quote_touch(2), interval_ns=10, order_latency_ns=5,
                 queue_model=model, fee_bps=10)
    first = 23 if model == "probabilistic" else 24
    assert [tuple(row) for row in result.fill_rows[["ts", "side", "px", "qty", "mid2",
                                                    "position", "sent_ts"]].tolist()] == [
        (first, BID, 99, 2, 200, 2, 10), (32, ASK, 101, 2, 199, 0, 10),
        (52, ASK, 100, 2, 201, -2, 30)]
    assert (result.decisions, result.bid_orders, result.ask_orders, result.rejected) == \
        (6, 4, 3, 1)
    assert (result.position, result.cash, result.last_mid) == (-2, 204, 100.5)
    # Edges against the mid: +1 per lot on the buy, +1.5 and -0.5 on the sells.
    assert result.spread_capture == 2 + 3 - 1
    # Held 2 lots while the mid fell half a tick.
    assert result.inventory_pnl == -1
    assert result.fees == pytest.approx((198 + 202 + 200) * 10 / 10000)
    assert result.pnl == pytest.approx(204 - 2 * 100.5 - 0.6)
    fill = result.fill_stats()
    assert (fill["buys"], fill["sells"], fill["fill_rate"]) == (1, 2, 3 / 7)
    # Position at the decisions 10, 20, ..., 60: 0, 0, 2, 0, 0, -2.
    assert result.inventory_stats() == {"final": -2, "mean": 0.0,
                                        "std": pytest.approx((8 / 6) ** 0.5), "min": -2,
                                        "max": 2, "mean_abs": pytest.approx(4 / 6)}


def test_markouts_use_the_mid_after_each_horizon():
    result = run(events(*HAND), quote_touch(2), interval_ns=10, order_latency_ns=5,
                 markout_ns=(10, 30))
    marks = result.markouts()
    # buy at 24 (mid 100): mid at 34 is 99.5, at 54 is 100.5. sell at 32 (mid 99.5): 100 at
    # 42, past the end (60) at 62. sell at 52 (mid 100.5): 100.5 at 62? past the end.
    assert marks[10]["mid_move"][:2].tolist() == [-0.5, -0.5]
    assert np.isnan(marks[10]["mid_move"][2])
    assert marks[30]["mid_move"][0] == 0.5
    assert np.isnan(marks[30]["mid_move"][1:]).all()
    assert marks[10]["pnl"][:2].tolist() == [0.5, 1.0]
    assert result.markout_summary()["1e-08s"]["fills"] == 2


def test_a_replaced_order_lives_until_its_cancel_arrives():
    feed = events(*BOOK, (DEPTH, BID, 15, 100, 5), (TRADE, ASK, 18, 99, 6))
    # Decision 10: bid 99. Decision 20 would move it, but the trade at 18 comes first.
    assert run(feed, quote_touch(1), interval_ns=10, order_latency_ns=3).fills == 1
    feed = events(*BOOK, (DEPTH, BID, 15, 100, 5), (TRADE, ASK, 23, 99, 6))
    # Decision 20 moves the bid to 100 (arriving 23): the trade at 23 finds the new order.
    result = run(feed, quote_touch(1), interval_ns=10, order_latency_ns=3)
    assert result.fills == 1 and result.fill_rows["px"][0] == 100
    # With 4 ns the cancel of 99 arrives at 24: the trade at 23 fills the old order.
    result = run(feed, quote_touch(1), interval_ns=10, order_latency_ns=4)
    assert result.fills == 1 and result.fill_rows["px"][0] == 99
