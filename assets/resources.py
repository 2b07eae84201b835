"""Resources: the market-data source and store, and MLflow. Each owns its own settings."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from mlflow import MlflowClient

from marketdata.dukascopy import DukascopyClient
from marketdata.sources import TickSource
from marketdata.synthetic import SyntheticSource
from ml.dataset import FeatureStore
from ml.tracking import activate_experiment


class MarketDataResource(dg.ConfigurableResource):
    """Where ticks come from (the Dukascopy datafeed or the offline generator) and where data lives."""

    source: str = "dukascopy"  # or "synthetic"
    dukascopy_url: str = "https://datafeed.dukascopy.com/datafeed"
    data_dir: str = "data"
    timeout_s: float = 10.0
    max_workers: int = 4
    retries: int = 4

    def tick_source(self) -> TickSource:
        """The configured tick source; raw datafeed files are cached under data_dir/raw."""
        if self.source == "synthetic":
            return SyntheticSource()
        if self.source != "dukascopy":
            raise ValueError(f"unknown source {self.source!r}: use 'dukascopy' or 'synthetic'")
        return DukascopyClient(
            base_url=self.dukascopy_url, cache_dir=Path(self.data_dir) / "raw",
            timeout=self.timeout_s, max_workers=self.max_workers, retries=self.retries,
        )

    def store(self) -> FeatureStore:
        """The Parquet lake under data_dir/lake."""
        return FeatureStore(Path(self.data_dir) / "lake")


class MLflowResource(dg.ConfigurableResource):
    """The MLflow tracking server / registry (a sqlite file under the data dir by default)."""

    tracking_uri: str = "sqlite:///data/mlflow.db"
    experiment: str = "alphaforge"
    registered_model: str = "alphaforge-signal"

    def activate(self) -> MlflowClient:
        """Point the mlflow module at this server and experiment; return a client."""
        return activate_experiment(self.tracking_uri, self.experiment)
