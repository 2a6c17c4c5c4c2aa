"""A queue-aware fill backtest over an array of L2 book events, with latency.

The replay itself is the core module ``backtest`` (:func:`liqframe.core.replay_events`, compiled
or its pure twin ``liqframe/_core/backtest.py``, whose docstring gives the event format, the
queue models and the accounting). This module checks the options and turns a replay into a
:class:`QueueResult`: PnL and its split, inventory statistics, fill rates and markouts.

Units: prices in ticks, sizes in lots, money in ticks × lots (multiply by the value of one tick
on one lot for currency).
"""

import attrs
import numpy as np

from liqframe import core
from liqframe._core.backtest import ASK_SIDE as ASK
from liqframe._core.backtest import BID_SIDE as BID
from liqframe._core.backtest import DEPTH, EVENT_DTYPE, TRADE, QuoteTouch
from liqframe.errors import InvalidValue

__all__ = ["ASK", "BID", "DEPTH", "EVENT_DTYPE", "MARKOUTS_NS", "QUEUE_MODELS", "TRADE",
           "QueueResult", "QuoteTouch", "quote_touch", "run"]

QUEUE_MODELS = ("conservative", "probabilistic")
#: Markout horizons: the mid this long after each fill.
MARKOUTS_NS = (1_000_000_000, 10_000_000_000, 60_000_000_000)


def quote_touch(size):
    """A strategy that quotes ``size`` at the best bid and ask it sees."""
    return QuoteTouch(size=size)


@attrs.frozen(kw_only=True)
class QueueResult:
    """A replay's outcome. ``fill_rows``, ``equity``, ``mid_ts``/``mid2`` are the raw arrays."""

    events: int
    decisions: int
    bid_orders: int
    ask_orders: int
    rejected: int
    position: int
    cash: int
    spread2: int
    inventory2: int
    fees: float
    last_mid2: int | None
    fill_rows: np.ndarray = attrs.field(repr=False)
    equity: np.ndarray = attrs.field(repr=False)
    mid_ts: np.ndarray = attrs.field(repr=False)
    mid2: np.ndarray = attrs.field(repr=False)
    end_ts: int
    markout_ns: tuple = MARKOUTS_NS

    @property
    def fills(self):
        return len(self.fill_rows)

    @property
    def last_mid(self):
        return None if self.last_mid2 is None else self.last_mid2 / 2

    @property
    def gross_pnl(self):
        """Cash plus the position at the last mid, before fees (exact: ticks × lots)."""
        return self.cash + self.position * (self.last_mid or 0.0)

    @property
    def pnl(self):
        """Total PnL: :attr:`spread_capture` + :attr:`inventory_pnl` - :attr:`fees`."""
        return self.gross_pnl - self.fees

    @property
    def spread_capture(self):
        """Each fill's edge against the mid at the time of the fill, summed."""
        return self.spread2 / 2

    @property
    def inventory_pnl(self):
        """The position held times each move of the mid, summed."""
        return self.inventory2 / 2

    def inventory_stats(self):
        """Position sampled at every decision (time-weighted on the decision grid)."""
        q = self.equity["position"].astype(float)
        if not len(q):
            return {"final": self.position, "mean": 0.0, "std": 0.0, "min": 0, "max": 0,
                    "mean_abs": 0.0}
        return {"final": self.position, "mean": float(q.mean()), "std": float(q.std()),
                "min": int(q.min()), "max": int(q.max()), "mean_abs": float(np.abs(q).mean())}

    def fill_stats(self):
        rows = self.fill_rows
        buys = int((rows["side"] == BID).sum())
        sells = len(rows) - buys
        sent = self.bid_orders + self.ask_orders
        return {"fills": len(rows), "buys": buys, "sells": sells,
                "volume": int(rows["qty"].sum()), "bid_orders": self.bid_orders,
                "ask_orders": self.ask_orders, "rejected": self.rejected,
                "fill_rate": len(rows) / sent if sent else 0.0,
                "bid_fill_rate": buys / self.bid_orders if self.bid_orders else 0.0,
                "ask_fill_rate": sells / self.ask_orders if self.ask_orders else 0.0}

    def markouts(self):
        """Per fill and horizon: ``mid_move`` = side × (mid then - mid at the fill) and
        ``pnl`` = side × (mid then - fill price), in ticks per lot. Fills whose horizon runs
        past the end of the feed are left out (NaN)."""
        rows = self.fill_rows
        sign = np.where(rows["side"] == BID, 1.0, -1.0)
        out = {}
        for horizon in self.markout_ns:
            target = rows["ts"] + horizon
            at = np.searchsorted(self.mid_ts, target, side="right") - 1
            later = self.mid2[np.maximum(at, 0)] / 2 if len(self.mid2) else np.zeros(len(rows))
            valid = (target <= self.end_ts) & (at >= 0)
            out[horizon] = {"mid_move": np.where(valid, sign * (later - rows["mid2"] / 2),
                                                 np.nan),
                            "pnl": np.where(valid, sign * (later - rows["px"]), np.nan)}
        return out

    def markout_summary(self):
        summary = {}
        for horizon, values in self.markouts().items():
            moves, pnl = values["mid_move"], values["pnl"]
            count = int(np.count_nonzero(~np.isnan(moves)))
            summary[f"{horizon / 1e9:g}s"] = {
                "fills": count,
                "mid_move": float(np.nanmean(moves)) if count else None,
                "pnl": float(np.nanmean(pnl)) if count else None}
        return summary

    def summary(self):
        return {
            "events": self.events, "decisions": self.decisions,
            "pnl": {"total": self.pnl, "spread_capture": self.spread_capture,
                    "inventory": self.inventory_pnl, "fees": self.fees},
            "last_mid": self.last_mid, "cash": self.cash,
            "inventory": self.inventory_stats(), "fills": self.fill_stats(),
            "markouts": self.markout_summary(),
        }


def run(events, strategy, *, interval_ns, order_latency_ns=0, queue_model="conservative",
        power=2.0, fee_bps=0.0, markout_ns=MARKOUTS_NS, progress=None, engine=None):
    """Replay ``events`` against ``strategy`` (a :class:`QuoteTouch` or a callable
    ``(best_bid, best_ask, position) -> (bid_px, ask_px, size)``) and return a
    :class:`QueueResult`. ``engine`` is a core twin module (default: :mod:`liqframe.core`'s)."""
    if queue_model not in QUEUE_MODELS:
        raise InvalidValue("queue_model", queue_model, f"must be one of {QUEUE_MODELS}")
    markout_ns = tuple(markout_ns)
    for horizon in markout_ns:
        if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon <= 0:
            raise InvalidValue("markout_ns", horizon, "must be positive integers")
    replay = (engine or core).replay_events
    raw = replay(events, strategy, interval_ns=interval_ns, order_latency_ns=order_latency_ns,
                 probabilistic=queue_model == "probabilistic", power=power, fee_bps=fee_bps,
                 progress=progress)
    return QueueResult(
        events=raw["events"], decisions=raw["decisions"], bid_orders=raw["bid_orders"],
        ask_orders=raw["ask_orders"], rejected=raw["rejected"], position=raw["position"],
        cash=raw["cash"], spread2=raw["spread2"], inventory2=raw["inventory2"],
        fees=raw["fees"], last_mid2=raw["mid2"], fill_rows=raw["fills"], equity=raw["equity"],
        mid_ts=raw["mid_ts"], mid2=raw["mid_mid2"],
        end_ts=int(events["exch_ts"].max()) if len(events) else 0, markout_ns=markout_ns)
