"""L3Book: order-by-order semantics, bad input, the batch replay, and twin agreement."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liqframe import core
from liqframe.errors import BookError, OrderError
from liqframe.testing.twins import twin_modules

pytestmark = pytest.mark.parametrize("twin", twin_modules("l3book"), indirect=True)

BUY, SELL = 1, -1


def snapshot(book, ids):
    """Everything observable about a book, to show a failed call changed nothing."""
    return (len(book), [tuple(a.tolist()) for a in book.depth(50)],
            {i: (book.order(i), book.queue_position(i)) for i in ids if i in book})


def test_add_and_depth_best_first(twin):
    book = twin.L3Book()
    book.add(1, BUY, 100, 10)
    book.add(2, BUY, 101, 5)
    book.add(3, SELL, 103, 7)
    book.add(4, SELL, 102, 1)
    book.add(5, BUY, 100, 2)
    bid_px, bid_sz, ask_px, ask_sz = book.depth(10)
    assert bid_px.tolist() == [101, 100] and bid_sz.tolist() == [5, 12]
    assert ask_px.tolist() == [102, 103] and ask_sz.tolist() == [1, 7]
    assert [a.tolist() for a in book.depth(1)] == [[101], [5], [102], [1]]
    assert book.best(BUY) == 101 and book.best(SELL) == 102
    assert len(book) == 5 and 5 in book and 6 not in book
    assert book.level(BUY, 100) == (12, 0, 2, 0)


def test_partial_cancel_keeps_place_delete_and_execute(twin):
    book = twin.L3Book()
    for order_id in (1, 2, 3):
        book.add(order_id, BUY, 100, 10)
    book.cancel(1, 4)
    assert book.queue_position(1) == (0, 0)
    assert book.queue_position(3) == (2, 16)
    assert book.delete(2) == 10
    book.execute(1, 6)  # fills order 1 completely
    assert 1 not in book and book.queue_position(3) == (0, 0)
    book.execute(3, 10)
    assert len(book) == 0 and book.best(BUY) is None
    assert book.level(BUY, 100) == (0, 0, 0, 0)


def test_iceberg_shows_slices_and_a_new_slice_goes_to_the_back(twin):
    book = twin.L3Book()
    book.add(1, SELL, 50, 25, display=10)
    book.add(2, SELL, 50, 4)
    assert book.level(SELL, 50) == (14, 15, 2, 0)
    assert book.order(1)[2:5] == (10, 15, 10)
    book.execute(1, 10)  # the slice empties: the next 10 show, behind order 2
    assert book.queue_position(1) == (1, 4)
    assert book.order(1)[2:4] == (10, 5)
    book.execute(2, 4)
    book.execute(1, 10)
    assert book.order(1)[2:4] == (5, 0)  # the last slice is what is left
    book.cancel(1, 2)
    assert book.order(1)[2:4] == (3, 0)


def test_iceberg_partial_cancel_takes_reserve_first(twin):
    book = twin.L3Book()
    book.add(1, BUY, 10, 30, display=10)
    book.cancel(1, 15)
    assert book.order(1)[2:4] == (10, 5)
    book.cancel(1, 8)
    assert book.order(1)[2:4] == (7, 0)


def test_hidden_order_is_in_the_book_but_not_in_depth(twin):
    book = twin.L3Book()
    book.add(1, BUY, 99, 40, hidden=True)
    book.add(2, BUY, 98, 3)
    assert [a.tolist() for a in book.depth(5)][:2] == [[98], [3]]
    assert book.best(BUY) == 98 and book.level(BUY, 99) == (0, 40, 1, 0)
    book.execute_hidden(1, 15)
    assert book.order(1)[2:4] == (0, 25)
    with pytest.raises(OrderError, match="order 1: cannot execute 1, only 0 visible"):
        book.execute(1, 1)
    book.execute_hidden(1, 25)
    assert 1 not in book and book.level(BUY, 99) == (0, 0, 0, 0)


def test_seeded_quantity_is_ahead_of_every_order(twin):
    book = twin.L3Book()
    book.seed(SELL, 70, 100)
    book.add(1, SELL, 70, 5)
    assert book.queue_position(1) == (0, 100)
    book.take_unattributed(SELL, 70, 60)
    assert book.level(SELL, 70) == (45, 0, 1, 40)
    with pytest.raises(BookError, match="cannot take 41 unattributed, only 40"):
        book.take_unattributed(SELL, 70, 41)
    book.delete(1)
    book.take_unattributed(SELL, 70, 40)  # the level empties and goes
    assert book.best(SELL) is None and book.level(SELL, 70) == (0, 0, 0, 0)


def test_clear_level_removes_its_orders(twin):
    book = twin.L3Book()
    book.seed(BUY, 5, 3)
    book.add(1, BUY, 5, 1)
    book.add(2, BUY, 5, 2)
    book.add(3, BUY, 4, 2)
    assert book.clear_level(BUY, 5) == [1, 2]
    assert 1 not in book and len(book) == 1 and book.best(BUY) == 4
    assert book.clear_level(BUY, 5) == []


@pytest.mark.parametrize(("call", "message"), [
    (lambda b: b.delete(99), "order 99: not in the book"),
    (lambda b: b.cancel(99, 1), "order 99: not in the book"),
    (lambda b: b.execute(99, 1), "order 99: not in the book"),
    (lambda b: b.add(1, BUY, 100, 5), "order 1: id is already in the book"),
    (lambda b: b.add(7, BUY, 100, 0), "order 7: size must be positive, got 0"),
    (lambda b: b.add(7, BUY, 100, -3), "order 7: size must be positive, got -3"),
    (lambda b: b.add(7, 2, 100, 3), "order 7: side must be 1 \\(buy\\) or -1 \\(sell\\), got 2"),
    (lambda b: b.add(7, BUY, 100, 3, display=-1), "order 7: display must be 0"),
    (lambda b: b.add(7, BUY, 100, 3, display=2, hidden=True), "hidden or an iceberg"),
    (lambda b: b.cancel(1, 0), "order 1: size must be positive, got 0"),
    (lambda b: b.cancel(1, 6), "order 1: cannot cancel 6, only 5 open"),
    (lambda b: b.execute(1, -1), "order 1: size must be positive, got -1"),
    (lambda b: b.execute(1, 6), "order 1: cannot execute 6, only 5 visible"),
    (lambda b: b.execute_hidden(1, 1), "order 1: cannot execute 1 hidden, only 0 hidden"),
])
def test_bad_input_is_a_clear_error_and_changes_nothing(twin, call, message):
    book = twin.L3Book()
    book.add(1, BUY, 100, 5)
    book.add(2, SELL, 105, 5)
    before = snapshot(book, [1, 2, 7])
    with pytest.raises(OrderError, match=message):
        call(book)
    assert snapshot(book, [1, 2, 7]) == before


def test_level_errors(twin):
    book = twin.L3Book()
    with pytest.raises(BookError, match="seed buy 5: size must be positive, got 0"):
        book.seed(BUY, 5, 0)
    with pytest.raises(BookError, match="side must be 1"):
        book.seed(0, 5, 1)
    with pytest.raises(BookError, match="depth: n must be 0 or positive"):
        book.depth(-1)
    with pytest.raises(TypeError):
        book.add(1, BUY, 100.5, 1)  # never a float price


def test_replay_applies_a_stream(twin):
    book = twin.L3Book()
    book.seed(BUY, 100, 50)
    stats = book.replay(
        types=[1, 1, 2, 4, 3, 4, 5, 6, 7],
        ids=[1, 2, 1, 2, 1, 999, 888, 0, 0],
        sizes=[10, 5, 3, 5, 7, 20, 4, 1, 0],
        prices=[100, 101, 100, 101, 100, 100, 100, 100, -1],
        sides=[BUY, BUY, BUY, BUY, BUY, BUY, BUY, BUY, BUY],
        unknown=twin.UNKNOWN_UNATTRIBUTED)
    assert stats == {"applied": 9, "unknown": 2, "shortfall": 0}
    assert len(book) == 0 and book.level(BUY, 100) == (30, 0, 0, 30)


def test_replay_counts_what_the_seed_did_not_cover(twin):
    book = twin.L3Book()
    book.seed(SELL, 10, 5)
    stats = book.replay([4, 3], [1, 2], [3, 9], [10, 11], [SELL, SELL],
                        unknown=twin.UNKNOWN_UNATTRIBUTED)
    assert stats == {"applied": 2, "unknown": 2, "shortfall": 9}


def test_replay_error_names_the_index_and_keeps_what_came_before(twin):
    book = twin.L3Book()
    with pytest.raises(OrderError, match="message 2: order 5: not in the book") as info:
        book.replay([1, 1, 3, 1], [4, 6, 5, 7], [1, 1, 1, 1], [9, 9, 9, 9], [1, 1, 1, 1])
    assert info.value.index == 2
    assert 4 in book and 6 in book and 7 not in book
    with pytest.raises(BookError, match="message 0: unknown message type 9"):
        book.replay([9], [1], [1], [1], [1])
    with pytest.raises(BookError, match="same length"):
        book.replay([1], [1, 2], [1], [1], [1])


# -- twin agreement --------------------------------------------------------------------------

operation = st.one_of(
    st.tuples(st.just("add"), st.integers(1, 30), st.sampled_from([BUY, SELL]),
              st.integers(95, 105), st.integers(-1, 40), st.sampled_from([0, 0, 3, 7]),
              st.booleans()),
    st.tuples(st.just("cancel"), st.integers(1, 30), st.integers(-1, 20)),
    st.tuples(st.just("delete"), st.integers(1, 30)),
    st.tuples(st.just("execute"), st.integers(1, 30), st.integers(-1, 20)),
    st.tuples(st.just("execute_hidden"), st.integers(1, 30), st.integers(1, 20)),
    st.tuples(st.just("seed"), st.sampled_from([BUY, SELL]), st.integers(95, 105),
              st.integers(1, 30)),
    st.tuples(st.just("take_unattributed"), st.sampled_from([BUY, SELL]),
              st.integers(95, 105), st.integers(1, 30)),
    st.tuples(st.just("clear_level"), st.sampled_from([BUY, SELL]), st.integers(95, 105)),
)


def run(book, op):
    name, *args = op
    if name == "add":
        order_id, side, price, size, display, hidden = args
        args = [order_id, side, price, size, display, hidden and not display]
    try:
        return getattr(book, name)(*args)
    except (OrderError, BookError) as error:
        return type(error).__name__, str(error)


def state(book):
    return ([tuple(a.tolist()) for a in book.depth(20)], len(book),
            {i: (book.order(i), book.queue_position(i)) for i in range(1, 31) if i in book},
            {(s, p): book.level(s, p) for s in (BUY, SELL) for p in range(95, 106)})


@given(ops=st.lists(operation, max_size=80))
def test_twins_agree_and_levels_add_up(twin, ops):
    pure = core.load("l3book", compiled=False).L3Book()
    book = twin.L3Book()
    for op in ops:
        assert run(book, op) == run(pure, op)
        assert state(book) == state(pure)
    for side in (BUY, SELL):
        for price in range(95, 106):
            visible, reserve, count, unattributed = book.level(side, price)
            orders = [book.order(i) for i in range(1, 31)
                      if i in book and book.order(i)[:2] == (side, price)]
            assert count == len(orders)
            assert visible == unattributed + sum(o[2] for o in orders)
            assert reserve == sum(o[3] for o in orders)
