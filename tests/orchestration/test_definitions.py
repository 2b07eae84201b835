"""The one Definitions loads, its jobs are partitioned as intended, schedules resolve."""

import datetime as dt

import dagster as dg

from orchestration.definitions import defs


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_job_def("ingest").partitions_def is not None
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"ticks", "bars_1m", "features", "signal_model", "backtest", "promotion"} <= keys


def test_daily_schedule_requests_yesterday_for_every_symbol():
    schedule = defs.resolve_schedule_def("ingest_schedule")
    ctx = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2019, 2, 6, 0, 30, tzinfo=dt.UTC))
    requests = schedule.evaluate_tick(ctx).run_requests
    assert {r.partition_key for r in requests} == {"2019-02-05|EURUSD", "2019-02-05|GBPJPY"}
