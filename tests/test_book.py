"""L2Book: unit tests on both twins, and a Hypothesis differential test in which the compiled
twin, the pure twin and a naive dict-based reference must agree on random streams."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqframe.errors import BookError, SequenceGap
from liqframe.testing.twins import resolve_twin, twin_modules

twins = pytest.mark.parametrize("twin", twin_modules("book"), indirect=True)
I64 = np.int64


def arr(*values, dtype=I64):
    return np.array(values, dtype=dtype)


def state(book):
    """Everything observable about a book's contents, as plain lists."""
    return (
        [a.tolist() for a in book.levels(0)],
        [a.tolist() for a in book.levels(1)],
        book.sequence,
        book.stale,
    )


def loaded(twin, sequence=None):
    """Bids 100/99/98 (sizes 1/2/3), asks 101/102/104 (sizes 4/5/6)."""
    book = twin.L2Book()
    book.apply_snapshot(
        arr(100, 99, 98),
        arr(1, 2, 3),
        arr(101, 102, 104),
        arr(4, 5, 6),
        twin.NO_SEQUENCE if sequence is None else sequence,
    )
    return book


# -- changes -------------------------------------------------------------------------------


@twins
def test_constants(twin):
    assert (twin.BID, twin.ASK, twin.NO_SEQUENCE) == (0, 1, -(2**63))


@twins
def test_empty_book(twin):
    book = twin.L2Book()
    assert len(book) == 0 and book.best_bid is None and book.best_ask is None
    assert book.best(twin.BID) is None and book.best_prices() == (None, None)
    prices, sizes = book.top(twin.ASK, 10)
    assert prices.dtype == np.int64 and sizes.dtype == np.int64 and len(prices) == 0
    assert book.depth(twin.BID, 100) == 0
    assert book.fill(twin.ASK, 5) == (0, 0) and book.average_price(twin.ASK, 5) is None
    assert not book.crossed and not book.stale and book.sequence is None
    assert repr(book) == (
        "L2Book(bids=0, asks=0, best_bid=None, best_ask=None, sequence=None, stale=False)"
    )


@twins
def test_insert_update_delete(twin):
    book = twin.L2Book()
    book.apply(twin.BID, 100, 5)
    book.apply(twin.BID, 101, 1)
    book.apply(twin.ASK, 103, 2)
    book.apply(twin.ASK, 102, 3)
    assert book.best(twin.BID) == (101, 1) and book.best(twin.ASK) == (102, 3)
    book.apply(twin.BID, 100, 7)  # update in place
    book.apply(twin.ASK, 102, 0)  # delete the touch
    book.apply(twin.ASK, 999, 0)  # deleting a level that is not there is not an error
    assert state(book) == ([[101, 100], [1, 7]], [[103], [2]], None, False)
    assert book.size_at(twin.BID, 100) == 7 and book.size_at(twin.ASK, 102) == 0
    assert book.count(twin.BID) == 2 and book.count(twin.ASK) == 1 and len(book) == 3
    assert book.best_prices() == (101, 103)


@twins
@pytest.mark.parametrize(
    ("side", "price", "size", "message"),
    [
        (2, 100, 1, "side: 2 is not BID (0) or ASK (1)"),
        (-1, 100, 1, r"side: -1 is not BID \(0\) or ASK \(1\)"),
        (0, 0, 1, "price: 0 is not positive"),
        (1, -5, 1, "price: -5 is not positive"),
        (0, 100, -1, "size: -1 is negative"),
        (0, 1.5, 1, "price: 1.5 is not an integer"),
        (0, "100", 1, "price: '100' is not an integer"),
        (0, 2**63, 1, "price: 9223372036854775808 is out of the 64-bit range"),
        (0, 100, -(2**63) - 1, "size: -9223372036854775809 is out of the 64-bit range"),
        (None, 100, 1, "side: None is not an integer"),
    ],
)
def test_bad_changes_leave_the_book_unchanged(twin, side, price, size, message):
    book = loaded(twin)
    before = state(book)
    with pytest.raises(
        BookError,
        match=message.replace("(", r"\(").replace(")", r"\)") if "\\" not in message else message,
    ):
        book.apply(side, price, size)
    assert state(book) == before


