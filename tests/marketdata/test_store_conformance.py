"""One conformance suite that every TickBarStore backend must pass."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marketdata.bars import ticks_to_bars
from marketdata.clickhouse_store import URL_ENV, ClickHouseStore
from marketdata.errors import StoreError
from marketdata.schema import BAR_COLUMNS, TICK_COLUMNS
from marketdata.store import MarketStore, ParquetStore, TickBarStore
from marketdata.synthetic import SyntheticSource
from tests.conftest import require
from tests.marketdata.helpers import EURUSD_DAYS, fixture_day
from tests.support.clickhouse_http import clickhouse_http_server

D1, D2, D3 = dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 1, 4)
SOURCE = SyntheticSource(seed=11)


def _parquet(tmp_path: Path) -> MarketStore:
    return ParquetStore(tmp_path / "lake")


def _object_store(tmp_path: Path) -> MarketStore:
    """The lake behind a filesystem URL (fsspec's in-memory object store): the remote read path."""
    return ParquetStore(f"memory://lake-{uuid.uuid4().hex[:12]}")


def _clickhouse(tmp_path: Path) -> MarketStore:
    """chDB (the real ClickHouse engine in process), or the server in ALPHAFORGE_CLICKHOUSE_URL."""
    url = os.environ.get(URL_ENV)
    if url:  # a real server: use a throwaway database per test
        return ClickHouseStore(url, database=f"conformance_{uuid.uuid4().hex[:12]}")
    require(importlib.util.find_spec("chdb") is not None, "chdb is not installed")
    return ClickHouseStore(f"chdb://{tmp_path / 'ch'}")


@pytest.fixture(scope="module")
def clickhouse_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """ClickHouse's HTTP interface (served by the chDB engine in its own process)."""
    require(importlib.util.find_spec("chdb") is not None, "chdb is not installed")
    with clickhouse_http_server(tmp_path_factory.mktemp("chhttp") / "ch") as url:
        yield url


BACKENDS = ["parquet", "parquet_url", "clickhouse", "clickhouse_http"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MarketStore]:
    if request.param == "clickhouse_http":  # clickhouse-connect's HTTP client, end to end
        url = request.getfixturevalue("clickhouse_http")
        backend: MarketStore = ClickHouseStore(url, database=f"conformance_{uuid.uuid4().hex[:12]}")
    else:
        backend = {"parquet": _parquet, "parquet_url": _object_store,
                   "clickhouse": _clickhouse}[request.param](tmp_path)
    assert isinstance(backend, MarketStore) and isinstance(backend, TickBarStore)
    yield backend
    if isinstance(backend, ClickHouseStore):
        if os.environ.get(URL_ENV) or request.param == "clickhouse_http":
            backend.client.command(f"DROP DATABASE IF EXISTS {backend.db}")
        backend.close()


def _assert_ticks_equal(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == TICK_COLUMNS
    assert got["ts_ms"].dtype == np.int64
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))


def _assert_bars_equal(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == BAR_COLUMNS
    assert str(got["ts"].dtype) == "datetime64[ns, UTC]"
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))


def test_tick_round_trip_on_real_data(store: TickBarStore, fixtures_dir: Path) -> None:
    day = EURUSD_DAYS[0]
    ticks = fixture_day(fixtures_dir, "EURUSD", day)
    store.write_ticks("EURUSD", day, ticks)
    _assert_ticks_equal(store.read_ticks("EURUSD", day, day), ticks)
    assert store.days("ticks", "EURUSD") == [day]


def test_bar_round_trip_with_filled_bars(store: TickBarStore) -> None:
    friday = dt.date(2024, 1, 5)  # the market closes at 22:00 UTC: empty bars after that
    ticks = SOURCE.fetch_day("EURUSD", friday)
    bars = ticks_to_bars(
        ticks, fill="flag", start=pd.Timestamp(friday), end=pd.Timestamp(D3) + pd.Timedelta("2D")
    )
    assert len(bars) == 1440 and bars["bid_open"].isna().sum() >= 120  # NaNs must survive
    store.write_bars("EURUSD", friday, bars)
    _assert_bars_equal(store.read_bars("EURUSD", friday, friday), bars)
    h1 = ticks_to_bars(ticks, "1h")
    store.write_bars("EURUSD", friday, h1, timeframe="1h")
    _assert_bars_equal(store.read_bars("EURUSD", friday, friday, timeframe="1h"), h1)
    assert store.days("bars", "EURUSD") == [friday]
    assert store.days("bars", "EURUSD", timeframe="1h") == [friday]


def test_rewrite_is_idempotent(store: TickBarStore) -> None:
    ticks = SOURCE.fetch_day("EURUSD", D2)
    store.write_ticks("EURUSD", D2, ticks)
    store.write_ticks("EURUSD", D2, ticks)
    _assert_ticks_equal(store.read_ticks("EURUSD", D2, D2), ticks)
    fewer = ticks.iloc[::3].reset_index(drop=True)
    store.write_ticks("EURUSD", D2, fewer)  # a rewrite replaces the day, never appends
    _assert_ticks_equal(store.read_ticks("EURUSD", D2, D2), fewer)
    bars = ticks_to_bars(ticks)
    store.write_bars("EURUSD", D2, bars)
    store.write_bars("EURUSD", D2, bars)
    _assert_bars_equal(store.read_bars("EURUSD", D2, D2), bars)


