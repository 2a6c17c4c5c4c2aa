"""The Bitfinex connector replayed over a loopback WebSocket:

- ``cryptofeed/BITFINEX.ws.11.0``: 7 ``P0`` books (len 100) on a connection with SEQ_ALL,
  1,670 numbered messages. Every number is checked; an independent walk of the recording
  says the chain has no break, and a lost frame is exactly one gap after which every book
  resubscribes and equals the exchange's.
- ``nautilus_trader/L3_feed.json``: the ``R0`` raw book of tBTCUSD order by order; the
  connector's aggregated book must equal the one rebuilt here from the raw orders, and a lost
  order shows as a delete of an unknown order.
- Bitfinex's own client test vectors (``derived/checksum_vectors.json``): a snapshot and
  updates followed by the server's ``cs`` checksum, served as a session.
"""

import json
from decimal import Decimal

import pytest
from liqframe_bitfinex import BitfinexConnector, liqframe_venue_connectors

from liqframe.core import ASK, BID
from liqframe.testing.data import recording_path
from liqframe.testing.recordings import Frame, Recording, load
from liqframe.testing.replay import Fault, book_mismatches, replay_connector
from liqframe.testing.replay_venues import Bitfinex


def run(recording, *faults, **options):
    return replay_connector(BitfinexConnector, recording, faults=list(faults),
                            exchange=Bitfinex(recording), **options)


def test_registers_the_connector():
    assert liqframe_venue_connectors() == {"bitfinex": BitfinexConnector}


# -- P0 with SEQ_ALL ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def p0():
    return load(recording_path("cryptofeed", "BITFINEX.ws.11.0"))


def channel_messages(recording):
    """``[(frame index, chanId, body, seq)]`` of every channel message, and the book
    channels ``{chanId: symbol}``, read with the standard library (the oracle)."""
    messages, books = [], {}
    for index, frame in enumerate(recording.received):
        message = json.loads(frame.data)
        if isinstance(message, dict):
            if message.get("event") == "subscribed" and message["channel"] == "book":
                books[message["chanId"]] = message["symbol"]
            continue
        messages.append((index, message[0], message[1], message[-1]))
    return messages, books


def sequence_breaks(numbers):
    return sum(1 for a, b in zip(numbers, numbers[1:], strict=False) if b != a + 1)


async def test_every_sequence_number_is_checked(p0):
    messages, books = channel_messages(p0)
    numbers = [m[3] for m in messages]
    assert len(numbers) == 1670 and sequence_breaks(numbers) == 0 and len(books) == 7
    updates = sum(1 for _, channel, body, _ in messages
                  if channel in books and body != "hb" and not isinstance(body[0], list))
    connector, server, events = await run(p0)
    stats = connector.stats.as_dict()
    assert server.renumbered == 0  # the connector saw the recorded numbers as they are
    assert connector.sequence.last == numbers[-1]
    assert stats["gaps"] == stats["resyncs"] == 0
    assert stats["snapshots"] == events.snapshots == 7
    assert stats["applied"] == updates
    assert book_mismatches(connector, server) == []


@pytest.mark.parametrize("what", ["book update", "heartbeat"])
async def test_a_lost_frame_is_one_gap_and_every_book_recovers(p0, what):
    messages, books = channel_messages(p0)
    position = next(i for i, (_, channel, body, _) in enumerate(messages)
                    if i > 1000 and channel in books
                    and (body == "hb" if what == "heartbeat" else
                         body != "hb" and not isinstance(body[0], list)))
    numbers = [m[3] for m in messages]
    assert sequence_breaks(numbers[:position] + numbers[position + 1:]) == 1
    index = messages[position][0]
    snapshots_before = sum(1 for i, channel, body, _ in messages
                           if i < index and channel in books and isinstance(body, list)
                           and (not body or isinstance(body[0], list)))
    connector, server, _ = await run(p0, Fault("drop", index))
    assert connector.stats.gaps == 1
    assert connector.stats.resyncs == snapshots_before == 7
    assert book_mismatches(connector, server) == []


async def test_a_disconnect_resubscribes_every_book(p0):
    messages, books = channel_messages(p0)
    connector, server, _ = await run(p0, Fault("disconnect", messages[1200][0]))
    assert connector.stats.reconnects == 1 and connector.stats.resyncs == 7
    assert connector.stats.gaps == 0
    assert book_mismatches(connector, server) == []


# -- R0, order by order ------------------------------------------------------------------------



@pytest.fixture(scope="module")
def r0():
    """The raw-book recording (100,001 messages) with the subscription the recording client
    sent (the file keeps only what it received)."""
    full = load(recording_path("nautilus_trader", "L3_feed.json"))
    subscription = {"event": "subscribe", "channel": "book", "symbol": "tBTCUSD",
                    "prec": "R0", "freq": "F0", "len": "25"}
    return Recording(full.name, full.path, "wss://api-pub.bitfinex.com/ws/2",
                     sent=[Frame(0.0, json.dumps(subscription).encode())],
                     received=full.received)


@pytest.fixture(scope="module")
def r0_start(r0):
    """Its first 20,000 messages, enough for the fault tests."""
    return Recording(r0.name, r0.path, r0.url, sent=r0.sent, received=r0.received[:20_000])


