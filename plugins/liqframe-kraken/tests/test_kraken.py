"""The Kraken connector against the recorded v1 session (10 pairs, depth 1000) replayed over a
loopback WebSocket: every one of Kraken's 4,269 CRC32 checksums must match the book, and
injected faults must be caught by the checksum and repaired by a resubscription."""

import json

import pytest
from liqframe_kraken import KrakenConnector, liqframe_venue_connectors

from liqframe.testing.data import recording_path
from liqframe.testing.recordings import load
from liqframe.testing.replay import Fault, book_mismatches, replay_connector

V1 = recording_path("cryptofeed", "KRAKEN.ws.50.0")


@pytest.fixture(scope="module")
def recording():
    return load(V1)


def updates_changing_top(recording, pair):
    """Indexes of ``pair``'s updates whose checksum differs from the one before: each changed
    the top 10 levels, so losing or misordering it must show in the next checksum."""
    found, last = [], None
    for index, frame in enumerate(recording.received):
        message = json.loads(frame.data)
        if not isinstance(message, list) or message[-1] != pair:
            continue
        published = next((p["c"] for p in message[1:-2] if "c" in p), None)
        if published is not None and last is not None and published != last:
            found.append(index)
        last = published if published is not None else last
    return found


def assert_books_match_venue(connector, server):
    assert book_mismatches(connector, server) == []


def test_registers_the_connector():
    assert liqframe_venue_connectors() == {"kraken": KrakenConnector}


async def test_every_recorded_checksum_matches(recording):
    connector, server, events = await replay_connector(KrakenConnector, recording)
    stats = connector.stats.as_dict()
    assert stats["checksums_checked"] == 4269
    assert stats["checksum_failures"] == 0
    assert stats["gaps"] == stats["resyncs"] == stats["reconnects"] == 0
    assert stats["snapshots"] == events.snapshots == 10
    assert stats["messages"] == server.sent == len(recording.received)
    assert_books_match_venue(connector, server)


async def test_book_deltas_reach_the_host_as_book_delta_objects(recording):
    from liqframe.testing.replay import CountingEvents

    events = CountingEvents(deltas=True)
    connector, _, _ = await replay_connector(KrakenConnector, recording, events=events)
    assert events.changes >= connector.stats.applied == 4269


def followed_by_same_pair(recording, indexes):
    """The first of ``indexes`` whose next frame is an update of the same pair, so that
    swapping the two reorders that pair's book."""
    for index in indexes:
        this, after = (json.loads(recording.received[i].data) for i in (index, index + 1))
        if isinstance(after, list) and after[-1] == this[-1]:
            return index
    raise AssertionError("no two consecutive updates of one pair")


@pytest.mark.parametrize("kind", ["corrupt", "drop", "reorder"])
async def test_a_damaged_update_fails_its_checksum_and_the_pair_resubscribes(recording, kind):
    index = followed_by_same_pair(recording, updates_changing_top(recording, "XBT/CHF")[5:])
    connector, server, events = await replay_connector(
        KrakenConnector, recording, faults=[Fault(kind, index)])
    stats = connector.stats
    assert stats.checksum_failures == 1
    assert stats.resyncs == 1
    assert stats.snapshots == 11  # the recorded ten and the one resubscription's
    assert any("XBT/CHF: checksum mismatch" in reason for up, reason in events.status)
    assert any(reason == "XBT/CHF: resynchronised" for up, reason in events.status)
    assert_books_match_venue(connector, server)


async def test_a_disconnect_reconnects_and_resyncs_every_pair(recording):
    index = updates_changing_top(recording, "XBT/CHF")[20]
    connector, server, _ = await replay_connector(
        KrakenConnector, recording, faults=[Fault("disconnect", index)])
    stats = connector.stats
    assert server.connections == 2 and stats.reconnects == 1
    assert stats.resyncs == 10 and stats.snapshots == 20
    assert stats.checksum_failures == 0
    assert_books_match_venue(connector, server)


async def test_without_verification_a_corruption_goes_unnoticed(recording):
    """The checks above are not vacuous: with checksums off the corrupted book stays wrong."""
    index = updates_changing_top(recording, "XBT/CHF")[5]
    connector, server, _ = await replay_connector(
        KrakenConnector, recording, faults=[Fault("corrupt", index)], verify_checksums=False)
    assert connector.stats.checksums_checked == 0 and connector.stats.resyncs == 0
    with pytest.raises(AssertionError):
        assert_books_match_venue(connector, server)
