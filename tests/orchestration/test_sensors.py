"""Sensors: new model versions start evaluation, stale ticks/bars raise one alert, failed runs
are recorded. Real MLflow (sqlite) and real Dagster instances, no mocks."""

import datetime as dt
import shutil

import dagster as dg
import mlflow
import pytest
from dagster._core.test_utils import create_run_for_test
from mlflow import MlflowClient

from assets.resources import MLflowResource
from orchestration import alerts
from orchestration.definitions import defs
from orchestration.evaluation import evaluate_model_version
from orchestration.sensors import (
    freshness_alert_sensor,
    model_version_sensor,
    run_failure_recorder,
    stale_assets,
)
from tests.support.pipeline import LENIENT_GATE, resources

NAME = "alphaforge-signal"


def _registry(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    client.create_registered_model(NAME)
    return uri, client


def _new_version(client, tmp_path):
    return client.create_model_version(NAME, source=(tmp_path / "model").as_uri(), run_id=None).version


def test_model_sensor_requests_evaluation_of_unevaluated_versions(tmp_path):
    uri, client = _registry(tmp_path)
    v1, v2 = _new_version(client, tmp_path), _new_version(client, tmp_path)
    client.set_model_version_tag(NAME, v1, "gate.passed", "false")  # train job already evaluated it
    instance = dg.DagsterInstance.ephemeral()
    ctx = dg.build_sensor_context(instance=instance,
                                  resources={"mlflow_server": MLflowResource(tracking_uri=uri)})
    result = model_version_sensor(ctx)
    assert [r.run_key for r in result.run_requests] == [f"{NAME}:v{v2}"]
    assert result.run_requests[0].run_config["ops"]["evaluate_version"]["config"]["version"] == str(v2)
    assert result.cursor == str(v2)

    ctx = dg.build_sensor_context(instance=instance, cursor=result.cursor,
                                  resources={"mlflow_server": MLflowResource(tracking_uri=uri)})
    assert isinstance(model_version_sensor(ctx), dg.SkipReason)  # nothing new since the cursor


def test_model_sensor_waits_for_an_in_flight_training_run(tmp_path):
    uri, client = _registry(tmp_path)
    _new_version(client, tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    create_run_for_test(instance, job_name="train", status=dg.DagsterRunStatus.STARTED)
    ctx = dg.build_sensor_context(instance=instance,
                                  resources={"mlflow_server": MLflowResource(tracking_uri=uri)})
    skip = model_version_sensor(ctx)
    assert isinstance(skip, dg.SkipReason) and "in flight" in skip.skip_message


def test_sensor_started_evaluation_promotes_the_new_version(tmp_path, pipeline_dir, datafeed_url):
    """A version registered outside the train job goes through the gate via the sensor's run."""
    shutil.copy(pipeline_dir / "mlflow.db", tmp_path / "mlflow.db")  # keep the shared fixture intact
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    # The registry resolves a models:/m-... source through the global tracking URI.
    mlflow.set_tracking_uri(uri)
    latest = max(client.search_model_versions(f"name='{NAME}'"), key=lambda m: int(m.version))
    window_tags = {k: v for k, v in latest.tags.items() if k.startswith("window.")}
    new = client.create_model_version(NAME, source=latest.source, run_id=latest.run_id,
                                      tags=window_tags).version
    instance = dg.DagsterInstance.ephemeral()
    res = {**resources(pipeline_dir, datafeed_url), "mlflow_server": MLflowResource(tracking_uri=uri)}
    ctx = dg.build_sensor_context(instance=instance, resources={"mlflow_server": res["mlflow_server"]},
                                  cursor=str(latest.version))
    (request,) = model_version_sensor(ctx).run_requests
    run_config = {"ops": {**request.run_config["ops"], "promote_version": {"config": LENIENT_GATE}}}
    job = dg.Definitions(jobs=[evaluate_model_version], resources=res)
    result = job.resolve_job_def("evaluate_model_version").execute_in_process(
        run_config=run_config, instance=instance)
    assert result.success and result.output_for_node("promote_version") is True
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == str(new)
    assert client.get_model_version(NAME, new).tags["gate.passed"] == "true"


@pytest.mark.parametrize("window", ["inside_training", "no_window_tags"])
def test_a_window_overlapping_training_is_refused_and_nothing_promoted(tmp_path, pipeline_dir, datafeed_url,
                                                                       window):
    """``alphaforge promote N --oos-start DAY`` and the sensor's run cannot judge a version on
    its own training data, nor a version that does not say where its training data lies."""
    shutil.copy(pipeline_dir / "mlflow.db", tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    mlflow.set_tracking_uri(uri)
    latest = max(client.search_model_versions(f"name='{NAME}'"), key=lambda m: int(m.version))
    tags = {k: v for k, v in latest.tags.items() if k.startswith("window.")}
    if window == "no_window_tags":
        tags = {}
    new = client.create_model_version(NAME, source=latest.source, run_id=latest.run_id, tags=tags).version
    champion_before = client.get_model_version_by_alias(NAME, "champion").version
    oos_start = latest.tags["window.train_start"] if window == "inside_training" else ""
    res = {**resources(pipeline_dir, datafeed_url), "mlflow_server": MLflowResource(tracking_uri=uri)}
    run_config = {"ops": {"evaluate_version": {"config": {"version": str(new), "oos_start": oos_start}},
                          "promote_version": {"config": LENIENT_GATE}}}
    job = dg.Definitions(jobs=[evaluate_model_version], resources=res)
    result = job.resolve_job_def("evaluate_model_version").execute_in_process(
        run_config=run_config, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    failure = result.failure_data_for_node("evaluate_version").error.message
    assert ("overlaps the training" if window == "inside_training" else "no training window") in failure
    assert client.get_model_version_by_alias(NAME, "champion").version == champion_before
    assert "gate.passed" not in client.get_model_version(NAME, new).tags


def test_stale_assets_reads_the_windows():
    now = dt.datetime(2024, 3, 6, 12, tzinfo=dt.UTC)
    window = dt.timedelta(hours=30)
    fresh, old = (now - dt.timedelta(hours=2)).timestamp(), (now - dt.timedelta(hours=31)).timestamp()
    stale = stale_assets({"ticks": fresh, "bars_1m": old, "x": None},
                         {"ticks": window, "bars_1m": window, "x": window}, now)
    assert set(stale) == {"bars_1m", "x"}
    assert "31.0 h ago" in stale["bars_1m"] and stale["x"] == "never materialised"


def test_freshness_sensor_alerts_once_then_clears(tmp_path, monkeypatch):
    monkeypatch.setenv("ALPHAFORGE_DATA_DIR", str(tmp_path))
    instance = dg.DagsterInstance.ephemeral()
    first = freshness_alert_sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    assert {a["asset"] for a in alerts.read(alerts.FRESHNESS_ALERTS)} == {"ticks", "bars_1m"}
    second = freshness_alert_sensor.evaluate_tick(
        dg.build_sensor_context(instance=instance, cursor=first.cursor))
    assert len(alerts.read(alerts.FRESHNESS_ALERTS)) == 2  # still stale: no repeat alert
    for name in ("ticks", "bars_1m"):
        instance.report_runless_asset_event(dg.AssetMaterialization(name, partition="2024-03-05|EURUSD"))
    third = freshness_alert_sensor.evaluate_tick(
        dg.build_sensor_context(instance=instance, cursor=second.cursor))
    assert third.cursor == "[]" and "fresh" in third.skip_message


@dg.op
def _explode() -> None:
    raise ValueError("datafeed returned garbage")


@dg.job
def doomed() -> None:
    _explode()


def test_run_failure_sensor_records_the_failure(tmp_path, monkeypatch):
    monkeypatch.setenv("ALPHAFORGE_DATA_DIR", str(tmp_path))
    instance = dg.DagsterInstance.ephemeral()
    result = doomed.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    ctx = dg.build_run_status_sensor_context(
        sensor_name="run_failure_recorder", dagster_event=failure, dagster_instance=instance,
        dagster_run=result.dagster_run).for_run_failure()
    run_failure_recorder(ctx)
    (entry,) = alerts.read(alerts.RUN_FAILURES)
    assert entry["job"] == "doomed" and entry["run_id"] == result.run_id
    assert entry["steps"] == ["_explode"]
    assert (tmp_path / "ops" / "run_failures.jsonl").exists()


@pytest.mark.parametrize("name", ["model_version_sensor", "freshness_alert_sensor",
                                  "run_failure_recorder", "automation"])
def test_sensors_are_in_the_definitions(name):
    assert defs.resolve_sensor_def(name).name == name
