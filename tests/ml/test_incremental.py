"""The O(1) realtime features equal the batch features on every fixture day, flat windows included."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import ml.incremental as incremental
from marketdata.bars import ticks_to_bars
from marketdata.local import LocalDatafeed
from ml.errors import InvalidBarsError
from ml.features import DEFAULT_FEATURE_SET, FEATURE_SETS, compute_features
from ml.incremental import IncrementalFeatures

FIXTURE_DAYS = {
    "EURUSD": [dt.date(2019, 2, 4), dt.date(2019, 2, 5)],
    "GBPJPY": [dt.date(2012, 12, 1) + dt.timedelta(days=i) for i in range(26)],
}


@pytest.fixture(scope="module", params=sorted(FIXTURE_DAYS))
def symbol_bars(request, fixtures_dir) -> pd.DataFrame:
    """Every fixture day of one symbol as one run of 1-minute bars (weekends simply absent)."""
    feed = LocalDatafeed(fixtures_dir)
    days = [ticks_to_bars(feed.fetch_day(request.param, day)) for day in FIXTURE_DAYS[request.param]]
    bars = pd.concat([d for d in days if len(d)], ignore_index=True)
    assert len(bars) > 2000
    return bars


def assert_equal_to_batch(bars: pd.DataFrame, fs=DEFAULT_FEATURE_SET) -> int:
    batch = compute_features(bars, fs)[fs.columns].to_numpy(float)
    inc = IncrementalFeatures(fs)
    got = np.full_like(batch, np.nan)
    for i, bar in enumerate(bars.to_dict("records")):
        row = inc.update(bar)
        if row is not None:
            assert list(row) == fs.columns
            got[i] = list(row.values())
    # a row exactly where the batch row is complete, and the same values there
    complete = ~np.isnan(batch).any(axis=1)
    np.testing.assert_array_equal(~np.isnan(got).any(axis=1), complete)
    np.testing.assert_allclose(got[complete], batch[complete], rtol=0, atol=1e-9)
    compared = int(complete.sum())
    assert inc.ready
    return compared


@pytest.mark.parametrize("key", sorted(FEATURE_SETS))
def test_incremental_equals_batch_on_every_fixture_day(symbol_bars, key):
    fs = FEATURE_SETS[key]
    assert assert_equal_to_batch(symbol_bars, fs) == len(symbol_bars) - fs.lookback + 1


def test_flat_windows_give_the_batch_values(symbol_bars):
    # constant spread and tick count, and a stretch of frozen prices: the z-scores and the RSI
    # of flat windows are decided by the batch code's own rounding, and must still agree
    bars = symbol_bars.iloc[:600].copy()
    bars["spread_mean"] = bars["spread_mean"].iloc[0]
    bars["tick_count"] = 7
    frozen = [c for c in bars.columns if c.startswith(("bid_", "ask_"))]
    bars.loc[300:420, frozen] = bars.loc[300, frozen].to_numpy()
    assert assert_equal_to_batch(bars) == len(bars) - DEFAULT_FEATURE_SET.lookback + 1


def test_a_bar_never_recomputes_from_a_window_of_bars(symbol_bars, monkeypatch):
    def refuse(*_a, **_k):
        raise AssertionError("the incremental path called the batch feature code")

    monkeypatch.setattr("ml.features.compute_features", refuse)
    inc = IncrementalFeatures()
    rows = [inc.update(bar) for bar in symbol_bars.iloc[:300].to_dict("records")]
    assert rows[-1] is not None
    # the state is the windows themselves: it does not grow with the bars fed
    sizes = {name: len(ring.ring) for name, ring in vars(inc).items() if hasattr(ring, "ring")}
    assert sizes and max(sizes.values()) == max(DEFAULT_FEATURE_SET.z_window, 3 * DEFAULT_FEATURE_SET.macd[1])


def test_a_bad_bar_is_refused_and_changes_nothing(symbol_bars):
    records = symbol_bars.iloc[:200].to_dict("records")
    a, b = IncrementalFeatures(), IncrementalFeatures()
    for bar in records[:150]:
        a.update(bar)
        b.update(bar)
    no_ticks = {k: v for k, v in records[150].items() if k != "tick_count"}
    for bad in ({**records[150], "bid_close": float("nan")}, {**records[150], "ask_low": 0.0}, no_ticks):
        with pytest.raises(InvalidBarsError):
            a.update(bad)
    for bar in records[150:]:
        assert a.update(bar) == b.update(bar)


def test_running_sums_do_not_drift():
    rng = np.random.default_rng(3)
    x = 150 + np.cumsum(rng.normal(scale=0.05, size=20_000))
    w = incremental.RollingWindow(60)
    for v in x:
        w.push(float(v))
    tail = x[-60:]
    assert abs(w.mean() - tail.mean()) < 1e-12
    assert abs(np.sqrt(w.var()) - tail.std()) < 1e-12


def test_a_window_knows_exactly_when_it_is_flat():
    rng = np.random.default_rng(4)
    x = rng.choice([1.0, 2.0], p=[0.97, 0.03], size=5_000)  # long flat runs, and breaks
    w = incremental.RollingWindow(20)
    flats = 0
    for i, v in enumerate(x):
        w.push(float(v))
        if w.full:
            tail = x[i - 19 : i + 1]
            assert (w.changes == 0) == bool((tail == tail[0]).all())
            flats += w.changes == 0
    assert 0 < flats < len(x) - 19
