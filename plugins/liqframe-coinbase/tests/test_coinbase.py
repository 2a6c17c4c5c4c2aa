"""The Coinbase connector against the recorded Advanced Trade session (BTC-USD and ETH-USD
``level2`` with ticker, trades and candles on the same connection) replayed over a loopback
WebSocket: all 775 ``l2_data`` messages apply with ``sequence_num`` unbroken, and a lost
message or a disconnect resubscribes the books."""

import pytest
from liqframe_coinbase import CoinbaseConnector, liqframe_venue_connectors

from liqframe.testing.data import recording_path
from liqframe.testing.recordings import load
from liqframe.testing.replay import Fault, book_mismatches, replay_connector


@pytest.fixture(scope="module")
def recording():
    return load(recording_path("cryptofeed", "COINBASE.jsonl.zst"))


def l2_update(recording, nth):
    index = -1
    for _ in range(nth + 1):
        index = recording.find(lambda m: m.get("channel") == "l2_data"
                               and m["events"][0]["type"] == "update", index + 1)
    return index


def test_registers_the_connector():
    assert liqframe_venue_connectors() == {"coinbase": CoinbaseConnector}


async def test_every_level2_message_applies_with_no_gap(recording):
    connector, server, _ = await replay_connector(CoinbaseConnector, recording)
    stats = connector.stats
    assert stats.messages == 1030 and stats.snapshots + stats.applied == 775
    assert stats.gaps == stats.resyncs == 0
    assert server.renumbered == 0  # the recorded sequence_num reached the connector as is
    assert book_mismatches(connector, server) == []


@pytest.mark.parametrize("kind", ["drop", "reorder"])
async def test_a_lost_or_reordered_message_is_a_gap_and_every_book_resyncs(recording, kind):
    connector, server, _ = await replay_connector(
        CoinbaseConnector, recording, faults=[Fault(kind, l2_update(recording, 200))])
    stats = connector.stats
    # A swap of n and n + 1 breaks the chain three times: n + 1 early, n late, n + 2 after n.
    assert stats.gaps == (1 if kind == "drop" else 3) and stats.resyncs == 2
    assert stats.snapshots == 4
    assert book_mismatches(connector, server) == []


async def test_a_disconnect_resubscribes_and_numbering_restarts(recording):
    connector, server, _ = await replay_connector(
        CoinbaseConnector, recording, faults=[Fault("disconnect", l2_update(recording, 300))])
    stats = connector.stats
    assert stats.reconnects == 1 and stats.resyncs == 2 and stats.gaps == 0
    assert book_mismatches(connector, server) == []
