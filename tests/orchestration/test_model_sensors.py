"""The retrain sensor fires when new feature days land, once per batch of days."""

import dagster as dg

from assets.features import features
from assets.market import bars_1m, ticks
from assets.partitions import add_days
from assets.resources import MarketDataResource
from orchestration.model_sensors import retrain_on_new_features


def _ingest(instance, market, day):
    key = dg.MultiPartitionKey({"date": day, "symbol": "EURUSD"})
    add_days(instance, [day])
    assert dg.materialize([ticks, bars_1m, features], partition_key=key, instance=instance,
                          resources={"market": market}).success


def test_retrain_sensor_requests_a_run_per_new_batch(tmp_path, monkeypatch):
    monkeypatch.setenv("ALPHAFORGE_RETRAIN_MIN_NEW_DAYS", "2")
    market = MarketDataResource(source="synthetic", data_dir=str(tmp_path))
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance)
        assert isinstance(next(iter(retrain_on_new_features(ctx))), dg.SkipReason)
        _ingest(instance, market, "2024-03-04")
        ctx = dg.build_sensor_context(instance=instance, cursor=ctx.cursor)
        out = list(retrain_on_new_features(ctx))
        assert isinstance(out[0], dg.SkipReason) and "1 new feature day" in out[0].skip_message
        _ingest(instance, market, "2024-03-05")
        ctx = dg.build_sensor_context(instance=instance, cursor=ctx.cursor)
        out = list(retrain_on_new_features(ctx))
        assert isinstance(out[0], dg.RunRequest)
        assert out[0].tags["alphaforge/days"] == "2024-03-04,2024-03-05"
        ctx = dg.build_sensor_context(instance=instance, cursor=ctx.cursor)
        assert isinstance(next(iter(retrain_on_new_features(ctx))), dg.SkipReason)  # nothing new
