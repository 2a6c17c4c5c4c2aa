"""``liqframe backtest synthetic`` and ``recorded``: JSON, the SQLite tables and the plot."""

import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from liqframe.backtest.feeds import lobster_feed, synthetic_feed
from liqframe.backtest.queue import ASK, BID, DEPTH, TRADE, QuoteTouch, run

LOBSTER = Path(__file__).parent / "data" / "lobster"
AAPL = LOBSTER / "AAPL_2012-06-21_34200000_57600000_message_10.csv"


def backtest(*args):
    return subprocess.run([sys.executable, "-P", "-m", "liqframe", "backtest", *args],
                          capture_output=True, text=True, timeout=300)


def test_synthetic_json_db_and_plot_agree_with_the_library(tmp_path):
    db, plot = tmp_path / "runs.db", tmp_path / "run.html"
    done = backtest("synthetic", "--events", "30000", "--seed", "3", "--queue", "probabilistic",
                    "--latency-ms", "2.5", "--fee-bps", "0.5", "--db", str(db), "--plot",
                    str(plot), "--json")
    assert done.returncode == 0, done.stderr
    document = orjson.loads(done.stdout)
    expected = run(synthetic_feed(30000, 3), QuoteTouch(size=1), interval_ns=100_000_000,
                   order_latency_ns=2_500_000, queue_model="probabilistic", fee_bps=0.5)
    summary = document["summary"]
    assert summary == orjson.loads(orjson.dumps(expected.summary()))
    assert document["options"]["latency_ms"] == 2.5 and document["run_id"] == 1
    with sqlite3.connect(db) as conn:
        runs = conn.execute("select pnl_total, pnl_spread_capture, pnl_inventory, pnl_fees, "
                            "fills, events from backtest_runs").fetchall()
        fills = conn.execute("select side, px, qty, fee from backtest_fills order by ts")\
            .fetchall()
        equity = conn.execute("select count(*), max(ts) from backtest_equity").fetchone()
    assert runs == [(summary["pnl"]["total"], summary["pnl"]["spread_capture"],
                     summary["pnl"]["inventory"], summary["pnl"]["fees"],
                     summary["fills"]["fills"], 30000)]
    assert len(fills) == expected.fills > 100
    assert sum(fee for *_, fee in fills) == pytest.approx(expected.fees)
    assert sum(qty if side == "buy" else -qty for side, _, qty, _ in fills) == expected.position
    assert equity == (expected.decisions, int(expected.equity["ts"][-1]))
    page = plot.read_text()
    assert page.startswith("<!doctype html>") and page.count("<polyline") == 6
    assert "<script" not in page and page.count("<polygon") == expected.fills


def test_recorded_lobster_session_into_one_database(tmp_path):
    db = tmp_path / "runs.db"
    for model in ("conservative", "probabilistic"):
        done = backtest("recorded", str(AAPL), "--queue", model, "--size", "100",
                        "--latency-ms", "0", "--db", str(db), "--json")
        assert done.returncode == 0, done.stderr
        document = orjson.loads(done.stdout)
        assert document["unit"] == 0.01 and document["source"] == str(AAPL)
        assert document["summary"]["events"] == len(lobster_feed(AAPL))
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select queue_model, fills from backtest_runs order by id")\
            .fetchall()
    assert [model for model, _ in rows] == ["conservative", "probabilistic"]


def test_table_output_names_the_split():
    done = backtest("synthetic", "--events", "5000")
    assert done.returncode == 0, done.stderr
    for text in ("PnL spread capture", "PnL inventory", "PnL fees", "fill rate",
                 "markout 1s"):
        assert text in done.stdout


@pytest.mark.parametrize(("args", "option"), [
    (["synthetic", "--latency-ms", "-1"], "--latency-ms"),
    (["synthetic", "--interval-ms", "0"], "--interval-ms"),
    (["synthetic", "--latency-ms", "0.0000001"], "--latency-ms"),
    (["synthetic", "--power", "0"], "--power"),
    (["synthetic", "--size", "0"], "--size"),
    (["synthetic", "--max-position", "0"], "--max-position"),
    (["synthetic", "--events", "3"], "--events"),
    (["recorded", "missing_message.csv"], "recording"),
    (["recorded", str(AAPL), "--tick", "7"], "--tick"),
])
def test_bad_options_exit_2_naming_the_option(args, option):
    done = backtest(*args, "--json")
    assert done.returncode == 2
    assert option in done.stderr and done.stdout == ""


def test_lobster_feed_follows_the_files():
    feed = lobster_feed(AAPL)
    # Row 0 seeds 10 levels a side, at the first message's time.
    seed = feed[feed["exch_ts"] == feed["exch_ts"][0]]
    assert (seed["kind"] == DEPTH).all()
    assert sorted(seed[seed["side"] == BID]["px"].tolist())[-1] < \
        sorted(seed[seed["side"] == ASK]["px"].tolist())[0]
    with AAPL.open() as handle:
        visible = sum(1 for line in handle if line.split(",")[1] == "4")
    # A visible execution of a buy order (direction 1) is a sell aggressor: side ASK.
    assert (feed["kind"] == TRADE).sum() == visible
