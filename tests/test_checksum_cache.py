"""A Checksum reuses the text it printed for a level at its previous call when the level's price
and size are the same: after any sequence of level changes, on whichever books it is given, a
long-lived Checksum gives what a fresh one and the pure twin give."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from liqframe.testing.twins import resolve_twin, twin_modules

CHECKSUM_TWINS = [resolve_twin(param.values[0]) for param in twin_modules("checksum")]
BOOK_TWINS = [resolve_twin(param.values[0]) for param in twin_modules("book")]
PURE_CHECKSUM, CHECKSUM = CHECKSUM_TWINS[0], CHECKSUM_TWINS[-1]  # the compiled one when built
PURE_BOOK, BOOK = BOOK_TWINS[0], BOOK_TWINS[-1]

# Few distinct sizes, so a level often gets back a size it had (and its cached text is right
# again), and some that print in exponent form or past 1e21 as JavaScript numbers.
SIZES = [0, 0, 1, 7, 10**8, 10**8 + 1, 123456789, 10**21 // 10**8, 2**63 - 1]
LEVELS = 80  # more than a Checksum's first buffers hold (64 a side): they grow

change = st.tuples(st.sampled_from(["bid", "ask"]), st.integers(0, LEVELS - 1),
                   st.sampled_from(SIZES))
snapshot = st.tuples(st.just("snapshot"), st.integers(0, LEVELS), st.integers(0, 8))
other_book = st.just(("other book", 0, 0))


class Books:
    """The same book as a compiled and a pure L2Book (prices ``scale`` units apart, every bid
    below every ask), changed together."""

    def __init__(self, scale):
        self.scale = scale
        self.twins = [BOOK.L2Book(), PURE_BOOK.L2Book()]

    def price(self, side, index):
        middle = (LEVELS + 1) * self.scale
        return middle - (index + 1) * self.scale if side == "bid" else middle + index * self.scale

    def apply(self, side, index, size):
        for book, module in zip(self.twins, (BOOK, PURE_BOOK)):
            book.apply(module.BID if side == "bid" else module.ASK, self.price(side, index), size)

    def snapshot(self, count, offset):
        def side(name):
            prices = [self.price(name, i) for i in range(count)]
            sizes = [SIZES[2 + (i + offset) % (len(SIZES) - 2)] for i in range(count)]
            return np.array(prices, dtype=np.int64), np.array(sizes, dtype=np.int64)

        for book in self.twins:
            book.apply_snapshot(*side("bid"), *side("ask"))


@settings(max_examples=250, deadline=None)
@given(kind=st.sampled_from(["kraken", "okx", "bitget", "bitfinex"]),
       decimals=st.tuples(st.integers(0, 12), st.integers(0, 12)),
       extra=st.tuples(st.integers(0, 3), st.integers(0, 3)),
       depth=st.sampled_from([1, 3, 10, 25, 100]),
       scale=st.sampled_from([1, 10**5, 10**12]),
       steps=st.lists(st.one_of(change, change, change, snapshot, other_book), max_size=40))
def test_a_long_lived_checksum_matches_a_fresh_one_after_every_change(
        kind, decimals, extra, depth, scale, steps):
    places = (decimals[0] + extra[0], decimals[1] + extra[1])
    if kind in ("okx", "bitfinex"):
        places = (None, None)
    rule = (kind, *decimals, *places, depth)
    kept = CHECKSUM.Checksum(*rule)
    pure = PURE_CHECKSUM.Checksum(*rule)
    books = [Books(scale), Books(scale)]
    for step, (what, index, size) in enumerate([("start", 0, 0), *steps]):
        if what == "other book":
            books.reverse()
        elif what == "snapshot":
            books[0].snapshot(index, size)
        elif what != "start":
            books[0].apply(what, index, size)
        compiled_book, pure_book = books[0].twins
        expected = pure(pure_book)
        # Both of the long-lived one's ways to read a book: the compiled book's levels in C,
        # any other book's through top_into.
        seen = [kept(compiled_book), kept(pure_book), CHECKSUM.Checksum(*rule)(compiled_book)]
        assert seen == [expected] * 3, (step, what, index, size)
