"""GLFT closed-form quotes: the formula of Guéant, Lehalle & Fernandez-Tapia (2013),
Mathematics and Financial Economics 7(4), written out here again, term by term."""

import math

import pytest

from liqframe.backtest.glft import glft_quotes
from liqframe.errors import InvalidValue


def closed_form(q, gamma, sigma, k, A):
    first = 1 / gamma * math.log(1 + gamma / k)
    second = math.sqrt(sigma * sigma * gamma / (2 * k * A) * (1 + gamma / k) ** (1 + k / gamma))
    return first + (2 * q + 1) / 2 * second, first - (2 * q - 1) / 2 * second


POINTS = [
    # q, gamma, sigma, k, A, Q
    (0, 0.1, 2.0, 1.5, 140.0, 5), (3, 0.1, 2.0, 1.5, 140.0, 5), (-4, 0.1, 2.0, 1.5, 140.0, 5),
    (1, 0.01, 0.3, 0.3, 0.9, 10), (-2, 1.0, 5.0, 2.0, 50.0, 3), (2, 0.05, 1.0, 10.0, 1.0, 7),
]


@pytest.mark.parametrize(("q", "gamma", "sigma", "k", "A", "bound"), POINTS)
def test_matches_the_closed_form(q, gamma, sigma, k, A, bound):
    quotes = glft_quotes(q, gamma=gamma, sigma=sigma, k=k, A=A, max_inventory=bound)
    bid, ask = closed_form(q, gamma, sigma, k, A)
    assert quotes.bid == pytest.approx(bid, rel=1e-12)
    assert quotes.ask == pytest.approx(ask, rel=1e-12)


def test_a_hand_computed_point():
    # γ = 0.1, σ = 2, k = 1.5, A = 140, q = 0: ln(1 + 1/15)/0.1 = 0.645385...,
    # (16/15)^16 = 2.80828..., ω = sqrt(0.4/420 · 2.80828) = 0.0517172..., so
    # δ = 0.6453852 + 0.0258586.
    quotes = glft_quotes(0, gamma=0.1, sigma=2, k=1.5, A=140, max_inventory=1)
    assert quotes.bid == pytest.approx(0.6712438, abs=1e-6)
    assert quotes.ask == quotes.bid


def test_skews_against_inventory_and_keeps_the_spread():
    params = dict(gamma=0.1, sigma=2, k=1.5, A=140, max_inventory=10)
    flat = glft_quotes(0, **params)
    long, short = glft_quotes(4, **params), glft_quotes(-4, **params)
    assert long.bid > flat.bid and long.ask < flat.ask  # long: buy lower, sell cheaper
    assert short.bid < flat.bid and short.ask > flat.ask
    for quotes in (long, short):
        assert quotes.bid + quotes.ask == pytest.approx(flat.bid + flat.ask)


def test_no_quote_beyond_the_inventory_bound():
    params = dict(gamma=0.1, sigma=2, k=1.5, A=140, max_inventory=3)
    assert glft_quotes(3, **params).bid is None and glft_quotes(3, **params).ask is not None
    assert glft_quotes(-3, **params).ask is None and glft_quotes(-3, **params).bid is not None
    with pytest.raises(InvalidValue, match="q"):
        glft_quotes(4, **params)


def test_gamma_zero_is_the_risk_neutral_limit():
    quotes = glft_quotes(2, gamma=0, sigma=2, k=1.5, A=140, max_inventory=3)
    assert quotes.bid == quotes.ask == pytest.approx(1 / 1.5)


@pytest.mark.parametrize(("field", "value"), [
    ("gamma", -0.1), ("k", 0), ("k", -1), ("A", 0), ("sigma", -1), ("max_inventory", 0),
    ("max_inventory", 1.5),
])
def test_bad_parameters_name_the_parameter(field, value):
    params = dict(gamma=0.1, sigma=2, k=1.5, A=140, max_inventory=3) | {field: value}
    with pytest.raises(InvalidValue) as caught:
        glft_quotes(0, **params)
    assert caught.value.field == field
