"""Background order flow of one simulated exchange, driven by its market's steps.

Four kinds of traders, each with its own owner id so the matcher never stops them trading
with each other, all drawing from one seeded RNG per exchange:

* **liquidity providers** keep a ladder of bids and asks around the reference price (in the
  venue's currency), refreshed on a share of steps only, so their quotes lag the price;
* **noise traders** arrive as a Poisson process and send market orders of random size and side;
* **informed traders** arrive as a Poisson process and know the reference price ``lookahead``
  steps ahead: they buy the ask below it and sell the bid above it;
* **arbitrageurs** take every quote that is mispriced against the current reference price by
  more than ``arbitrage_bps`` (our quotes included).
"""

import math
import random
import zlib

from liqframe_simvenue.exchange import BUY, IOC, SELL

MAKER, NOISE, INFORMED, ARBITRAGE = 1001, 1002, 1003, 1004
DEFAULTS = {"maker_levels": 8, "maker_spread_bps": "4", "maker_step_bps": "2",
            "maker_size_lots": 20000, "maker_refresh": "0.3", "noise_rate": "4",
            "noise_size_lots": 3000, "informed_rate": "0.5", "informed_size_lots": 5000,
            "arbitrage_bps": "6", "arbitrage_size_lots": 20000}


def _number(name, value, *, integer=False):
    if isinstance(value, bool) or not isinstance(value, int | str):
        kind = "an integer" if integer else "a decimal string"
        raise ValueError(f"flow.{name}: {value!r} must be {kind}")
    number = float(value)
    if not math.isfinite(number) or number < 0 or (integer and int(number) != number):
        raise ValueError(f"flow.{name}: {value!r} must be a non-negative "
                         f"{'integer' if integer else 'number'}")
    return int(number) if integer else number


def _poisson(rng, mean):
    """A Poisson draw (Knuth's multiplication method; means here are small)."""
    if mean <= 0:
        return 0
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


class BackgroundFlow:
    """The traders of one exchange; ``settings`` overrides :data:`DEFAULTS`."""

    def __init__(self, exchange, *, seed, settings=None):
        unknown = set(settings or {}) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"flow: unknown setting {sorted(unknown)[0]!r}; "
                             f"valid: {', '.join(DEFAULTS)}")
        merged = {**DEFAULTS, **(settings or {})}
        self.exchange = exchange
        self.rng = random.Random(seed ^ zlib.crc32(exchange.name.encode()))
        p = {k: _number(k, v, integer=k.endswith("lots") or k == "maker_levels")
             for k, v in merged.items()}
        self.p = p
        self.maker_orders = []
        self.trades = 0

    def _local(self, market, price):
        """``price`` in the numeraire as ticks of this venue's instrument."""
        instrument = self.exchange.instrument
        rate = market.rate(instrument.quote)
        return price / rate / float(instrument.price_increment)

    def step(self, market):
        ex, rng, p = self.exchange, self.rng, self.p
        quote = ex.instrument.quote
        if quote in market.rates and market.steps % 10 == 0:
            ex.set_rate(quote, market.numeraire, market.rate_text(quote))
        reference = self._local(market, market.price)
        dt = market.step_s
        with ex.batch():
            if not self.maker_orders or rng.random() < p["maker_refresh"]:
                self._refresh_ladder(reference)
            for _ in range(_poisson(rng, p["noise_rate"] * dt)):
                side = BUY if rng.random() < 0.5 else SELL
                size = max(1, int(rng.expovariate(1 / max(1, p["noise_size_lots"]))))
                protection = int(reference * (1.005 if side == BUY else 0.995))
                self._take(NOISE, side, size, None, protection)
            for _ in range(_poisson(rng, p["informed_rate"] * dt)):
                future = self._local(market, market.future(market.settings["lookahead"]))
                bid, ask = ex.best()
                if ask is not None and future > ask:
                    self._take(INFORMED, BUY, p["informed_size_lots"], int(future))
                elif bid is not None and future < bid:
                    self._take(INFORMED, SELL, p["informed_size_lots"], math.ceil(future))
            self._arbitrage(reference)

    def _refresh_ladder(self, reference):
        ex, p, rng = self.exchange, self.p, self.rng
        for order_id in self.maker_orders:
            ex.withdraw(order_id)
        self.maker_orders = []
        spread, step = p["maker_spread_bps"] / 10_000, p["maker_step_bps"] / 10_000
        for level in range(p["maker_levels"]):
            offset = spread + level * step
            for side, price in ((BUY, math.floor(reference * (1 - offset))),
                                (SELL, math.ceil(reference * (1 + offset)))):
                size = max(1, int(p["maker_size_lots"] * rng.uniform(0.5, 1.5)))
                if price <= 0:
                    continue
                order = ex.submit(MAKER, side, price, size)
                if order.status in ("acknowledged", "partially_filled"):
                    self.maker_orders.append(order.id)

    def _take(self, owner, side, size, limit, protection=None):
        order = self.exchange.submit(owner, side, limit, size, IOC, protection=protection) \
            if limit is not None else \
            self.exchange.submit(owner, side, None, size, protection=protection)
        if order.filled:
            self.trades += 1

    def _arbitrage(self, reference):
        ex, p = self.exchange, self.p
        edge = p["arbitrage_bps"] / 10_000
        if not edge:
            return
        for _ in range(4):
            bid, ask = ex.best()
            if ask is not None and ask < reference * (1 - edge):
                size = min(ex.level_size(SELL, ask), p["arbitrage_size_lots"])
                self._take(ARBITRAGE, BUY, size, ask)
            elif bid is not None and bid > reference * (1 + edge):
                size = min(ex.level_size(BUY, bid), p["arbitrage_size_lots"])
                self._take(ARBITRAGE, SELL, size, bid)
            else:
                return
