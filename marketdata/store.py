"""Stores: the ``TickBarStore`` and ``MarketStore`` contracts and the embedded Parquet backend.

Data is partitioned by (symbol, UTC day). Writing a day replaces that day, so re-running an
ingestion is idempotent. Reads cover inclusive day ranges and return exactly ``TICK_COLUMNS``
or ``BAR_COLUMNS`` sorted by time; an empty range gives an empty frame with those columns.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from marketdata.bars import empty_bars
from marketdata.errors import StoreError
from marketdata.lake import open_lake
from marketdata.schema import BAR_COLUMNS, TICK_COLUMNS
from marketdata.sources import day_bounds_ms, empty_ticks
from marketdata.tables import FEATURES, check_day_rows, check_key, check_table, normalise_ts, with_key

log = logging.getLogger(__name__)

_TIMEFRAME_RE = re.compile(r"^[1-9]\d*[mhd]$")  # 1m, 5m, 15m, 1h, 4h, 1d
_TICK_DTYPES = {"ts_ms": np.dtype(np.int64), **{c: np.dtype(np.float64) for c in TICK_COLUMNS[1:]}}

# Parquet settings for tick files, measured on the GBPJPY month (1.09 M ticks, 26 day files,
# one core): dictionaries for prices and volumes (few distinct values per day) plus delta
# encoding for the rising timestamps do most of the work, and zstd on top gives 5.6 bytes per
# tick (the .bi5 source is 5.1) for ~0.11 s of encoding. pyarrow's defaults (snappy, dictionary
# on every column) take ~0.15 s for ~11 bytes per tick; the same encodings without compression
# ~0.09 s for 6.8; no dictionary and no compression ~0.05 s but 40 bytes per tick, too much for
# years of history. Dictionary-encoding ts_ms (nearly all distinct) would cost time for nothing.
# Cheaper codecs were measured too (same encodings, CPU per month): lz4 ~0.087 s for 6.2 bytes
# per tick, snappy ~0.087 s for 6.3, zstd level 1 is what zstd already runs at; zstd stays, as
# ~0.01 s (2 % of the month's ingestion CPU, which LZMA dominates) is not worth 10 % more disk.
# Page format v2 or no stored Arrow schema changed nothing measurable. Two settings do cut the
# encoding (instructions counted under cachegrind, so the machine's load does not blur them):
# columns declared non-null (every tick has all five values) write no definition levels, 15 %
# less; min/max statistics only for ts_ms, the column that reads filter on, 7 % more. The
# files read back the same, and a lake mixing them with older (nullable) files reads as one.
TICK_PARQUET_OPTIONS = {
    "compression": "zstd",
    "use_dictionary": ["bid", "ask", "bid_volume", "ask_volume"],
    "column_encoding": {"ts_ms": "DELTA_BINARY_PACKED"},
    "write_statistics": ["ts_ms"],
}
TICK_SCHEMA = pa.schema(
    [pa.field(c, pa.from_numpy_dtype(_TICK_DTYPES[c]), nullable=False) for c in TICK_COLUMNS]
)


@runtime_checkable
class TickBarStore(Protocol):
    """Where ticks and bars live, partitioned by symbol and UTC day."""

    def write_ticks(self, symbol: str, day: dt.date, df: pd.DataFrame) -> None:
        """Store (replace) the ticks of one day."""
        ...

    def read_ticks(self, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Ticks of the days ``start`` to ``end`` inclusive, sorted by ``ts_ms``."""
        ...

    def write_bars(self, symbol: str, day: dt.date, df: pd.DataFrame, timeframe: str = "1m") -> None:
        """Store (replace) the bars of one day."""
        ...

    def read_bars(self, symbol: str, start: dt.date, end: dt.date, timeframe: str = "1m") -> pd.DataFrame:
        """Bars of the days ``start`` to ``end`` inclusive, sorted by ``ts``."""
        ...

    def days(self, kind: str, symbol: str, timeframe: str = "1m") -> list[dt.date]:
        """The days stored for ``kind`` ("ticks" or "bars") and ``symbol``, ascending."""
        ...


