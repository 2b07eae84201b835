"""Bad bars and misaligned signals get a clear error before any simulation starts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marketdata.instruments import get_instrument
from ml.backtest import CostModel, InvalidBarsError, InvalidSignalError, core, grid_core, run_backtest
from ml.backtest.grid import sma_grid
from tests.ml.backtest.helpers import random_bars

EURUSD = get_instrument("EURUSD")
NO_COSTS = CostModel(apply_swap=False)


@pytest.fixture
def no_simulation(monkeypatch):
    """Fail the test if a kernel is entered: the errors must come first."""
    def forbidden(*args, **kwargs):
        raise AssertionError("a simulation started on bad input")

    monkeypatch.setattr(core, "simulate", forbidden)
    monkeypatch.setattr(grid_core, "grid_cells", forbidden)


def _dup(b):
    b = b.copy()
    b.loc[5, "ts"] = b.loc[4, "ts"]
    return b


def _swap_rows(b):
    return b.iloc[[0, 1, 3, 2, *range(4, len(b))]].reset_index(drop=True)


def _set(col, row, value):
    def bad(b):
        b = b.copy()
        b.loc[row, col] = value
        return b
    return bad


BAD_BARS = [
    (_swap_rows, "sorted ascending: row 3"),
    (lambda b: b.iloc[::-1].reset_index(drop=True), "sorted ascending"),
    (_dup, "duplicate bar time .* at row 5"),
    (_set("ts", 7, pd.NaT), "NaT"),
    (_set("bid_close", 3, np.nan), r"bid_close has NaN .* row 3"),
    (_set("ask_open", 9, np.inf), r"ask_open has NaN or infinite .* row 9"),
    (lambda b: b.assign(bid_low=0.0), "bid_low has zero or negative prices"),
    (_set("ask_high", 2, -1.1), r"ask_high has zero or negative prices \(first at row 2"),
]


@pytest.mark.parametrize("bad, message", BAD_BARS)
def test_bad_bars_fail_before_simulating(bad, message, no_simulation):
    bars = bad(random_bars(30, seed=1))
    with pytest.raises(InvalidBarsError, match=message):
        run_backtest(bars, np.zeros(len(bars)), EURUSD, NO_COSTS, units=1000)
    with pytest.raises(InvalidBarsError, match=message):
        sma_grid(bars, [(2, 5)], EURUSD, NO_COSTS, units=1000)


def test_zero_or_negative_mid_and_ohlc_prices_are_refused(no_simulation):
    bars = random_bars(30, seed=2)
    mid = pd.DataFrame({"ts": bars["ts"], "open": 1.1, "high": 1.2, "low": 1.0, "close": 1.1,
                        "spread": 0.0001})
    mid.loc[4, ["low", "open", "close"]] = [0.0, 0.0, 0.0]
    with pytest.raises(InvalidBarsError, match="zero or negative"):
        run_backtest(mid, np.zeros(30), EURUSD, NO_COSTS)
    ohlc = mid.drop(columns=["spread", "ts"]).rename(columns=str.capitalize)
    ohlc.index = pd.DatetimeIndex(mid["ts"])
    ohlc.loc[ohlc.index[6], ["Low"]] = -1.0
    ohlc.loc[ohlc.index[4], ["Low", "Open", "Close"]] = [1.0, 1.1, 1.1]
    with pytest.raises(InvalidBarsError, match="low has zero or negative prices"):
        run_backtest(ohlc, np.zeros(30), EURUSD, NO_COSTS)


def test_misaligned_signals_fail_before_simulating(no_simulation):
    bars = random_bars(40, seed=3)
    times = pd.DatetimeIndex(bars["ts"])
    cases = [
        (np.zeros(39), "39 values for 40 bars"),
        (np.zeros(41), "41 values for 40 bars"),
        (np.zeros((20, 2)), "1-d"),
        (pd.Series(np.zeros(40), index=times + pd.Timedelta("1h")), "does not match the bars' t"),
        (pd.Series(np.zeros(40), index=times[::-1]), "does not match the bars' times"),
        (pd.Series(np.zeros(39), index=times[1:]), "39 signal times, 40 bars"),
        (pd.Series(np.zeros(40), index=range(10, 50)), "index does not match"),
        (pd.DataFrame({"a": np.zeros(40)}), "not a frame"),
        (np.array(["long"] * 40), "not numeric"),
        (np.r_[np.zeros(39), np.nan], "-1, 0 or"),
    ]
    for signal, message in cases:
        with pytest.raises(InvalidSignalError, match=message):
            run_backtest(bars, signal, EURUSD, NO_COSTS, units=1000)


def test_aligned_series_signals_are_accepted():
    bars = random_bars(40, seed=4)
    sig = np.r_[np.zeros(5), np.ones(20), -np.ones(15)]
    base = run_backtest(bars, sig, EURUSD, NO_COSTS, units=1000)
    by_time = pd.Series(sig, index=pd.DatetimeIndex(bars["ts"]).tz_convert("Europe/Zurich"))
    by_row = pd.Series(sig, index=bars.index)
    for signal in (by_time, by_row, sig.reshape(-1, 1)):
        res = run_backtest(bars, signal, EURUSD, NO_COSTS, units=1000)
        pd.testing.assert_series_equal(res.equity, base.equity)
