"""Resources: the market-data source and store, and MLflow. Each owns its own settings."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import dagster as dg
import httpx
from mlflow import MlflowClient

from marketdata.dukascopy import DukascopyClient
from marketdata.errors import StoreError
from marketdata.mt5_bridge import mt5_module
from marketdata.mt5_history import MT5HistorySource
from marketdata.sources import TickSource
from marketdata.store import MarketStore
from marketdata.stores import StoreConfig, open_store
from marketdata.synthetic import SyntheticSource
from ml.tracking import activate_experiment


class MarketDataResource(dg.ConfigurableResource):
    """Where ticks come from (the Dukascopy datafeed, an MT5 terminal, or the offline generator)
    and where data lives.

    ``backend`` picks the store: "parquet" (the lake at ``lake_url``, default data_dir/lake; a
    local path or an object-store URL) or "clickhouse" (``clickhouse_url``, database
    ``clickhouse_database``). ``data_dir`` only holds the raw datafeed cache, a scratch folder.
    """

    source: str = "dukascopy"  # or "mt5", "synthetic"
    dukascopy_url: str = "https://datafeed.dukascopy.com/datafeed"
    mt5_bridge: str = ""  # host:port of the MT5 bridge; empty: the MetaTrader5 module (Windows)
    mt5_server_tz: str = "UTC"  # the broker's server clock: UTC, an IANA zone, or ny-close
    data_dir: str = "data"
    backend: str = "parquet"  # or "clickhouse"
    lake_url: str = ""
    clickhouse_url: str = ""
    clickhouse_database: str = "market"
    timeout_s: float = 10.0
    max_workers: int = 4
    retries: int = 4

    def tick_source(self) -> TickSource:
        """The configured tick source; raw datafeed files are cached under data_dir/raw."""
        if self.source == "synthetic":
            return SyntheticSource()
        if self.source == "mt5":  # a day of ticks over a bridge takes longer than one datafeed hour
            mt5 = mt5_module(self.mt5_bridge, max(self.timeout_s, 60.0))
            return MT5HistorySource(mt5, self.mt5_server_tz)
        if self.source != "dukascopy":
            raise ValueError(f"unknown source {self.source!r}: use 'dukascopy', 'mt5' or 'synthetic'")
        return DukascopyClient(
            base_url=self.dukascopy_url, cache_dir=Path(self.data_dir) / "raw",
            timeout=self.timeout_s, max_workers=self.max_workers, retries=self.retries,
        )

    def store_config(self) -> StoreConfig:
        """The store these settings describe."""
        return StoreConfig(kind=self.backend, lake=self.lake_url or str(Path(self.data_dir) / "lake"),
                           clickhouse_url=self.clickhouse_url, clickhouse_database=self.clickhouse_database)

    def store(self) -> MarketStore:
        """The configured store: one public table API whichever backend holds the data."""
        return open_store(self.store_config())

    def reports_dir(self) -> Path:
        """Tearsheets (HTML and PNG) under data_dir/reports."""
        return Path(self.data_dir) / "reports"


class MLflowResource(dg.ConfigurableResource):
    """The MLflow tracking server / registry (a sqlite file under the data dir by default)."""

    tracking_uri: str = "sqlite:///data/mlflow.db"
    experiment: str = "alphaforge"
    registered_model: str = "alphaforge-signal"

    def activate(self) -> MlflowClient:
        """Point the mlflow module at this server and experiment; return a client."""
        return activate_experiment(self.tracking_uri, self.experiment)


class RealtimeResource(dg.ConfigurableResource):
    """The realtime service that trades the @paper version on the paper broker, asked for that
    version's round trips with an admin key. It owns its timeout and retries: a connection that
    fails, or a 502/503/504, is tried ``retries`` more times with a growing pause."""

    url: str = "http://127.0.0.1:8000"
    api_key: str = ""
    timeout_s: float = 10.0
    retries: int = 3

    def model_trades(self, version: str, since: dt.datetime) -> list[dict[str, object]]:
        """``GET /api/v1/models/{version}/trades?since=...``; raises :class:`dg.Failure` with the
        service's answer when it refuses (a bad key, an unknown route) or stays unreachable."""
        url = f"{self.url.rstrip('/')}/api/v1/models/{version}/trades"
        last = "no attempt"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(0.5 * 2 ** (attempt - 1), 8.0))
            try:
                r = httpx.get(url, params={"since": since.isoformat()}, headers={"X-API-Key": self.api_key},
                              timeout=self.timeout_s)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
                continue
            if r.status_code in (502, 503, 504):
                last = f"{r.status_code} {r.text[:200]}"
                continue
            if r.status_code != 200:
                raise dg.Failure(f"the paper service at {self.url} answered {r.status_code}: {r.text[:200]}")
            return list(r.json())
        raise dg.Failure(f"the paper service at {self.url} is unreachable after {self.retries + 1} "
                         f"tries: {last}")


def env_store_config(default_lake: Path) -> StoreConfig:
    """The store ``ALPHAFORGE_STORE``, ``ALPHAFORGE_LAKE_URL`` and ``ALPHAFORGE_CLICKHOUSE_*``
    describe (the Parquet lake at ``default_lake`` when unset)."""
    return StoreConfig.from_env(default_lake)


def store_problem(cfg: StoreConfig) -> str | None:
    """Why ``cfg`` cannot work, or None; for start-up validation."""
    try:
        cfg.check()
    except StoreError as exc:
        return str(exc)
    return None