def raw_book(recording, skip=None):
    """The aggregated book and the unknown-order deletes of the raw stream, rebuilt with
    Decimal from the recorded orders; stops following the book at the first unknown delete
    (the connector resubscribes there)."""
    orders, unknown = {}, 0
    for index, frame in enumerate(recording.received):
        message = json.loads(frame.data, parse_float=Decimal)
        if index == skip or not isinstance(message, list):
            continue
        body = message[1]
        for order_id, price, amount in body if isinstance(body[0], list) else [body]:
            if price == 0:
                if orders.pop(order_id, None) is None:
                    unknown += 1
                    return None, unknown
            else:
                orders[order_id] = (price, amount)
    levels = {BID: {}, ASK: {}}
    for price, amount in orders.values():
        side = levels[BID if amount > 0 else ASK]
        side[price] = side.get(price, 0) + abs(amount)
    return levels, unknown


def book_of(feed):
    market = feed.market
    result = {}
    for side in (BID, ASK):
        prices, sizes = feed.book.levels(side)
        result[side] = {Decimal(p).scaleb(-market.price_decimals):
                        Decimal(s).scaleb(-market.size_decimals)
                        for p, s in zip(prices.tolist(), sizes.tolist(), strict=True)}
    return result


async def test_the_raw_book_equals_the_orders_rebuilt_here(r0):
    levels, unknown = raw_book(r0)
    assert unknown == 0 and len(levels[BID]) and len(levels[ASK])
    connector, server, events = await run(r0, timeout=120)
    stats = connector.stats.as_dict()
    assert stats["gaps"] == stats["resyncs"] == 0 and stats["snapshots"] == 1
    assert stats["applied"] == len(r0.received) - 3  # info, subscribed, snapshot
    assert book_of(connector.feeds["tBTCUSD"]) == levels
    assert book_mismatches(connector, server) == []


async def test_a_lost_order_is_caught_by_its_delete(r0_start):
    r0 = r0_start
    # an order added after the snapshot and deleted later: lose its add
    added = {}
    for index, frame in enumerate(r0.received[3:], start=3):
        order_id, price, _ = json.loads(frame.data)[1]
        if price != 0 and order_id not in added:
            added[order_id] = index
        elif price == 0 and order_id in added:
            lost = added[order_id]
            break
    _, unknown = raw_book(r0, skip=lost)
    assert unknown == 1
    connector, server, _ = await run(r0, Fault("drop", lost), timeout=120)
    assert connector.stats.gaps == 1 and connector.stats.resyncs == 1
    assert connector.stats.snapshots == 2
    assert book_mismatches(connector, server) == []


# -- checksums (Bitfinex's client test vectors) ----------------------------------------------


@pytest.fixture(scope="module")
def checksum_session():
    """The two P0 vectors as one SEQ_ALL + OB_CHECKSUM session: subscribed, snapshot,
    updates, then the server's ``cs``."""
    path = recording_path("derived", "checksum_vectors.json")
    cases = json.loads(path.read_text())["bitfinex_p0_book_cases"]["cases"]
    sent = [{"event": "conf", "flags": 65536 | 131072}]
    received = [{"event": "info", "version": 2}, {"event": "conf", "status": "OK",
                                                  "flags": 65536 | 131072}]
    for channel, case in enumerate(cases, start=1):
        request = {"event": "subscribe", "channel": "book", "symbol": case["symbol"],
                   "prec": "P0", "freq": "F0", "len": str(case["len"])}
        sent.append(request)
        received.append({**request, "event": "subscribed", "chanId": channel,
                         "pair": case["symbol"][1:]})
        received.append([channel, case["snapshot"]])
        received += [[channel, update] for update in case["updates"]]
        received.append([channel, "cs", case["checksum_signed_int32"]])
    number = 0
    for message in received:
        if isinstance(message, list):
            number += 1
            message.append(number)

    def frames(messages):
        return [Frame(0.0, json.dumps(m).encode()) for m in messages]

    return Recording("BITFINEX.vectors", None, "wss://api-pub.bitfinex.com/ws/2",
                     sent=frames(sent), received=frames(received))


async def test_the_published_checksums_match(checksum_session):
    connector, server, _ = await run(checksum_session)
    stats = connector.stats.as_dict()
    assert stats["checksums_checked"] == 2 and stats["checksum_failures"] == 0
    assert stats["gaps"] == stats["resyncs"] == 0
    assert book_mismatches(connector, server) == []


def change_amount(data):
    """An update whose amount differs in its last digit (a corrupted size)."""
    head, _, tail = data.rpartition(b"]")
    body, _, number = head.rpartition(b",")
    inner = body.rstrip(b"]")
    start, _, amount = inner.rpartition(b",")
    digit = bytes([48 + (amount[-1] - 48 + 3) % 10])
    return start + b"," + amount[:-1] + digit + body[len(inner):] + b"," + number + b"]" + tail


async def test_a_corrupted_update_fails_the_checksum_and_recovers(checksum_session):
    index = checksum_session.find(lambda m: isinstance(m, list) and m[0] == 1
                                  and isinstance(m[1], list) and not isinstance(m[1][0], list)
                                  and m[1][1] != 0)
    connector, server, _ = await run(checksum_session, Fault("corrupt", index, change_amount))
    assert connector.stats.checksum_failures == 1 and connector.stats.resyncs == 1
    assert connector.stats.snapshots == 3
    assert book_mismatches(connector, server) == []


def test_options_are_checked():
    markets = {"tBTCUSD": {"id": "tBTCUSD", "price_increment": "1", "size_increment": "1e-8"}}
    for option, value in (("precision", "P9"), ("length", 50), ("frequency", "F2")):
        with pytest.raises(ValueError, match=option):
            BitfinexConnector(venue="bitfinex", markets=markets, **{option: value})
