import numpy as np
import pandas as pd

from ml.labels import forward_return_labels


def test_forward_labels_look_ahead_exactly_horizon_bars():
    mid = np.array([1.0, 1.1, 1.0, 1.0, 0.9, 1.2])
    bars = pd.DataFrame({"bid_close": mid, "ask_close": mid})
    y = forward_return_labels(bars, horizon=2, dead_zone=0.0)
    # t0: 1.0 -> 1.0 (dead zone, NaN); t1: 1.1 -> 1.0 down; t2: 1.0 -> 0.9 down; t3: 1.0 -> 1.2 up
    np.testing.assert_array_equal(y.to_numpy()[:4], [np.nan, 0.0, 0.0, 1.0])
    assert y.iloc[-2:].isna().all()


def _bars(mid, high=None, low=None):
    mid = np.asarray(mid, float)
    high = mid if high is None else np.asarray(high, float)
    low = mid if low is None else np.asarray(low, float)
    return pd.DataFrame({"bid_close": mid, "ask_close": mid, "bid_high": high, "ask_high": high,
                         "bid_low": low, "ask_low": low})


def test_triple_barrier_take_profit_stop_and_time():
    from ml.labels import triple_barrier_labels

    mid = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    high = [1.0, 1.0, 1.3, 1.0, 1.0, 1.0]   # t=0 sees the take-profit at bar 2
    low = [1.0, 1.0, 1.0, 0.6, 1.0, 1.0]    # t=2 sees the stop at bar 3
    atr = np.full(6, 0.1)
    y = triple_barrier_labels(_bars(mid, high, low), atr, horizon=2, tp_mult=2.0, sl_mult=2.0).to_numpy()
    assert y[0] == 1.0         # up barrier 1.2 touched at t+2
    assert y[1] == 1.0         # t+1 touches the up barrier
    assert y[2] == 0.0         # 0.6 <= 0.8: stop
    assert np.isnan(y[3])      # nothing within 2 bars: the time barrier
    assert np.isnan(y[4:]).all()  # the horizon runs past the data


def test_triple_barrier_same_bar_counts_as_stop():
    from ml.labels import triple_barrier_labels

    y = triple_barrier_labels(_bars([1.0, 1.0, 1.0], [1.0, 1.5, 1.0], [1.0, 0.5, 1.0]),
                              np.full(3, 0.1), horizon=1).to_numpy()
    assert y[0] == 0.0
