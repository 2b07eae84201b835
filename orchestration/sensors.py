"""Sensors: new model versions, freshness alerts on ticks and bars, and run failures.

Each decision lives in a plain function (``new_versions``, ``stale_assets``) that tests call
directly; the sensors add cursors, run requests and records.
"""


import datetime as dt
import json
from collections.abc import Iterable, Mapping

import dagster as dg

from assets.resources import MLflowResource
from orchestration import alerts
from orchestration.automation import FRESHNESS, fail_window
from orchestration.evaluation import evaluate_model_version

_IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED,
              dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def new_versions(versions: Iterable[object], after: int) -> list[tuple[int, bool]]:
    """(version, needs_evaluation) for every version above ``after``, oldest first.

    A version that already carries the gate's ``gate.passed`` tag went through promotion (the
    ``train`` job evaluates what it registers) and needs no second evaluation.
    """
    out = []
    for mv in versions:
        number = int(mv.version)  # type: ignore[attr-defined]
        if number > after:
            out.append((number, "gate.passed" not in (mv.tags or {})))  # type: ignore[attr-defined]
    return sorted(out)


@dg.sensor(job=evaluate_model_version, minimum_interval_seconds=120,
           description="Evaluate and promote each model version registered in MLflow.")
def model_version_sensor(context: dg.SensorEvaluationContext, mlflow_server: MLflowResource):
    """Polls the MLflow registry; the cursor is the highest version number already handled."""
    training = context.instance.get_runs(
        filters=dg.RunsFilter(job_name="train", statuses=_IN_FLIGHT), limit=1)
    if training:  # its own version gets evaluated by its own promotion step
        return dg.SkipReason(f"train run {training[0].run_id} in flight; waiting for it")
    client = mlflow_server.activate()
    name = mlflow_server.registered_model
    after = int(context.cursor or 0)
    found = new_versions(client.search_model_versions(f"name='{name}'"), after)
    if not found:
        return dg.SkipReason(f"no version of {name} above {after}")
    requests = [
        dg.RunRequest(run_key=f"{name}:v{number}", tags={"alphaforge/model_version": str(number)},
                      run_config={"ops": {"evaluate_version": {"config": {"version": str(number)}}}})
        for number, needed in found if needed
    ]
    return dg.SensorResult(run_requests=requests, cursor=str(found[-1][0]))


def stale_assets(latest: Mapping[str, float | None], windows: Mapping[str, dt.timedelta],
                 now: dt.datetime) -> dict[str, str]:
    """Asset name -> reason, for each asset whose last materialisation is older than its window."""
    stale = {}
    for name, window in windows.items():
        ts = latest.get(name)
        if ts is None:
            stale[name] = "never materialised"
        elif now - dt.datetime.fromtimestamp(ts, dt.UTC) > window:
            age = now - dt.datetime.fromtimestamp(ts, dt.UTC)
            stale[name] = f"last materialised {age.total_seconds() / 3600:.1f} h ago (limit {window})"
    return stale


@dg.sensor(minimum_interval_seconds=600, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Alert when ticks or bars_1m miss their freshness policy's fail window.")
def freshness_alert_sensor(context: dg.SensorEvaluationContext):
    """Records one alert per asset when it turns stale; the cursor remembers which are stale."""
    windows = {name: fail_window(policy) for name, policy in FRESHNESS.items()}
    latest = {}
    for name in windows:
        event = context.instance.get_latest_materialization_event(dg.AssetKey(name))
        latest[name] = event.timestamp if event else None
    stale = stale_assets(latest, windows, dt.datetime.now(dt.UTC))
    already = set(json.loads(context.cursor)) if context.cursor else set()
    for name in sorted(set(stale) - already):
        alerts.record(alerts.FRESHNESS_ALERTS, {"asset": name, "reason": stale[name]})
    context.update_cursor(json.dumps(sorted(stale)))
    if not stale:
        return dg.SkipReason("ticks and bars_1m are fresh")
    return dg.SkipReason(f"stale: {', '.join(f'{k} ({v})' for k, v in sorted(stale.items()))}")


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING, monitor_all_code_locations=True,
                       description="Record every failed run under <data dir>/ops/run_failures.jsonl.")
def run_failure_recorder(context: dg.RunFailureSensorContext) -> None:
    """One JSON line per failed run: job, run id, partition, failing steps and message."""
    run = context.dagster_run
    steps = [e.step_key for e in context.get_step_failure_events()]
    alerts.record(alerts.RUN_FAILURES, {
        "run_id": run.run_id, "job": run.job_name, "partition": run.tags.get("dagster/partition"),
        "backfill": run.tags.get("dagster/backfill"), "steps": steps,
        "message": context.failure_event.message,
    })
