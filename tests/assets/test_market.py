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
