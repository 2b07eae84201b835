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
from typing import Any

import numpy as np
import pandas as pd

from marketdata.errors import StoreError
from marketdata.schema import BAR_COLUMNS, TICK_COLUMNS
from marketdata.store import check_bars, check_ticks, finish, table_name

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
    """A :class:`~marketdata.store.TickBarStore` on ClickHouse."""

    def __init__(self, client_or_dsn: Any = None, database: str = "market"):
        if not database.isidentifier():
            raise StoreError(f"bad database name {database!r}")
        self._owns_client = client_or_dsn is None or isinstance(client_or_dsn, str)
        self.client = connect(client_or_dsn) if self._owns_client else client_or_dsn
        self.db = database
        self._tables: set[str] = set()
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
        """The days written for ``kind`` ("ticks" or "bars") and ``symbol``, ascending."""
        rows = self.client.query(
            f"SELECT DISTINCT date FROM {self.db}.ingested_days "
            "WHERE tbl = {t:String} AND symbol = {s:String} ORDER BY date",
            parameters={"t": table_name(kind, timeframe), "s": symbol.upper()},
        ).result_rows
        return [
            r[0] if isinstance(r[0], dt.date) else dt.date.fromisoformat(str(r[0])) for r in rows
        ]