@twins
def test_apply_and_best_returns_the_touch_after_the_change(twin):
    book = loaded(twin)
    assert book.apply_and_best(twin.BID, 97, 1) == (100, 101)  # below the touch
    assert book.apply_and_best(twin.ASK, 101, 0) == (100, 102)  # the best ask goes
    assert book.apply_and_best(twin.BID, 100, 9) == (100, 102)  # the best bid's size
    assert book.best(twin.BID) == (100, 9)
    for price in (100, 99, 98, 97):
        book.apply(twin.BID, price, 0)
    assert book.apply_and_best(twin.ASK, 102, 0) == (None, 104)
    assert book.best_prices() == (None, 104)
    with pytest.raises(BookError, match="size: -1 is negative"):
        book.apply_and_best(twin.ASK, 104, -1)
    book.mark_stale()
    with pytest.raises(BookError, match="stale"):
        book.apply_and_best(twin.ASK, 104, 1)
    assert book.best_prices() == (None, 104)


@twins
def test_numpy_integers_are_accepted(twin):
    book = twin.L2Book()
    book.apply(np.int64(0), np.int64(100), np.int32(5))
    assert book.best(twin.BID) == (100, 5)


@twins
def test_batch_applies_in_order(twin):
    book = loaded(twin)
    applied = book.apply_batch(arr(0, 0, 1, 1, 0), arr(100, 97, 101, 103, 97), arr(0, 8, 9, 1, 2))
    assert applied is True
    assert state(book) == (
        [[99, 98, 97], [2, 3, 2]],
        [[101, 102, 103, 104], [9, 5, 1, 6]],
        None,
        False,
    )


@twins
def test_batch_accepts_strided_and_readonly_arrays(twin):
    book = twin.L2Book()
    changes = np.array([[0, 100, 5], [1, 101, 6], [0, 99, 7]], dtype=I64)
    changes.flags.writeable = False
    book.apply_batch(changes[:, 0], changes[:, 1], changes[:, 2])
    book.apply_batch(arr(1, 0, 1)[::-2], arr(105, 0, 106)[::-2], arr(1, 0, 2)[::-2])
    assert state(book) == ([[100, 99], [5, 7]], [[101, 105, 106], [6, 1, 2]], None, False)


@twins
@pytest.mark.parametrize(
    ("sides", "prices", "sizes", "message"),
    [
        (arr(0, 1), arr(100, 101), arr(1, -3), r"sizes\[1\]: -3 is negative"),
        (arr(0, 2), arr(100, 101), arr(1, 1), r"sides\[1\]: 2 is not BID"),
        (arr(0, 1), arr(0, 101), arr(1, 1), r"prices\[0\]: 0 is not positive"),
        (
            arr(0, 1),
            arr(100.0, 101.0, dtype=np.float64),
            arr(1, 1),
            "prices: expected a 1-dimensional int64 array, got 1-dimensional array of dtype "
            "float64",
        ),
        (arr(0, 1), arr(100, 101, dtype=np.int32), arr(1, 1), "dtype int32"),
        (arr(0, 1), arr(100, 101, dtype=">i8"), arr(1, 1), "dtype >i8"),
        ([0, 1], arr(100, 101), arr(1, 1), "sides: expected .* got list"),
        (arr(0, 1), np.array([[100, 101]], dtype=I64), arr(1, 1), "2-dimensional"),
        (arr(0, 1), arr(100), arr(1, 1), "prices: length 1 differs from the 2 of sides"),
        (arr(0, 1), arr(100, 101), arr(1, 1, 1), "sizes: length 3 differs from the 2 of sides"),
    ],
)
def test_bad_batches_leave_the_book_unchanged(twin, sides, prices, sizes, message):
    book = loaded(twin, sequence=10)
    before = state(book)
    with pytest.raises(BookError, match=message):
        book.apply_batch(sides, prices, sizes, 11)
    assert state(book) == before  # the sequence did not move either


