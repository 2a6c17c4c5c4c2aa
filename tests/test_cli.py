"""The ``liqframe`` command, run as a user runs it: a subprocess of the installed script."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from liqframe.cli import COMMANDS, build_parser
from liqframe.scaffold import KINDS

REPO = Path(__file__).resolve().parents[1]


def liqframe(*args, cwd=None, env=None, check=False):
    # -P: never import liqframe from the working directory, always the installed one
    return subprocess.run([sys.executable, "-P", "-m", "liqframe", *args], capture_output=True,
                          text=True, cwd=cwd, env={**os.environ, **(env or {})}, check=check,
                          timeout=120)


@pytest.mark.parametrize("command", [[], *[[name] for name in COMMANDS]])
def test_help_everywhere(command):
    out = liqframe(*command, "--help", check=True)
    assert out.stdout.startswith("usage: liqframe")


def test_every_option_has_help():
    parser = build_parser()
    for name, sub in parser._subparsers._group_actions[0].choices.items():
        assert sub.description, f"{name} has no description"
        for action in sub._actions:
            assert action.help, f"liqframe {name} {action.dest} has no help"


def test_run_default_runs_four_simulated_venues_and_exits_cleanly(tmp_path):
    out = liqframe("run", "--duration", "6", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "running the embedded default config" in out.stdout
    assert "instruments: BTC/USDT, BTC/USD, BTC/EUR" in out.stdout
    assert "risk models: limits" in out.stdout
    for venue in ("sim-a", "sim-b", "sim-c", "sim-d"):
        assert f"{venue}: up (connected)" in out.stdout
    with sqlite3.connect(tmp_path / "liqframe.db") as db:
        [(status, config)] = db.execute("select status, config from runs").fetchall()
        venues = {v for (v,) in db.execute("select distinct venue from orders")}
        still_open = db.execute("select count(*) from orders where status in "
                                "('new', 'acknowledged', 'partially_filled')").fetchone()[0]
    assert status == "completed" and "[[instruments]]" in config
    assert venues == {"sim-a", "sim-b", "sim-c", "sim-d"}  # quoted everywhere
    assert still_open == 0  # every order was cancelled on the way out


def test_run_without_venues_is_idle(tmp_path):
    (tmp_path / "c.toml").write_text("[[risk]]\nplugin = 'limits'\n")
    out = liqframe("run", "--config", "c.toml", cwd=tmp_path)
    assert out.returncode == 0 and "nothing to trade" in out.stdout
    with sqlite3.connect(tmp_path / "liqframe.db") as db:
        assert db.execute("select status from runs").fetchall() == [("idle",)]


def test_print_config_round_trips(tmp_path):
    text = liqframe("run", "--print-config", check=True).stdout
    (tmp_path / "c.toml").write_text(text)
    out = liqframe("run", "--config", "c.toml", "--db", "other.db", "--duration", "1",
                   cwd=tmp_path)
    assert out.returncode == 0 and (tmp_path / "other.db").exists()


@pytest.mark.parametrize(("toml", "message"), [
    ("[web]\nport = 'x'", "web.port: expected an integer"),
    ("[[risk]]\nplugin = 'nope'", "risk[0].plugin: unknown risk 'nope'"),
])
def test_run_bad_config_exits_2_naming_the_field(tmp_path, toml, message):
    (tmp_path / "bad.toml").write_text(toml)
    out = liqframe("run", "--config", "bad.toml", cwd=tmp_path)
    assert out.returncode == 2 and message in out.stderr
    assert not (tmp_path / "liqframe.db").exists()  # nothing started


def test_run_missing_config_exits_2(tmp_path):
    out = liqframe("run", "--config", "missing.toml", cwd=tmp_path)
    assert out.returncode == 2 and "missing.toml: cannot read the config file" in out.stderr


def test_plugins_json_lists_every_first_party_plugin():
    records = json.loads(liqframe("plugins", "--json", check=True).stdout)
    distributions = {r["distribution"] for r in records}
    first_party = {p.name for p in (REPO / "plugins").iterdir() if (p / "pyproject.toml").exists()}
    assert first_party and first_party <= distributions, (
        "install the first-party plugins (tox does) to run this test")
    assert {"liqframe"} <= distributions
    assert all(r["problem"] is None for r in records)


def test_new_plugin_refuses_bad_names_and_existing_folders(tmp_path):
    out = liqframe("new-plugin", "Bad_Name", "--kind", "venue", "--output", str(tmp_path))
    assert out.returncode == 2 and "lower-case" in out.stderr
    liqframe("new-plugin", "twice", "--kind", "risk", "--output", str(tmp_path), check=True)
    out = liqframe("new-plugin", "twice", "--kind", "risk", "--output", str(tmp_path))
    assert out.returncode == 2 and "already exists" in out.stderr


@pytest.mark.parametrize("kind", KINDS)
def test_new_plugin_installs_registers_and_passes_its_own_test(tmp_path, kind):
    name = f"my-{kind}"
    liqframe("new-plugin", name, "--kind", kind, "--output", str(tmp_path), check=True)
    package = tmp_path / f"liqframe-{name}"
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--target", str(site), str(package)],
                   check=True, capture_output=True, timeout=300)
    # no empty entry: it would put the working directory (a source tree) on sys.path
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    records = json.loads(liqframe("plugins", "--json", env=env, check=True).stdout)
    [record] = [r for r in records if r["distribution"] == f"liqframe-{name}"]
    assert record["kinds"] == {kind: [name]} and record["problem"] is None
    test = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(package / "tests")], capture_output=True, text=True,
                          cwd=tmp_path, env={**os.environ, **env}, timeout=300)
    assert test.returncode == 0, test.stdout + test.stderr
    assert "2 passed" in test.stdout


def test_broken_plugin_warns_unless_configured(tmp_path):
    from liqframe.testing.dists import install_fake_dist

    site = tmp_path / "site"
    site.mkdir()
    install_fake_dist(site, "liqframe-brokenrisk",
                      {"brokenrisk_mod": "import no_such_module_here"},
                      {"brokenrisk": "brokenrisk_mod"})
    env = {"PYTHONPATH": str(site)}
    out = liqframe("run", "--duration", "0", cwd=tmp_path, env=env)
    assert out.returncode == 0
    assert "warning" in out.stderr and "liqframe-brokenrisk" in out.stderr
    (tmp_path / "uses.toml").write_text("[[risk]]\nplugin = 'brokenrisk'\n")
    out = liqframe("run", "--config", "uses.toml", cwd=tmp_path, env=env)
    assert out.returncode == 2
    for part in ("risk[0].plugin", "'brokenrisk'", "liqframe-brokenrisk", "no_such_module_here"):
        assert part in out.stderr


LOBSTER = REPO / "tests" / "data" / "lobster"
AAPL = ("AAPL_2012-06-21_34200000_57600000_message_10.csv",
        "AAPL_2012-06-21_34200000_57600000_orderbook_10.csv")


def test_replay_lobster_json_reproduces_every_row():
    out = liqframe("replay", "--format", "lobster", str(LOBSTER / AAPL[0]),
                   "--orderbook", str(LOBSTER / AAPL[1]), "--levels", "10", "--json", check=True)
    result = json.loads(out.stdout)
    assert (result["messages"], result["rows_compared"], result["rows_matched"]) == (
        999, 998, 998)


def test_replay_lobster_malformed_row_names_it(tmp_path):
    rows = (LOBSTER / AAPL[0]).read_text().splitlines()
    rows[41] = rows[41].replace(",", ";", 1)
    (tmp_path / "m.csv").write_text("\n".join(rows))
    out = liqframe("replay", "--format", "lobster", str(tmp_path / "m.csv"),
                   "--orderbook", str(LOBSTER / AAPL[1]), "--levels", "10")
    assert out.returncode == 2 and "row 42" in out.stderr
