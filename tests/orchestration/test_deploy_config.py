"""Production configs load and validate against Dagster's own config schemas; a materialisation
against PostgreSQL on 127.0.0.1 writes its events there."""

import os
import uuid
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
import yaml
from dagster._config import process_config, resolve_to_config_type
from dagster._core.instance.config import dagster_instance_config
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster_k8s import K8sRunLauncher, k8s_job_executor
from dagster_postgres import PostgresEventLogStorage

from orchestration.definitions import build_defs
from orchestration.errors import ConfigurationError
from orchestration.jobs import TRAINING_K8S_CONFIG
from tests.conftest import REPO
from tests.orchestration.test_definitions import PRODUCTION_ENV

DEPLOY = REPO / "deploy"
PG_ENV = {"DAGSTER_PG_USER": "dagster", "DAGSTER_PG_PASSWORD": "secret", "DAGSTER_PG_HOST": "postgres",
          "DAGSTER_PG_DB": "dagster", "ALPHAFORGE_IMAGE": "registry.example.com/alphaforge:0.1.0"}


def _validate(config_class, config: dict) -> dict:
    result = process_config(resolve_to_config_type(config_class.config_type()), config)
    assert result.success, [e.message for e in result.errors]
    return result.value


@pytest.fixture
def instance_config(monkeypatch) -> dict:
    for k, v in PG_ENV.items():
        monkeypatch.setenv(k, v)
    config, _ = dagster_instance_config(str(DEPLOY))  # validates every top-level key
    return config


def test_dagster_yaml_validates(instance_config):
    pg = instance_config["storage"]["postgres"]["postgres_db"]
    assert pg["scheme"] == "postgresql+psycopg2"
    assert instance_config["run_launcher"]["class"] == "K8sRunLauncher"
    coord = _validate(QueuedRunCoordinator, instance_config["run_coordinator"]["config"])
    limits = {(t["key"], t.get("value")): t["limit"] for t in coord["tag_concurrency_limits"]}
    assert limits[("datafeed", "dukascopy")] == 4
    launcher = _validate(K8sRunLauncher, instance_config["run_launcher"]["config"])
    assert launcher["instance_config_map"] == "dagster-instance"


def test_dagster_yaml_rejects_a_misspelt_key(tmp_path, instance_config):
    bad = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    bad["run_coordinator"]["config"]["tag_concurency_limits"] = []  # typo
    with pytest.raises(Exception, match="tag_concurency_limits"):
        _validate(QueuedRunCoordinator, bad["run_coordinator"]["config"])


def test_k8s_executor_run_config_validates():
    execution = yaml.safe_load((DEPLOY / "k8s_executor.yaml").read_text())["execution"]["config"]
    value = process_config(k8s_job_executor.config_schema.config_type, execution)
    assert value.success, [e.message for e in value.errors]
    step = execution["step_k8s_config"]
    assert step["pod_spec_config"]["node_selector"] == TRAINING_K8S_CONFIG["pod_spec_config"]["node_selector"]
    assert step["container_config"]["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_k8s_executor_run_config_fits_the_train_job(monkeypatch):
    """With ALPHAFORGE_EXECUTOR=k8s (the Helm values) every job runs a pod per step, and the train
    job takes deploy/k8s_executor.yaml as it is; the default executor refuses that config."""
    run_config = yaml.safe_load((DEPLOY / "k8s_executor.yaml").read_text())
    assert build_defs().resolve_job_def("train").executor_def is not k8s_job_executor
    with pytest.raises(dg.DagsterInvalidConfigError):
        dg.validate_run_config(build_defs().resolve_job_def("train"), run_config)
    monkeypatch.setenv("ALPHAFORGE_EXECUTOR", "k8s")
    with pytest.raises(ConfigurationError, match="ALPHAFORGE_EXECUTOR"):
        build_defs()  # outside production, steps would hand outputs on through a local disk
    for name, value in {**PRODUCTION_ENV, "ALPHAFORGE_ENV": "production"}.items():
        monkeypatch.setenv(name, value)
    train = build_defs().resolve_job_def("train")
    assert train.executor_def is k8s_job_executor
    assert build_defs().resolve_job_def("ingest").executor_def is k8s_job_executor
    dg.validate_run_config(train, run_config)


def test_helm_values_agree_with_dagster_yaml(instance_config):
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    assert values["postgresql"]["postgresqlScheme"] == "postgresql+psycopg2"
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    helm_limits = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"][
        "tagConcurrencyLimits"]
    assert helm_limits == instance_config["run_coordinator"]["config"]["tag_concurrency_limits"]
    (code,) = values["dagster-user-deployments"]["deployments"]
    assert code["dagsterApiGrpcArgs"] == ["-m", "orchestration.definitions", "-a", "defs"]
    assert {"name": "ALPHAFORGE_ENV", "value": "production"} in code["env"]
    assert "postgresqlPassword" not in values["postgresql"]  # from the secret, never a value


@pytest.fixture
def throwaway_pg(postgres_dsn):
    """A fresh database on the local PostgreSQL, dropped afterwards."""
    name = f"alphaforge_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(postgres_dsn.replace("postgresql+psycopg2", "postgresql"))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.get_dsn_parameters(), name
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@dg.asset(partitions_def=dg.StaticPartitionsDefinition(["EURUSD"]))
def pg_probe() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"dagster/row_count": 3})


def test_materialisation_lands_in_postgres(tmp_path: Path, throwaway_pg):
    params, db = throwaway_pg
    config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    pg = config["storage"]["postgres"]["postgres_db"]
    pg.update(username=params.get("user", "postgres"), password=os.environ.get("PGPASSWORD", ""),
              hostname=params.get("host", "127.0.0.1"), db_name=db, port=int(params.get("port", 5432)))
    home = tmp_path / "dagster_home"
    home.mkdir()
    # the production storage block as-is (scheme included), with the local run launcher
    (home / "dagster.yaml").write_text(yaml.safe_dump({"storage": config["storage"],
                                                       "telemetry": {"enabled": False}}))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        result = dg.materialize([pg_probe], instance=instance, partition_key="EURUSD")
        assert result.success
        event = instance.get_latest_materialization_event(dg.AssetKey("pg_probe"))
        assert event.run_id == result.run_id
    conn = psycopg2.connect(dbname=db, **{k: v for k, v in params.items() if k in ("host", "port", "user")})
    with conn, conn.cursor() as cur:
        cur.execute("select count(*) from event_logs where run_id = %s and asset_key is not null",
                    (result.run_id,))
        assert cur.fetchone()[0] >= 1
        cur.execute("select count(*) from runs where run_id = %s", (result.run_id,))
        assert cur.fetchone()[0] == 1
    conn.close()
