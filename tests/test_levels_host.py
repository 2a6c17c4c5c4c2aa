"""The host's normaliser fed by a real connector over loopback: each message arrives whole as
int64 columns (``on_book_columns``) in the venue's book and the consolidated book."""

from pathlib import Path

from liqframe_okx import OkxConnector

from liqframe.host.books import Market as HostMarket
from liqframe.host.hub import EventHub
from liqframe.host.normaliser import VenueFeed
from liqframe.model import Instrument
from liqframe.testing.recordings import load
from liqframe.testing.replay import replay_connector

DATA = Path(__file__).parent / "data" / "cryptofeed"


class _Address:
    ws_url = "ws://127.0.0.1:9/"


class _Portfolio:
    def inventory(self, *args):
        return 0


async def test_okx_messages_reach_the_venue_and_consolidated_books_whole():
    recording = load(DATA / "OKX.ws.1.0")
    markets = OkxConnector.replay_options(recording, _Address())["markets"]
    symbol, spec = next((s, m) for s, m in markets.items() if s.count("-") == 1)  # spot
    base, quote = symbol.split("-")
    instrument = Instrument(base=base, quote=quote, price_increment=spec["price_increment"],
                            size_increment=spec["size_increment"])
    host = HostMarket({symbol: instrument}, {"okx": [symbol]}, _Portfolio())
    sinks = {"fill": print, "order": print, "up": lambda venue: None, "down": lambda venue: None}
    events = VenueFeed("okx", host, store=None, hub=EventHub(), sinks=sinks)
    connector, _, _ = await replay_connector(OkxConnector, recording, events=events,
                                             markets={symbol: spec})
    stats = connector.stats
    assert stats.checksums_checked > 50 and stats.checksum_failures == stats.gaps == 0
    # Every change of every message is applied: the host's books equal the connector's.
    assert events.counts["deltas"] > stats.applied
    ours = connector.feeds[symbol].book
    venue_book = host.books[("okx", symbol)]
    group = host.group(symbol)
    for side in (0, 1):
        expected = [level.tolist() for level in ours.top(side, 10_000)]
        assert [level.tolist() for level in venue_book.top(side, 10_000)] == expected
        native = sorted(map(tuple, group.book.venue_levels(group.ids[("okx", symbol)], side)
                            .tolist()), reverse=side == 0)
        assert [list(column) for column in zip(*native)] == expected
