"""``liqframe replay --venue``: a recorded exchange session through its connector over a
loopback replay server, run as a user runs it (a subprocess)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "cryptofeed"


def liqframe(*args):
    return subprocess.run([sys.executable, "-P", "-m", "liqframe", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("recording", "venue", "expected"), [
    ("KRAKEN.ws.50.0", "kraken", {"checksums_checked": 4269, "applied": 4269}),
    ("OKX.ws.1.0", "okx", {"checksums_checked": 290, "applied": 287}),
    ("BINANCE.ws.1.0", "binance", {"applied": 172, "stale_dropped": 5}),
    ("BINANCE_FUTURES.ws.1.0", "binance-futures", {"applied": 752, "stale_dropped": 12}),
])
def test_verify_prints_the_counts_as_json(recording, venue, expected):
    result = liqframe("replay", str(DATA / recording), "--venue", venue, "--verify", "--json")
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout)
    assert {key: counts[key] for key in expected} == expected
    assert counts["checksum_failures"] == counts["gaps"] == counts["resyncs"] == 0
    assert list(counts)[:5] == ["messages", "checksums_checked", "checksum_failures", "gaps",
                                "resyncs"]


def test_summary_line():
    result = liqframe("replay", str(DATA / "BITGET.ws.2.0"), "--venue", "bitget", "--verify")
    assert result.returncode == 0, result.stderr
    assert "194 checksums checked, 0 failed; 0 gaps; 0 resyncs" in result.stdout


def test_unknown_venue_is_a_usage_error():
    result = liqframe("replay", str(DATA / "OKX.ws.1.0"), "--venue", "nosuch", "--verify")
    assert result.returncode == 2 and "nosuch" in result.stderr


def test_a_recording_of_another_venue_is_a_usage_error():
    result = liqframe("replay", str(DATA / "OKX.ws.1.0"), "--venue", "kraken", "--verify")
    assert result.returncode == 2 and "not a kraken recording" in result.stderr


def test_lobster_still_needs_its_files():
    result = liqframe("replay", "x.csv", "--format", "lobster")
    assert result.returncode == 2 and "--orderbook and --levels" in result.stderr
    result = liqframe("replay", "x.csv")
    assert result.returncode == 2 and "--venue" in result.stderr
