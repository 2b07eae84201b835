"""Environment-driven settings for the batch side; production swaps values, never code."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """Root for the lake, raw cache, MLflow store and Dagster home (ALPHAFORGE_DATA_DIR)."""
    return Path(os.environ.get("ALPHAFORGE_DATA_DIR", "data")).resolve()


def tracking_uri() -> str:
    """MLflow tracking URI (MLFLOW_TRACKING_URI), by default a sqlite file under the data dir."""
    return os.environ.get("MLFLOW_TRACKING_URI", f"sqlite:///{data_dir() / 'mlflow.db'}")


def source() -> str:
    """Tick source: 'dukascopy' (default) or 'synthetic' (ALPHAFORGE_SOURCE)."""
    return os.environ.get("ALPHAFORGE_SOURCE", "dukascopy")


def dukascopy_url() -> str:
    """Base URL of the .bi5 datafeed or a local mirror (ALPHAFORGE_DUKASCOPY_URL)."""
    return os.environ.get("ALPHAFORGE_DUKASCOPY_URL", "https://datafeed.dukascopy.com/datafeed")
