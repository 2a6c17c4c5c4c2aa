"""``liqframe route SCENARIO.json [--json]``: the example scenario and every malformed input,
run as a user runs it (a subprocess)."""

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "route-100btc.json"


def run(*args):
    return subprocess.run([sys.executable, "-P", "-m", "liqframe", "route", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_example_json_totals_add_up():
    result = run(EXAMPLE, "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["side"] == "sell" and out["quantity"] == "100" and out["filled"] == "100"
    assert out["method"] in ("dp", "fallback")  # the pure twin may run out of time
    assert {c["venue"] for c in out["children"]} == {"alpha", "beta", "gamma"}
    children = out["children"]
    assert sum(Decimal(c["quantity"]) for c in children) == Decimal(out["filled"])
    notional = sum(Decimal(c["notional"]) for c in children)
    fees = sum(Decimal(c["fees"]) for c in children)
    assert notional == Decimal(out["notional"]) and fees == Decimal(out["fees"])
    assert Decimal(out["total"]) == notional - fees  # a sell receives the notional less fees
    assert Decimal(out["average_price"]) == (notional / 100).quantize(Decimal("1e-9"))
    assert sum(Decimal(c["expected_cost"]) for c in children) == Decimal(out["expected_cost"])
    scenario = json.loads(EXAMPLE.read_text())
    for child in children:
        venue = next(v for v in scenario["venues"] if v["name"] == child["venue"])
        assert Decimal(child["quantity"]) % Decimal(venue["lot_size"]) == 0
        assert Decimal(child["quantity"]) <= Decimal(venue["balance"])
        assert Decimal(child["limit_price"]) >= Decimal(scenario["order"]["limit_price"])


def test_example_table():
    result = run(EXAMPLE)
    assert result.returncode == 0, result.stderr
    for text in ("alpha", "beta", "gamma", "filled 100 of 100", "total proceeds net of fees"):
        assert text in result.stdout


def scenario(**order):
    venue = {"name": "a", "taker_fee_bps": "1", "bids": [["100", "5"]], "asks": [["101", "5"]]}
    return {"order": {"side": "buy", "quantity": "2", **order}, "venues": [venue]}


def with_venue(**fields):
    data = scenario()
    data["venues"][0].update(fields)
    return data


@pytest.mark.parametrize("data, field", [
    (scenario(side="hold"), "order.side"),
    (scenario(side=1), "order.side"),
    (scenario(quantity="0"), "order.quantity"),
    (scenario(quantity="-2"), "order.quantity"),
    (scenario(quantity="lots"), "order.quantity"),
    (scenario(limit_price="0"), "order.limit_price"),
    (scenario(colour="red"), "order.colour"),
    ({"venues": []}, "order"),
    ({"order": {"quantity": "1"}, "venues": []}, "order.side"),
    ({"order": {"side": "buy", "quantity": "1"}, "venues": []}, "venues"),
    (with_venue(taker_fee_bps="-0.5"), "venues[0].taker_fee_bps"),
    (with_venue(fixed_fee="-1"), "venues[0].fixed_fee"),
    (with_venue(lot_size="0"), "venues[0].lot_size"),
    (with_venue(fill_probability="2"), "venues[0].fill_probability"),
    (with_venue(latency_ms="soon"), "venues[0].latency_ms"),
    (with_venue(asks=[["101", "5"], ["100", "1"]]), "venues[0].asks[1][0]"),
    (with_venue(asks=[["101"]]), "venues[0].asks[0]"),
    (with_venue(asks="none"), "venues[0].asks"),
    (with_venue(bids=[["-1", "5"]]), "venues[0].bids[0][0]"),
    (with_venue(name=""), "venues[0].name"),
    (with_venue(speed="fast"), "venues[0].speed"),
    (with_venue(asks=[]), "venues[*].asks"),
    ([1, 2], "SCENARIO"),
])
def test_bad_scenario_exits_2_naming_the_field(tmp_path, data, field):
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(data))
    result = run(path)
    assert result.returncode == 2, result.stdout
    assert field in result.stderr, result.stderr
    assert result.stdout == ""


def test_unreadable_scenarios_exit_2(tmp_path):
    missing = run(tmp_path / "nowhere.json")
    assert missing.returncode == 2 and "cannot be read" in missing.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{\"order\": ")
    result = run(broken)
    assert result.returncode == 2 and "is not valid JSON" in result.stderr


def test_json_numbers_are_exact(tmp_path):
    data = scenario(quantity=2)
    data["venues"][0]["asks"] = [[101.1, 0.3], [101.2, 5]]
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(data))
    out = json.loads(run(path, "--json").stdout)
    assert out["children"][0]["limit_price"] == "101.2"
    assert out["notional"] == "202.37"  # 0.3 * 101.1 + 1.7 * 101.2, no float error