@runtime_checkable
class MarketStore(TickBarStore, Protocol):
    """Ticks and bars (see :class:`~marketdata.store.TickBarStore`), day tables and keyed tables."""

    def write_day(self, table: str, symbol: str, day: dt.date, df: pd.DataFrame) -> None:
        """Store (replace) one day of rows of the day table ``table``; ``df`` has a ``ts`` column."""
        ...

    def read_days(self, table: str, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Rows of ``table`` for the days ``start`` to ``end`` inclusive, sorted by ``ts``."""
        ...

    def write_features(self, symbol: str, day: dt.date, df: pd.DataFrame) -> None:
        """Store (replace) one day of feature rows."""
        ...

    def read_features(self, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Feature rows of the days ``start`` to ``end`` inclusive, sorted by ``ts``."""
        ...

    def replace_rows(self, table: str, key: Mapping[str, str], df: pd.DataFrame) -> None:
        """Replace the rows of ``table`` whose key columns equal ``key`` with ``df``."""
        ...

    def read_rows(self, table: str, key: Mapping[str, str] | None = None) -> pd.DataFrame:
        """Rows of the keyed table ``table`` (those matching ``key`` when given); empty if none."""
        ...

    def close(self) -> None:
        """Release connections (a no-op for a lake)."""
        ...


def table_name(kind: str, timeframe: str = "1m") -> str:
    """``ticks`` or ``bars_<timeframe>`` (e.g. ``bars_1m``); rejects anything else."""
    if kind == "ticks":
        return "ticks"
    if kind == "bars":
        if not _TIMEFRAME_RE.match(timeframe):
            raise StoreError(f"bad timeframe {timeframe!r}; expected e.g. 1m, 5m, 1h, 1d")
        return f"bars_{timeframe}"
    raise StoreError(f"unknown kind {kind!r}; expected 'ticks' or 'bars'")


def check_symbol(symbol: str) -> str:
    """The upper-cased symbol, or :class:`StoreError` if it could escape a partition folder."""
    sym = symbol.upper()
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9._-]*", sym):
        raise StoreError(f"bad symbol {symbol!r} for a store partition")
    return sym


def check_ticks(day: dt.date, df: pd.DataFrame) -> pd.DataFrame:
    """Validate a day of ticks for storage: the columns, and every ts_ms inside ``day``.

    Returns the frame sorted with exact dtypes; that may be ``df`` itself, so do not mutate it.
    """
    missing = set(TICK_COLUMNS) - set(df.columns)
    if missing:
        raise StoreError(f"tick frame lacks columns {sorted(missing)}")
    out = df if list(df.columns) == TICK_COLUMNS else df[TICK_COLUMNS]
    wrong = {c: t for c, t in _TICK_DTYPES.items() if out[c].dtype != t}
    if wrong:  # cast only what needs it: a decoded day is already right and stays uncopied
        out = out.astype(wrong)
    lo, hi = day_bounds_ms(day)
    ts = out["ts_ms"].to_numpy()
    if len(out) and (ts.min() < lo or ts.max() >= hi):
        raise StoreError(f"ticks outside {day} would land in the wrong partition")
    if out["ts_ms"].is_monotonic_increasing:  # a decoded day is: return it without a copy
        plain = isinstance(out.index, pd.RangeIndex) and out.index.start == 0 and out.index.step == 1
        return out if plain else out.reset_index(drop=True)
    return out.sort_values("ts_ms", kind="stable", ignore_index=True)


