"""Market-data assets: ticks and 1-minute bars per day x symbol, with their data-quality checks.

The checks are computed inside the assets (they need the frame just written); the error-level
ones block downstream assets, the warnings (gaps, spikes, thin days) only show in the UI.
"""

import dagster as dg
import pandas as pd

from assets.partitions import day_x_symbol, partition_day_symbol
from assets.resources import MarketDataResource
from marketdata.bars import ticks_to_bars
from marketdata.instruments import get_instrument
from marketdata.quality import CheckResult, check_day

INGEST_RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)
TICK_CHECKS = {"monotonic_timestamps": True, "ask_ge_bid": True, "duplicate_ticks": False,
               "row_count": False, "price_spikes": False, "gaps": False}  # name -> blocking
BAR_CHECKS = {"bars_ohlc_consistent": True, "bars_cover_ticks": True}


def _result(res: CheckResult) -> dg.AssetCheckResult:
    severity = dg.AssetCheckSeverity.ERROR if res.severity == "error" else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(check_name=res.name, passed=bool(res.passed), severity=severity,
                               metadata={k: dg.MetadataValue.json(v) if isinstance(v, list | dict) else v
                                         for k, v in res.metadata.items()})


def _specs(asset: str, checks: dict[str, bool]) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(name, asset=asset, blocking=blocking) for name, blocking in checks.items()]


@dg.asset(partitions_def=day_x_symbol, group_name="market_data", kinds={"parquet"},
          retry_policy=INGEST_RETRY, tags={"datafeed": "dukascopy"}, check_specs=_specs("ticks", TICK_CHECKS))
def ticks(context: dg.AssetExecutionContext, market: MarketDataResource) -> dg.MaterializeResult:
    """One UTC day of bid/ask ticks for one symbol, from the configured tick source."""
    day, symbol = partition_day_symbol(context)
    df = market.tick_source().fetch_day(symbol, day)
    market.store().write_ticks(symbol, day, df)
    context.log.info("stored %d ticks for %s %s", len(df), symbol, day)
    checks = check_day(df, day, get_instrument(symbol).asset_class)
    return dg.MaterializeResult(
        metadata={"dagster/row_count": len(df),
                  "mean_spread": float((df["ask"] - df["bid"]).mean()) if len(df) else 0.0},
        check_results=[_result(c) for c in checks],
    )


def bar_checks(bars: pd.DataFrame, n_ticks: int) -> list[CheckResult]:
    """Bars are internally consistent and account for every tick of the day."""
    bad = int(((bars["bid_high"] < bars[["bid_open", "bid_close", "bid_low"]].max(axis=1))
               | (bars["ask_low"] > bars[["ask_open", "ask_close", "ask_high"]].min(axis=1))).sum())
    counted = int(bars["tick_count"].sum())
    return [CheckResult("bars_ohlc_consistent", bad == 0, "error", {"bad_bars": bad}),
            CheckResult("bars_cover_ticks", counted == n_ticks, "error",
                        {"ticks_in_bars": counted, "ticks_stored": n_ticks})]


@dg.asset(partitions_def=day_x_symbol, group_name="market_data", kinds={"parquet"}, deps=[ticks],
          check_specs=_specs("bars_1m", BAR_CHECKS))
def bars_1m(context: dg.AssetExecutionContext, market: MarketDataResource) -> dg.MaterializeResult:
    """1-minute bid and ask OHLC bars, spread and volumes built from the day's ticks."""
    day, symbol = partition_day_symbol(context)
    store = market.store()
    day_ticks = store.read_ticks(symbol, day, day)
    bars = ticks_to_bars(day_ticks)
    store.write_bars(symbol, day, bars)
    return dg.MaterializeResult(metadata={"dagster/row_count": len(bars)},
                                check_results=[_result(c) for c in bar_checks(bars, len(day_ticks))])
