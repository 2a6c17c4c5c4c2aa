"""The Avellaneda–Stoikov (2008) market-making experiment.

M. Avellaneda and S. Stoikov, "High-frequency trading in a limit order book", Quantitative
Finance 8(3), 217–224 (2008), section 4. The mid price is a random walk that moves up or down by
``σ·√dt`` with equal probability each step; a quote ``δ`` away from the mid is hit during a step
with probability ``λ(δ)·dt``, ``λ(δ) = A·exp(-k·δ)`` (capped at 1), each side on its own, so both
can fill in the same step. Each fill is one unit. Profit is cash plus inventory marked at the
final mid.

Two strategies run over the same mid-price paths:

- **inventory**: quotes around the reservation price ``r = s - q·γ·σ²·(T-t)`` with the spread
  ``γ·σ²·(T-t) + (2/γ)·ln(1 + γ/k)``;
- **symmetric**: "uses the average bid/ask spread of the inventory strategy over the time period,
  but centres it around the mid-price" (the paper, section 4): the constant spread
  ``γ·σ²·T/2 + (2/γ)·ln(1 + γ/k)``, the time average of the inventory strategy's spread over
  ``[0, T]``; ``symmetric_spread`` overrides it.

The quotes of a step are set from the state at its start, and a quote's distance ``δ`` is
measured from the mid at the start of the step. A strategy's reported average spread is its
spread averaged over ``[0, T]``, the column the paper's tables print (1.49, 1.35 and 3.02 for
γ = 0.1, 0.01 and 1). Averaging the inventory strategy's spread over the quoting instants
``0, dt, ..., T - dt`` instead gives ``γ·σ²·dt/2`` more (3.03 for γ = 1).

Everything is vectorised over paths with numpy; the loop runs over the time steps.
"""

import math

import attrs
import numpy as np

from liqframe.backtest.params import integer, log_term, number

STRATEGIES = ("inventory", "symmetric")


def reservation_price(s, q, *, gamma, sigma, tau):
    """``s - q·γ·σ²·τ``: the mid shifted against inventory ``q`` with ``τ = T - t`` left."""
    return s - q * gamma * sigma**2 * tau


def optimal_spread(*, gamma, sigma, tau, k):
    """``γ·σ²·τ + (2/γ)·ln(1 + γ/k)`` (``2/k`` in the limit γ = 0)."""
    return gamma * sigma**2 * tau + 2 * log_term(gamma, k)


@attrs.frozen(kw_only=True)
class Model:
    """The experiment's parameters; defaults are the paper's."""

    gamma: float = attrs.field(converter=lambda v: number("gamma", v, minimum=0))
    s0: float = attrs.field(default=100.0, converter=lambda v: number("s0", v))
    T: float = attrs.field(default=1.0, converter=lambda v: number("T", v, above=0))
    sigma: float = attrs.field(default=2.0, converter=lambda v: number("sigma", v, minimum=0))
    dt: float = attrs.field(default=0.005, converter=lambda v: number("dt", v, above=0))
    q0: int = attrs.field(default=0)
    k: float = attrs.field(default=1.5, converter=lambda v: number("k", v, above=0))
    A: float = attrs.field(default=140.0, converter=lambda v: number("A", v, above=0))
    symmetric_spread: float | None = attrs.field(default=None)

    def __attrs_post_init__(self):
        from liqframe.errors import InvalidValue

        integer("q0", self.q0, minimum=-(2**31))
        if self.symmetric_spread is not None:
            object.__setattr__(self, "symmetric_spread",
                               number("symmetric_spread", self.symmetric_spread, above=0))
        if self.dt > self.T:
            raise InvalidValue("dt", self.dt, f"must not exceed T ({self.T})")

    @property
    def steps(self):
        return max(1, round(self.T / self.dt))

    def spread(self, t):
        """The inventory strategy's spread at time ``t``."""
        return optimal_spread(gamma=self.gamma, sigma=self.sigma, tau=self.T - t, k=self.k)

    def reservation(self, s, q, t):
        return reservation_price(s, q, gamma=self.gamma, sigma=self.sigma, tau=self.T - t)

    def average_spread(self):
        """The inventory strategy's spread averaged over ``[0, T]``: ``γ·σ²·T/2 + (2/γ)·ln(1 +
        γ/k)`` (the spread is linear in ``t``)."""
        return optimal_spread(gamma=self.gamma, sigma=self.sigma, tau=self.T / 2, k=self.k)

    def fixed_spread(self):
        """The symmetric strategy's spread."""
        if self.symmetric_spread is not None:
            return self.symmetric_spread
        return self.average_spread()