@twins
def test_large_batches_grow_and_shrink(twin):
    """Thousands of levels in and out, against single calls on a second book."""
    rng = np.random.default_rng(7)
    sides = rng.integers(0, 2, 5000).astype(I64)
    prices = np.where(sides == 0, rng.integers(1, 3000, 5000), rng.integers(3000, 6000, 5000))
    sizes = np.where(rng.random(5000) < 0.3, 0, rng.integers(1, 100, 5000)).astype(I64)
    batched, single = twin.L2Book(), twin.L2Book()
    batched.apply_batch(sides, prices.astype(I64), sizes)
    for side, price, size in zip(sides.tolist(), prices.tolist(), sizes.tolist()):
        single.apply(side, price, size)
    assert state(batched) == state(single)
    reference = ({}, {})
    for side, price, size in zip(sides.tolist(), prices.tolist(), sizes.tolist()):
        if size:
            reference[side][price] = size
        else:
            reference[side].pop(price, None)
    for side in (0, 1):
        levels = sorted(reference[side].items(), reverse=side == 0)
        assert [a.tolist() for a in batched.levels(side)] == [
            [p for p, _ in levels],
            [z for _, z in levels],
        ]
    deletes = np.zeros(5000, dtype=I64)
    batched.apply_batch(sides, prices.astype(I64), deletes)
    assert len(batched) == 0


# -- snapshots ------------------------------------------------------------------------------


@twins
def test_snapshot_in_any_order_replaces_the_book(twin):
    book = loaded(twin)
    book.apply_snapshot(arr(5, 9, 7), arr(1, 0, 3), arr(12, 10, 11), arr(1, 2, 0), 42)
    assert state(book) == ([[7, 5], [3, 1]], [[10, 12], [2, 1]], 42, False)
    book.apply_snapshot(arr(), arr(), arr(3), arr(1))
    assert state(book) == ([[], []], [[3], [1]], None, False)


@twins
@pytest.mark.parametrize(
    ("snapshot", "message"),
    [
        ((arr(100, 99), arr(1, -2), arr(101), arr(1)), r"bid_sizes\[1\]: -2 is negative"),
        ((arr(100), arr(1), arr(101, 0), arr(1, 1)), r"ask_prices\[1\]: 0 is not positive"),
        ((arr(100, 98, 100), arr(1, 1, 1), arr(101), arr(1)), r"bid_prices\[2\]: 100 appears"),
        ((arr(100), arr(1), arr(105, 101, 103, 101), arr(1, 1, 1, 0)), r"ask_prices\[3\]: 101"),
        ((arr(100), arr(1), arr(100), arr(1)), "snapshot: crossed, best bid 100 >= best ask 100"),
        ((arr(103, 99), arr(1, 1), arr(101), arr(1)), "crossed, best bid 103 >= best ask 101"),
        ((arr(100), arr(1, 2), arr(101), arr(1)), "bid_sizes: length 2 differs from the 1 of"),
        ((arr(100), arr(1), arr(101.0, dtype=float), arr(1)), "ask_prices: expected"),
    ],
)
def test_bad_snapshots_leave_the_book_unchanged(twin, snapshot, message):
    book = loaded(twin, sequence=5)
    book.mark_stale()
    before = state(book)
    with pytest.raises(BookError, match=message):
        book.apply_snapshot(*snapshot, 9)
    assert state(book) == before


@twins
def test_zero_size_levels_do_not_cross(twin):
    book = twin.L2Book()
    book.apply_snapshot(arr(100, 105), arr(1, 0), arr(101), arr(1))
    assert book.best_prices() == (100, 101)


@twins
def test_truncate(twin):
    book = loaded(twin)
    book.truncate(2)
    assert state(book) == ([[100, 99], [1, 2]], [[101, 102], [4, 5]], None, False)
    book.truncate(0)
    assert len(book) == 0
    with pytest.raises(BookError, match="depth: -1 is negative"):
        book.truncate(-1)


# -- sequence numbers -------------------------------------------------------------------------


