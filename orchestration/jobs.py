"""Jobs and schedules."""

from __future__ import annotations

import dagster as dg

from assets.features import features
from assets.market import bars_1m, ticks
from assets.models import backtest, promotion, signal_model

ingest_job = dg.define_asset_job(
    "ingest", selection=dg.AssetSelection.assets(ticks, bars_1m, features),
    description="One day x symbol: ticks, 1-minute bars and features.",
)
train_job = dg.define_asset_job(
    "train", selection=dg.AssetSelection.assets(signal_model, backtest, promotion),
    description="Train, register, backtest out of sample and promote through the gate.",
)

# The previous UTC day for every symbol, once the 22:00 UTC rollover has long passed.
ingest_schedule = dg.build_schedule_from_partitioned_job(ingest_job, hour_of_day=0, minute_of_hour=30)
retrain_schedule = dg.ScheduleDefinition(
    name="retrain_weekly", job=train_job, cron_schedule="0 3 * * 6", execution_timezone="UTC"
)
