"""The production tick/bar store: ClickHouse through clickhouse-connect.

Tables are MergeTree ``ORDER BY (symbol, ts)`` with ``DateTime64(3, 'UTC')`` timestamps and a
``date`` column; writing a (symbol, day) first deletes that day, then inserts, so a re-run is
idempotent. A small ``ingested_days`` table records which days were written (empty ones too).
Tests run the real ClickHouse engine in process through clickhouse-connect's chDB interface
(``chdb:///abs/dir``); ``ALPHAFORGE_CLICKHOUSE_URL`` (e.g. ``http://user:pw@host:8123/market``)
selects a real server.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from marketdata import clickhouse_tables as cht
from marketdata.errors import StoreError
from marketdata.schema import BAR_COLUMNS, TICK_COLUMNS
from marketdata.store import check_bars, check_ticks, finish, table_name
from marketdata.tables import FEATURES, check_day_rows, check_key, check_table, with_key

log = logging.getLogger(__name__)

URL_ENV = "ALPHAFORGE_CLICKHOUSE_URL"

_TICKS_DDL = """
CREATE TABLE IF NOT EXISTS {db}.ticks (
    symbol LowCardinality(String), date Date, ts DateTime64(3, 'UTC'),
    bid Float64, ask Float64, bid_volume Float64, ask_volume Float64
) ENGINE = MergeTree PARTITION BY toYYYYMM(date) ORDER BY (symbol, ts)
"""
_BARS_DDL = """
CREATE TABLE IF NOT EXISTS {db}.{table} (
    symbol LowCardinality(String), date Date, ts DateTime64(3, 'UTC'),
    {prices},
    spread_mean Float64, spread_max Float64,
    tick_count Int64, bid_volume Float64, ask_volume Float64
) ENGINE = MergeTree PARTITION BY toYYYYMM(date) ORDER BY (symbol, ts)
"""
_DAYS_DDL = """
CREATE TABLE IF NOT EXISTS {db}.ingested_days (
    tbl LowCardinality(String), symbol LowCardinality(String), date Date,
    rows UInt64, written_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(written_at) ORDER BY (tbl, symbol, date)
"""


def connect(dsn: str | None = None) -> Any:
    """A clickhouse-connect client for ``dsn`` (default: ``$ALPHAFORGE_CLICKHOUSE_URL``)."""
    import clickhouse_connect  # optional at import time: the embedded store does not need it

    dsn = dsn or os.environ.get(URL_ENV)
    if not dsn:
        raise StoreError(f"no ClickHouse DSN given and {URL_ENV} is not set")
    return clickhouse_connect.get_client(dsn=dsn)


class ClickHouseStore:
    """A :class:`~marketdata.store.MarketStore` on ClickHouse."""

    def __init__(self, client_or_dsn: Any = None, database: str = "market"):
        if not database.isidentifier():
            raise StoreError(f"bad database name {database!r}")
        self._owns_client = client_or_dsn is None or isinstance(client_or_dsn, str)
        self.client = connect(client_or_dsn) if self._owns_client else client_or_dsn
        self.db = database
        self._tables: set[str] = set()
        self._types: dict[str, dict[str, str]] = {}
        self.client.command(f"CREATE DATABASE IF NOT EXISTS {self.db}")
        self.client.command(_DAYS_DDL.format(db=self.db))

    def close(self) -> None:
        """Close the client if this store opened it."""
        if self._owns_client:
            self.client.close()

    def _ensure(self, table: str) -> str:
        if table not in self._tables:
            if table == "ticks":
                ddl = _TICKS_DDL.format(db=self.db)
            else:
                prices = ", ".join(f"{c} Float64" for c in BAR_COLUMNS[1:9])
                ddl = _BARS_DDL.format(db=self.db, table=table, prices=prices)
            self.client.command(ddl)
            self._tables.add(table)
        return table

    def _replace_day(self, table: str, symbol: str, day: dt.date, df: pd.DataFrame) -> None:
        if table == "ticks" or table.startswith("bars_"):
            self._ensure(table)
        sym = symbol.upper()
        params = {"s": sym, "d": day}
        # Delete-then-insert: a reader may briefly see the day missing, never doubled.
        self.client.command(
            f"DELETE FROM {self.db}.{table} WHERE symbol = {{s:String}} AND date = {{d:Date}}",
            parameters=params,
        )
        if len(df):
            df = df.copy()
            df.insert(0, "date", day)
            df.insert(0, "symbol", sym)
            self.client.insert_df(table, df, database=self.db)
        marker = pd.DataFrame(
            {
                "tbl": [table],
                "symbol": [sym],
                "date": [day],
                "rows": [np.uint64(len(df))],
                "written_at": [pd.Timestamp.now(tz="UTC")],
            }
        )
        self.client.insert_df("ingested_days", marker, database=self.db)
        log.debug("replaced %s %s %s with %d rows", table, sym, day, len(df))

    def write_ticks(self, symbol: str, day: dt.date, df: pd.DataFrame) -> None:
        """Store (replace) the ticks of one day."""
        ticks = check_ticks(day, df)
        frame = pd.DataFrame({"ts": pd.to_datetime(ticks["ts_ms"], unit="ms", utc=True)})
        for c in TICK_COLUMNS[1:]:
            frame[c] = ticks[c].to_numpy()
        self._replace_day("ticks", symbol, day, frame)

    def write_bars(
        self, symbol: str, day: dt.date, df: pd.DataFrame, timeframe: str = "1m"
    ) -> None:
        """Store (replace) the bars of one day."""
        self._replace_day(table_name("bars", timeframe), symbol, day, check_bars(day, df))

    def _read(
        self, table: str, cols: str, symbol: str, start: dt.date, end: dt.date
    ) -> pd.DataFrame:
        if not self._exists(table):
            return pd.DataFrame()
        return self.client.query_df(
            f"SELECT {cols} FROM {self.db}.{table} WHERE symbol = {{s:String}} "
            "AND date BETWEEN {a:Date} AND {b:Date} ORDER BY ts",
            parameters={"s": symbol.upper(), "a": start, "b": end},
        )

    def _exists(self, table: str) -> bool:
        if table in self._tables:
            return True
        found = self.client.command(f"EXISTS TABLE {self.db}.{table}")
        return bool(int(found))

    def read_ticks(self, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Ticks of the days ``start`` to ``end`` inclusive, sorted by ``ts_ms``."""
        cols = "toUnixTimestamp64Milli(ts) AS ts_ms, " + ", ".join(TICK_COLUMNS[1:])
        return finish("ticks", self._read("ticks", cols, symbol, start, end))

    def read_bars(
        self, symbol: str, start: dt.date, end: dt.date, timeframe: str = "1m"
    ) -> pd.DataFrame:
        """Bars of the days ``start`` to ``end`` inclusive, sorted by ``ts``."""
        table = table_name("bars", timeframe)
        # Epoch ms, not the DateTime64 itself: immune to client-side time-zone conversion.
        cols = "toUnixTimestamp64Milli(ts) AS ts_ms, " + ", ".join(BAR_COLUMNS[1:])
        df = self._read(table, cols, symbol, start, end)
        if not df.empty:
            df.insert(0, "ts", pd.to_datetime(df.pop("ts_ms"), unit="ms", utc=True))
        return finish("bars", df)

    def days(self, kind: str, symbol: str, timeframe: str = "1m") -> list[dt.date]:
        """The days written for ``kind`` ("ticks", "bars" or a day table) and ``symbol``, ascending."""
        rows = self.client.query(
            f"SELECT DISTINCT date FROM {self.db}.ingested_days "
            "WHERE tbl = {t:String} AND symbol = {s:String} ORDER BY date",
            parameters={"t": table_name(kind, timeframe) if kind in {"ticks", "bars"} else check_table(kind),
                        "s": symbol.upper()},
        ).result_rows
        return [
            r[0] if isinstance(r[0], dt.date) else dt.date.fromisoformat(str(r[0])) for r in rows
        ]

    # -- day tables (features, ...) and keyed tables (backtest results): columns from the frame --

    def _columns(self, table: str) -> dict[str, str]:
        """Column name -> type of ``table`` ({} when it does not exist yet)."""
        if table not in self._types:
            if not self._exists(table):
                return {}
            rows = self.client.query(f"DESCRIBE TABLE {self.db}.{table}").result_rows
            self._types[table] = {r[0]: r[1] for r in rows}
            self._tables.add(table)
        return self._types[table]

    def _create(self, table: str, lead: dict[str, str], df: pd.DataFrame, order_by: list[str],
                partition_by: str | None) -> dict[str, str]:
        if not self._columns(table):
            self.client.command(cht.create_sql(self.db, table, lead, df, order_by, partition_by))
            self._types.pop(table, None)
        return self._columns(table)

    def write_day(self, table: str, symbol: str, day: dt.date, df: pd.DataFrame) -> None:
        """Store (replace) one day of rows of the day table ``table`` (created from ``df``)."""
        rows = check_day_rows(day, df)
        lead = {"symbol": "LowCardinality(String)", "date": "Date", "ts": cht.TS_TYPE}
        types = self._create(check_table(table), lead, rows, ["symbol", "ts"], "toYYYYMM(date)")
        body = {k: v for k, v in types.items() if k not in {"symbol", "date"}}
        self._replace_day(table, symbol, day, cht.to_insert(rows, body))

    def write_features(self, symbol: str, day: dt.date, df: pd.DataFrame) -> None:
        """Store (replace) one day of feature rows."""
        self.write_day(FEATURES, symbol, day, df)

    def read_days(self, table: str, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Rows of the day table ``table`` for the days ``start`` to ``end`` inclusive, sorted by ts."""
        types = self._columns(check_table(table))
        if not types:
            return pd.DataFrame()
        df = self._read(table, cht.select_list(types, {"symbol", "date"}), symbol, start, end)
        return cht.from_select(df, types)

    def read_features(self, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Feature rows of the days ``start`` to ``end`` inclusive, sorted by ``ts``."""
        return self.read_days(FEATURES, symbol, start, end)

    def replace_rows(self, table: str, key: Mapping[str, str], df: pd.DataFrame) -> None:
        """Replace the rows of ``key`` in the keyed table ``table`` (delete, then insert)."""
        key = check_key(key)
        frame = with_key(key, df)
        lead = {k: "LowCardinality(String)" for k in key}
        types = self._create(check_table(table), lead, frame, list(key), None)
        where, params = _key_filter(key)
        self.client.command(f"DELETE FROM {self.db}.{table} WHERE {where}", parameters=params)
        if len(frame):
            self.client.insert_df(table, cht.to_insert(frame, types), database=self.db)

    def read_rows(self, table: str, key: Mapping[str, str] | None = None) -> pd.DataFrame:
        """Rows of the keyed table ``table``, those of ``key`` only when given."""
        types = self._columns(check_table(table))
        if not types:
            return pd.DataFrame()
        where, params = _key_filter(check_key(key)) if key is not None else ("1", {})
        df = self.client.query_df(
            f"SELECT {cht.select_list(types, set())} FROM {self.db}.{table} WHERE {where}",
            parameters=params)
        return cht.from_select(df, types)


def _key_filter(key: dict[str, str]) -> tuple[str, dict[str, str]]:
    where = " AND ".join(f"`{c}` = {{k{i}:String}}" for i, c in enumerate(key))
    return where, {f"k{i}": v for i, v in enumerate(key.values())}