@twins
def test_contiguous_messages_then_a_gap(twin):
    book = loaded(twin, sequence=10)
    assert book.advance(11) and book.advance(12, 15) and book.sequence == 15
    assert book.advance(14, 15) is False  # already in the book: dropped
    with pytest.raises(SequenceGap, match="expected 16, received 18") as info:
        book.advance(18)
    assert (info.value.expected, info.value.received) == (16, 18)
    assert book.stale and book.sequence == 15


@twins
def test_a_stale_book_refuses_everything_until_a_snapshot(twin):
    book = loaded(twin, sequence=10)
    with pytest.raises(SequenceGap):
        book.apply_batch(arr(0), arr(100), arr(9), 12)
    before = state(book)
    assert before[3] is True and book.size_at(twin.BID, 100) == 1  # nothing of it applied
    for refused in (
        lambda: book.apply(twin.BID, 100, 1),
        lambda: book.apply_batch(arr(0), arr(100), arr(1)),
        lambda: book.advance(11),
    ):
        with pytest.raises(BookError, match="stale"):
            refused()
    assert state(book) == before
    book.apply_snapshot(arr(1), arr(1), arr(2), arr(1), 20)
    assert not book.stale and book.advance(21)


@twins
def test_previous_id_chains(twin):
    """OKX prevSeqId / Deribit prev_change_id / Binance futures pu."""
    book = loaded(twin, sequence=100)
    assert book.advance(105, 105, previous=100)
    assert book.advance(105, 105, previous=105)  # OKX heartbeat: same id, nothing new
    assert book.advance(3, 3, previous=105)  # OKX sequence reset: the chain still holds
    assert book.sequence == 3
    with pytest.raises(SequenceGap, match="previous id 4 does not follow the book's 3") as info:
        book.advance(9, 9, previous=4)
    assert (info.value.expected, info.value.received) == (3, 4)


@twins
def test_first_message_after_a_snapshot_may_straddle_it(twin):
    """Binance: the first event after lastUpdateId=10 may be U=8, u=14; the next must be
    contiguous, not straddling."""
    book = loaded(twin, sequence=10)
    assert book.advance(3, 10) is False
    assert book.advance(8, 14) and book.sequence == 14
    with pytest.raises(SequenceGap):
        book.advance(12, 20)
    futures = loaded(twin, sequence=10)
    assert futures.advance(11, 12, previous=7)  # pu need not be the snapshot id to bridge
    assert futures.advance(13, 15, previous=12)


@twins
def test_messages_without_ids_and_books_without_a_sequence(twin):
    book = loaded(twin)
    assert book.advance(twin.NO_SEQUENCE) and book.sequence is None
    assert book.advance(500) and book.sequence == 500  # the first id is adopted
    assert book.apply_batch(arr(0), arr(100), arr(3)) and book.sequence == 500
    with pytest.raises(BookError, match="last: 4 is below first 5"):
        book.advance(5, 4)
    with pytest.raises(BookError, match="first: 'x' is not an integer"):
        book.advance("x")


# -- reads -------------------------------------------------------------------------------------


@twins
def test_top(twin):
    book = loaded(twin)
    prices, sizes = book.top(twin.BID, 2)
    assert prices.tolist() == [100, 99] and sizes.tolist() == [1, 2]
    assert [a.tolist() for a in book.top(twin.ASK, 10)] == [[101, 102, 104], [4, 5, 6]]
    assert [a.tolist() for a in book.top(twin.ASK, 0)] == [[], []]
    with pytest.raises(BookError, match="n: -1 is negative"):
        book.top(twin.ASK, -1)
    with pytest.raises(BookError, match="side: 3 is not"):
        book.top(3, 1)


