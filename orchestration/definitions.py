"""The one Definitions of alphaforge: assets, checks, resources, jobs, schedules and sensors.

``ALPHAFORGE_ENV`` (local | production) picks the resources map in orchestration.resources;
its settings are validated here, at load time, so a missing variable or a bad URL stops the
code server with the variable's name instead of failing the first run.
"""

from __future__ import annotations

import dagster as dg

from assets.brief import market_brief
from assets.features import features
from assets.market import bars_1m, ticks
from assets.models import model_assets
from assets.optimization import strategy_optimization
from orchestration.analytics import analytics_dbt_assets, analytics_job
from orchestration.automation import automate
from orchestration.evaluation import evaluate_model_version
from orchestration.jobs import (
    ingest_job,
    ingest_schedule,
    ingest_ticks_job,
    retrain_schedule,
    train_job,
)
from orchestration.model_sensors import retrain_on_new_features
from orchestration.resources import build_resources
from orchestration.sensors import freshness_alert_sensor, model_version_sensor, run_failure_recorder

__all__ = ["build_resources", "defs"]

PYTHON_ASSETS = [ticks, bars_1m, features, *model_assets, strategy_optimization, market_brief]

defs = dg.Definitions(
    assets=[*automate(PYTHON_ASSETS), analytics_dbt_assets],
    jobs=[ingest_job, ingest_ticks_job, train_job, evaluate_model_version, analytics_job],
    schedules=[ingest_schedule, retrain_schedule],
    sensors=[
        model_version_sensor, freshness_alert_sensor, run_failure_recorder, retrain_on_new_features,
        # evaluates the eager conditions of bars_1m, features and the dbt models; on by default
        dg.AutomationConditionSensorDefinition(
            "automation", target=dg.AssetSelection.all(),
            default_status=dg.DefaultSensorStatus.RUNNING),
    ],
    resources=build_resources(),
)
