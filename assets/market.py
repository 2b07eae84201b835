"""Market-data assets: ticks and 1-minute bars, per day x symbol."""


import dagster as dg

from assets.partitions import day_x_symbol, partition_day_symbol
from assets.resources import MarketDataResource
from marketdata.bars import ticks_to_bars

INGEST_RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)


@dg.asset(partitions_def=day_x_symbol, group_name="market_data", kinds={"parquet"},
          retry_policy=INGEST_RETRY, tags={"datafeed": "dukascopy"})
def ticks(context: dg.AssetExecutionContext, market: MarketDataResource) -> dg.MaterializeResult:
    """One UTC day of bid/ask ticks for one symbol, from the configured tick source."""
    day, symbol = partition_day_symbol(context)
    df = market.tick_source().fetch_day(symbol, day)
    market.store().write_ticks(symbol, day, df)
    context.log.info("stored %d ticks for %s %s", len(df), symbol, day)
    spread = (df["ask"] - df["bid"]) if len(df) else None
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(df),
        "mean_spread": float(spread.mean()) if spread is not None else 0.0,
    })


@dg.asset(partitions_def=day_x_symbol, group_name="market_data", kinds={"parquet"}, deps=[ticks])
def bars_1m(context: dg.AssetExecutionContext, market: MarketDataResource) -> dg.MaterializeResult:
    """1-minute bid and ask OHLC bars, spread and volumes built from the day's ticks."""
    day, symbol = partition_day_symbol(context)
    store = market.store()
    bars = ticks_to_bars(store.read_ticks(symbol, day, day))
    store.write_bars(symbol, day, bars)
    return dg.MaterializeResult(metadata={"dagster/row_count": len(bars)})