@twins
def test_top_into_fills_the_callers_arrays(twin):
    book = loaded(twin)
    prices, sizes = np.full(4, -1, dtype=I64), np.full(4, -1, dtype=I64)
    assert book.top_into(twin.ASK, prices, sizes) == 3
    assert prices.tolist() == [101, 102, 104, -1] and sizes.tolist() == [4, 5, 6, -1]
    columns = np.zeros((2, 2), dtype=I64)
    assert book.top_into(twin.BID, columns[:, 0], columns[:, 1]) == 2
    assert columns.tolist() == [[100, 1], [99, 2]]
    readonly = np.zeros(2, dtype=I64)
    readonly.flags.writeable = False
    with pytest.raises(BookError, match="prices: the array is read-only"):
        book.top_into(twin.BID, readonly, sizes)
    with pytest.raises(BookError, match="sizes: length 4 differs from the 2 of prices"):
        book.top_into(twin.BID, columns[:, 0].copy(), sizes)
    with pytest.raises(BookError, match="sizes: expected a 1-dimensional int64 array"):
        book.top_into(twin.BID, prices, sizes.astype(float))


@twins
def test_depth_within_bps_of_mid(twin):
    book = twin.L2Book()
    book.apply_snapshot(
        arr(10000, 9990, 9950), arr(1, 2, 4), arr(10010, 10020, 10100), arr(8, 16, 32)
    )
    # mid 10005: 20 bps is 20.01 either side
    assert book.depth(twin.BID, 20) == 1 + 2
    assert book.depth(twin.ASK, 20) == 8 + 16
    assert book.depth(twin.BID, 10) == 1
    assert book.depth(twin.ASK, 0) == 0
    assert book.depth(twin.BID, 1000) == 7 and book.depth(twin.ASK, 1e9) == 56
    for bad in (-1, float("nan"), float("inf"), "5"):
        with pytest.raises(BookError, match="bps: .* is not a finite number >= 0"):
            book.depth(twin.BID, bad)


@twins
def test_fill_and_average_price(twin):
    book = loaded(twin)
    assert book.fill(twin.ASK, 6) == (6, 4 * 101 + 2 * 102)
    assert book.fill(twin.BID, 100) == (6, 100 * 1 + 99 * 2 + 98 * 3)
    assert book.fill(twin.ASK, 0) == (0, 0)
    assert book.average_price(twin.ASK, 6) == (4 * 101 + 2 * 102) / 6
    with pytest.raises(BookError, match="size: -2 is negative"):
        book.fill(twin.ASK, -2)


