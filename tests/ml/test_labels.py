import numpy as np
import pandas as pd
import pytest

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
    assert np.isnan(y[3])      # nothing within 2 bars and a flat mid: the time barrier, no direction
    assert np.isnan(y[4:]).all()  # the horizon runs past the data


def test_triple_barrier_same_bar_counts_as_stop():
    from ml.labels import triple_barrier_labels

    y = triple_barrier_labels(_bars([1.0, 1.0, 1.0], [1.0, 1.5, 1.0], [1.0, 0.5, 1.0]),
                              np.full(3, 0.1), horizon=1).to_numpy()
    assert y[0] == 0.0


def test_time_barrier_outcomes_are_labelled_by_the_return_sign():
    from ml.labels import triple_barrier_events

    mid = [1.00, 1.01, 1.02, 1.03, 1.00, 0.99, 0.98]
    ev = triple_barrier_events(_bars(mid), np.full(7, 1.0), horizon=2)  # barriers far away
    np.testing.assert_array_equal(ev["label"].to_numpy()[:5], [1.0, 1.0, 0.0, 0.0, 0.0])
    assert (ev["end"].to_numpy()[:5] == 2).all()  # decided by the time barrier, h bars later


def test_triple_barrier_end_is_the_touching_bar():
    from ml.labels import triple_barrier_events

    high = [1.0, 1.0, 1.0, 1.3, 1.0, 1.0]
    ev = triple_barrier_events(_bars([1.0] * 6, high, None), np.full(6, 0.1), horizon=4)
    assert ev["label"].iloc[0] == 1.0 and ev["end"].iloc[0] == 3  # touched at bar t+3
    assert ev["end"].iloc[1] == 2


def test_cost_dead_zone_drops_moves_that_lose_money_after_the_spread():
    from ml.labels import cost_dead_zone

    mid = np.array([1.0, 1.00005, 1.0003, 1.0003, 1.0003])
    bars = pd.DataFrame({"bid_close": mid - 5e-5, "ask_close": mid + 5e-5})  # 1 pip spread
    dz = cost_dead_zone(bars, contract_size=100_000, commission_per_lot=3.5)
    assert dz[0] == pytest.approx(np.log1p(1e-4 + 7e-5), rel=1e-9)
    plain = forward_return_labels(bars, 1).to_numpy()
    costed = forward_return_labels(bars, 1, dz).to_numpy()
    assert plain[0] == 1.0 and np.isnan(costed[0])  # +0.5 pip does not pay 1 pip + commission
    assert costed[1] == 1.0  # +2.5 pips does


def test_uniqueness_weights_by_hand():
    from ml.labels import uniqueness_weights

    # spans: bars 1-2, 2-3, 3-4, 4-5 -> concurrency 1,2,2,2,1
    np.testing.assert_allclose(uniqueness_weights(np.array([2, 2, 2, 2])), [0.75, 0.5, 0.5, 0.75])
    # an unlabelled row neither counts as concurrent nor gets a weight
    np.testing.assert_allclose(uniqueness_weights(np.array([2, 2, 2, 2]), np.array([1, 0, 1, 1], bool)),
                               [1.0, 0.0, 0.75, 0.75])
    np.testing.assert_allclose(uniqueness_weights(np.array([1, 1, 1])), [1.0, 1.0, 1.0])
