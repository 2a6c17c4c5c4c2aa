"""Compiled, pure and a naive exact reference agree on random streams of book operations.

The reference keeps nothing but per-venue dicts of native levels and recomputes every view
from them with Fraction arithmetic on each read, so it shares no code or data structure with
either twin. Streams mix changes, batches, snapshots, resyncs, weights, exclusions, FX updates,
fees, lag samples, duplicate sequences and bad input (which must change nothing)."""

import math
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from liqframe import core
from liqframe.errors import LiqframeError

PURE = core.load("consolidated", compiled=False)
TWINS = [PURE] if core.NO_EXTENSIONS else [PURE, core.load("consolidated", compiled=True)]
BID, ASK = 0, 1
#: id -> (tick_multiplier, lot_multiplier, fx, taker_fee_bps): one plain venue, one on a
#: coarser tick with big lots, one quoting in another currency, one with a fractional fee.
VENUES = {1: (1, 1, 1, 0), 2: (2, 3, 1, 5), 5: (1, 1, Fraction(27, 25), 0),
          7: (1, 2, Fraction(9, 10), Fraction(5, 2))}
RATES = [1, Fraction(27, 25), Fraction(9, 10), Fraction(1, 3), Fraction(7, 2)]


class Refused(Exception):
    """The reference's verdict that an operation is bad input."""


class RefVenue:
    def __init__(self, slot, tick, lot, fx, fee):
        self.slot, self.tick, self.lot, self.fx = slot, tick, lot, Fraction(fx)
        self.fee, self.weight = Fraction(fee), Fraction(1)
        self.native = ({}, {})
        self.excluded, self.lag, self.max_lag = False, None, None
        self.sequence, self.duplicates = None, 0

    def active(self):
        lagging = self.lag is not None and self.max_lag is not None and self.lag > self.max_lag
        return not self.excluded and not lagging

    def convert(self, side, price):
        exact = price * self.tick * self.fx
        return math.floor(exact) if side == BID else math.ceil(exact)


class Reference:
    """Everything recomputed from the venues' native levels on every read."""

    def __init__(self):
        self.venues = {v: RefVenue(i, *s) for i, (v, s) in enumerate(VENUES.items())}
        self.crossed, self.events = False, []

    def venue(self, venue):
        if venue not in self.venues:
            raise Refused
        return self.venues[venue]

    # operations: each returns the expected flags, or raises Refused before changing anything

    def apply(self, venue, side, price, size, sequence, lag=None):
        v = self.venue(venue)
        if side not in (BID, ASK) or price <= 0 or size < 0:
            raise Refused
        if self.duplicate(v, sequence):
            return PURE.DUPLICATE
        self.set(v, side, price, size)
        if lag is not None:
            v.lag = lag
        return self.settle(v, sequence)

    def apply_many(self, venue, changes, sequence):
        v = self.venue(venue)
        if any(s not in (BID, ASK) or p <= 0 or q < 0 for s, p, q in changes):
            raise Refused
        if self.duplicate(v, sequence):
            return PURE.DUPLICATE
        for side, price, size in changes:
            self.set(v, side, price, size)
        return self.settle(v, sequence)

    def snapshot(self, venue, bids, asks, sequence):
        v = self.venue(venue)
        for rows in (bids, asks):
            if any(p <= 0 or q < 0 for p, q in rows) or len({p for p, _ in rows}) < len(rows):
                raise Refused
        if self.duplicate(v, sequence):
            return PURE.DUPLICATE
        v.native = ({p: q for p, q in bids if q}, {p: q for p, q in asks if q})
        return self.settle(v, sequence)

    def clear(self, venue):
        v = self.venue(venue)
        v.native, v.sequence = ({}, {}), None
        return self.check()

    def set_weight(self, venue, weight):
        v = self.venue(venue)
        if not 0 <= weight <= 1:
            raise Refused
        v.weight = Fraction(weight)

    def set_fee(self, venue, fee):
        v = self.venue(venue)
        if not 0 <= fee < 10_000:
            raise Refused
        v.fee = Fraction(fee)

    def set_fx(self, venue, rate):
        v = self.venue(venue)
        if isinstance(rate, float) or rate <= 0:
            raise Refused
        v.fx = Fraction(rate)
        return self.check()

    def exclude(self, venue, excluded):
        self.venue(venue).excluded = excluded
        return self.check()

    def record_lag(self, venue, lag):
        self.venue(venue).lag = lag
        return self.check()

    def set_max_lag(self, venue, max_lag):
        self.venue(venue).max_lag = max_lag
        return self.check()

    # helpers

    def duplicate(self, v, sequence):
        if sequence is not None and v.sequence is not None and sequence <= v.sequence:
            v.duplicates += 1
            return True
        return False

    def set(self, v, side, price, size):
        if size:
            v.native[side][price] = size
        else:
            v.native[side].pop(price, None)

    def settle(self, v, sequence):
        if sequence is not None:
            v.sequence = sequence
        return self.check()

    def check(self):
        bid, ask = self.best()
        crossed = bid is not None and ask is not None and bid >= ask
        was, self.crossed = self.crossed, crossed
        if crossed and not was:
            self.events.append((bid, ask, self.at(BID, bid), self.at(ASK, ask)))
            return PURE.CROSSED
        return 0

    # reads

    def contributions(self, side):
        """{consolidated price: {venue id: consolidated lots}} of the venues in view."""
        levels = {}
        for venue, v in self.venues.items():
            if not v.active():
                continue
            for price, size in v.native[side].items():
                row = levels.setdefault(v.convert(side, price), {})
                row[venue] = row.get(venue, 0) + size * v.lot
        return levels

    def best(self):
        bids, asks = self.contributions(BID), self.contributions(ASK)
        return (max(bids) if bids else None, min(asks) if asks else None)

    def at(self, side, price):
        row = self.contributions(side)[price]
        return tuple(v for v in self.venues if v in row)

    def top_n(self, side, n, weighted, fees, min_size):
        shown = {}
        for price, row in self.contributions(side).items():
            for venue, size in row.items():
                v = self.venues[venue]
                if weighted:
                    size = math.floor(size * v.weight)
                if not size:
                    continue
                if fees:
                    exact = price * (1 - v.fee / 10_000 if side == BID else 1 + v.fee / 10_000)
                    price_shown = math.floor(exact) if side == BID else math.ceil(exact)
                else:
                    price_shown = price
                entry = shown.setdefault(price_shown, {})
                entry[venue] = entry.get(venue, 0) + size
        rows = [(p, sum(r.values()), r) for p, r in shown.items()
                if sum(r.values()) >= max(min_size, 1)]
        rows.sort(reverse=side == BID)
        return rows[:n]


