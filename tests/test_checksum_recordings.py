"""Every checksum in real Kraken, OKX and Bitget recordings matches the book L2Book rebuilds.

The recordings (tests/data/cryptofeed, see the README there) hold the venue's messages as
received; each book update carries the venue's CRC32 of its own book after the update. The
test parses the lines directly, applies them to an L2Book of each twin, and recomputes every
checksum from the book's integers: a single wrong level, order or string form fails it.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from liqframe._core.fixed import to_units
from liqframe.testing.twins import resolve_twin, twin_modules


@pytest.fixture(params=twin_modules("checksum"))
def checksum(request):
    """Each twin of the checksum module (the pure one, and the compiled one when built)."""
    return resolve_twin(request.param)

DATA = Path(__file__).parent / "data" / "cryptofeed"

pytestmark = pytest.mark.parametrize("twin", twin_modules("book"), indirect=True)


def received(name):
    """The JSON messages received in recording ``name``, in order."""
    with open(DATA / name, encoding="utf-8") as lines:
        for line in lines:
            if line[:1].isdigit():
                yield json.loads(line.partition(": ")[2])


def arrays(levels, price_decimals, size_decimals):
    prices = np.array([to_units(level[0], price_decimals) for level in levels], dtype=np.int64)
    sizes = np.array([to_units(level[1], size_decimals) for level in levels], dtype=np.int64)
    return prices, sizes


def snapshot(book, bids, asks, price_decimals, size_decimals):
    book.apply_snapshot(
        *arrays(bids, price_decimals, size_decimals), *arrays(asks, price_decimals, size_decimals)
    )


def apply_levels(book, side, levels, price_decimals, size_decimals):
    for level in levels:
        book.apply(side, to_units(level[0], price_decimals), to_units(level[1], size_decimals))


def places(text):
    return len(text.partition(".")[2])


# -- Kraken WebSocket v1 ----------------------------------------------------------------------


def kraken_pair_decimals():
    """``wsname -> (pair_decimals, lot_decimals)`` from the recorded REST AssetPairs reply."""
    with open(DATA / "KRAKEN.0", encoding="utf-8") as lines:
        body = lines.readline().partition(" -> ")[2].partition(": ")[2]
    pairs = json.loads(body)["result"].values()
    return {p["wsname"]: (p["pair_decimals"], p["lot_decimals"]) for p in pairs if "wsname" in p}


def test_kraken_v1_every_checksum_matches(twin, checksum):
    """Prices are parsed at the pair's tick (``pair_decimals``), while Kraken's v1 book prints
    more places (``354.15000000`` for a 0.01 tick): the checksum takes both."""
    decimals = kraken_pair_decimals()
    books, printed, depth = {}, {}, 1000
    checked = 0
    for message in received("KRAKEN.ws.50.0"):
        if not isinstance(message, list):
            continue
        pair = message[-1]
        price_decimals, size_decimals = decimals[pair]
        parts = message[1:-2]
        if "as" in parts[0]:
            book = books[pair] = twin.L2Book()
            snapshot(book, parts[0]["bs"], parts[0]["as"], price_decimals, size_decimals)
            printed[pair] = (places(parts[0]["as"][0][0]), places(parts[0]["as"][0][1]))
            continue
        book = books[pair]
        published = None
        for part in parts:
            apply_levels(book, twin.ASK, part.get("a", ()), price_decimals, size_decimals)
            apply_levels(book, twin.BID, part.get("b", ()), price_decimals, size_decimals)
            published = part.get("c", published)
        # Kraken does not delete the levels that fall out of the subscribed depth.
        book.truncate(depth)
        price_places, size_places = printed[pair]
        computed = checksum.kraken_checksum(
            book, price_decimals, size_decimals, price_places, size_places
        )
        assert computed == int(published), (pair, checked)
        checked += 1
    assert checked == 4269
    assert len(books) == 10


# -- OKX v5 and Bitget v1 -----------------------------------------------------------------------

# The instruments' tick and lot decimals (OKX tickSz / lotSz), as the recorded strings show.
OKX_DECIMALS = {"BTC-USD-220527": (1, 0), "UNI-USD-SWAP": (3, 0), "BTC-USDT": (1, 8)}
# Bitget's pricePrecision / quantityPrecision: it prints every string with these places.
BITGET_DECIMALS = {
    "CULTUSDT": (8, 0),
    "EOSUSDT": (4, 4),
    "VVSUSDT": (8, 4),
    "GOGUSDT": (4, 4),
    "AVAXUSDT": (4, 4),
    "STGUSDT": (3, 3),
    "HOTUSDT": (7, 4),
    "SUNUSDT": (5, 0),
    "DASHUSDT": (2, 2),
    "UNIUSDT": (3, 0),
}


def replay_books_channel(twin, names, decimals, compute):
    """Replay the ``books`` channel of OKX-style recordings; returns how many checksums
    matched (the assertion stops at the first that does not)."""
    books, checked = {}, 0
    for name in names:
        for message in received(name):
            if not isinstance(message, dict) or message.get("arg", {}).get("channel") != "books":
                continue
            if "data" not in message:
                continue
            instrument = message["arg"]["instId"]
            price_decimals, size_decimals = decimals[instrument]
            for data in message["data"]:
                if message["action"] == "snapshot":
                    book = books[instrument] = twin.L2Book()
                    snapshot(book, data["bids"], data["asks"], price_decimals, size_decimals)
                else:
                    book = books[instrument]
                    apply_levels(book, twin.ASK, data["asks"], price_decimals, size_decimals)
                    apply_levels(book, twin.BID, data["bids"], price_decimals, size_decimals)
                computed = compute(book, price_decimals, size_decimals)
                assert computed == data["checksum"], (name, instrument, checked)
                checked += 1
    return checked


def test_okx_every_checksum_matches(twin, checksum):
    """OKX sends its numbers in their shortest form; printing the book's integers that way
    reproduces every string it checksummed."""
    checked = replay_books_channel(twin, ["OKX.ws.1.0"], OKX_DECIMALS, checksum.okx_checksum)
    assert checked == 290


def test_bitget_every_checksum_matches(twin, checksum):
    """Bitget prints fixed places per instrument (``"3.040"``, ``"2.000"``)."""
    names = ["BITGET.ws.1.0", "BITGET.ws.2.0"]
    checked = replay_books_channel(twin, names, BITGET_DECIMALS, checksum.bitget_checksum)
    assert checked == 637


def test_okx_rule_is_not_bitgets(twin, checksum):
    """The two string rules differ on these recordings, so each test above really checks its
    own rule: Bitget's first checksum fails under OKX's shortest-form strings."""
    with pytest.raises(AssertionError):
        replay_books_channel(twin, ["BITGET.ws.2.0"], BITGET_DECIMALS, checksum.okx_checksum)
