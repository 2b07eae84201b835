"""The one Definitions of alphaforge: assets, resources, jobs and schedules."""

from __future__ import annotations

import dagster as dg

from assets.features import features
from assets.market import bars_1m, ticks
from assets.models import backtest, promotion, signal_model
from assets.resources import MarketDataResource, MLflowResource
from orchestration import settings
from orchestration.jobs import ingest_job, ingest_schedule, retrain_schedule, train_job


def build_resources() -> dict[str, object]:
    """Resources from the environment: embedded defaults unless overridden."""
    return {
        "market": MarketDataResource(
            source=settings.source(), dukascopy_url=settings.dukascopy_url(),
            data_dir=str(settings.data_dir()),
        ),
        "mlflow_server": MLflowResource(tracking_uri=settings.tracking_uri()),
    }


defs = dg.Definitions(
    assets=[ticks, bars_1m, features, signal_model, backtest, promotion],
    jobs=[ingest_job, train_job],
    schedules=[ingest_schedule, retrain_schedule],
    resources=build_resources(),
)