# --- driving both twins and the reference ---------------------------------------------------

VIEWS = [(w, f, m) for w, f in ((False, False), (True, False), (False, True), (True, True))
         for m in (0, 4)]


def observe_book(book):
    views = []
    for side in (BID, ASK):
        for weighted, fees, min_size in VIEWS:
            top = book.top_n(side, 6, weighted=weighted, fees=fees, min_size=min_size)
            ids = top.venues.tolist()
            views.append([(p, s, {v: x for v, x in zip(ids, row) if x}) for p, s, row in zip(
                top.prices.tolist(), top.sizes.tolist(), top.by_venue.tolist())])
    feeds = [(s["sequence"], s["duplicates"], s["active"], s["bid_levels"], s["ask_levels"])
             for s in map(book.venue_state, VENUES)]
    return book.best(), book.crossed, views, feeds


def observe_reference(ref):
    views = [ref.top_n(side, 6, w, f, m) for side in (BID, ASK) for w, f, m in VIEWS]
    feeds = [(v.sequence, v.duplicates, v.active(), len(v.native[BID]), len(v.native[ASK]))
             for v in ref.venues.values()]
    return ref.best(), ref.crossed, views, feeds


def run_on_book(book, op):
    kind, venue, *args = op
    if kind == "apply":
        side, price, size, sequence, lag = args
        stamps = {} if lag is None else {"event_ns": 1_000, "receive_ns": 1_000 + lag}
        return book.apply(venue, side, price, size, sequence, **stamps)
    if kind == "many":
        changes, sequence = args
        arrays = [np.array(c, dtype=np.int64) for c in zip(*changes)] if changes else [
            np.empty(0, np.int64)] * 3
        return book.apply_many(venue, *arrays, sequence=sequence)
    if kind == "snapshot":
        return book.apply_snapshot(venue, *args)
    if kind == "clear":
        return book.clear_venue(venue)
    if kind == "weight":
        return book.set_weight(venue, args[0])
    if kind == "fee":
        return book.set_fee(venue, args[0])
    if kind == "fx":
        return book.set_fx(venue, args[0])
    if kind == "exclude":
        return book.exclude_venue(venue) if args[0] else book.include_venue(venue)
    if kind == "lag":
        return book.record_lag(venue, 5_000, 5_000 + args[0])
    return book.set_max_lag(venue, args[0])


def run_on_reference(ref, op):
    kind, venue, *args = op
    calls = {"apply": ref.apply, "many": ref.apply_many, "snapshot": ref.snapshot,
             "clear": ref.clear, "weight": ref.set_weight, "fee": ref.set_fee, "fx": ref.set_fx,
             "exclude": ref.exclude, "lag": ref.record_lag, "max_lag": ref.set_max_lag}
    return calls[kind](venue, *args)


