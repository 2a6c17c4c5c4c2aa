"""Binance's snapshot + diff rules, driven through L2Book's generic sequence check, on the
recorded spot and USD-M futures feeds (tests/data/cryptofeed, see the README there).

Binance's documented sync: buffer the ``depthUpdate`` events, fetch a REST snapshot with
``lastUpdateId``, drop the events already in it, apply the first event that bridges the
snapshot, then require each event to follow the previous one; spot by ``U == previous u + 1``,
futures by ``pu == previous u``. A connector maps that onto ``apply_batch(..., first=U, last=u,
previous=pu)`` after ``apply_snapshot(..., sequence=lastUpdateId)``; the numbers expected below
are the ones the project's own check of these files found (shared data README).
"""

import json
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from liqframe._core.fixed import to_units
from liqframe.errors import BookError, SequenceGap
from liqframe.testing.twins import twin_modules

DATA = Path(__file__).parent / "data" / "cryptofeed"
DECIMALS = 8  # Binance prints at most 8 places for prices and quantities

pytestmark = pytest.mark.parametrize("twin", twin_modules("book"), indirect=True)


def rest_snapshots(name):
    """``symbol -> depth reply`` from a recorded REST file."""
    snapshots = {}
    with open(DATA / name, encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            url, _, rest = line.partition(" -> ")
            symbol = parse_qs(urlparse(url).query)["symbol"][0]
            snapshots[symbol] = json.loads(rest.partition(": ")[2])
    return snapshots


def depth_events(name):
    """The ``depthUpdate`` events of a recorded stream, in the order received."""
    with open(DATA / name, encoding="utf-8") as lines:
        for line in lines:
            if line[:1].isdigit():
                data = json.loads(line.partition(": ")[2])["data"]
                if data.get("e") == "depthUpdate":
                    yield data


def units(levels):
    prices = np.array([to_units(p, DECIMALS) for p, _ in levels], dtype=np.int64)
    sizes = np.array([to_units(s, DECIMALS) for _, s in levels], dtype=np.int64)
    return prices, sizes


def changes(event):
    """One event as the three arrays apply_batch takes: bids first, then asks."""
    bid_prices, bid_sizes = units(event["b"])
    ask_prices, ask_sizes = units(event["a"])
    sides = np.array([0] * len(bid_prices) + [1] * len(ask_prices), dtype=np.int64)
    return sides, np.concatenate([bid_prices, ask_prices]), np.concatenate([bid_sizes, ask_sizes])


def snapshot_id(reply, futures):
    """The sequence to give the book for a REST snapshot.

    Spot states the bridge as ``U <= lastUpdateId + 1 <= u``: the book's rule for the first
    message after a snapshot with sequence ``lastUpdateId``. Futures states it as
    ``U <= lastUpdateId <= u``, so the event that ends exactly at ``lastUpdateId`` is applied
    (again; an L2 change is idempotent) rather than dropped: that is the same rule with
    sequence ``lastUpdateId - 1``.
    """
    return reply["lastUpdateId"] - 1 if futures else reply["lastUpdateId"]


def synchronise(twin, events, snapshots, futures, skip=frozenset()):
    """Replay Binance's sync for every symbol; returns the books and the counts.

    ``skip`` names (symbol, u) events to lose on the way, to provoke a gap.
    """
    books = {}
    for symbol, reply in snapshots.items():
        book = books[symbol] = twin.L2Book()
        book.apply_snapshot(
            *units(reply["bids"]), *units(reply["asks"]), snapshot_id(reply, futures)
        )
    counts = {"applied": 0, "dropped": 0, "gaps": 0, "crossed": 0}
    for event in events:
        book = books[event["s"]]
        if (event["s"], event["u"]) in skip or book.stale:
            continue
        previous = event["pu"] if futures else twin.NO_SEQUENCE
        try:
            applied = book.apply_batch(*changes(event), event["U"], event["u"], previous)
        except SequenceGap:
            counts["gaps"] += 1
            continue
        counts["applied" if applied else "dropped"] += 1
        counts["crossed"] += book.crossed
    return books, counts


def test_spot_sync(twin):
    events = list(depth_events("BINANCE.ws.1.0"))
    books, counts = synchronise(twin, events, rest_snapshots("BINANCE.http.0.0"), futures=False)
    assert counts == {"applied": 172, "dropped": 5, "gaps": 0, "crossed": 0}
    assert sorted(books) == ["BLZETH", "LRCBTC", "NKNUSDT", "RUNEEUR"]
    last = {e["s"]: e["u"] for e in events}
    assert {s: b.sequence for s, b in books.items()} == last


def test_futures_sync(twin):
    events = list(depth_events("BINANCE_FUTURES.ws.1.0"))
    snapshots = rest_snapshots("BINANCE_FUTURES.http.0.0")
    books, counts = synchronise(twin, events, snapshots, futures=True)
    assert counts == {"applied": 752, "dropped": 12, "gaps": 0, "crossed": 0}
    assert all(not book.stale for book in books.values())


def second_event_after_snapshot(events, reply, symbol):
    """The ``u`` of the second event of ``symbol`` past the snapshot: losing it opens a gap."""
    mine = [e for e in events if e["s"] == symbol and e["u"] > reply["lastUpdateId"]]
    return mine[1]["u"]


@pytest.mark.parametrize(
    ("stream", "rest", "futures"),
    [
        ("BINANCE.ws.1.0", "BINANCE.http.0.0", False),
        ("BINANCE_FUTURES.ws.1.0", "BINANCE_FUTURES.http.0.0", True),
    ],
)
def test_a_lost_event_is_a_gap_and_a_snapshot_resyncs(twin, stream, rest, futures):
    events = list(depth_events(stream))
    snapshots = rest_snapshots(rest)
    symbol = events[0]["s"]
    lost = second_event_after_snapshot(events, snapshots[symbol], symbol)
    books, counts = synchronise(twin, events, snapshots, futures, skip={(symbol, lost)})
    assert counts["gaps"] == 1
    book = books[symbol]
    assert book.stale
    before = book.levels(twin.BID), book.levels(twin.ASK)
    with pytest.raises(BookError, match="stale"):
        book.apply(twin.BID, 1, 1)
    assert [a.tolist() for a in before[0]] == [a.tolist() for a in book.levels(twin.BID)]
    reply = snapshots[symbol]
    book.apply_snapshot(*units(reply["bids"]), *units(reply["asks"]), snapshot_id(reply, futures))
    assert not book.stale and book.sequence == snapshot_id(reply, futures)
