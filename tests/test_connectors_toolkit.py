"""The shared connector toolkit (liqframe.connectors) and the recording reader behind the
replay server, on their own; each venue's connector is tested in its plugin."""

import pytest

from liqframe.connectors import Backoff, ConnectionSequence, FeedStats, Market
from liqframe.errors import ConfigError
from liqframe.testing.data import recording_path
from liqframe.testing.recordings import load
from liqframe.testing.replay import Fault, corrupt_first_size


def test_market_parses_decimal_strings_to_ticks_and_lots():
    market = Market("BTC/USD", "XBT/USD", "0.1", "0.00000001")
    assert market.price("45283.50000") == 452835
    assert market.size("1.54582015") == 154582015
    with pytest.raises(ValueError):
        market.price("45283.55")  # finer than the tick


def test_market_with_a_step_that_is_not_one_unit_refuses_values_off_its_grid():
    market = Market("X/Y", "XY", "0.5", "25")
    assert market.price("10.5") == 21 and market.size("75") == 3
    with pytest.raises(ValueError, match="off the grid"):
        market.price("10.2")
    with pytest.raises(ConfigError):
        Market("X/Y", "XY", 0.5, "1")  # a float increment is inexact


def test_backoff_doubles_to_its_maximum_and_resets():
    backoff = Backoff(0.25, 1.0)
    assert [backoff.next() for _ in range(5)] == [0.25, 0.5, 1.0, 1.0, 1.0]
    backoff.reset()
    assert backoff.next() == 0.25


def test_connection_sequence_flags_gaps_and_backward_steps():
    chain = ConnectionSequence()
    assert [chain.check(n) for n in (5, 6, 8, 9, 7)] == [True, True, False, True, False]
    chain.reset()
    assert chain.check(0)


def test_stats_keys_start_with_the_verify_figures():
    assert list(FeedStats().as_dict())[:5] == ["messages", "checksums_checked",
                                              "checksum_failures", "gaps", "resyncs"]


@pytest.mark.parametrize(("parts", "url", "received", "sent", "http"), [
    (("cryptofeed", "KRAKEN.ws.50.0"), "wss://ws.kraken.com", 4321, 1, 0),
    (("cryptofeed", "BINANCE.ws.1.0"), None, 265, 0, 4),
    (("cryptofeed", "COINBASE.jsonl.zst"), "wss://advanced-trade-ws.coinbase.com", 1030, 5, 1),
    (("cryptofeed", "DERIBIT.ws.1.0"), "wss://www.deribit.com/ws/api/v2", None, None, 0),
    (("nautilus_trader", "L3_feed.json"), None, None, 0, 0),
    (("nautilus_trader", "xrpusdt-ob500.data.zip"), None, 50, 0, 0),
])
def test_every_recording_format_reads(parts, url, received, sent, http):
    recording = load(recording_path(*parts))
    if url is not None:
        assert recording.url == url
    if received is not None:
        assert len(recording.received) == received
    if sent is not None:
        assert len(recording.sent) == sent
    assert len(recording.http) == http
    assert recording.received


def test_corruption_changes_one_size_and_keeps_valid_json():
    frame = b'[464,{"b":[["55973.20000","0.15000000","1618678138.744372"]]},"book-10","X"]'
    assert corrupt_first_size(frame) == frame.replace(b"0.15000000", b"0.15000001")
    with pytest.raises(ValueError):
        Fault("explode", 3)
