"""The features asset: the shared ml.features code over each day's bars."""


import dagster as dg

from assets.market import bars_1m
from assets.partitions import day_x_symbol, partition_day_symbol
from assets.resources import MarketDataResource
from ml.dataset import features_for_day
from ml.features import DEFAULT_FEATURE_SET


@dg.asset(partitions_def=day_x_symbol, group_name="features", kinds={"parquet"}, deps=[bars_1m])
def features(context: dg.AssetExecutionContext, market: MarketDataResource) -> dg.MaterializeResult:
    """Model inputs per bar, warmed up on the previous day so the first minutes are complete."""
    day, symbol = partition_day_symbol(context)
    store = market.store()
    feats = features_for_day(store, symbol, day, DEFAULT_FEATURE_SET)
    store.write_features(symbol, day, feats)
    complete = int(feats[DEFAULT_FEATURE_SET.columns].notna().all(axis=1).sum()) if len(feats) else 0
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(feats), "complete_rows": complete,
        **{k: dg.MetadataValue.text(str(v)) for k, v in DEFAULT_FEATURE_SET.describe().items()},
    })