@twins
def test_costs_and_depths_past_int64_are_exact(twin):
    big = 2**63 - 1
    book = twin.L2Book()
    book.apply_snapshot(arr(1, 2), arr(big, big), arr(big - 1, big), arr(big // 2, big))
    cost = (big - 1) * (big // 2) + big * (big - big // 2)
    assert book.fill(twin.ASK, big) == (big, cost)
    assert book.depth(twin.BID, 1e9) == 2 * big


@twins
def test_crossed_by_changes_is_reported_not_refused(twin):
    """Venues publish transient crossed books (an aggressor before the resting order is
    removed); the book shows them and says so."""
    book = loaded(twin)
    book.apply(twin.BID, 103, 1)
    assert book.crossed and book.best_prices() == (103, 101)


# -- differential test: compiled, pure and a dict reference ----------------------------------

NO = -(2**63)


class Reference:
    """The documented behaviour, written the obvious way: dicts and sorting."""

    def __init__(self):
        self.sides, self.sequence, self.stale, self.bridging = ({}, {}), NO, False, False

    def apply(self, side, price, size):
        if self.stale or side not in (0, 1) or price <= 0 or size < 0:
            raise BookError
        self._set(side, price, size)

    def _set(self, side, price, size):
        if size:
            self.sides[side][price] = size
        else:
            self.sides[side].pop(price, None)

    def apply_batch(self, changes, first, last, previous):
        if self.stale or any(s not in (0, 1) or p <= 0 or z < 0 for s, p, z in changes):
            raise BookError
        if not self.advance(first, last, previous):
            return False
        for change in changes:
            self._set(*change)
        return True

    def apply_snapshot(self, bids, asks, sequence):
        for levels in (bids, asks):
            prices = [p for p, _ in levels]
            if any(p <= 0 or s < 0 for p, s in levels) or len(set(prices)) != len(prices):
                raise BookError
        bids, asks = {p: s for p, s in bids if s}, {p: s for p, s in asks if s}
        if bids and asks and max(bids) >= min(asks):
            raise BookError
        self.sides, self.sequence, self.stale = (bids, asks), sequence, False
        self.bridging = sequence != NO

    def advance(self, first, last=NO, previous=NO):
        if self.stale:
            raise BookError
        if first == NO:
            return True
        last = first if last == NO else last
        if last < first:
            raise BookError
        ok = self.sequence == NO or previous == self.sequence != NO
        if not ok and last <= self.sequence:
            return False
        ok = ok or (self.bridging and first <= self.sequence + 1)
        ok = ok or (previous == NO and first == self.sequence + 1)
        if not ok:
            self.stale = True
            raise SequenceGap(0, 0)
        self.sequence, self.bridging = last, False
        return True

    def truncate(self, depth):
        if depth < 0:
            raise BookError
        for side in (0, 1):
            keep = self.levels(side)[:depth]
            self.sides[side].clear()
            self.sides[side].update(keep)

    def mark_stale(self):
        self.stale = True

    def levels(self, side):
        return sorted(self.sides[side].items(), reverse=side == 0)

    def best_prices(self):
        bids, asks = self.sides
        return (max(bids) if bids else None, min(asks) if asks else None)

    def reads(self, side, n, bps, quantity, price):
        levels = self.levels(side)
        bids, asks = self.levels(0), self.levels(1)
        depth = 0
        if bids and asks:
            mid = (float(bids[0][0]) + float(asks[0][0])) * 0.5
            for p, s in levels:
                if (side == 0 and float(p) < mid * (1.0 - bps / 10000.0)) or (
                    side == 1 and float(p) > mid * (1.0 + bps / 10000.0)
                ):
                    break
                depth += s
        remaining, cost = quantity, 0
        for p, s in levels:
            take = min(remaining, s)
            cost, remaining = cost + p * take, remaining - take
        top = [[p for p, _ in levels[:n]], [s for _, s in levels[:n]]]
        return top, depth, (quantity - remaining, cost), self.sides[side].get(price, 0)

    def observe(self):
        return ([[p for p, _ in self.levels(s)], [z for _, z in self.levels(s)]] for s in (0, 1))


def book_reads(book, side, n, bps, quantity, price):
    top = [a.tolist() for a in book.top(side, n)]
    return top, book.depth(side, bps), book.fill(side, quantity), book.size_at(side, price)


def observe(book):
    return ([a.tolist() for a in book.levels(s)] for s in (0, 1))


prices = st.integers(1, 24)
sizes = st.integers(0, 4)
good = st.tuples(st.integers(0, 1), prices, sizes)
bad = st.tuples(st.sampled_from([0, 1, 2]), st.sampled_from([0, -3, 5]), st.sampled_from([-1, 1]))
ids = st.one_of(st.integers(0, 12), st.integers(0, 12), st.just(NO))


def snapshot_side(low, high, size_low=0):
    levels = st.tuples(st.integers(low, high), st.integers(size_low, 3))
    unique = st.lists(levels, max_size=6, unique_by=lambda level: level[0])
    return st.one_of(unique, unique, unique, st.lists(levels, max_size=6))  # some duplicates


# ids next to the book's own sequence, where the rules differ; random ids mostly open gaps
follow = st.tuples(
    st.just("follow"),
    st.integers(-1, 2),
    st.integers(0, 2),
    st.one_of(st.none(), st.integers(-1, 1)),
    st.booleans(),
)
operations = st.one_of(
    st.tuples(st.just("apply"), st.one_of(good, good, good, bad)),
    st.tuples(st.just("apply_and_best"), st.one_of(good, good, good, bad)),
    st.tuples(
        st.just("batch"),
        st.lists(st.one_of(good, good, good, good, bad), max_size=8),
        st.one_of(ids, st.just(NO)),
        ids,
        ids,
    ),
    st.tuples(st.just("batch_dtype"), st.lists(good, min_size=1, max_size=3)),
    # bids below asks, sometimes overlapping them (crossed) or with a negative size
    st.tuples(st.just("snapshot"), snapshot_side(1, 12), snapshot_side(13, 24), ids),
    st.tuples(st.just("snapshot"), snapshot_side(1, 14, -1), snapshot_side(10, 24), ids),
    st.tuples(st.just("advance"), ids, ids, ids),
    st.tuples(st.just("advance"), ids, ids, st.just(NO)),
    follow,
    follow,
    follow,
    st.tuples(st.just("truncate"), st.integers(-1, 5)),
    st.tuples(st.just("mark_stale")),
)


def outcome(call):
    """What a call did: its result, or the type and message of what it raised."""
    try:
        return "ok", call()
    except BookError as error:
        return type(error).__name__, str(error)


def absolute(op, sequence):
    """A "follow" op as the batch of changes it stands for, with ids near ``sequence``."""
    _, first, span, previous, with_change = op
    base = 6 if sequence == NO else sequence
    ids = (base + first, base + first + span, NO if previous is None else base + previous)
    return ("batch", [(0, 3, 1)] if with_change else [], *ids)


def run(target, op):
    """Perform ``op`` on a twin's book (``target`` is (module, book))."""
    module, book = target
    kind, *args = op
    if kind == "apply":
        return outcome(lambda: book.apply(*args[0]))
    if kind == "apply_and_best":
        return outcome(lambda: book.apply_and_best(*args[0]))
    if kind == "batch":
        changes, first, last, previous = args
        columns = [np.array([c[i] for c in changes], dtype=I64) for i in range(3)]
        return outcome(lambda: book.apply_batch(*columns, first, last, previous))
    if kind == "batch_dtype":
        columns = [np.array([c[i] for c in args[0]], dtype=I64) for i in range(3)]
        columns[1] = columns[1].astype(np.float64)
        return outcome(lambda: book.apply_batch(*columns))
    if kind == "snapshot":
        bids, asks, sequence = args
        columns = [
            np.array([lvl[i] for lvl in side], dtype=I64) for side in (bids, asks) for i in (0, 1)
        ]
        return outcome(lambda: book.apply_snapshot(*columns, sequence))
    if kind == "advance":
        return outcome(lambda: book.advance(*args))
    if kind == "truncate":
        return outcome(lambda: book.truncate(*args))
    return outcome(book.mark_stale)


def run_reference(reference, op):
    kind, *args = op
    if kind == "apply":
        return outcome(lambda: reference.apply(*args[0]))
    if kind == "apply_and_best":
        return outcome(lambda: reference.apply(*args[0]) or reference.best_prices())
    if kind == "batch":
        return outcome(lambda: reference.apply_batch(*args))
    if kind == "batch_dtype":
        return "BookError", None
    if kind == "snapshot":
        return outcome(lambda: reference.apply_snapshot(*args))
    if kind == "advance":
        return outcome(lambda: reference.advance(*args))
    if kind == "truncate":
        return outcome(lambda: reference.truncate(*args))
    return outcome(reference.mark_stale)


MODULES = [resolve_twin(param.values[0]) for param in twin_modules("book")]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(operations, max_size=25),
    st.integers(0, 1),
    st.integers(0, 6),
    st.sampled_from([0, 0.5, 10, 1000, 5000]),
    st.integers(0, 12),
    st.integers(1, 24),
)
def test_twins_and_reference_agree(ops, side, n, bps, quantity, price):
    books = [(module, module.L2Book()) for module in MODULES]
    reference = Reference()
    for op in ops:
        if op[0] == "follow":
            op = absolute(op, reference.sequence)
        results = [run(target, op) for target in books]
        assert all(result == results[0] for result in results), (op, results)
        expected = run_reference(reference, op)
        assert results[0][0] == expected[0], (op, results[0], expected)
        if expected[0] == "ok":
            assert results[0][1] == expected[1]
        for _, book in books:
            assert list(observe(book)) == list(reference.observe())
            assert (book.sequence, book.stale) == (
                None if reference.sequence == NO else reference.sequence,
                reference.stale,
            )
            assert book_reads(book, side, n, bps, quantity, price) == reference.reads(
                side, n, bps, quantity, price
            )
