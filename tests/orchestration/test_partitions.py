"""The day partitions follow what is ingested: after a backfill of two days, the Definitions expose
exactly those days, nothing is missing upstream of the analytics, and automation refreshes them."""

import dagster as dg
import pytest

from assets.partitions import add_days, days_of
from orchestration.backfill import run_backfill
from orchestration.definitions import build_defs
from orchestration.settings import BatchSettings

KEYS = ["2019-02-04|EURUSD", "2019-02-05|EURUSD"]


@pytest.fixture
def defs(tmp_path, monkeypatch):
    monkeypatch.setenv("ALPHAFORGE_DATA_DIR", str(tmp_path))
    for name in ("ALPHAFORGE_STORE", "ALPHAFORGE_LAKE_URL", "ALPHAFORGE_CLICKHOUSE_URL"):
        monkeypatch.delenv(name, raising=False)
    return build_defs(BatchSettings(("EURUSD",), "synthetic"))


def test_ingested_days_are_the_partitions_and_the_analytics_follow(defs):
    instance = dg.DagsterInstance.ephemeral()
    job = defs.resolve_job_def("ingest")
    assert job.partitions_def.get_partition_keys(dynamic_partitions_store=instance) == []
    before = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert before.total_requested == 0  # nothing ingested, nothing to refresh

    assert run_backfill(job, KEYS, instance).succeeded == KEYS
    graph = defs.resolve_asset_graph()
    for asset in ("ticks", "bars_1m", "features"):
        partitions = graph.get(dg.AssetKey(asset)).partitions_def
        assert partitions.get_partition_keys(dynamic_partitions_store=instance) == KEYS
    # every partition upstream of the analytics exists: none of a decade of empty days to wait on
    assert set(instance.get_materialized_partitions(dg.AssetKey("bars_1m"))) == set(KEYS)

    after = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=before.cursor)
    requested = {k.to_user_string() for k in graph.get_all_asset_keys() if after.get_num_requested(k)}
    assert {"bar_coverage", "daily_bars_summary"} <= requested


def test_days_are_added_once_in_calendar_order_and_bad_days_are_refused():
    instance = dg.DagsterInstance.ephemeral()
    assert add_days(instance, days_of(KEYS)) == ["2019-02-04", "2019-02-05"]
    assert add_days(instance, ["2019-02-05", "2019-02-06"]) == ["2019-02-06"]
    assert add_days(instance, ["2019-02-01", "2019-02-04"]) == ["2019-02-01"]  # before the others
    # calendar order, which a ranged run over days reads them in
    assert instance.get_dynamic_partitions("days") == ["2019-02-01", "2019-02-04", "2019-02-05", "2019-02-06"]
    with pytest.raises(ValueError, match="2019-02-30"):
        days_of(["2019-02-30|EURUSD"])
