"""Market assets run their quality checks; a crossed quote blocks the bars downstream."""

import datetime as dt

import dagster as dg
import pandas as pd

from assets.market import bar_checks, bars_1m, ticks
from assets.resources import MarketDataResource
from marketdata.synthetic import SyntheticSource
from tests.support.pipeline import instance_with_days


def test_checks_pass_on_real_fixture_day(tmp_path, datafeed_url):
    market = MarketDataResource(dukascopy_url=datafeed_url, data_dir=str(tmp_path), retries=1)
    key = dg.MultiPartitionKey({"date": "2019-02-04", "symbol": "EURUSD"})
    result = dg.materialize([ticks, bars_1m], partition_key=key, resources={"market": market},
                            instance=instance_with_days("2019-02-04"))
    evals = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(evals) >= {"monotonic_timestamps", "ask_ge_bid", "gaps", "bars_cover_ticks"}
    assert all(e.passed for e in evals.values()), {k: e.metadata for k, e in evals.items() if not e.passed}


class CrossedSource(SyntheticSource):
    """Real synthetic ticks with one quote crossed (ask below bid), as a broken feed would send."""

    def fetch_day(self, symbol: str, day: dt.date) -> pd.DataFrame:
        df = super().fetch_day(symbol, day)
        df.loc[10, "ask"] = df.loc[10, "bid"] - 0.001
        return df


def test_crossed_quote_fails_a_blocking_check(tmp_path, monkeypatch):
    monkeypatch.setattr(MarketDataResource, "tick_source", lambda self: CrossedSource())
    market = MarketDataResource(source="synthetic", data_dir=str(tmp_path))
    key = dg.MultiPartitionKey({"date": "2024-03-05", "symbol": "EURUSD"})
    result = dg.materialize([ticks, bars_1m], partition_key=key, resources={"market": market},
                            raise_on_error=False, instance=instance_with_days("2024-03-05"))
    evals = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evals["ask_ge_bid"].passed is False
    assert evals["ask_ge_bid"].metadata["crossed_quotes"].value == 1
    assert not result.asset_materializations_for_node("bars_1m")  # blocked downstream


def test_bar_checks_catch_lost_ticks():
    bars = pd.DataFrame({"bid_open": [1.0], "bid_high": [1.1], "bid_low": [0.9], "bid_close": [1.0],
                         "ask_open": [1.0], "ask_high": [1.1], "ask_low": [0.9], "ask_close": [1.0],
                         "tick_count": [5]})
    ok, cover = bar_checks(bars, n_ticks=6)
    assert ok.passed and not cover.passed


def test_bars_from_the_ticks_step_equal_bars_from_the_stored_ticks(tmp_path, datafeed_url, monkeypatch):
    """In one process the ticks step hands each day's bars to the bars step, which then reads no
    ticks back; the stored bars are those built from the stored ticks, day by day."""
    from assets import handoff
    from marketdata.bars import ticks_to_bars
    from marketdata.store import ParquetStore
    from tests.support.pipeline import instance_with_days

    days = ["2019-02-04", "2019-02-05"]
    market = MarketDataResource(dukascopy_url=datafeed_url, data_dir=str(tmp_path), retries=1)
    instance = instance_with_days(*days)
    read_back: list[dt.date] = []
    real_read = ParquetStore.read_ticks
    monkeypatch.setattr(ParquetStore, "read_ticks",
                        lambda self, s, a, b: read_back.append(a) or real_read(self, s, a, b))
    keys = [f"{d}|EURUSD" for d in days]
    result = dg.materialize([ticks, bars_1m], instance=instance, resources={"market": market},
                            tags={"dagster/asset_partition_range_start": keys[0],
                                  "dagster/asset_partition_range_end": keys[-1]})
    assert result.success and read_back == []  # two days, one run, no tick read back
    assert handoff.take(result.run_id, "EURUSD", dt.date(2019, 2, 4)) is None  # taken, not left
    store = ParquetStore(tmp_path / "lake")
    for day in (dt.date(2019, 2, 4), dt.date(2019, 2, 5)):
        stored_ticks = real_read(store, "EURUSD", day, day)
        pd.testing.assert_frame_equal(store.read_bars("EURUSD", day, day), ticks_to_bars(stored_ticks),
                                      check_exact=True)
    # A run of the bars alone reads the stored ticks (nothing was handed over to it).
    again = dg.materialize([ticks, bars_1m], selection=[bars_1m], instance=instance,
                           resources={"market": market}, partition_key="2019-02-04|EURUSD")
    assert again.success and read_back == [dt.date(2019, 2, 4)]


def test_a_bars_write_that_fails_fails_its_own_day(tmp_path, datafeed_url, monkeypatch):
    """Bars are written while the next day is built: a failed write is its own day's failure
    (named in the step's error), and the days either side are stored and materialised."""
    from marketdata.errors import StoreError
    from marketdata.store import ParquetStore
    from tests.support.pipeline import instance_with_days

    days = ["2019-02-04", "2019-02-05"]
    real_write = ParquetStore.write_bars

    def write_bars(self, symbol, day, df, timeframe="1m"):
        if day == dt.date(2019, 2, 4):
            raise StoreError("disk full (injected)")
        return real_write(self, symbol, day, df, timeframe)

    monkeypatch.setattr(ParquetStore, "write_bars", write_bars)
    market = MarketDataResource(dukascopy_url=datafeed_url, data_dir=str(tmp_path), retries=1)
    keys = [f"{d}|EURUSD" for d in days]
    ranged = {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}
    result = dg.materialize([ticks, bars_1m], instance=instance_with_days(*days),
                            resources={"market": market}, raise_on_error=False, tags=ranged)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "1 of 2 days failed" in failure.step_failure_data.error.message
    assert "2019-02-04|EURUSD: disk full (injected)" in failure.step_failure_data.error.message
    bars_done = [m.partition for m in result.asset_materializations_for_node("bars_1m")]
    assert bars_done == ["2019-02-05|EURUSD"]
    assert ParquetStore(tmp_path / "lake").days("bars", "EURUSD") == [dt.date(2019, 2, 5)]
