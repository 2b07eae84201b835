"""Retraining when new data lands: a sensor over the features asset's materialisations."""

from __future__ import annotations

import json
import os

import dagster as dg

from orchestration.jobs import train_job

FEATURES = dg.AssetKey("features")


def min_new_days() -> int:
    """New feature days (any symbol) that trigger a retrain (ALPHAFORGE_RETRAIN_MIN_NEW_DAYS)."""
    return int(os.environ.get("ALPHAFORGE_RETRAIN_MIN_NEW_DAYS", "1"))


@dg.sensor(job=train_job, minimum_interval_seconds=600, default_status=dg.DefaultSensorStatus.STOPPED)
def retrain_on_new_features(context: dg.SensorEvaluationContext):
    """Request the train job once ``min_new_days`` new days of features have been materialised.

    The cursor keeps the event-log position and the days seen since the last request, so a
    restart of the daemon neither loses nor double-counts them.
    """
    state = json.loads(context.cursor) if context.cursor else {"events": None, "pending": []}
    result = context.instance.fetch_materializations(FEATURES, limit=1000, cursor=state["events"],
                                                     ascending=True)
    pending = set(state["pending"])
    for record in result.records:
        key = record.asset_materialization.partition if record.asset_materialization else None
        if key:
            pending.add(str(key).split("|")[0])
    state["events"] = result.cursor if result.records else state["events"]
    if len(pending) < min_new_days():
        state["pending"] = sorted(pending)
        context.update_cursor(json.dumps(state))
        yield dg.SkipReason(f"{len(pending)} new feature day(s); waiting for {min_new_days()}")
        return
    state["pending"] = []
    context.update_cursor(json.dumps(state))
    yield dg.RunRequest(run_key=f"retrain-{max(pending)}-{state['events']}",
                        tags={"alphaforge/trigger": "new_features",
                              "alphaforge/days": ",".join(sorted(pending))})
