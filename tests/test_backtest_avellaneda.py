"""The Avellaneda–Stoikov experiment against the paper's published tables.

Oracle: M. Avellaneda and S. Stoikov, "High-frequency trading in a limit order book",
Quantitative Finance 8(3), 217–224 (2008), doi:10.1080/14697680701381228, section 4, pp. 222–223,
Tables 1–3: 1000 simulations each for γ = 0.1, 0.01 and 1 (s = 100, T = 1, σ = 2, dt = 0.005,
q = 0, k = 1.5, A = 140). The widely circulated October 2006 preprint of the paper has different
tables (its third is for γ = 0.5, not 1); the journal's are the oracle.

Means must be within three Monte-Carlo standard errors of the published ones. Both figures are
estimates from independent runs of 1000 paths, so the standard error is that of their
difference, ``sqrt(s_ours²/n + s_paper²/1000)``. Dispersions (standard deviations) must be within
15%. The average spread has no Monte-Carlo error; it must round to the printed value (the tables
print one average spread, shared by both strategies).
"""

import math
import subprocess
import sys

import numpy as np
import pytest

from liqframe.backtest.avellaneda import Model, experiment, simulate
from liqframe.errors import InvalidValue

PAPER_PATHS = 1000
PATHS = 1000
SEED = 2008
COLUMNS = ("average_spread", "profit_mean", "profit_std", "final_q_mean", "final_q_std")
#: QF 8(3) pp. 222–223, Tables 1–3.
PUBLISHED = {
    0.1: {"inventory": (1.49, 65.0, 6.6, 0.08, 2.9),
          "symmetric": (1.49, 68.4, 12.7, 0.26, 8.4)},
    0.01: {"inventory": (1.35, 68.6, 8.7, 0.12, 5.1),
           "symmetric": (1.35, 68.8, 12.8, 0.09, 8.7)},
    1: {"inventory": (3.02, 31.4, 5.0, 0.02, 1.7),
        "symmetric": (3.02, 44.0, 11.0, 0.00, 5.1)},
}


@pytest.fixture(scope="module")
def runs():
    return {gamma: experiment(Model(gamma=gamma), PATHS, SEED) for gamma in PUBLISHED}


def published(gamma, strategy, column):
    return dict(zip(COLUMNS, PUBLISHED[gamma][strategy]))[column]


def cells():
    for gamma, rows in PUBLISHED.items():
        for strategy in rows:
            for column in COLUMNS:
                yield pytest.param(gamma, strategy, column,
                                   id=f"gamma={gamma}-{strategy}-{column}")


@pytest.mark.parametrize(("gamma", "strategy", "column"), list(cells()))
def test_reproduces_the_published_table(runs, gamma, strategy, column):
    result = runs[gamma][strategy]
    ours, paper = getattr(result, column), published(gamma, strategy, column)
    if column == "average_spread":
        assert round(ours, 2) == paper
    elif column.endswith("_std"):
        assert abs(ours / paper - 1) <= 0.15, (ours, paper)
    else:
        spread_column = column.replace("_mean", "_std")
        error = math.sqrt(getattr(result, spread_column) ** 2 / PATHS
                          + published(gamma, strategy, spread_column) ** 2 / PAPER_PATHS)
        assert abs(ours - paper) <= 3 * error, (ours, paper, error)


@pytest.mark.parametrize("gamma", [0.1, 0.01, 1])
def test_average_spread_is_the_time_average_of_the_inventory_spread(runs, gamma):
    # The inventory spread γσ²(T-t) + (2/γ)ln(1+γ/k), averaged over [0, T] by the midpoint rule.
    n = 1000
    expected = sum(gamma * 4 * (1 - (i + 0.5) / n) + 2 / gamma * math.log(1 + gamma / 1.5)
                   for i in range(n)) / n
    for strategy in ("inventory", "symmetric"):
        assert runs[gamma][strategy].average_spread == pytest.approx(expected, rel=1e-9)


def test_fills_are_drawn_with_probability_lambda_dt_from_the_start_of_step_mid():
    # The symmetric strategy's quotes are δ = spread/2 from the mid at the start of every step,
    # so each side fills per step with probability p = A·exp(-k·δ)·dt, independently. Measuring
    # δ from the mid after the step's move would give cosh(k·σ·√dt) ≈ 1.023 times more fills,
    # eight standard errors here.
    gamma, paths, steps = 0.1, 1000, 200
    result = simulate(Model(gamma=gamma), "symmetric", paths, SEED)
    spread = gamma * 4 / 2 + 2 / gamma * math.log(1 + gamma / 1.5)
    p = 140 * 0.005 * math.exp(-1.5 * spread / 2)
    trials = 2 * steps
    error = math.sqrt(trials * p * (1 - p) / paths)
    assert abs(result.fills_mean - trials * p) <= 3 * error, (result.fills_mean, trials * p)