def test_range_reads_and_symbol_isolation(store: TickBarStore) -> None:
    frames = {}
    for day in (D1, D2, D3):
        frames[day] = SOURCE.fetch_day("EURUSD", day)
        store.write_ticks("EURUSD", day, frames[day])
        store.write_bars("EURUSD", day, ticks_to_bars(frames[day]))
    gbp = SOURCE.fetch_day("GBPJPY", D2)
    store.write_ticks("GBPJPY", D2, gbp)
    both = pd.concat([frames[D2], frames[D3]], ignore_index=True)
    _assert_ticks_equal(store.read_ticks("EURUSD", D2, D3), both)
    _assert_ticks_equal(store.read_ticks("GBPJPY", D1, D3), gbp)
    bars = store.read_bars("EURUSD", D1, D2)
    assert bars["ts"].is_monotonic_increasing
    assert bars["tick_count"].sum() == len(frames[D1]) + len(frames[D2])
    assert store.days("ticks", "EURUSD") == [D1, D2, D3]
    assert store.days("ticks", "GBPJPY") == [D2]


def test_empty_reads(store: TickBarStore) -> None:
    for got in (store.read_ticks("EURUSD", D1, D3), store.read_ticks("XAUUSD", D1, D1)):
        assert got.empty and list(got.columns) == TICK_COLUMNS
    bars = store.read_bars("EURUSD", D1, D3)
    assert bars.empty and list(bars.columns) == BAR_COLUMNS
    assert store.days("ticks", "EURUSD") == []
    store.write_ticks("EURUSD", D1, SOURCE.fetch_day("EURUSD", D1))
    assert store.read_ticks("EURUSD", D2, D3).empty
    assert store.read_ticks("GBPJPY", D1, D1).empty


def test_empty_day_round_trip(store: TickBarStore) -> None:
    saturday = dt.date(2024, 1, 6)
    ticks = SOURCE.fetch_day("EURUSD", saturday)
    assert ticks.empty
    store.write_ticks("EURUSD", saturday, ticks)
    got = store.read_ticks("EURUSD", saturday, saturday)
    assert got.empty and list(got.columns) == TICK_COLUMNS
    assert store.days("ticks", "EURUSD") == [saturday]  # an empty day still counts as done


def _features(day: dt.date) -> pd.DataFrame:
    ts = pd.date_range(pd.Timestamp(day, tz="UTC"), periods=5, freq="1min")
    return pd.DataFrame({"ts": ts, "ret_1": [np.nan, 0.1, -0.2, 0.3, 0.0],
                         "rsi_14": [50.0, 51.0, 49.0, 48.5, np.inf]})


def test_day_table_round_trip(store: MarketStore) -> None:
    for day in (D1, D2):
        store.write_features("EURUSD", day, _features(day))
    store.write_features("EURUSD", D2, _features(D2).iloc[:3])  # replaces the day
    store.write_day("regimes", "GBPJPY", D1, _features(D1)[["ts"]].assign(regime=1))
    got = store.read_features("EURUSD", D1, D2)
    want = pd.concat([_features(D1), _features(D2).iloc[:3]], ignore_index=True)
    assert str(got["ts"].dtype) == "datetime64[ns, UTC]"
    pd.testing.assert_frame_equal(got[want.columns.tolist()], want, check_dtype=False)
    assert store.days("features", "EURUSD") == [D1, D2]
    assert store.days("features", "GBPJPY") == [] and store.days("regimes", "GBPJPY") == [D1]
    assert store.read_features("EURUSD", D3, D3).empty
    assert store.read_days("regimes", "GBPJPY", D1, D1)["regime"].tolist() == [1] * 5
    with pytest.raises(StoreError, match="wrong partition"):
        store.write_features("EURUSD", D3, _features(D1))


def _trades(n: int) -> pd.DataFrame:
    t0 = pd.Timestamp("2024-01-02 10:00", tz="UTC")
    return pd.DataFrame({
        "symbol": pd.Series(["EURUSD", "GBPJPY"] * n, dtype="string")[:n],
        "entry_time": [t0 + pd.Timedelta(minutes=i) for i in range(n)],
        "exit_time": [t0 + pd.Timedelta(minutes=i + 5) for i in range(n)],
        "direction": np.array([1, -1] * n, dtype=np.int64)[:n],
        "pnl": np.linspace(-1.5, 2.5, n),
    })


def test_keyed_table_round_trip(store: MarketStore) -> None:
    assert store.read_rows("backtest_trades").empty
    a, b = {"strategy": "s-logreg", "model_version": "3"}, {"strategy": "s-mlp", "model_version": "4"}
    store.replace_rows("backtest_trades", a, _trades(4))
    store.replace_rows("backtest_trades", b, _trades(2))
    store.replace_rows("backtest_trades", a, _trades(3))  # a re-run replaces the key's rows
    got = store.read_rows("backtest_trades", a)
    assert list(got.columns[:2]) == ["strategy", "model_version"]
    assert (got["strategy"] == "s-logreg").all() and (got["model_version"] == "3").all()
    got = got.sort_values("entry_time", ignore_index=True)
    want = _trades(3)
    pd.testing.assert_frame_equal(got[want.columns.tolist()], want, check_dtype=False)
    assert str(got["entry_time"].dtype) == "datetime64[ns, UTC]"
    assert got["direction"].dtype == np.int64
    assert len(store.read_rows("backtest_trades")) == 5
    store.replace_rows("backtest_trades", b, _trades(0))  # an evaluation without trades
    assert store.read_rows("backtest_trades", b).empty
    with pytest.raises(StoreError, match="bad key value"):
        store.replace_rows("backtest_trades", {"strategy": "../x"}, _trades(1))