def check_tick_columns(day: dt.date, cols: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    """Validate a day of tick arrays (``day_tick_columns``) for storage; ``TICK_COLUMNS`` order.

    The same rules as :func:`check_ticks` without a frame: exactly the tick columns with their
    exact dtypes and one length, every ts_ms inside ``day``, and sorted (never sorted here).
    """
    if set(cols) != set(TICK_COLUMNS):
        raise StoreError(f"tick columns {sorted(cols)} are not {TICK_COLUMNS}")
    out = [np.asarray(cols[c]) for c in TICK_COLUMNS]
    if any(a.dtype != _TICK_DTYPES[c] or a.ndim != 1 for c, a in zip(TICK_COLUMNS, out, strict=True)):
        raise StoreError("tick columns must be 1-D, int64 ts_ms and float64 prices and volumes")
    ts = out[0]
    if any(len(a) != len(ts) for a in out):
        raise StoreError("tick columns differ in length")
    if len(ts):
        if not (ts[1:] >= ts[:-1]).all():
            raise StoreError("tick columns are not sorted by ts_ms")
        lo, hi = day_bounds_ms(day)
        if ts[0] < lo or ts[-1] >= hi:  # sorted: the ends are the extremes
            raise StoreError(f"ticks outside {day} would land in the wrong partition")
    return out


def check_bars(day: dt.date, df: pd.DataFrame) -> pd.DataFrame:
    """Validate a day of bars for storage: the columns, UTC open times inside ``day``."""
    missing = set(BAR_COLUMNS) - set(df.columns)
    if missing:
        raise StoreError(f"bar frame lacks columns {sorted(missing)}")
    out = df[BAR_COLUMNS].copy()
    out["ts"] = normalise_ts(out["ts"])
    out["tick_count"] = out["tick_count"].astype(np.int64)
    lo, hi = (pd.Timestamp(ms, unit="ms", tz="UTC") for ms in day_bounds_ms(day))
    if len(out) and (out["ts"].min() < lo or out["ts"].max() >= hi):
        raise StoreError(f"bars outside {day} would land in the wrong partition")
    return out.sort_values("ts", kind="stable", ignore_index=True)


def finish(kind: str, df: pd.DataFrame) -> pd.DataFrame:
    """Give a frame read from any backend the exact column set, dtypes and order."""
    if kind == "ticks":
        if df.empty:
            return empty_ticks()
        dtypes = {"ts_ms": np.dtype(np.int64), **{c: np.dtype(np.float64) for c in TICK_COLUMNS[1:]}}
        if list(df.columns) == TICK_COLUMNS and dict(df.dtypes) == dtypes and _in_order(df, "ts_ms"):
            return df  # as read from Parquet: selecting, casting and sorting would copy it twice
        out = df[TICK_COLUMNS].astype(dtypes)
        return out.sort_values("ts_ms", kind="stable", ignore_index=True)
    if df.empty:
        return empty_bars()
    out = df[BAR_COLUMNS].copy()
    out["ts"] = normalise_ts(out["ts"])
    out["tick_count"] = out["tick_count"].astype(np.int64)
    for c in BAR_COLUMNS[1:]:
        if c != "tick_count":
            out[c] = out[c].astype(np.float64)
    return out.sort_values("ts", kind="stable", ignore_index=True)


def _in_order(df: pd.DataFrame, column: str) -> bool:
    """True when a stable sort of ``df`` by ``column`` with a fresh index would change nothing."""
    index = df.index
    return (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
            and df[column].is_monotonic_increasing)


# Local reads spanning fewer days than this go file by file instead of through DuckDB.
FILE_READ_DAYS = 7


class ParquetStore:
    """The embedded store: a Hive-partitioned Parquet lake, read through DuckDB when local.

    Layout: ``root/ticks/symbol=EURUSD/date=2019-02-04/part.parquet``, the same for
    ``bars_1m`` and every day table (``features``), and ``root/<keyed table>/<key values>.parquet``
    (``backtest_trades/alphaforge-signal-logreg-3.parquet``). ``root`` is a local folder or an
    object-store URL (:func:`marketdata.lake.open_lake`); remote lakes are read with pyarrow.
    """

    def __init__(self, root: Path | str):
        self.lake = open_lake(root)
        self.root: Path | str = Path(self.lake.root) if self.lake.local else str(root)

    def close(self) -> None:
        """Nothing to release: every read opens and closes its own DuckDB connection."""

    def _folder(self, table: str, symbol: str) -> str:
        return self.lake.path(table, f"symbol={check_symbol(symbol)}")

    def _part(self, table: str, symbol: str, day: dt.date) -> str:
        return f"{self._folder(table, symbol)}/date={day.isoformat()}/part.parquet"

    def _write(
        self, table: str, symbol: str, day: dt.date, df: pd.DataFrame | pa.Table, **options: object
    ) -> None:
        path = self._part(table, symbol, day)
        # One thread: a day is ~1,440 rows, and handing its columns to Arrow's pool and waiting
        # for them took longer than converting them (~9 ms a day on a busy machine).
        data = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False, nthreads=1)
        self.lake.write_atomic(path, data, **options)  # readers see the old day or the new one
        log.debug("wrote %d rows to %s", len(df), path)

    def write_ticks(self, symbol: str, day: dt.date, df: pd.DataFrame) -> None:
        """Store (replace) the ticks of one day."""
        ticks = check_ticks(day, df)  # exact int64/float64 columns
        self._write_tick_arrays(symbol, day, [ticks[c].to_numpy() for c in TICK_COLUMNS])

    def write_tick_columns(self, symbol: str, day: dt.date, cols: Mapping[str, np.ndarray]) -> None:
        """Store (replace) the ticks of one day given as arrays (see :func:`check_tick_columns`).

        The same file as :meth:`write_ticks` writes, without building and checking a frame
        (~15 ms of CPU per million ticks, all of it holding the GIL) on the ingestion path.
        """
        self._write_tick_arrays(symbol, day, check_tick_columns(day, cols))

    def _write_tick_arrays(self, symbol: str, day: dt.date, arrays: list[np.ndarray]) -> None:
        # Exact int64/float64 arrays: Arrow wraps each without a copy (Table.from_pandas would
        # inspect a frame and convert it on its own threads, ~25 ms of CPU per million ticks).
        # A numpy array has no nulls (NaN stays a value), as the non-null schema requires.
        table = pa.Table.from_arrays([pa.array(a) for a in arrays], schema=TICK_SCHEMA)
        self._write("ticks", symbol, day, table, **TICK_PARQUET_OPTIONS)

    def write_bars(self, symbol: str, day: dt.date, df: pd.DataFrame, timeframe: str = "1m") -> None:
        """Store (replace) the bars of one day."""
        self._write(table_name("bars", timeframe), symbol, day, check_bars(day, df))

    def write_day(self, table: str, symbol: str, day: dt.date, df: pd.DataFrame) -> None:
        """Store (replace) one day of rows of the day table ``table``."""
        self._write(check_table(table), symbol, day, check_day_rows(day, df))

    def write_features(self, symbol: str, day: dt.date, df: pd.DataFrame) -> None:
        """Store (replace) one day of feature rows."""
        self.write_day(FEATURES, symbol, day, df)

    def _read(self, table: str, symbol: str, start: dt.date, end: dt.date, order: str) -> pd.DataFrame:
        if not self.lake.local or (end - start).days < FILE_READ_DAYS:
            return self._read_files(table, symbol, start, end, order)
        folder = Path(self._folder(table, symbol))
        if not any(folder.glob("date=*/part.parquet")):
            return pd.DataFrame()  # DuckDB raises on a glob that matches nothing
        # The glob stays inside the symbol; the date predicate prunes partitions by name.
        pattern = str(folder / "*" / "part.parquet")
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            return con.execute(
                "SELECT * EXCLUDE (symbol, date) FROM read_parquet(?, hive_partitioning = true, "
                "hive_types = {'symbol': VARCHAR, 'date': DATE}) "
                f"WHERE symbol = ? AND date BETWEEN ? AND ? ORDER BY {order}",
                [pattern, symbol.upper(), start, end],
            ).df()
        finally:
            con.close()

    def _read_files(self, table: str, symbol: str, start: dt.date, end: dt.date, order: str) -> pd.DataFrame:
        # Each day's file through pyarrow: for object stores, and locally for a few days, where
        # a DuckDB connection and its glob cost ~10x the read (a backfill reads day by day).
        days = [d for d in self._days(table, symbol) if start <= d <= end]
        parts = [pq.read_table(self._part(table, symbol, d), filesystem=self.lake.fs) for d in days]
        if not parts:
            return pd.DataFrame()
        df = pa.concat_tables(parts, promote_options="default").to_pandas()
        return df if _in_order(df, order) else df.sort_values(order, kind="stable", ignore_index=True)

    def read_ticks(self, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Ticks of the days ``start`` to ``end`` inclusive, sorted by ``ts_ms``."""
        return finish("ticks", self._read("ticks", symbol, start, end, "ts_ms"))

    def read_bars(self, symbol: str, start: dt.date, end: dt.date, timeframe: str = "1m") -> pd.DataFrame:
        """Bars of the days ``start`` to ``end`` inclusive, sorted by ``ts``."""
        return finish("bars", self._read(table_name("bars", timeframe), symbol, start, end, "ts"))

    def read_days(self, table: str, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Rows of the day table ``table`` for the days ``start`` to ``end`` inclusive, sorted by ts."""
        df = self._read(check_table(table), symbol, start, end, "ts")
        if not df.empty:
            df["ts"] = normalise_ts(df["ts"])
        return df

    def read_features(self, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Feature rows of the days ``start`` to ``end`` inclusive, sorted by ``ts``."""
        return self.read_days(FEATURES, symbol, start, end)

    def days(self, kind: str, symbol: str, timeframe: str = "1m") -> list[dt.date]:
        """The days stored for ``kind`` ("ticks", "bars" or a day table) and ``symbol``, ascending."""
        table = table_name(kind, timeframe) if kind in {"ticks", "bars"} else check_table(kind)
        return self._days(table, symbol)

    def _days(self, table: str, symbol: str) -> list[dt.date]:
        folder = self._folder(table, symbol)
        if self.lake.local:
            found = [p.parent.name for p in Path(folder).glob("date=*/part.parquet")]
        else:
            found = [p.rsplit("/", 2)[-2] for p in self.lake.files(folder, recursive=True)
                     if p.endswith("/part.parquet")]
        return sorted(dt.date.fromisoformat(name.removeprefix("date=")) for name in found
                      if name.startswith("date="))

    def _key_path(self, table: str, key: Mapping[str, str]) -> str:
        return self.lake.path(check_table(table), "-".join(check_key(key).values()) + ".parquet")

    def replace_rows(self, table: str, key: Mapping[str, str], df: pd.DataFrame) -> None:
        """Replace the rows of ``key`` in the keyed table ``table``: one file per key."""
        frame = with_key(check_key(key), df)
        self.lake.write_atomic(self._key_path(table, key), pa.Table.from_pandas(frame, preserve_index=False))

    def read_rows(self, table: str, key: Mapping[str, str] | None = None) -> pd.DataFrame:
        """Rows of the keyed table ``table``, those of ``key`` only when given."""
        if key is not None:
            path = self._key_path(table, key)
            paths = [path] if self.lake.exists(path) else []
        else:
            paths = [p for p in self.lake.files(self.lake.path(check_table(table))) if p.endswith(".parquet")]
        if not paths:
            return pd.DataFrame()
        parts = [pq.read_table(p, filesystem=self.lake.fs) for p in paths]
        return pa.concat_tables(parts, promote_options="default").to_pandas()
