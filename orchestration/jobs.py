"""Jobs and schedules: daily ingestion, weekly retraining, and their run tags.

Run tags do two jobs here. ``datafeed: dukascopy`` lets the run queue cap how many ingestion
runs hit the datafeed at once (``tag_concurrency_limits`` in deploy/dagster.yaml), backfills
included. ``dagster-k8s/config`` gives training runs a GPU node and resource limits when the
K8sRunLauncher / k8s_job_executor run them; other launchers ignore it.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from assets.features import features
from assets.market import bars_1m, ticks
from assets.models import model_assets
from assets.partitions import add_days

DATAFEED_TAGS = {"datafeed": "dukascopy"}

# A training pod: one GPU on a GPU node, tolerated on the tainted GPU pool, with hard limits.
TRAINING_K8S_CONFIG = {
    "container_config": {
        "resources": {
            "requests": {"cpu": "2", "memory": "8Gi", "nvidia.com/gpu": "1"},
            "limits": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"},
        },
    },
    "pod_spec_config": {
        "node_selector": {"alphaforge.io/pool": "gpu", "nvidia.com/gpu.present": "true"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    },
}
TRAINING_TAGS = {"dagster-k8s/config": TRAINING_K8S_CONFIG, "alphaforge/kind": "training"}

ingest_job = dg.define_asset_job(
    "ingest", selection=dg.AssetSelection.assets(ticks, bars_1m, features), tags=DATAFEED_TAGS,
    description="One day x symbol: ticks, 1-minute bars and features (backfills use this job).",
)
ingest_ticks_job = dg.define_asset_job(
    "ingest_ticks", selection=dg.AssetSelection.assets(ticks), tags=DATAFEED_TAGS,
    description="One day x symbol of ticks; bars and features follow by declarative automation.",
)
train_job = dg.define_asset_job(
    "train", selection=dg.AssetSelection.assets(*model_assets), tags=TRAINING_TAGS,
    description="Training set, one model per family, out-of-sample evaluation, promotion gate.",
)

# The previous UTC day for every symbol. Dukascopy's day ends at the 22:00 UTC rollover for
# swaps, but its files are per UTC hour: at 00:30 UTC the whole previous UTC day is published.
def ingest_requests(day: dt.date, symbol_names: list[str]) -> list[dg.RunRequest]:
    """One ``ingest_ticks`` run per symbol for ``day``; the run key makes a tick retry-safe."""
    return [dg.RunRequest(run_key=f"{day.isoformat()}|{s}", partition_key=f"{day.isoformat()}|{s}")
            for s in symbol_names]


@dg.schedule(job=ingest_ticks_job, name="ingest_schedule", cron_schedule="30 0 * * *",
             execution_timezone="UTC", description="Yesterday (UTC) for every symbol, at 00:30 UTC.")
def ingest_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """Adds yesterday to the day partitions, then requests it for every symbol of the job."""
    assert context.scheduled_execution_time is not None  # the daemon and tests always set it
    day = context.scheduled_execution_time.astimezone(dt.UTC).date() - dt.timedelta(days=1)
    add_days(context.instance, [day])
    assert context.repository_def is not None
    job_partitions = context.repository_def.get_job(ingest_ticks_job.name).partitions_def
    assert isinstance(job_partitions, dg.MultiPartitionsDefinition)
    symbol_names = job_partitions.get_partitions_def_for_dimension("symbol").get_partition_keys()
    return ingest_requests(day, list(symbol_names))


retrain_schedule = dg.ScheduleDefinition(
    name="retrain_weekly", job=train_job, cron_schedule="0 3 * * 6", execution_timezone="UTC",
    description="Saturday 03:00 UTC, after the week's last session has been ingested.",
)
