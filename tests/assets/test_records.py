"""The typed records between the model assets: checked on construction, and carried between
steps by the store's IO manager unchanged."""

from __future__ import annotations

import dataclasses
import datetime as dt

import dagster as dg
import pandas as pd
import pytest

from assets.io import StoreIOManager
from assets.resources import MarketDataResource
from ml.holdout import Holdout
from ml.records import Evaluation, Selection, TrainedModel, TrainingSet

DAY1, DAY2 = dt.date(2019, 2, 4), dt.date(2019, 2, 5)


def test_a_training_set_refuses_a_window_it_could_not_train_on():
    with pytest.raises(ValueError, match="at least one symbol"):
        TrainingSet((), DAY1, DAY2, 15)
    with pytest.raises(ValueError, match="after it ends"):
        TrainingSet(("EURUSD",), DAY2, DAY1, 15)
    with pytest.raises(ValueError, match="horizon"):
        TrainingSet(("EURUSD",), DAY1, DAY2, 0)


def test_the_lineage_tags_name_the_window_and_the_partitions_read():
    ts = TrainingSet(("EURUSD", "GBPUSD"), DAY1, DAY2, 15, "triple_barrier",
                     (f"{DAY1}|EURUSD", f"{DAY2}|EURUSD"))
    assert ts.lineage() == {"symbols": "EURUSD,GBPUSD", "start": DAY1, "end": DAY2,
                            "partitions": "2019-02-04|EURUSD;2019-02-05|EURUSD",
                            "label": "triple_barrier", "horizon": 15}


@pytest.mark.parametrize("record", [
    TrainingSet(("EURUSD",), DAY1, DAY2, 15, "forward", (f"{DAY1}|EURUSD",)),
    TrainedModel("logreg", "3", pd.Timestamp("2019-02-05 06:00", tz="UTC"), DAY2, ("EURUSD",), 15, 0.55),
    Evaluation("3", {"sharpe": 1.25, "n_trades": 12.0}, "lgbm"),
    Selection(True, 0.25, 4, "run-1"),
    TrainingSet(("EURUSD",), DAY1, DAY1, 15, holdout=Holdout(DAY2, DAY2)),
])
def test_the_store_io_manager_carries_each_record_between_steps(tmp_path, record):
    manager = StoreIOManager(market=MarketDataResource(data_dir=str(tmp_path)))
    key = dg.AssetKey(type(record).__name__.lower())
    manager.handle_output(dg.build_output_context(asset_key=key), record)
    upstream = dg.build_output_context(asset_key=key)
    got = manager.load_input(dg.build_input_context(asset_key=key, upstream_output=upstream))
    assert got == record and type(got) is type(record)
    with pytest.raises(dataclasses.FrozenInstanceError):  # a step cannot alter what it was handed
        setattr(got, dataclasses.fields(got)[0].name, None)
