"""The one Definitions of alphaforge: assets, checks, resources, jobs, schedules and sensors.

``ALPHAFORGE_ENV`` (local | production) picks the resources map in orchestration.resources and
``ALPHAFORGE_EXECUTOR`` (multiprocess | k8s) how a run executes its steps;
its settings are validated here, at load time, so a missing variable or a bad URL stops the
code server with the variable's name instead of failing the first run. ``build_defs`` builds the
same Definitions from a caller's :class:`BatchSettings` (the CLI's symbols and source).
"""

from __future__ import annotations

import warnings

import dagster as dg

from assets.brief import market_brief
from assets.features import features
from assets.market import bars_1m, ticks
from assets.models import model_assets
from assets.optimization import strategy_optimization
from assets.partitions import day_x_symbol, day_x_symbol_for
from orchestration import settings
from orchestration.analytics import analytics_dbt_assets, analytics_job
from orchestration.automation import automate
from orchestration.evaluation import evaluate_model_version, paper_period, paper_period_daily
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
from orchestration.settings import BatchSettings

__all__ = ["BatchSettings", "build_defs", "build_resources", "defs"]

PYTHON_ASSETS = [ticks, bars_1m, features, *model_assets, strategy_optimization, market_brief]


def _executor() -> dg.ExecutorDefinition | None:
    """k8s_job_executor under ALPHAFORGE_EXECUTOR=k8s; None keeps Dagster's default (multiprocess)."""
    if settings.step_executor() == "k8s":
        from dagster_k8s import k8s_job_executor  # only a Kubernetes deployment loads dagster-k8s

        return k8s_job_executor
    return None


def build_defs(batch: BatchSettings | None = None) -> dg.Definitions:
    """The Definitions for ``batch`` (default: the environment's settings).

    Symbols other than the environment's re-partition the day x symbol assets; jobs, schedules
    and backfills follow them. The days are whatever has been ingested (assets.partitions).
    """
    batch = batch or BatchSettings.from_env()
    base = dg.Definitions(
        assets=[*automate(PYTHON_ASSETS), analytics_dbt_assets],
        jobs=[ingest_job, ingest_ticks_job, train_job, evaluate_model_version, paper_period, analytics_job],
        schedules=[ingest_schedule, retrain_schedule, paper_period_daily],
        sensors=[
            model_version_sensor, freshness_alert_sensor, run_failure_recorder, retrain_on_new_features,
            # evaluates the eager conditions of bars_1m, features and the dbt models; on by default
            dg.AutomationConditionSensorDefinition(
                "automation", target=dg.AssetSelection.all(),
                default_status=dg.DefaultSensorStatus.RUNNING),
        ],
        resources=build_resources(source=batch.source),
        executor=_executor(),
    )
    wanted = day_x_symbol_for(batch.symbols)
    if wanted == day_x_symbol:
        return base
    with warnings.catch_warnings():  # map_asset_specs is a preview API in dagster 1.13
        warnings.simplefilter("ignore")
        return base.map_asset_specs(func=lambda spec: spec.replace_attributes(partitions_def=wanted)
                                    if spec.partitions_def == day_x_symbol else spec)


defs = build_defs()
