"""The Deribit connector against the recorded ``book.<instrument>.raw`` session (10 option
books, 10 snapshots and 36 changes) replayed over a loopback WebSocket: every change_id link
is checked, the gaps found are the ones an independent walk of the recording predicts, and
lost, reordered or damaged notifications and a disconnect lead to a resubscription after which
every book equals the exchange's."""

import json

import pytest
from liqframe_deribit import DeribitConnector, liqframe_venue_connectors

from liqframe.errors import ConfigError
from liqframe.testing.data import recording_path
from liqframe.testing.recordings import load
from liqframe.testing.replay import Fault, book_mismatches, replay_connector
from liqframe.testing.replay_venues import Deribit


@pytest.fixture(scope="module")
def recording():
    return load(recording_path("cryptofeed", "DERIBIT.ws.1.0"))


def book_notifications(recording):
    """``[(frame index, instrument, type, change_id, prev_change_id)]`` straight from the
    recorded text (the oracle: no liqframe code involved)."""
    found = []
    for index, frame in enumerate(recording.received):
        message = json.loads(frame.data)
        channel = message.get("params", {}).get("channel", "")
        if channel.startswith("book."):
            data = message["params"]["data"]
            found.append((index, data["instrument_name"], data["type"], data["change_id"],
                          data.get("prev_change_id")))
    return found


def chain_breaks(notifications):
    """Changes whose ``prev_change_id`` is not the instrument's last ``change_id``."""
    last, breaks = {}, 0
    for _, name, kind, change_id, previous in notifications:
        if kind == "change" and name in last and previous != last[name]:
            breaks += 1
        last[name] = change_id
    return breaks


def later_changes(notifications, position):
    """How many changes of the same instrument follow notification ``position``."""
    name = notifications[position][1]
    return sum(1 for n in notifications[position + 1:] if n[1] == name)


def run(recording, *faults):
    return replay_connector(DeribitConnector, recording, faults=list(faults),
                            exchange=Deribit(recording))


def test_registers_the_connector():
    assert liqframe_venue_connectors() == {"deribit": DeribitConnector}


async def test_every_link_of_the_change_id_chain_holds(recording):
    notifications = book_notifications(recording)
    snapshots = sum(1 for n in notifications if n[2] == "snapshot")
    changes = len(notifications) - snapshots
    assert (snapshots, changes, chain_breaks(notifications)) == (10, 36, 0)
    connector, server, events = await run(recording)
    stats = connector.stats.as_dict()
    assert stats["snapshots"] == events.snapshots == snapshots
    assert stats["applied"] == changes
    assert stats["gaps"] == stats["resyncs"] == stats["stale_dropped"] == 0
    assert book_mismatches(connector, server) == []
    # every change went through the chain check: each book ends on its last recorded id
    last = {name: change_id for _, name, _, change_id, _ in notifications}
    assert {name: feed.book.sequence for name, feed in connector.feeds.items()} == last


async def test_a_lost_change_is_one_gap_and_the_book_recovers(recording):
    notifications = book_notifications(recording)
    # a change followed by another change of the same instrument: its loss must be seen
    position = next(i for i, n in enumerate(notifications)
                    if n[2] == "change" and later_changes(notifications, i))
    without = notifications[:position] + notifications[position + 1:]
    assert chain_breaks(without) == 1
    connector, server, _ = await run(recording, Fault("drop", notifications[position][0]))
    assert connector.stats.gaps == 1 and connector.stats.resyncs == 1
    assert connector.stats.snapshots == 11
    assert book_mismatches(connector, server) == []


async def test_a_lost_last_change_goes_unseen(recording):
    """Nothing follows it on that instrument, so no chain can show it: no gap is invented,
    and the book misses exactly that change."""
    notifications = book_notifications(recording)
    position = max(i for i, n in enumerate(notifications)
                   if n[2] == "change" and not later_changes(notifications, i))
    connector, server, _ = await run(recording, Fault("drop", notifications[position][0]))
    assert connector.stats.gaps == 0 and connector.stats.resyncs == 0
    assert book_mismatches(connector, server) == [notifications[position][1]]


async def test_reordered_changes_break_the_chain_and_resync(recording):
    notifications = book_notifications(recording)
    # two consecutive book notifications of one instrument, both changes
    position = next(i for i in range(len(notifications) - 1)
                    if notifications[i][1] == notifications[i + 1][1]
                    and notifications[i][2] == notifications[i + 1][2] == "change")
    connector, server, _ = await run(recording, Fault("reorder", notifications[position][0]))
    assert connector.stats.gaps == 1 and connector.stats.resyncs == 1
    assert book_mismatches(connector, server) == []


def damage_prev_change_id(data):
    """One digit of ``prev_change_id`` changed: a link that no longer holds."""
    head, found, tail = data.partition(b'"prev_change_id":')
    assert found, "not a change"
    digit = str((int(tail[:1]) + 1) % 10).encode()
    return head + found + digit + tail[1:]


async def test_a_damaged_link_is_a_gap(recording):
    notifications = book_notifications(recording)
    position = next(i for i, n in enumerate(notifications) if n[2] == "change")
    connector, server, _ = await run(
        recording, Fault("corrupt", notifications[position][0], damage_prev_change_id))
    assert connector.stats.gaps == 1 and connector.stats.resyncs == 1
    assert book_mismatches(connector, server) == []


async def test_a_disconnect_resubscribes_every_book(recording):
    notifications = book_notifications(recording)
    connector, server, _ = await run(recording, Fault("disconnect", notifications[-10][0]))
    assert connector.stats.reconnects == 1 and connector.stats.resyncs == 10
    assert connector.stats.gaps == 0
    assert book_mismatches(connector, server) == []


def test_options_are_checked():
    markets = {"BTC-PERPETUAL": {"id": "BTC-PERPETUAL", "price_increment": "0.5",
                                 "size_increment": "10"}}
    with pytest.raises(ValueError, match="interval"):
        DeribitConnector(venue="deribit", markets=markets, interval="1s")
    with pytest.raises(ConfigError, match="url"):
        DeribitConnector(venue="deribit", markets=markets, url="www.deribit.com")
