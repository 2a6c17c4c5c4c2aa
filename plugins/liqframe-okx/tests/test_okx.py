"""The OKX connector against the recorded v5 ``books`` session (3 instruments, 400 levels)
replayed over a loopback WebSocket: every one of OKX's 290 checksums must match, and faults
must be caught (checksum, and ``seqId``/``prevSeqId`` where the venue numbers its messages)
and repaired by resubscribing."""

import pytest
from liqframe_okx import OkxConnector, liqframe_venue_connectors

from liqframe.testing.recordings import load
from liqframe.testing.replay import Fault, book_mismatches, recording_path, replay_connector
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
