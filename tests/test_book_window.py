"""L2Book on deep books: the compiled twin keeps the levels near the touch in a window of
directly addressed prices in front of a sorted array, moved when the touch leaves it. These
streams are wide enough to open, move, drain and close that window, also at the ends of the
int64 range, and both twins must agree with the dict reference of test_book at every step."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqframe.errors import BookError
from liqframe.testing.twins import resolve_twin, twin_modules

I64 = np.int64
MODULES = [resolve_twin(param.values[0]) for param in twin_modules("book")]
twins = pytest.mark.parametrize("twin", twin_modules("book"), indirect=True)
TOP = 2**63 - 1
# Prices are base + offset with offsets in [1, SPAN]: bids mostly low, asks mostly high.
SPAN = 3_000


class Reference:
    """Two dicts; the levels of a side best first."""

    def __init__(self):
        self.sides = ({}, {})

    def set(self, side, price, size):
        if size:
            self.sides[side][price] = size
        else:
            self.sides[side].pop(price, None)

    def levels(self, side):
        return sorted(self.sides[side].items(), reverse=side == 0)

    def best_prices(self):
        bids, asks = self.sides
        return (max(bids) if bids else None, min(asks) if asks else None)


def columns(changes):
    return [np.array([c[i] for c in changes], dtype=I64) for i in range(3)]


def check(book, reference, probes):
    for side in (0, 1):
        levels = reference.levels(side)
        prices, sizes = book.levels(side)
        assert list(zip(prices.tolist(), sizes.tolist())) == levels
        assert book.count(side) == len(levels)
        assert book.best(side) == (levels[0] if levels else None)
        for n in (1, 7, 70):
            top = book.top(side, n)
            assert [a.tolist() for a in top] == [[p for p, _ in levels[:n]], [s for _, s in
                                                                             levels[:n]]]
        quantity = sum(s for _, s in levels[:40])
        cost = sum(p * s for p, s in levels[:40])
        assert book.fill(side, quantity) == (quantity, cost)
        for price in probes:
            assert book.size_at(side, price) == reference.sides[side].get(price, 0)
    assert book.best_prices() == reference.best_prices()
    assert (book.best_bid, book.best_ask) == reference.best_prices()
    assert len(book) == len(reference.sides[0]) + len(reference.sides[1])


offsets = st.integers(1, SPAN)
near_bid = st.integers(1_000, 1_400)
near_ask = st.integers(1_500, 1_900)
change = st.one_of(
    st.tuples(st.just(0), near_bid, st.integers(0, 3)),
    st.tuples(st.just(1), near_ask, st.integers(0, 3)),
    st.tuples(st.integers(0, 1), offsets, st.integers(0, 3)),
)
operations = st.one_of(
    st.tuples(st.just("apply"), change),
    st.tuples(st.just("batch"), st.lists(change, max_size=120)),
    # the best k levels of a side go: the window drains and refills from the array
    st.tuples(st.just("drain"), st.integers(0, 1), st.integers(1, 400)),
    # a new best far beyond the touch: the window moves to it
    st.tuples(st.just("jump"), st.integers(0, 1), st.integers(1, 1_200), st.integers(1, 3)),
    st.tuples(st.just("truncate"), st.integers(0, 120)),
)
# levels every ``stride`` ticks out from the touch; deep enough to give each side its window
deep_snapshot = st.tuples(
    st.just("snapshot"), st.integers(0, 400), st.integers(0, 400), st.integers(1, 3)
)


def perform(book, reference, op, base):
    kind, *args = op
    if kind == "apply":
        side, offset, size = args[0]
        book.apply(side, base + offset, size)
        reference.set(side, base + offset, size)
    elif kind == "batch":
        changes = [(s, base + o, z) for s, o, z in args[0]]
        assert book.apply_batch(*columns(changes))
        for c in changes:
            reference.set(*c)
    elif kind == "drain":
        side, k = args
        changes = [(side, price, 0) for price, _ in reference.levels(side)[:k]]
        assert book.apply_batch(*columns(changes))
        for c in changes:
            reference.set(*c)
    elif kind == "jump":
        side, distance, size = args
        best = reference.best_prices()[side]
        best = (base + (1_200 if side == 0 else 1_700)) if best is None else best
        price = best + distance if side == 0 else best - distance
        if base < price <= base + SPAN + 1_200:
            assert book.apply_and_best(side, price, size) == (
                reference.set(side, price, size) or reference.best_prices()
            )
    elif kind == "snapshot":
        n_bids, n_asks, stride = args
        bids = [base + 1_450 - stride * i for i in range(n_bids)]
        asks = [base + 1_451 + stride * i for i in range(n_asks)]
        book.apply_snapshot(
            *(np.array(a, dtype=I64) for a in (bids, [1] * len(bids), asks, [2] * len(asks)))
        )
        reference.sides = ({p: 1 for p in bids}, {p: 2 for p in asks})
    else:
        depth = args[0]
        book.truncate(depth)
        reference.sides = tuple(dict(reference.levels(s)[:depth]) for s in (0, 1))


@settings(max_examples=150, deadline=None)
@given(
    deep_snapshot,
    st.lists(st.one_of(operations, deep_snapshot), max_size=30),
    st.sampled_from([0, 0, TOP - SPAN - 1_200]),
    st.lists(offsets, max_size=5),
)
def test_deep_streams_agree_with_the_reference(snapshot, ops, base, probes):
    ops = [snapshot, *ops]
    books = [module.L2Book() for module in MODULES]
    reference = Reference()
    probes = [base + p for p in probes]
    for op in ops:
        before = (dict(reference.sides[0]), dict(reference.sides[1]))
        for i, book in enumerate(books):
            if i:
                reference.sides = (dict(before[0]), dict(before[1]))
            perform(book, reference, op, base)
        for book in books:
            check(book, reference, probes)
    for book in books:  # every level is found where it is, also at the window's edges
        for side in (0, 1):
            for price, size in reference.sides[side].items():
                assert book.size_at(side, price) == size
                assert book.size_at(1 - side, price) == reference.sides[1 - side].get(price, 0)


@twins
def test_a_deep_book_walks_a_long_way(twin):
    """The touch climbs 5,000 ticks one level at a time and falls back: every step moves the
    best, and the window must follow it both ways."""
    book, reference = twin.L2Book(), Reference()
    for price in range(1, 301):
        book.apply(0, price, price)
        reference.set(0, price, price)
    for price in range(301, 5_301):
        assert book.apply_and_best(0, price, 7) == (price, None)
        reference.set(0, price, 7)
    for price in range(5_300, 150, -1):
        book.apply(0, price, 0)
        reference.set(0, price, 0)
        assert book.best_bid == price - 1
    check(book, reference, [1, 150, 151, 4_000])
    book.apply_batch(*columns([(0, p, 0) for p in range(1, 151)]))
    assert len(book) == 0 and book.best_prices() == (None, None)
    book.apply(0, 9, 1)
    assert book.best(0) == (9, 1) and book.levels(0)[0].tolist() == [9]


@twins
def test_bad_changes_leave_a_deep_book_unchanged(twin):
    book = twin.L2Book()
    book.apply_snapshot(
        np.arange(1_000, 0, -1, dtype=I64), np.ones(1_000, dtype=I64),
        np.arange(1_001, 2_001, dtype=I64), np.ones(1_000, dtype=I64),
    )
    before = [a.tolist() for side in (0, 1) for a in book.levels(side)]
    for bad in [(0, 999, -1), (2, 999, 1), (1, 0, 1)]:
        with pytest.raises(BookError):
            book.apply_and_best(*bad)
        with pytest.raises(BookError):
            book.apply_batch(*columns([(0, 1_000, 0), (1, 1_001, 0), bad]))
    assert [a.tolist() for side in (0, 1) for a in book.levels(side)] == before
    assert book.best_prices() == (1_000, 1_001)
