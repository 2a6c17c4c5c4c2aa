"""L2Book on deep books: the compiled twin keeps the levels near the touch in a window of
directly addressed prices, moved when the touch leaves it, in front of the other levels sorted
in chunks. These streams are wide enough to open, move, drain and close that window, also at
the ends of the int64 range, and to split, merge and empty the chunks at every depth; both
twins must agree with a dict reference at every step."""

import random

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
        for n in (1, 7, 70, 300):
            top = book.top(side, n)
            assert [a.tolist() for a in top] == [
                [p for p, _ in levels[:n]],
                [s for _, s in levels[:n]],
            ]
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
        np.arange(1_000, 0, -1, dtype=I64),
        np.ones(1_000, dtype=I64),
        np.arange(1_001, 2_001, dtype=I64),
        np.ones(1_000, dtype=I64),
    )
    before = [a.tolist() for side in (0, 1) for a in book.levels(side)]
    for bad in [(0, 999, -1), (2, 999, 1), (1, 0, 1)]:
        with pytest.raises(BookError):
            book.apply_and_best(*bad)
        with pytest.raises(BookError):
            book.apply_batch(*columns([(0, 1_000, 0), (1, 1_001, 0), bad]))
    assert [a.tolist() for side in (0, 1) for a in book.levels(side)] == before
    assert book.best_prices() == (1_000, 1_001)


# -- books thousands of levels deep ------------------------------------------------------------
#
# Below its window the compiled twin keeps the levels in chunks of up to 64 (split when full,
# merged when two neighbours run low, freed when empty). These streams change levels at every
# rank, in runs long enough to empty, split and merge chunks, move the window over them, and cut
# the book with snapshots and truncate.

# Bids at base + 1 .. base + DEEP_MID, asks at base + DEEP_MID + 1 .. base + 2 * DEEP_MID.
DEEP_MID = 30_000


def deep_price(side, base, distance):
    """The price ``distance`` ticks out from the mid: bids below it, asks above."""
    return base + DEEP_MID - distance if side == 0 else base + DEEP_MID + 1 + distance


