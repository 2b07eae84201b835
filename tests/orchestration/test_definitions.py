"""The one Definitions loads, its jobs are partitioned and tagged as intended, schedules resolve,
and the resources map per environment fails at load time on a bad setting."""

import datetime as dt
import os
import subprocess
import sys

import dagster as dg
import pytest

from orchestration.definitions import defs
from orchestration.errors import ConfigurationError
from orchestration.resources import build_resources
from tests.conftest import REPO

PRODUCTION_ENV = {"ALPHAFORGE_DATA_DIR": "/data", "MLFLOW_TRACKING_URI": "http://mlflow:5000",
                  "ALPHAFORGE_DUKASCOPY_URL": "https://datafeed.dukascopy.com/datafeed",
                  "ALPHAFORGE_CLICKHOUSE_URL": "http://default:pw@clickhouse:8123/market"}


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_job_def("ingest").partitions_def is not None
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"ticks", "bars_1m", "features", "training_set", "signal_model_logreg", "model_evaluation",
            "promotion"} <= keys
    assert {"bar_coverage", "daily_bars_summary", "backtest_trade_stats", "strategy_daily_pnl"} <= keys
    # dbt models hang off the Python assets, and each dbt test is an asset check
    assert dg.AssetKey("bars_1m") in graph.get(dg.AssetKey("bar_coverage")).parent_keys
    assert any(k.name.startswith("unique_") for k in graph.asset_check_keys)


def test_daily_schedule_requests_yesterday_for_every_symbol():
    schedule = defs.resolve_schedule_def("ingest_schedule")
    with dg.instance_for_test() as instance:
        ctx = dg.build_schedule_context(
            instance=instance, repository_def=defs.get_repository_def(),
            scheduled_execution_time=dt.datetime(2019, 2, 6, 0, 30, tzinfo=dt.UTC))
        requests = schedule.evaluate_tick(ctx).run_requests
        assert {r.partition_key for r in requests} == {"2019-02-05|EURUSD", "2019-02-05|GBPJPY"}
        assert instance.get_dynamic_partitions("days") == ["2019-02-05"]  # the day became a partition
    assert schedule.cron_schedule == "30 0 * * *"  # after the whole UTC day (and 22:00 rollover)


def test_weekly_retraining_and_run_tags():
    retrain = defs.resolve_schedule_def("retrain_weekly")
    assert retrain.cron_schedule == "0 3 * * 6" and retrain.job_name == "train"
    # the run queue limits datafeed runs by this tag; backfills of `ingest` carry it
    assert defs.resolve_job_def("ingest").tags["datafeed"] == "dukascopy"
    k8s = defs.resolve_job_def("train").tags["dagster-k8s/config"]
    k8s = k8s if isinstance(k8s, dict) else __import__("json").loads(k8s)
    assert k8s["container_config"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert k8s["pod_spec_config"]["node_selector"]["alphaforge.io/pool"] == "gpu"


def test_production_resources_are_env_vars(monkeypatch):
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    res = build_resources("production")
    assert isinstance(res["mlflow_server"].tracking_uri, dg.EnvVar)
    assert res["market"].dukascopy_url.env_var_name == "ALPHAFORGE_DUKASCOPY_URL"  # not the value
    # production keeps market data, features and backtest results in ClickHouse, dbt too
    assert res["market"].backend == "clickhouse"
    assert res["market"].clickhouse_url.env_var_name == "ALPHAFORGE_CLICKHOUSE_URL"
    assert res["dbt"].target == "clickhouse"
    local = build_resources("local")
    assert local["mlflow_server"].tracking_uri == "http://mlflow:5000"
    assert local["market"].backend == "parquet" and local["dbt"].target == "dev"


def test_store_is_chosen_by_configuration(monkeypatch, tmp_path):
    monkeypatch.setenv("ALPHAFORGE_STORE", "clickhouse")
    monkeypatch.setenv("ALPHAFORGE_CLICKHOUSE_URL", f"chdb://{tmp_path / 'ch'}")
    market = build_resources("local")["market"]
    assert type(market.store()).__name__ == "ClickHouseStore"
    monkeypatch.setenv("ALPHAFORGE_STORE", "parquet")
    monkeypatch.setenv("ALPHAFORGE_LAKE_URL", f"file://{tmp_path / 'lake'}")
    store = build_resources("local")["market"].store()
    assert type(store).__name__ == "ParquetStore" and str(store.root) == str(tmp_path / "lake")


@pytest.mark.parametrize("setting", sorted(PRODUCTION_ENV))
def test_production_names_a_missing_variable(monkeypatch, setting):
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(setting)
    with pytest.raises(ConfigurationError, match=setting):
        build_resources("production")


@pytest.mark.parametrize(("setting", "value"), [
    ("ALPHAFORGE_DUKASCOPY_URL", "datafeed.dukascopy.com/datafeed"),  # no scheme
    ("ALPHAFORGE_DUKASCOPY_URL", "http://"),  # no host
    ("MLFLOW_TRACKING_URI", "mlflow:5000"),
    ("ALPHAFORGE_SOURCE", "bloomberg"),
    ("ALPHAFORGE_ENV", "staging"),
    ("ALPHAFORGE_STORE", "sqlite"),
    ("ALPHAFORGE_STORE", "clickhouse"),  # without ALPHAFORGE_CLICKHOUSE_URL
    ("ALPHAFORGE_EXECUTOR", "kubernetes"),  # k8s or multiprocess
])
def test_bad_settings_are_named(monkeypatch, setting, value):
    monkeypatch.setenv(setting, value)
    with pytest.raises(ConfigurationError, match=setting):
        build_resources()


def test_misconfigured_production_fails_when_definitions_load(tmp_path):
    """The real load path (what `dagster dev` and the code server do) stops with the name."""
    env = {**os.environ, **PRODUCTION_ENV, "ALPHAFORGE_ENV": "production",
           "ALPHAFORGE_DATA_DIR": str(tmp_path)}
    env.pop("MLFLOW_TRACKING_URI")
    proc = subprocess.run([sys.executable, "-c", "import orchestration.definitions"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "ConfigurationError: MLFLOW_TRACKING_URI: not set" in proc.stderr
