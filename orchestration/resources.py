"""Resources per environment: one map per deployment, chosen by ALPHAFORGE_ENV.

``local`` reads plain values (embedded defaults: a Parquet lake and a sqlite MLflow store under
the data dir; ALPHAFORGE_STORE=clickhouse switches the store). ``production`` uses ClickHouse for
market data, features and backtest results, and hands Dagster ``dg.EnvVar`` references, so the
UI shows variable names instead of values and the pods read their own secrets. Both are validated at load time
(:func:`orchestration.settings.validate`): ``EnvVar`` alone would only fail once a run starts.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource

from assets.brief import llm_resource_from_env
from assets.io import StoreIOManager
from assets.resources import MarketDataResource, MLflowResource, RealtimeResource
from orchestration import settings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt"
# The dbt next to this interpreter (a venv's bin/), so running .venv/bin/python needs no PATH change.
_VENV_DBT = Path(sys.executable).with_name("dbt")
DBT_EXECUTABLE = str(_VENV_DBT) if _VENV_DBT.exists() else "dbt"


def _dbt(target: str) -> DbtCliResource:
    return DbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR),
                          target=target, dbt_executable=DBT_EXECUTABLE)


def _paper_service() -> RealtimeResource:
    url, key = settings.paper_service()
    # the key as an EnvVar when set, so the UI shows its name, never its value
    return RealtimeResource(url=url, api_key=dg.EnvVar("ALPHAFORGE_PAPER_API_KEY") if key else "")


def _local(source: str) -> dict[str, Any]:
    store = settings.store_config()
    return {
        "market": MarketDataResource(source=source, dukascopy_url=settings.dukascopy_url(),
                                     mt5_bridge=settings.mt5_bridge(), mt5_server_tz=settings.mt5_server_tz(),
                                     data_dir=str(settings.data_dir()), backend=store.kind,
                                     lake_url=store.lake, clickhouse_url=store.clickhouse_url,
                                     clickhouse_database=store.clickhouse_database),
        "mlflow_server": MLflowResource(tracking_uri=settings.tracking_uri()),
        "paper_service": _paper_service(),
        "llm": llm_resource_from_env(),
        "dbt": _dbt("dev"),
    }


def _production(source: str) -> dict[str, Any]:
    # Market data, features, backtest results and the outputs steps pass on (the IO manager)
    # live in ClickHouse: no step writes a local file another step or run reads (data_dir is
    # only each pod's scratch cache of datafeed files).
    market = MarketDataResource(source=source,
                                dukascopy_url=dg.EnvVar("ALPHAFORGE_DUKASCOPY_URL"),
                                mt5_bridge=settings.mt5_bridge(), mt5_server_tz=settings.mt5_server_tz(),
                                data_dir=dg.EnvVar("ALPHAFORGE_DATA_DIR"), backend="clickhouse",
                                clickhouse_url=dg.EnvVar("ALPHAFORGE_CLICKHOUSE_URL"),
                                clickhouse_database=settings.store_config().clickhouse_database)
    return {
        "market": market,
        "io_manager": StoreIOManager(market=market),
        "mlflow_server": MLflowResource(tracking_uri=dg.EnvVar("MLFLOW_TRACKING_URI")),
        "paper_service": _paper_service(),
        "llm": llm_resource_from_env(),
        "dbt": _dbt(settings.dbt_target("production")),
    }


RESOURCES_BY_ENV = {"local": _local, "production": _production}


def build_resources(env: str | None = None, source: str | None = None) -> dict[str, Any]:
    """The resources of ``env`` (default: ALPHAFORGE_ENV), after validating its settings.

    ``source`` is the tick source (default: ALPHAFORGE_SOURCE). Raises
    :class:`orchestration.errors.ConfigurationError` naming the first bad variable.
    """
    env = env or settings.environment()
    source = source or settings.source()
    settings.validate(env, source)
    return RESOURCES_BY_ENV[env](source)
