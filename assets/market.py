"""Market-data assets: ticks and 1-minute bars per day x symbol, with their data-quality checks.

The checks are computed inside the assets (they need the frame just written); the error-level
ones block downstream assets, the warnings (gaps, spikes, thin days) only show in the UI. A run
may cover a range of days (assets.daywise): each day is checked on its own and the run reports
one result per check, listing the days that failed it.
"""

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from itertools import chain, groupby
from operator import itemgetter

import dagster as dg
import numpy as np
import pandas as pd

from assets import handoff
from assets.daywise import (
    DAILY_BACKFILL_POLICY,
    DayDone,
    RangeEvents,
    combined_checks,
    each_day,
    partition_days,
    range_metadata,
)
from assets.partitions import day_x_symbol
from assets.resources import MarketDataResource
from marketdata.bars import ticks_to_bars
from marketdata.errors import MarketDataError
from marketdata.instruments import get_instrument
from marketdata.prefetch import fetch_days
from marketdata.quality import CheckResult, check_day
from marketdata.schema import BAR_COLUMNS

INGEST_RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)
TICK_CHECKS = {"monotonic_timestamps": True, "ask_ge_bid": True, "duplicate_ticks": False,
               "row_count": False, "price_spikes": False, "gaps": False}  # name -> blocking
BAR_CHECKS = {"bars_ohlc_consistent": True, "bars_cover_ticks": True}
# Days downloading beyond the one being stored: with two, the pool still has a day's hours queued
# while the step checks a day and builds its bars, instead of idling until it asks for the next.
LOOKAHEAD = 2


def _result(res: CheckResult) -> dg.AssetCheckResult:
    severity = dg.AssetCheckSeverity.ERROR if res.severity == "error" else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(check_name=res.name, passed=bool(res.passed), severity=severity,
                               metadata={k: dg.MetadataValue.json(v) if isinstance(v, list | dict) else v
                                         for k, v in res.metadata.items()})


def _specs(asset: str, checks: dict[str, bool]) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(name, asset=asset, blocking=blocking) for name, blocking in checks.items()]


class TicksConfig(dg.Config):
    """``refetch``: download and replace days that are already stored (by default they are kept)."""

    refetch: bool = False


@dg.asset(partitions_def=day_x_symbol, group_name="market_data", kinds={"parquet"},
          retry_policy=INGEST_RETRY, tags={"datafeed": "dukascopy"}, check_specs=_specs("ticks", TICK_CHECKS),
          backfill_policy=DAILY_BACKFILL_POLICY)
def ticks(context: dg.AssetExecutionContext, config: TicksConfig, market: MarketDataResource
          ) -> RangeEvents:
    """Bid/ask ticks per UTC day and symbol from the configured tick source, stored a day at a time
    over the run's range while the next days download; days already stored are checked again
    but not downloaded."""
    store, source = market.store(), market.tick_source()
    days = partition_days(context)
    stored = {s: set() if config.refetch else set(store.days("ticks", s)) for s in {s for _, _, s in days}}
    # The days to download, fetched ahead in a thread pool while each earlier day is stored.
    todo = [(day, symbol) for _, day, symbol in days if day not in stored[symbol]]
    fetched = chain.from_iterable(
        fetch_days(source, symbol, [d for d, _ in group], market.max_workers, LOOKAHEAD)
        for symbol, group in groupby(todo, key=itemgetter(1)))

    hand_over = _runs_bars(context)

    def one_day(day: dt.date, symbol: str) -> DayDone:
        skipped = day in stored[symbol]
        write = None
        if skipped:
            df = store.read_ticks(symbol, day, day)
        else:
            got_day, got = next(fetched)
            assert got_day == day, (got_day, day)  # fetched in the order the days are walked
            if isinstance(got, MarketDataError):
                raise got
            df = got
            # Written while it is checked (pyarrow releases the GIL); the day counts once stored.
            write = writer.submit(store.write_ticks, symbol, day, df)
        mean_spread = float((df["ask"] - df["bid"]).mean()) if len(df) else 0.0
        checks = check_day(df, day, get_instrument(symbol).asset_class)
        # The bars of the frame being stored, for this run's bars step: no read back of the day.
        bars = ticks_to_bars(df) if hand_over else None
        if write is not None:
            write.result()
        if bars is not None:
            handoff.keep(context.run.run_id, symbol, day, bars, len(df))
        return DayDone(len(df), checks, {"mean_spread": mean_spread}, skipped=skipped)

    with ThreadPoolExecutor(1, thread_name_prefix="ticks-write") as writer:
        done = yield from each_day(context, one_day)
    yield dg.MaterializeResult(metadata=range_metadata(done),
                                check_results=[_result(c) for c in combined_checks(done)])


def _runs_bars(context: dg.AssetExecutionContext) -> bool:
    """Whether this run also materialises ``bars_1m`` (then the ticks step hands its bars over)."""
    key = dg.AssetKey("bars_1m")
    selection = context.run.asset_selection
    in_job = key in context.job_def.asset_layer.executable_asset_keys
    return in_job and (not selection or key in selection)  # no (or an empty) selection: the job


def bar_checks(bars: pd.DataFrame, n_ticks: int) -> list[CheckResult]:
    """Bars are internally consistent and account for every tick of the day."""
    col = {c: bars[c].to_numpy(np.float64) for c in BAR_COLUMNS[1:9]}
    # fmax/fmin skip a NaN as pandas' row max/min do; whole columns at once, not a frame per row set.
    top = np.fmax(np.fmax(col["bid_open"], col["bid_close"]), col["bid_low"])
    bottom = np.fmin(np.fmin(col["ask_open"], col["ask_close"]), col["ask_high"])
    bad = int(((col["bid_high"] < top) | (col["ask_low"] > bottom)).sum())
    counted = int(bars["tick_count"].sum())
    return [CheckResult("bars_ohlc_consistent", bad == 0, "error", {"bad_bars": bad}),
            CheckResult("bars_cover_ticks", counted == n_ticks, "error",
                        {"ticks_in_bars": counted, "ticks_stored": n_ticks})]


@dg.asset(partitions_def=day_x_symbol, group_name="market_data", kinds={"parquet"}, deps=[ticks],
          check_specs=_specs("bars_1m", BAR_CHECKS), backfill_policy=DAILY_BACKFILL_POLICY)
def bars_1m(context: dg.AssetExecutionContext, market: MarketDataResource) -> RangeEvents:
    """1-minute bid and ask OHLC bars, spread and volumes built from each day's stored ticks."""
    store = market.store()

    def one_day(day: dt.date, symbol: str) -> DayDone:
        handed = handoff.take(context.run.run_id, symbol, day)
        if handed is None:  # a step of its own process, or a run of the bars alone
            day_ticks = store.read_ticks(symbol, day, day)
            handed = ticks_to_bars(day_ticks), len(day_ticks)
        bars, n_ticks = handed
        # Written while the next day's bars are checked (pyarrow's write releases the GIL).
        write = writer.submit(store.write_bars, symbol, day, bars)
        return DayDone(len(bars), bar_checks(bars, n_ticks), pending=write)

    with ThreadPoolExecutor(1, thread_name_prefix="bars-write") as writer:
        done = yield from each_day(context, one_day)
    yield dg.MaterializeResult(metadata=range_metadata(done),
                                check_results=[_result(c) for c in combined_checks(done)])
