"""The Bitget connector against the recorded v1 spot and futures ``books`` sessions replayed
over a loopback WebSocket: all 637 of Bitget's checksums must match, and a corrupted update or
a disconnect must be repaired."""

import pytest
from liqframe_bitget import BitgetConnector, liqframe_venue_connectors

from liqframe.testing.data import recording_path
from liqframe.testing.recordings import load
from liqframe.testing.replay import Fault, book_mismatches, replay_connector

NAMES = ["BITGET.ws.1.0", "BITGET.ws.2.0"]


@pytest.fixture(scope="module")
def recordings():
    return {name: load(recording_path("cryptofeed", name)) for name in NAMES}


def book_update(recording, nth):
    index = -1
    for _ in range(nth + 1):
        index = recording.find(lambda m: isinstance(m, dict) and m.get("action") == "update"
                               and m["arg"].get("channel") == "books", index + 1)
    return index


def test_registers_the_connector():
    assert liqframe_venue_connectors() == {"bitget": BitgetConnector}


async def test_every_recorded_checksum_matches(recordings):
    checked = snapshots = 0
    for recording in recordings.values():
        connector, server, _ = await replay_connector(BitgetConnector, recording)
        assert connector.stats.checksum_failures == 0 and connector.stats.resyncs == 0
        assert book_mismatches(connector, server) == []
        checked += connector.stats.checksums_checked
        snapshots += connector.stats.snapshots
    assert (checked, snapshots) == (637, 10)


@pytest.mark.parametrize("name", NAMES)
async def test_a_corrupted_update_is_caught_and_resubscribed(recordings, name):
    recording = recordings[name]
    connector, server, _ = await replay_connector(
        BitgetConnector, recording, faults=[Fault("corrupt", book_update(recording, 20))])
    assert connector.stats.checksum_failures == 1 and connector.stats.resyncs == 1
    assert book_mismatches(connector, server) == []


async def test_a_disconnect_resubscribes_every_instrument(recordings):
    recording = recordings["BITGET.ws.1.0"]
    connector, server, _ = await replay_connector(
        BitgetConnector, recording, faults=[Fault("disconnect", book_update(recording, 50))])
    assert connector.stats.reconnects == 1 and connector.stats.resyncs == 8
    assert connector.stats.checksum_failures == 0
    assert book_mismatches(connector, server) == []
