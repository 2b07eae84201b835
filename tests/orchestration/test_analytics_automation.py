"""The dbt analytics refresh by automation after a new backtest, even though some partitions of
bars_1m were never ingested (a configured symbol left out; the models read whatever the lake holds)."""

import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from assets.market import bars_1m
from assets.partitions import add_days
from assets.resources import MarketDataResource
from orchestration.analytics import analytics_dbt_assets
from orchestration.resources import DBT_PROJECT_DIR

DBT = str(Path(sys.executable).with_name("dbt"))
BACKTESTS = [dg.AssetSpec("backtest_trades"), dg.AssetSpec("backtest_equity")]


def _keys(result: dg.EvaluateAutomationConditionsResult) -> set[str]:
    return {k.to_user_string() for k in analytics_dbt_assets.keys if result.get_num_requested(k)}


def test_a_new_backtest_refreshes_its_models_with_bars_partitions_missing():
    dbt = DbtCliResource(project_dir=str(DBT_PROJECT_DIR), dbt_executable=DBT)
    graph = dg.Definitions(assets=[bars_1m, *BACKTESTS, analytics_dbt_assets],
                           resources={"dbt": dbt, "market": MarketDataResource(source="synthetic")})
    instance = dg.DagsterInstance.ephemeral()
    add_days(instance, ["2019-02-04", "2019-02-05"])
    result = dg.evaluate_automation_conditions(defs=graph, instance=instance)
    # one (day, symbol) ingested out of four: EURUSD and GBPJPY on two days
    day = dg.MultiPartitionKey({"date": "2019-02-05", "symbol": "EURUSD"})
    instance.report_runless_asset_event(dg.AssetMaterialization("bars_1m", partition=str(day)))
    for spec in BACKTESTS:
        instance.report_runless_asset_event(dg.AssetMaterialization(spec.key))
    result = dg.evaluate_automation_conditions(defs=graph, instance=instance, cursor=result.cursor)
    assert {"bar_coverage", "backtest_trade_stats", "strategy_daily_pnl"} <= _keys(result)

    for key in analytics_dbt_assets.keys:  # the analytics were built
        instance.report_runless_asset_event(dg.AssetMaterialization(key))
    result = dg.evaluate_automation_conditions(defs=graph, instance=instance, cursor=result.cursor)
    assert _keys(result) == set()

    instance.report_runless_asset_event(dg.AssetMaterialization("backtest_trades"))  # a new backtest
    result = dg.evaluate_automation_conditions(defs=graph, instance=instance, cursor=result.cursor)
    assert {"backtest_trade_stats"} <= _keys(result)
    assert "bar_coverage" not in _keys(result)  # bars did not change
