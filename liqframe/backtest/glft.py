"""Guéant–Lehalle–Fernandez-Tapia closed-form quotes with an inventory bound.

O. Guéant, C.-A. Lehalle and J. Fernandez-Tapia, "Dealing with the inventory risk: a solution
to the market making problem", Mathematics and Financial Economics 7(4), 477–507 (2013). For a
market maker whose inventory must stay within ``[-Q, Q]``, facing fills of intensity
``A·exp(-k·δ)``, the asymptotic (long-horizon) optimal distances of the quotes from the mid are::

    δ_bid(q) ≈ (1/γ)·ln(1 + γ/k) + (2q + 1)/2 · ω
    δ_ask(q) ≈ (1/γ)·ln(1 + γ/k) - (2q - 1)/2 · ω
    ω = sqrt( σ²·γ / (2·k·A) · (1 + γ/k)^(1 + k/γ) )

There is no bid at ``q = Q`` (a fill would break the bound) and no ask at ``q = -Q``. The
spread ``2·(1/γ)·ln(1 + γ/k) + ω`` does not depend on ``q``; the quotes' centre moves ``q·ω``
against the inventory. At γ = 0 the limits are ``1/k`` and ``ω = 0``.
"""

import math

import attrs

from liqframe.backtest.params import integer, log_term, number


@attrs.frozen(kw_only=True)
class GLFTQuotes:
    """Distances below and above the mid (None where the bound forbids a quote)."""

    bid: float | None
    ask: float | None


def inventory_slope(*, gamma, sigma, k, A):
    """``ω``: how far both quotes move per unit of inventory."""
    if gamma == 0:
        return 0.0
    return math.sqrt(sigma**2 * gamma / (2 * k * A) * (1 + gamma / k) ** (1 + k / gamma))


def glft_quotes(q, *, gamma, sigma, k, A, max_inventory):
    """The approximate optimal quote distances at inventory ``q`` (an integer in ``[-Q, Q]``)."""
    gamma = number("gamma", gamma, minimum=0)
    sigma = number("sigma", sigma, minimum=0)
    k = number("k", k, above=0)
    A = number("A", A, above=0)
    bound = integer("max_inventory", max_inventory, minimum=1)
    integer("q", q, minimum=-bound)
    if q > bound:
        from liqframe.errors import InvalidValue

        raise InvalidValue("q", q, f"must be at most max_inventory {bound}")
    base = log_term(gamma, k)
    omega = inventory_slope(gamma=gamma, sigma=sigma, k=k, A=A)
    bid = base + (2 * q + 1) / 2 * omega if q < bound else None
    ask = base - (2 * q - 1) / 2 * omega if q > -bound else None
    return GLFTQuotes(bid=bid, ask=ask)
