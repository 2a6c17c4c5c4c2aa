"""The Binance connectors against the recorded spot and USD-M futures sessions, replayed over
a loopback WebSocket with the REST depth snapshots served over loopback HTTP: the documented
sync must drop exactly the stale events (spot 5, futures 12), apply the rest (172, 752) and
find no gap; a lost, reordered or cut-off stream must be noticed and repaired from a new
snapshot."""

import pytest
from liqframe_binance import BinanceConnector, BinanceFuturesConnector, liqframe_venue_connectors

from liqframe.testing.data import recording_path
from liqframe.testing.recordings import load
from liqframe.testing.replay import Fault, book_mismatches, replay_connector

# A REST snapshot holds the best 1000 levels: levels the venue has deeper are unknown to a
# client, so books are compared on the levels a client can know.
DEPTH = 500
CASES = {
    "spot": (BinanceConnector, "BINANCE.ws.1.0", 172, 5),
    "futures": (BinanceFuturesConnector, "BINANCE_FUTURES.ws.1.0", 752, 12),
}


@pytest.fixture(scope="module")
def recordings():
    return {kind: load(recording_path("cryptofeed", name))
            for kind, (_, name, _, _) in CASES.items()}


def depth_event(recording, nth, symbol=None):
    index = -1
    for _ in range(nth + 1):
        index = recording.find(lambda m: m.get("data", {}).get("e") == "depthUpdate"
                               and (symbol is None or m["data"]["s"] == symbol), index + 1)
    return index


def test_registers_both_connectors():
    assert liqframe_venue_connectors() == {"binance": BinanceConnector,
                                           "binance-futures": BinanceFuturesConnector}


@pytest.mark.parametrize("kind", CASES)
async def test_sync_drops_exactly_the_stale_events(recordings, kind):
    cls, _, applied, dropped = CASES[kind]
    connector, server, events = await replay_connector(cls, recordings[kind])
    stats = connector.stats
    assert (stats.applied, stats.stale_dropped, stats.gaps, stats.resyncs) == \
        (applied, dropped, 0, 0)
    assert stats.snapshots == events.snapshots == 4 and server.rest_requests == 4
    assert all(not feed.book.crossed for feed in connector.feeds.values())
    assert book_mismatches(connector, server, DEPTH) == []


@pytest.mark.parametrize("kind", CASES)
@pytest.mark.parametrize("fault", ["drop", "reorder"])
async def test_a_lost_or_reordered_event_is_a_gap_and_a_new_snapshot_repairs_it(
        recordings, kind, fault):
    cls, _, _, _ = CASES[kind]
    recording = recordings[kind]
    first = depth_event(recording, 0)
    symbol = recording.received[first].data.split(b'"s":"')[1].split(b'"')[0].decode()
    # Late in the session, with the next event of the same symbol right behind it.
    for nth in range(40, 200):
        index = depth_event(recording, nth, symbol)
        if index + 1 == depth_event(recording, nth + 1, symbol) or fault == "drop":
            break
    connector, server, _ = await replay_connector(cls, recording, faults=[Fault(fault, index)])
    assert connector.stats.gaps == 1 and connector.stats.resyncs == 1
    assert connector.stats.snapshots == 5 and server.rest_requests == 5
    assert book_mismatches(connector, server, DEPTH) == []


@pytest.mark.parametrize("kind", CASES)
async def test_a_disconnect_resyncs_every_book(recordings, kind):
    cls, _, _, _ = CASES[kind]
    recording = recordings[kind]
    connector, server, _ = await replay_connector(
        cls, recording, faults=[Fault("disconnect", depth_event(recording, 120))])
    assert connector.stats.reconnects == 1 and connector.stats.resyncs == 4
    assert connector.stats.gaps == 0 and connector.stats.snapshots == 8
    assert book_mismatches(connector, server, DEPTH) == []
