"""BookPipe: one message parsed, applied, reported, trimmed and checked in one call, both twins
(each with its own book and checksum twin) against the same steps done one by one."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqframe import core
from liqframe.connectors.stats import FeedStats
from liqframe.errors import SequenceGap
from liqframe.testing.twins import resolve_twin, twin_modules

COMPILED = [False] + ([] if core.NO_EXTENSIONS else [True])
NO = -(2**63)


def parts(compiled):
    return tuple(core.load(name, compiled=compiled) for name in ("levels", "book", "checksum"))


def make(compiled, depth=0, kind="okx"):
    levels, book_module, checksum = parts(compiled)
    seen = []
    pipe = levels.BookPipe(book_module.L2Book(), levels.LevelBatch(1, 3), FeedStats(), "X/Y",
                           lambda *call: seen.append((call[0], *[c.tolist() for c in call[1:4]],
                                                      *call[4:])),
                           checksum=checksum.Checksum(kind, 1, 3), depth=depth)
    pipe.book.apply_snapshot(*[column for column in _columns([(1000, 5), (999, 2)])],
                             *_columns([(1001, 4), (1003, 1)]), 7)
    return pipe, seen


def _columns(levels):
    import numpy as np

    return (np.array([p for p, _ in levels], dtype=np.int64),
            np.array([s for _, s in levels], dtype=np.int64))


@pytest.mark.parametrize("compiled", COMPILED)
def test_one_message_in_one_call(compiled):
    pipe, seen = make(compiled)
    levels, _, checksum = parts(compiled)
    expected_book, _ = make(compiled)
    expected_book.book.apply(0, 1000, 0)
    expected_book.book.apply(1, 1002, 7000)
    published = checksum.okx_checksum(expected_book.book, 1, 3)
    assert pipe.apply([["100.0", "0"]], [["100.2", "7"]], 8, 8, 7, 11, 12,
                      published) == levels.APPLIED
    assert seen == [("X/Y", [0, 1], [1000, 1002], [0, 7000], 8, 11, 12)]
    assert pipe.book.top(1, 5)[0].tolist() == [1001, 1002, 1003]
    assert pipe.computed == published
    assert (pipe.stats.applied, pipe.stats.checksums_checked,
            pipe.stats.checksum_failures) == (1, 1, 0)
    # Already in the book: dropped, nothing reported or checked.
    assert pipe.apply([["99.9", "1"]], None, 8, 8, NO, 0, 0, published) == levels.DROPPED
    assert pipe.stats.stale_dropped == 1 and len(seen) == 1
    # A wrong checksum (as text, Kraken v1) is a mismatch, counted.
    assert pipe.apply(None, [["100.5", "1"]], 9, 9, 8, 0, 0, "12345") == levels.MISMATCH
    assert pipe.stats.checksum_failures == 1 and pipe.computed != 12345
    with pytest.raises(SequenceGap):
        pipe.apply(None, [["100.6", "1"]], 11, 11, 10)
    assert pipe.book.stale


@pytest.mark.parametrize("compiled", COMPILED)
def test_bad_text_changes_nothing(compiled):
    pipe, seen = make(compiled)
    before = [column.tolist() for side in (0, 1) for column in pipe.book.top(side, 10)]
    with pytest.raises(ValueError, match="price"):
        pipe.apply([["100.0", "1"]], [["1x", "2"]], 8, 8, 7)
    assert [column.tolist() for side in (0, 1) for column in pipe.book.top(side, 10)] == before
    assert seen == [] and pipe.stats.applied == 0


change = st.tuples(st.sampled_from([0, 1]), st.integers(1, 40), st.integers(0, 9))


@settings(max_examples=150, deadline=None)
@given(messages=st.lists(st.lists(change, max_size=5), max_size=8), depth=st.integers(0, 4),
       kind=st.sampled_from(["okx", "bitget", "kraken"]))
def test_twins_agree_with_the_steps_one_by_one(messages, depth, kind):
    results = []
    for compiled in COMPILED:
        pipe, seen = make(compiled, depth, kind)
        steps, _ = make(compiled, depth, kind)
        _, _, checksum = parts(compiled)
        codes = []
        for i, message in enumerate(messages):
            bids = [[f"{p / 10:.1f}", str(s)] for side, p, s in message if side == 0]
            asks = [[f"{100 + p / 10:.1f}", str(s)] for side, p, s in message if side == 1]
            for price_text, size_text in bids:
                steps.book.apply(0, int(round(float(price_text) * 10)), int(size_text) * 1000)
            for price_text, size_text in asks:
                steps.book.apply(1, int(round(float(price_text) * 10)), int(size_text) * 1000)
            if depth:
                steps.book.truncate(depth)
            published = checksum.Checksum(kind, 1, 3)(steps.book) + (i % 3 == 2)
            codes.append(pipe.apply(bids, asks, 8 + i, 8 + i, 7 + i, 0, 0, published))
            assert codes[-1] == (2 if i % 3 == 2 else 1)
        book = [column.tolist() for side in (0, 1) for column in pipe.book.top(side, 100)]
        assert book == [column.tolist() for side in (0, 1) for column in steps.book.top(side, 100)]
        results.append((codes, seen, book, pipe.stats.as_dict()))
    assert all(result == results[0] for result in results)


def test_core_exports_the_compiled_pipe_when_built():
    expected = resolve_twin(twin_modules("levels")[-1].values[0])
    assert core.BookPipe is expected.BookPipe