@attrs.frozen(kw_only=True)
class StrategyResult:
    strategy: str
    average_spread: float
    profit_mean: float
    profit_std: float
    final_q_mean: float
    final_q_std: float
    fills_mean: float
    profit: np.ndarray = attrs.field(repr=False, eq=False)
    final_q: np.ndarray = attrs.field(repr=False, eq=False)

    @property
    def paths(self):
        return len(self.profit)

    def summary(self):
        """The figures as a plain dict (what ``--json`` prints)."""
        return {name: getattr(self, name) for name in (
            "average_spread", "profit_mean", "profit_std", "final_q_mean", "final_q_std",
            "fills_mean")}


def _quotes(model, strategy, s, q, t):
    if strategy == "inventory":
        centre, half = model.reservation(s, q, t), model.spread(t) / 2
    else:
        centre, half = s, model.fixed_spread() / 2
    return centre - half, centre + half


def simulate(model, strategy, paths, seed, advance=None):
    """Run ``strategy`` over ``paths`` paths. The mid-price moves come from ``seed`` alone, so
    both strategies see the same paths for the same seed; their fills draw on their own
    streams."""
    if strategy not in STRATEGIES:
        from liqframe.errors import InvalidValue

        raise InvalidValue("strategy", strategy, f"must be one of {', '.join(STRATEGIES)}")
    integer("paths", paths, minimum=1)
    integer("seed", seed, minimum=0)
    price_rng = np.random.default_rng([seed, 0])
    fill_rng = np.random.default_rng([seed, 1 + STRATEGIES.index(strategy)])
    step = model.sigma * math.sqrt(model.dt)
    probability_scale = model.A * model.dt
    s = np.full(paths, model.s0)
    q = np.full(paths, float(model.q0))
    cash = np.zeros(paths)
    fills = np.zeros(paths)
    for i in range(model.steps):
        bid, ask = _quotes(model, strategy, s, q, i * model.dt)
        # A probability above 1 (a quote through the mid) fills every time.
        bid_hit = fill_rng.random(paths) < probability_scale * np.exp(-model.k * (s - bid))
        ask_hit = fill_rng.random(paths) < probability_scale * np.exp(-model.k * (ask - s))
        q += bid_hit
        q -= ask_hit
        cash += np.where(ask_hit, ask, 0.0) - np.where(bid_hit, bid, 0.0)
        s = s + np.where(price_rng.random(paths) < 0.5, step, -step)
        fills += bid_hit
        fills += ask_hit
        if advance is not None:
            advance(1)
    profit = cash + q * s
    average = model.average_spread() if strategy == "inventory" else model.fixed_spread()
    return StrategyResult(
        strategy=strategy, average_spread=average,
        profit_mean=float(profit.mean()), profit_std=float(profit.std()),
        final_q_mean=float(q.mean()), final_q_std=float(q.std()),
        fills_mean=float(fills.mean()), profit=profit, final_q=q)


def experiment(model, paths, seed, advance=None):
    """Both strategies of the paper over the same mid-price paths: ``{strategy: result}``."""
    return {name: simulate(model, name, paths, seed, advance) for name in STRATEGIES}
