"""Event arrays (:data:`~liqframe.backtest.queue.EVENT_DTYPE`) for the queue backtest.

- :func:`synthetic_feed`: a random book around a mid that moves a tick at a time;
- :func:`lobster_feed`: a recorded NASDAQ session in LOBSTER's format (message and orderbook
  files), as the depth changes it shows and its visible executions.
"""

from pathlib import Path

import numpy as np

from liqframe.backtest.queue import ASK, BID, DEPTH, EVENT_DTYPE, TRADE
from liqframe.errors import InvalidValue

LEVELS = 10  # synthetic book depth per side


def synthetic_feed(count, seed=7, *, step_ns=1_000_000, feed_latency_ns=500_000):
    """``count`` events, one every ``step_ns`` of exchange time, seen ``feed_latency_ns`` later.

    The book starts with 10 levels of 50 lots on each side of a mid of 10,000 ticks. Then each
    event is, with probability 2%, a move of the mid by one tick (removing the level it moves
    onto, so the book never crosses); 15% a trade of 1-19 lots at the touch by a random side;
    otherwise a random level within 10 ticks of the mid set to 0-99 lots."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 2 * LEVELS:
        raise InvalidValue("count", count, f"must be an integer of at least {2 * LEVELS}")
    rng = np.random.default_rng(seed)
    out = np.zeros(count, EVENT_DTYPE)
    seed_rows = np.arange(2 * LEVELS)
    out["side"][:2 * LEVELS] = seed_rows // LEVELS
    offset = seed_rows % LEVELS
    out["px"][:2 * LEVELS] = np.where(seed_rows < LEVELS, 10_000 - 1 - offset,
                                      10_000 + 1 + offset)
    out["qty"][:2 * LEVELS] = 50
    rest = count - 2 * LEVELS
    roll, coin = rng.random(rest), rng.random(rest) < 0.5
    offset, size, trade_size = (rng.integers(0, LEVELS, rest), rng.integers(0, 100, rest),
                                rng.integers(1, 20, rest))
    move = np.where(roll < 0.02, np.where(coin, 1, -1), 0)
    mid = 10_000 + np.cumsum(move)
    trade = (roll >= 0.02) & (roll < 0.17)
    side = np.where(move > 0, ASK, np.where(move < 0, BID, np.where(coin, BID, ASK)))
    # A trade by a BID aggressor takes the best ask (mid + 1); a depth update sets a level.
    px = np.where(move != 0, mid,
                  np.where(trade, np.where(side == BID, mid + 1, mid - 1),
                           np.where(side == BID, mid - 1 - offset, mid + 1 + offset)))
    body = out[2 * LEVELS:]
    body["kind"] = np.where(trade, TRADE, DEPTH)
    body["side"], body["px"] = side, px
    body["qty"] = np.where(move != 0, 0, np.where(trade, trade_size, size))
    out["exch_ts"] = np.arange(count, dtype=np.int64) * step_ns
    out["local_ts"] = out["exch_ts"] + feed_latency_ns
    return out


def lobster_orderbook_path(message_path):
    """LOBSTER's own naming: the orderbook file is the message file with ``message`` replaced."""
    path = Path(message_path)
    if "message" not in path.name:
        raise InvalidValue("orderbook", None,
                           f"cannot be derived from {path.name!r} (no 'message' in the name)")
    return path.with_name(path.name.replace("message", "orderbook"))


def _visible(row, levels):
    """(bids, asks) of one orderbook row: {price: size}, empty levels left out."""
    bids, asks = {}, {}
    for level in range(levels):
        ask_px, ask_sz, bid_px, bid_sz = row[4 * level:4 * level + 4]
        if ask_sz:
            asks[int(ask_px)] = int(ask_sz)
        if bid_sz:
            bids[int(bid_px)] = int(bid_sz)
    return bids, asks


def lobster_feed(message_path, orderbook_path=None, *, tick=100, feed_latency_ns=0):
    """A LOBSTER session as events, prices in ticks of ``tick`` price units (LOBSTER prices
    are dollars × 10000, so 100 is one cent) and sizes in shares.

    Row 0 of the orderbook file seeds the book. Then each message gives, at its time: a trade
    when it is a visible execution (type 4; ``direction`` is the resting order's side, so the
    aggressor is the other one), then the depth changes between its orderbook row and the
    previous one. A level that leaves a row only because it fell outside the file's N-level
    window is not removed (its size is unknown, not zero). Hidden executions (type 5) and
    cross trades (type 6) are left out: they trade no displayed queue.
    """
    from liqframe.lobster import read_messages, read_orderbook

    message_path = Path(message_path)
    orderbook_path = Path(orderbook_path) if orderbook_path else \
        lobster_orderbook_path(message_path)
    for name, path in (("recording", message_path), ("orderbook", orderbook_path)):
        if not path.is_file():
            raise InvalidValue(name, str(path), "is not a file")
    with orderbook_path.open() as handle:
        columns = handle.readline().count(",") + 1
    if columns % 4:
        raise InvalidValue("orderbook", str(orderbook_path),
                           f"has {columns} columns, not 4 per level")
    levels = columns // 4
    messages, book = read_messages(message_path), read_orderbook(orderbook_path, levels)
    if len(book) != len(messages["time"]):
        raise InvalidValue("orderbook", str(orderbook_path),
                           f"has {len(book)} rows for {len(messages['time'])} messages")
    prices = book[:, 0::2][book[:, 1::2] > 0]
    if isinstance(tick, bool) or not isinstance(tick, int) or tick <= 0:
        raise InvalidValue("tick", tick, "must be a positive integer")
    if (prices % tick).any() or (messages["price"][messages["type"] == 4] % tick).any():
        raise InvalidValue("tick", tick, "does not divide every price in the recording")
    rows = []
    times = messages["time"].tolist()
    known = ({}, {})  # every level the file has shown and not removed: {price: size}
    kinds, sizes = messages["type"].tolist(), messages["size"].tolist()
    msg_px, direction = messages["price"].tolist(), messages["direction"].tolist()
    for i in range(len(times)):
        t = times[i]
        if i and kinds[i] == 4:
            rows.append((TRADE, ASK if direction[i] == 1 else BID, t, msg_px[i], sizes[i]))
        for side, shown in zip((BID, ASK), _visible(book[i], levels), strict=True):
            levels_known = known[side]
            full = len(shown) == levels
            bound = (min(shown) if side == BID else max(shown)) if shown else None
            for px in [px for px in levels_known if px not in shown and (
                    not full or (px > bound if side == BID else px < bound))]:
                del levels_known[px]
                rows.append((DEPTH, side, t, px, 0))
            for px, sz in shown.items():
                if levels_known.get(px) != sz:
                    levels_known[px] = sz
                    rows.append((DEPTH, side, t, px, sz))
    out = np.zeros(len(rows), EVENT_DTYPE)
    table = np.array(rows, dtype=np.int64).reshape(-1, 5)
    out["kind"], out["side"], out["exch_ts"] = table[:, 0], table[:, 1], table[:, 2]
    out["local_ts"] = table[:, 2] + feed_latency_ns
    out["px"], out["qty"] = table[:, 3] // tick, table[:, 4]
    return out
