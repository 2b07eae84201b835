"""Open the configured store: the backend is chosen by configuration, never by code.

* ``ALPHAFORGE_STORE``: ``parquet`` (default, the embedded lake) or ``clickhouse``.
* ``ALPHAFORGE_LAKE_URL``: the lake's location, a local path or an object-store URL
  (``s3://bucket/lake``, ``gs://...``, any fsspec URL); default ``<data dir>/lake``.
* ``ALPHAFORGE_CLICKHOUSE_URL``: the ClickHouse DSN (``http://user:pw@host:8123/market``, or
  ``chdb:///abs/dir`` for the in-process engine); ``ALPHAFORGE_CLICKHOUSE_DATABASE`` (``market``).

ClickHouse stores are cached per (DSN, database) in the process: a client keeps a connection
pool, and a Dagster resource or a realtime app asks for the store many times.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from marketdata.errors import StoreError
from marketdata.store import MarketStore, ParquetStore

STORE_ENV = "ALPHAFORGE_STORE"
LAKE_ENV = "ALPHAFORGE_LAKE_URL"
CLICKHOUSE_URL_ENV = "ALPHAFORGE_CLICKHOUSE_URL"
CLICKHOUSE_DB_ENV = "ALPHAFORGE_CLICKHOUSE_DATABASE"
KINDS = ("parquet", "clickhouse")

_lock = threading.Lock()
_clickhouse: dict[tuple[str, str], MarketStore] = {}


@dataclass(frozen=True)
class StoreConfig:
    """Which backend, and where it lives."""

    kind: str = "parquet"
    lake: str = "data/lake"
    clickhouse_url: str = ""
    clickhouse_database: str = "market"

    @classmethod
    def from_env(cls, default_lake: str | Path, env: Mapping[str, str] | None = None) -> StoreConfig:
        """The configuration in ``env`` (default ``os.environ``); the lake defaults to ``default_lake``."""
        env = os.environ if env is None else env
        return cls(kind=(env.get(STORE_ENV) or "parquet").strip().lower(),
                   lake=env.get(LAKE_ENV) or str(default_lake),
                   clickhouse_url=env.get(CLICKHOUSE_URL_ENV, ""),
                   clickhouse_database=env.get(CLICKHOUSE_DB_ENV) or "market")

    def check(self) -> None:
        """Raise :class:`StoreError` naming the setting that is wrong."""
        if self.kind not in KINDS:
            raise StoreError(f"{STORE_ENV}={self.kind!r}: use one of {', '.join(KINDS)}")
        if self.kind == "clickhouse" and not self.clickhouse_url:
            raise StoreError(f"{STORE_ENV}=clickhouse needs {CLICKHOUSE_URL_ENV}")
        if self.kind == "parquet" and not self.lake:
            raise StoreError(f"{STORE_ENV}=parquet needs {LAKE_ENV} or a data dir")


def open_store(cfg: StoreConfig) -> MarketStore:
    """The store ``cfg`` describes (a cached one for ClickHouse)."""
    cfg.check()
    if cfg.kind == "parquet":
        return ParquetStore(cfg.lake)
    from marketdata.clickhouse_store import ClickHouseStore

    key = (cfg.clickhouse_url, cfg.clickhouse_database)
    with _lock:
        if key not in _clickhouse:
            _clickhouse[key] = ClickHouseStore(cfg.clickhouse_url, database=cfg.clickhouse_database)
        return _clickhouse[key]


def store_from_env(default_lake: str | Path) -> MarketStore:
    """The store the environment configures (see the module docstring)."""
    return open_store(StoreConfig.from_env(default_lake))


def describe(cfg: StoreConfig) -> str:
    """Where the data lives, without credentials (for logs and error messages)."""
    if cfg.kind == "parquet":
        return f"parquet lake at {cfg.lake}"
    url = cfg.clickhouse_url
    host = url.split("@", 1)[-1] if "@" in url else url.split("://", 1)[-1]
    return f"clickhouse {host} database {cfg.clickhouse_database}"
