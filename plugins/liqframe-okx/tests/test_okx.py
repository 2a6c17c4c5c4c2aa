"""The OKX connector against the recorded v5 ``books`` session (3 instruments, 400 levels)
replayed over a loopback WebSocket: every one of OKX's 290 checksums must match, and faults
must be caught (checksum, and ``seqId``/``prevSeqId`` where the venue numbers its messages)
and repaired by resubscribing."""

import json

import pytest
from liqframe_okx import OkxConnector, liqframe_venue_connectors

from liqframe.testing.data import recording_path
from liqframe.testing.recordings import load
from liqframe.testing.replay import CountingEvents, Fault, book_mismatches, replay_connector
from liqframe.testing.replay_exchanges import OkxV5


@pytest.fixture(scope="module")
def recording():
    return load(recording_path("cryptofeed", "OKX.ws.1.0"))


def book_update(recording, instrument, nth):
    """Index of the ``nth`` recorded ``books`` update of ``instrument``."""
    index = -1
    for _ in range(nth + 1):
        index = recording.find(lambda m: m.get("action") == "update"
                               and m["arg"].get("channel") == "books"
                               and m["arg"]["instId"] == instrument, index + 1)
    return index


def test_registers_the_connector():
    assert liqframe_venue_connectors() == {"okx": OkxConnector}


async def test_every_recorded_checksum_matches(recording):
    connector, server, events = await replay_connector(OkxConnector, recording)
    stats = connector.stats.as_dict()
    assert stats["checksums_checked"] == 290 and stats["checksum_failures"] == 0
    assert stats["snapshots"] == events.snapshots == 3 and stats["applied"] == 287
    assert stats["gaps"] == stats["resyncs"] == 0
    assert book_mismatches(connector, server) == []


@pytest.mark.parametrize("kind", ["corrupt", "drop"])
async def test_a_bad_update_fails_its_checksum_and_is_resubscribed(recording, kind):
    index = book_update(recording, "BTC-USDT", 10)
    connector, server, events = await replay_connector(
        OkxConnector, recording, faults=[Fault(kind, index)])
    assert connector.stats.checksum_failures == 1 and connector.stats.resyncs == 1
    assert connector.stats.snapshots == 4
    assert book_mismatches(connector, server) == []


async def test_seq_ids_catch_a_lost_update_before_the_checksum(recording):
    """Current OKX numbers its book messages; the replay exchange adds the numbers the
    recording predates, and a lost update must show as exactly one gap."""
    clean, _, _ = await replay_connector(OkxConnector, recording,
                                         exchange=OkxV5(recording, sequenced=True))
    assert clean.stats.gaps == 0 and clean.stats.checksums_checked == 290
    index = book_update(recording, "UNI-USD-SWAP", 3)
    connector, server, _ = await replay_connector(
        OkxConnector, recording, faults=[Fault("drop", index)],
        exchange=OkxV5(recording, sequenced=True))
    assert connector.stats.gaps == 1 and connector.stats.resyncs == 1
    assert connector.stats.checksum_failures == 0
    assert book_mismatches(connector, server) == []


async def test_a_disconnect_resubscribes_every_instrument(recording):
    index = book_update(recording, "BTC-USDT", 30)
    connector, server, _ = await replay_connector(
        OkxConnector, recording, faults=[Fault("disconnect", index)])
    assert connector.stats.reconnects == 1 and connector.stats.resyncs == 3
    assert connector.stats.checksum_failures == 0
    assert book_mismatches(connector, server) == []


def test_recorded_increments_are_the_instruments_ticks(recording):
    options = OkxConnector.replay_options(recording, type("S", (), {"ws_url": "ws://x/"})())
    assert {k: (v["price_increment"], v["size_increment"]) for k, v in
            options["markets"].items()} == {"BTC-USD-220527": ("1e-1", "1e-0"),
                                            "UNI-USD-SWAP": ("1e-3", "1e-0"),
                                            "BTC-USDT": ("1e-1", "1e-8")}


def test_what_is_not_one_update_of_a_synced_book_takes_the_general_path(recording):
    """Most messages are read and applied in one compiled call; the rest (snapshots, several
    entries, books out of sync, error events, other channels) keep their rules."""
    options = OkxConnector.replay_options(recording, type("S", (), {"ws_url": "ws://x/"})())

    def connector():
        made, events = OkxConnector(**options), CountingEvents()
        made.attach(events)
        return made, events

    def text(index):
        return recording.received[index].data.decode()

    instrument = "UNI-USD-SWAP"
    snapshot = recording.find(lambda m: m.get("action") == "snapshot"
                              and m["arg"]["instId"] == instrument)
    first, second = (book_update(recording, instrument, n) for n in (0, 1))
    one, events = connector()
    one.handle(text(first), 0)  # before the snapshot: dropped
    assert one.stats.applied == 0 and events.changes == 0 and not one.stats.gaps
    for index in (snapshot, first, second):
        one.handle(text(index), 0)
    both = json.loads(text(first))
    both["data"] += json.loads(text(second))["data"]
    two, _ = connector()
    two.handle(text(snapshot), 0)
    two.handle(json.dumps(both), 0)
    assert one.stats.as_dict() == two.stats.as_dict()
    assert two.stats.applied == 2 and two.stats.checksums_checked == 3
    assert two.stats.checksum_failures == 0
    book, expected = two.feeds[instrument].book, one.feeds[instrument].book
    for side in (0, 1):
        assert [column.tolist() for column in book.top(side, 400)] == \
            [column.tolist() for column in expected.top(side, 400)]
    two.handle('{"event":"error","msg":"Invalid request","code":"60012"}', 0)
    assert two.events.status[-1] == (False, "okx: Invalid request")
    trades = {"arg": {"channel": "trades", "instId": instrument},
              "data": [{"px": "5.1", "sz": "1"}]}
    two.handle(json.dumps(trades), 0)
    assert two.stats.as_dict() == one.stats.as_dict()
