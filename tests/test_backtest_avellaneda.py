"""The Avellaneda–Stoikov experiment against the paper's published table.

Oracle: M. Avellaneda and S. Stoikov, "High-frequency trading in a limit order book",
Quantitative Finance 8(3), 217–224 (2008), doi:10.1080/14697680701381228, section 4, the three
tables of 1000 simulations for γ = 0.1, 0.01 and 1 (s = 100, T = 1, σ = 2, dt = 0.005, q = 0,
k = 1.5, A = 140).

Means must be within three Monte-Carlo standard errors of the published ones. Both figures are
estimates from independent runs of 1000 paths, so the standard error is that of their
difference, ``sqrt(s_ours²/n + s_paper²/1000)``. Dispersions (standard deviations) must be within
15%. The average spread has no Monte-Carlo error; it must round to the printed value.

Three γ = 1 cells do not reproduce under the paper's stated model, and are marked as strict
expected failures (the run fails if they start to agree): the table's γ = 1 average spread,
1.15, is not ``(2/γ)·ln(1 + γ/k) = 1.02`` nor the inventory strategy's time-averaged spread,
3.03, and both γ = 1 mean profits follow from it. ``test_symmetric_with_the_published_spread``
shows that with 1.15 as its spread the symmetric strategy does reproduce its γ = 1 row.
See docs/howto/backtest.rst for the investigation.
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
PUBLISHED = {
    0.1: {"inventory": (1.29, 62.94, 5.89, 0.10, 2.80),
          "symmetric": (1.29, 67.21, 13.43, -0.018, 8.66)},
    0.01: {"inventory": (1.33, 66.78, 8.76, -0.02, 4.70),
           "symmetric": (1.33, 67.36, 13.40, -0.31, 8.65)},
    1: {"inventory": (1.15, 33.92, 4.72, -0.02, 1.88),
        "symmetric": (1.15, 66.20, 14.53, 0.25, 9.06)},
}
NOT_REPRODUCED = {
    (1, "inventory", "profit_mean"), (1, "symmetric", "profit_mean"),
    (1, "symmetric", "average_spread"),
}
#: The table lists one average spread for both strategies; it is the symmetric strategy's.
SPREAD_OF = "symmetric"


@pytest.fixture(scope="module")
def runs():
    return {gamma: experiment(Model(gamma=gamma), PATHS, SEED) for gamma in PUBLISHED}


def published(gamma, strategy, column):
    return dict(zip(COLUMNS, PUBLISHED[gamma][strategy]))[column]


def cells():
    for gamma, rows in PUBLISHED.items():
        for strategy in rows:
            for column in COLUMNS:
                if column == "average_spread" and strategy != SPREAD_OF:
                    continue
                marks = [pytest.mark.xfail(strict=True, reason="irreproducible γ = 1 cell")] \
                    if (gamma, strategy, column) in NOT_REPRODUCED else []
                yield pytest.param(gamma, strategy, column, marks=marks,
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


def test_symmetric_with_the_published_spread_reproduces_the_gamma_1_row():
    result = simulate(Model(gamma=1, symmetric_spread=1.15), "symmetric", PATHS, SEED)
    _, profit, profit_std, q, q_std = PUBLISHED[1]["symmetric"]
    assert abs(result.profit_mean - profit) <= 3 * math.hypot(
        result.profit_std / math.sqrt(PATHS), profit_std / math.sqrt(PAPER_PATHS))
    assert abs(result.profit_std / profit_std - 1) <= 0.15
    assert abs(result.final_q_std / q_std - 1) <= 0.15


@pytest.mark.parametrize("gamma", [0.1, 0.01, 1])
def test_inventory_spread_is_the_time_average_of_the_formula(runs, gamma):
    steps = 200
    expected = sum(gamma * 4 * (1 - i / steps) + 2 / gamma * math.log(1 + gamma / 1.5)
                   for i in range(steps)) / steps
    assert runs[gamma]["inventory"].average_spread == pytest.approx(expected, rel=1e-12)


def test_inventory_strategy_has_less_risk_than_symmetric(runs):
    for gamma in PUBLISHED:
        inventory, symmetric = runs[gamma]["inventory"], runs[gamma]["symmetric"]
        assert inventory.profit_std < symmetric.profit_std
        assert inventory.final_q_std < symmetric.final_q_std


def test_without_price_moves_symmetric_profit_is_half_the_spread_per_fill():
    model = Model(gamma=0.1, sigma=0)
    result = simulate(model, "symmetric", 200, 7)
    assert result.fills_mean > 0
    half = model.fixed_spread() / 2
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
