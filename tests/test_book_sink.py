"""BookSink: a venue feed's messages straight into a consolidated book, both twins.

The oracle is ConsolidatedBook.apply_many called by hand with the same columns: a pipe whose
sink is a BookSink (applied in C by the compiled pipe) must leave the consolidated book exactly
as a Python sink calling apply_many does.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqframe.connectors.stats import FeedStats
from liqframe.errors import BookError
from liqframe.testing.twins import resolve_twin, twin_modules

PAIRS = list(zip([resolve_twin(p.values[0]) for p in twin_modules("consolidated")],
                 [resolve_twin(p.values[0]) for p in twin_modules("levels")],
                 [resolve_twin(p.values[0]) for p in twin_modules("book")], strict=True))
pairs = pytest.mark.parametrize(("consolidated", "levels", "book"), PAIRS,
                                ids=[p.id for p in twin_modules("levels")])


def consolidated_book(consolidated):
    book = consolidated.ConsolidatedBook()
    book.add_venue(3, "venue")
    return book


def state(book):
    return [book.venue_levels(3, side).tolist() for side in (0, 1)], book.best()


@pairs
def test_a_pipe_feeds_the_consolidated_book_through_the_sink(consolidated, levels, book):
    target = consolidated_book(consolidated)
    sink = consolidated.BookSink(target, 3)
    batch = levels.LevelBatch(2, 0)
    pipe = levels.BookPipe(book.L2Book(), batch, FeedStats(), "X", sink)
    assert pipe.apply([["100.5", "3"], ["100.4", "1"]], [["100.7", "2"]]) == 1
    assert pipe.apply([["100.4", "0"]], [], event_ns=1_000, received_ns=1_750) == 1
    assert target.best() == (10050, 10070)
    assert target.venue_levels(3, 0).tolist() == [[10050, 3]]
    assert target.venue_state(3)["lag_ns"] == 750


@pairs
def test_unknown_venue_and_wrong_book_fail_at_once(consolidated, levels, book):
    with pytest.raises(BookError, match="7"):
        consolidated.BookSink(consolidated_book(consolidated), 7)
    with pytest.raises(TypeError):
        consolidated.BookSink(object(), 3)


@pairs
def test_without_lag_the_event_time_is_not_sampled(consolidated, levels, book):
    target = consolidated_book(consolidated)
    sink = consolidated.BookSink(target, 3, lag=False)
    sink("X", np.array([0]), np.array([5]), np.array([1]), None, 10, 20)
    assert target.venue_state(3)["lag_ns"] is None
    assert target.best_bid() == 5


changes = st.lists(st.lists(st.tuples(st.integers(0, 1), st.integers(1, 40),
                                      st.integers(0, 5)), min_size=1, max_size=6),
                   max_size=25)


@settings(max_examples=150, deadline=None)
@given(messages=changes)
@pairs
def test_sink_matches_apply_many_by_hand(consolidated, levels, book, messages):
    fed, by_hand = consolidated_book(consolidated), consolidated_book(consolidated)
    batch = levels.LevelBatch(0, 0)
    pipe = levels.BookPipe(book.L2Book(), batch, FeedStats(), "X",
                           consolidated.BookSink(fed, 3))
    for message in messages:
        batch.clear()
        for side, price, size in message:
            batch.add(side, [[str(price), str(size)]])
        pipe.apply_levels(batch)
        table = np.array(message, dtype=np.int64)
        by_hand.apply_many(3, table[:, 0], table[:, 1], table[:, 2])
        assert state(fed) == state(by_hand)
