"""The dbt models built on the ClickHouse target (dbt-clickhouse over ClickHouse's HTTP protocol,
served by the chDB engine), through Dagster, agree row for row with the DuckDB target built on
the same data; both read what the store API wrote (bars, and the evaluation's backtest tables)."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from urllib.parse import urlsplit

import clickhouse_connect
import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster_dbt import DbtCliResource

from marketdata.bars import ticks_to_bars
from marketdata.clickhouse_store import ClickHouseStore
from marketdata.store import MarketStore, ParquetStore
from marketdata.synthetic import SyntheticSource
from orchestration.analytics import analytics_dbt_assets
from orchestration.resources import DBT_EXECUTABLE, DBT_PROJECT_DIR
from tests.conftest import require
from tests.support.clickhouse_http import clickhouse_http_server

DAYS = [dt.date(2024, 3, 4), dt.date(2024, 3, 5)]
MODELS = {"bar_coverage": ["symbol", "day"], "daily_bars_summary": ["symbol", "day"],
          "backtest_trade_stats": ["strategy", "model_version", "symbol"],
          "strategy_daily_pnl": ["strategy", "model_version", "day"]}


def _fill(store: MarketStore) -> None:
    rng = np.random.default_rng(3)
    for symbol in ("EURUSD", "GBPJPY"):
        for day in DAYS:
            store.write_bars(symbol, day, ticks_to_bars(SyntheticSource(seed=4).fetch_day(symbol, day)))
    entry = pd.date_range("2024-03-04 01:00", periods=10, freq="3h", tz="UTC")
    for version in ("3", "4"):
        trades = pd.DataFrame({
            "entry_time": entry, "exit_time": entry + pd.Timedelta(minutes=50),
            "direction": np.where(np.arange(10) % 3, 1, -1).astype(np.int64), "lots": 0.1,
            "gross_pnl": rng.normal(0, 20, 10), "commission": 0.7, "swap": 0.0,
            "symbol": pd.Series(["EURUSD", "GBPJPY"] * 5, dtype="string")})
        trades["pnl"] = trades["gross_pnl"] - trades["commission"]
        ts = pd.date_range("2024-03-04", periods=48, freq="h", tz="UTC")
        equity = pd.DataFrame({"symbol": pd.Series("EURUSD", index=range(48), dtype="string"), "ts": ts,
                               "equity": 10_000 + np.cumsum(rng.normal(0, 30, 48))})
        key = {"strategy": "alphaforge-signal-logreg", "model_version": version}
        store.replace_rows("backtest_trades", key, trades)
        store.replace_rows("backtest_equity", key, equity)


def _materialize(target: str) -> dg.ExecuteInProcessResult:
    dbt = DbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR),
                         dbt_executable=DBT_EXECUTABLE, target=target)
    return dg.materialize([analytics_dbt_assets], resources={"dbt": dbt}, raise_on_error=False)


def _normal(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if col == "day":
            out[col] = pd.to_datetime(out[col]).dt.date
        elif out[col].dtype == object or str(out[col].dtype) == "string":
            out[col] = out[col].astype(str)
        else:
            out[col] = out[col].astype(np.float64)
    return out.sort_values(keys, ignore_index=True)[sorted(out.columns)]


def test_clickhouse_target_matches_duckdb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require(importlib.util.find_spec("chdb") is not None, "chdb is not installed")
    monkeypatch.setenv("ALPHAFORGE_DATA_DIR", str(tmp_path))
    _fill(ParquetStore(tmp_path / "lake"))
    duck = _materialize("dev")
    assert duck.success
    with clickhouse_http_server(tmp_path / "ch", password="s3cret") as url:
        parts = urlsplit(url)
        database = "market_dbt_test"
        ch_store = ClickHouseStore(url, database=database)
        _fill(ch_store)
        for name, value in {"ALPHAFORGE_CLICKHOUSE_HOST": parts.hostname,
                            "ALPHAFORGE_CLICKHOUSE_PORT": str(parts.port),
                            "ALPHAFORGE_CLICKHOUSE_USER": "default",
                            "ALPHAFORGE_CLICKHOUSE_PASSWORD": "s3cret",
                            "ALPHAFORGE_CLICKHOUSE_DATABASE": database,
                            "ALPHAFORGE_CLICKHOUSE_ANALYTICS_DB": "analytics_test"}.items():
            monkeypatch.setenv(name, str(value))
        click = _materialize("clickhouse")
        assert click.success, [e.message for e in click.all_events if e.is_failure][:3]
        client = clickhouse_connect.get_client(dsn=url)
        got = {m: client.query_df(f"SELECT * FROM analytics_test.{m}") for m in MODELS}
        ch_store.close()
        client.close()
    checks = click.get_asset_check_evaluations()
    assert len(checks) >= 20 and all(c.passed for c in checks)
    assert {c.check_name for c in checks} == {c.check_name for c in duck.get_asset_check_evaluations()}
    with duckdb.connect(str(tmp_path / "analytics.duckdb"), read_only=True) as con:
        want = {m: con.sql(f"select * from {m}").df() for m in MODELS}
    for model, keys in MODELS.items():
        assert len(want[model]) > 0, model
        a, b = _normal(got[model], keys), _normal(want[model], keys)
        assert list(a.columns) == list(b.columns), model
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, obj=model)
