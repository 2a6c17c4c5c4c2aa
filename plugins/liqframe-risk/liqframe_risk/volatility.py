"""``ewma-volatility``: sizes down and spreads out when the consolidated mid moves fast.

Every ``sample_ms`` the model samples each quoted instrument's consolidated mid and updates
the exponentially weighted moving average of squared log returns (RiskMetrics)::

    var_n = decay * var_(n-1) + (1 - decay) * r_n ** 2,     r_n = ln(mid_n / mid_(n-1))

starting from ``var_1 = r_1 ** 2``. A return over ``k`` sample intervals (the mid could not be
sampled in between) counts as ``r ** 2 / k``. The volatility is ``sqrt(var)`` per sample
interval, in basis points. Once ``min_samples`` returns are in, the scale is
``min(max_scale, vol / target_bps)`` when above 1: each quote's sizes are divided by it
(rounded down; a side that reaches 0 is dropped) and each side's distance from the quote's
centre is multiplied by it (rounded away from the centre). Below the target nothing changes.
"""

import math
import time

import attrs

from liqframe.builtin.risk import decimal_option, integer_option
from liqframe.errors import InvalidValue


class EwmaVolatility:
    """Options: ``decay`` in (0, 1) (default ``"0.94"``), ``sample_ms`` (default 1000),
    ``target_bps`` (> 0, default ``"5"``), ``max_scale`` (>= 1, default ``"4"``),
    ``min_samples`` (default 5)."""

    def __init__(self, *, decay="0.94", sample_ms=1000, target_bps="5", max_scale="4",
                 min_samples=5):
        self.decay = float(decimal_option("decay", decay, positive=True))
        if not 0 < self.decay < 1:
            raise InvalidValue("decay", decay, "must be between 0 and 1 (exclusive)")
        self.sample_ns = integer_option("sample_ms", sample_ms, minimum=1) * 1_000_000
        self.target = float(decimal_option("target_bps", target_bps, positive=True))
        self.max_scale = float(decimal_option("max_scale", max_scale, positive=True))
        if self.max_scale < 1:
            raise InvalidValue("max_scale", max_scale, "must be at least 1")
        self.min_samples = integer_option("min_samples", min_samples, minimum=1)
        self.series = {}  # symbol -> [last_mid, last_ns, variance, returns]

    # -- the estimate -----------------------------------------------------------------------

    def observe(self, symbol, mid, now_ns):
        """Take a sample of ``symbol``'s mid at ``now_ns`` (ignored until ``sample_ms`` has
        passed since the last one)."""
        if mid is None or mid <= 0:
            return
        entry = self.series.get(symbol)
        if entry is None:
            self.series[symbol] = [mid, now_ns, 0.0, 0]
            return
        last_mid, last_ns, variance, count = entry
        elapsed = now_ns - last_ns
        if elapsed < self.sample_ns:
            return
        intervals = elapsed // self.sample_ns
        squared = math.log(mid / last_mid) ** 2 / intervals
        variance = squared if count == 0 else self.decay * variance + (1 - self.decay) * squared
        self.series[symbol] = [mid, last_ns + intervals * self.sample_ns, variance, count + 1]

    def volatility_bps(self, symbol):
        """Volatility per sample interval in bps, None before ``min_samples`` returns."""
        entry = self.series.get(symbol)
        if entry is None or entry[3] < self.min_samples:
            return None
        return math.sqrt(entry[2]) * 10_000

    def scale(self, symbol):
        vol = self.volatility_bps(symbol)
        if vol is None or vol <= self.target:
            return 1.0
        return min(self.max_scale, vol / self.target)

    # -- RiskModel --------------------------------------------------------------------------

    def adjust(self, quotes, state):
        now = time.time_ns()
        for symbol in {q.symbol for q in quotes}:
            self.observe(symbol, state.mid(symbol), now)
        out = []
        for quote in quotes:
            scaled = self.scaled(quote, self.scale(quote.symbol), state.mid(quote.symbol))
            if scaled is not None:
                out.append(scaled)
        return out

    @staticmethod
    def scaled(quote, scale, mid):
        """``quote`` with sizes divided and spreads multiplied by ``scale``; None when nothing
        is left of it."""
        if scale <= 1:
            return quote
        bid, ask = quote.bid_price, quote.ask_price
        centre = (bid + ask) / 2 if bid is not None and ask is not None else mid
        bid_size, ask_size = int(quote.bid_size / scale), int(quote.ask_size / scale)
        if bid is not None and centre is not None:
            bid = math.floor(centre - (centre - bid) * scale)
        if ask is not None and centre is not None:
            ask = math.ceil(centre + (ask - centre) * scale)
        if bid is None or bid <= 0 or not bid_size:
            bid, bid_size = None, 0
        if ask is None or not ask_size:
            ask, ask_size = None, 0
        if bid is None and ask is None:
            return None
        return attrs.evolve(quote, bid_price=bid, bid_size=bid_size, ask_price=ask,
                            ask_size=ask_size)

    def veto(self, order, state):
        return None

    def venue_weights(self, state):
        return {}
