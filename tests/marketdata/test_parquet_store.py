"""ParquetStore specifics: the Hive layout on disk, atomic writes, validation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from marketdata.errors import StoreError
from marketdata.store import ParquetStore, TickBarStore
from marketdata.synthetic import SyntheticSource

DAY = dt.date(2024, 1, 3)


def test_layout_on_disk(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    assert isinstance(store, TickBarStore)
    ticks = SyntheticSource().fetch_day("EURUSD", DAY)
    store.write_ticks("eurusd", DAY, ticks)
    part = tmp_path / "ticks" / "symbol=EURUSD" / "date=2024-01-03" / "part.parquet"
    assert part.is_file()
    assert len(pd.read_parquet(part)) == len(ticks)
    store.write_ticks("EURUSD", DAY, ticks.iloc[:10])
    # the rewrite replaced the file and left no temp files behind
    assert [p.name for p in part.parent.iterdir()] == ["part.parquet"]
    assert len(store.read_ticks("EURUSD", DAY, DAY)) == 10


def test_rejects_ticks_of_another_day(tmp_path: Path) -> None:
    ticks = SyntheticSource().fetch_day("EURUSD", DAY)
    with pytest.raises(StoreError, match="wrong partition"):
        ParquetStore(tmp_path).write_ticks("EURUSD", DAY + dt.timedelta(days=1), ticks)
    with pytest.raises(StoreError, match="lacks columns"):
        ParquetStore(tmp_path).write_ticks("EURUSD", DAY, ticks.drop(columns="bid"))
    assert not (tmp_path / "ticks").exists() or not any((tmp_path / "ticks").rglob("*.parquet"))


def test_bad_kind_and_timeframe(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    assert store.days("quotes", "EURUSD") == []  # any day table may be asked for
    with pytest.raises(StoreError, match="bad table name"):
        store.days("../quotes", "EURUSD")
    with pytest.raises(StoreError, match="bad table name"):
        store.write_day("ticks", "EURUSD", DAY, pd.DataFrame({"ts": []}))
    with pytest.raises(StoreError, match="timeframe"):
        store.read_bars("EURUSD", DAY, DAY, timeframe="../x")


def test_symbol_cannot_escape_the_lake(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path / "lake")
    ticks = SyntheticSource().fetch_day("EURUSD", DAY)
    with pytest.raises(StoreError, match="bad symbol"):
        store.write_ticks("../../etc", DAY, ticks)
    with pytest.raises(StoreError, match="bad symbol"):
        store.read_ticks("*", DAY, DAY)
