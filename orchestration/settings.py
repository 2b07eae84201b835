"""Environment-driven settings for the batch side; production swaps values, never code.

Every reader here is a plain function of ``os.environ`` so tests can set variables and call it.
``validate`` checks the variables an environment needs at definition load time, so a typo fails
``dagster dev`` / the code server immediately with the variable's name, not a run hours later.
A caller that chooses its own values (the CLI) builds a :class:`BatchSettings` and passes it to
``orchestration.definitions.build_defs`` instead of writing the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from assets.partitions import configured_symbols
from assets.resources import StoreConfig, env_store_config, store_problem
from orchestration.errors import ConfigurationError

ENVIRONMENTS = ("local", "production")
EXECUTORS = ("multiprocess", "k8s")

# Variables production reads through dg.EnvVar; each must be set before the code server starts.
PRODUCTION_REQUIRED = {
    "ALPHAFORGE_DATA_DIR": "a pod's scratch folder (datafeed cache), e.g. /scratch",
    "ALPHAFORGE_CLICKHOUSE_URL": "the ClickHouse store, e.g. http://user:pw@clickhouse:8123/market",
    "ALPHAFORGE_DUKASCOPY_URL": "the .bi5 datafeed, e.g. https://datafeed.dukascopy.com/datafeed",
    "MLFLOW_TRACKING_URI": "the MLflow server, e.g. http://mlflow:5000",
}
_URL_SCHEMES = {
    "ALPHAFORGE_DUKASCOPY_URL": {"http", "https"},
    "MLFLOW_TRACKING_URI": {"http", "https", "sqlite", "postgresql", "postgresql+psycopg2", "file",
                            "databricks"},
    "ALPHAFORGE_ALERT_WEBHOOK_URL": {"http", "https"},
    "ALPHAFORGE_CLICKHOUSE_URL": {"http", "https", "clickhouse", "chdb"},
}


def environment() -> str:
    """'local' (default) or 'production' (ALPHAFORGE_ENV): picks the resources map."""
    env = os.environ.get("ALPHAFORGE_ENV", "local").strip().lower() or "local"
    if env not in ENVIRONMENTS:
        raise ConfigurationError("ALPHAFORGE_ENV", f"unknown environment {env!r}",
                                 f"use one of {', '.join(ENVIRONMENTS)}")
    return env


def step_executor() -> str:
    """How a run executes its steps (ALPHAFORGE_EXECUTOR): 'multiprocess' (default: processes of
    the run's own pod or container) or 'k8s' (a Kubernetes pod per step, dagster-k8s's
    k8s_job_executor, as the Helm values set it; production only, whose steps hand outputs on
    through the store)."""
    return os.environ.get("ALPHAFORGE_EXECUTOR", "multiprocess").strip().lower() or "multiprocess"


def data_dir() -> Path:
    """Root for the lake, raw cache, MLflow store and Dagster home (ALPHAFORGE_DATA_DIR)."""
    return Path(os.environ.get("ALPHAFORGE_DATA_DIR", "data")).resolve()


def ops_dir() -> Path:
    """Where sensors record run failures and freshness alerts (JSON lines)."""
    return data_dir() / "ops"


def tracking_uri() -> str:
    """MLflow tracking URI (MLFLOW_TRACKING_URI), by default a sqlite file under the data dir."""
    return os.environ.get("MLFLOW_TRACKING_URI", f"sqlite:///{data_dir() / 'mlflow.db'}")


def source() -> str:
    """Tick source: 'dukascopy' (default), 'mt5' or 'synthetic' (ALPHAFORGE_SOURCE)."""
    return os.environ.get("ALPHAFORGE_SOURCE", "dukascopy")


def mt5_bridge() -> str:
    """host:port of the MT5 bridge for source 'mt5' (ALPHAFORGE_MT5_BRIDGE); empty on Windows."""
    return os.environ.get("ALPHAFORGE_MT5_BRIDGE", "")


def paper_service() -> tuple[str, str]:
    """The realtime service trading the @paper version and an admin key of it
    (ALPHAFORGE_PAPER_URL, default http://127.0.0.1:8000; ALPHAFORGE_PAPER_API_KEY)."""
    return (os.environ.get("ALPHAFORGE_PAPER_URL", "http://127.0.0.1:8000"),
            os.environ.get("ALPHAFORGE_PAPER_API_KEY", ""))


def mt5_server_tz() -> str:
    """The MT5 server's clock (ALPHAFORGE_MT5_SERVER_TZ): UTC, an IANA zone, or ny-close."""
    return os.environ.get("ALPHAFORGE_MT5_SERVER_TZ", "UTC")


def dukascopy_url() -> str:
    """Base URL of the .bi5 datafeed or a local mirror (ALPHAFORGE_DUKASCOPY_URL)."""
    return os.environ.get("ALPHAFORGE_DUKASCOPY_URL", "https://datafeed.dukascopy.com/datafeed")


def store_config() -> StoreConfig:
    """The tick/bar/feature store (ALPHAFORGE_STORE, ALPHAFORGE_LAKE_URL, ALPHAFORGE_CLICKHOUSE_URL)."""
    return env_store_config(data_dir() / "lake")


def dbt_target(env: str = "local") -> str:
    """dbt target (ALPHAFORGE_DBT_TARGET): 'dev' (DuckDB over the lake) or 'clickhouse', the
    default in production and wherever the store is ClickHouse."""
    on_clickhouse = env == "production" or store_config().kind == "clickhouse"
    return os.environ.get("ALPHAFORGE_DBT_TARGET") or ("clickhouse" if on_clickhouse else "dev")


def alert_webhook_url() -> str | None:
    """Optional URL that receives freshness alerts and run failures as JSON (ALPHAFORGE_ALERT_WEBHOOK_URL)."""
    return os.environ.get("ALPHAFORGE_ALERT_WEBHOOK_URL") or None


@dataclass(frozen=True)
class BatchSettings:
    """The settings definitions are built from: partition symbols and tick source (the days are
    the ingested ones, see assets.partitions)."""

    symbols: tuple[str, ...]
    source: str

    @classmethod
    def from_env(cls) -> BatchSettings:
        """ALPHAFORGE_SYMBOLS and ALPHAFORGE_SOURCE, as `dagster dev` does."""
        return cls(tuple(configured_symbols()), source())


def check_url(setting: str, value: str) -> None:
    """Raise ConfigurationError unless ``value`` is a URL with a scheme allowed for ``setting``."""
    parsed = urlparse(value)
    schemes = _URL_SCHEMES[setting]
    if parsed.scheme not in schemes:
        raise ConfigurationError(setting, f"{value!r} is not a URL with scheme {'/'.join(sorted(schemes))}")
    if parsed.scheme in {"http", "https"} and not parsed.hostname:
        raise ConfigurationError(setting, f"{value!r} has no host name")


def validate(env: str, tick_source: str | None = None) -> None:
    """Check every setting ``env`` reads; raise ConfigurationError naming the first bad one.

    ``tick_source`` is the caller's choice of source (default: ALPHAFORGE_SOURCE).
    """
    tick_source = tick_source or source()
    if step_executor() not in EXECUTORS:
        raise ConfigurationError("ALPHAFORGE_EXECUTOR", f"unknown executor {step_executor()!r}",
                                 f"use one of {', '.join(EXECUTORS)}")
    if step_executor() == "k8s" and env != "production":  # local steps pass outputs on a local disk
        raise ConfigurationError("ALPHAFORGE_EXECUTOR", "'k8s' needs ALPHAFORGE_ENV=production",
                                 "a pod per step reads what the last one wrote from the store")
    if env == "production":
        for name, what in PRODUCTION_REQUIRED.items():
            if not os.environ.get(name, "").strip():
                raise ConfigurationError(name, "not set", f"production needs {what}")
    check_url("ALPHAFORGE_DUKASCOPY_URL", dukascopy_url())
    check_url("MLFLOW_TRACKING_URI", tracking_uri())
    if alert_webhook_url():
        check_url("ALPHAFORGE_ALERT_WEBHOOK_URL", alert_webhook_url() or "")
    store = store_config()
    if env == "production" and store.kind != "clickhouse" and os.environ.get("ALPHAFORGE_STORE"):
        raise ConfigurationError("ALPHAFORGE_STORE", f"{store.kind!r} in production",
                                 "production keeps market data in ClickHouse: unset it or use 'clickhouse'")
    problem = store_problem(store)
    if problem is not None:
        raise ConfigurationError("ALPHAFORGE_STORE", problem)
    if store.clickhouse_url:
        check_url("ALPHAFORGE_CLICKHOUSE_URL", store.clickhouse_url)
    if tick_source not in {"dukascopy", "mt5", "synthetic"}:
        raise ConfigurationError("ALPHAFORGE_SOURCE", f"unknown source {tick_source!r}",
                                 "use 'dukascopy', 'mt5' or 'synthetic'")