def deep_changes(op, reference, base):
    """The (side, price, size) changes an operation stands for, given the reference book."""
    kind, side, *args = op
    if kind == "scatter":  # single changes at any depth
        return [(side, deep_price(side, base, d), size) for d, size in args[0]]
    if kind == "cut":  # a run of existing levels from some rank on: chunks empty and merge
        rank, n = args
        levels = reference.levels(side)
        return [(side, price, 0) for price, _ in levels[rank : rank + n]]
    if kind == "fill":  # a run of new levels at some depth: chunks fill and split
        distance, n, stride, size = args
        n = min(n, (DEEP_MID - 1 - distance) // stride + 1)  # the run stops at the deep end
        return [(side, deep_price(side, base, distance + i * stride), size) for i in range(n)]
    if kind == "drain":  # the best levels go: the window re-anchors over the chunks
        return [(side, price, 0) for price, _ in reference.levels(side)[: args[0]]]
    # "jump": a new best beyond the touch (or in the middle of an empty side)
    distance, size = args
    levels = reference.levels(side)
    other = reference.levels(1 - side)
    best = levels[0][0] if levels else deep_price(side, base, 5_000)
    price = best + distance if side == 0 else best - distance
    if other and (price >= other[0][0] if side == 0 else price <= other[0][0]):
        return []
    return [(side, price, size)]


deep_distances = st.integers(0, DEEP_MID - 1)
a_side = st.integers(0, 1)
deep_operations = st.one_of(
    st.tuples(
        st.just("scatter"),
        a_side,
        st.lists(st.tuples(deep_distances, st.integers(0, 4)), max_size=60),
    ),
    st.tuples(st.just("cut"), a_side, st.integers(0, 6_000), st.integers(1, 400)),
    st.tuples(
        st.just("fill"),
        a_side,
        deep_distances,
        st.integers(1, 400),
        st.integers(1, 3),
        st.integers(1, 4),
    ),
    st.tuples(st.just("drain"), a_side, st.integers(1, 600)),
    st.tuples(st.just("jump"), a_side, st.integers(1, 2_000), st.integers(1, 4)),
    st.tuples(st.just("snapshot"), st.integers(0, 6_000), st.integers(0, 6_000), st.integers(1, 4)),
    st.tuples(st.just("truncate"), st.integers(0, 3_000)),
)


def perform_deep(book, reference, op, base, batch):
    kind = op[0]
    if kind == "snapshot":
        n_bids, n_asks, stride = op[1:]
        bids = [deep_price(0, base, stride * i) for i in range(n_bids)]
        asks = [deep_price(1, base, stride * i) for i in range(n_asks)]
        book.apply_snapshot(
            *(np.array(a, dtype=I64) for a in (bids[::-1], [1] * n_bids, asks, [2] * n_asks))
        )
        reference.sides = ({p: 1 for p in bids}, {p: 2 for p in asks})
        return
    if kind == "truncate":
        book.truncate(op[1])
        reference.sides = tuple(dict(reference.levels(s)[: op[1]]) for s in (0, 1))
        return
    changes = deep_changes(op, reference, base)
    if batch:
        assert book.apply_batch(*columns(changes))
    else:
        for change in changes:
            book.apply(*change)
    for change in changes:
        reference.set(*change)


@settings(max_examples=60, deadline=None)
@given(
    st.tuples(
        st.just("snapshot"), st.integers(1_000, 6_000), st.integers(1_000, 6_000), st.integers(1, 3)
    ),
    st.lists(st.tuples(deep_operations, st.booleans()), max_size=25),
    st.sampled_from([0, 0, TOP - 2 * DEEP_MID - 1]),
    st.lists(st.tuples(a_side, deep_distances), max_size=8),
)
def test_changes_at_every_rank_agree_with_the_reference(snapshot, ops, base, probes):
    ops = [(snapshot, False), *ops]
    probes = [deep_price(s, base, d) for s, d in probes]
    for module in MODULES:
        book, reference = module.L2Book(), Reference()
        for op, batch in ops:
            perform_deep(book, reference, op, base, batch)
            check(book, reference, probes)
        for s in (0, 1):  # every level is found where it is
            for price, size in reference.sides[s].items():
                assert book.size_at(s, price) == size


@twins
def test_a_deep_book_filled_and_emptied_in_random_order(twin):
    """Levels come one by one at random ranks until the side is 12,000 deep (every chunk
    splits again and again), then go in another random order (chunks merge and empty)."""
    rng = random.Random(7)
    book, reference = twin.L2Book(), Reference()
    prices = list(range(1, 12_001))
    rng.shuffle(prices)
    for i, price in enumerate(prices):
        book.apply(0, price, price % 5 + 1)
        reference.set(0, price, price % 5 + 1)
        if i % 3_001 == 0:
            check(book, reference, prices[:50])
    check(book, reference, prices[:200])
    rng.shuffle(prices)
    for i, price in enumerate(prices):
        book.apply(0, price, 0)
        reference.set(0, price, 0)
        if i % 2_999 == 0 or len(prices) - i < 70:
            check(book, reference, prices[:50])
    assert len(book) == 0 and book.best_prices() == (None, None)
    book.apply(0, 5, 1)
    assert book.levels(0)[0].tolist() == [5]


@twins
def test_deep_changes_leave_the_rest_of_the_book_in_place(twin):
    """A delete and an insert at each rank of a 19,000-level side (the depth of a Coinbase
    BTC-USD book) touch that level only."""
    book, reference = twin.L2Book(), Reference()
    bids = np.arange(100_000, 100_000 - 3 * 19_000, -3, dtype=I64)
    book.apply_snapshot(
        bids, np.ones(bids.size, dtype=I64), np.array([100_001], dtype=I64), np.ones(1, dtype=I64)
    )
    reference.sides = ({int(p): 1 for p in bids}, {100_001: 1})
    for rank in (0, 1, 63, 64, 191, 192, 300, 2_000, 10_000, 18_999):
        price = int(bids[rank])
        for change in ((0, price, 0), (0, price - 1, 9), (0, price, 2)):
            book.apply(*change)
            reference.set(*change)
        assert book.size_at(0, price - 1) == 9 and book.size_at(0, price) == 2
    check(book, reference, [int(p) for p in bids[::997]])


@twins
def test_the_window_moves_back_and_forth_over_a_deep_book(twin):
    """The best levels are drained (the window re-anchors lower, taking levels out of the
    chunks), then the touch jumps far above (the window's levels go below it into new chunks)
    and back: every level must stay where it is found and changed."""
    book, reference = twin.L2Book(), Reference()
    bids = np.arange(20_000, 10_000, -2, dtype=I64)
    book.apply_snapshot(
        bids, np.ones(bids.size, dtype=I64), np.array([40_000], dtype=I64), np.ones(1, dtype=I64)
    )
    reference.sides = ({int(p): 1 for p in bids}, {40_000: 1})
    for drained, jump in ((700, 30_000), (300, 31_000), (1_500, 35_000), (50, 39_000)):
        changes = [(0, price, 0) for price, _ in reference.levels(0)[:drained]]
        changes.append((0, jump, 3))
        for change in changes:
            book.apply(*change)
            reference.set(*change)
        for price in list(reference.sides[0])[::7]:
            assert book.size_at(0, price) == reference.sides[0][price]
            for change in ((0, price, 0), (0, price + 1, 5), (0, price, 4)):
                book.apply(*change)
                reference.set(*change)
        check(book, reference, list(reference.sides[0])[::13])
