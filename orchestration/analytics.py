"""The dbt project as Dagster assets (group ``analytics``), downstream of the Python assets.

dbt sources map onto the Python assets through ``meta.dagster.asset_key`` in
dbt/models/sources.yml (``bars_1m``, ``backtest``), so lineage runs ticks -> bars_1m ->
bar_coverage. Each dbt test becomes an asset check. The manifest must exist at import time:
``make dbt-parse`` (``make test`` and the Docker build run it); ``dagster dev`` re-parses.
"""


from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration.resources import DBT_PROJECT_DIR

ANALYTICS_CONDITION = dg.AutomationCondition.eager().without(
    ~dg.AutomationCondition.any_deps_missing()).with_label("eager_allow_missing")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()


class AnalyticsTranslator(DagsterDbtTranslator):
    """dbt models in the ``analytics`` group, refreshed eagerly when their upstream changes.

    Missing upstream partitions do not hold them back: the models read whatever days the lake
    holds, and bars_1m's day partitions are mostly empty (only the ingested days exist), so the
    stock eager condition would wait on them forever and never refresh after a backtest."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "analytics"

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.AutomationCondition | None:
        return ANALYTICS_CONDITION


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project,
            dagster_dbt_translator=AnalyticsTranslator())
def analytics_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """``dbt build``: coverage, daily bar summaries, trade statistics, daily P&L and drawdown."""
    yield from dbt.cli(["build"], context=context).stream()


analytics_job = dg.define_asset_job(
    "analytics", selection=dg.AssetSelection.assets(analytics_dbt_assets),
    description="dbt build over the lake: every analytics model and its tests.",
)
