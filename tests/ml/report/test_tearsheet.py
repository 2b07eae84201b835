"""Tearsheets: every figure is written, and the HTML and JSON carry the numbers the figures draw."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from marketdata.instruments import get_instrument
from ml.backtest import CostModel, run_backtest
from ml.report import build_tearsheet, markdown_table, summary_table, write_report
from ml.report.data import drawdown, monthly_returns
from ml.report.importance import permutation_importance
from ml.report.publish import publish_tearsheet, run_url
from tests.ml.backtest.helpers import random_bars, random_signal

PNG = b"\x89PNG\r\n\x1a\n"
FIGURES = ["equity_drawdown", "trades_on_price", "monthly_returns", "rolling_sharpe", "costs",
           "feature_importance"]


@pytest.fixture(scope="module")
def backtests():
    """Two symbols, ~3 months of hourly bars each, a random signal, commission and slippage."""
    out = {}
    for i, symbol in enumerate(["EURUSD", "GBPUSD"]):
        bars = random_bars(2200, seed=i, freq="1h", start="2024-01-01")
        result = run_backtest(bars, random_signal(len(bars), seed=i), get_instrument(symbol),
                              CostModel(commission_per_lot=3.5, slippage_spread_frac=0.1))
        out[symbol] = (bars, result)
    return out


def _sheet(backtests, importances=None):
    return build_tearsheet("test v1", {s: r for s, (_, r) in backtests.items()},
                           {s: b for s, (b, _) in backtests.items()}, importances)


def test_numbers_follow_the_backtest(backtests):
    sheet = _sheet(backtests)
    for symbol, (_, r) in backtests.items():
        pd.testing.assert_series_equal(sheet.equity[symbol].dropna(), r.equity, check_names=False)
        assert sheet.drawdown[symbol].max() == pytest.approx(r.metrics["max_drawdown"])
        assert sheet.costs.loc[symbol, "commission"] == pytest.approx(r.trades["commission"].sum())
        assert sheet.costs.loc[symbol, "net_pnl"] == pytest.approx(r.trades["pnl"].sum())
        assert sheet.costs.loc[symbol, "spread"] > 0
    assert sheet.costs.loc["total", "n_trades"] == sum(len(r.trades) for _, r in backtests.values())
    # 2200 hours from 1 January 2024 span four calendar months, compounding to the pooled total return
    pooled = sheet.equity.ffill().bfill().sum(axis=1)
    months = sheet.monthly_returns.loc[2024].dropna()
    assert list(months.index) == [1, 2, 3, 4]
    assert np.prod(1 + months.to_numpy()) - 1 == pytest.approx(pooled.iloc[-1] / pooled.iloc[0] - 1)
    assert sheet.rolling_sharpe.notna().any().all()
    assert list(summary_table(sheet).index) == ["EURUSD", "GBPUSD"]


def test_drawdown_and_monthly_returns_by_hand():
    idx = pd.to_datetime(["2024-01-01", "2024-01-31", "2024-02-15", "2024-02-28"], utc=True)
    eq = pd.Series([100.0, 110.0, 99.0, 121.0], index=idx)
    assert drawdown(eq).tolist() == pytest.approx([0, 0, 0.1, 0])
    table = monthly_returns(eq)
    assert table.loc[2024, 1] == pytest.approx(0.10)
    assert table.loc[2024, 2] == pytest.approx(0.10)  # 110 -> 121


def test_report_files_hold_every_figure_and_its_data(backtests, tmp_path):
    imp = pd.Series({"ret_1": 0.02, "rsi_14": 0.005})
    sheet = _sheet(backtests, imp)
    paths = write_report(sheet, tmp_path)
    for name in FIGURES:
        assert paths[name].read_bytes().startswith(PNG), name
        assert paths[name].stat().st_size > 5_000, name  # a real drawing, not an empty canvas
    page = paths["html"].read_text()
    assert "http://" not in page and "https://" not in page  # self-contained
    for name in FIGURES:
        assert re.search(rf"id='fig-{name}' alt='{name}' src='data:image/png;base64,", page), name
    embedded = json.loads(re.search(r"id='tearsheet-data'>(.*?)</script>", page, re.S).group(1))
    on_disk = json.loads(paths["json"].read_text())
    assert embedded == on_disk
    r = backtests["EURUSD"][1]
    assert on_disk["equity"]["EURUSD"][-1] == pytest.approx(r.equity.iloc[-1])
    assert len(on_disk["trades"]["EURUSD"]) == len(r.trades)
    assert on_disk["costs"]["total"]["commission"] == pytest.approx(sheet.costs.loc["total", "commission"])
    assert on_disk["monthly_returns"]["2024"]["1"] == pytest.approx(sheet.monthly_returns.loc[2024, 1])
    assert on_disk["feature_importance"] == {"ret_1": 0.02, "rsi_14": 0.005}
    assert on_disk["metrics"]["GBPUSD"]["n_trades"] == len(backtests["GBPUSD"][1].trades)


def test_markdown_table():
    md = markdown_table(pd.DataFrame({"sharpe": [1.23456]}, index=["EURUSD"]))
    assert md.splitlines() == ["| | sharpe |", "|---|---|", "| EURUSD | 1.235 |"]


class _OneFeatureModel:
    """prob_up depends on ``a`` only."""

    columns = ("a", "b", "c")

    def predict(self, context, frame):
        return pd.DataFrame({"prob_up": 1 / (1 + np.exp(-3 * frame["a"].to_numpy()))})


def test_permutation_importance_finds_the_feature_the_model_uses():
    rng = np.random.default_rng(0)
    rows = pd.DataFrame(rng.normal(size=(500, 3)), columns=["a", "b", "c"])
    rows.loc[3, "b"] = np.nan  # dropped, not propagated
    imp = permutation_importance(_OneFeatureModel(), rows)
    assert imp.index[0] == "a" and imp["a"] > 0.1
    assert imp["b"] == 0 and imp["c"] == 0


def test_publish_logs_every_file_to_the_run(backtests, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("t", artifact_location=(tmp_path / "art").as_uri())
    run = client.create_run(exp)
    report = publish_tearsheet(client, run.info.run_id, _sheet(backtests), tmp_path / "out")
    logged = {a.path for a in client.list_artifacts(run.info.run_id, "tearsheet")}
    assert {f"tearsheet/{p.name}" for p in report.files.values()} == logged
    assert "tearsheet/tearsheet.html" in logged and "tearsheet/equity_drawdown.png" in logged
    assert run_url("http://h:5000/", exp, run.info.run_id) == f"http://h:5000/#/experiments/{exp}/runs/{run.info.run_id}"
