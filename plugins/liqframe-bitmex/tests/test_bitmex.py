"""The BitMEX connector against the recorded ``orderBookL2`` session (10 symbols: 10 partials,
445 inserts, 1,090 updates, 434 deletes) replayed over a loopback WebSocket. BitMEX has no
sequence numbers: the level ids are the consistency check. The recording references no
unknown id (an independent walk of it says so), so a clean replay finds no gap; a lost insert,
a damaged id and a disconnect are caught and repaired by a new ``partial``."""

import json

import pytest
from liqframe_bitmex import BitmexConnector, liqframe_venue_connectors

from liqframe.testing.data import recording_path
from liqframe.testing.recordings import load
from liqframe.testing.replay import Fault, book_mismatches, replay_connector
from liqframe.testing.replay_venues import Bitmex


@pytest.fixture(scope="module")
def recording():
    return load(recording_path("cryptofeed", "BITMEX.ws.1.0"))


def book_messages(recording):
    """``[(frame index, action, symbol, [ids])]`` of every ``orderBookL2`` message, read
    with the standard library (the oracle)."""
    found = []
    for index, frame in enumerate(recording.received):
        message = json.loads(frame.data)
        if message.get("table") == "orderBookL2":
            data = message["data"]
            found.append((index, message["action"], data[0]["symbol"],
                          [entry["id"] for entry in data]))
    return found


def id_faults(messages):
    """Messages that reference an id the book cannot hold at that point: the gaps a
    connector must find in this stream."""
    held, faults = {}, 0
    for _, action, symbol, ids in messages:
        if action == "partial":
            held[symbol] = set(ids)
            continue
        book = held[symbol]
        if book is None:
            continue
        if action == "insert":
            bad = any(i in book for i in ids)
            book.update(ids)
        else:
            bad = any(i not in book for i in ids)
            if action == "delete":
                book.difference_update(ids)
        if bad:
            faults += 1
            held[symbol] = None  # out of sync until the resubscription's partial
    return faults


def run(recording, *faults):
    return replay_connector(BitmexConnector, recording, faults=list(faults),
                            exchange=Bitmex(recording))


def test_registers_the_connector():
    assert liqframe_venue_connectors() == {"bitmex": BitmexConnector}


async def test_every_id_is_known_and_the_books_match(recording):
    messages = book_messages(recording)
    counts = {a: sum(1 for m in messages if m[1] == a)
              for a in ("partial", "insert", "update", "delete")}
    assert counts == {"partial": 10, "insert": 445, "update": 1090, "delete": 434}
    assert id_faults(messages) == 0
    connector, server, events = await run(recording)
    stats = connector.stats.as_dict()
    assert stats["snapshots"] == events.snapshots == 10
    assert stats["applied"] == 445 + 1090 + 434
    assert stats["gaps"] == stats["resyncs"] == 0
    assert book_mismatches(connector, server) == []
    for feed in connector.feeds.values():
        assert feed.book.count(0) and feed.book.count(1)
        best_bid, best_ask = feed.book.best(0), feed.book.best(1)
        assert best_bid < best_ask


def first_reused_insert(messages):
    """A recorded insert one of whose ids a later update or delete of the symbol uses."""
    for position, (_, action, symbol, ids) in enumerate(messages):
        if action != "insert":
            continue
        for _, later_action, later_symbol, later_ids in messages[position + 1:]:
            if later_symbol == symbol and set(ids) & set(later_ids):
                if later_action != "insert":
                    return position
                break
    raise AssertionError("no insert is referenced later")


async def test_a_lost_insert_shows_as_an_unknown_id(recording):
    messages = book_messages(recording)
    position = first_reused_insert(messages)
    assert id_faults(messages[:position] + messages[position + 1:]) == 1
    connector, server, _ = await run(recording, Fault("drop", messages[position][0]))
    assert connector.stats.gaps == 1 and connector.stats.resyncs == 1
    assert connector.stats.snapshots == 11
    assert book_mismatches(connector, server) == []


def damage_id(data):
    """The first level id with its last digit changed: an id no book holds."""
    head, found, tail = data.partition(b'"id":')
    digits = len(tail) - len(tail.lstrip(b"0123456789"))
    last = tail[digits - 1] - 48
    return head + found + tail[:digits - 1] + bytes([48 + (last + 5) % 10]) + tail[digits:]


async def test_a_damaged_id_is_a_gap(recording):
    messages = book_messages(recording)
    position = next(i for i, m in enumerate(messages) if m[1] == "update")
    connector, server, _ = await run(recording,
                                     Fault("corrupt", messages[position][0], damage_id))
    assert connector.stats.gaps == 1 and connector.stats.resyncs == 1
    assert book_mismatches(connector, server) == []


async def test_a_disconnect_resubscribes_every_book(recording):
    messages = book_messages(recording)
    connector, server, _ = await run(recording, Fault("disconnect", messages[1000][0]))
    assert connector.stats.reconnects == 1 and connector.stats.resyncs == 10
    assert connector.stats.gaps == 0 and connector.stats.snapshots == 20
    assert book_mismatches(connector, server) == []


def test_table_is_checked():
    markets = {"XBTUSD": {"id": "XBTUSD", "price_increment": "0.5", "size_increment": "1"}}
    with pytest.raises(ValueError, match="table"):
        BitmexConnector(venue="bitmex", markets=markets, table="orderBook10")
