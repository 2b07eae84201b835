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
