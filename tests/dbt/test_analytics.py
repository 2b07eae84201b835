"""The dbt analytics models, built through Dagster (dagster-dbt) on a real Parquet lake, agree
with the same figures computed in pandas; a bad input row fails its dbt test."""

import datetime as dt
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster_dbt import DbtCliResource

from marketdata.bars import ticks_to_bars
from marketdata.store import ParquetStore
from marketdata.synthetic import SyntheticSource
from orchestration.analytics import analytics_dbt_assets
from orchestration.resources import DBT_EXECUTABLE, DBT_PROJECT_DIR

DAYS = [dt.date(2024, 3, 4), dt.date(2024, 3, 5), dt.date(2024, 3, 6)]


def _lake(root: Path, strategy: str | None = "sma_cross") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bars from the synthetic source, plus backtest trades and equity in the agreed layout."""
    store = ParquetStore(root / "lake")
    for day in DAYS[:2]:
        store.write_bars("EURUSD", day, ticks_to_bars(SyntheticSource().fetch_day("EURUSD", day)))
    rng = np.random.default_rng(7)
    entry = pd.date_range("2024-03-04 01:00", periods=12, freq="5h", tz="UTC")
    trades = pd.DataFrame({
        "strategy": strategy, "model_version": "3", "symbol": "EURUSD", "entry_time": entry,
        "exit_time": entry + pd.Timedelta(hours=1), "direction": np.where(np.arange(12) % 2, 1, -1),
        "lots": 0.1, "gross_pnl": rng.normal(0, 20, 12), "commission": 0.7, "swap": 0.0,
    })
    trades["pnl"] = trades["gross_pnl"] - trades["commission"]
    ts = pd.date_range("2024-03-04", periods=3 * 24, freq="h", tz="UTC")
    equity = pd.DataFrame({"strategy": "sma_cross", "model_version": "3", "symbol": "EURUSD", "ts": ts,
                           "equity": 10_000 + np.cumsum(rng.normal(0, 30, len(ts)))})
    for name, frame in (("backtest_trades", trades), ("backtest_equity", equity)):
        (root / "lake" / name).mkdir(parents=True)
        frame.to_parquet(root / "lake" / name / "sma_cross-3.parquet")
    return trades, equity


def _build(monkeypatch, root: Path) -> dg.ExecuteInProcessResult:
    monkeypatch.setenv("ALPHAFORGE_DATA_DIR", str(root))
    dbt = DbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR),
                         dbt_executable=DBT_EXECUTABLE, target="dev")
    return dg.materialize([analytics_dbt_assets], resources={"dbt": dbt}, raise_on_error=False)


def test_dbt_build_through_dagster_matches_pandas(tmp_path, monkeypatch):
    trades, equity = _lake(tmp_path)
    result = _build(monkeypatch, tmp_path)
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert len(checks) >= 20 and all(c.passed for c in checks)
    with duckdb.connect(str(tmp_path / "analytics.duckdb"), read_only=True) as con:
        coverage = con.sql("select symbol, day, minutes_with_bars from bar_coverage order by day").df()
        stats = con.sql("select * from backtest_trade_stats").df()
        pnl = con.sql("select day, equity, daily_pnl, drawdown from strategy_daily_pnl order by day").df()
    assert list(coverage["minutes_with_bars"]) == [1440, 1440]
    assert stats.loc[0, "n_trades"] == 12
    assert stats.loc[0, "win_rate"] == pytest.approx((trades["pnl"] > 0).mean())
    assert stats.loc[0, "total_pnl"] == pytest.approx(trades["pnl"].sum())
    daily = equity.groupby(equity["ts"].dt.date)["equity"].last()
    assert list(pnl["equity"]) == pytest.approx(list(daily))
    assert list(pnl["daily_pnl"]) == pytest.approx([0.0, *np.diff(daily.to_numpy())])
    assert list(pnl["drawdown"]) == pytest.approx(list(daily / daily.cummax() - 1))


def test_models_build_before_any_backtest_exists(tmp_path, monkeypatch):
    _lake(tmp_path)
    for name in ("backtest_trades", "backtest_equity"):
        for f in (tmp_path / "lake" / name).iterdir():
            f.unlink()
    result = _build(monkeypatch, tmp_path)
    assert result.success
    with duckdb.connect(str(tmp_path / "analytics.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from strategy_daily_pnl").fetchone()[0] == 0


def test_a_trade_without_strategy_fails_its_dbt_test(tmp_path, monkeypatch):
    _lake(tmp_path, strategy=None)
    result = _build(monkeypatch, tmp_path)
    failed = {c.check_name for c in result.get_asset_check_evaluations() if not c.passed}
    assert "not_null_backtest_trade_stats_strategy" in failed


def test_same_models_parse_for_clickhouse(tmp_path):
    """The clickhouse target parses without a server (the adapter is dbt-clickhouse)."""
    proc = subprocess.run([str(Path(sys.executable).with_name("dbt")), "parse", "--profiles-dir", ".",
                           "--target", "clickhouse", "--target-path", str(tmp_path)],
                          cwd=DBT_PROJECT_DIR, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "adapter: clickhouse" in proc.stdout
    assert (tmp_path / "manifest.json").exists()
