"""The ``alphaforge backtest sma-cross`` command: file formats, output and errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from cli.app import app
from ml.backtest.strategies import crossings, sma_cross_signal
from tests.ml.backtest.helpers import random_bars


def run(*args):
    """``alphaforge backtest sma-cross ARGS`` in process: (exit status, stdout, stderr)."""
    result = CliRunner().invoke(app, ["backtest", "sma-cross", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def test_parquet_bid_ask_bars_pay_the_spread(tmp_path):
    path = tmp_path / "bars.parquet"
    random_bars(1500, seed=21, spread_pips=1.5).to_parquet(path)
    code, out, _ = run("--bars", str(path), "--fast", "5", "--slow", "20",
                       "--units", "10000", "--cash", "10000", "--close-at-end", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["open_trades"] == [] and len(doc["trades"]) > 10
    assert all(t["spread"] > 0 and t["size"] == 10000 for t in doc["trades"])
    pnl = sum(t["pnl"] for t in doc["trades"])
    assert doc["final_equity"] == pytest.approx(10_000 + pnl)
    assert set(doc["metrics"]) >= {"sharpe", "max_drawdown", "turnover"}


def test_text_output_and_errors(tmp_path):
    path = tmp_path / "bars.csv"
    random_bars(200, seed=22).to_csv(path, index=False)
    code, out, _ = run("--bars", str(path), "--fast", "5", "--slow", "20")
    assert code == 0 and out.startswith("trades=")
    code, _, err = run("--bars", str(tmp_path / "nope.csv"), "--fast", "5", "--slow", "9")
    assert code == 2 and "not found" in err
    code, _, err = run("--bars", str(path), "--fast", "5", "--slow", "5")
    assert code == 2 and "fast" in err
    bad = tmp_path / "bars.txt"
    bad.write_text("x")
    code, _, err = run("--bars", str(bad), "--fast", "5", "--slow", "9")
    assert code == 2 and ".csv or .parquet" in err
    code, _, err = run("--bars", str(path), "--fast", "5", "--slow", "9",
                       "--symbol", "EURUSX")
    assert code == 2 and "EURUSD" in err
    assert err.startswith("alphaforge backtest sma-cross: error: ") and len(err.strip().splitlines()) == 1
    code, out, err = run("--bars", str(path), "--fast", "5", "--slow", "9", "--units", "1", "--all-in")
    assert code == 2 and "--all-in" in err and out == ""


def test_crossing_tie_rule_is_strict():
    fast = np.array([1.0, 2.0, 2.0, 3.0, 1.0, 2.0, 3.0])
    slow = np.full(7, 2.0)
    up, down = crossings(fast, slow)
    # 1 -> 2 touches (no cross), 2 -> 3 starts from a tie (no cross), 3 -> 1 crosses down
    assert list(np.flatnonzero(up)) == [] and list(np.flatnonzero(down)) == [4]
    # a flat start has equal averages: the later rise starts from a tie and is not a cross
    assert not sma_cross_signal(np.r_[np.ones(5), 2 * np.ones(5)], 2, 4).any()
    vee = np.array([5, 4, 3, 2, 1, 2, 3, 4, 5, 6, 5, 4, 3, 2, 1], dtype=float)
    sig = sma_cross_signal(vee, 2, 4)
    assert sig.tolist() == [0] * 6 + [1] * 5 + [-1] * 4
    assert sma_cross_signal(vee, 2, 4, long_only=True).tolist() == [0] * 6 + [1] * 5 + [0] * 4
