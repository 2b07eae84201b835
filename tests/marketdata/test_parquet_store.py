"""ParquetStore specifics: the Hive layout on disk, atomic writes, validation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
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


def test_tick_columns_write_the_same_day_as_a_frame(tmp_path: Path) -> None:
    ticks = SyntheticSource().fetch_day("EURUSD", DAY)
    store = ParquetStore(tmp_path)
    store.write_tick_columns("EURUSD", DAY, {c: ticks[c].to_numpy() for c in ticks.columns})
    pd.testing.assert_frame_equal(store.read_ticks("EURUSD", DAY, DAY), ticks)
    good = {c: ticks[c].to_numpy() for c in ticks.columns}
    bad = {
        "wrong partition": {**good, "ts_ms": good["ts_ms"] + 86_400_000},
        "not sorted": {**good, "ts_ms": good["ts_ms"][::-1].copy()},
        "int64 ts_ms": {**good, "bid": good["bid"].astype("float32")},
        "differ in length": {**good, "ask": good["ask"][:-1]},
        "are not": {c: a for c, a in good.items() if c != "bid"},
    }
    for message, cols in bad.items():
        with pytest.raises(StoreError, match=message):
            store.write_tick_columns("EURUSD", DAY, cols)
    pd.testing.assert_frame_equal(store.read_ticks("EURUSD", DAY, DAY), ticks)  # still whole


def test_older_nullable_tick_files_read_with_new_ones(tmp_path: Path) -> None:
    # Tick files were written with nullable columns and statistics on every column before;
    # a lake holding both kinds reads as one, through DuckDB (a long range) and file by file.
    store = ParquetStore(tmp_path)
    days = [DAY + dt.timedelta(days=i) for i in range(8)]
    frames = {d: SyntheticSource().fetch_day("EURUSD", d) for d in days}
    for d in days[::2]:
        old = pa.table({c: frames[d][c].to_numpy() for c in frames[d].columns})
        store.lake.write_atomic(store._part("ticks", "EURUSD", d), old, compression="zstd")
    for d in days[1::2]:
        store.write_ticks("EURUSD", d, frames[d])
    want = pd.concat(frames.values(), ignore_index=True)
    pd.testing.assert_frame_equal(store.read_ticks("EURUSD", days[0], days[-1]), want)
    pd.testing.assert_frame_equal(
        store.read_ticks("EURUSD", days[0], days[1]), want.iloc[: len(frames[days[0]]) + len(frames[days[1]])]
    )


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