def test_symmetric_spread_overrides_the_average():
    model = Model(gamma=1, symmetric_spread=1.15)
    result = simulate(model, "symmetric", 200, 3)
    assert result.average_spread == 1.15
    assert simulate(Model(gamma=1), "symmetric", 200, 3).fills_mean < result.fills_mean


def test_inventory_strategy_has_less_risk_than_symmetric(runs):
    for gamma in PUBLISHED:
        inventory, symmetric = runs[gamma]["inventory"], runs[gamma]["symmetric"]
        assert inventory.profit_std < symmetric.profit_std
        assert inventory.final_q_std < symmetric.final_q_std


def test_without_price_moves_symmetric_profit_is_half_the_spread_per_fill():
    model = Model(gamma=0.1, sigma=0)
    result = simulate(model, "symmetric", 200, 7)
    assert result.fills_mean > 0
    half = math.log(1 + 0.1 / 1.5) / 0.1  # with σ = 0 the spread is (2/γ)·ln(1 + γ/k)
    # Each fill earns half the spread against a constant mid; q·s marks the rest at 100.
    assert np.mean(result.profit) == pytest.approx(result.fills_mean * half, rel=1e-9)


def test_same_seed_same_result_and_same_price_paths():
    a = simulate(Model(gamma=0.1), "inventory", 50, 3)
    b = simulate(Model(gamma=0.1), "inventory", 50, 3)
    assert np.array_equal(a.profit, b.profit)
    c = simulate(Model(gamma=0.1), "inventory", 50, 4)
    assert not np.array_equal(a.profit, c.profit)


@pytest.mark.parametrize(("options", "field"), [
    ({"gamma": -0.1}, "gamma"), ({"gamma": 0.1, "k": 0}, "k"), ({"gamma": 0.1, "A": -1}, "A"),
    ({"gamma": 0.1, "sigma": -2}, "sigma"), ({"gamma": 0.1, "dt": 0}, "dt"),
    ({"gamma": 0.1, "dt": 2}, "dt"), ({"gamma": "x"}, "gamma"),
    ({"gamma": float("nan")}, "gamma"), ({"gamma": 0.1, "symmetric_spread": 0},
                                         "symmetric_spread"),
])
def test_bad_parameters_name_the_parameter(options, field):
    with pytest.raises(InvalidValue) as caught:
        Model(**options)
    assert caught.value.field == field


def test_gamma_zero_is_the_risk_neutral_limit():
    model = Model(gamma=0)
    assert model.spread(0.3) == pytest.approx(2 / 1.5)
    assert model.reservation(100.0, 5, 0.3) == 100.0


def _cli(*args):
    return subprocess.run([sys.executable, "-P", "-m", "liqframe", "backtest",
                           "avellaneda-stoikov", *args], capture_output=True, text=True,
                          timeout=120)


def test_cli_json_matches_the_library():
    import orjson

    done = _cli("--gamma", "0.1", "--paths", "300", "--seed", "5", "--json")
    assert done.returncode == 0, done.stderr
    document = orjson.loads(done.stdout)
    assert document["paths"] == 300 and document["model"]["k"] == 1.5
    expected = experiment(Model(gamma=0.1), 300, 5)
    for name in ("inventory", "symmetric"):
        assert document["strategies"][name] == pytest.approx(expected[name].summary())


def test_cli_table_lists_both_strategies():
    done = _cli("--gamma", "1", "--paths", "50", "--steps", "20")
    assert done.returncode == 0, done.stderr
    assert "inventory" in done.stdout and "symmetric" in done.stdout
    assert "std(final q)" in done.stdout


@pytest.mark.parametrize(("args", "option"), [
    (["--gamma", "-1"], "--gamma"), (["--gamma", "1", "--k", "0"], "--k"),
    (["--gamma", "1", "--paths", "0"], "--paths"), (["--gamma", "1", "--steps", "0"], "--steps"),
])
def test_cli_bad_values_exit_2_naming_the_option(args, option):
    done = _cli(*args, "--json")
    assert done.returncode == 2
    assert option in done.stderr and done.stdout == ""
