"""The features asset: the shared ml.features code over each day's bars, a day at a time over
the run's range (assets.daywise)."""

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
import numpy as np

from assets.daywise import (
    DAILY_BACKFILL_POLICY,
    DayDone,
    RangeEvents,
    each_day,
    partition_days,
    range_metadata,
)
from assets.market import bars_1m
from assets.partitions import day_x_symbol
from assets.resources import MarketDataResource
from ml.dataset import RangeFeatures
from ml.features import DEFAULT_FEATURE_SET


@dg.asset(partitions_def=day_x_symbol, group_name="features", kinds={"parquet"}, deps=[bars_1m],
          backfill_policy=DAILY_BACKFILL_POLICY)
def features(context: dg.AssetExecutionContext, market: MarketDataResource) -> RangeEvents:
    """Model inputs per bar, warmed up on the previous day so the first minutes are complete."""
    store = market.store()
    # The run's bars are read once, not two days per day; each day is still computed on its own.
    features_for = RangeFeatures(store, DEFAULT_FEATURE_SET, [(d, s) for _, d, s in partition_days(context)])

    def one_day(day: dt.date, symbol: str) -> DayDone:
        feats = features_for(symbol, day)
        # Written while the next day is computed (pyarrow's write releases the GIL).
        write = writer.submit(store.write_features, symbol, day, feats)
        complete = 0
        if len(feats):  # rows with every feature (float columns: not NaN is notna)
            values = feats[DEFAULT_FEATURE_SET.columns].to_numpy(np.float64)
            complete = int((~np.isnan(values)).all(axis=1).sum())
        return DayDone(len(feats), metadata={"complete_rows": complete}, pending=write)

    with ThreadPoolExecutor(1, thread_name_prefix="features-write") as writer:
        done = yield from each_day(context, one_day)
    yield dg.MaterializeResult(metadata={
        **range_metadata(done),
        **{k: dg.MetadataValue.text(str(v)) for k, v in DEFAULT_FEATURE_SET.describe().items()},
    })