known = st.sampled_from(list(VENUES))
side = st.sampled_from([BID, ASK])
price = st.integers(90, 110)
size = st.integers(0, 9)
sequences = st.none() | st.integers(0, 12)
lags = st.none() | st.integers(0, 60)
rows = st.lists(st.tuples(price, size), max_size=5, unique_by=lambda row: row[0])
changes = st.lists(st.tuples(side, price, size), max_size=4)
good = st.one_of(
    st.tuples(st.just("apply"), known, side, price, size, sequences, lags),
    st.tuples(st.just("apply"), known, side, price, size, st.none(), st.none()),
    st.tuples(st.just("apply"), known, side, price, size, st.none(), st.none()),
    st.tuples(st.just("many"), known, changes, sequences),
    st.tuples(st.just("snapshot"), known, rows, rows, sequences),
    st.tuples(st.just("clear"), known),
    st.tuples(st.just("weight"), known, st.integers(0, 8).map(lambda k: Fraction(k, 8))),
    st.tuples(st.just("fee"), known, st.integers(0, 400).map(lambda q: Fraction(q, 4))),
    st.tuples(st.just("fx"), known, st.sampled_from(RATES)),
    st.tuples(st.just("exclude"), known, st.booleans()),
    st.tuples(st.just("lag"), known, st.integers(0, 60)),
    st.tuples(st.just("max_lag"), known, st.none() | st.integers(0, 60)),
)
bad = st.one_of(
    st.tuples(st.just("apply"), st.just(3), side, price, size, sequences, lags),
    st.tuples(st.just("apply"), known, st.just(2), price, size, sequences, lags),
    st.tuples(st.just("apply"), known, side, st.sampled_from([0, -1]), size, sequences, lags),
    st.tuples(st.just("apply"), known, side, price, st.just(-1), sequences, lags),
    st.tuples(st.just("many"), known, st.lists(st.tuples(side, price, size), max_size=3).map(
        lambda c: [*c, (BID, 0, 1)]), sequences),
    st.tuples(st.just("many"), known, st.lists(st.tuples(side, price, size), max_size=3).map(
        lambda c: [(ASK, 100, -2), *c]), sequences),
    st.tuples(st.just("snapshot"), known, rows.map(lambda r: [*r, (100, 1), (100, 2)]), rows,
              sequences),
    st.tuples(st.just("snapshot"), known, rows, rows.map(lambda r: [*r, (0, 1)]), sequences),
    st.tuples(st.just("weight"), known, st.sampled_from([Fraction(3, 2), -1])),
    st.tuples(st.just("fee"), known, st.just(-1)),
    st.tuples(st.just("fx"), known, st.sampled_from([0, -2, 1.5])),
    st.tuples(st.just("clear"), st.just(3)),
)
# one bad operation in five (one_of would flatten repeated strategies into one)
operations = st.integers(0, 4).flatmap(lambda k: bad if k == 0 else good)


def fresh_books():
    books = []
    for twin in TWINS:
        book = twin.ConsolidatedBook()
        for venue, (tick, lot, fx, fee) in VENUES.items():
            book.add_venue(venue, f"venue{venue}", tick_multiplier=tick, lot_multiplier=lot,
                           fx=fx, taker_fee_bps=fee)
        books.append(book)
    return books


@settings(max_examples=200, deadline=None)
@given(st.lists(operations, min_size=5, max_size=50))
def test_twins_and_reference_agree(ops):
    books, ref = fresh_books(), Reference()
    for op in ops:
        before = [observe_book(b) for b in books]
        try:
            expected = run_on_reference(ref, op)
        except Refused:
            messages = []
            for book, seen in zip(books, before):
                try:
                    run_on_book(book, op)
                except LiqframeError as error:
                    messages.append((type(error), str(error)))
                else:
                    raise AssertionError(f"{op} was accepted by {type(book).__module__}")
                assert observe_book(book) == seen, f"refused {op} changed the book"
            assert len(set(messages)) == 1, messages
            continue
        results = [run_on_book(b, op) for b in books]
        if op[0] in ("apply", "many", "snapshot"):
            assert results == [expected] * len(books), op
        state = observe_reference(ref)
        for book in books:
            assert observe_book(book) == state, op
    for book in books:
        assert [tuple(e) for e in book.crossings()] == ref.events


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(VENUES)), st.sampled_from([BID, ASK]),
                          st.integers(1, 3_000), st.integers(0, 4)), max_size=300),
       st.sampled_from(RATES))
def test_twins_agree_on_wide_books(changes, rate):
    """Wider price ranges: sparse levels, best walks past the budget, hash map growth."""
    books, ref = fresh_books(), Reference()
    for book in books:
        book.set_fx(5, rate)
    ref.set_fx(5, rate)
    for venue, side, price, size in changes:
        price = price if side == BID else price + 2_900
        flags = {book.apply(venue, side, price, size) for book in books}
        assert flags == {ref.apply(venue, side, price, size, None)}
    state = observe_reference(ref)
    for book in books:
        assert observe_book(book) == state
        assert book.top_n(BID, 500).prices.tolist() == [p for p, _, _ in ref.top_n(
            BID, 500, False, False, 0)]
