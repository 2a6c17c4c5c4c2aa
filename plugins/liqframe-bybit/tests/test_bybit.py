"""The Bybit v5 connector against Bybit's own historical order-book file for XRPUSDT
(``orderbook.500.XRPUSDT``, 2024-12-01: 1 snapshot and 49 deltas, kept by nautilus_trader),
replayed over a loopback WebSocket. Every ``u`` link and every ``seq`` step is checked; the
gaps found are the ones an independent walk of the file predicts, and a lost, reordered or
damaged delta and a disconnect lead to a resubscription after which the book equals the
exchange's."""

import json

import pytest
from liqframe_bybit import BybitConnector, liqframe_venue_connectors

from liqframe.testing.data import recording_path
from liqframe.testing.recordings import Frame, Recording, load
from liqframe.testing.replay import Fault, book_mismatches, replay_connector
from liqframe.testing.replay_venues import Bybit

TOPIC = "orderbook.500.XRPUSDT"


@pytest.fixture(scope="module")
def recording():
    """The file holds only what was received; the subscription it answers is added, so the
    replay starts when the connector subscribes."""
    path = recording_path("nautilus_trader", "xrpusdt-ob500.data.zip")
    recorded = load(path)
    subscribe = json.dumps({"op": "subscribe", "args": [TOPIC]}).encode()
    return Recording(recorded.name, recorded.path, "wss://stream.bybit.com/v5/public/linear",
                     sent=[Frame(0.0, subscribe)], received=recorded.received)


def messages(recording):
    """``[(type, u, seq)]`` of the file, read with the standard library."""
    return [(m["type"], m["data"]["u"], m["data"]["seq"])
            for m in (json.loads(f.data) for f in recording.received)]


def breaks(entries):
    """Deltas whose ``u`` is not the last + 1 or whose ``seq`` does not rise."""
    count, last_u, last_seq = 0, None, None
    for kind, u, seq in entries:
        if kind == "delta" and (u != last_u + 1 or seq <= last_seq):
            count += 1
        last_u, last_seq = u, seq
    return count


def run(recording, *faults):
    return replay_connector(BybitConnector, recording, faults=list(faults),
                            exchange=Bybit(recording))


def test_registers_the_connector():
    assert liqframe_venue_connectors() == {"bybit": BybitConnector}


async def test_every_u_and_seq_link_holds(recording):
    entries = messages(recording)
    assert [e[0] for e in entries].count("snapshot") == 1 and len(entries) == 50
    assert breaks(entries) == 0
    connector, server, events = await run(recording)
    stats = connector.stats.as_dict()
    assert stats["snapshots"] == events.snapshots == 1 and stats["applied"] == 49
    assert stats["gaps"] == stats["resyncs"] == 0
    feed = connector.feeds["XRPUSDT"]
    assert feed.book.sequence == entries[-1][1] and feed.state == entries[-1][2]
    assert book_mismatches(connector, server) == []
    assert feed.book.best(0) < feed.book.best(1)


@pytest.mark.parametrize("kind", ["drop", "reorder"])
async def test_a_lost_or_swapped_delta_is_one_gap(recording, kind):
    entries = messages(recording)
    index = 20
    changed = entries[:index] + entries[index + 1:] if kind == "drop" else \
        entries[:index] + [entries[index + 1], entries[index]] + entries[index + 2:]
    assert breaks(changed[:index + 1]) == 1  # the first delivered delta after the fault
    connector, server, _ = await run(recording, Fault(kind, index))
    assert connector.stats.gaps == 1 and connector.stats.resyncs == 1
    assert connector.stats.snapshots == 2
    assert book_mismatches(connector, server) == []


def lower_seq(data):
    """The delta's ``seq`` made equal to an earlier one: the cross sequence goes back."""
    message = json.loads(data)
    message["data"]["seq"] -= 10**6
    return json.dumps(message).encode()


async def test_a_seq_going_back_is_a_gap(recording):
    connector, server, _ = await run(recording, Fault("corrupt", 30, lower_seq))
    assert connector.stats.gaps == 1 and connector.stats.resyncs == 1
    assert book_mismatches(connector, server) == []


async def test_a_disconnect_resubscribes(recording):
    connector, server, _ = await run(recording, Fault("disconnect", 25))
    assert connector.stats.reconnects == 1 and connector.stats.resyncs == 1
    assert connector.stats.gaps == 0 and connector.stats.snapshots == 2
    assert book_mismatches(connector, server) == []


def test_depth_is_checked():
    markets = {"XRPUSDT": {"id": "XRPUSDT", "price_increment": "0.0001",
                           "size_increment": "1"}}
    with pytest.raises(ValueError, match="depth"):
        BybitConnector(venue="bybit", markets=markets, depth=25)
