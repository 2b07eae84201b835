"""bars_1m and features follow ticks through declarative automation."""

import dagster as dg

from assets.features import features
from assets.market import bars_1m, ticks
from assets.partitions import add_days
from assets.resources import MarketDataResource
from orchestration.automation import automate


def test_new_ticks_partition_requests_its_bars_then_features():
    graph = dg.Definitions(assets=automate([ticks, bars_1m, features]),
                           resources={"market": MarketDataResource(source="synthetic")})
    instance = dg.DagsterInstance.ephemeral()
    add_days(instance, ["2019-02-04"])  # an ingested day
    key = dg.MultiPartitionKey({"date": "2019-02-04", "symbol": "EURUSD"})
    result = dg.evaluate_automation_conditions(defs=graph, instance=instance)
    assert result.total_requested == 0  # nothing upstream has happened yet

    instance.report_runless_asset_event(dg.AssetMaterialization("ticks", partition=str(key)))
    result = dg.evaluate_automation_conditions(defs=graph, instance=instance, cursor=result.cursor)
    assert result.get_requested_partitions(dg.AssetKey("bars_1m")) == {str(key)}
    assert result.get_num_requested(dg.AssetKey("features")) == 1  # in the same run, after bars

    instance.report_runless_asset_event(dg.AssetMaterialization("bars_1m", partition=str(key)))
    instance.report_runless_asset_event(dg.AssetMaterialization("features", partition=str(key)))
    result = dg.evaluate_automation_conditions(defs=graph, instance=instance, cursor=result.cursor)
    assert result.total_requested == 0  # handled: no second request


def test_only_bars_and_features_are_automated():
    specs = {s.key.to_user_string(): s for a in automate([ticks, bars_1m, features]) for s in a.specs}
    assert specs["ticks"].automation_condition is None  # the daily schedule drives ticks
    assert specs["bars_1m"].automation_condition is not None
    assert specs["features"].automation_condition is not None
    assert specs["ticks"].freshness_policy is not None and specs["bars_1m"].freshness_policy is not None
    assert specs["features"].freshness_policy is None
